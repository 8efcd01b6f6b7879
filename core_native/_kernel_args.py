"""Between the public functions and the kernels: the caller's arrays checked and laid
out as a `Prepared` instance (`prepare`), the planner config as the kernels' parameter
tuple (`config_tuple`), and the kernels' answers put back in the caller's order (`unpack`).

`api.py` is the only caller besides the benchmark and the tests; the reference planner
and the kernels read what this builds (the layout is described in `_layout.py`).
"""

from __future__ import annotations

import numpy as np

from ._layout import PlanError, PlannerParams, Prepared
from .config import PlannerConfig


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


def float_array(name, values, n, default=None, allow_inf=False):
    """`values` as float64[n] (None: all `default`; a scalar: repeated), finite unless `allow_inf`."""
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
    if bad.any():  # (the method: np.any's dispatch costs as much as the check, per call)
        raise PlanError(f"{name}[{int(np.argmax(bad))}] is not a finite number")
    return a


def held_rank_array(values, n):
    """`item_held_rank` as float64[n]: finite numbers, NaN for an order not in the held plan
    (None: no order is)."""
    if values is None:
        return np.full(n, np.nan)
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise PlanError("item_held_rank must hold numbers (NaN: not in the held plan)") from None
    if a.ndim != 1 or a.size != n:
        raise PlanError(f"item_held_rank has {a.size} values, expected {n}")
    if np.isinf(a).any():
        raise PlanError(f"item_held_rank[{int(np.argmax(np.isinf(a)))}] is infinite (NaN: not in the held plan)")
    return a


def check_range(name, a, lo, hi):
    """PlanError naming the first value of `a` outside [lo, hi)."""
    if a.size and (a.min() < lo or a.max() >= hi):
        i = int(np.argmax((a < lo) | (a >= hi)))
        raise PlanError(f"{name}[{i}] = {a[i]} is out of range [{lo}, {hi})")


def prepare(*, station_store, segment_station, segment_start_s, segment_lanes, item_order, item_station,
            item_prep_s, item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
            progress_item, progress_lane, progress_remaining_s, handoff_s, n_stores, n_stations=None,
            new_order_due_ok=False, item_held_rank=None):
    """Validate caller arrays and build the Prepared instance plus the maps back."""
    item_station = int_array("item_station", item_station)
    n_items = item_station.size
    segment_station = int_array("segment_station", segment_station)
    n_seg = segment_station.size
    if station_store is None:
        if n_stations is None:
            n_stations = int(max(segment_station.max(initial=-1), item_station.max(initial=-1))) + 1
        station_store = np.zeros(n_stations, np.int64)
    station_store = int_array("station_store", station_store)
    n_st = station_store.size
    if station_store.size and station_store.min() < 0:
        raise PlanError("station_store must hold store numbers >= 0")
    if n_stores is None:
        n_stores = int(station_store.max(initial=-1)) + 1
    check_range("station_store", station_store, 0, n_stores)
    check_range("segment_station", segment_station, 0, n_st)
    check_range("item_station", item_station, 0, n_st)
    seg_start = float_array("segment_start_s", segment_start_s, n_seg)
    seg_lanes = int_array("segment_lanes", segment_lanes, n_seg)
    if seg_lanes.size and seg_lanes.min() < 0:
        raise PlanError(f"segment_lanes[{int(np.argmin(seg_lanes))}] is negative")
    item_order = int_array("item_order", item_order, n_items)
    prep = float_array("item_prep_s", item_prep_s, n_items)
    if n_items and prep.min() <= 0:
        raise PlanError(f"item_prep_s[{int(np.argmin(prep))}] = {prep.min()} must be > 0")
    sd = float_array("item_prep_sd_s", item_prep_sd_s, n_items, 0.0)
    if n_items and sd.min() < 0:
        raise PlanError(f"item_prep_sd_s[{int(np.argmin(sd))}] must be >= 0")
    release = float_array("item_release_s", item_release_s, n_items, 0.0)
    due = float_array("item_due_s", item_due_s, n_items, allow_inf=new_order_due_ok)
    weight = float_array("item_weight", item_weight, n_items, 1.0)
    if n_items and weight.min() < 0:
        raise PlanError(f"item_weight[{int(np.argmin(weight))}] must be >= 0")
    if item_just_in_time is None:
        jit = np.zeros(n_items, bool)
    else:
        jit = np.asarray(item_just_in_time, dtype=bool)
        if jit.shape != (n_items,):
            raise PlanError(f"item_just_in_time has {jit.size} values, expected {n_items}")
    held_rank = held_rank_array(item_held_rank, n_items)
    handoff = float_array("handoff_s", handoff_s, n_stores)
    if n_stores and handoff.min() < 0:
        raise PlanError("handoff_s must be >= 0")

    # stations grouped by store; prepared station p is input station station_order[p]
    station_order = np.argsort(station_store, kind="stable")
    station_rank = np.empty(n_st, np.int64)
    station_rank[station_order] = np.arange(n_st)
    store_station_start = np.zeros(n_stores + 1, np.int64)
    np.bincount(station_store, minlength=n_stores).cumsum(out=store_station_start[1:])

    # staffing segments, by station then time
    seg_st = station_rank[segment_station]
    seg_perm = np.lexsort((seg_start, seg_st))
    seg_st, seg_start, seg_lanes = seg_st[seg_perm], seg_start[seg_perm], seg_lanes[seg_perm]
    same = seg_st[1:] == seg_st[:-1]
    if (same & (seg_start[1:] <= seg_start[:-1])).any():
        i = int(np.argmax(same & (seg_start[1:] <= seg_start[:-1])))
        raise PlanError(f"station {int(station_order[seg_st[i]])} has two staffing segments starting at {seg_start[i]}")
    station_segment_start = np.zeros(n_st + 1, np.int64)
    np.bincount(seg_st, minlength=n_st).cumsum(out=station_segment_start[1:])
    most_lanes = np.zeros(n_st, np.int64)
    has_seg = station_segment_start[1:] > station_segment_start[:-1]
    if n_seg:
        most_lanes[has_seg] = np.maximum.reduceat(seg_lanes, station_segment_start[:-1][has_seg])
    station_lane_start = np.zeros(n_st + 1, np.int64)
    most_lanes.cumsum(out=station_lane_start[1:])

    # orders: one store each; due = earliest item due, weight = largest, jit = any
    order_id, item_order_idx = np.unique(item_order, return_inverse=True)
    item_order_idx = item_order_idx.reshape(-1).astype(np.int64)
    n_orders = order_id.size
    item_store = station_store[item_station]
    by_order = np.argsort(item_order_idx, kind="stable")
    first = np.zeros(n_orders, np.int64)
    if n_items:
        np.bincount(item_order_idx, minlength=n_orders)[:-1].cumsum(out=first[1:])
    order_store = item_store[by_order][first] if n_items else np.zeros(0, np.int64)
    if (order_store[item_order_idx] != item_store).any():
        i = int(np.argmax(order_store[item_order_idx] != item_store))
        raise PlanError(f"order {int(item_order[i])} has items at stations of different stores")
    if n_items:
        order_due = np.minimum.reduceat(due[by_order], first)
        order_weight = np.maximum.reduceat(weight[by_order], first)
        order_jit = np.logical_or.reduceat(jit[by_order], first)
        order_rank = np.fmin.reduceat(held_rank[by_order], first)  # NaN only when no item has a rank
    else:
        order_due = order_weight = order_rank = np.zeros(0)
        order_jit = np.zeros(0, bool)

    # the plan sequence inside each store (see _layout): ranked orders by (rank, id), then the
    # unranked by (due, id); a store without ranks is in dispatch order. Prepared order q is
    # order order_seq[q]
    unranked = np.isnan(order_rank)
    order_seq = np.lexsort((order_id, np.where(unranked, order_due, order_rank), unranked, order_store))
    order_place = np.empty(n_orders, np.int64)
    order_place[order_seq] = np.arange(n_orders)
    store_order_start = np.zeros(n_stores + 1, np.int64)
    np.bincount(order_store, minlength=n_stores).cumsum(out=store_order_start[1:])
    dispatch_place = np.empty(n_orders, np.int64)  # each order's place in its store's (due, id) order
    dispatch_place[np.lexsort((order_id, order_due, order_store))] = np.arange(n_orders)
    dispatch_place -= store_order_start[order_store]

    # items: by prepared order, longest first; prepared item k is input item item_perm[k]
    item_rank_order = order_place[item_order_idx]
    item_perm = np.lexsort((np.arange(n_items), -prep, item_rank_order))
    order_item_start = np.zeros(n_orders + 1, np.int64)
    np.bincount(item_rank_order, minlength=n_orders).cumsum(out=order_item_start[1:])

    # items already in progress
    p_item = int_array("progress_item", [] if progress_item is None else progress_item)
    n_prog = p_item.size
    p_lane = int_array("progress_lane", [] if progress_lane is None else progress_lane, n_prog)
    p_rem = float_array("progress_remaining_s", [] if progress_remaining_s is None else progress_remaining_s, n_prog)
    check_range("progress_item", p_item, 0, max(n_items, 0))
    if n_prog > 1 and np.unique(p_item).size != n_prog:
        raise PlanError("progress_item lists an item twice")
    if n_prog and p_rem.min() <= 0:
        raise PlanError(f"progress_remaining_s[{int(np.argmin(p_rem))}] must be > 0")
    p_station = station_rank[item_station[p_item]]
    if n_prog and (p_lane.min() < 0 or (p_lane >= most_lanes[p_station]).any()):
        i = int(np.argmax((p_lane < 0) | (p_lane >= most_lanes[p_station])))
        raise PlanError(f"progress_lane[{i}] = {p_lane[i]}: station {int(item_station[p_item[i]])} "
                        f"never has that many lanes")
    lane_key = station_lane_start[p_station] + p_lane
    if n_prog > 1 and np.unique(lane_key).size != n_prog:
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
        order_held_rank=np.ascontiguousarray(order_rank[order_seq]),
        order_dispatch=np.ascontiguousarray(dispatch_place[order_seq]),
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


_I64, _F64, _BOOL = np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.bool_)


def typed_store_arrays(*, segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                       item_due_s, n_stations, item_prep_sd_s=None, item_release_s=None, item_weight=None,
                       item_just_in_time=None, progress_item=None, progress_lane=None, progress_remaining_s=None,
                       handoff_s=0.0, item_held_rank=None):
    """One store's arguments as `_kernels.layout_one_store` takes them (the arrays, handoff_s,
    n_stations; defaults filled in), where every array is already a NumPy array of its final
    dtype and length, as Django's kitchen state and the benchmark pass them; else None (the
    caller takes `prepare`, which converts or says what is wrong)."""
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
    return [a for a, _, _ in arrays] + [float(handoff_s), n_stations]


def prepare_one_store(**store) -> Prepared:
    """`prepare(station_store=None, n_stores=1, **store)`'s instance (a quote's store; `store`:
    typed_store_arrays' arguments), compiled (`_kernels.layout_one_store`, ~10x faster) where the
    arrays are typed already; otherwise, and wherever the compiled checks find bad input,
    `prepare` itself (which raises with its message)."""
    args = typed_store_arrays(**store)
    if args is not None:
        from ._kernels import layout_one_store

        inst = layout_one_store(*args)
        if inst is not None:
            return inst
    return prepare(station_store=None, n_stores=1, **store)[0]


_NO_PROGRESS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def config_tuple(config: PlannerConfig) -> PlannerParams:
    """The config as the parameters the kernels and the reference take (fixed types: one compiled copy)."""
    return PlannerParams(
        safety_z=float(config.safety_z), pacing_window_s=float(config.pacing_window_s),
        jit_buffer_s=float(config.jit_buffer_s), improve_max_passes=int(config.improve_max_passes),
        improve_trials_per_order=int(config.improve_trials_per_order),
        item_trials_per_item=int(config.item_trials_per_item), slot_shift_tol_s=float(config.slot_shift_tol_s),
        slot_shift_step_s=float(config.slot_shift_step_s))


def unpack(inst: Prepared, maps: dict, lane, start, finish, ready, margin, position) -> dict:
    """The kernels' answers in the caller's order (items by input row, orders by order id):
    PlanResult's fields, by name. `maps` is what `prepare` returned with `inst`."""
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
    order_position = np.empty(n_orders, np.int64)
    order_position[order_seq] = position
    order_due = np.empty(n_orders)
    order_weight = np.empty(n_orders)
    order_due[order_seq] = inst.order_due_s
    order_weight[order_seq] = inst.order_weight
    tardiness = np.maximum(order_ready - order_due, 0.0)
    return dict(
        item_lane=item_lane, item_start_s=item_start, item_finish_s=item_finish,
        order_id=maps["order_id"], order_store=maps["order_store"], order_ready_s=order_ready,
        order_due_s=order_due, order_weight=order_weight, order_margin_s=order_margin,
        order_tardiness_s=tardiness, order_position=order_position, item_due_s=order_due[maps["item_order_idx"]],
        handoff_s=maps["handoff"][maps["item_store"]] if n_items else np.zeros(0))
