"""`_kernel_args.prepare` for one store, compiled: the quote's fast path.

A quote validates and lays out the store's open orders on every call (`api.quote`). In NumPy
that is ~70 small array calls, ~100 us whatever the store's size, more than the quote
itself. `layout_one_store` does the same checks and builds the same `Prepared` instance in
one compiled call. It only says *whether* the input is good: on any failed check it returns
None and the caller runs `prepare`, which raises the error with its message, so every
message has one home (`prepare`) and the compiled code the happy path only.
`tests/core_native/test_store_layout.py` holds the two to the same instance and the same
verdict on random good and bad input.

Self-contained on purpose (no calls into `_kernels`): Numba's cache notices edits only in
the file of the function it compiled (see `_kernels`' docstring).
"""

import numpy as np
from numba import njit

from ._layout import Prepared


@njit(cache=True)
def _stable_argsort(key, perm):
    """perm reordered by key[perm], stable (ties keep their order in perm): one pass of a lexsort."""
    return perm[np.argsort(key[perm], kind="mergesort")]


@njit(cache=True)
def _all_finite(a):
    for x in a:
        if not np.isfinite(x):
            return False
    return True


@njit(cache=True)
def layout_one_store(segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                     item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time, item_held_rank,
                     progress_item, progress_lane, progress_remaining_s, handoff_s, n_stations):
    """`prepare(station_store=None, n_stores=1, n_stations=n_stations, ...)`'s instance, or None
    where `prepare` would raise. Arrays are 1-D of their final dtypes and lengths (the caller
    checks that); the values are checked here."""
    n_st, n_items, n_seg, n_prog = n_stations, len(item_order), len(segment_station), len(progress_item)
    # value checks, in prepare's order of concerns (prepare says which and where)
    for x in segment_station:
        if x < 0 or x >= n_st:
            return None
    for x in item_station:
        if x < 0 or x >= n_st:
            return None
    for x in segment_lanes:
        if x < 0:
            return None
    if not (_all_finite(segment_start_s) and _all_finite(item_prep_s) and _all_finite(item_prep_sd_s)
            and _all_finite(item_release_s) and _all_finite(item_due_s) and _all_finite(item_weight)
            and _all_finite(progress_remaining_s)):
        return None
    for i in range(n_items):
        if item_prep_s[i] <= 0 or item_prep_sd_s[i] < 0 or item_weight[i] < 0 or np.isinf(item_held_rank[i]):
            return None
    if not np.isfinite(handoff_s) or handoff_s < 0:
        return None

    # staffing segments by station, then time (one station has no two segments at one time)
    seg_perm = _stable_argsort(segment_station, np.argsort(segment_start_s, kind="mergesort"))
    seg_st, seg_start, seg_lanes = segment_station[seg_perm], segment_start_s[seg_perm], segment_lanes[seg_perm]
    station_segment_start = np.zeros(n_st + 1, np.int64)
    most_lanes = np.zeros(n_st, np.int64)
    for g in range(n_seg):
        if g and seg_st[g] == seg_st[g - 1] and seg_start[g] <= seg_start[g - 1]:
            return None
        station_segment_start[seg_st[g] + 1] += 1
        most_lanes[seg_st[g]] = max(most_lanes[seg_st[g]], seg_lanes[g])
    station_lane_start = np.zeros(n_st + 1, np.int64)
    for st in range(n_st):
        station_segment_start[st + 1] += station_segment_start[st]
        station_lane_start[st + 1] = station_lane_start[st] + most_lanes[st]

    # orders (ascending id): due = earliest item due, weight = largest, jit = any, rank = smallest
    by_id = np.argsort(item_order, kind="mergesort")
    item_order_idx = np.empty(n_items, np.int64)
    n_orders = 0
    for j in range(n_items):
        if j == 0 or item_order[by_id[j]] != item_order[by_id[j - 1]]:
            n_orders += 1
        item_order_idx[by_id[j]] = n_orders - 1
    order_id = np.empty(n_orders, np.int64)
    order_due, order_weight = np.full(n_orders, np.inf), np.full(n_orders, -np.inf)
    order_jit, order_rank = np.zeros(n_orders, np.bool_), np.full(n_orders, np.nan)
    for i in range(n_items):
        o = item_order_idx[i]
        order_id[o] = item_order[i]
        order_due[o] = min(order_due[o], item_due_s[i])
        order_weight[o] = max(order_weight[o], item_weight[i])
        order_jit[o] = order_jit[o] or item_just_in_time[i]
        if not np.isnan(item_held_rank[i]) and not item_held_rank[i] >= order_rank[o]:  # fmin: NaN loses
            order_rank[o] = item_held_rank[i]

    # the plan sequence: ranked orders by (rank, id), then the unranked by (due, id) (see _layout)
    unranked = np.isnan(order_rank)
    key = np.where(unranked, order_due, order_rank)
    order_seq = _stable_argsort(unranked.astype(np.int64), _stable_argsort(key, np.arange(n_orders)))
    order_place = np.empty(n_orders, np.int64)
    order_place[order_seq] = np.arange(n_orders)
    dispatch_place = np.empty(n_orders, np.int64)
    dispatch_place[_stable_argsort(order_due, np.arange(n_orders))] = np.arange(n_orders)

    # items by prepared order, longest first (ties: input position)
    item_rank_order = order_place[item_order_idx]
    item_perm = _stable_argsort(item_rank_order, np.argsort(-item_prep_s, kind="mergesort"))
    order_item_start = np.zeros(n_orders + 1, np.int64)
    for i in range(n_items):
        order_item_start[item_rank_order[i] + 1] += 1
    for o in range(n_orders):
        order_item_start[o + 1] += order_item_start[o]

    # items already in progress: each item once, each lane once, on a lane the station has
    progress_lane_of_item = np.full(n_items, -1, np.int64)
    remaining_of_item = np.zeros(n_items)
    lane_taken = np.zeros(station_lane_start[n_st], np.bool_)
    for p in range(n_prog):
        it, lane = progress_item[p], progress_lane[p]
        if it < 0 or it >= n_items or progress_lane_of_item[it] >= 0 or progress_remaining_s[p] <= 0:
            return None
        st = item_station[it]
        if lane < 0 or lane >= most_lanes[st] or lane_taken[station_lane_start[st] + lane]:
            return None
        lane_taken[station_lane_start[st] + lane] = True
        progress_lane_of_item[it] = lane
        remaining_of_item[it] = progress_remaining_s[p]

    return Prepared(
        np.array([0, n_st], np.int64), station_lane_start, station_segment_start, seg_start, seg_lanes,
        np.array([0, n_orders], np.int64), np.array([handoff_s]), order_item_start,
        order_due[order_seq], order_weight[order_seq], order_jit[order_seq], order_rank[order_seq],
        dispatch_place[order_seq],
        item_station[item_perm], item_prep_s[item_perm], (item_prep_sd_s * item_prep_sd_s)[item_perm],
        np.maximum(item_release_s, 0.0)[item_perm], progress_lane_of_item[item_perm],
        remaining_of_item[item_perm])
