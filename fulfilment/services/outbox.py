"""The store event outbox: what a store's screens must learn, numbered per store, written with the change.

Every change the kitchen screens or a customer must see (an order placed, a state change, an item
started or bumped, a re-plan that moves tickets or ready times, an item or a modifier option marked 86)
is written here as a `StoreEvent` row in the SAME transaction as the change, with the store row locked,
so the store's numbers (`seq`) run 1, 2, 3 ... without gaps and in commit order. After the commit the rows are
announced (`store_events_committed`); `kitchen_display` listens and pushes them to the screens.
fulfilment never imports kitchen_display: the signal and the table are the whole interface.

A push is only a hint. A screen that sees a gap in the numbers, reconnects, or learns of a higher
number some other way reads the rows it missed (`outbox_since`) or a new snapshot (`outbox_snapshot`).
A process that dies between the commit and the announcement loses nothing: the rows are there.

Events carry absolute values (a whole ticket, the new planned times), never increments, so applying
the events after a snapshot's number over that snapshot gives the database's state, even where the
snapshot's tickets were read a moment after its number.

Planned times (a line's lane, start and finish, an order's expected ready time) reach the screens to the
whole second: a screen shows minutes and seconds and sorts by them. A re-plan moves every queued line by
the time since the last one, so at microseconds every plan event listed every line of the store (11-30 KB
each with 95-150 open orders, and a screen catching up got a hundred of them). A plan event lists only
the lines whose whole-second values moved, as offsets in seconds from one base time (`t0`).

What an event carries (the tickets, the public board's shapes) and the event kinds are in
`fulfilment.presenters`; this module writes, numbers and reads the events.
"""

import datetime as dt
from functools import partial, update_wrapper

from django.db import transaction
from django.db.models import Max, Prefetch, Q
from django.dispatch import Signal
from django.utils import timezone

from fulfilment.models import PAID_OPEN_STATUSES, Order, OrderLine, StoreEvent
from fulfilment.presenters import (
    MENU_ITEM,
    MENU_OPTION,
    PLAN,
    iso,
    item_message,
    option_message,
    order_ticket,
    plan_iso,
    plan_offset,
)
from fulfilment.services.raw_sql import store_event_insert_numbered
from stores.models import MenuItem, ModifierOption, Store

# Sent after the commit with `events=[message, ...]` (see `event_message`); kitchen_display relays them.
store_events_committed = Signal()


def _username(user) -> str:
    return user.get_username() if user is not None and getattr(user, "is_authenticated", False) else ""


def event_message(event: StoreEvent) -> dict:
    """A row as the screens and the relay get it: its number, kind, time and payload keys.

    `notify` names the orders whose customers should hear of it (their order page refreshes)."""
    return {"store": event.store_id, "seq": event.seq, "kind": event.kind, "at": iso(event.created_at),
            "order": event.order_id, **event.payload}


# --- Writes (inside the caller's transaction, store row locked) ---------------------------------------------

def outbox_write(*, store: Store, kind: str, payload: dict, order: Order | None = None,
                 now: dt.datetime | None = None) -> StoreEvent:
    """Add the store's next event. Call inside the transaction that made the change, with the store
    row locked (`Store.objects.select_for_update()`), which every fulfilment writer already holds:
    that lock is what makes the numbers gapless and ordered like the commits."""
    event = StoreEvent(store_id=store.pk, kind=kind, order=order, payload=payload, created_at=now or timezone.now())
    event.pk, event.seq = store_event_insert_numbered(event)
    event._state.adding = False
    # update_wrapper: a failing robust hook is logged by its __qualname__, which a bare partial lacks.
    transaction.on_commit(update_wrapper(partial(_announce, event_message(event)), _announce), robust=True)
    return event


def _announce(message: dict) -> None:
    store_events_committed.send(sender=StoreEvent, events=[message])


def outbox_order_changed(*, store: Store, order: Order, kind: str, actor=None, data: dict | None = None,
                         current_lines: list[OrderLine] | None = None) -> StoreEvent:
    """The order's whole ticket as it is now, read again after the re-plan wrote its planned times.

    `current_lines`: the caller holds `order` and all of its lines exactly as the database has them now
    (the re-plan set their planned times on these very instances), so nothing is read again."""
    if current_lines is None:
        order = Order.objects.select_related("customer").get(pk=order.pk)
        ticket = order_ticket(order)
    else:
        ticket = order_ticket(order, sorted(current_lines, key=lambda line: line.pk))
    payload = {"ticket": ticket, "by": _username(actor), "notify": [order.pk], **(data or {})}
    return outbox_write(store=store, kind=kind, payload=payload, order=order)


def outbox_plan_changed(*, store: Store, before: dict[int, tuple], lines: list[OrderLine], orders: list[Order],
                        notify: list[int]) -> StoreEvent | None:
    """What a re-plan changed, as the screens see it: lines whose lane, start or finish moved to another
    whole second (`before` holds the old values by line id) and orders whose expected ready time moved.
    Times are whole seconds after `t0` (see `presenters.plan_time`). `notify`: orders whose customers are told."""
    def seen(lane, start, finish):
        return lane, plan_iso(start), plan_iso(finish)

    moved_lines = [line for line in lines if seen(*before.get(line.pk, (None, None, None)))
                   != seen(line.planned_lane, line.planned_start_at, line.planned_finish_at)]
    times = [t for line in moved_lines for t in (line.planned_start_at, line.planned_finish_at) if t]
    times += [order.estimated_ready_at for order in orders if order.estimated_ready_at]
    if not moved_lines and not orders:
        return None
    t0 = min(times).astimezone(dt.UTC).replace(microsecond=0) if times else timezone.now().replace(microsecond=0)
    moved = [[line.pk, line.order_id, line.planned_lane, plan_offset(line.planned_start_at, t0),
              plan_offset(line.planned_finish_at, t0)] for line in moved_lines]
    ready = [[order.pk, plan_offset(order.estimated_ready_at, t0)] for order in orders]
    return outbox_write(store=store, kind=PLAN, payload={"t0": t0.isoformat(), "lines": moved, "ready": ready,
                                                         "notify": list(notify)})


def outbox_menu_item(*, store: Store, item: MenuItem, actor=None) -> StoreEvent:
    return outbox_write(store=store, kind=MENU_ITEM, payload={"item": item_message(item), "by": _username(actor)})


def outbox_menu_option(*, store: Store, option: ModifierOption, actor=None) -> StoreEvent:
    return outbox_write(store=store, kind=MENU_OPTION,
                        payload={"option": option_message(option), "by": _username(actor)})


# --- Reads -------------------------------------------------------------------------------------------------

def outbox_head(*, store_id: int) -> int:
    """The store's last event number (0 before the first)."""
    return StoreEvent.objects.filter(store_id=store_id).aggregate(last=Max("seq"))["last"] or 0


def outbox_heads(*, store_ids) -> dict[int, int]:
    rows = StoreEvent.objects.filter(store_id__in=list(store_ids)).values("store_id").annotate(last=Max("seq"))
    heads = {store_id: 0 for store_id in store_ids}
    heads.update({row["store_id"]: row["last"] for row in rows})
    return heads


def outbox_notices(*, ranges: dict[int, tuple[int, int]]) -> list[tuple[int, int, list[int]]]:
    """(store, number, orders whose customers were to be told) of every event numbered after `lo` up to
    `hi`, for each store's `(lo, hi)` in `ranges`, in one query: what the watcher checks customer pages by."""
    if not ranges:
        return []
    wanted = Q()
    for store_id, (lo, hi) in ranges.items():
        wanted |= Q(store_id=store_id, seq__gt=lo, seq__lte=hi)
    rows = StoreEvent.objects.filter(wanted).values_list("store_id", "seq", "payload__notify")
    return [(store_id, seq, list(notify or ())) for store_id, seq, notify in rows]


def outbox_since(*, store_id: int, since: int, limit: int, upto: int | None = None) -> list[dict] | None:
    """The store's events after `since` (up to `upto`), oldest first, at most `limit` of them.

    None when they cannot be given whole: more than `limit`, or numbers missing (pruned), in
    which case the caller sends a snapshot instead."""
    rows = StoreEvent.objects.filter(store_id=store_id, seq__gt=since)
    if upto is not None:
        rows = rows.filter(seq__lte=upto)
    events = [event_message(row) for row in rows.order_by("seq")[:limit + 1]]
    if len(events) > limit:
        return None
    if any(event["seq"] != since + 1 + i for i, event in enumerate(events)):
        return None
    return events


# A kitchen screen shows the orders that are paid and not yet handed over (PAID_OPEN_STATUSES); any other
# state removes the ticket.

def _screen_orders(store_id: int):
    return (Order.objects.filter(store_id=store_id, status__in=PAID_OPEN_STATUSES).select_related("customer")
            .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id"))).order_by("id"))


def outbox_snapshot(*, store_id: int) -> dict:
    """Everything a screen of the store shows, and the event number it is current to.

    The number is read first: events after it that the tickets already reflect are applied again
    (they carry absolute values), and none can be missed."""
    seq = outbox_head(store_id=store_id)
    tickets = [order_ticket(order, list(order.lines.all())) for order in _screen_orders(store_id)]
    items = [item_message(item) for item in
             MenuItem.objects.filter(store_id=store_id, eighty_sixed=True).order_by("name")]
    options = [option_message(option) for option in
               ModifierOption.objects.filter(group__store_id=store_id, is_available=False).select_related("group")
               .order_by("pk")]
    return {"seq": seq, "tickets": tickets, "eighty_sixed": items, "options_out": options}


def outbox_prune(*, older_than: dt.datetime) -> int:
    """Delete events older than `older_than`, keeping each store's newest (the next number follows it)."""
    newest = StoreEvent.objects.values("store_id").annotate(last=Max("seq"))
    keep = {(row["store_id"], row["last"]) for row in newest}
    deleted = 0
    for store_id, last in keep:
        deleted += StoreEvent.objects.filter(store_id=store_id, seq__lt=last, created_at__lt=older_than).delete()[0]
    return deleted
