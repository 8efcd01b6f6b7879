"""The Redis channel layer as the settings configure it, against a real Redis.

- Pushes in bursts wait for a connection of a bounded pool instead of failing: at 20 orders a second the
  layer's pushes failed with MaxConnectionsError (redis-py's default pool raises past 100 in flight).
- The channels of a crashed process leave their groups within the group expiry (it was a day, and every
  push to that store logged "over capacity"), while live sockets, renewed by their process, stay.
"""

import asyncio
import copy
import logging
import runpy
import uuid
from pathlib import Path

import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from kds_helpers import read_until, receive

from fulfilment.services.outbox import outbox_head
from kitchen_display.relay import store_group
from tests.kitchen_display.screen_model import Board

pytestmark = [pytest.mark.anyio]

BASE_SETTINGS = Path(__file__).resolve().parents[2] / "orderahead" / "settings" / "base.py"


def production_layer(monkeypatch, redis_url: str, **options) -> tuple[dict, str]:
    """The channel layer settings base.py builds for a deployment with REDIS_URL (the test settings use the
    in-memory layer), with a prefix and a client name of this test's own and any `options` changed."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    layer = copy.deepcopy(runpy.run_path(str(BASE_SETTINGS))["CHANNEL_LAYERS"]["default"])
    name = f"kdstest{uuid.uuid4().hex[:8]}"
    layer["CONFIG"]["hosts"][0]["client_name"] = name
    layer["CONFIG"].update(prefix=name, **options)
    return layer, name


def connections(redis_url: str, name: str) -> int:
    return sum(1 for client in redis.Redis.from_url(redis_url).client_list() if client.get("name") == name)


async def test_a_burst_of_pushes_waits_for_a_bounded_pool_of_connections(monkeypatch, settings, redis_url):
    settings.CHANNEL_LAYERS = {"default": production_layer(monkeypatch, redis_url)[0]}
    config, name = settings.CHANNEL_LAYERS["default"], settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    pool_size = config["CONFIG"]["hosts"][0].get("max_connections", 100)  # redis-py's default: 100
    layer = get_channel_layer()
    try:
        for order_id in range(50):  # 50 customers' order pages, three sockets each
            for socket in range(3):
                await layer.group_add(f"order.{order_id}", f"{name}.page{order_id}.{socket}")
        # 1000 pushes at once from as many tasks: more than a second of a busy store's events.
        results = await asyncio.gather(*(layer.group_send(f"order.{n % 50}", {"type": "order.changed", "seq": n})
                                         for n in range(1000)), return_exceptions=True)
        used = connections(redis_url, name)
    finally:
        await layer.flush()

    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == [], f"{len(errors)} pushes failed, e.g. {errors[0]!r}"
    print(f"\n1000 concurrent group sends: 0 failed, {used} Redis connections (pool of {pool_size})")
    assert 0 < used <= pool_size


@pytest.mark.django_db(transaction=True)
async def test_a_crashed_screen_leaves_the_group_and_a_live_one_stays(monkeypatch, settings, redis_url, open_socket,
                                                                      store, menu, barista_store1, acounter_order,
                                                                      caplog):
    expiry, capacity = 3, 10  # the settings' two minutes and 100 messages, shortened for the test
    config, name = production_layer(monkeypatch, redis_url, group_expiry=expiry, capacity=capacity)
    settings.CHANNEL_LAYERS = {"default": config}
    settings.KDS_OUTBOX_POLL_S = 0.2
    caplog.set_level(logging.INFO, logger="channels_redis.core")
    group = store_group(store.pk)
    group_key = f"{name}:group:{group}"
    members = redis.Redis.from_url(redis_url)
    layer = get_channel_layer()

    async def pushes(count: int):  # what the relay sends a store's screens (a nudge a current screen ignores)
        for _ in range(count):
            await layer.group_send(group, {"type": "store.head", "seq": 0})
            await asyncio.sleep(0.01)

    def over_capacity() -> list[str]:
        return [r.getMessage() for r in caplog.records if "over capacity" in r.getMessage()]

    await acounter_order(name="First")
    try:
        async with open_socket(f"/ws/kds/{store.pk}/{menu['espresso'].pk}/", barista_store1) as ws:
            board = Board()
            board.receive(await receive(ws))
            live = {m.decode() for m in members.zrange(group_key, 0, -1)}
            assert len(live) == 1
            await layer.group_add(group, "specific.crashed!screen")  # a screen of a process that died: never read
            await pushes(capacity + 2)
            assert over_capacity()  # its queue is full: every push to the store says so

            await asyncio.sleep(3 * expiry)  # the crashed screen's membership lapses; the live one is renewed
            caplog.clear()
            await pushes(capacity + 2)
            order = await acounter_order(name="After")
            await read_until(ws, board, await database_sync_to_async(outbox_head)(store_id=store.pk))

            assert {m.decode() for m in members.zrange(group_key, 0, -1)} == live
            assert over_capacity() == []
            assert order.pk in board.tickets and board.gaps == 0  # the live screen still has its pushes
    finally:
        for key in members.scan_iter(f"{name}*"):
            members.delete(key)


def test_the_settings_expire_a_dead_member_within_minutes_and_bound_the_pool(monkeypatch, redis_url):
    from kitchen_display.relay import group_refresh_seconds

    config = production_layer(monkeypatch, redis_url)[0]
    assert config["BACKEND"] == "kitchen_display.layers.PooledRedisChannelLayer"
    assert config["CONFIG"]["group_expiry"] <= 300
    assert config["CONFIG"]["hosts"][0]["max_connections"] <= 50

    class Layer:
        group_expiry = config["CONFIG"]["group_expiry"]
    assert group_refresh_seconds(Layer) * 3 <= Layer.group_expiry  # renewed three times before it lapses
