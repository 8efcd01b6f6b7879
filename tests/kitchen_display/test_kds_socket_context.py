"""A kitchen socket has a request id of its own on every line logged for it (its opening and closing
too), and is counted in orderahead_kitchen_sockets_open while it is open."""

import pytest
from prometheus_client import REGISTRY

from tests.log_lines import json_log_lines

from kds_helpers import receive, refused

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


def sockets_open(screen: str) -> float:
    return REGISTRY.get_sample_value("orderahead_kitchen_sockets_open", {"screen": screen}) or 0.0


async def test_an_open_screen_is_counted_and_logged_until_it_closes(layer, open_socket, store, menu,
                                                                    barista_store1):
    before = sockets_open("expo")
    with json_log_lines() as lines:
        async with open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as ws:
            assert (await receive(ws))["type"] == "snapshot"
            assert sockets_open("expo") == before + 1
    assert sockets_open("expo") == before

    [opened] = lines.named("kitchen_socket_opened")
    [closed] = lines.named("kitchen_socket_closed")
    assert opened["request_id"] == closed["request_id"] and len(opened["request_id"]) == 32
    assert opened["store_id"] == closed["store_id"] == store.pk and opened["screen"] == "expo"


async def test_a_refused_socket_is_logged_with_its_own_request_id(layer, application, store, menu, customer_a):
    path = f"/ws/kds/{store.pk}/expo/"
    with json_log_lines() as lines:
        assert await refused(application, path, customer_a) == 4403
        assert await refused(application, path, customer_a) == 4403

    first, second = [line for line in lines.all() if line["event"].startswith("KDS socket refused")]
    assert first["socket"] == second["socket"] == path
    assert len(first["request_id"]) == 32 and first["request_id"] != second["request_id"]


async def test_a_pushed_event_s_delay_is_measured(layer, open_socket, store, menu, barista_store1, acounter_order):
    pushed = REGISTRY.get_sample_value("orderahead_outbox_push_delay_seconds_count") or 0.0
    async with open_socket(f"/ws/kds/{store.pk}/expo/", barista_store1) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await acounter_order()
        assert (await receive(ws))["type"] == "events"

    assert REGISTRY.get_sample_value("orderahead_outbox_push_delay_seconds_count") > pushed
