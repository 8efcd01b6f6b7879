"""Barista actions from the screens go through fulfilment services; every screen and the customer see the
result; an action that makes no sense gets a clear error on that screen and changes nothing."""

import pytest
from channels.db import database_sync_to_async
from kds_helpers import read_until, receive

from fulfilment import services
from fulfilment.models import Channel, Order, OrderLine, StoreEvent
from fulfilment.services import LineRequest
from fulfilment.services.outbox import outbox_head, outbox_snapshot
from fulfilment.services.pickup import pickup_token
from stores.models import MenuItem
from tests.kitchen_display.screen_model import Board

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def amobile_order(menu, customer_a):
    """A paid mobile order (the demo provider authorises it): a large latte and a croissant."""
    def make():
        order, _ = services.order_place(
            store_id=menu["latte"].store_id, channel=Channel.MOBILE, customer=customer_a, customer_name="Ann",
            lines=[LineRequest(item_id=menu["latte"].pk, quantity=1, option_ids=(menu["large"].pk, menu["oat"].pk)),
                   LineRequest(item_id=menu["croissant"].pk, quantity=1)])
        return order
    return database_sync_to_async(make)


async def act(ws, board: Board, message: dict, store_id: int) -> dict:
    """Send an action; apply what comes back until its answer; return the answer."""
    await ws.send_json_to({**message, "ref": "t1"})
    while True:
        reply = await receive(ws)
        if reply["type"] in ("ack", "error"):
            assert reply["ref"] == "t1"
            return reply
        board.receive(reply)


@database_sync_to_async
def db_state(order_id):
    order = Order.objects.get(pk=order_id)
    lines = list(OrderLine.objects.filter(order=order).order_by("id").values("started_at", "done_at", "prep_seconds"))
    return order.status, lines, StoreEvent.objects.filter(store_id=order.store_id).count()


async def test_a_station_starts_and_bumps_and_the_customer_sees_it_ready(layer, open_socket, store, menu,
                                                                         barista_store1, customer_a, amobile_order):
    order = await amobile_order()
    lines = {line.station_id: line for line in await database_sync_to_async(list)(order.lines.all())}
    espresso, oven = menu["espresso"].pk, menu["oven"].pk

    async with open_socket(f"/ws/kds/{store.pk}/{espresso}/", barista_store1) as bar, \
            open_socket(f"/ws/kds/{store.pk}/{oven}/", barista_store1) as kitchen_oven, \
            open_socket(f"/ws/orders/{order.pk}/", customer_a) as phone:
        boards = {"bar": Board(), "oven": Board()}
        boards["bar"].receive(await receive(bar))
        boards["oven"].receive(await receive(kitchen_oven))
        assert (await receive(phone))["order"]["status"] == "confirmed"
        ticket = boards["bar"].tickets[order.pk]
        assert ticket["channel"] == "mobile" and ticket["name"] == "Ann"
        assert [m["option"] for m in ticket["lines"][0]["modifiers"]] == ["Large", "Oat"]

        reply = await act(bar, boards["bar"], {"action": "start_item", "order": order.pk,
                                              "line": lines[espresso].pk}, store.pk)
        assert reply["type"] == "ack"
        assert boards["bar"].tickets[order.pk]["status"] == "in_progress"
        assert (await receive(phone))["order"]["status"] == "in_progress"

        reply = await act(bar, boards["bar"], {"action": "bump_ticket", "order": order.pk}, store.pk)
        assert reply["type"] == "ack"
        assert boards["bar"].tickets[order.pk]["status"] == "in_progress"  # the croissant is still in the oven

        reply = await act(kitchen_oven, boards["oven"], {"action": "bump_ticket", "order": order.pk}, store.pk)
        assert reply["type"] == "ack" and boards["oven"].tickets[order.pk]["status"] == "ready"
        status = None
        while status != "ready":
            message = await receive(phone)
            status = message["order"]["status"]
        assert message["order"]["pickup"]["code"] == boards["oven"].tickets[order.pk]["code"]
        assert message["order"]["pickup"]["qr_svg"].endswith(f"/orders/{order.pk}/qr.svg")

        head = await database_sync_to_async(outbox_head)(store_id=store.pk)
        await read_until(bar, boards["bar"], head)
        truth = await database_sync_to_async(outbox_snapshot)(store_id=store.pk)
        assert boards["bar"].as_snapshot() == boards["oven"].as_snapshot() == truth


async def test_illegal_actions_are_refused_with_a_message_and_change_nothing(layer, open_socket, store, menu,
                                                                              barista_store1, acounter_order):
    order = await acounter_order()
    cancelled = await acounter_order(name="Gone")
    await database_sync_to_async(services.order_cancel)(order=cancelled, actor=barista_store1, reason="test")
    croissant = await database_sync_to_async(lambda: order.lines.get(item__name="Croissant").pk)()
    before = (await db_state(order.pk), await db_state(cancelled.pk))

    async with open_socket(f"/ws/kds/{store.pk}/{menu['espresso'].pk}/", barista_store1) as bar, \
            open_socket(f"/ws/kds/{store.pk}/board/", barista_store1) as board_screen:
        board = Board()
        board.receive(await receive(bar))
        await receive(board_screen)
        cases = [
            ({"action": "bump_ticket", "order": cancelled.pk}, "order_cancelled", "was cancelled"),
            ({"action": "start_item", "order": order.pk, "line": croissant}, "other_station", "is made at oven"),
            ({"action": "bump_item", "order": order.pk, "line": croissant}, "other_station", "not at espresso"),
            ({"action": "bump_order", "order": order.pk}, "wrong_screen", "cannot do that"),
            ({"action": "recall", "order": order.pk}, "nothing_to_recall", "nothing to recall"),
            ({"action": "delay", "order": order.pk, "minutes": 0}, "invalid", "1 to 60 minutes"),
            ({"action": "bump_ticket", "order": "1; drop table"}, "invalid", "whole number"),
            ({"action": "bump_ticket", "order": 2**70}, "invalid", "whole number"),
            ({"action": "bump_ticket", "order": 999999}, "unknown_order", "not an order of this store"),
            ({"action": "explode"}, "unknown_action", "Unknown action"),
        ]
        for message, code, text in cases:
            reply = await act(bar, board, message, store.pk)
            assert reply["type"] == "error" and reply["code"] == code and text in reply["message"], (message, reply)
        reply = await act(board_screen, Board(), {"action": "bump_order", "order": order.pk}, store.pk)
        assert reply["code"] == "wrong_screen"
        reply = await act(bar, board, {"action": "handoff", "code": "ABCD", "name": "Sam"}, store.pk)
        assert reply["code"] == "wrong_screen"
        assert await bar.receive_nothing(timeout=0.3)

    assert (await db_state(order.pk), await db_state(cancelled.pk)) == before


async def test_expo_bumps_recalls_and_hands_over_with_the_scanned_qr(layer, open_socket, store, menu, barista_store1,
                                                                    customer_a, amobile_order):
    order = await amobile_order()
    token, _ = await database_sync_to_async(pickup_token)(order=order)

    async with open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as expo:
        board = Board()
        board.receive(await receive(expo))
        assert (await act(expo, board, {"action": "bump_order", "order": order.pk}, store.pk))["type"] == "ack"
        assert board.tickets[order.pk]["status"] == "ready"
        assert (await act(expo, board, {"action": "recall", "order": order.pk}, store.pk))["type"] == "ack"
        assert board.tickets[order.pk]["status"] == "in_progress"
        assert all(line["done_at"] is None for line in board.tickets[order.pk]["lines"])
        reply = await act(expo, board, {"action": "handoff", "token": token}, store.pk)
        assert reply["type"] == "error" and reply["code"] == "not_ready"
        await act(expo, board, {"action": "bump_order", "order": order.pk}, store.pk)

        reply = await act(expo, board, {"action": "handoff", "token": token}, store.pk)
        assert reply == {"type": "ack", "ref": "t1", "action": "handoff", "order": order.pk, "name": "Ann"}
        assert order.pk not in board.tickets
        again = await act(expo, board, {"action": "handoff", "token": token}, store.pk)
        assert again["code"] == "already_picked_up" and "barista1" in again["message"]

    assert (await db_state(order.pk))[0] == "picked_up"


async def test_an_item_marked_86_leaves_every_menu_at_once(layer, open_socket, api, store, menu, barista_store1):
    croissant = menu["croissant"].pk
    async with open_socket(f"/ws/kds/{store.pk}/{menu['oven'].pk}/", barista_store1) as oven, \
            open_socket(f"/ws/stores/{store.pk}/menu/") as shopper:
        board = Board()
        board.receive(await receive(oven))
        assert (await act(oven, board, {"action": "item_86", "item": croissant}, store.pk))["type"] == "ack"
        assert set(board.out) == {croissant}
        pushed = await receive(shopper)
        assert pushed == {"type": "items", "items": [{"id": croissant, "name": "Croissant",
                                                      "station": menu["oven"].pk, "eighty_sixed": True}]}
        menu_now = await database_sync_to_async(api.get)(f"/api/stores/{store.pk}/menu/")
        items = {i["id"]: i for c in menu_now.json()["categories"] for i in c["items"]}
        assert items[croissant]["available"] is False

        await act(oven, board, {"action": "item_86", "item": croissant, "eighty_sixed": False}, store.pk)
        assert board.out == {} and (await receive(shopper))["items"][0]["eighty_sixed"] is False
    assert not await database_sync_to_async(lambda: MenuItem.objects.get(pk=croissant).eighty_sixed)()


async def test_an_option_marked_86_reaches_every_screen_and_the_menu_socket(layer, open_socket, api, store, menu,
                                                                           barista_store1):
    oat = menu["oat"].pk
    async with open_socket(f"/ws/kds/{store.pk}/{menu['espresso'].pk}/", barista_store1) as bar, \
            open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as expo, \
            open_socket(f"/ws/stores/{store.pk}/menu/") as shopper:
        bar_board, expo_board = Board(), Board()
        bar_board.receive(await receive(bar))
        expo_board.receive(await receive(expo))
        reply = await act(bar, bar_board, {"action": "option_86", "option": oat, "available": False}, store.pk)
        assert reply["type"] == "ack"
        oat_out = {"id": oat, "name": "Oat", "group": menu["milk"].pk, "group_name": "Milk", "available": False}
        assert bar_board.options_out == {oat: oat_out}
        expo_board.receive(await receive(expo))  # the other screen hears of it too
        assert expo_board.options_out == {oat: oat_out}
        assert await receive(shopper) == {"type": "items", "items": [], "options": [oat_out]}
        quote = await database_sync_to_async(api.post)(f"/api/stores/{store.pk}/quote/", {"items": [
            {"item": menu["latte"].pk, "quantity": 1, "modifiers": [oat]}]}, format="json")
        assert quote.json()["error"]["code"] == "modifier_unavailable"

        reply = await act(bar, bar_board, {"action": "option_86", "option": menu["small"].pk + 10**6}, store.pk)
        assert (reply["type"], reply["code"]) == ("error", "unknown_option")

        await act(expo, expo_board, {"action": "option_86", "option": oat, "available": True}, store.pk)
        assert expo_board.options_out == {}
        assert (await receive(shopper))["options"][0]["available"] is True
        assert bar_board.as_snapshot() != expo_board.as_snapshot()  # the bar has not read its socket yet
        bar_board.receive(await receive(bar))
        assert bar_board.as_snapshot() == expo_board.as_snapshot() == \
            await database_sync_to_async(outbox_snapshot)(store_id=store.pk)


async def test_a_reported_delay_moves_the_ready_time_and_tells_the_customer(layer, open_socket, store, menu,
                                                                           barista_store1, customer_a, amobile_order):
    order = await amobile_order()
    async with open_socket(f"/ws/kds/{store.pk}/{menu['espresso'].pk}/", barista_store1) as bar, \
            open_socket(f"/ws/orders/{order.pk}/", customer_a) as phone:
        board = Board()
        board.receive(await receive(bar))
        first = (await receive(phone))["order"]["estimated_ready_at"]
        before = board.tickets[order.pk]["estimated_ready_at"]
        reply = await act(bar, board, {"action": "delay", "order": order.pk, "minutes": 10}, store.pk)
        assert reply["type"] == "ack"
        after = board.tickets[order.pk]["estimated_ready_at"]
        pushed = (await receive(phone))["order"]["estimated_ready_at"]
    from datetime import datetime
    assert (datetime.fromisoformat(after) - datetime.fromisoformat(before)).total_seconds() >= 9 * 60
    # The screens get planned times to the whole second (what they show); the customer's page to the microsecond.
    assert datetime.fromisoformat(pushed).replace(microsecond=0) == datetime.fromisoformat(after)
    assert pushed != first


async def test_the_customer_hears_of_changes_without_any_kitchen_screen_open(layer, open_socket, store,
                                                                            barista_store1, customer_a,
                                                                            amobile_order):
    order = await amobile_order()
    async with open_socket(f"/ws/orders/{order.pk}/", customer_a) as phone:
        assert (await receive(phone))["order"]["status"] == "confirmed"
        await database_sync_to_async(services.order_start)(order=order, actor=barista_store1)
        assert (await receive(phone))["order"]["status"] == "in_progress"


async def test_a_customer_whose_push_was_lost_still_hears_of_the_change(layer, open_socket, store, barista_store1,
                                                                        customer_a, amobile_order, monkeypatch):
    """The process that committed the change died before it pushed: the watcher sees, in the events' notify
    lists, that this order's page was owed a push and nudges it; the page shows the change."""
    from kitchen_display.relay import relay

    order = await amobile_order()
    other = await amobile_order()
    async with open_socket(f"/ws/orders/{order.pk}/", customer_a) as phone:
        assert (await receive(phone))["order"]["status"] == "confirmed"
        monkeypatch.setattr(relay, "submit", lambda events: None)  # every push after the commit is lost
        await database_sync_to_async(services.order_start)(order=other, actor=barista_store1)
        await database_sync_to_async(services.order_start)(order=order, actor=barista_store1)
        message = await receive(phone, timeout=5)  # poll interval is 0.2 s in these tests
        assert message["order"]["status"] == "in_progress"
        assert message["seq"] == await database_sync_to_async(outbox_head)(store_id=store.pk)
