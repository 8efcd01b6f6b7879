"""WebSocket consumers: kitchen screens (station, expo, pickup board), the customer's order, the live menu.

Kitchen screens (`ws/kds/<store>/<station>/`, `.../expo/`, `.../board/`) are for staff of that store
only, signed in with their session; anyone else is refused at connect. A screen gets a snapshot of the
store's tickets with the store's event number, then every later event with the next number, in order.
It may reconnect with `?since=<number>` and get just what it missed. Every message from the server:

    {"type": "snapshot", "seq": 41, "tickets": [...], "eighty_sixed": [...], "options_out": [...], "more": false}
    {"type": "snapshot.more", "seq": 41, "tickets": [...], "more": false}   the rest of a large snapshot
    {"type": "events", "events": [{"seq": 42, "kind": "order.created", "ticket": {...}, ...}, ...]}
    {"type": "ack", "ref": "a7", "action": "bump_ticket"}     done; the events it caused came just before
    {"type": "error", "ref": "a7", "code": "order_cancelled", "message": "Order 17 was cancelled; ..."}
    {"type": "pong", "head": 43}

and from the screen: {"action": "sync", "since": 41} (check in, get anything missed; with "gap": true
the numbers after 41 are sent again), {"action": "snapshot"}, and the barista's actions (see `ACTIONS`),
each with a `ref` the answer repeats. Actions are `fulfilment.services.kitchen_actions` calls (and
`pickup_handoff` for a scanned QR code); what they change comes back to every screen as events, this one
included. A refused action changes nothing and answers with an error the screen shows. A frame that is
not a JSON object, or too large, is answered with an error (`invalid_json`, `invalid_message`,
`too_large`) on every socket here, and the socket stays open.

No frame is larger than `relay.FRAME_BYTES` (Daphne closes a socket that is sent more than 1 MiB). A
screen that missed more than `CATCH_UP_EVENTS` events or `CATCH_UP_BYTES` of them gets a snapshot, then
live events, instead of everything it missed. The order-ready board is a public screen: it gets the
public shapes of tickets and events (`fulfilment.presenters.public_ticket`), without pickup codes
or account names.

The customer's socket (`ws/orders/<id>/`) is for the order's owner: session, or the app's API token as
the subprotocol `token.<key>` (a browser cannot set headers on a WebSocket). It gets the order as the
REST API shows it, again whenever it changes. The menu socket (`ws/stores/<store>/menu/`) is public and
says when an item or a modifier option is marked 86 or back:

    {"type": "items", "items": [{"id", "name", "station", "eighty_sixed"}, ...],
     "options": [{"id", "name", "group", "group_name", "available"}, ...]}     "options" only when some changed
A manager's dashboard (`ws/dashboard/`, or `?store=<id>` for one
store) hears `{"type": "changed", "store": 3}` when orders of a store it shows change, and reads its
figures again over HTTP; it is for managers of those stores only (a superuser: any store).
"""

import contextlib
import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from fulfilment import selectors
from fulfilment.dashboard import dashboard_stores_for_user
from fulfilment.serializers import OrderOut
from fulfilment.services import kitchen_actions, pickup
from fulfilment.presenters import public_event, public_snapshot
from fulfilment.services.outbox import outbox_head, outbox_since, outbox_snapshot
from kitchen_display.relay import (dashboard_group, encode, event_frames, menu_group, order_group, relay,
                                   snapshot_frames, store_group)
from orderahead import metrics
from orderahead.errors import DomainError
from orderahead.request_context import bind_socket_context
from orderahead.service_unavailable import is_unavailable
from stores.models import Station, Store
from stores.selectors import MAX_ID, store_role

log = logging.getLogger(__name__)

# More missed events than this, or more bytes of them, and a screen gets a new snapshot instead (cheaper,
# and as good). The events go out in frames of at most `relay.FRAME_BYTES` each.
CATCH_UP_EVENTS = 1000
CATCH_UP_BYTES = 1024 * 1024
# A screen's frames are small (an action, a check-in); a larger one is refused with an error, unread.
MAX_RECEIVED_BYTES = 16 * 1024
SUBPROTOCOL = "orderahead.v1"
# The close code of a socket whose consumer lost Redis (the channel layer) or its database connection: the page
# reconnects (kds.js and live.js do on any code but "not yours") once the service answers again. Applications
# may close only with 1000 or 3000-4999 (Autobahn); 4503 as in "503, retry".
SERVICE_UNAVAILABLE = 4503

# action -> (service, the message fields it takes (name in message, keyword), screens that may use it)
STATION, EXPO, BOARD = "station", "expo", "board"
ACTIONS = {
    "start_item": (kitchen_actions.kitchen_item_start, [("order", "order_id"), ("line", "line_id")], {STATION}),
    "bump_item": (kitchen_actions.kitchen_item_bump, [("order", "order_id"), ("line", "line_id")], {STATION}),
    "bump_ticket": (kitchen_actions.kitchen_ticket_bump, [("order", "order_id")], {STATION}),
    "bump_order": (kitchen_actions.kitchen_order_bump, [("order", "order_id")], {EXPO}),
    "recall": (kitchen_actions.kitchen_order_recall, [("order", "order_id")], {STATION, EXPO}),
    "delay": (kitchen_actions.kitchen_delay_report, [("order", "order_id"), ("minutes", "minutes")], {STATION, EXPO}),
    "item_86": (kitchen_actions.kitchen_item_86, [("item", "item_id"), ("eighty_sixed", "eighty_sixed")], {STATION, EXPO}),
    "option_86": (kitchen_actions.kitchen_option_86, [("option", "option_id"), ("available", "available")],
                  {STATION, EXPO}),
}
STORE_WIDE = {"item_86", "option_86"}  # the menu's, not a station's: a station screen may mark any of them


def _int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise DomainError(f"`{name}` must be a positive whole number.", code="invalid")
    return value


def _query(scope) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}


class JsonSocket(AsyncJsonWebsocketConsumer):
    """A socket that takes JSON objects from the client and answers anything else with an error message
    instead of closing (channels' JSON consumer lets the decoding error end the socket with 1011).
    Every line logged for the socket carries its own request id and path (orderahead.request_context)."""

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        except Exception as error:
            # The consumer died: its channel layer's Redis went away (the layer's receive failed) or a query
            # lost its connection. Channels then never calls disconnect(), and the socket would stay counted
            # as open and kept in its groups by the relay for good; clean up as a disconnect does.
            with contextlib.suppress(Exception):  # Redis may still be away: leaving a group fails too
                await self.disconnect(SERVICE_UNAVAILABLE)
            if not is_unavailable(error):
                raise  # a bug: Daphne logs it and closes with 1011
            log.warning("socket closed, service unavailable: %s: %s", type(error).__name__,
                        str(error).strip()[:200])
            with contextlib.suppress(Exception):  # the client may be gone already
                await send({"type": "websocket.close", "code": SERVICE_UNAVAILABLE})

    async def websocket_connect(self, message):
        bind_socket_context(self.scope, socket=self.scope.get("path", ""))
        await super().websocket_connect(message)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            return await self.refuse("invalid_message", "Send JSON text frames, not binary ones.")
        if len(text_data) > MAX_RECEIVED_BYTES:
            return await self.refuse("too_large", f"A message may be at most {MAX_RECEIVED_BYTES} bytes.")
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply to decode
            return await self.refuse("invalid_json", "That message is not valid JSON.")
        if not isinstance(content, dict):
            return await self.refuse("invalid_message", 'Send a JSON object, e.g. {"action": "sync"}.')
        await self.receive_json(content, **kwargs)

    async def refuse(self, code: str, message: str, ref=None):
        await self.send_json({"type": "error", "ref": ref, "code": code, "message": message})


class KitchenConsumer(JsonSocket):
    """A station screen, the store's expo screen or its pickup board."""

    store_id: int
    station_id: int | None
    last_seq: int = 0  # the last event number this screen was sent
    synced = False  # it has had a snapshot or a resume point

    async def connect(self):
        kwargs = self.scope["url_route"]["kwargs"]
        self.store_id = kwargs["store_id"]
        self.station_id = kwargs.get("station_id")
        self.screen = kwargs.get("screen", STATION)
        self.public = self.screen == BOARD  # seen by customers: public shapes only
        self.user = self.scope.get("user") or AnonymousUser()
        refusal = await self.refusal()
        if refusal:
            log.info("KDS socket refused (%s): store %s, user %s", refusal, self.store_id, self.user)
            await self.close(code=4403 if refusal != "signed_out" else 4401)
            return
        relay.ensure_started()
        await relay.join(store_group(self.store_id), self.channel_name)
        await self.accept()
        self.counted_as = self.screen  # orderahead_kitchen_sockets_open, until disconnect
        metrics.KITCHEN_SOCKETS.labels(self.screen).inc()
        log.info("kitchen_socket_opened", extra={"store_id": self.store_id, "screen": self.screen})
        relay.register(self)
        since = _query(self.scope).get("since", "")
        await self.catch_up(since=int(since) if since.isdigit() and len(since) < 19 else None)

    async def disconnect(self, code):
        if getattr(self, "counted_as", None) is not None:
            metrics.KITCHEN_SOCKETS.labels(self.counted_as).dec()
            log.info("kitchen_socket_closed", extra={"store_id": self.store_id, "screen": self.counted_as, "code": code})
            self.counted_as = None
        if getattr(self, "store_id", None) is not None:
            relay.unregister(self)
            await relay.leave(store_group(self.store_id), self.channel_name)

    @database_sync_to_async
    def refusal(self) -> str:
        if not self.user.is_authenticated:
            return "signed_out"
        if self.station_id is not None and not 1 <= self.station_id <= MAX_ID:
            return "unknown_station"
        if store_role(user=self.user, store_id=self.store_id) is None:
            return "not_staff"
        if self.station_id is not None and not Station.objects.filter(pk=self.station_id,
                                                                      store_id=self.store_id).exists():
            return "unknown_station"
        return ""

    # -- what the screen is sent --
    @database_sync_to_async
    def snapshot(self) -> tuple[int, list[str]]:
        snapshot = outbox_snapshot(store_id=self.store_id)
        if self.public:
            snapshot = public_snapshot(snapshot)
        return snapshot["seq"], snapshot_frames(snapshot, now=timezone.now().isoformat())

    async def send_snapshot(self):
        seq, frames = await self.snapshot()
        for frame in frames:
            await self.send(text_data=frame)
        self.last_seq, self.synced = seq, True

    @database_sync_to_async
    def missed(self, since: int) -> tuple[int, list[str]] | None:
        """The events after `since` up to the store's last, as frames, with that last number; or None
        where only a snapshot will do: too far behind (in events or bytes), numbers pruned, or a number
        from the future (the database was reset under a long-open screen)."""
        head = outbox_head(store_id=self.store_id)
        if not since <= head <= since + CATCH_UP_EVENTS:
            return None
        events = outbox_since(store_id=self.store_id, since=since, limit=CATCH_UP_EVENTS, upto=head)
        if events is None or len(events) != head - since:
            return None
        encoded, size = [], 0
        for event in events:
            encoded.append(encode(public_event(event) if self.public else event))
            size += len(encoded[-1])
            if size > CATCH_UP_BYTES:
                return None
        return head, event_frames(encoded)

    async def catch_up(self, since: int | None = None):
        """Send every event after `since` (default: the last one sent), else a snapshot."""
        if since is None:
            if not self.synced:
                return await self.send_snapshot()
            since = self.last_seq
        missed = await self.missed(since)
        if missed is None:
            return await self.send_snapshot()
        head, frames = missed
        self.last_seq, self.synced = since, True
        for frame in frames:
            await self.send(text_data=frame)
        self.last_seq = head

    async def store_events(self, message):
        """A push from the relay: send it on if it follows what this screen has; fill a gap from the outbox."""
        if message["last"] <= self.last_seq:
            return  # already sent (the screen's own action, or a catch-up got there first)
        frames = message.get("public_texts" if self.public else "texts")
        if message["first"] == self.last_seq + 1 and frames is not None:
            for frame in frames:
                await self.send(text_data=frame)
            self.last_seq = message["last"]
        else:  # a gap, or a push from an older process without the frames this screen needs
            await self.catch_up()

    async def store_head(self, message):
        """The watcher says the store is further than this screen: a push was lost somewhere."""
        if message["seq"] > self.last_seq:
            await self.catch_up()

    # -- what the screen asks --
    async def receive_json(self, content, **kwargs):
        action, ref = content.get("action"), content.get("ref")
        if action == "sync":
            since = content.get("since")
            valid = isinstance(since, int) and not isinstance(since, bool) and 0 <= since < 2**63
            # A check-in: anything after what was sent. A screen behind that number is usually just reading
            # frames still on their way; only when it says it found a gap is it sent those numbers again.
            if valid and (since > self.last_seq or content.get("gap") is True):
                await self.catch_up(since=since)
            else:
                await self.catch_up()
            await self.send_json({"type": "pong", "head": self.last_seq, "ref": ref})
            return
        if action == "snapshot":
            await self.send_snapshot()
            return
        try:
            done = await self.perform(action, content)
        except DomainError as error:
            await self.send_json({"type": "error", "ref": ref, "action": action, "code": error.code,
                                  "message": error.message, "fields": error.fields})
            return
        except Exception:  # noqa: BLE001 - a bug must not take the screen down; it is logged
            log.exception("KDS action %r failed", action)
            await self.send_json({"type": "error", "ref": ref, "action": action, "code": "server_error",
                                  "message": "Something went wrong; nothing was changed. Try again."})
            return
        await self.catch_up()  # the change, straight from the outbox, without waiting for the push
        await self.send_json({"type": "ack", "ref": ref, "action": action, **done})

    async def perform(self, action, content) -> dict:
        if action == "handoff":
            if self.screen != EXPO:
                raise DomainError("Hand orders over from the expo screen.", code="wrong_screen")
            order = await database_sync_to_async(pickup.pickup_handoff)(
                store_id=self.store_id, staff=self.user, token=str(content.get("token") or "")[:512],
                code=str(content.get("code") or "")[:12], name=str(content.get("name") or "")[:80])
            return {"order": order.pk, "name": order.customer_name}
        if action not in ACTIONS:
            raise DomainError(f"Unknown action {str(action)[:40]!r}.", code="unknown_action")
        service, fields, screens = ACTIONS[action]
        if self.screen not in screens:
            raise DomainError("This screen cannot do that.", code="wrong_screen")
        arguments = {"store_id": self.store_id, "actor": self.user}
        if self.screen == STATION and action not in STORE_WIDE:
            arguments["station_id"] = self.station_id  # the station's items only
        for name, keyword in fields:
            value = content.get(name)
            if keyword == "eighty_sixed":
                arguments[keyword] = value is not False
            elif keyword == "available":  # like "eighty_sixed": only an explicit true brings an option back
                arguments[keyword] = value is True
            elif keyword == "minutes":
                arguments[keyword] = value
            else:
                arguments[keyword] = _int(value, name)
        await database_sync_to_async(service)(**arguments)
        return {"order": arguments.get("order_id")}


class OrderConsumer(JsonSocket):
    """A customer following their order: the order as the API shows it, sent again when it changes."""

    last_text = ""
    store_id: int | None = None
    notified_seq = 0  # the store's event number this socket's last sent order is current to

    async def connect(self):
        self.order_id = self.scope["url_route"]["kwargs"]["order_id"]
        offered = self.scope.get("subprotocols") or []
        user = self.scope.get("user") or AnonymousUser()
        if not user.is_authenticated:
            user = await self.user_from_token(offered)
        self.user = user
        self.store_id = await self.owned_order_store()
        if self.store_id is None:
            await self.close(code=4403)
            return
        relay.ensure_started()  # pushes from this process go out on this loop
        await relay.join(order_group(self.order_id), self.channel_name)
        await self.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        await self.send_order()
        relay.follow(self)  # the watcher re-sends a push this socket was owed and lost

    async def disconnect(self, code):
        if getattr(self, "order_id", None) is not None:
            relay.unfollow(self)
            await relay.leave(order_group(self.order_id), self.channel_name)

    @database_sync_to_async
    def user_from_token(self, offered):
        from rest_framework.authtoken.models import Token

        keys = [p[len("token."):] for p in offered if p.startswith("token.")]
        token = Token.objects.select_related("user").filter(key=keys[0]).first() if keys else None
        return token.user if token and token.user.is_active else AnonymousUser()

    @database_sync_to_async
    def owned_order_store(self) -> int | None:
        """The order's store, if the order is this user's; else None."""
        if not (self.user.is_authenticated and 1 <= self.order_id <= MAX_ID):
            return None
        return (selectors.order_list_for_customer(customer=self.user).filter(pk=self.order_id)
                .values_list("store_id", flat=True).first())

    @database_sync_to_async
    def read_order(self) -> tuple[int, str] | None:
        """The store's event number and the order as the API shows it (with the kitchen's current
        estimate), as JSON; None if it is gone. The number is read first: the order is at least as new."""
        seq = outbox_head(store_id=self.store_id)
        order = selectors.order_get_for_customer(customer=self.user, order_id=self.order_id)
        if order is None:
            return None
        data = OrderOut(order).data
        data["estimated_ready_at"] = order.estimated_ready_at.isoformat() if order.estimated_ready_at else None
        return seq, json.dumps(data, separators=(",", ":"), default=str)

    async def send_order(self, force: bool = True):
        """Send the order, unless it is just what this socket was sent last (`force=False`)."""
        found = await self.read_order()
        if found is None:
            await self.close(code=4404)
            return
        seq, text = found
        if force or text != self.last_text:
            await self.send(text_data=f'{{"type":"order","seq":{seq},"order":{text}}}')
        self.last_text = text
        self.notified_seq = max(self.notified_seq, seq)

    async def order_changed(self, message):
        self.notified_seq = max(self.notified_seq, message.get("seq", 0))
        await self.send_order(force=False)

    async def receive_json(self, content, **kwargs):
        if content.get("action") != "sync":
            return await self.refuse("unknown_action", 'This socket only takes {"action": "sync"}.',
                                     ref=content.get("ref"))
        await self.send_order(force=False)
        await self.send_json({"type": "pong", "ref": content.get("ref")})


class MenuConsumer(JsonSocket):
    """Anyone looking at a store's menu hears when an item or a modifier option is marked 86 or comes back."""

    async def connect(self):
        self.store_id = self.scope["url_route"]["kwargs"]["store_id"]
        if not (1 <= self.store_id <= MAX_ID
                and await database_sync_to_async(Store.objects.filter(pk=self.store_id).exists)()):
            await self.close(code=4404)
            return
        relay.ensure_started()
        await relay.join(menu_group(self.store_id), self.channel_name)
        self.joined = True
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            await relay.leave(menu_group(self.store_id), self.channel_name)

    async def menu_items(self, message):
        options = {"options": message["options"]} if "options" in message else {}
        await self.send_json({"type": "items", "items": message["items"], **options})

    async def receive_json(self, content, **kwargs):
        if content.get("action") != "sync":
            return await self.refuse("unknown_action", 'This socket only takes {"action": "sync"}.',
                                     ref=content.get("ref"))
        await self.send_json({"type": "pong", "ref": content.get("ref")})


class DashboardConsumer(JsonSocket):
    """A manager's dashboard page: told that a shown store's orders changed, never what changed (the page reads
    its figures again, over HTTP, with the same rights as the page itself)."""

    store_ids: list[int] | tuple = ()

    async def connect(self):
        self.user = self.scope.get("user") or AnonymousUser()
        if not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.store_ids = await self.shown_stores(_query(self.scope).get("store", ""))
        if not self.store_ids:
            log.info("dashboard socket refused: user %s, query %r", self.user, self.scope.get("query_string", b"")[:80])
            await self.close(code=4403)
            return
        relay.ensure_started()  # the pushes of this process go out on this loop
        for store_id in self.store_ids:
            await relay.join(dashboard_group(store_id), self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for store_id in self.store_ids:
            await relay.leave(dashboard_group(store_id), self.channel_name)
        self.store_ids = []

    @database_sync_to_async
    def shown_stores(self, store_param: str) -> list[int]:
        """The stores the page shows: all the person manages, or the one asked for if they manage it; else none."""
        managed = dashboard_stores_for_user(user=self.user)
        if store_param:
            if not (store_param.isdigit() and 1 <= int(store_param) <= MAX_ID):
                return []
            managed = managed.filter(pk=int(store_param))
        return list(managed.values_list("pk", flat=True))

    async def dashboard_changed(self, message):
        await self.send_json({"type": "changed", "store": message["store"]})

    async def receive_json(self, content, **kwargs):
        if content.get("action") != "sync":
            return await self.refuse("unknown_action", 'This socket only takes {"action": "sync"}.',
                                     ref=content.get("ref"))
        await self.send_json({"type": "pong", "ref": content.get("ref")})
