"""A screen far behind catches up in frames Daphne can send, or gets a snapshot, and then shows every ticket.

Daphne refuses to send a WebSocket message over 1 MiB and closes the socket with 1011; a screen that was
sent its whole backlog in frames of 100 events got one of 1.2-1.3 MB with 95-150 open orders (plan events
of 11-30 KB each) and retried the same resume point for ever. The test communicator has no such limit,
so these tests measure every frame.
"""

import json

import pytest
from channels.db import database_sync_to_async
from kds_helpers import read_until, receive

from fulfilment.models import StoreEvent
from fulfilment.services.outbox import outbox_head, outbox_snapshot
from kitchen_display import consumers, relay
from tests.kitchen_display.screen_model import Board

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]

DAPHNE_LIMIT = 1024 * 1024
FRAME_LIMIT = 256 * 1024  # well under it


def _place(counter_order, count: int) -> list[int]:
    # Latte and drip coffee only: the test menu has five croissants.
    return [counter_order(latte=1, croissant=0, drip=1 + n % 2, name=f"Guest Number{n}").pk for n in range(count)]


def _event_sizes(store_id: int, kind: str) -> list[int]:
    from fulfilment.services.outbox import event_message

    return [len(json.dumps(event_message(row), separators=(",", ":")))
            for row in StoreEvent.objects.filter(store_id=store_id, kind=kind).order_by("seq")]


async def _read_all(ws, board: Board, head: int) -> list[int]:
    """Feed the board every frame up to event `head`; the size of each frame, in bytes."""
    sizes = []
    while board.seq is None or board.seq < head:
        text = await ws.receive_from(timeout=20)
        sizes.append(len(text.encode()))
        request = board.receive(json.loads(text))
        if request:
            await ws.send_json_to(request)
    return sizes


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["memory"], indirect=True)
async def test_a_screen_back_from_the_start_of_the_day_with_150_open_orders_shows_every_ticket(
        layer, open_socket, store, menu, barista_store1, counter_order):
    placed = await database_sync_to_async(_place)(counter_order, 150)
    head = await database_sync_to_async(outbox_head)(store_id=store.pk)
    plan_sizes = await database_sync_to_async(_event_sizes)(store.pk, "plan")

    async with open_socket(f"/ws/kds/{store.pk}/{menu['espresso'].pk}/?since=0", barista_store1) as ws:
        board = Board(seq=0)  # it opened on the empty store before the first order of the day
        frames = await _read_all(ws, board, head)
        assert await ws.receive_nothing(timeout=0.3)

    print(f"\ncatch-up from since=0, 150 open orders, {head} events: {len(frames)} frames, bytes {frames}; "
          f"plan events max {max(plan_sizes)} B, mean {sum(plan_sizes) // len(plan_sizes)} B")
    assert max(frames) <= FRAME_LIMIT < DAPHNE_LIMIT
    assert sorted(board.tickets) == placed  # every ticket on the screen
    assert board.gaps == board.duplicates == 0
    assert board.as_snapshot() == await database_sync_to_async(outbox_snapshot)(store_id=store.pk)
    # A re-plan tells the screens what moved, compactly, not the whole store's plan at full precision
    # (that was 30 KB per event at 150 open orders).
    assert max(plan_sizes) < 12 * 1024


async def test_a_screen_too_far_behind_gets_a_snapshot_in_parts_then_live_events(
        layer, open_socket, store, menu, barista_store1, counter_order, acounter_order, monkeypatch):
    """Past the byte budget of a catch-up a screen gets a snapshot; a snapshot larger than a frame comes in
    parts, and the screen takes it whole; live events follow."""
    placed = await database_sync_to_async(_place)(counter_order, 30)
    head = await database_sync_to_async(outbox_head)(store_id=store.pk)
    monkeypatch.setattr(consumers, "CATCH_UP_BYTES", 8 * 1024)
    monkeypatch.setattr(relay, "FRAME_BYTES", 8 * 1024)

    async with open_socket(f"/ws/kds/{store.pk}/expo/?since=0", barista_store1) as ws:
        board = Board()
        kinds = []
        while board.seq is None:
            message = await receive(ws)
            kinds.append(message["type"])
            assert board.receive(message) is None
        assert kinds[0] == "snapshot" and kinds[1:] == ["snapshot.more"] * (len(kinds) - 1) and len(kinds) > 2
        assert board.seq == head and sorted(board.tickets) == placed and board.snapshots == 1

        late = await acounter_order(name="After the snapshot")
        await read_until(ws, board, await database_sync_to_async(outbox_head)(store_id=store.pk))

    assert late.pk in board.tickets and board.gaps == board.duplicates == 0
    assert board.as_snapshot() == await database_sync_to_async(outbox_snapshot)(store_id=store.pk)


def test_a_screen_takes_a_snapshot_only_whole():
    """The link drops between the parts of a snapshot: the screen keeps what it had and its number, so it
    resumes from there rather than from a number whose tickets it never got."""
    board = Board()
    board.receive({"type": "snapshot", "seq": 5, "tickets": [], "eighty_sixed": []})
    board.receive({"type": "snapshot", "seq": 9, "now": "", "eighty_sixed": [], "more": True,
                   "tickets": [{"id": 1, "status": "confirmed", "lines": []}]})
    assert board.seq == 5 and board.tickets == {}
    board.receive({"type": "snapshot.more", "seq": 9, "more": False,
                   "tickets": [{"id": 2, "status": "ready", "lines": []}]})
    assert board.seq == 9 and sorted(board.tickets) == [1, 2]


def test_pushed_frames_stay_under_the_frame_limit():
    """A burst of events committed together (one group message) goes out in several frames, in order."""
    events = [{"store": 1, "seq": n, "kind": "plan", "at": None, "order": None, "t0": "2026-01-01T00:00:00+00:00",
               "lines": [[n * 1000 + i, n, 0, i, i + 60] for i in range(300)], "ready": [], "notify": []}
              for n in range(1, 201)]
    message = relay.store_message(1, events)
    assert len(message["texts"]) > 1
    assert all(len(text.encode()) <= relay.FRAME_BYTES for text in message["texts"])
    seqs = [e["seq"] for text in message["texts"] for e in json.loads(text)["events"]]
    assert seqs == list(range(1, 201))
