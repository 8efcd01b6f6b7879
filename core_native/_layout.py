"""The prepared instance: the flat arrays that both the reference planner and
the Numba kernels read. `_kernel_args.prepare` builds it from the caller's
arrays; nothing else should construct one by hand.

Everything is grouped by store so one store's data is one contiguous range:

    stores   s : stations store_station_start[s] .. store_station_start[s+1]
                 orders   store_order_start[s]   .. store_order_start[s+1]
    stations st: lanes    station_lane_start[st] .. station_lane_start[st+1]
                 segments station_segment_start[st] .. [st+1]
                 (lane count from segment_start_s[g] on is segment_lanes[g])
    orders   o : items    order_item_start[o] .. order_item_start[o+1]

Inside a store, orders are in the store's plan sequence: by (due, order id),
the dispatch sequence, for a store planned from scratch; for a store with a
held plan (some order has a finite `order_held_rank`), the ranked orders by
(rank, order id), then the unranked ones by (due, order id).
Inside an order, items are sorted by (longest prep first, input position).
Times are float64 seconds from "now" (the start of the plan); ids int64.
"""

from typing import NamedTuple

import numpy as np


class PlanError(ValueError):
    """Bad input to the planner: the message says what and where."""


class Prepared(NamedTuple):
    store_station_start: np.ndarray  # int64[n_stores + 1]
    station_lane_start: np.ndarray  # int64[n_stations + 1]; lanes = most ever staffed
    station_segment_start: np.ndarray  # int64[n_stations + 1]
    segment_start_s: np.ndarray  # float64[n_segments], increasing per station
    segment_lanes: np.ndarray  # int64[n_segments]
    store_order_start: np.ndarray  # int64[n_stores + 1]
    store_handoff_s: np.ndarray  # float64[n_stores]
    order_item_start: np.ndarray  # int64[n_orders + 1]
    order_due_s: np.ndarray  # float64[n_orders]: promised ready time
    order_weight: np.ndarray  # float64[n_orders]: largest item weight
    order_jit: np.ndarray  # bool[n_orders]: make just in time for the due time
    order_held_rank: np.ndarray  # float64[n_orders]: position in the store's held plan, NaN: not in it
    order_dispatch: np.ndarray  # int64[n_orders]: place in the store's dispatch sequence (due, id), 0 first
    item_station: np.ndarray  # int64[n_items]: prepared station index
    item_prep_s: np.ndarray  # float64[n_items]: mean prep seconds, > 0
    item_var_s2: np.ndarray  # float64[n_items]: prep variance (sd squared)
    item_release_s: np.ndarray  # float64[n_items]: not before, already >= 0
    item_progress_lane: np.ndarray  # int64[n_items]: lane in its station, -1 if not started
    item_progress_remaining_s: np.ndarray  # float64[n_items]: seconds left if started


class PlannerParams(NamedTuple):
    """PlannerConfig's values as the kernels and the reference take them (`_kernel_args.config_tuple`):
    a named tuple, which Numba compiles as a plain argument; fields are read by name, never by position.
    What each means: config.PlannerConfig."""
    safety_z: float
    pacing_window_s: float
    jit_buffer_s: float
    improve_max_passes: int
    improve_trials_per_order: int
    item_trials_per_item: int
    ils_kicks: int
    ils_kick_swaps: int
    ils_seed: int
    slot_shift_tol_s: float
    slot_shift_step_s: float


# Status of a pickup slot in a quote.
SLOT_OFFERED = 0
SLOT_FULL = 1  # the slot already holds slot_capacity orders
SLOT_KITCHEN_FULL = 2  # stations have no room to make the order by then
SLOT_TOO_SOON = 3  # earlier than the order's earliest possible ready time
SLOT_STATUS_NAMES = ("offered", "full", "kitchen_full", "too_soon")
