"""Who may open which socket and page: kitchen screens are for staff of that store only (refused at
connect otherwise), an order's live status for the customer who owns it."""

import pytest
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from fulfilment import services
from fulfilment.models import Channel
from fulfilment.services import LineRequest

from kds_helpers import receive, refused

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mobile_order(menu, customer_a):
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.MOBILE,
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)], customer=customer_a)
    return order


async def test_kitchen_screens_refuse_everyone_but_staff_of_the_store(layer, application, store, store2, menu,
                                                                     barista_store1, manager_store2, customer_a):
    station = f"/ws/kds/{store.pk}/{menu['espresso'].pk}/"
    for path in (station, f"/ws/kds/{store.pk}/expo/", f"/ws/kds/{store.pk}/board/"):
        assert await refused(application, path) == 4401                    # signed out
        assert await refused(application, path, customer_a) == 4403        # a customer
        assert await refused(application, path, manager_store2) == 4403    # staff of another store
    other_station = await database_sync_to_async(lambda: store2.stations.create(name="bar").pk)()
    assert await refused(application, f"/ws/kds/{store.pk}/{other_station}/", barista_store1) == 4403
    assert await refused(application, f"/ws/kds/{store.pk}/{2**70}/", barista_store1) == 4403


async def test_staff_of_the_store_get_their_screens(layer, open_socket, store, menu, barista_store1):
    for path in (f"/ws/kds/{store.pk}/{menu['oven'].pk}/", f"/ws/kds/{store.pk}/expo/",
                 f"/ws/kds/{store.pk}/board/"):
        async with open_socket(path, barista_store1) as ws:
            assert (await receive(ws))["type"] == "snapshot"


async def test_a_socket_from_another_site_is_refused(layer, application, store, menu, barista_store1):
    from channels.testing import WebsocketCommunicator

    from kds_helpers import session_headers

    headers = [h for h in await session_headers(barista_store1) if h[0] != b"origin"]
    ws = WebsocketCommunicator(application, f"/ws/kds/{store.pk}/expo/",
                               headers=[*headers, (b"origin", b"http://evil.example")])
    connected, _ = await ws.connect()
    await ws.disconnect()
    assert not connected


async def test_only_the_owner_follows_an_order(layer, application, open_socket, mobile_order, customer_a, customer_b,
                                               barista_store1):
    path = f"/ws/orders/{mobile_order.pk}/"
    assert await refused(application, path) == 4403
    assert await refused(application, path, customer_b) == 4403
    assert await refused(application, path, barista_store1) == 4403
    assert await refused(application, f"/ws/orders/{2**70}/", customer_a) == 4403
    async with open_socket(path, customer_a) as ws:
        message = await receive(ws)
    assert message["type"] == "order" and message["order"]["id"] == mobile_order.pk


async def test_the_app_follows_an_order_with_its_api_token(layer, application, open_socket, mobile_order, customer_a,
                                                          customer_b):
    """The customer app signs in with a token; a browser cannot set headers on a socket, so it offers the
    token as a subprotocol and the server answers with the app's own subprotocol."""
    mine = await database_sync_to_async(lambda: Token.objects.get_or_create(user=customer_a)[0].key)()
    theirs = await database_sync_to_async(lambda: Token.objects.get_or_create(user=customer_b)[0].key)()
    path = f"/ws/orders/{mobile_order.pk}/"
    assert await refused(application, path, subprotocols=["orderahead.v1", f"token.{theirs}"]) == 4403
    assert await refused(application, path, subprotocols=["orderahead.v1", "token.forged"]) == 4403
    async with open_socket(path, subprotocols=["orderahead.v1", f"token.{mine}"]) as ws:
        assert (await receive(ws))["order"]["status"] == "confirmed"


def test_kds_pages_need_a_staff_login(client, store, menu, barista_store1, manager_store2, customer_a):
    pages = [f"/kds/{store.pk}/{menu['espresso'].pk}/", f"/kds/{store.pk}/expo/", f"/kds/{store.pk}/board/"]
    assert client.get("/kds/").status_code == 302
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith("/kds/login/")
    for outsider in (customer_a, manager_store2):
        client.force_login(outsider)
        assert all(client.get(page).status_code == 403 for page in pages)
    client.force_login(barista_store1)
    home = client.get("/kds/")
    assert home.status_code == 200 and b"espresso" in home.content and b"Order-ready board" in home.content
    for page in pages:
        assert client.get(page).status_code == 200
    assert client.get(f"/kds/{store.pk}/{2**70}/").status_code == 404


def test_a_barista_signs_in_on_the_kds_login_page(client, barista_store1):
    from django.test import Client

    from tests.factories import PASSWORD

    wrong = Client().post("/kds/login/", {"username": "barista1", "password": "wrong"})
    assert wrong.status_code == 200 and b"did not match" in wrong.content
    response = client.post("/kds/login/", {"username": "barista1", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/kds/"


def test_a_superuser_runs_every_stores_screens_without_a_membership(client, store, store2, menu):
    from tests import factories

    admin = factories.user("chainadmin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    home = client.get("/kds/")
    assert home.status_code == 200 and store.name.encode() in home.content and store2.name.encode() in home.content
    assert b"Chain admin" in home.content
    assert client.get(f"/kds/{store.pk}/{menu['espresso'].pk}/").status_code == 200
    assert client.get(f"/kds/{store2.pk}/board/").status_code == 200
    assert client.get("/kds/999999/expo/").status_code == 404


async def test_a_superusers_screen_socket_opens(layer, open_socket, store, menu):
    from tests import factories

    admin = await database_sync_to_async(factories.user)("chainadmin", is_staff=True, is_superuser=True)
    async with open_socket(f"/ws/kds/{store.pk}/expo/", admin) as ws:
        assert (await receive(ws))["type"] == "snapshot"
