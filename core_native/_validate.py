"""The one validator: every public function checks the caller's input here, and nowhere else.

`check_store` checks a chain's (or one store's) open orders, `check_new_order` and
`check_slots` a quote's new order and slots. Each raises `PlanError` saying what is wrong and
where, or returns the input as the typed arrays the layout and the kernels take, which may
then assume it is good (`_kernel_args.prepare`, `_kernels.layout_one_store`).

`check_store` works in two steps:
1. types and lengths, here in NumPy (`int_array`, `float_array`, ...). Arrays that are
   already NumPy arrays of their final dtypes, as Django's kitchen state and the benchmark
   pass them, are taken as they are (`typed_store_arrays`: no conversion, no copy).
2. values (ranges, finiteness, two segments at one time, progress on a lane the station
   has, ...), in one compiled scan, `_kernels.first_bad_input`, which only says which check
   failed first (a BAD_* number); `bad_input_error` below then finds where and words the
   message. The scan is compiled because a quote checks its store on every call: as
   ~40 NumPy calls the check alone took about as long as the quote (~100 us).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._layout import PlanError


class StoreArrays(NamedTuple):
    """The caller's store arrays, checked: C-contiguous, final dtypes, defaults filled in."""
    station_store: np.ndarray  # int64[S]
    segment_station: np.ndarray  # int64[G]
    segment_start_s: np.ndarray  # float64[G]
    segment_lanes: np.ndarray  # int64[G]
    item_order: np.ndarray  # int64[N]
    item_station: np.ndarray  # int64[N]
    item_prep_s: np.ndarray  # float64[N]
    item_due_s: np.ndarray  # float64[N]
    item_prep_sd_s: np.ndarray  # float64[N]
    item_release_s: np.ndarray  # float64[N]
    item_weight: np.ndarray  # float64[N]
    item_just_in_time: np.ndarray  # bool[N]
    item_held_rank: np.ndarray  # float64[N]
    progress_item: np.ndarray  # int64[P]
    progress_lane: np.ndarray  # int64[P]
    progress_remaining_s: np.ndarray  # float64[P]
    store_handoff_s: np.ndarray  # float64[n_stores]
    n_stores: int

    def one_store_args(self) -> tuple:
        """A one-store check's arrays as `_kernels.layout_one_store` and `quote_arrays` take them."""
        return self[1:16] + (float(self.store_handoff_s[0]), self.station_store.size)


# What `_kernels.first_bad_input` found first (0: nothing); the order is the order of the checks.
(BAD_NONE, BAD_STATION_STORE_NEGATIVE, BAD_STATION_STORE_RANGE, BAD_SEGMENT_STATION, BAD_ITEM_STATION,
 BAD_SEGMENT_START, BAD_SEGMENT_LANES, BAD_PREP, BAD_PREP_NOT_POSITIVE, BAD_PREP_SD, BAD_PREP_SD_NEGATIVE,
 BAD_RELEASE, BAD_DUE, BAD_WEIGHT, BAD_WEIGHT_NEGATIVE, BAD_HELD_RANK, BAD_HANDOFF, BAD_HANDOFF_NEGATIVE,
 BAD_SEGMENT_TWICE, BAD_ORDER_IN_TWO_STORES, BAD_REMAINING, BAD_PROGRESS_ITEM, BAD_PROGRESS_ITEM_TWICE,
 BAD_REMAINING_NOT_POSITIVE, BAD_PROGRESS_LANE, BAD_LANE_TWICE, BAD_DUE_TOO_LARGE) = range(27)


# -- step 1: types and lengths --------------------------------------------------------

def int_array(name, values, n=None):
    """`values` as int64[n] (whole floats accepted); otherwise PlanError naming `name`."""
    a = np.asarray(values)
    if a.ndim != 1:
        raise PlanError(f"{name} must be a 1-D array")
    if a.size and a.dtype.kind not in "iu":  # (dtype kinds: NumPy's issubdtype costs ~10x more per call)
        if a.dtype.kind == "f" and np.isfinite(a).all() and (a == np.round(a)).all():
            a = a.astype(np.int64)
        else:
            raise PlanError(f"{name} must hold integers")
    a = a.astype(np.int64, copy=False)
    if n is not None and a.size != n:
        raise PlanError(f"{name} has {a.size} values, expected {n}")
    return a


def float_array(name, values, n, default=None):
    """`values` as float64[n] (None: all `default`; a scalar: repeated). Finiteness is a value
    check: the scan's."""
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
    return a


def held_rank_array(values, n):
    """`item_held_rank` as float64[n]: numbers, NaN for an order not in the held plan (None: no order is)."""
    if values is None:
        return np.full(n, np.nan)
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PlanError("item_held_rank must hold numbers (NaN: not in the held plan)") from None
    if a.ndim != 1 or a.size != n:
        raise PlanError(f"item_held_rank has {a.size} values, expected {n}")
    return a


def bool_array(name, values, n):
    a = np.zeros(n, bool) if values is None else np.asarray(values, dtype=bool)
    if a.shape != (n,):
        raise PlanError(f"{name} has {a.size} values, expected {n}")
    return a


_I64, _F64, _BOOL = np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.bool_)
_NO_PROGRESS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def typed_store_arrays(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                       item_due_s, n_stations, item_prep_sd_s=None, item_release_s=None, item_weight=None,
                       item_just_in_time=None, progress_item=None, progress_lane=None, progress_remaining_s=None,
                       handoff_s=0.0, item_held_rank=None):
    """One store's arguments as `_kernels.layout_one_store` takes them (the arrays, handoff_s,
    n_stations; defaults filled in), where every array is already a NumPy array of its final
    dtype and length, as Django's kitchen state and the benchmark pass them: step 1 with
    nothing to convert (performance only). Else None: `check_store` converts them."""
    typed = _typed_one_store(segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                            item_due_s, n_stations, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
                            progress_item, progress_lane, progress_remaining_s, handoff_s, item_held_rank)
    return None if typed is None else list(typed.one_store_args())


def _typed_one_store(segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                     item_due_s, n_stations, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
                     progress_item, progress_lane, progress_remaining_s, handoff_s, item_held_rank):
    """typed_store_arrays' check, its arguments by position, as a one-store StoreArrays (or None):
    a quote calls it every time (performance only)."""
    n = item_order.size if type(item_order) is np.ndarray else -1
    n_seg = segment_station.size if type(segment_station) is np.ndarray else -1
    if n < 0 or n_seg < 0 or type(n_stations) is not int or type(handoff_s) not in (int, float):
        return None
    if progress_item is None and progress_lane is None and progress_remaining_s is None:
        progress_item, progress_lane, progress_remaining_s = _NO_PROGRESS
    n_prog = progress_item.size if type(progress_item) is np.ndarray else 0
    arrays = ((segment_station, _I64, n_seg), (segment_start_s, _F64, n_seg), (segment_lanes, _I64, n_seg),
              (item_order, _I64, n), (item_station, _I64, n), (item_prep_s, _F64, n), (item_due_s, _F64, n),
              (np.zeros(n) if item_prep_sd_s is None else item_prep_sd_s, _F64, n),
              (np.zeros(n) if item_release_s is None else item_release_s, _F64, n),
              (np.ones(n) if item_weight is None else item_weight, _F64, n),
              (np.zeros(n, bool) if item_just_in_time is None else item_just_in_time, _BOOL, n),
              (np.full(n, np.nan) if item_held_rank is None else item_held_rank, _F64, n),
              (progress_item, _I64, n_prog), (progress_lane, _I64, n_prog), (progress_remaining_s, _F64, n_prog))
    for a, dtype, size in arrays:
        if not (type(a) is np.ndarray and a.dtype is dtype and a.ndim == 1 and a.size == size
                and a.flags.c_contiguous):
            return None
    return StoreArrays(np.zeros(n_stations, np.int64), *[a for a, _, _ in arrays], np.array([float(handoff_s)]), 1)


def _converted(*, station_store, segment_station, segment_start_s, segment_lanes, item_order, item_station,
               item_prep_s, item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
               progress_item, progress_lane, progress_remaining_s, handoff_s, n_stores, n_stations,
               item_held_rank) -> StoreArrays:
    """Step 1 for any input: each argument converted, or PlanError for a wrong type or length."""
    item_station = int_array("item_station", item_station)
    n = item_station.size
    segment_station = int_array("segment_station", segment_station)
    n_seg = segment_station.size
    if station_store is None:
        if n_stations is None:
            n_stations = int(max(segment_station.max(initial=-1), item_station.max(initial=-1))) + 1
        station_store = np.zeros(n_stations, np.int64)
    station_store = int_array("station_store", station_store)
    if n_stores is None:
        n_stores = int(station_store.max(initial=-1)) + 1
    p_item = int_array("progress_item", [] if progress_item is None else progress_item)
    n_prog = p_item.size
    arrays = StoreArrays(
        station_store=station_store, segment_station=segment_station,
        segment_start_s=float_array("segment_start_s", segment_start_s, n_seg),
        segment_lanes=int_array("segment_lanes", segment_lanes, n_seg),
        item_order=int_array("item_order", item_order, n), item_station=item_station,
        item_prep_s=float_array("item_prep_s", item_prep_s, n),
        item_due_s=float_array("item_due_s", item_due_s, n),
        item_prep_sd_s=float_array("item_prep_sd_s", item_prep_sd_s, n, 0.0),
        item_release_s=float_array("item_release_s", item_release_s, n, 0.0),
        item_weight=float_array("item_weight", item_weight, n, 1.0),
        item_just_in_time=bool_array("item_just_in_time", item_just_in_time, n),
        item_held_rank=held_rank_array(item_held_rank, n),
        progress_item=p_item,
        progress_lane=int_array("progress_lane", [] if progress_lane is None else progress_lane, n_prog),
        progress_remaining_s=float_array(
            "progress_remaining_s", [] if progress_remaining_s is None else progress_remaining_s, n_prog),
        store_handoff_s=float_array("handoff_s", handoff_s, n_stores), n_stores=n_stores)
    # one memory layout, so each kernel is compiled once (a strided view would be a second type)
    return arrays._replace(**{f: np.ascontiguousarray(a) for f, a in zip(arrays._fields[:-1], arrays[:-1])})


# -- the validator --------------------------------------------------------------------

_first_bad_input = None  # _kernels.first_bad_input, once imported

def check_store(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                item_due_s, station_store=None, item_prep_sd_s=None, item_release_s=None, item_weight=None,
                item_just_in_time=None, progress_item=None, progress_lane=None, progress_remaining_s=None,
                item_held_rank=None, handoff_s=0.0, n_stores=None, n_stations=None,
                due_below=math.inf) -> StoreArrays:
    """The caller's store arrays checked (see the module docstring), or PlanError saying what
    is wrong and where. `station_store=None`: every station (0 .. n_stations-1) at store 0; a
    quote's store passes n_stores=1 (n_stores=None: the stores station_store names).
    `due_below`: an order's due time must be below it (a quote's placeholder due is)."""
    global _first_bad_input
    typed = None
    if station_store is None and n_stores == 1:
        typed = _typed_one_store(segment_station, segment_start_s, segment_lanes, item_order, item_station,
                                 item_prep_s, item_due_s, n_stations, item_prep_sd_s, item_release_s, item_weight,
                                 item_just_in_time, progress_item, progress_lane, progress_remaining_s, handoff_s,
                                 item_held_rank)
    arrays = typed if typed is not None else _converted(
        station_store=station_store, segment_station=segment_station, segment_start_s=segment_start_s,
        segment_lanes=segment_lanes, item_order=item_order, item_station=item_station, item_prep_s=item_prep_s,
        item_due_s=item_due_s, item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s,
        item_weight=item_weight, item_just_in_time=item_just_in_time, progress_item=progress_item,
        progress_lane=progress_lane, progress_remaining_s=progress_remaining_s, handoff_s=handoff_s,
        n_stores=n_stores, n_stations=n_stations, item_held_rank=item_held_rank)
    if _first_bad_input is None:  # (imported on first use, as api.py imports the kernels: they import Numba)
        from ._kernels import first_bad_input as _first_bad_input
    bad = _first_bad_input(*arrays, float(due_below))
    if bad != BAD_NONE:
        raise bad_input_error(bad, arrays)
    return arrays


def _first(mask) -> int:
    return int(np.argmax(mask))


def _range_error(name, a, lo, hi) -> PlanError:
    i = _first((a < lo) | (a >= hi))
    return PlanError(f"{name}[{i}] = {a[i]} is out of range [{lo}, {hi})")


def bad_input_error(bad: int, s: StoreArrays) -> PlanError:
    """The message for what `first_bad_input` found first: which value, where (found again here,
    in NumPy: this runs once, on bad input)."""
    n_st, n_items = s.station_store.size, s.item_order.size
    not_finite = {BAD_SEGMENT_START: "segment_start_s", BAD_PREP: "item_prep_s", BAD_PREP_SD: "item_prep_sd_s",
                  BAD_RELEASE: "item_release_s", BAD_DUE: "item_due_s", BAD_WEIGHT: "item_weight",
                  BAD_HANDOFF: "handoff_s", BAD_REMAINING: "progress_remaining_s"}
    if bad in not_finite:
        name = not_finite[bad]
        a = getattr(s, "store_handoff_s" if name == "handoff_s" else name)
        return PlanError(f"{name}[{_first(~np.isfinite(a))}] is not a finite number")
    if bad == BAD_STATION_STORE_NEGATIVE:
        return PlanError("station_store must hold store numbers >= 0")
    if bad == BAD_STATION_STORE_RANGE:
        return _range_error("station_store", s.station_store, 0, s.n_stores)
    if bad == BAD_SEGMENT_STATION:
        return _range_error("segment_station", s.segment_station, 0, n_st)
    if bad == BAD_ITEM_STATION:
        return _range_error("item_station", s.item_station, 0, n_st)
    if bad == BAD_SEGMENT_LANES:
        return PlanError(f"segment_lanes[{int(np.argmin(s.segment_lanes))}] is negative")
    if bad == BAD_PREP_NOT_POSITIVE:
        return PlanError(f"item_prep_s[{int(np.argmin(s.item_prep_s))}] = {s.item_prep_s.min()} must be > 0")
    if bad == BAD_PREP_SD_NEGATIVE:
        return PlanError(f"item_prep_sd_s[{int(np.argmin(s.item_prep_sd_s))}] must be >= 0")
    if bad == BAD_WEIGHT_NEGATIVE:
        return PlanError(f"item_weight[{int(np.argmin(s.item_weight))}] must be >= 0")
    if bad == BAD_HELD_RANK:
        i = _first(np.isinf(s.item_held_rank))
        return PlanError(f"item_held_rank[{i}] is infinite (NaN: not in the held plan)")
    if bad == BAD_HANDOFF_NEGATIVE:
        return PlanError("handoff_s must be >= 0")
    if bad == BAD_SEGMENT_TWICE:
        # (named by the first clash in the order stores, then stations, then start times)
        station_order = np.argsort(s.station_store, kind="stable")
        station_rank = np.empty(n_st, np.int64)
        station_rank[station_order] = np.arange(n_st)
        seg_st = station_rank[s.segment_station]
        perm = np.lexsort((s.segment_start_s, seg_st))
        seg_st, seg_start = seg_st[perm], s.segment_start_s[perm]
        i = _first((seg_st[1:] == seg_st[:-1]) & (seg_start[1:] <= seg_start[:-1]))
        return PlanError(f"station {int(station_order[seg_st[i]])} has two staffing segments starting at "
                         f"{seg_start[i]}")
    if bad == BAD_ORDER_IN_TWO_STORES:
        # (named by the first item whose store is not that of its order's first item)
        order_id, order_idx = np.unique(s.item_order, return_inverse=True)
        order_idx = order_idx.reshape(-1)
        item_store = s.station_store[s.item_station]
        first_item = np.full(order_id.size, n_items)
        np.minimum.at(first_item, order_idx, np.arange(n_items))
        i = _first(item_store[first_item[order_idx]] != item_store)
        return PlanError(f"order {int(s.item_order[i])} has items at stations of different stores")
    if bad == BAD_PROGRESS_ITEM:
        return _range_error("progress_item", s.progress_item, 0, n_items)
    if bad == BAD_PROGRESS_ITEM_TWICE:
        return PlanError("progress_item lists an item twice")
    if bad == BAD_REMAINING_NOT_POSITIVE:
        return PlanError(f"progress_remaining_s[{int(np.argmin(s.progress_remaining_s))}] must be > 0")
    if bad == BAD_PROGRESS_LANE:
        most_lanes = np.zeros(n_st, np.int64)
        np.maximum.at(most_lanes, s.segment_station, s.segment_lanes)
        station, lane = s.item_station[s.progress_item], s.progress_lane
        i = _first((lane < 0) | (lane >= most_lanes[station]))
        return PlanError(f"progress_lane[{i}] = {lane[i]}: station {int(station[i])} never has that many lanes")
    if bad == BAD_LANE_TWICE:
        return PlanError("two items in progress on the same lane")
    if bad == BAD_DUE_TOO_LARGE:
        return PlanError("item_due_s is absurdly large")
    return PlanError(f"bad input (check {bad})")


# -- a quote's new order and slots: a handful of numbers, checked as Python numbers ----------

def _few_ints(name, values) -> list[int]:
    """A new order's handful of integers as Python ints; int_array's checks and messages, without
    NumPy for a list of ints (what callers pass)."""
    if type(values) in (list, tuple) and all(type(v) is int for v in values):
        return list(values)
    return int_array(name, values).tolist()


def _few_floats(name, values, k, default=None) -> list[float]:
    """A new order's `values` (k of them, a scalar repeated, None: `default`) as finite Python floats;
    float_array's messages for the handful of numbers of one order, without NumPy (several times
    cheaper here)."""
    if values is None:
        return [float(default)] * k
    if isinstance(values, (int, float, np.number)):
        values = [values] * k
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        raise PlanError(f"{name} must hold numbers") from None
    if len(out) != k:
        raise PlanError(f"{name} has {len(out)} values, expected {k}")
    for i, v in enumerate(out):
        if not math.isfinite(v):
            raise PlanError(f"{name}[{i}] is not a finite number")
    return out


def check_new_order(n_stations, new_item_station, new_item_prep_s, new_item_prep_sd_s=None, new_release_s=0.0,
                    new_weight=1.0):
    """A new order's items checked and laid out as `prepare` lays out items: (station, prep,
    variance, release clamped to now, weight) arrays, longest first (ties: input position)."""
    stations = _few_ints("new_item_station", new_item_station)
    k = len(stations)
    if k == 0:
        raise PlanError("the new order has no items")
    preps = _few_floats("new_item_prep_s", new_item_prep_s, k)
    sds = _few_floats("new_item_prep_sd_s", new_item_prep_sd_s, k, 0.0)
    releases = _few_floats("new_release_s", new_release_s, k)
    weights = _few_floats("new_weight", new_weight, k)
    if min(stations) < 0 or max(stations) >= n_stations:
        i = next(j for j, x in enumerate(stations) if not 0 <= x < n_stations)
        raise PlanError(f"new_item_station[{i}] = {stations[i]} is out of range [0, {n_stations})")
    if min(preps) <= 0:
        raise PlanError(f"new_item_prep_s[{preps.index(min(preps))}] = {min(preps)} must be > 0")
    if min(sds) < 0:
        raise PlanError(f"new_item_prep_sd_s[{sds.index(min(sds))}] must be >= 0")
    if min(weights) < 0:
        raise PlanError("new_weight must be >= 0")
    if k > 1:  # longest first, ties by input position (as prepare's lexsort)
        order = sorted(range(k), key=lambda i: -preps[i])
        stations, preps = [stations[i] for i in order], [preps[i] for i in order]
        sds, releases = [sds[i] for i in order], [releases[i] for i in order]
    # one array for the four float rows: a row of it is a contiguous float64[k], as the kernels take
    prep, var, release, weight = np.array(
        preps + [sd * sd for sd in sds] + [max(r, 0.0) for r in releases] + weights).reshape(4, k)
    return np.array(stations, np.int64), prep, var, release, weight


def check_slots(slot_orders, slot_first_start_s, slot_s):
    """A quote's slot arguments checked: (orders already in each slot as int64[], first start, width)."""
    slots = np.zeros(0, np.int64) if slot_orders is None else int_array("slot_orders", slot_orders)
    width = float(slot_s)
    if slots.size and not width > 0:
        raise PlanError("slot_s must be > 0")
    return slots, float(slot_first_start_s), width
