"""Public face of the slot planner: validate, build flat arrays, run, unpack.

No Django here: NumPy arrays in, arrays out. Times are float64 seconds from
"now" (the moment of the plan); ids and indices int64. Every argument is
keyword-only.

plan(...) -> PlanResult: plan many stores at once (or one)
--------------------------------------------------------------
Stores are numbered 0 .. n_stores-1 by the caller (for one store pass
station_store=None: every station belongs to store 0).

    station_store        int64[S]    store of each station (row = station index); None: all store 0
    segment_station      int64[G]    station index of each staffing segment
    segment_start_s      float64[G]  the segment's lane count holds from this time on (any order;
                                     strictly increasing per station); before a station's first
                                     segment it has no lanes
    segment_lanes        int64[G]    lanes (baristas / machines) working from segment_start_s, >= 0
    item_order           int64[N]    order id of each item (any int64; a smaller id = ordered earlier,
                                     used to break ties between equal due times)
    item_station         int64[N]    station index that makes the item
    item_prep_s          float64[N]  expected (mean) prep seconds, > 0
    item_due_s           float64[N]  promised ready time of the item's order (order due = min)
    item_prep_sd_s       float64[N]  prep time standard deviation, >= 0      (default 0)
    item_release_s       float64[N]  not to start before (clamped to now = 0) (default 0)
    item_weight          float64[N]  priority, >= 0; order weight = max       (default 1)
    item_just_in_time    bool[N]     make the order just in time for its due time (scheduled
                                     pickups); order flag = any               (default False)
    progress_item        int64[P]    row (item index) of each item already being made
    progress_lane        int64[P]    its lane within its station, 0-based
    progress_remaining_s float64[P]  expected seconds left, > 0
    handoff_s            float or float64[n_stores]  last item done -> order on the shelf
    n_stores             int         optional, default max(station_store) + 1
    use_reference        bool        run the pure-Python reference instead of the kernels
    improve              bool        run the local improvement pass under tardiness (default True)
    parallel             bool        kernels: prange over stores (default True)
    config               PlannerConfig

PlanResult (item arrays in input row order; order arrays sorted by order id):
    item_lane (int64, lane within the station, -1 = no lane is ever open long enough),
    item_start_s, item_finish_s (inf when unschedulable; running items start at 0),
    order_id, order_store, order_ready_s (last finish + handoff), order_due_s,
    order_weight, order_margin_s (safety margin of the order's critical chain),
    order_tardiness_s; properties total_weighted_tardiness, late_items, makespan.

quote(...) -> QuoteResult: one new order at one store
-------------------------------------------------------
Takes the store's current open items exactly as plan() does for one store
(stations 0 .. n_stations-1, no station_store), plus:

    new_item_station     int64[K]    station of each item of the new order
    new_item_prep_s      float64[K]  mean prep seconds, > 0
    new_item_prep_sd_s   float64[K]  prep sd seconds (default 0)
    new_release_s        float       not before (default 0)
    new_weight           float       priority (default 1)
    new_just_in_time     bool        the ASAP order will be booked just in time (a mobile customer who
                                     walks in at the promised time): the check that the promise holds
                                     plans it that way (default False; slots are always just in time)
    slot_first_start_s   float       start of the first pickup slot to judge
    slot_s               float       slot width in seconds
    slot_orders          int64[J]    orders already booked in each of the J slots, counting those
                                     still awaiting payment (empty: judge no slots)
    slot_capacity        int         orders a slot may hold

The new order gets id max(item_order) + 1: existing orders go first on ties.
QuoteResult: ready_s (the earliest promise that keeps every promise already
made, safety margin included), margin_s, keeps_promises (False only when the
store is so overloaded that no position keeps every promise; ready_s is then
after everyone else's), slot_start_s float64[J], slot_status int8[J]
(0 offered, 1 full, 2 kitchen full, 3 too soon), slot_offered bool[J],
slot_ready_s float64[J]: the promised ready time if that slot is booked, in
[slot start, slot start + slot_s). It is the slot's start unless the plan that
confirms the slot makes the order more than config.slot_shift_tol_s before its
just-in-time target (stacked behind the slot's other orders, which all aim at
the start); then it is later in the window, by about as much (whole
config.slot_shift_step_s, at most slot_s - one step), when the full planner
confirms that promise too and makes the order nearer it. Slots not offered
carry their start (nothing judged). The customer is told "ready at P (your
S - S + slot_s window)".
To book an ASAP order, add it with item_due_s = ready_s; to book a slot j,
add it with item_due_s = slot_ready_s[j] and item_just_in_time = True (the
slot itself, for capacity counting, stays slot j).

plan_instance(instance: dict) -> dict: the DESIGN.md instance file format.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import reference
from ._layout import (
    SLOT_OFFERED,
    SLOT_STATUS_NAMES,
    PlanError,
    Prepared,
)
from .config import DEFAULT_PLANNER, THOROUGH_PLANNER, PlannerConfig

__all__ = ["PlanError", "PlanResult", "QuoteResult", "StoreSnapshot", "plan", "quote", "prepare_store", "plan_instance",
           "SLOT_STATUS_NAMES"]

_NEW_ORDER_DUE = 1e300  # placeholder that sorts the quoted order after every real one


@dataclass
class PlanResult:
    item_lane: np.ndarray
    item_start_s: np.ndarray
    item_finish_s: np.ndarray
    order_id: np.ndarray
    order_store: np.ndarray
    order_ready_s: np.ndarray
    order_due_s: np.ndarray
    order_weight: np.ndarray
    order_margin_s: np.ndarray
    order_tardiness_s: np.ndarray
    item_due_s: np.ndarray
    handoff_s: np.ndarray  # per item: its store's handoff

    @property
    def total_weighted_tardiness(self) -> float:
        """Sum of weight x tardiness over orders that can be made (see unscheduled_items)."""
        finite = np.isfinite(self.order_tardiness_s)
        return float(np.sum(self.order_weight[finite] * self.order_tardiness_s[finite]))

    @property
    def late_items(self) -> int:
        """Items that finish (plus handoff) after their order's due time."""
        return int(np.sum(self.item_finish_s + self.handoff_s > self.item_due_s + 1e-6))

    @property
    def makespan(self) -> float:
        """Last finish of any schedulable item (0 when there is none)."""
        finite = self.item_finish_s[np.isfinite(self.item_finish_s)]
        return float(finite.max()) if finite.size else 0.0

    @property
    def unscheduled_items(self) -> int:
        return int(np.sum(self.item_lane < 0))


@dataclass
class QuoteResult:
    ready_s: float
    margin_s: float
    keeps_promises: bool
    slot_start_s: np.ndarray
    slot_status: np.ndarray
    slot_ready_s: np.ndarray  # the promise if the slot is booked: its start, or later in it (see quote)

    @property
    def slot_offered(self) -> np.ndarray:
        return self.slot_status == SLOT_OFFERED


# -- input checks ----------------------------------------------------------------
def _ints(name, values, n=None):
    a = np.asarray(values)
    if a.ndim != 1:
        raise PlanError(f"{name} must be a 1-D array")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
            a = a.astype(np.int64)
        else:
            raise PlanError(f"{name} must hold integers")
    a = a.astype(np.int64, copy=False)
    if n is not None and a.size != n:
        raise PlanError(f"{name} has {a.size} values, expected {n}")
    return a


def _floats(name, values, n, default=None, allow_inf=False):
    if values is None:
        return np.full(n, default, dtype=np.float64)
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PlanError(f"{name} must hold numbers") from None
    if a.ndim == 0:
        a = np.full(n, float(a))
    if a.ndim != 1 or a.size != n:
        raise PlanError(f"{name} has {a.size} values, expected {n}")
    bad = np.isnan(a) if allow_inf else ~np.isfinite(a)
    if np.any(bad):
        raise PlanError(f"{name}[{int(np.argmax(bad))}] is not a finite number")
    return a


def _check_range(name, a, lo, hi):
    if a.size and (a.min() < lo or a.max() >= hi):
        i = int(np.argmax((a < lo) | (a >= hi)))
        raise PlanError(f"{name}[{i}] = {a[i]} is out of range [{lo}, {hi})")


def _prepare(*, station_store, segment_station, segment_start_s, segment_lanes, item_order, item_station,
             item_prep_s, item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
             progress_item, progress_lane, progress_remaining_s, handoff_s, n_stores, n_stations=None,
             new_order_due_ok=False):
    """Validate caller arrays and build the Prepared instance plus the maps back."""
    item_station = _ints("item_station", item_station)
    n_items = item_station.size
    segment_station = _ints("segment_station", segment_station)
    n_seg = segment_station.size
    if station_store is None:
        if n_stations is None:
            n_stations = int(max(segment_station.max(initial=-1), item_station.max(initial=-1))) + 1
        station_store = np.zeros(n_stations, np.int64)
    station_store = _ints("station_store", station_store)
    n_st = station_store.size
    if station_store.size and station_store.min() < 0:
        raise PlanError("station_store must hold store numbers >= 0")
    if n_stores is None:
        n_stores = int(station_store.max(initial=-1)) + 1
    _check_range("station_store", station_store, 0, n_stores)
    _check_range("segment_station", segment_station, 0, n_st)
    _check_range("item_station", item_station, 0, n_st)
    seg_start = _floats("segment_start_s", segment_start_s, n_seg)
    seg_lanes = _ints("segment_lanes", segment_lanes, n_seg)
    if seg_lanes.size and seg_lanes.min() < 0:
        raise PlanError(f"segment_lanes[{int(np.argmin(seg_lanes))}] is negative")
    item_order = _ints("item_order", item_order, n_items)
    prep = _floats("item_prep_s", item_prep_s, n_items)
    if n_items and prep.min() <= 0:
        raise PlanError(f"item_prep_s[{int(np.argmin(prep))}] = {prep.min()} must be > 0")
    sd = _floats("item_prep_sd_s", item_prep_sd_s, n_items, 0.0)
    if n_items and sd.min() < 0:
        raise PlanError(f"item_prep_sd_s[{int(np.argmin(sd))}] must be >= 0")
    release = _floats("item_release_s", item_release_s, n_items, 0.0)
    due = _floats("item_due_s", item_due_s, n_items, allow_inf=new_order_due_ok)
    weight = _floats("item_weight", item_weight, n_items, 1.0)
    if n_items and weight.min() < 0:
        raise PlanError(f"item_weight[{int(np.argmin(weight))}] must be >= 0")
    if item_just_in_time is None:
        jit = np.zeros(n_items, bool)
    else:
        jit = np.asarray(item_just_in_time, dtype=bool)
        if jit.shape != (n_items,):
            raise PlanError(f"item_just_in_time has {jit.size} values, expected {n_items}")
    handoff = _floats("handoff_s", handoff_s, n_stores)
    if n_stores and handoff.min() < 0:
        raise PlanError("handoff_s must be >= 0")

    # stations grouped by store; prepared station p is input station station_order[p]
    station_order = np.argsort(station_store, kind="stable")
    station_rank = np.empty(n_st, np.int64)
    station_rank[station_order] = np.arange(n_st)
    store_station_start = np.zeros(n_stores + 1, np.int64)
    np.cumsum(np.bincount(station_store, minlength=n_stores), out=store_station_start[1:])

    # staffing segments, by station then time
    seg_st = station_rank[segment_station]
    seg_perm = np.lexsort((seg_start, seg_st))
    seg_st, seg_start, seg_lanes = seg_st[seg_perm], seg_start[seg_perm], seg_lanes[seg_perm]
    same = seg_st[1:] == seg_st[:-1]
    if np.any(same & (seg_start[1:] <= seg_start[:-1])):
        i = int(np.argmax(same & (seg_start[1:] <= seg_start[:-1])))
        raise PlanError(f"station {int(station_order[seg_st[i]])} has two staffing segments starting at {seg_start[i]}")
    station_segment_start = np.zeros(n_st + 1, np.int64)
    np.cumsum(np.bincount(seg_st, minlength=n_st), out=station_segment_start[1:])
    most_lanes = np.zeros(n_st, np.int64)
    has_seg = station_segment_start[1:] > station_segment_start[:-1]
    if n_seg:
        most_lanes[has_seg] = np.maximum.reduceat(seg_lanes, station_segment_start[:-1][has_seg])
    station_lane_start = np.zeros(n_st + 1, np.int64)
    np.cumsum(most_lanes, out=station_lane_start[1:])

    # orders: one store each; due = earliest item due, weight = largest, jit = any
    order_id, item_order_idx = np.unique(item_order, return_inverse=True)
    item_order_idx = item_order_idx.reshape(-1).astype(np.int64)
    n_orders = order_id.size
    item_store = station_store[item_station]
    by_order = np.argsort(item_order_idx, kind="stable")
    first = np.zeros(n_orders, np.int64)
    if n_items:
        np.cumsum(np.bincount(item_order_idx, minlength=n_orders)[:-1], out=first[1:])
    order_store = item_store[by_order][first] if n_items else np.zeros(0, np.int64)
    if np.any(order_store[item_order_idx] != item_store):
        i = int(np.argmax(order_store[item_order_idx] != item_store))
        raise PlanError(f"order {int(item_order[i])} has items at stations of different stores")
    if n_items:
        order_due = np.minimum.reduceat(due[by_order], first)
        order_weight = np.maximum.reduceat(weight[by_order], first)
        order_jit = np.logical_or.reduceat(jit[by_order], first)
    else:
        order_due = order_weight = np.zeros(0)
        order_jit = np.zeros(0, bool)

    # dispatch order inside each store: (due, order id); prepared order q is order order_seq[q]
    order_seq = np.lexsort((order_id, order_due, order_store))
    order_rank = np.empty(n_orders, np.int64)
    order_rank[order_seq] = np.arange(n_orders)
    store_order_start = np.zeros(n_stores + 1, np.int64)
    np.cumsum(np.bincount(order_store, minlength=n_stores), out=store_order_start[1:])

    # items: by prepared order, longest first; prepared item k is input item item_perm[k]
    item_rank_order = order_rank[item_order_idx]
    item_perm = np.lexsort((np.arange(n_items), -prep, item_rank_order))
    order_item_start = np.zeros(n_orders + 1, np.int64)
    np.cumsum(np.bincount(item_rank_order, minlength=n_orders), out=order_item_start[1:])

    # items already in progress
    p_item = _ints("progress_item", [] if progress_item is None else progress_item)
    n_prog = p_item.size
    p_lane = _ints("progress_lane", [] if progress_lane is None else progress_lane, n_prog)
    p_rem = _floats("progress_remaining_s", [] if progress_remaining_s is None else progress_remaining_s, n_prog)
    _check_range("progress_item", p_item, 0, max(n_items, 0))
    if np.unique(p_item).size != n_prog:
        raise PlanError("progress_item lists an item twice")
    if n_prog and p_rem.min() <= 0:
        raise PlanError(f"progress_remaining_s[{int(np.argmin(p_rem))}] must be > 0")
    p_station = station_rank[item_station[p_item]]
    if n_prog and (p_lane.min() < 0 or np.any(p_lane >= most_lanes[p_station])):
        i = int(np.argmax((p_lane < 0) | (p_lane >= most_lanes[p_station])))
        raise PlanError(f"progress_lane[{i}] = {p_lane[i]}: station {int(item_station[p_item[i]])} "
                        f"never has that many lanes")
    lane_key = station_lane_start[p_station] + p_lane
    if np.unique(lane_key).size != n_prog:
        raise PlanError("two items in progress on the same lane")
    progress_lane_of_item = np.full(n_items, -1, np.int64)
    progress_lane_of_item[p_item] = p_lane
    remaining_of_item = np.zeros(n_items)
    remaining_of_item[p_item] = p_rem

    inst = Prepared(
        store_station_start=store_station_start,
        station_lane_start=station_lane_start,
        station_segment_start=station_segment_start,
        segment_start_s=np.ascontiguousarray(seg_start),
        segment_lanes=np.ascontiguousarray(seg_lanes),
        store_order_start=store_order_start,
        store_handoff_s=handoff,
        order_item_start=order_item_start,
        order_due_s=np.ascontiguousarray(order_due[order_seq]),
        order_weight=np.ascontiguousarray(order_weight[order_seq]),
        order_jit=np.ascontiguousarray(order_jit[order_seq]),
        item_station=station_rank[item_station][item_perm],
        item_prep_s=prep[item_perm],
        item_var_s2=(sd * sd)[item_perm],
        item_release_s=np.maximum(release, 0.0)[item_perm],
        item_progress_lane=progress_lane_of_item[item_perm],
        item_progress_remaining_s=remaining_of_item[item_perm],
    )
    maps = dict(item_perm=item_perm, order_seq=order_seq, order_id=order_id, order_store=order_store,
                station_rank=station_rank, item_store=item_store, item_order_idx=item_order_idx,
                handoff=handoff)
    return inst, maps


def _config_tuple(config: PlannerConfig):
    return (float(config.safety_z), float(config.pacing_window_s), float(config.jit_buffer_s),
            int(config.improve_max_passes), int(config.improve_trials_per_order), int(config.item_trials_per_item),
            float(config.slot_shift_tol_s), float(config.slot_shift_step_s))


def plan_batch(inst: Prepared, params, lane, start, finish, ready, margin):
    """_kernels.plan_batch with dynamic scheduling: threads take the (work-balanced) chunks one at a
    time, so a thread on a core that another process holds takes fewer (same plans either way)."""
    import numba

    from . import _kernels

    previous = numba.set_parallel_chunksize(1)
    try:
        _kernels.plan_batch(inst, params, lane, start, finish, ready, margin)
    finally:
        numba.set_parallel_chunksize(previous)


def _run_plan(inst: Prepared, params, use_reference: bool, parallel: bool):
    if use_reference:
        lane, start, finish, ready, margin = reference.plan(inst, params)
        return (np.asarray(lane, np.int64), np.asarray(start, np.float64), np.asarray(finish, np.float64),
                np.asarray(ready, np.float64), np.asarray(margin, np.float64))
    from . import _kernels

    n_items, n_orders = inst.item_prep_s.size, inst.order_due_s.size
    lane = np.full(n_items, -1, np.int64)
    start = np.full(n_items, np.inf)
    finish = np.full(n_items, np.inf)
    ready = np.full(n_orders, np.inf)
    margin = np.zeros(n_orders)
    if parallel:
        plan_batch(inst, params, lane, start, finish, ready, margin)
    else:
        _kernels.plan_serial(inst, params, lane, start, finish, ready, margin)
    return lane, start, finish, ready, margin


def plan(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s, item_due_s,
         station_store=None, item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
         progress_item=None, progress_lane=None, progress_remaining_s=None, handoff_s=0.0, n_stores=None,
         use_reference=False, improve=True, parallel=True, config: PlannerConfig = DEFAULT_PLANNER) -> PlanResult:
    """Plan many stores at once; see the module docstring for every argument."""
    inst, maps = _prepare(
        station_store=station_store, segment_station=segment_station, segment_start_s=segment_start_s,
        segment_lanes=segment_lanes, item_order=item_order, item_station=item_station, item_prep_s=item_prep_s,
        item_due_s=item_due_s, item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s,
        item_weight=item_weight, item_just_in_time=item_just_in_time, progress_item=progress_item,
        progress_lane=progress_lane, progress_remaining_s=progress_remaining_s, handoff_s=handoff_s,
        n_stores=n_stores)
    params = _config_tuple(config)
    if not improve:
        params = params[:3] + (0,) + params[4:]
    lane, start, finish, ready, margin = _run_plan(inst, params, use_reference, parallel)
    return _unpack(inst, maps, lane, start, finish, ready, margin)


def _unpack(inst, maps, lane, start, finish, ready, margin) -> PlanResult:
    """Prepared order back to the caller's: items by input row, orders by order id."""
    item_perm, order_seq = maps["item_perm"], maps["order_seq"]
    n_items = item_perm.size
    # kernels number lanes per store; the caller wants the lane within the station
    st = inst.item_station
    store_first_lane = np.zeros(st.size, np.int64)
    if st.size:
        store_of_station = np.searchsorted(inst.store_station_start, np.arange(inst.station_lane_start.size - 1),
                                           side="right") - 1
        first_station = inst.store_station_start[store_of_station[st]]
        store_first_lane = inst.station_lane_start[st] - inst.station_lane_start[first_station]
    local_lane = np.where(lane >= 0, lane - store_first_lane, -1)
    item_lane = np.empty(n_items, np.int64)
    item_start = np.empty(n_items)
    item_finish = np.empty(n_items)
    item_lane[item_perm] = local_lane
    item_start[item_perm] = start
    item_finish[item_perm] = finish
    n_orders = order_seq.size
    order_ready = np.empty(n_orders)
    order_margin = np.empty(n_orders)
    order_ready[order_seq] = ready
    order_margin[order_seq] = margin
    order_due = np.empty(n_orders)
    order_weight = np.empty(n_orders)
    order_due[order_seq] = inst.order_due_s
    order_weight[order_seq] = inst.order_weight
    tardiness = np.maximum(order_ready - order_due, 0.0)
    return PlanResult(
        item_lane=item_lane, item_start_s=item_start, item_finish_s=item_finish,
        order_id=maps["order_id"], order_store=maps["order_store"], order_ready_s=order_ready,
        order_due_s=order_due, order_weight=order_weight, order_margin_s=order_margin,
        order_tardiness_s=tardiness, item_due_s=order_due[maps["item_order_idx"]],
        handoff_s=maps["handoff"][maps["item_store"]] if n_items else np.zeros(0))


class StoreSnapshot:
    """One store's open orders, validated and laid out once, to quote many new orders against.

    Build it with `prepare_store(...)` (the store arguments of `quote`) whenever the
    store's state changes (an order booked, paid, cancelled, an item started or done,
    staffing changed); `snapshot.quote(new_item_station=..., ...)` then validates only
    the new order and appends it to the prepared arrays (a handful of small NumPy
    calls) instead of validating and re-sorting every open item on every quote. The
    answer is exactly `quote(**store_arrays, ...)`'s: the same prepared instance
    reaches the same kernel (tests/core_native/test_quote_snapshot.py).
    """

    __slots__ = ("inst", "n_stations", "new_id", "_n_items", "_n_orders", "_base")

    def __init__(self, inst: Prepared, n_stations: int, new_id: int):
        self.inst = inst
        self.n_stations = n_stations
        self.new_id = new_id
        self._n_items = inst.item_prep_s.size
        self._n_orders = inst.order_due_s.size
        self._base = {}  # planner params -> (base sequence, allowed): the quote's step 1, new-order free

    def base_plan(self, params):
        """The existing orders' plan a quote starts from (reference.quote step 1): it does not
        depend on the new order, so it is computed once per store state and planner config
        (performance only; `_kernels.quote_base_fast`). None for a store with no open orders."""
        got = self._base.get(params)
        if got is None and self._n_orders:
            from . import _kernels

            seq, allowed = np.empty(self._n_orders, np.int64), np.empty(self._n_orders)
            _kernels.quote_base_fast(self.inst, params, seq, allowed)
            got = self._base[params] = (seq, allowed)
        return got

    def instance_with(self, new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0,
                      new_weight=1.0) -> Prepared:
        """The prepared one-store instance with the new order appended as the last order.

        Identical to what `_prepare` builds from the concatenated arrays: the new order
        has the largest id and a due time after every real one, so it is last in the
        dispatch sequence and its items come last, longest first (ties: input position).
        """
        new_station = _ints("new_item_station", new_item_station)
        k = new_station.size
        if k == 0:
            raise PlanError("the new order has no items")
        new_prep = _floats("new_item_prep_s", new_item_prep_s, k)
        new_sd = _floats("new_item_prep_sd_s", new_item_prep_sd_s, k, 0.0)
        release = _floats("new_release_s", new_release_s, k)
        weight = _floats("new_weight", new_weight, k)
        # k is a handful: plain Python min/max are several times cheaper than NumPy reductions here
        stations, preps, sds = new_station.tolist(), new_prep.tolist(), new_sd.tolist()
        if min(stations) < 0 or max(stations) >= self.n_stations:
            i = next(j for j, x in enumerate(stations) if not 0 <= x < self.n_stations)
            raise PlanError(f"new_item_station[{i}] = {stations[i]} is out of range [0, {self.n_stations})")
        if min(preps) <= 0:
            raise PlanError(f"new_item_prep_s[{int(np.argmin(new_prep))}] = {min(preps)} must be > 0")
        if min(sds) < 0:
            raise PlanError(f"new_item_prep_sd_s[{int(np.argmin(new_sd))}] must be >= 0")
        if weight.min() < 0:
            raise PlanError("new_weight must be >= 0")
        n = self._n_items
        if k > 1:  # longest first, ties by input position (as _prepare's lexsort)
            order = np.argsort(-new_prep, kind="stable")
            new_station, new_prep, new_sd, release = new_station[order], new_prep[order], new_sd[order], release[order]
        inst = self.inst
        return inst._replace(
            store_order_start=np.array([0, self._n_orders + 1], np.int64),
            order_item_start=np.concatenate((inst.order_item_start, np.array([n + k], np.int64))),
            order_due_s=np.concatenate((inst.order_due_s, np.array([_NEW_ORDER_DUE]))),
            order_weight=np.concatenate((inst.order_weight, np.array([weight.max()]))),
            order_jit=np.concatenate((inst.order_jit, np.zeros(1, bool))),
            item_station=np.concatenate((inst.item_station, new_station)),
            item_prep_s=np.concatenate((inst.item_prep_s, new_prep)),
            item_var_s2=np.concatenate((inst.item_var_s2, new_sd * new_sd)),
            item_release_s=np.concatenate((inst.item_release_s, np.maximum(release, 0.0))),
            item_progress_lane=np.concatenate((inst.item_progress_lane, np.full(k, -1, np.int64))),
            item_progress_remaining_s=np.concatenate((inst.item_progress_remaining_s, np.zeros(k))),
        )

    def quote(self, *, new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0,
              new_weight=1.0, new_just_in_time=False, slot_first_start_s=0.0, slot_s=300.0, slot_capacity=0,
              slot_orders=None, use_reference=False, config: PlannerConfig = DEFAULT_PLANNER) -> QuoteResult:
        """Quote one new order against this store state; arguments as in `quote`."""
        inst = self.instance_with(new_item_station, new_item_prep_s, new_item_prep_sd_s, new_release_s, new_weight)
        if slot_orders is None:
            slots = np.zeros(0, np.int64)
        else:
            slots = _ints("slot_orders", slot_orders)
        slot_first = float(slot_first_start_s)
        width = float(slot_s)
        if slots.size and not width > 0:
            raise PlanError("slot_s must be > 0")
        params = _config_tuple(config)
        if use_reference:
            ready, margin, keeps, status, slot_ready = reference.quote(
                inst, params, slot_first, width, int(slot_capacity), slots.tolist(), bool(new_just_in_time))
            status = np.asarray(status, np.int8)
            slot_ready = np.asarray(slot_ready, np.float64)
        else:
            from . import _kernels

            status = np.zeros(slots.size, np.int8)
            slot_ready = np.zeros(slots.size)
            known = self.base_plan(params)
            if known is None:
                ready, margin, keeps = _kernels.quote_fast(inst, params, slot_first, width, int(slot_capacity),
                                                           slots, bool(new_just_in_time), status, slot_ready)
            else:
                ready, margin, keeps = _kernels.quote_fast_known(inst, params, slot_first, width,
                                                                 int(slot_capacity), slots, bool(new_just_in_time),
                                                                 status, slot_ready, known[0], known[1])
        return QuoteResult(ready_s=float(ready), margin_s=float(margin), keeps_promises=bool(keeps),
                           slot_start_s=slot_first + width * np.arange(slots.size), slot_status=status,
                           slot_ready_s=slot_ready)


def prepare_store(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                  item_due_s, item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
                  progress_item=None, progress_lane=None, progress_remaining_s=None, handoff_s=0.0,
                  n_stations=None, plan_base=True) -> StoreSnapshot:
    """Validate one store's open orders once (quote's store arguments); see StoreSnapshot.

    `plan_base`: also plan the existing orders now (what every kernel quote of this state
    starts from, for the default planner config); otherwise the first quote does it."""
    item_order = _ints("item_order", item_order)
    n = item_order.size
    new_id = int(item_order.max()) + 1 if n else 0
    if n_stations is None:
        st = _ints("item_station", item_station)
        n_stations = int(max(_ints("segment_station", segment_station).max(initial=-1), st.max(initial=-1))) + 1
    inst, _ = _prepare(
        station_store=None, segment_station=segment_station, segment_start_s=segment_start_s,
        segment_lanes=segment_lanes, item_order=item_order, item_station=item_station, item_prep_s=item_prep_s,
        item_due_s=item_due_s, item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s,
        item_weight=item_weight, item_just_in_time=item_just_in_time, progress_item=progress_item,
        progress_lane=progress_lane, progress_remaining_s=progress_remaining_s, handoff_s=handoff_s, n_stores=1,
        n_stations=n_stations)
    if inst.order_due_s.size and inst.order_due_s.max() >= _NEW_ORDER_DUE:
        raise PlanError("item_due_s is absurdly large")
    snapshot = StoreSnapshot(inst, int(n_stations), new_id)
    if plan_base:  # the plan every quote of this state starts from (default config), once, here
        snapshot.base_plan(_config_tuple(DEFAULT_PLANNER))
    return snapshot


def quote(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s, item_due_s,
          new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0, new_weight=1.0,
          new_just_in_time=False,
          item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
          progress_item=None, progress_lane=None, progress_remaining_s=None, handoff_s=0.0,
          slot_first_start_s=0.0, slot_s=300.0, slot_capacity=0, slot_orders=None, n_stations=None,
          use_reference=False, config: PlannerConfig = DEFAULT_PLANNER) -> QuoteResult:
    """Quote one new order at one store; see the module docstring for every argument.

    Equivalent to prepare_store(<store arrays>).quote(<new order>): callers that quote
    several orders against one store state should keep the snapshot instead.
    """
    if n_stations is None:  # as before: stations the new order names count too
        n_stations = int(max(_ints("segment_station", segment_station).max(initial=-1),
                             _ints("item_station", item_station).max(initial=-1),
                             _ints("new_item_station", new_item_station).max(initial=-1))) + 1
    snapshot = prepare_store(
        segment_station=segment_station, segment_start_s=segment_start_s, segment_lanes=segment_lanes,
        item_order=item_order, item_station=item_station, item_prep_s=item_prep_s, item_due_s=item_due_s,
        item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s, item_weight=item_weight,
        item_just_in_time=item_just_in_time, progress_item=progress_item, progress_lane=progress_lane,
        progress_remaining_s=progress_remaining_s, handoff_s=handoff_s, n_stations=n_stations, plan_base=False)
    return snapshot.quote(new_item_station=new_item_station, new_item_prep_s=new_item_prep_s,
                          new_item_prep_sd_s=new_item_prep_sd_s, new_release_s=new_release_s, new_weight=new_weight,
                          new_just_in_time=new_just_in_time, slot_first_start_s=slot_first_start_s, slot_s=slot_s,
                          slot_capacity=slot_capacity, slot_orders=slot_orders, use_reference=use_reference,
                          config=config)


# -- instance files (DESIGN.md) --------------------------------------------------------
def _require(cond, message):
    if not cond:
        raise PlanError(message)


def _number(value, where, minimum=None, strict=False):
    _require(isinstance(value, (int, float)) and not isinstance(value, bool), f"{where} must be a number")
    value = float(value)
    _require(np.isfinite(value), f"{where} must be finite")
    if minimum is not None:
        _require(value > minimum if strict else value >= minimum,
                 f"{where} must be {'>' if strict else '>='} {minimum:g}, got {value:g}")
    return value


def instance_arrays(instance: dict) -> dict:
    """Parse a DESIGN.md instance dict into plan() keyword arguments (+ names for printing)."""
    _require(isinstance(instance, dict), "the instance must be a JSON object")
    stations = instance.get("stations")
    _require(isinstance(stations, list) and stations, "the instance needs a non-empty 'stations' list")
    names = {}
    seg_station, seg_start, seg_lanes = [], [], []
    for i, st in enumerate(stations):
        _require(isinstance(st, dict) and isinstance(st.get("name"), str), f"stations[{i}] needs a 'name'")
        _require(st["name"] not in names, f"station '{st['name']}' is listed twice")
        names[st["name"]] = i
        lanes = st.get("lanes")
        _require(isinstance(lanes, list) and lanes, f"station '{st['name']}' has no 'lanes'")
        for j, seg in enumerate(lanes):
            _require(isinstance(seg, list) and len(seg) == 2, f"station '{st['name']}' lanes[{j}] must be [t_s, count]")
            t = _number(seg[0], f"station '{st['name']}' lanes[{j}] time")
            c = _number(seg[1], f"station '{st['name']}' lanes[{j}] count", 0)
            _require(c == int(c), f"station '{st['name']}' lanes[{j}] count must be a whole number")
            seg_station.append(i)
            seg_start.append(t)
            seg_lanes.append(int(c))
    items = instance.get("items")
    _require(isinstance(items, list), "the instance needs an 'items' list")
    order_ids, order_names = {}, []
    cols = {k: [] for k in ("order", "station", "prep", "sd", "release", "due", "weight", "jit")}
    for i, it in enumerate(items):
        where = f"items[{i}]"
        _require(isinstance(it, dict), f"{where} must be an object")
        _require("order" in it, f"{where} needs an 'order'")
        key = str(it["order"])
        if key not in order_ids:
            order_ids[key] = len(order_names)  # first appearance = earlier order, wins ties
            order_names.append(it["order"])
        _require(it.get("station") in names, f"{where} station {it.get('station')!r} is not a listed station")
        cols["order"].append(order_ids[key])
        cols["station"].append(names[it["station"]])
        cols["prep"].append(_number(it.get("prep_s"), f"{where} prep_s", 0, strict=True))
        cols["sd"].append(_number(it.get("prep_sd_s", 0), f"{where} prep_sd_s", 0))
        cols["release"].append(_number(it.get("release_s", 0), f"{where} release_s"))
        _require("due_s" in it, f"{where} needs a 'due_s'")
        cols["due"].append(_number(it["due_s"], f"{where} due_s"))
        cols["weight"].append(_number(it.get("weight", 1), f"{where} weight", 0))
        cols["jit"].append(bool(it.get("just_in_time", False)))
    lanes_ever = np.zeros(len(stations), np.int64)
    for s, c in zip(seg_station, seg_lanes):
        lanes_ever[s] = max(lanes_ever[s], c)
    for i, s in enumerate(cols["station"]):
        _require(lanes_ever[s] > 0, f"items[{i}]: station '{stations[s]['name']}' has no lanes")
    p_item, p_lane, p_rem = [], [], []
    for i, p in enumerate(instance.get("in_progress", []) or []):
        where = f"in_progress[{i}]"
        _require(isinstance(p, dict), f"{where} must be an object")
        idx = p.get("item")
        _require(isinstance(idx, int) and 0 <= idx < len(items), f"{where} item must be an item index")
        lane = p.get("lane")
        _require(isinstance(lane, int) and lane >= 0, f"{where} lane must be a lane number >= 0")
        p_item.append(idx)
        p_lane.append(lane)
        p_rem.append(_number(p.get("remaining_s"), f"{where} remaining_s", 0, strict=True))
    handoff = _number(instance.get("handoff_s", 0), "handoff_s", 0)
    kwargs = dict(
        segment_station=np.asarray(seg_station, np.int64), segment_start_s=np.asarray(seg_start, np.float64),
        segment_lanes=np.asarray(seg_lanes, np.int64), item_order=np.asarray(cols["order"], np.int64),
        item_station=np.asarray(cols["station"], np.int64), item_prep_s=np.asarray(cols["prep"]),
        item_prep_sd_s=np.asarray(cols["sd"]), item_release_s=np.asarray(cols["release"]),
        item_due_s=np.asarray(cols["due"]), item_weight=np.asarray(cols["weight"]),
        item_just_in_time=np.asarray(cols["jit"], bool), progress_item=np.asarray(p_item, np.int64),
        progress_lane=np.asarray(p_lane, np.int64), progress_remaining_s=np.asarray(p_rem, np.float64),
        handoff_s=handoff, station_store=np.zeros(len(stations), np.int64))
    return dict(kwargs=kwargs, station_names=[s["name"] for s in stations], order_names=order_names)


def plan_instance(instance: dict, *, use_reference=False, config: PlannerConfig = THOROUGH_PLANNER) -> dict:
    """Plan a DESIGN.md instance dict; returns a JSON-ready dict (items, orders, totals).

    One store planned offline, so by default with the thorough search (`THOROUGH_PLANNER`)."""
    parsed = instance_arrays(instance)
    kw = parsed["kwargs"]
    result = plan(**kw, use_reference=use_reference, config=config)
    names, orders = parsed["station_names"], parsed["order_names"]

    def num(x):
        return float(x) if np.isfinite(x) else None

    items = [dict(item=i, order=orders[int(kw["item_order"][i])], station=names[int(kw["item_station"][i])],
                  lane=int(result.item_lane[i]), start_s=num(result.item_start_s[i]),
                  finish_s=num(result.item_finish_s[i])) for i in range(len(kw["item_order"]))]
    order_rows = [dict(order=orders[int(result.order_id[q])], ready_s=num(result.order_ready_s[q]),
                       due_s=float(result.order_due_s[q]), weight=float(result.order_weight[q]),
                       tardiness_s=num(result.order_tardiness_s[q]), margin_s=float(result.order_margin_s[q]))
                  for q in range(result.order_id.size)]
    totals = dict(total_weighted_tardiness=result.total_weighted_tardiness, late_items=result.late_items,
                  makespan=result.makespan, unscheduled_items=result.unscheduled_items)
    return dict(items=items, orders=order_rows, totals=totals)
