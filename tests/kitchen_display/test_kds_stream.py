"""A kitchen screen gets a snapshot with the store's event number, then every event in order, each once;
one that was away catches up with exactly what it missed, and its board equals the database."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from kds_helpers import read_until, receive

from fulfilment import services
from fulfilment.models import StoreEvent
from fulfilment.services import kitchen_actions
from fulfilment.services.outbox import outbox_head, outbox_snapshot
from kitchen_display.relay import relay
from tests.kitchen_display.screen_model import Board

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


def _kds(store, menu):
    return f"/ws/kds/{store.pk}/{menu['espresso'].pk}/"


async def test_snapshot_then_every_event_in_order(layer, open_socket, store, menu, barista_store1, acounter_order):
    first = await acounter_order(name="Ann")

    async with open_socket(_kds(store, menu), barista_store1) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert snapshot["seq"] == await database_sync_to_async(outbox_head)(store_id=store.pk) > 0
        assert [t["id"] for t in snapshot["tickets"]] == [first.pk]
        assert snapshot["tickets"][0]["name"] == "Ann" and snapshot["tickets"][0]["code"]

        board = Board()
        board.receive(snapshot)
        second = await acounter_order(name="Bo")
        head = await database_sync_to_async(outbox_head)(store_id=store.pk)
        await read_until(ws, board, head)

        assert board.applied == list(range(snapshot["seq"] + 1, head + 1))
        assert board.gaps == board.duplicates == 0
        assert set(board.tickets) == {first.pk, second.pk}
        created = [e for e in await database_sync_to_async(_events)(store.pk) if e.kind == "order.created"]
        assert created[-1].order_id == second.pk
        assert board.as_snapshot() == await database_sync_to_async(outbox_snapshot)(store_id=store.pk)


def _events(store_id):
    return list(StoreEvent.objects.filter(store_id=store_id).order_by("seq"))


async def test_a_screen_away_for_500_updates_gets_each_number_once(layer, open_socket, store, menu, barista_store1,
                                                                   counter_order):
    espresso = menu["espresso"].pk

    async with open_socket(_kds(store, menu), barista_store1) as ws:
        board = Board()
        board.receive(await receive(ws))
    left_at = board.seq

    def busy_kitchen():
        """At least 500 events while the screen is away: orders placed, started, bumped, recalled, picked up,
        cancelled, an item marked 86 and back (the queue stays short, as in a store)."""
        head, n = left_at, 0
        while head - left_at < 500:
            order = counter_order(latte=1, croissant=0, drip=1, name=f"guest {n}")
            if n % 7 == 3:
                services.order_cancel(order=order, actor=barista_store1, reason="changed their mind")
            else:
                line = order.lines.filter(station_id=espresso).first()
                kitchen_actions.kitchen_item_start(store_id=store.pk, station_id=espresso, order_id=order.pk,
                                           line_id=line.pk, actor=barista_store1)
                kitchen_actions.kitchen_ticket_bump(store_id=store.pk, station_id=espresso, order_id=order.pk,
                                            actor=barista_store1)
                if n % 3 == 0:
                    kitchen_actions.kitchen_order_recall(store_id=store.pk, order_id=order.pk, actor=barista_store1)
                    kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=order.pk, actor=barista_store1)
                if n % 2 == 0:
                    services.order_pick_up(order=order, actor=barista_store1)
            if n % 10 == 0:
                kitchen_actions.kitchen_item_86(store_id=store.pk, item_id=menu["croissant"].pk, actor=barista_store1,
                                        eighty_sixed=n % 20 == 0)
            n += 1
            head = outbox_head(store_id=store.pk)
        return head

    head = await database_sync_to_async(busy_kitchen)()
    assert head - left_at >= 500

    async with open_socket(_kds(store, menu) + f"?since={left_at}", barista_store1) as ws:
        await read_until(ws, board, head, timeout=20)
        await asyncio.sleep(0.3)  # anything else would arrive now
        assert await ws.receive_nothing(timeout=0.2)

    assert board.applied == list(range(left_at + 1, head + 1)), "every number once, in order"
    assert board.gaps == 0 and board.duplicates == 0
    assert board.as_snapshot() == await database_sync_to_async(outbox_snapshot)(store_id=store.pk)


async def test_a_lost_push_is_filled_from_the_outbox(layer, open_socket, store, menu, barista_store1, acounter_order,
                                                     monkeypatch):
    """The process that committed died before it pushed (no push at all): the watcher notices the store is
    further than the screen, and the screen reads the missing events from the outbox."""
    async with open_socket(_kds(store, menu), barista_store1) as ws:
        board = Board()
        board.receive(await receive(ws))
        monkeypatch.setattr(relay, "submit", lambda events: None)  # every push after the commit is lost
        order = await acounter_order(name="Lost")
        head = await database_sync_to_async(outbox_head)(store_id=store.pk)

        await read_until(ws, board, head, timeout=5)  # poll interval is 0.2 s in these tests

    assert order.pk in board.tickets and board.gaps == board.duplicates == 0


async def test_a_gap_in_the_pushes_is_filled_in_order(layer, open_socket, store, menu, barista_store1, acounter_order,
                                                      monkeypatch):
    """Pushes arrive with a hole (a message dropped in between): the screen is sent the missing numbers
    first, so it still applies each number once and in order."""
    async with open_socket(_kds(store, menu), barista_store1) as ws:
        board = Board()
        board.receive(await receive(ws))
        real_submit = relay.submit
        dropped = []
        monkeypatch.setattr(relay, "submit", lambda events: dropped.extend(events))
        await acounter_order(name="Dropped")
        monkeypatch.setattr(relay, "submit", real_submit)
        await acounter_order(name="Pushed")
        head = await database_sync_to_async(outbox_head)(store_id=store.pk)
        await read_until(ws, board, head)

    assert dropped and board.applied == list(range(board.applied[0], head + 1))
    assert board.applied[0] == dropped[0]["seq"] and board.gaps == board.duplicates == 0


async def test_a_screen_that_reports_a_gap_gets_the_missing_events(layer, open_socket, store, menu, barista_store1,
                                                                   acounter_order):
    await acounter_order()
    await acounter_order()
    head = await database_sync_to_async(outbox_head)(store_id=store.pk)
    async with open_socket(_kds(store, menu), barista_store1) as ws:
        await receive(ws)
        await ws.send_json_to({"action": "sync", "since": head - 3})  # a check-in: nothing missing
        assert (await receive(ws)) == {"type": "pong", "head": head, "ref": None}
        await ws.send_json_to({"action": "sync", "since": head - 3, "gap": True})
        events = await receive(ws)
        pong = await receive(ws)
    assert [e["seq"] for e in events["events"]] == [head - 2, head - 1, head]
    assert pong == {"type": "pong", "head": head, "ref": None}


async def test_a_resume_point_the_store_never_reached_gets_a_snapshot(layer, open_socket, store, menu,
                                                                       barista_store1, acounter_order):
    await acounter_order()
    for since in ("99999", "9" * 40, "-3", "x"):
        async with open_socket(_kds(store, menu) + f"?since={since}", barista_store1) as ws:
            message = await receive(ws)
            assert message["type"] == "snapshot" and message["seq"] < 99999
            await ws.send_json_to({"action": "sync", "since": 10**30, "gap": True})
            assert (await receive(ws))["type"] == "pong"


@pytest.mark.parametrize("layer", ["redis"], indirect=True)  # the in-memory layer has no Redis read
async def test_a_quiet_screen_on_redis_outlives_the_layers_blocking_pop(layer, open_socket, store, menu,
                                                                       acounter_order):
    """A screen with nothing to show for longer than the Redis layer's blocking pop (5 s) keeps its socket
    and gets the next order pushed. With redis-py 8's default 5 s read timeout the pop's read timed out
    and the exception closed the socket (django/channels_redis#422)."""
    from tests.factories import staff

    barista = await database_sync_to_async(staff)("quiet_barista", store, "barista")
    async with open_socket(_kds(store, menu), barista) as ws:
        board = Board()
        board.receive(await receive(ws))
        await asyncio.sleep(7)
        order = await acounter_order(name="After the quiet")
        head = await database_sync_to_async(outbox_head)(store_id=store.pk)
        await read_until(ws, board, head, timeout=3)
    assert order.pk in board.tickets


def test_the_watcher_checks_a_stores_notices_from_its_oldest_follower_and_forgets_a_store_nobody_follows():
    """Customer sockets of a store are checked from the oldest number any of them is current to; once the
    last one leaves, a later one starts from its own number (no scan of the store's whole history)."""
    from kitchen_display.relay import Relay

    class Page:  # what the watcher reads of a customer's order socket
        def __init__(self, store_id, notified_seq):
            self.store_id, self.notified_seq = store_id, notified_seq

    watcher = Relay()
    early, late = Page(7, 40), Page(7, 90)
    watcher.follow(late)
    watcher.follow(early)
    assert watcher.notices_checked[7] == 40
    watcher.unfollow(early)
    watcher.unfollow(late)
    assert 7 not in watcher.notices_checked and 7 not in watcher.followers
    watcher.follow(Page(7, 5000))
    assert watcher.notices_checked[7] == 5000
