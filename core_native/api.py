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
    item_held_rank       float64[N]  the store's held plan: its order's place in the sequence of the
                                     store's last plan (PlanResult.order_position, or the rank a quote
                                     gave), NaN for an order not in it. A store with any rank is planned
                                     from its held plan: the orders in that sequence (unranked ones last,
                                     by due), and the search keeps only changes that break no promise
                                     that plan keeps; without ranks it is planned from scratch (by due).
                                     (default None: no held plans)
    handoff_s            float or float64[n_stores]  last item done -> order on the shelf
    n_stores             int         optional, default max(station_store) + 1
    use_reference        bool        run the pure-Python reference instead of the kernels
    improve              bool        run the local improvement pass under tardiness (default True)
    parallel             bool        kernels: chunks of stores on Python threads, the kernel without the GIL
                                     (default True)
    config               PlannerConfig

PlanResult (item arrays in input row order; order arrays sorted by order id):
    item_lane (int64, lane within the station, -1 = no lane is ever open long enough),
    item_start_s, item_finish_s (inf when unschedulable; running items start at 0),
    order_id, order_store, order_ready_s (last finish + handoff), order_due_s,
    order_weight, order_margin_s (safety margin of the order's critical chain),
    order_tardiness_s, order_position (the order's place in its store's plan sequence, 0 first:
    pass it back as item_held_rank); properties total_weighted_tardiness, late_items, makespan.

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
held_rank (book the ASAP order with this item_held_rank: where the quote placed it in the
held plan; NaN for a store planned from scratch), slot_held_rank float64[J] (the same for
each slot: where the slot's trial placed the order in the held plan's sequence), slot_ready_s float64[J]: the promised
ready time if that slot is booked, in
[slot start, slot start + slot_s). It is the slot's start unless the plan that
confirms the slot makes the order more than config.slot_shift_tol_s before its
just-in-time target (stacked behind the slot's other orders, which all aim at
the start); then it is later in the window, by about as much (whole
config.slot_shift_step_s, at most slot_s - one step), when the full planner
confirms that promise too and makes the order nearer it. Slots not offered
carry their start (nothing judged). The customer is told "ready at P (your
S - S + slot_s window)".
To book an ASAP order, add it with item_due_s = ready_s and item_held_rank =
held_rank; to book a slot j, add it with item_due_s = slot_ready_s[j],
item_just_in_time = True and item_held_rank = slot_held_rank[j] (the slot
itself, for capacity counting, stays slot j).

Instance files (the DESIGN.md format) are planned by instances.plan_instance(instance: dict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import reference
from ._kernel_args import config_tuple, prepare, unpack
from ._layout import (
    SLOT_OFFERED,
    SLOT_STATUS_NAMES,
    PlanError,
    Prepared,
)
from ._validate import StoreArrays, check_new_order, check_slots, check_store, int_array
from .config import DEFAULT_PLANNER, DEFAULT_WINDOW, PlannerConfig, WindowConfig

__all__ = ["PlanError", "PlanResult", "QuoteResult", "StoreSnapshot", "plan", "quote", "prepare_store",
           "SLOT_STATUS_NAMES", "promise_window"]

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
    order_position: np.ndarray
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
    held_rank: float = float("nan")  # item_held_rank to book the ASAP order with (NaN: no held plan)
    slot_held_rank: np.ndarray | None = None  # the same per slot

    @property
    def slot_offered(self) -> np.ndarray:
        return self.slot_status == SLOT_OFFERED


def promise_window(promise_s: float, margin_s: float, *, safety_z: float = DEFAULT_PLANNER.safety_z,
                   config: WindowConfig = DEFAULT_WINDOW) -> tuple[float, float]:
    """The promised window (start_s, end_s) for an order promised at `promise_s` with safety margin
    `margin_s` (QuoteResult.margin_s / PlanResult.order_margin_s), on a clock whose zero is a whole
    `config.round_s` (simulator time from opening, or Unix seconds).

    The planned ready time is promise - margin and the plan's uncertainty sd = margin / safety_z;
    the window is [planned - early_z sd, planned + late_z sd], widened about its middle to at least
    config.min_width_s, stretched to take in the promise (the time the customer is also told), and
    rounded out to whole config.round_s ("ready 8:12-8:15"). So it always holds the planned ready
    time and the promise, is at least min_width_s wide, and widens with sd. The one place the window
    is computed: the simulator and the app both call it.
    """
    margin = max(0.0, float(margin_s))
    sd = margin / safety_z if safety_z > 0 else 0.0
    planned = float(promise_s) - margin
    start, end = planned - config.early_z * sd, planned + config.late_z * sd
    short = config.min_width_s - (end - start)
    if short > 0:
        start, end = start - short / 2, end + short / 2
    end = max(end, float(promise_s))
    if config.round_s > 0:
        start = math.floor(start / config.round_s + 1e-9) * config.round_s
        end = math.ceil(end / config.round_s - 1e-9) * config.round_s
    return start, end


def balanced_chunks(inst: Prepared, n_chunks: int):
    """Deal stores to chunks so every chunk gets a like share of the work (performance only).

    A store's work is estimated as items x (orders + 1) (placing is linear in the lane contents,
    and the improvement pass re-places suffixes). Stores are sorted heaviest first and dealt back
    and forth over the chunks (0, 1, .., n-1, n-1, .., 0, 0, 1, ..), so the few big stores land in
    different chunks. Returns (chunk_start int64[n_chunks + 1], stores int64[n_stores])."""
    order_start = inst.store_order_start
    n_stores = order_start.size - 1
    n_items = inst.order_item_start[order_start[1:]] - inst.order_item_start[order_start[:-1]]
    by_work = np.argsort(-(n_items * (np.diff(order_start) + 1.0)), kind="mergesort")
    rank = np.arange(n_stores)
    lap, pos = rank // n_chunks, rank % n_chunks
    chunk_of = np.where(lap % 2 == 0, pos, n_chunks - 1 - pos)
    chunk_start = np.zeros(n_chunks + 1, np.int64)
    np.cumsum(np.bincount(chunk_of, minlength=n_chunks), out=chunk_start[1:])
    return chunk_start, by_work[np.argsort(chunk_of, kind="stable")]


_plan_threads = None  # the thread pool of plan_batch, made on first use
CHUNKS_PER_THREAD = 8  # chunks of stores per thread: dynamic enough for a shared machine, few calls


def plan_batch(inst: Prepared, params, lane, start, finish, ready, margin, position):
    """Plan every store of `inst` on numba.get_num_threads() threads (outputs preset as
    _run_plan presets them). Stores are dealt to work-balanced chunks (`balanced_chunks`) and
    each thread takes the next chunk when it is done with one (dynamic scheduling: a thread on
    a core that another process holds takes fewer), running `_kernels.plan_stores`, which
    releases the GIL. The same compiled code as the serial plan, so the same plans."""
    global _plan_threads
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    import numba

    from . import _kernels

    order_cap = np.full(inst.order_due_s.size, np.inf)
    n_stores = inst.store_order_start.size - 1
    threads = max(1, min(numba.get_num_threads(), n_stores))
    if threads == 1:
        _kernels.plan_stores(inst, np.arange(n_stores), params, lane, start, finish, ready, margin, position,
                             order_cap)
        return
    chunk_start, stores = balanced_chunks(inst, min(n_stores, CHUNKS_PER_THREAD * threads))
    chunks = [stores[chunk_start[c]:chunk_start[c + 1]] for c in range(chunk_start.size - 1)]
    next_chunk = itertools.count()  # next() on it is atomic under the GIL

    def work():
        while (c := next(next_chunk)) < len(chunks):
            _kernels.plan_stores(inst, chunks[c], params, lane, start, finish, ready, margin, position, order_cap)

    if _plan_threads is None:
        _plan_threads = ThreadPoolExecutor(max_workers=numba.config.NUMBA_NUM_THREADS,
                                           thread_name_prefix="core_native-plan")
    helpers = [_plan_threads.submit(work) for _ in range(threads - 1)]
    work()  # the calling thread takes chunks too
    for helper in helpers:
        helper.result()


def _run_plan(inst: Prepared, params, use_reference: bool, parallel: bool):
    if use_reference:
        lane, start, finish, ready, margin, position = reference.plan(inst, params)
        return (np.asarray(lane, np.int64), np.asarray(start, np.float64), np.asarray(finish, np.float64),
                np.asarray(ready, np.float64), np.asarray(margin, np.float64), np.asarray(position, np.int64))
    from . import _kernels

    n_items, n_orders = inst.item_prep_s.size, inst.order_due_s.size
    lane = np.full(n_items, -1, np.int64)
    start = np.full(n_items, np.inf)
    finish = np.full(n_items, np.inf)
    ready = np.full(n_orders, np.inf)
    margin = np.zeros(n_orders)
    position = np.zeros(n_orders, np.int64)
    if parallel:
        plan_batch(inst, params, lane, start, finish, ready, margin, position)
    else:
        _kernels.plan_stores(inst, np.arange(inst.store_order_start.size - 1), params, lane, start, finish, ready,
                             margin, position, np.full(n_orders, np.inf))
    return lane, start, finish, ready, margin, position


def plan(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s, item_due_s,
         station_store=None, item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
         progress_item=None, progress_lane=None, progress_remaining_s=None, item_held_rank=None, handoff_s=0.0,
         n_stores=None, use_reference=False, improve=True, parallel=True,
         config: PlannerConfig = DEFAULT_PLANNER) -> PlanResult:
    """Plan many stores at once; see the module docstring for every argument."""
    inst, maps = prepare(
        station_store=station_store, segment_station=segment_station, segment_start_s=segment_start_s,
        segment_lanes=segment_lanes, item_order=item_order, item_station=item_station, item_prep_s=item_prep_s,
        item_due_s=item_due_s, item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s,
        item_weight=item_weight, item_just_in_time=item_just_in_time, progress_item=progress_item,
        progress_lane=progress_lane, progress_remaining_s=progress_remaining_s, handoff_s=handoff_s,
        n_stores=n_stores, item_held_rank=item_held_rank)
    params = config_tuple(config)
    if not improve:
        params = params._replace(improve_max_passes=0)
    lane, start, finish, ready, margin, position = _run_plan(inst, params, use_reference, parallel)
    return PlanResult(**unpack(inst, maps, lane, start, finish, ready, margin, position))


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
        self._base = {}  # planner params -> (base sequence, allowed, prefix plan): the quote's step 1, new-order free

    def base_plan(self, params):
        """The existing orders' plan a quote starts from (reference.quote step 1): it does not
        depend on the new order, so it is computed once per store state and planner config
        (performance only; `_kernels.quote_base_fast`)."""
        got = self._base.get(params)
        if got is None:
            from . import _kernels

            seq, allowed = np.empty(self._n_orders, np.int64), np.empty(self._n_orders)
            prefix = _kernels.quote_base_fast(self.inst, params, seq, allowed)
            got = self._base[params] = (seq, allowed, prefix)
        return got

    def instance_with(self, new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0,
                      new_weight=1.0) -> Prepared:
        """The prepared one-store instance with the new order appended as the last order (see
        `_instance_with_new_order`)."""
        return _instance_with_new_order(self.inst, check_new_order(
            self.n_stations, new_item_station, new_item_prep_s, new_item_prep_sd_s, new_release_s, new_weight))

    def quote(self, *, new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0,
              new_weight=1.0, new_just_in_time=False, slot_first_start_s=0.0, slot_s=300.0, slot_capacity=0,
              slot_orders=None, use_reference=False, config: PlannerConfig = DEFAULT_PLANNER) -> QuoteResult:
        """Quote one new order against this store state; arguments as in `quote`."""
        slots = check_slots(slot_orders, slot_first_start_s, slot_s)
        new = check_new_order(self.n_stations, new_item_station, new_item_prep_s, new_item_prep_sd_s, new_release_s,
                              new_weight)
        return _quote(self, new, slots, int(slot_capacity), bool(new_just_in_time), config_tuple(config),
                      use_reference)


def _instance_with_new_order(inst: Prepared, new) -> Prepared:
    """A prepared one-store instance with a new order (check_new_order's arrays) appended as the
    last order: identical to what `prepare` builds from the concatenated arrays, since the new
    order has the largest id and a due time after every real one, so it is last in the dispatch
    sequence and its items come last, longest first (ties: input position). (`_kernels._with_new_order`
    builds the same in compiled code for the kernel routes.)"""
    station, prep, var, release, weight = new
    n, n_orders, k = inst.item_prep_s.size, inst.order_due_s.size, station.size
    return inst._replace(
        store_order_start=np.array([0, n_orders + 1], np.int64),
        order_item_start=np.concatenate((inst.order_item_start, np.array([n + k], np.int64))),
        order_due_s=np.concatenate((inst.order_due_s, np.array([_NEW_ORDER_DUE]))),
        order_weight=np.concatenate((inst.order_weight, np.array([weight.max()]))),
        order_jit=np.concatenate((inst.order_jit, np.zeros(1, bool))),
        order_held_rank=np.concatenate((inst.order_held_rank, np.full(1, np.nan))),
        order_dispatch=np.concatenate((inst.order_dispatch, np.array([n_orders], np.int64))),
        item_station=np.concatenate((inst.item_station, station)),
        item_prep_s=np.concatenate((inst.item_prep_s, prep)),
        item_var_s2=np.concatenate((inst.item_var_s2, var)),
        item_release_s=np.concatenate((inst.item_release_s, release)),
        item_progress_lane=np.concatenate((inst.item_progress_lane, np.full(k, -1, np.int64))),
        item_progress_remaining_s=np.concatenate((inst.item_progress_remaining_s, np.zeros(k))),
    )


def prepare_store(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                  item_due_s, item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
                  progress_item=None, progress_lane=None, progress_remaining_s=None, item_held_rank=None,
                  handoff_s=0.0, n_stations=None, plan_base=True) -> StoreSnapshot:
    """Validate one store's open orders once (quote's store arguments); see StoreSnapshot.

    `plan_base`: also plan the existing orders now (what every kernel quote of this state
    starts from, for the default planner config); otherwise the first quote does it."""
    if n_stations is None:
        n_stations = int(max(int_array("segment_station", segment_station).max(initial=-1),
                             int_array("item_station", item_station).max(initial=-1))) + 1
    store = check_store(  # (no order due at or after the new order's placeholder due)
        n_stores=1, due_below=_NEW_ORDER_DUE,
        segment_station=segment_station, segment_start_s=segment_start_s, segment_lanes=segment_lanes,
        item_order=item_order, item_station=item_station, item_prep_s=item_prep_s, item_due_s=item_due_s,
        item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s, item_weight=item_weight,
        item_just_in_time=item_just_in_time, progress_item=progress_item, progress_lane=progress_lane,
        progress_remaining_s=progress_remaining_s, handoff_s=handoff_s, n_stations=int(n_stations),
        item_held_rank=item_held_rank)
    snapshot = _snapshot(store)
    if plan_base:  # the plan every quote of this state starts from (default config), once, here
        snapshot.base_plan(config_tuple(DEFAULT_PLANNER))
    return snapshot


def _snapshot(store: StoreArrays) -> StoreSnapshot:
    from . import _kernels

    n = store.item_order.size
    return StoreSnapshot(_kernels.layout_one_store(*store.one_store_args()), store.station_store.size,
                         int(store.item_order.max()) + 1 if n else 0)


def quote(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s, item_due_s,
          new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0, new_weight=1.0,
          new_just_in_time=False,
          item_prep_sd_s=None, item_release_s=None, item_weight=None, item_just_in_time=None,
          progress_item=None, progress_lane=None, progress_remaining_s=None, item_held_rank=None, handoff_s=0.0,
          slot_first_start_s=0.0, slot_s=300.0, slot_capacity=0, slot_orders=None, n_stations=None,
          use_reference=False, config: PlannerConfig = DEFAULT_PLANNER) -> QuoteResult:
    """Quote one new order at one store; see the module docstring for every argument.

    The same answer as prepare_store(<store arrays>).quote(<new order>): callers that quote
    several orders against one store state should keep the snapshot instead. Checks the store,
    then the slots, then the new order, and quotes by `_quote`.
    """
    if n_stations is None:  # as before: stations the new order names count too
        n_stations = int(max(int_array("segment_station", segment_station).max(initial=-1),
                             int_array("item_station", item_station).max(initial=-1),
                             int_array("new_item_station", new_item_station).max(initial=-1))) + 1
    store = check_store(  # (no order due at or after the new order's placeholder due)
        n_stores=1, due_below=_NEW_ORDER_DUE,
        segment_station=segment_station, segment_start_s=segment_start_s, segment_lanes=segment_lanes,
        item_order=item_order, item_station=item_station, item_prep_s=item_prep_s, item_due_s=item_due_s,
        item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s, item_weight=item_weight,
        item_just_in_time=item_just_in_time, progress_item=progress_item, progress_lane=progress_lane,
        progress_remaining_s=progress_remaining_s, item_held_rank=item_held_rank, handoff_s=handoff_s,
        n_stations=int(n_stations))
    slots = check_slots(slot_orders, slot_first_start_s, slot_s)
    new = check_new_order(int(n_stations), new_item_station, new_item_prep_s, new_item_prep_sd_s, new_release_s,
                          new_weight)
    return _quote(store, new, slots, int(slot_capacity), bool(new_just_in_time), config_tuple(config),
                  use_reference)


# -- the one quote entry point and its routes -------------------------------------------

def _quote(store: StoreArrays | StoreSnapshot, new, slots, slot_capacity: int, new_jit: bool,
           params, use_reference: bool) -> QuoteResult:
    """Every quote comes here, its input checked (`store`: check_store's arrays, or a snapshot of
    them; `new`: check_new_order's; `slots`: check_slots'), and takes one of three routes. They
    give the same answer (tests/core_native: test_kernel_matches_reference, test_quote_snapshot,
    test_store_layout); they differ in speed only:

    - use_reference: the pure-Python reference.quote, the readable specification (tests, debugging);
    - a StoreSnapshot: its store, laid out and planned once per store state, with the new order
      appended (many quotes of one state: the benchmark's snapshot path);
    - store arrays (api.quote, as Django calls it): layout and quote in one compiled call, since a
      round trip through Python between them costs as much as the layout.
    """
    if use_reference:
        return _quote_by_reference(store, new, slots, slot_capacity, new_jit, params)
    if isinstance(store, StoreSnapshot):
        return _quote_snapshot(store, new, slots, slot_capacity, new_jit, params)
    return _quote_store_arrays(store, new, slots, slot_capacity, new_jit, params)


def _quote_by_reference(store, new, slots, slot_capacity, new_jit, params) -> QuoteResult:
    from . import _kernels

    snapshot = store if isinstance(store, StoreSnapshot) else _snapshot(store)
    slot_orders, slot_first, width = slots
    ready, margin, keeps, status, slot_ready, position, slot_position = reference.quote(
        _instance_with_new_order(snapshot.inst, new), params, slot_first, width, slot_capacity,
        slot_orders.tolist(), new_jit)
    slot_held_rank = np.empty(slot_orders.size)
    held_rank = _kernels.held_ranks(snapshot.inst.order_held_rank, int(position),
                                    np.asarray(slot_position, np.int64), slot_held_rank)
    return _quote_result(ready, margin, keeps, slot_first, width, np.asarray(status, np.int8),
                         np.asarray(slot_ready, np.float64), held_rank, slot_held_rank)


def _quote_snapshot(snapshot: StoreSnapshot, new, slots, slot_capacity, new_jit, params) -> QuoteResult:
    from . import _kernels

    slot_orders, slot_first, width = slots
    status, slot_ready = np.zeros(slot_orders.size, np.int8), np.zeros(slot_orders.size)
    slot_position = np.zeros(slot_orders.size, np.int64)
    known_seq, known_allowed, known_prefix = snapshot.base_plan(params)
    ready, margin, keeps, position = _kernels.quote_new_known(
        snapshot.inst, _NEW_ORDER_DUE, *new, params, slot_first, width, slot_capacity, slot_orders, new_jit, status,
        slot_ready, slot_position, known_seq, known_allowed, known_prefix)
    slot_held_rank = np.empty(slot_orders.size)
    held_rank = _kernels.held_ranks(snapshot.inst.order_held_rank, int(position), slot_position, slot_held_rank)
    return _quote_result(ready, margin, keeps, slot_first, width, status, slot_ready, held_rank, slot_held_rank)


def _quote_store_arrays(store: StoreArrays, new, slots, slot_capacity, new_jit, params) -> QuoteResult:
    from . import _kernels

    slot_orders, slot_first, width = slots
    status, slot_ready = np.zeros(slot_orders.size, np.int8), np.zeros(slot_orders.size)
    slot_held_rank = np.zeros(slot_orders.size)
    ready, margin, keeps, held_rank = _kernels.quote_arrays(
        *store.one_store_args(), _NEW_ORDER_DUE, *new, params, slot_first, width, slot_capacity, slot_orders,
        new_jit, status, slot_ready, np.zeros(slot_orders.size, np.int64), slot_held_rank)
    return _quote_result(ready, margin, keeps, slot_first, width, status, slot_ready, held_rank, slot_held_rank)


def _quote_result(ready, margin, keeps, slot_first, width, status, slot_ready, held_rank, slot_held_rank):
    return QuoteResult(ready_s=float(ready), margin_s=float(margin), keeps_promises=bool(keeps),
                       slot_start_s=slot_first + width * np.arange(status.size), slot_status=status,
                       slot_ready_s=slot_ready, held_rank=float(held_rank), slot_held_rank=slot_held_rank)
