"""What baristas do from the kitchen screens: start and bump items, bump a whole order to ready, recall
it, mark an item or a modifier option 86, report a delay.

Each action runs in one transaction that locks the store row first and then the order (the lock order
of `order_place` and `order_transition`), checks that the order, item and station belong to the store
and that the move makes sense now, changes the rows, re-plans the store with the scheduler, and writes
the outbox event the screens and the customer get after the commit. An action that makes no sense
(bumping a cancelled order, an item of another station) raises `Conflict` and changes nothing.
State changes of the order itself go through `order_transition`, like every other caller's.
"""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from fulfilment.models import KITCHEN_STATUSES, Order, OrderLine, OrderStatus
from fulfilment.presenters import ORDER_DELAYED, ORDER_LINES
from fulfilment.services.lifecycle import order_transition
from fulfilment.services.outbox import outbox_menu_item, outbox_menu_option, outbox_order_changed
from fulfilment.services.raw_sql import bulk_update_rows
from fulfilment.services.scheduling import store_replan
from orderahead.errors import Conflict, DomainError, NotFound
from stores.models import MenuItem, ModifierOption, Station, Store
from stores.selectors import store_role
from stores.services import PrepSample, item_set_86, learned_prep_record, options_set_available

S = OrderStatus
MAX_DELAY_MINUTES = 60


# --- Checks ------------------------------------------------------------------------------------------------

def _check_staff(actor, store_id: int) -> None:
    if store_role(user=actor, store_id=store_id) is None:
        raise DomainError("You are not on the staff of this store.", code="not_staff", status=403)


def _lock_store(store_id: int) -> Store:
    """The store row, locked: every writer takes it first."""
    store = Store.objects.select_for_update().filter(pk=store_id).first()
    if store is None:
        raise NotFound(f"Store {store_id} does not exist.", code="unknown_store")
    return store


def _lock(store_id: int, order_id: int) -> tuple[Store, Order]:
    """Store row first, then the order: the same order as every other writer, so none wait in a cycle."""
    store = _lock_store(store_id)
    order = Order.objects.select_for_update().filter(pk=order_id, store_id=store_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} is not an order of this store.", code="unknown_order")
    return store, order


def _station(store: Store, station_id: int | None) -> Station | None:
    if station_id is None:
        return None
    station = Station.objects.filter(pk=station_id, store=store).first()
    if station is None:
        raise NotFound(f"Station {station_id} is not a station of this store.", code="unknown_station")
    return station


def _refuse(order: Order, doing: str) -> Conflict:
    why = {S.CANCELLED: "was cancelled", S.PICKED_UP: "was already picked up", S.NO_SHOW: "was not collected",
           S.READY: "is already ready (recall it first)", S.PENDING_PAYMENT: "is not paid yet"}
    reason = why.get(order.status, f"is {order.get_status_display().lower()}")
    return Conflict(f"Order {order.pk} {reason}; cannot {doing}.", code=f"order_{order.status}",
                    fields={"status": order.status, "order": order.pk})


def _require_kitchen(order: Order, doing: str) -> None:
    if order.status not in KITCHEN_STATUSES:
        raise _refuse(order, doing)


def _line(order: Order, line_id: int, station: Station | None) -> OrderLine:
    line = order.lines.select_related("station").filter(pk=line_id).first()
    if line is None:
        raise NotFound(f"Item {line_id} is not on order {order.pk}.", code="unknown_item")
    if station is not None and line.station_id != station.pk:
        raise Conflict(f"{line.item_name} (order {order.pk}) is made at {line.station.name}, not at {station.name}.",
                       code="other_station", fields={"station": line.station_id, "order": order.pk})
    return line


# --- What the kitchen took: learned prep times ----------------------------------------------------------------

def _learn_from_made(store: Store, lines: list[OrderLine]) -> None:
    """The bumped lines whose start was pressed teach the store its real prep times (stores.services.
    learned_prep_record; a line bumped without a start has no start time to measure from, and one left on the
    screen is dropped there). Per unit, as the dashboard measures it, less the options' extra time, which the
    quote adds back. Only station bumps call this: the expo's whole-order bump marks lines done at the handoff,
    not when their station finished them."""
    made = [line for line in lines if line.started_at is not None and line.done_at is not None]
    if not made:
        return
    option_ids = {m["option_id"] for line in made for m in line.modifiers if isinstance(m, dict) and m.get("option_id")}
    extra = dict(ModifierOption.objects.filter(pk__in=option_ids).values_list("pk", "extra_prep_seconds")) \
        if option_ids else {}
    learned_prep_record(store=store, samples=[
        PrepSample(item_id=line.item_id, station_id=line.station_id, started_at=line.started_at,
                   seconds=(line.done_at - line.started_at).total_seconds() / max(1, line.quantity)
                   - sum(extra.get(m.get("option_id"), 0) for m in line.modifiers if isinstance(m, dict)))
        for line in made])


# --- After the rows changed: state, plan, event ---------------------------------------------------------------

def _finish(*, store: Store, order: Order, actor, action: str, now: dt.datetime, data: dict | None = None,
            kind: str = ORDER_LINES, open_lines: bool | None = None) -> Order:
    """Move the order on where its lines say so, else re-plan and tell the screens what changed.
    `open_lines`: whether any line is still to be done, when the caller knows (else it is read)."""
    if open_lines is None:
        open_lines = order.lines.filter(done_at__isnull=True).exists()
    note = {"kds": action, **(data or {})}
    if not open_lines and order.status in KITCHEN_STATUSES:
        return order_transition(order=order, to_status=S.READY, actor=actor, data=note, now=now, locked_store=store)
    started = order.lines.filter(started_at__isnull=False).exists()
    if order.status == S.CONFIRMED and started:
        return order_transition(order=order, to_status=S.IN_PROGRESS, actor=actor, data=note, now=now,
                                locked_store=store)
    store_replan(store=store, now=now)
    outbox_order_changed(store=store, order=order, kind=kind, actor=actor, data={"action": action, **(data or {})})
    order.refresh_from_db()
    return order


# --- Actions -----------------------------------------------------------------------------------------------

def kitchen_item_start(*, store_id: int, station_id: int, line_id: int, order_id: int, actor,
                       now: dt.datetime | None = None) -> Order:
    """A barista starts making an item: it is on a lane now, and the order is in progress."""
    now = now or timezone.now()
    _check_staff(actor, store_id)
    with transaction.atomic():
        store, order = _lock(store_id, order_id)
        station = _station(store, station_id)
        _require_kitchen(order, "start it")
        line = _line(order, line_id, station)
        if line.done_at is not None:
            raise Conflict(f"{line.item_name} (order {order.pk}) is already bumped; recall it to make it again.",
                           code="already_done", fields={"order": order.pk})
        if line.started_at is not None:
            return order  # a second tap: already started, nothing to do
        line.started_at = now
        line.save(update_fields=["started_at"])
        return _finish(store=store, order=order, actor=actor, action="start_item", now=now, data={"line": line.pk})


def kitchen_item_bump(*, store_id: int, station_id: int, line_id: int, order_id: int, actor,
                      now: dt.datetime | None = None) -> Order:
    """One item is done. When it was the order's last, the order is ready and its customer is told."""
    now = now or timezone.now()
    _check_staff(actor, store_id)
    with transaction.atomic():
        store, order = _lock(store_id, order_id)
        station = _station(store, station_id)
        _require_kitchen(order, "bump it")
        line = _line(order, line_id, station)
        if line.done_at is not None:
            return order  # a second tap
        was_started = line.started_at is not None
        line.started_at = line.started_at or now
        line.done_at = now
        line.save(update_fields=["started_at", "done_at"])
        if was_started:
            _learn_from_made(store, [line])
        return _finish(store=store, order=order, actor=actor, action="bump_item", now=now, data={"line": line.pk})


def kitchen_ticket_bump(*, store_id: int, station_id: int, order_id: int, actor,
                        now: dt.datetime | None = None) -> Order:
    """A station is done with its part of an order (every item of the order it makes)."""
    now = now or timezone.now()
    _check_staff(actor, store_id)
    with transaction.atomic():
        store, order = _lock(store_id, order_id)
        station = _station(store, station_id)
        _require_kitchen(order, "bump it")
        lines = list(order.lines.filter(station=station, done_at__isnull=True))
        if not lines:
            if not order.lines.filter(station=station).exists():
                raise Conflict(f"Order {order.pk} has nothing made at {station.name}.", code="other_station",
                               fields={"order": order.pk})
            return order  # a second tap: all bumped already
        started = [line for line in lines if line.started_at is not None]
        for line in lines:
            line.started_at = line.started_at or now
            line.done_at = now
        bulk_update_rows(OrderLine, lines, ["started_at", "done_at"])
        _learn_from_made(store, started)
        return _finish(store=store, order=order, actor=actor, action="bump_ticket", now=now,
                       data={"station": station.pk})


def kitchen_order_bump(*, store_id: int, order_id: int, actor, now: dt.datetime | None = None) -> Order:
    """The whole order is done (expo): every item bumped, the order ready, the customer told."""
    now = now or timezone.now()
    _check_staff(actor, store_id)
    with transaction.atomic():
        store, order = _lock(store_id, order_id)
        _require_kitchen(order, "bump it")
        lines = list(order.lines.filter(done_at__isnull=True))
        for line in lines:
            line.started_at = line.started_at or now
            line.done_at = now
        bulk_update_rows(OrderLine, lines, ["started_at", "done_at"])
        # Every line not yet done was just marked done, in this transaction: none is open.
        return _finish(store=store, order=order, actor=actor, action="bump_order", now=now, open_lines=False)


def kitchen_order_recall(*, store_id: int, order_id: int, actor, station_id: int | None = None,
                         now: dt.datetime | None = None) -> Order:
    """Bring bumped items back to the screen to be made again: the station's items (or, from expo, all of
    them). A ready order goes back in progress and off the shelf."""
    now = now or timezone.now()
    _check_staff(actor, store_id)
    with transaction.atomic():
        store, order = _lock(store_id, order_id)
        station = _station(store, station_id)
        if order.status not in (*KITCHEN_STATUSES, S.READY):
            raise _refuse(order, "recall it")
        lines = order.lines.filter(done_at__isnull=False)
        if station is not None:
            lines = lines.filter(station=station)
        lines = list(lines)
        if not lines:
            where = f" at {station.name}" if station else ""
            raise Conflict(f"Nothing of order {order.pk} was bumped{where}; there is nothing to recall.",
                           code="nothing_to_recall", fields={"order": order.pk})
        for line in lines:
            line.started_at = None
            line.done_at = None
        OrderLine.objects.bulk_update(lines, ["started_at", "done_at"])
        if order.status == S.READY:
            return order_transition(order=order, to_status=S.IN_PROGRESS, actor=actor, now=now,
                                    data={"recall": True, "kds": "recall"}, locked_store=store)
        return _finish(store=store, order=order, actor=actor, action="recall", now=now)


def kitchen_delay_report(*, store_id: int, order_id: int, minutes: int, actor, station_id: int | None = None,
                         now: dt.datetime | None = None) -> Order:
    """An order will take `minutes` longer (at the station, or as a whole): its items' expected prep time
    grows, the store is re-planned and customers whose ready time moves are told."""
    now = now or timezone.now()
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_DELAY_MINUTES:
        raise DomainError(f"A delay is 1 to {MAX_DELAY_MINUTES} minutes.", code="invalid",
                          fields={"minutes": minutes})
    _check_staff(actor, store_id)
    with transaction.atomic():
        store, order = _lock(store_id, order_id)
        station = _station(store, station_id)
        _require_kitchen(order, "delay it")
        lines = order.lines.filter(done_at__isnull=True)
        if station is not None:
            lines = lines.filter(station=station)
        lines = list(lines)
        if not lines:
            raise Conflict(f"Order {order.pk} has nothing left to make here; there is nothing to delay.",
                           code="nothing_to_delay", fields={"order": order.pk})
        for line in lines:
            line.prep_seconds += minutes * 60
        OrderLine.objects.bulk_update(lines, ["prep_seconds"])
        store_replan(store=store, now=now)
        outbox_order_changed(store=store, order=order, kind=ORDER_DELAYED, actor=actor,
                             data={"minutes": minutes, "station": station.pk if station else None})
        order.refresh_from_db()
        return order


def kitchen_item_86(*, store_id: int, item_id: int, actor, eighty_sixed: bool = True,
                    now: dt.datetime | None = None) -> MenuItem:
    """Mark a menu item out (86) or back: it leaves (or returns to) the menu of every channel at once,
    and the screens and the customer app hear of it after the commit."""
    now = now or timezone.now()
    _check_staff(actor, store_id)
    with transaction.atomic():
        store = _lock_store(store_id)
        item = MenuItem.objects.filter(pk=item_id, store=store).first()
        if item is None:
            raise NotFound(f"Item {item_id} is not on this store's menu.", code="unknown_menu_item")
        if item.eighty_sixed == eighty_sixed:
            return item
        item._announced = True  # the event is written below, in this transaction (see fulfilment.signals)
        item_set_86(item=item, eighty_sixed=eighty_sixed, actor=actor, now=now)
        store_replan(store=store, now=now)
        outbox_menu_item(store=store, item=item, actor=actor)
        return item


def kitchen_option_86(*, store_id: int, option_id: int, actor, available: bool,
                      now: dt.datetime | None = None) -> ModifierOption:
    """Mark a modifier option out (oat milk ran out) or back: the menu and every quote stop (or start)
    offering it at once, and the screens and the customer app hear of it after the commit.

    No re-plan, unlike an item's 86: the plan is made of lines already ordered, whose prep times were fixed
    when they were placed, and an option's availability only decides what can be ordered next."""
    _check_staff(actor, store_id)
    with transaction.atomic():
        store = _lock_store(store_id)
        option = ModifierOption.objects.select_related("group").filter(pk=option_id, group__store=store).first()
        if option is None:
            raise NotFound(f"Option {option_id} is not a modifier option of this store.", code="unknown_option")
        option._announced = True  # the event is written below, in this transaction (see fulfilment.signals)
        changed = options_set_available(options=[option], available=available, actor=actor, now=now)
        if changed:
            option = changed[0]
            outbox_menu_option(store=store, option=option, actor=actor)
        return option
