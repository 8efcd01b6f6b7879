"""Between the public functions and the kernels: the caller's arrays, checked by the one
validator (`_validate.check_store`), laid out as a `Prepared` instance (`prepare`, `lay_out`),
the planner config as the kernels' parameter tuple (`config_tuple`), and the kernels' answers
put back in the caller's order (`unpack`).

`api.py` is the only caller besides the benchmark and the tests; the reference planner
and the kernels read what this builds (the layout is described in `_layout.py`).
"""

from __future__ import annotations

import numpy as np

from ._layout import PlannerParams, Prepared
from ._validate import StoreArrays, check_store, typed_store_arrays  # noqa: F401 (typed_store_arrays: for callers)
from .config import PlannerConfig


def prepare(*, station_store, segment_station, segment_start_s, segment_lanes, item_order, item_station,
            item_prep_s, item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
            progress_item, progress_lane, progress_remaining_s, handoff_s, n_stores, n_stations=None,
            item_held_rank=None):
    """The caller's arrays checked (`_validate.check_store`) and laid out: the Prepared instance
    plus the maps back (`unpack`)."""
    return lay_out(check_store(
        station_store=station_store, segment_station=segment_station, segment_start_s=segment_start_s,
        segment_lanes=segment_lanes, item_order=item_order, item_station=item_station, item_prep_s=item_prep_s,
        item_due_s=item_due_s, item_prep_sd_s=item_prep_sd_s, item_release_s=item_release_s,
        item_weight=item_weight, item_just_in_time=item_just_in_time, progress_item=progress_item,
        progress_lane=progress_lane, progress_remaining_s=progress_remaining_s, handoff_s=handoff_s,
        n_stores=n_stores, n_stations=n_stations, item_held_rank=item_held_rank))


def lay_out(checked: StoreArrays):
    """Checked arrays (`check_store`'s) as the Prepared instance, plus the maps back (`unpack`)."""
    station_store, n_stores, n_st = checked.station_store, checked.n_stores, checked.station_store.size
    segment_station, seg_start, seg_lanes = checked.segment_station, checked.segment_start_s, checked.segment_lanes
    item_order, item_station, n_items = checked.item_order, checked.item_station, checked.item_order.size
    prep, due, sd, release = checked.item_prep_s, checked.item_due_s, checked.item_prep_sd_s, checked.item_release_s
    weight, jit, held_rank = checked.item_weight, checked.item_just_in_time, checked.item_held_rank
    p_item, p_lane, p_rem = checked.progress_item, checked.progress_lane, checked.progress_remaining_s
    handoff, n_seg = checked.store_handoff_s, segment_station.size

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


def prepare_one_store(**store) -> Prepared:
    """`prepare(station_store=None, n_stores=1, **store)`'s instance (a quote's store; `store`:
    `check_store`'s one-store arguments), laid out by the compiled `_kernels.layout_one_store`
    (~10x faster than `lay_out`; the same instance)."""
    from ._kernels import layout_one_store

    return layout_one_store(*check_store(**store, n_stores=1).one_store_args())


_last_params = (None, None)  # (a config, its PlannerParams): callers pass the same config call after call


def config_tuple(config: PlannerConfig) -> PlannerParams:
    """The config as the parameters the kernels and the reference take (fixed types: one compiled copy).
    The last config's are kept (a config is frozen): a quote saves building them (performance only)."""
    global _last_params
    last = _last_params  # (one read: another thread may set it meanwhile)
    if last[0] is config:
        return last[1]
    params = PlannerParams(
        safety_z=float(config.safety_z), pacing_window_s=float(config.pacing_window_s),
        jit_buffer_s=float(config.jit_buffer_s), improve_max_passes=int(config.improve_max_passes),
        improve_trials_per_order=int(config.improve_trials_per_order),
        item_trials_per_item=int(config.item_trials_per_item), ils_kicks=int(config.ils_kicks),
        ils_kick_swaps=int(config.ils_kick_swaps), ils_seed=int(config.ils_seed), slot_shift_tol_s=float(config.slot_shift_tol_s),
        slot_shift_step_s=float(config.slot_shift_step_s))
    _last_params = (config, params)
    return params


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
