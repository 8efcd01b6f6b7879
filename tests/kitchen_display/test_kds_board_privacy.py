"""The order-ready board hangs where customers see it: it names each customer by a display name (first name
and last initial) and never shows an account's username or e-mail, nor the pickup code, which with the
customer's name hands an order over at the counter. Staff screens keep the code and the name."""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from fulfilment import services
from fulfilment.models import Channel
from fulfilment.services import LineRequest, kitchen_actions
from fulfilment.services.outbox import outbox_head
from fulfilment.services.pickup import pickup_code
from tests.factories import user

from kds_helpers import receive

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

SECRETS = ("dana_k92", "dana.kowalski@example.com", "Kowalski", "Whitfield", "barista1")


@pytest.fixture
def two_orders(menu, barista_store1):
    """A mobile order of an account that gave no name (the order carries its username) and a counter order
    for a name the customer gave."""
    dana = user("dana_k92", email="dana.kowalski@example.com", first_name="Dana", last_name="Kowalski")
    drip = [LineRequest(item_id=menu["drip"].pk, quantity=1)]
    mobile, _ = services.order_place(store_id=menu["drip"].store_id, channel=Channel.MOBILE, lines=drip, customer=dana)
    counter, _ = services.order_place(store_id=menu["drip"].store_id, channel=Channel.COUNTER, lines=drip,
                                      placed_by=barista_store1, customer_name="Sam  Whitfield")
    return mobile, counter


def _values(data):
    if isinstance(data, dict):
        for value in data.values():
            yield from _values(value)
    elif isinstance(data, list):
        for value in data:
            yield from _values(value)
    else:
        yield data


def assert_public(text: str, codes: list[str]):
    for secret in SECRETS:
        assert secret.casefold() not in text.casefold(), secret
    values = set(_values(json.loads(text)))
    assert not values & set(codes), "a pickup code on the public board"


async def test_the_board_shows_display_names_and_no_username_email_or_pickup_code(layer, open_socket, store, menu,
                                                                                   barista_store1, two_orders):
    mobile, counter = two_orders
    assert mobile.customer_name == "dana_k92"  # what the order carries when the customer gave no name
    codes = [await database_sync_to_async(pickup_code)(order=order) for order in (mobile, counter)]

    async with open_socket(f"/ws/kds/{store.pk}/board/", barista_store1) as board:
        text = await board.receive_from(timeout=3)
        assert_public(text, codes)
        snapshot = json.loads(text)
        assert {t["id"]: t["name"] for t in snapshot["tickets"]} == {mobile.pk: "Dana K.", counter.pk: "Sam W."}

        # Pushed events (a ticket made and set ready) are public too.
        await database_sync_to_async(kitchen_actions.kitchen_order_bump)(store_id=store.pk, order_id=mobile.pk,
                                                                actor=barista_store1)
        head = await database_sync_to_async(outbox_head)(store_id=store.pk)
        pushed = []
        while not pushed or json.loads(pushed[-1])["events"][-1]["seq"] < head:
            pushed.append(await board.receive_from(timeout=3))
        for text in pushed:
            assert_public(text, codes)
        ready = [e["ticket"] for text in pushed for e in json.loads(text)["events"] if "ticket" in e]
        assert ready[-1]["status"] == "ready" and ready[-1]["name"] == "Dana K."

    # So is a catch-up from the outbox, after a reconnect.
    async with open_socket(f"/ws/kds/{store.pk}/board/?since={snapshot['seq']}", barista_store1) as board:
        caught_up = await board.receive_from(timeout=3)
        assert json.loads(caught_up)["type"] == "events"
        assert_public(caught_up, codes)

    # The expo screen is for staff: the code and the name the handoff asks for.
    async with open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as expo:
        tickets = {t["id"]: t for t in (await receive(expo))["tickets"]}
        assert tickets[counter.pk]["code"] == codes[1] and tickets[counter.pk]["name"] == "Sam  Whitfield"


def test_the_board_page_names_no_account(store, barista_store1):
    client = Client()
    client.force_login(barista_store1)
    page = client.get(f"/kds/{store.pk}/board/")
    assert page.status_code == 200
    assert b"barista1" not in page.content  # the signed-in staff account of the screen
