"""A kitchen socket whose consumer loses its database connection or its channel layer's Redis is closed with
4503 (the screen reconnects) and cleaned up as a disconnect would: no longer counted as open, no longer
followed by the relay. Before, Channels never called disconnect() for a consumer that died, so every Redis
restart left each worker counting (and renewing in their groups) sockets that were gone."""

import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY

from kitchen_display import consumers
from kitchen_display.relay import relay

from kds_helpers import receive

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


def sockets_open() -> float:
    return REGISTRY.get_sample_value("orderahead_kitchen_sockets_open", {"screen": "expo"}) or 0.0


async def test_a_socket_that_loses_its_database_closes_with_4503_and_is_let_go(layer, open_socket, store,
                                                                                barista_store1, monkeypatch):
    before = sockets_open()
    async with open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        assert sockets_open() == before + 1 and relay.screens[store.pk]

        def dropped(**kwargs):
            raise OperationalError("terminating connection due to administrator command")

        monkeypatch.setattr(consumers, "outbox_head", dropped)
        await ws.send_json_to({"action": "sync", "since": 0, "gap": True})

        closed = await ws.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": consumers.SERVICE_UNAVAILABLE}
        assert sockets_open() == before
        assert not relay.screens[store.pk]


async def test_a_bug_in_a_socket_still_ends_it_as_an_error_and_is_let_go(layer, open_socket, store, barista_store1,
                                                                          monkeypatch):
    before = sockets_open()
    with pytest.raises(ZeroDivisionError):  # Daphne logs it and closes with 1011
        async with open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as ws:
            assert (await receive(ws))["type"] == "snapshot"

            def broken(**kwargs):
                raise ZeroDivisionError

            monkeypatch.setattr(consumers, "outbox_head", broken)
            await ws.send_json_to({"action": "sync", "since": 0, "gap": True})
            await ws.receive_output(timeout=5)
    assert sockets_open() == before
    assert not relay.screens[store.pk]
