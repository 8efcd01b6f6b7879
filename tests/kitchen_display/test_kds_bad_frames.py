"""A frame a socket cannot use (not JSON, not an object, too large or too deep, binary, an unknown action)
is answered with an error message, and the socket stays open: kitchen screens, the customer's order, the
live menu. Before, a non-JSON frame on a kitchen socket ended it with 1011 and a traceback."""

import pytest
from channels.db import database_sync_to_async

from fulfilment import services
from fulfilment.models import Channel
from fulfilment.services import LineRequest

from kds_helpers import receive

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

BAD_FRAMES = [
    ({"text_data": "not json {"}, "invalid_json"),
    ({"text_data": "[" * 5000 + "]" * 5000}, "invalid_json"),    # nested past the decoder's recursion limit
    ({"text_data": "[1, 2]"}, "invalid_message"),
    ({"text_data": '"sync"'}, "invalid_message"),
    ({"text_data": "null"}, "invalid_message"),
    ({"bytes_data": b'{"action": "sync"}'}, "invalid_message"),
    ({"text_data": '{"action": "sync", "pad": "' + "x" * 40_000 + '"}'}, "too_large"),
]


async def _answers_errors_and_stays_open(ws, extra=()):
    for frame, code in [*BAD_FRAMES, *extra]:
        await ws.send_to(**frame)
        reply = await receive(ws)
        assert reply["type"] == "error" and reply["code"] == code and reply["message"], (str(frame)[:60], reply)
    await ws.send_json_to({"action": "sync", "ref": "still-there"})
    while (reply := await receive(ws))["type"] != "pong":
        pass
    assert reply["ref"] == "still-there"


async def test_a_kitchen_screen_answers_a_bad_frame_and_keeps_its_socket(layer, open_socket, store, menu,
                                                                         barista_store1):
    for path in (f"/ws/kds/{store.pk}/{menu['espresso'].pk}/", f"/ws/kds/{store.pk}/expo/",
                 f"/ws/kds/{store.pk}/board/"):
        async with open_socket(path, barista_store1) as ws:
            assert (await receive(ws))["type"] == "snapshot"
            await _answers_errors_and_stays_open(ws, extra=[({"text_data": '{"action": "explode"}'},
                                                             "unknown_action")])


async def test_the_customer_order_and_menu_sockets_answer_a_bad_frame_and_stay_open(layer, open_socket, store,
                                                                                    menu, customer_a):
    order, _ = await database_sync_to_async(services.order_place)(
        store_id=store.pk, channel=Channel.MOBILE, customer=customer_a,
        lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)])
    unknown = [({"text_data": '{"action": "cancel"}'}, "unknown_action")]
    async with open_socket(f"/ws/orders/{order.pk}/", customer_a) as phone:
        assert (await receive(phone))["type"] == "order"
        await _answers_errors_and_stays_open(phone, extra=unknown)
    async with open_socket(f"/ws/stores/{store.pk}/menu/") as shopper:
        await _answers_errors_and_stays_open(shopper, extra=unknown)
