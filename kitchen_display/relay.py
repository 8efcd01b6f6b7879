"""From the outbox to the screens: after-commit pushes (the fast path) and a watcher (the safety net).

Fast path: `fulfilment.services.outbox` announces each committed `StoreEvent` (`store_events_committed`).
`on_events_committed` hands them to this process's sender task, which batches whatever committed
meanwhile and sends ONE group message per store (`kds.<store>`) however many events it holds, plus a
short note to the group of each order whose customer should hear of it (`order.<id>`) and menu changes
to the store's public menu group (`menu.<store>`: items and modifier options marked 86 or back), and a
one-line "changed" to the managers' dashboards of the store (`dashboard.<store>`). Channels fans a group
message out to every member one by one, so fewer, larger group messages is what keeps 50 orders/s cheap. The JSON a screen gets is
encoded once here, not once per screen: the frames of the staff screens, each at most `FRAME_BYTES`
(Daphne refuses to send a WebSocket message over 1 MiB and closes the socket with 1011), and the smaller
frames of the public order-ready board (`public_event`: no pickup codes, no account names).

Safety net: a push can be lost (the committing process died after its commit, a full channel, an
expired group membership). Every Daphne process runs one watcher task that reads the newest event
number of each store it has screens for, once a second in ONE query, and nudges a screen that is still
behind a number it should have had by the previous poll; the screen then reads what it missed from the
outbox. Screens also check in themselves (`sync`) and fill gaps they see. Together: every event
reaches every open screen, each number once, in order. The same watcher reads the `notify` lists of the
events since its previous check and nudges each customer's order socket that was owed a push and did
not get it, so a customer's page, too, hears of a lost push within about two poll intervals.
"""

import asyncio
import atexit
import datetime as dt
import json
import logging
import threading
import time
from collections import defaultdict

from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings

from fulfilment.presenters import MENU_ITEM, MENU_OPTION, PLAN, public_event
from fulfilment.services.outbox import outbox_heads, outbox_notices
from orderahead import metrics

log = logging.getLogger(__name__)


def store_group(store_id: int) -> str:
    return f"kds.{store_id}"


def order_group(order_id: int) -> str:
    return f"order.{order_id}"


def menu_group(store_id: int) -> str:
    return f"menu.{store_id}"


def dashboard_group(store_id: int) -> str:
    return f"dashboard.{store_id}"


def poll_seconds() -> float:
    return float(settings.KDS_OUTBOX_POLL_S)


# A frame a screen is sent holds at most this many bytes (one event larger than this goes alone). Daphne's
# limit is 1 MiB; a quarter of it keeps a slow tablet's parse short and leaves room for any one event.
FRAME_BYTES = 256 * 1024
# At most this many group sends of one batch are in flight at once: a re-plan can tell hundreds of
# customers at a time, and each send in flight holds one of the layer's Redis connections.
MAX_CONCURRENT_SENDS = 16


def encode(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _chunks(encoded: list[str], budget: int) -> list[list[str]]:
    """The encoded items in order, in runs whose texts (with a comma each) add up to at most `budget`
    bytes; an item larger than that alone in its run. At least one run, maybe empty."""
    chunks, chunk, size = [], [], 0
    for text in encoded:
        length = len(text) + 1  # json.dumps escapes everything outside ASCII: characters are bytes
        if chunk and size + length > budget:
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(text)
        size += length
    chunks.append(chunk)
    return chunks


def event_frames(encoded_events: list[str]) -> list[str]:
    """`{"type": "events", ...}` frames of the already encoded events, in order, each at most
    `FRAME_BYTES` (an event larger than that alone in its frame)."""
    head, tail = '{"type":"events","events":[', "]}"
    if not encoded_events:
        return []
    return [head + ",".join(chunk) + tail for chunk in _chunks(encoded_events, FRAME_BYTES - len(head) - len(tail))]


def snapshot_frames(snapshot: dict, now: str) -> list[str]:
    """A snapshot in frames of at most `FRAME_BYTES`: the first `{"type": "snapshot", "seq", "now",
    "eighty_sixed", "options_out", "tickets", "more"}`, then `{"type": "snapshot.more", "seq", "tickets", "more"}` while
    tickets remain. A screen shows the snapshot, and takes its number, only once it has the part with
    `"more": false`: a socket that drops in between leaves the screen as it was."""
    first = encode({"type": "snapshot", "seq": snapshot["seq"], "now": now,
                    "eighty_sixed": snapshot["eighty_sixed"], "options_out": snapshot.get("options_out", [])})[:-1]
    more = encode({"type": "snapshot.more", "seq": snapshot["seq"]})[:-1]
    reserve = max(len(first), len(more)) + len(',"tickets":[],"more":false}')
    chunks = _chunks([encode(ticket) for ticket in snapshot["tickets"]], FRAME_BYTES - reserve)
    last = len(chunks) - 1
    return [f'{more if i else first},"tickets":[{",".join(chunk)}],"more":{"false" if i == last else "true"}}}'
            for i, chunk in enumerate(chunks)]


def store_message(store_id: int, events: list[dict]) -> dict:
    """The group message for a store's screens: the events' frames for the staff screens and for the
    public board, encoded once."""
    events = sorted(events, key=lambda e: e["seq"])
    return {"type": "store.events", "store": store_id, "first": events[0]["seq"], "last": events[-1]["seq"],
            "texts": event_frames([encode(event) for event in events]),
            "public_texts": event_frames([encode(public_event(event)) for event in events])}


def group_refresh_seconds(layer) -> float:
    """How often this process adds its sockets to their groups again: a quarter of the layer's group
    expiry, so a live socket's membership is renewed three times before it could lapse, while a dead
    one (its process crashed) leaves the group within the expiry."""
    return max(1.0, float(getattr(layer, "group_expiry", 86400)) / 4)


async def broadcast(events: list[dict]) -> None:
    """Send committed events to the groups that want them: one message per store, per order, per menu."""
    layer = get_channel_layer()
    if layer is None:
        return
    by_store: dict[int, list[dict]] = defaultdict(list)
    menus: dict[int, list[dict]] = defaultdict(list)
    menu_options: dict[int, list[dict]] = defaultdict(list)
    orders: dict[int, int] = {}
    for event in events:
        by_store[event["store"]].append(event)
        if event["kind"] == MENU_ITEM:
            menus[event["store"]].append(event["item"])
        elif event["kind"] == MENU_OPTION:
            menu_options[event["store"]].append(event["option"])
        for order_id in event.get("notify") or ():
            orders[order_id] = max(orders.get(order_id, 0), event["seq"])
    sends = [(store_group(store_id), store_message(store_id, store_events))
             for store_id, store_events in by_store.items()]
    sends += [(order_group(order_id), {"type": "order.changed", "seq": seq}) for order_id, seq in orders.items()]
    # One message per store's menu: the items, and the options only when some changed (a shopper's checkout
    # re-quotes when one in its cart went out or came back).
    sends += [(menu_group(store_id), {"type": "menu.items", "items": menus.get(store_id, []),
                                      **({"options": menu_options[store_id]} if store_id in menu_options else {})})
              for store_id in {*menus, *menu_options}]
    # Managers' dashboards only need to hear THAT a store's orders changed (they read their figures again), so
    # theirs is a tiny message, not the screens' frames; a re-plan alone moves no figure.
    sends += [(dashboard_group(store_id), {"type": "dashboard.changed", "store": store_id})
              for store_id, store_events in by_store.items() if any(e["kind"] != PLAN for e in store_events)]
    in_flight = asyncio.Semaphore(MAX_CONCURRENT_SENDS)

    async def send(group: str, message: dict) -> None:
        async with in_flight:
            await layer.group_send(group, message)

    results = await asyncio.gather(*(send(group, message) for group, message in sends), return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):  # a hint lost: the watcher and the screens' own checks cover it
            log.warning("KDS push failed: %r", result)
    observe_push_delay(list(by_store.values()), results)


def observe_push_delay(events_by_store: list[list[dict]], results: list) -> None:
    """The outbox's lag as screens feel it: for each event pushed, the seconds from its write (inside the
    transaction that made the change) to the push of its store's message. A lost push is not measured
    here; `orderahead_outbox_lost_pushes_total` counts the screens the watcher had to nudge instead."""
    now = time.time()
    for events, result in zip(events_by_store, results):  # the stores' sends come first, in this order
        if not isinstance(result, BaseException):
            for event in events:
                written = dt.datetime.fromisoformat(event["at"]).timestamp()
                metrics.OUTBOX_PUSH_DELAY_SECONDS.observe(max(0.0, now - written))


class Relay:
    """This process's sender and watcher tasks, on the event loop the consumers run on."""

    def __init__(self):
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self.queue: asyncio.Queue | None = None
        self.tasks: list[asyncio.Task] = []
        self.screens: dict[int, set] = defaultdict(set)  # store id -> consumers with a `last_seq`
        self.followers: dict[int, set] = defaultdict(set)  # store id -> customer sockets with a `notified_seq`
        self.notices_checked: dict[int, int] = {}  # store id -> events checked for lost customer pushes, up to
        self.members: set[tuple[str, str]] = set()  # (group, channel) of this process's live sockets
        self.sent_batches = 0
        self.thread: _SenderThread | None = None

    # -- lifecycle --
    def ensure_started(self) -> None:
        """Start the tasks on the running loop (the first screen of a process does this)."""
        loop = asyncio.get_running_loop()
        if self.loop is loop and self.tasks and not any(task.done() for task in self.tasks):
            return
        for task in self.tasks:
            task.cancel()
        if self.loop is not loop:  # sockets of another (closed) loop are gone; a task that died keeps them
            self.screens = defaultdict(set)
            self.followers, self.notices_checked = defaultdict(set), {}
            self.members = set()
        self.loop, self.loop_thread = loop, threading.get_ident()
        self.queue = asyncio.Queue()
        self.tasks = [loop.create_task(self._send_forever(self.queue)), loop.create_task(self._watch_forever()),
                      loop.create_task(self._refresh_forever())]

    def _running(self) -> bool:
        return self.loop is not None and self.loop.is_running() and not self.loop.is_closed()

    # -- fast path --
    def submit(self, events: list[dict]) -> None:
        """Called after a commit, from any thread, never blocking it: queue the events for this process's
        sender task (on the consumers' loop), or, in a process without one (an HTTP-only process, a
        management command), for a sender thread with a loop of its own."""
        if self._running():
            if threading.get_ident() == self.loop_thread:
                self.queue.put_nowait(events)
            else:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, events)
            return
        if isinstance(get_channel_layer(), InMemoryChannelLayer | None):
            return  # no screen of this process is listening, and no other process can hear this layer
        self._thread_sender().submit(events)

    async def _send_forever(self, queue: asyncio.Queue, done=None) -> None:
        while True:
            events = list(await queue.get())
            batches = 1
            while not queue.empty():  # whatever else committed meanwhile goes in the same messages
                events.extend(queue.get_nowait())
                batches += 1
            try:
                await broadcast(events)
                self.sent_batches += 1
            except Exception:  # noqa: BLE001
                log.exception("KDS push failed")
            if done:
                done(batches)

    def _thread_sender(self) -> "_SenderThread":
        with _THREAD_LOCK:
            if self.thread is None or not self.thread.is_alive():
                self.thread = _SenderThread(self)
            return self.thread

    # -- group memberships --
    async def join(self, group: str, channel_name: str) -> None:
        """Add a socket of this process to a group; it is kept there by `refresh_groups` while it lives."""
        self.members.add((group, channel_name))
        await get_channel_layer().group_add(group, channel_name)

    async def leave(self, group: str, channel_name: str) -> None:
        self.members.discard((group, channel_name))
        await get_channel_layer().group_discard(group, channel_name)

    async def _refresh_forever(self) -> None:
        """Renew the memberships of this process's sockets, on its own: a database that is away (which
        stops the watcher's checks) must not let live screens drop out of their groups."""
        while True:
            await asyncio.sleep(group_refresh_seconds(get_channel_layer()))
            try:
                await self.refresh_groups()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis may be briefly away; the next round adds them again
                log.exception("KDS group refresh failed")

    async def refresh_groups(self) -> None:
        layer = get_channel_layer()
        for group, channel_name in list(self.members):
            await layer.group_add(group, channel_name)

    # -- safety net --
    def register(self, consumer) -> None:
        self.screens[consumer.store_id].add(consumer)

    def unregister(self, consumer) -> None:
        self.screens.get(consumer.store_id, set()).discard(consumer)

    def follow(self, consumer) -> None:
        """A customer's order socket, current to its store's event `consumer.notified_seq`."""
        store_id = consumer.store_id
        self.notices_checked[store_id] = min(self.notices_checked.get(store_id, consumer.notified_seq),
                                             consumer.notified_seq)
        self.followers[store_id].add(consumer)

    def unfollow(self, consumer) -> None:
        followers = self.followers.get(consumer.store_id)
        if followers is None:
            return
        followers.discard(consumer)
        if not followers:  # the next follower starts the check from its own number, not from this one's
            del self.followers[consumer.store_id]
            self.notices_checked.pop(consumer.store_id, None)

    async def _watch_forever(self) -> None:
        previous: dict[int, int] = {}
        while True:
            await asyncio.sleep(poll_seconds())
            try:
                previous = await self.check(previous)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be briefly away; try again next time
                log.exception("KDS outbox watch failed")

    async def check(self, previous: dict[int, int]) -> dict[int, int]:
        """Nudge each screen still behind the number its store had at the previous check: by now the
        push for it has had a whole poll interval to arrive, so it was lost."""
        store_ids = {store_id for store_id, consumers in self.screens.items() if consumers}
        store_ids |= {store_id for store_id, consumers in self.followers.items() if consumers}
        if not store_ids:
            return {}
        heads = await database_sync_to_async(outbox_heads)(store_ids=store_ids)
        layer = get_channel_layer()
        for store_id, head in heads.items():
            due = previous.get(store_id)
            if due is None:
                continue
            for consumer in list(self.screens.get(store_id, ())):
                if consumer.last_seq < due:
                    metrics.OUTBOX_LOST_PUSHES.inc()
                    await layer.send(consumer.channel_name, {"type": "store.head", "seq": head})
        await self.check_followers(previous)
        return heads

    async def check_followers(self, previous: dict[int, int]) -> None:
        """Nudge each customer socket that an event up to the previous check should have told about its
        order and that has not heard of it (one query for the events' `notify` lists of every store)."""
        ranges = {}
        for store_id, consumers in self.followers.items():
            checked, due = self.notices_checked.get(store_id, 0), previous.get(store_id)
            if consumers and due is not None and due > checked:
                ranges[store_id] = (checked, due)
        if not ranges:
            return
        notices = await database_sync_to_async(outbox_notices)(ranges=ranges)
        owed: dict = {}
        for store_id, seq, order_ids in notices:
            for consumer in self.followers.get(store_id, ()):
                if consumer.order_id in order_ids and consumer.notified_seq < seq:
                    owed[consumer] = max(owed.get(consumer, 0), seq)
        for store_id, (_, due) in ranges.items():
            self.notices_checked[store_id] = due
        layer = get_channel_layer()
        for consumer, seq in owed.items():
            await layer.send(consumer.channel_name, {"type": "order.changed", "seq": seq})



_THREAD_LOCK = threading.Lock()


class _SenderThread(threading.Thread):
    """A loop of its own for processes without consumers. At exit it is given a moment to send what is
    queued (a management command commits and ends at once); whatever it cannot send, the screens read
    from the outbox anyway."""

    def __init__(self, owner: Relay):
        super().__init__(name="kds-relay-sender", daemon=True)
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        self.pending = 0
        self.lock = threading.Lock()
        self.idle = threading.Event()
        self.idle.set()
        self.started = threading.Event()
        self.owner = owner
        self.start()
        self.started.wait(5)
        atexit.register(self.drain, 2.0)

    def run(self):
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.loop.create_task(self.owner._send_forever(self.queue, done=self._sent))
        self.started.set()
        self.loop.run_forever()

    def submit(self, events: list[dict]) -> None:
        with self.lock:
            self.pending += 1
            self.idle.clear()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, events)

    def _sent(self, batches: int) -> None:
        with self.lock:
            self.pending -= batches
            if self.pending <= 0:
                self.idle.set()

    def drain(self, timeout: float) -> bool:
        return self.idle.wait(timeout)


relay = Relay()


def on_events_committed(sender, events, **kwargs) -> None:
    relay.submit(events)
