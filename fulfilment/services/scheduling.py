"""The bridge between the database and the slot scheduler (`core_native`).

`kitchen_state` turns a store's open orders and staffing into the flat arrays the scheduler
takes (one plan item per unit: three lattes are three drinks on the bar); `store_replan` writes
the plan back onto the order lines and records changed ready times; `kitchen_quote` asks the
scheduler for the earliest ready time that keeps every promise already made, and which pickup
slots still fit. Times are seconds from `now`.

Orders awaiting payment are in the plan: their capacity is held for them, so a quote given
while someone pays cannot sell the same minutes twice.
"""

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Q

from core_native import api as planner
from fulfilment.models import PLAN_STATUSES, Order, OrderEvent, OrderLine
from fulfilment.services.outbox import outbox_plan_changed
from fulfilment.services.pickup_rules import arrival_timing, fulfilment_settings_for
from fulfilment.services.raw_sql import bulk_update_rows
from orderahead import metrics
from orderahead.errors import DomainError
from stores import hours
from stores.config_cache import store_stations
from stores.models import Store

# Orders promised further out than this do not compete with today's kitchen; a quote for a
# later day looks at the orders around its own time instead (see `kitchen_state(around=...)`).
PLAN_LOOKAHEAD = dt.timedelta(hours=4)
AROUND_WINDOW = dt.timedelta(hours=2)
# A customer is told about a new ready time only when it moves by at least this much.
READY_TIME_NOTICE_S = 60
# Every re-plan moves the times of waiting items a little as the clock runs on. A line's or order's time is
# written (and the screens told) only when it moved by at least this much, or its lane changed: below it
# no barista or customer would notice, and rewriting every open row on every order cost more than the plan.
PLAN_WRITE_THRESHOLD_S = 20
# The held plan's ranks (Order.plan_rank) only order the orders: they are renumbered 0, 1, 2, ... only when
# the stored ones no longer give the plan's sequence, or two neighbours are closer than this (a quote books
# a new order halfway between two, so gaps halve).
MIN_RANK_GAP = 1e-3


@dataclass
class KitchenState:
    store: Store
    now: dt.datetime
    station_index: dict[int, int]                      # Station pk -> index in the arrays
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    unit_line: list[int] = field(default_factory=list)  # plan item -> OrderLine pk
    lines: list[OrderLine] = field(default_factory=list)
    segments: tuple | None = None                       # what `_segments` gave, for a second state

    def seconds(self, when: dt.datetime) -> float:
        return (when - self.now).total_seconds()

    def at(self, seconds: float) -> dt.datetime:
        return self.now + dt.timedelta(seconds=math.ceil(seconds))


def _open_lines(store: Store, now: dt.datetime, around: dt.datetime | None) -> list[OrderLine]:
    wanted = Q(order__promised_ready_at__lte=now + PLAN_LOOKAHEAD)
    if around is not None:
        wanted |= Q(order__promised_ready_at__range=(around - AROUND_WINDOW, around + AROUND_WINDOW))
    return list(OrderLine.objects
                .filter(wanted, order__store=store, order__status__in=PLAN_STATUSES, done_at__isnull=True)
                .select_related("order").order_by("order_id", "id"))


def _segments(store: Store, now: dt.datetime, horizon_end: dt.datetime):
    stations = store_stations(store)
    seg_station, seg_start, seg_lanes = [], [], []
    for index, station in enumerate(stations):
        for starts, lanes in hours.lane_segments(station, now, horizon_end):
            seg_station.append(index)
            seg_start.append(max(0.0, (starts - now).total_seconds()))
            seg_lanes.append(lanes)
    return {s.pk: i for i, s in enumerate(stations)}, seg_station, seg_start, seg_lanes


def kitchen_state(*, store: Store, now: dt.datetime, around: dt.datetime | None = None,
                  segments=None, lines: list[OrderLine] | None = None) -> KitchenState:
    """`segments` (from `_segments`, same store, now and horizon) and `lines` (the open lines as
    `_open_lines` would read them) skip the reads when the caller already has them."""
    horizon_end = max(now, around or now) + PLAN_LOOKAHEAD + dt.timedelta(hours=4)
    station_index, seg_station, seg_start, seg_lanes = segments or _segments(store, now, horizon_end)
    state = KitchenState(store=store, now=now, station_index=station_index)
    state.segments = (station_index, seg_station, seg_start, seg_lanes)

    order_ids, station_of, prep, sd, due, jit, rank, release, weight = [], [], [], [], [], [], [], [], []
    # Make-when-I-arrive orders are due when their customer comes (services.pickup_rules.arrival_timing).
    hold = dt.timedelta(minutes=fulfilment_settings_for(store=store).shelf_hold_minutes)
    timing = {}
    progress_item, progress_lane, progress_remaining = [], [], []
    busy_lanes: dict[int, int] = {}
    lanes_now = {i: lanes for i, start, lanes in zip(seg_station, seg_start, seg_lanes) if start == 0.0}
    state.lines = _open_lines(store, now, around) if lines is None else lines
    for line in state.lines:
        index = state.station_index[line.station_id]
        for unit in range(line.quantity):
            if unit == 0 and line.started_at and busy_lanes.get(index, 0) < lanes_now.get(index, 0):
                # The first unit of a started line is on a lane now; the rest wait their turn.
                progress_item.append(len(order_ids))
                progress_lane.append(busy_lanes.get(index, 0))
                busy_lanes[index] = busy_lanes.get(index, 0) + 1
                progress_remaining.append(line.prep_seconds - (now - line.started_at).total_seconds())
            order_ids.append(line.order_id)
            station_of.append(index)
            prep.append(float(line.prep_seconds))
            sd.append(float(line.prep_sd_seconds))
            if line.order_id not in timing:
                timing[line.order_id] = arrival_timing(order=line.order, now=now, hold=hold)
            when = timing[line.order_id]
            due.append(state.seconds(when.due_at))
            jit.append(when.just_in_time)
            release.append(0.0 if when.release_at is None else state.seconds(when.release_at))
            weight.append(when.weight)
            rank.append(math.nan if line.order.plan_rank is None else line.order.plan_rank)
            state.unit_line.append(line.pk)

    state.arrays = dict(
        segment_station=np.asarray(seg_station, np.int64), segment_start_s=np.asarray(seg_start, np.float64),
        segment_lanes=np.asarray(seg_lanes, np.int64), item_order=np.asarray(order_ids, np.int64),
        item_station=np.asarray(station_of, np.int64), item_prep_s=np.asarray(prep, np.float64),
        item_prep_sd_s=np.asarray(sd, np.float64), item_due_s=np.asarray(due, np.float64),
        item_just_in_time=np.asarray(jit, bool), item_release_s=np.asarray(release, np.float64),
        item_weight=np.asarray(weight, np.float64), progress_item=np.asarray(progress_item, np.int64),
        progress_lane=np.asarray(progress_lane, np.int64),
        progress_remaining_s=np.maximum(1.0, np.asarray(progress_remaining, np.float64)),
        item_held_rank=np.asarray(rank, np.float64), handoff_s=float(store.handoff_seconds))
    return state


@metrics.SCHEDULER_REPLAN_SECONDS.time()
def store_replan(*, store: Store, now: dt.datetime, base: KitchenState | None = None,
                 added: list[OrderLine] = ()) -> planner.PlanResult | None:
    """Re-plan the store's kitchen and store the plan: lane, start and finish on each line, the
    expected ready time on each order, and an order event where that time moved noticeably.

    Call inside the transaction that changed the queue, after the change, with the store row
    locked (`Store.objects.select_for_update()`), so two plans never interleave.

    `base`: a state of this store at this `now` (built without `around`) read in this transaction
    before the only change since, which added the lines `added` (each with its `order` attached):
    the open lines are then those of `base` plus `added`, without reading them again.
    """
    if base is not None and base.now == now and base.store.pk == store.pk and all(l.pk for l in added):
        limit = now + PLAN_LOOKAHEAD
        extra = [line for line in added if line.order.status in PLAN_STATUSES and line.done_at is None
                 and line.order.promised_ready_at <= limit]
        lines = sorted([*base.lines, *extra], key=lambda line: (line.order_id, line.pk))
        state = kitchen_state(store=store, now=now, segments=base.segments, lines=lines)
    else:
        state = kitchen_state(store=store, now=now)
    if not state.unit_line:
        return None
    plan = planner.plan(**state.arrays, parallel=False)

    by_line: dict[int, list[int]] = {}
    for unit, line_id in enumerate(state.unit_line):
        by_line.setdefault(line_id, []).append(unit)
    changed_lines = []
    before = {line.pk: (line.planned_lane, line.planned_start_at, line.planned_finish_at) for line in state.lines}
    for line in state.lines:
        units = by_line[line.pk]
        finish = max(plan.item_finish_s[u] for u in units)
        if not math.isfinite(finish):
            planned = None, None, None
        else:
            planned = (int(plan.item_lane[units[0]]), state.at(min(plan.item_start_s[u] for u in units)),
                       state.at(finish))
        lane, start, finish_at = before[line.pk]
        if planned[0] != lane or _noticed(start, planned[1]) or _noticed(finish_at, planned[2]):
            line.planned_lane, line.planned_start_at, line.planned_finish_at = planned
            changed_lines.append(line)  # only rows whose plan moved noticeably are written
    bulk_update_rows(OrderLine, changed_lines, ["planned_lane", "planned_start_at", "planned_finish_at"])

    ready_by_order = {int(o): r for o, r in zip(plan.order_id, plan.order_ready_s)}
    position_by_order = {int(o): float(p) for o, p in zip(plan.order_id, plan.order_position)}
    # The orders were read with their lines (same transaction, store locked); in Order's own ordering.
    loaded = {line.order_id: line.order for line in state.lines}
    orders = sorted((loaded[pk] for pk in ready_by_order), key=lambda o: (o.created_at, o.pk), reverse=True)
    renumber = not _ranks_hold(orders, position_by_order)
    changed_orders, ready_moved, events = [], [], []  # rows to write; orders whose screens must hear of it
    for order in orders:
        ready_s = ready_by_order[order.pk]
        estimate = state.at(ready_s) if math.isfinite(ready_s) else None
        previous = order.estimated_ready_at
        rank_moved = renumber and order.plan_rank != position_by_order[order.pk]
        if rank_moved:
            order.plan_rank = position_by_order[order.pk]  # the held plan the next re-plan starts from
        if not _noticed(previous, estimate):
            if rank_moved:
                changed_orders.append(order)
            continue
        moved = (estimate is None or previous is None
                 or abs((estimate - previous).total_seconds()) >= READY_TIME_NOTICE_S)
        if moved and previous is not None:
            events.append(OrderEvent(order=order, kind=OrderEvent.READY_TIME_CHANGED, from_status=order.status,
                                     to_status=order.status,
                                     data={"from": previous.isoformat(),
                                           "to": estimate.isoformat() if estimate else None,
                                           "promised": order.promised_ready_at.isoformat()}))
        order.estimated_ready_at = estimate
        changed_orders.append(order)
        ready_moved.append(order)
    bulk_update_rows(Order, changed_orders, ["estimated_ready_at", "plan_rank"])
    OrderEvent.objects.bulk_create(events)
    # The screens' copy of the plan, and the customers whose ready time moved (kitchen_display relays it).
    outbox_plan_changed(store=store, before=before, lines=changed_lines, orders=ready_moved,
                        notify=[event.order_id for event in events])
    return plan


def _noticed(old: dt.datetime | None, new: dt.datetime | None) -> bool:
    """A planned time moved enough to write it: set, cleared, or by PLAN_WRITE_THRESHOLD_S or more."""
    if old is None or new is None:
        return old is not new
    return abs((new - old).total_seconds()) >= PLAN_WRITE_THRESHOLD_S


def _ranks_hold(orders: list[Order], position: dict[int, float]) -> bool:
    """The stored ranks already put the orders in the plan's sequence, with room to book between them."""
    ranks = [order.plan_rank for order in sorted(orders, key=lambda order: position[order.pk])]
    return None not in ranks and all(later - earlier >= MIN_RANK_GAP for earlier, later in zip(ranks, ranks[1:]))


@dataclass
class KitchenQuote:
    ready_at: dt.datetime
    margin_s: float
    keeps_promises: bool
    slot_status: dict[dt.datetime, str]   # slot start -> "" (offered), "full", "kitchen full", "too soon"
    # slot start -> the ready time promised if the order is booked in that slot: the start, or later in
    # the slot where the orders already booked for it would have this one made early (core_native's
    # QuoteResult.slot_ready_s); the start for slots not offered
    slot_ready: dict[dt.datetime, dt.datetime] = field(default_factory=dict)
    # Order.plan_rank to book the order with: ASAP, and per slot start (None: the store has no held plan yet)
    held_rank: float | None = None
    slot_held_rank: dict[dt.datetime, float | None] = field(default_factory=dict)


def promised_window(promised: dt.datetime, margin_s: float) -> tuple[dt.datetime, dt.datetime]:
    """The window promised with `promised` for an order whose kitchen quote had this safety margin:
    core_native's promise_window (the one place it is computed) on Unix seconds, so its ends fall on
    whole minutes of the clock."""
    start, end = planner.promise_window(promised.timestamp(), margin_s)
    return dt.datetime.fromtimestamp(start, dt.UTC), dt.datetime.fromtimestamp(end, dt.UTC)


def slot_reason(status_name: str) -> str:
    """Why a slot is not offered, as the API says it, from the scheduler's own status names (one
    vocabulary: "kitchen_full" -> "kitchen full"); an offered slot has no reason."""
    if status_name not in planner.SLOT_STATUS_NAMES:
        raise ValueError(f"unknown slot status {status_name!r}")
    return "" if status_name == "offered" else status_name.replace("_", " ")


SLOT_REASONS = {code: slot_reason(name) for code, name in enumerate(planner.SLOT_STATUS_NAMES)}


@metrics.SCHEDULER_QUOTE_SECONDS.time()
def kitchen_quote(*, store: Store, units: list[tuple[int, int, int]], now: dt.datetime,
                  slot_starts: list[dt.datetime] = (), slot_taken: dict[dt.datetime, int] | None = None,
                  state: KitchenState | None = None) -> KitchenQuote:
    """Ask the scheduler when a new order of `units` [(station pk, prep s, prep sd s), ...] can be
    ready without breaking an earlier promise, and which of `slot_starts` it fits in.

    Slots are judged as one evenly spaced run from the first to the last start; starts that
    fall in a closed gap are judged too and simply not read back.
    """
    around = max(slot_starts) if slot_starts else None
    if state is None or around is not None or state.now != now:
        state = kitchen_state(store=store, now=now, around=around)
    width = store.slot_minutes * 60
    first = min(slot_starts) if slot_starts else now
    count = int(round((max(slot_starts) - first).total_seconds() / width)) + 1 if slot_starts else 0
    taken = slot_taken or {}
    slot_orders = [taken.get(first + dt.timedelta(seconds=width * j), 0) for j in range(count)]
    try:
        result = planner.quote(
            **state.arrays, n_stations=len(state.station_index),
            new_item_station=[state.station_index[station] for station, _, _ in units],
            new_item_prep_s=[float(prep) for _, prep, _ in units], new_item_prep_sd_s=[float(sd) for _, _, sd in units],
            slot_first_start_s=state.seconds(first), slot_s=float(width), slot_capacity=store.slot_capacity,
            slot_orders=slot_orders)
    except planner.PlanError as error:
        raise DomainError(f"The kitchen cannot plan this order: {error}", code="kitchen_unavailable",
                          status=409) from None
    if not math.isfinite(result.ready_s):
        raise DomainError("No station that makes these items is staffed in the coming hours.",
                          code="kitchen_unavailable", status=409)
    status = {first + dt.timedelta(seconds=width * j): SLOT_REASONS[int(code)]
              for j, code in enumerate(result.slot_status)}
    # the slot's promise as an offset from its start (whole steps of a minute), so an unmoved one is the start itself
    ready = {start: start + dt.timedelta(seconds=round(float(result.slot_ready_s[j] - result.slot_start_s[j])))
             for j, start in enumerate(status)}
    def rank(value) -> float | None:
        return float(value) if math.isfinite(value) else None

    # a slot beyond the re-plan's look-ahead (a state read `around` it) joins the held plan when it
    # comes into view, at the end by due, as an order without a rank does
    lookahead = state.seconds(now + PLAN_LOOKAHEAD)
    slot_rank = {start: rank(result.slot_held_rank[j]) if result.slot_ready_s[j] <= lookahead else None
                 for j, start in enumerate(status)}
    return KitchenQuote(ready_at=state.at(result.ready_s), margin_s=result.margin_s,
                        keeps_promises=result.keeps_promises, slot_status=status, slot_ready=ready,
                        held_rank=rank(result.held_rank), slot_held_rank=slot_rank)
