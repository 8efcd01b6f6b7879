"""Numba kernels of the slot planner. Private: call them through `api.py`.

Each function here mirrors the function of the same name (without the
leading underscore, or the method) in `reference.py`, which is the readable
specification; tests hold the two to identical plans. Differences are only
in representation: a store's lanes are rows of 2-D arrays instead of Python
lists, and scans are linear instead of bisecting (lanes hold few intervals).

`plan_stores` plans a list of stores; `api.plan_batch` runs it on several
threads at once (it releases the GIL), one list of stores each. Stores share
nothing: each call allocates its own lane buffers, and each store writes only
the output slots of its own items and orders, which are disjoint ranges of
the output arrays.

Why the long argument lists: the hot functions take plain arrays rather than
the `Prepared` named tuple, because every array taken out of a tuple costs
Numba an atomic reference-count update, and in the inner loops that tripled
the run time. The top-level kernels unpack the tuple once per store. The
arrays keep their `Prepared` field names throughout.

Why one long module (against the house habit of splitting files past ~400
lines): Numba's on-disk cache (`cache=True`) notices a change only in the
file of the function it compiled, not in the functions it calls from other
modules (numba/numba#1833, documented in Numba's "Cache invalidation"
notes). Split across modules, an edit to a lane helper would leave every
cached caller running the old code until someone cleared `__pycache__`; in
one module every edit recompiles everything. The sections below follow the
reference's order: one lane, store setup, one item, one order, whole store,
touch-ups, the order search, the item search, the iterated search (offline
only), margins, drivers, the quote.
"""

import math

import numpy as np
from numba import config as _numba_config
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic

from ._layout import SLOT_FULL, SLOT_KITCHEN_FULL, SLOT_OFFERED, SLOT_TOO_SOON, Prepared
from .config import FIRE_WINDOW_S, ITEM_MAX_MOVE, MAX_MOVE

INF = np.inf
EPS = 1e-6

# Compile time (docs/SCHEDULER.md, "Cold compile"): every compiled function here is compiled once per
# distinct argument types, and each copy links, optimises and generates machine code for everything it
# calls. So every function has exactly one signature: call sites pass every argument (no defaults:
# an omitted argument is a type of its own), and pass constants as these NumPy scalars (a plain 0 or
# False is a *literal* type to Numba and would compile a second copy of the callee and its callees).
# Thin single-use stages are inline="always" (no compiled copy of their own); the hot per-order
# helpers are inlined for speed. tests/core_native/test_warm_up.py checks the one signature each.
ZERO = np.int64(0)
TRUE = np.bool_(True)
FALSE = np.bool_(False)


# -- one lane ------------------------------------------------------------------
@njit(cache=True, inline="always")
def _first_ending_after(ends, lane, n, t):
    """Index of the first interval on the lane that ends after t (ends are sorted)."""
    if n == 0 or ends[lane, 0] > t:
        return 0  # the common case (placing from now on): no search
    lo, hi = 1, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if ends[lane, mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _first_starting_at_or_after(starts, lane, n, t):
    if n == 0 or starts[lane, n - 1] < t:
        return n  # the common case (a just-in-time finish past everything placed): no search
    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if starts[lane, mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _earliest_start(starts, ends, lane, n, release, prep):
    t = release
    for i in range(_first_ending_after(ends, lane, n, t), n):
        if ends[lane, i] <= t:
            continue
        if starts[lane, i] >= t + prep:
            break
        t = ends[lane, i]
    return t


@njit(cache=True, inline="always")
def _latest_start(starts, ends, lane, n, release, finish_by, prep):
    f = finish_by
    for i in range(_first_starting_at_or_after(starts, lane, n, f) - 1, -1, -1):
        if starts[lane, i] >= f:
            continue
        if ends[lane, i] <= f - prep:
            break
        f = starts[lane, i]
        if f - prep < release:
            return -INF
    t = f - prep
    if t >= release:
        return t
    return -INF


@njit(cache=True, inline="always")
def _insert(starts, ends, items, counts, lane, start, end, item):
    i = counts[lane]
    while i > 0 and starts[lane, i - 1] > start:  # keep sorted by start (after equal starts)
        starts[lane, i] = starts[lane, i - 1]
        ends[lane, i] = ends[lane, i - 1]
        items[lane, i] = items[lane, i - 1]
        i -= 1
    starts[lane, i] = start
    ends[lane, i] = end
    items[lane, i] = item
    counts[lane] += 1


@njit(cache=True, inline="always")
def _remove(starts, ends, items, counts, lane, item):
    n = counts[lane]
    j = 0
    while items[lane, j] != item:
        j += 1
    for i in range(j, n - 1):
        starts[lane, i] = starts[lane, i + 1]
        ends[lane, i] = ends[lane, i + 1]
        items[lane, i] = items[lane, i + 1]
    counts[lane] = n - 1


# -- store setup ---------------------------------------------------------------
@njit(cache=True)
def _store_shape(inst, store):
    """(lanes, intervals a lane can ever hold: its items, closures, one spare) of one store."""
    st_lo, st_hi = inst.store_station_start[store], inst.store_station_start[store + 1]
    o_lo, o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
    most_segments = 0
    for st in range(st_lo, st_hi):
        most_segments = max(most_segments, inst.station_segment_start[st + 1] - inst.station_segment_start[st])
    n_lanes = inst.station_lane_start[st_hi] - inst.station_lane_start[st_lo]
    return n_lanes, inst.order_item_start[o_hi] - inst.order_item_start[o_lo] + most_segments + 2


@njit(cache=True, inline="always")
def _build_base_lanes(st_lo, st_hi, i_lo, i_hi, station_lane_start, station_segment_start, segment_start_s,
                      segment_lanes, item_station, item_progress_lane, item_progress_remaining_s,
                      starts, ends, items, counts):
    lane_lo = station_lane_start[st_lo]
    counts[:] = 0
    for st in range(st_lo, st_hi):
        g_lo, g_hi = station_segment_start[st], station_segment_start[st + 1]
        for lane_in_station in range(station_lane_start[st + 1] - station_lane_start[st]):
            lane = station_lane_start[st] - lane_lo + lane_in_station
            closed = True
            closed_from = -INF
            for g in range(g_lo, g_hi):
                if segment_lanes[g] > lane_in_station:
                    if closed:
                        if segment_start_s[g] > 0.0:
                            _insert(starts, ends, items, counts, lane, closed_from, segment_start_s[g], -1)
                        closed = False
                elif not closed:
                    closed = True
                    closed_from = segment_start_s[g]
            if closed:
                _insert(starts, ends, items, counts, lane, closed_from, INF, -1)
    for it in range(i_lo, i_hi):
        if item_progress_lane[it] >= 0:
            lane = station_lane_start[item_station[it]] - lane_lo + item_progress_lane[it]
            _insert(starts, ends, items, counts, lane, 0.0, item_progress_remaining_s[it], it)
            i = 0
            while i + 1 < counts[lane]:  # merge with any closure it overlaps
                if starts[lane, i + 1] < ends[lane, i]:
                    ends[lane, i] = max(ends[lane, i], ends[lane, i + 1])
                    items[lane, i] = -1
                    for k in range(i + 1, counts[lane] - 1):
                        starts[lane, k] = starts[lane, k + 1]
                        ends[lane, k] = ends[lane, k + 1]
                        items[lane, k] = items[lane, k + 1]
                    counts[lane] -= 1
                else:
                    i += 1


# -- one item ------------------------------------------------------------------
@njit(cache=True, inline="always")
def _earliest_fit(item, release, lane_lo, station_lane_start, item_station, item_prep_s, starts, ends, counts):
    st = item_station[item]
    prep = item_prep_s[item]
    best_lane, best_start = -1, INF
    for lane in range(station_lane_start[st] - lane_lo, station_lane_start[st + 1] - lane_lo):
        t = _earliest_start(starts, ends, lane, counts[lane], release, prep)
        if t < best_start:
            best_lane, best_start = lane, t
            if t <= release:
                break  # no lane can start it sooner, and ties go to the lower lane
    return best_lane, best_start


@njit(cache=True, inline="always")
def _latest_fit(item, release, finish_by, lane_lo, station_lane_start, item_station, item_prep_s, starts, ends,
                counts):
    st = item_station[item]
    prep = item_prep_s[item]
    best_lane, best_start = -1, -INF
    for lane in range(station_lane_start[st] - lane_lo, station_lane_start[st + 1] - lane_lo):
        t = _latest_start(starts, ends, lane, counts[lane], release, finish_by, prep)
        if t > best_start:
            best_lane, best_start = lane, t
            if t >= finish_by - prep:
                break  # no lane can start it later, and ties go to the lower lane
    return best_lane, best_start


@njit(cache=True, inline="always")
def _commit(item, lane, start, item_prep_s, starts, ends, items, counts, out_lane, out_start, out_finish):
    finish = start + item_prep_s[item]
    _insert(starts, ends, items, counts, lane, start, finish, item)
    out_lane[item] = lane
    out_start[item] = start
    out_finish[item] = finish


@njit(cache=True, inline="always")
def _place_asap(it, lane_lo, station_lane_start, item_station, item_prep_s, item_release_s,
                starts, ends, items, counts, out_lane, out_start, out_finish):
    """reference `_place_asap`: the earliest free stretch on any lane of the item's station."""
    lane, start = _earliest_fit(it, item_release_s[it], lane_lo, station_lane_start, item_station, item_prep_s,
                                starts, ends, counts)
    if lane < 0 or start == INF:
        out_lane[it] = -1
        out_start[it] = INF
        out_finish[it] = INF
    else:
        _commit(it, lane, start, item_prep_s, starts, ends, items, counts, out_lane, out_start, out_finish)


@njit(cache=True, inline="always")
def _place_running(o, lane_lo, order_item_start, station_lane_start, item_station, item_progress_lane,
                   item_progress_remaining_s, out_lane, out_start, out_finish):
    """reference `_place_running`."""
    for it in range(order_item_start[o], order_item_start[o + 1]):
        if item_progress_lane[it] >= 0:
            out_lane[it] = station_lane_start[item_station[it]] - lane_lo + item_progress_lane[it]
            out_start[it] = 0.0
            out_finish[it] = item_progress_remaining_s[it]


@njit(cache=True, inline="always")
def _set_ready(o, handoff, order_item_start, out_finish, out_ready):
    finish = -INF
    for it in range(order_item_start[o], order_item_start[o + 1]):
        finish = max(finish, out_finish[it])
    out_ready[o] = finish + handoff


# -- one order -----------------------------------------------------------------
# Inlined (as are _schedule_from, _placed_just_in_time and _order_margin): called once per order in
# every placement, and as a call it passed ~20 arrays as ~150 scalar arguments, ~15% of a re-plan.
# Inlining more (the per-store stages) saved ~2% for 90 s more compile time, so it stops here.
@njit(cache=True, inline="always")
def _place_order(o, lane_lo, handoff, z, pacing_window, jit_buffer,
                 order_item_start, order_due_s, order_jit, station_lane_start, item_station, item_prep_s, item_var_s2,
                 item_release_s, item_progress_lane, item_progress_remaining_s,
                 starts, ends, items, counts, out_lane, out_start, out_finish, out_ready):
    i_lo, i_hi = order_item_start[o], order_item_start[o + 1]
    _place_running(o, lane_lo, order_item_start, station_lane_start, item_station, item_progress_lane,
                   item_progress_remaining_s, out_lane, out_start, out_finish)
    own_var = 0.0
    n_free = 0
    for it in range(i_lo, i_hi):
        if item_progress_lane[it] < 0:
            own_var += item_var_s2[it]
            n_free += 1

    placed = False
    if order_jit[o] and n_free > 0:
        target_finish = order_due_s[o] - handoff - z * math.sqrt(own_var) - jit_buffer
        placed = True
        for it in range(i_lo, i_hi):
            if item_progress_lane[it] >= 0:
                continue
            lane, start = _latest_fit(it, item_release_s[it], target_finish, lane_lo, station_lane_start,
                                      item_station, item_prep_s, starts, ends, counts)
            if lane < 0:
                placed = False
                for back in range(i_lo, it):
                    if item_progress_lane[back] < 0:
                        _remove(starts, ends, items, counts, out_lane[back], back)
                break
            _commit(it, lane, start, item_prep_s, starts, ends, items, counts, out_lane, out_start, out_finish)

    if not placed and n_free > 0:
        for it in range(i_lo, i_hi):
            if item_progress_lane[it] < 0:
                _place_asap(it, lane_lo, station_lane_start, item_station, item_prep_s, item_release_s,
                            starts, ends, items, counts, out_lane, out_start, out_finish)
    _set_ready(o, handoff, order_item_start, out_finish, out_ready)


# -- whole store ---------------------------------------------------------------
@njit(cache=True)
def _copy_lanes(src_starts, src_ends, src_items, src_counts, starts, ends, items, counts):
    for lane in range(len(src_counts)):
        n = src_counts[lane]
        counts[lane] = n
        for i in range(n):
            starts[lane, i] = src_starts[lane, i]
            ends[lane, i] = src_ends[lane, i]
            items[lane, i] = src_items[lane, i]


@njit(cache=True)
def _copy_lanes_before(plan_lanes, item_pos, i_lo, k, item_progress_lane, lanes):
    """The lanes of a plan as they stood after its first k orders: only its closures, running
    items and the items of those orders (item_pos[it - i_lo]: the position of the item's order in
    the plan's sequence). Placing is deterministic and adds intervals only, and a lane's intervals
    never share a start, so this is exactly the state re-placing those k orders would rebuild
    (performance only)."""
    p_starts, p_ends, p_items, p_counts = plan_lanes
    starts, ends, items, counts = lanes
    for lane in range(len(p_counts)):
        c = 0
        for i in range(p_counts[lane]):
            it = p_items[lane, i]
            if it < 0 or item_progress_lane[it] >= 0 or item_pos[it - i_lo] < k:
                starts[lane, c] = p_starts[lane, i]
                ends[lane, c] = p_ends[lane, i]
                items[lane, c] = it
                c += 1
        counts[lane] = c


@njit(cache=True, inline="always")
def _schedule_from(seq, k_first, twt, lane_lo, handoff, z, pacing_window, jit_buffer,
                   order_item_start, order_due_s, order_weight, order_jit, station_lane_start, item_station,
                   item_prep_s, item_var_s2, item_release_s, item_progress_lane, item_progress_remaining_s,
                   starts, ends, items, counts, out_lane, out_start, out_finish, out_ready, order_cap, give_up_at):
    """Place seq[k_first:] on lanes that already hold seq[:k_first] (whose tardiness is `twt`)."""
    for k in range(k_first, len(seq)):
        o = seq[k]
        _place_order(o, lane_lo, handoff, z, pacing_window, jit_buffer,
                     order_item_start, order_due_s, order_jit, station_lane_start, item_station, item_prep_s,
                     item_var_s2, item_release_s, item_progress_lane, item_progress_remaining_s,
                     starts, ends, items, counts, out_lane, out_start, out_finish, out_ready)
        if out_ready[o] > order_cap[o]:
            return INF  # later than the held plan allows (reference `schedule`)
        late = out_ready[o] - order_due_s[o]
        if late > 0.0 and late < INF:
            twt += order_weight[o] * late
            if twt >= give_up_at:
                return twt
    return twt


@njit(cache=True)
def _schedule_store(inst, seq, lane_lo, handoff, params, base, lanes, outs, k_first, twt, give_up_at):
    """reference `schedule`: from the base lanes when k_first == 0, else on top of `lanes` (whose
    orders seq[:k_first] have tardiness `twt`); stops early once the tardiness reaches give_up_at.

    `outs` = (item lane, start, finish, order ready: the plan written; order cap: the latest
    ready time each order may get, inf but while the search runs on a held plan)."""
    if k_first == 0:
        _copy_lanes(base[0], base[1], base[2], base[3], lanes[0], lanes[1], lanes[2], lanes[3])
    return _schedule_from(seq, k_first, twt, lane_lo, handoff, params.safety_z, params.pacing_window_s,
                          params.jit_buffer_s,
                          inst.order_item_start, inst.order_due_s, inst.order_weight, inst.order_jit,
                          inst.station_lane_start, inst.item_station, inst.item_prep_s, inst.item_var_s2,
                          inst.item_release_s, inst.item_progress_lane, inst.item_progress_remaining_s,
                          lanes[0], lanes[1], lanes[2], lanes[3], outs[0], outs[1], outs[2], outs[3], outs[4],
                          give_up_at)


# -- after every order is placed: fire window and pacing ---------------------------
@njit(cache=True, inline="always")
def _placed_just_in_time(inst, o, handoff, z, jit_buffer, out_finish):
    """reference `_placed_just_in_time`."""
    if not inst.order_jit[o]:
        return False
    i_lo, i_hi = inst.order_item_start[o], inst.order_item_start[o + 1]
    own_var = 0.0
    for it in range(i_lo, i_hi):
        if inst.item_progress_lane[it] < 0:
            own_var += inst.item_var_s2[it]
    target = inst.order_due_s[o] - handoff - z * math.sqrt(own_var) - jit_buffer
    for it in range(i_lo, i_hi):
        if inst.item_progress_lane[it] < 0 and not out_finish[it] <= target:
            return False
    return True


@njit(cache=True)
def _fire_early(inst, seq, handoff, params, lanes, outs):
    """reference `fire_early`."""
    order_item_start, item_station, item_prep_s = inst.order_item_start, inst.item_station, inst.item_prep_s
    item_progress_lane = inst.item_progress_lane
    out_start, out_finish, out_ready = outs[1], outs[2], outs[3]
    starts, ends, items, counts = lanes
    i_min, i_max, st_min, st_max = 1 << 62, -1, 1 << 62, -1
    any_jit = False
    for k in range(len(seq)):
        o = seq[k]
        if inst.order_jit[o]:
            any_jit = True
        i_min = min(i_min, order_item_start[o])
        i_max = max(i_max, order_item_start[o + 1])
        for it in range(order_item_start[o], order_item_start[o + 1]):
            st_min = min(st_min, item_station[it])
            st_max = max(st_max, item_station[it])
    if not any_jit or i_max <= i_min:
        return
    shortest = np.full(st_max - st_min + 1, INF)
    jit_item = np.zeros(i_max - i_min, np.bool_)
    n_jit = 0
    for k in range(len(seq)):
        o = seq[k]
        placed_jit = _placed_just_in_time(inst, o, handoff, params.safety_z, params.jit_buffer_s, out_finish)
        for it in range(order_item_start[o], order_item_start[o + 1]):
            if item_progress_lane[it] < 0:
                st = item_station[it] - st_min
                shortest[st] = min(shortest[st], item_prep_s[it])
                if placed_jit:
                    jit_item[it - i_min] = True
                    n_jit += 1
    if n_jit == 0:
        return
    for lane in range(len(counts)):
        for pos in range(1, counts[lane]):
            it = items[lane, pos]
            if it < i_min or it >= i_max or not jit_item[it - i_min]:
                continue
            gap = starts[lane, pos] - ends[lane, pos - 1]
            if not (0.0 < gap < shortest[item_station[it] - st_min]):
                continue
            new_start = max(ends[lane, pos - 1], inst.item_release_s[it], starts[lane, pos] - FIRE_WINDOW_S)
            if new_start < starts[lane, pos]:
                starts[lane, pos] = new_start
                ends[lane, pos] = new_start + item_prep_s[it]
                out_start[it] = starts[lane, pos]
                out_finish[it] = ends[lane, pos]
    for k in range(len(seq)):
        o = seq[k]
        if inst.order_jit[o]:
            finish = -INF
            for it in range(order_item_start[o], order_item_start[o + 1]):
                finish = max(finish, out_finish[it])
            out_ready[o] = finish + handoff


@njit(cache=True)
def _pace(inst, seq, handoff, params, lanes, outs):
    """reference `pace`: early items slide later on their own lane, into free time only."""
    z, window = params.safety_z, params.pacing_window_s
    order_item_start, item_progress_lane, item_prep_s = inst.order_item_start, inst.item_progress_lane, inst.item_prep_s
    out_lane, out_start, out_finish = outs[0], outs[1], outs[2]
    starts, ends, items, counts = lanes
    for k in range(len(seq)):
        o = seq[k]
        if _placed_just_in_time(inst, o, handoff, z, params.jit_buffer_s, out_finish):
            continue
        i_lo, i_hi = order_item_start[o], order_item_start[o + 1]
        order_finish = -INF
        for it in range(i_lo, i_hi):
            order_finish = max(order_finish, out_finish[it])
        if order_finish == INF:
            continue
        for it in range(i_lo, i_hi):
            if item_progress_lane[it] >= 0:
                continue
            paced_finish = order_finish - z * math.sqrt(inst.item_var_s2[it])
            if not out_finish[it] < paced_finish - window:
                continue
            lane = out_lane[it]
            n = counts[lane]
            pos = 0
            while items[lane, pos] != it:
                pos += 1
            new_finish = paced_finish
            if pos + 1 < n and starts[lane, pos + 1] < new_finish:
                new_finish = starts[lane, pos + 1]
            if new_finish > out_finish[it]:
                start = new_finish - item_prep_s[it]
                starts[lane, pos] = start
                ends[lane, pos] = new_finish
                out_start[it] = start
                out_finish[it] = new_finish


# -- the order search --------------------------------------------------------------
@njit(cache=True)
def _set_caps(seq, outs, order_due_s, cap):
    """reference `_caps`: each order of `seq` may end no later than its due time or than the plan in
    `outs` has it (`cap` True), or without limit (False)."""
    order_cap, out_ready = outs[4], outs[3]
    for k in range(len(seq)):
        o = seq[k]
        order_cap[o] = max(out_ready[o], order_due_s[o]) + EPS if cap else INF


@njit(cache=True, inline="always")
def _dispatch_if_it_keeps(inst, seq, lane_lo, handoff, params, base, lanes, outs):
    """reference `_dispatch_if_it_keeps` (inlined: its one caller is inlined at three places)."""
    n = len(seq)
    dispatch = np.empty(n, np.int64)  # owned, not borrowed: it is passed on twice per store plan only
    same = True
    for k in range(n):
        dispatch[inst.order_dispatch[seq[k]]] = seq[k]
    for k in range(n):
        if dispatch[k] != seq[k]:
            same = False
            break
    if not same:
        _schedule_store(inst, seq, lane_lo, handoff, params, base, lanes, outs, ZERO, 0.0, INF)
        _set_caps(seq, outs, inst.order_due_s, TRUE)
        if _schedule_store(inst, dispatch, lane_lo, handoff, params, base, lanes, outs, ZERO, 0.0, INF) < INF:
            seq[:] = dispatch
        _set_caps(seq, outs, inst.order_due_s, FALSE)


@njit(cache=True, inline="always")
def _plan_sequence(inst, seq, held, lane_lo, handoff, params, base, lanes, outs):
    """reference `plan_sequence`: improve, then the fire window and pacing (inlined: four calls)."""
    if held:
        _dispatch_if_it_keeps(inst, seq, lane_lo, handoff, params, base, lanes, outs)
    twt = _improve(inst, seq, held, lane_lo, handoff, params, base, lanes, outs)
    _fire_early(inst, seq, handoff, params, lanes, outs)
    _pace(inst, seq, handoff, params, lanes, outs)
    return twt


@njit(cache=True)
def _moved(seq, m, j, later, cand):
    """reference `_moved`, into `cand`."""
    n = len(seq)
    for i in range(m):
        cand[i] = seq[i]
    if later:
        for i in range(m, j):
            cand[i] = seq[i + 1]
        cand[j] = seq[m]
    else:
        cand[m] = seq[j]
        for i in range(m + 1, j + 1):
            cand[i] = seq[i - 1]
    for i in range(j + 1, n):
        cand[i] = seq[i]


@njit(cache=True)
def _order_span(seq):
    """(smallest, largest + 1) order of seq: a store's orders are one run of ids, in any sequence."""
    o_lo, o_hi = seq[0], seq[0] + 1
    for k in range(len(seq)):
        o_lo = min(o_lo, seq[k])
        o_hi = max(o_hi, seq[k] + 1)
    return o_lo, o_hi


@njit(cache=True)
def _twt_at(seq, k_lo, k_hi, twt, ready, order_due_s, order_weight):
    """twt plus the weighted tardiness of seq[k_lo:k_hi], whose ready times are ready[k_lo:k_hi],
    summed as `_schedule_from` sums it."""
    for k in range(k_lo, k_hi):
        o = seq[k]
        late = ready[k] - order_due_s[o]
        if late > 0.0 and late < INF:
            twt += order_weight[o] * late
    return twt


@njit(cache=True)
def _hold_current(inst, seq, k_lo, i_lo, lanes, outs, current, item_pos, ready):
    """The plan in `lanes`/`outs` becomes the search's current plan: its lanes, each item's order's
    position and each position's ready time (from position k_lo on; before it they are unchanged)."""
    _copy_lanes(lanes[0], lanes[1], lanes[2], lanes[3], current[0], current[1], current[2], current[3])
    for k in range(k_lo, len(seq)):
        o = seq[k]
        ready[k] = outs[3][o]
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            item_pos[it - i_lo] = k


@njit(cache=True)
def _improve(inst, seq, held, lane_lo, handoff, params, base, lanes, outs):
    """reference `_improve`. A trial that first changes position m does not
    re-place seq[:m]: it starts from the current plan's lanes as they stood after
    seq[:m] (`_copy_lanes_before`), the very state re-placing them would rebuild,
    and the prefix's tardiness is summed from the current plan's ready times;
    once the prefix alone is as tardy as the best, no later move can win."""
    best = _schedule_store(inst, seq, lane_lo, handoff, params, base, lanes, outs, ZERO, 0.0, INF)
    passes = params.improve_max_passes
    if best <= 0.0 or passes <= 0:
        return best
    n = len(seq)
    if held:
        _set_caps(seq, outs, inst.order_due_s, TRUE)
    budget = params.improve_trials_per_order * n
    o_lo, o_hi = _order_span(seq)
    i_lo = inst.order_item_start[o_lo]
    cand_own = np.empty_like(seq)
    p0, p1, p2, p3 = np.empty_like(base[0]), np.empty_like(base[1]), np.empty_like(base[2]), np.empty_like(base[3])
    item_pos_own, ready_own = np.empty(inst.order_item_start[o_hi] - i_lo, np.int64), np.empty(n)
    cand = _borrow(cand_own)  # borrowed scratch (see "borrowed arrays"); the owners live until the return
    # the item search starts from the dispatch sequence too
    dispatch_own = seq.copy() if params.item_trials_per_item > 0 else seq[:0].copy()
    dispatch = _borrow(dispatch_own)
    # the current plan (of seq): its lanes, each item's order's position, each position's ready time
    current = (_borrow(p0), _borrow(p1), _borrow(p2), _borrow(p3))
    item_pos, ready = _borrow(item_pos_own), _borrow(ready_own)
    _hold_current(inst, seq, ZERO, i_lo, lanes, outs, current, item_pos, ready)
    order_due_s, order_weight, progress = inst.order_due_s, inst.order_weight, inst.item_progress_lane
    tried = 0
    # 1. tardy orders moved earlier, largest weighted tardiness first (ties: smaller order)
    late_own, late_key_own = np.empty_like(seq), np.empty(n)
    late, late_key = _borrow(late_own), _borrow(late_key_own)
    n_late = 0
    for k in range(n):
        o = seq[k]
        lateness = ready[k] - order_due_s[o]
        if 0.0 < lateness < INF:
            key = -order_weight[o] * lateness
            i = n_late
            while i > 0 and (late_key[i - 1] > key or (late_key[i - 1] == key and late[i - 1] > o)):
                late[i] = late[i - 1]
                late_key[i] = late_key[i - 1]
                i -= 1
            late[i] = o
            late_key[i] = key
            n_late += 1
    for q in range(n_late):
        j = 0
        while seq[j] != late[q]:
            j += 1
        m_first = max(0, j - MAX_MOVE)
        prefix_twt = _twt_at(seq, ZERO, m_first, 0.0, ready, order_due_s, order_weight)
        for m in range(m_first, j):
            if tried >= budget:
                break
            _moved(seq, m, j, FALSE, cand)
            tried += 1
            if prefix_twt >= best - EPS:
                continue  # cannot win: the unchanged prefix alone is as tardy as the best
            _copy_lanes_before(current, item_pos, i_lo, m, progress, lanes)
            t = _schedule_store(inst, cand, lane_lo, handoff, params, base, lanes, outs, m, prefix_twt, best - EPS)
            if t < best - EPS:
                best = t
                seq[:] = cand
                _hold_current(inst, seq, m, i_lo, lanes, outs, current, item_pos, ready)
                break
            prefix_twt = _twt_at(seq, m, m + 1, prefix_twt, ready, order_due_s, order_weight)
        if best <= 0.0 or tried >= budget:
            break
    # 2. sweeps over every move
    for _ in range(passes):
        if best <= 0.0 or tried >= budget:
            break
        improved = False
        prefix_twt = 0.0
        for m in range(n - 1):
            for j in range(m + 1, min(n, m + MAX_MOVE + 1)):
                for later in (True, False):
                    if not later and j == m + 1:
                        continue  # by one: the same swap
                    if tried >= budget:
                        break
                    _moved(seq, m, j, later, cand)
                    tried += 1
                    if prefix_twt >= best - EPS:
                        continue  # cannot win: the unchanged prefix alone is as tardy as the best
                    _copy_lanes_before(current, item_pos, i_lo, m, progress, lanes)
                    t = _schedule_store(inst, cand, lane_lo, handoff, params, base, lanes, outs, m, prefix_twt,
                                        best - EPS)
                    if t < best - EPS:
                        best = t
                        seq[:] = cand
                        _hold_current(inst, seq, m, i_lo, lanes, outs, current, item_pos, ready)
                        improved = True
            if best <= 0.0 or tried >= budget:
                break
            # the prefix grows by seq[m] as it now stands
            if prefix_twt < best - EPS:
                prefix_twt = _twt_at(seq, m, m + 1, prefix_twt, ready, order_due_s, order_weight)
        if not improved or best <= 0.0 or tried >= budget:
            break
    if best > 0.0 and params.item_trials_per_item > 0:
        best = _improve_items(inst, seq, dispatch, best, lane_lo, handoff, params, base, lanes, outs)
    elif tried > 0:
        _schedule_store(inst, seq, lane_lo, handoff, params, base, lanes, outs, ZERO, 0.0, INF)
    _set_caps(seq, outs, inst.order_due_s, FALSE)
    _keep_alive((cand_own, p0, p1, p2, p3, late_own, late_key_own, dispatch_own, item_pos_own, ready_own))
    return best


# -- the item search ---------------------------------------------------------------
@njit(cache=True)
def _placed_whole(inst, o):
    """reference `_placed_whole`."""
    if inst.order_jit[o]:
        return True
    for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
        if inst.item_progress_lane[it] < 0:
            return False
    return True


@njit(cache=True)
def _item_list(inst, seq, tokens):
    """reference `_item_list`, into `tokens`; returns how many."""
    n = 0
    for k in range(len(seq)):
        o = seq[k]
        if _placed_whole(inst, o):
            tokens[n] = inst.order_item_start[o]
            n += 1
            continue
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            if inst.item_progress_lane[it] < 0:
                tokens[n] = it
                n += 1
    return n


@njit(cache=True)
def _schedule_items(inst, tokens, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes, outs,
                    give_up_at):
    """reference `schedule_items` (`left`: scratch, tokens not yet placed per order - o_lo)."""
    order_item_start, order_due_s, order_weight = inst.order_item_start, inst.order_due_s, inst.order_weight
    station_lane_start, item_station, item_prep_s = inst.station_lane_start, inst.item_station, inst.item_prep_s
    item_release_s, item_progress_lane = inst.item_release_s, inst.item_progress_lane
    starts, ends, items, counts = lanes
    out_lane, out_start, out_finish, out_ready, order_cap = outs
    _copy_lanes(base[0], base[1], base[2], base[3], starts, ends, items, counts)
    left[:] = 0
    for k in range(len(tokens)):
        left[order_of_item[tokens[k] - i_lo] - o_lo] += 1
    twt = 0.0
    for k in range(len(tokens)):
        it = tokens[k]
        o = order_of_item[it - i_lo]
        whole = _placed_whole(inst, o)
        if whole:
            _place_order(o, lane_lo, handoff, params.safety_z, params.pacing_window_s, params.jit_buffer_s,
                         order_item_start, order_due_s, inst.order_jit, station_lane_start, item_station, item_prep_s,
                         inst.item_var_s2, item_release_s, item_progress_lane, inst.item_progress_remaining_s,
                         starts, ends, items, counts, out_lane, out_start, out_finish, out_ready)
        else:
            _place_asap(it, lane_lo, station_lane_start, item_station, item_prep_s, item_release_s,
                        starts, ends, items, counts, out_lane, out_start, out_finish)
        left[o - o_lo] -= 1
        if left[o - o_lo] > 0:
            continue
        if not whole:
            _place_running(o, lane_lo, order_item_start, station_lane_start, item_station, item_progress_lane,
                           inst.item_progress_remaining_s, out_lane, out_start, out_finish)
            _set_ready(o, handoff, order_item_start, out_finish, out_ready)
        if out_ready[o] > order_cap[o]:
            return INF  # later than the held plan allows (reference `schedule_items`)
        late = out_ready[o] - order_due_s[o]
        if late > 0.0 and late < INF:
            twt += order_weight[o] * late
            if twt >= give_up_at:
                return twt
    return twt


@njit(cache=True)
def _improve_items(inst, seq, dispatch, best, lane_lo, handoff, params, base, lanes, outs):
    """reference `_improve_items`. Each trial re-places the whole list (no prefix copy):
    the item search runs only with a thorough config, on small offline problems."""
    o_lo, o_hi = _order_span(seq)
    i_lo, i_hi = inst.order_item_start[o_lo], inst.order_item_start[o_hi]
    own_order_of_item = np.empty(i_hi - i_lo, np.int64)
    own_left = np.empty(o_hi - o_lo, np.int64)
    own_best_tokens = np.empty(i_hi - i_lo, np.int64)
    own_tokens = np.empty(i_hi - i_lo, np.int64)
    own_cand = np.empty(i_hi - i_lo, np.int64)
    order_of_item, left = _borrow(own_order_of_item), _borrow(own_left)
    for o in range(o_lo, o_hi):
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            order_of_item[it - i_lo] = o
    n = _item_list(inst, seq, own_best_tokens)
    best_tokens, tokens, cand = _borrow(own_best_tokens[:n]), _borrow(own_tokens[:n]), _borrow(own_cand[:n])
    best = _item_search(inst, best_tokens, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base,
                        lanes, outs)
    same = True
    for k in range(len(seq)):
        if dispatch[k] != seq[k]:
            same = False
            break
    if best > 0.0 and not same:
        _item_list(inst, dispatch, tokens)
        t = _item_search(inst, tokens, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base,
                         lanes, outs)
        if t < best - EPS:
            best = t
            best_tokens[:] = tokens
    if best > 0.0 and params.ils_kicks > 0:
        best = _iterated_search(inst, best_tokens, best, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff,
                                params, base, lanes, outs)
    _schedule_items(inst, best_tokens, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes, outs,
                    INF)
    _keep_alive((own_order_of_item, own_left, own_best_tokens, own_tokens, own_cand))
    return best


@njit(cache=True)
def _item_search(inst, tokens, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes, outs):
    """reference `_item_search` (`cand`: scratch as long as `tokens`)."""
    best = _schedule_items(inst, tokens, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes,
                           outs, INF)
    n = len(tokens)
    budget = params.item_trials_per_item * n
    tried = 0
    improved = True
    while improved and best > 0.0 and tried < budget:
        improved = False
        for m in range(n - 1):
            for j in range(m + 1, min(n, m + ITEM_MAX_MOVE + 1)):
                for later in (True, False):
                    if not later and j == m + 1:
                        continue  # by one: the same swap
                    if tried >= budget:
                        break
                    _moved(tokens, m, j, later, cand)
                    tried += 1
                    t = _schedule_items(inst, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base,
                                        lanes, outs, best - EPS)
                    if t < best - EPS:
                        best = t
                        tokens[:] = cand
                        improved = True
            if best <= 0.0 or tried >= budget:
                break
    return best


# -- the iterated search (offline only) ------------------------------------------------
@njit(cache=True)
def _next_random(state):
    """reference `_next_random`."""
    return state * 48271 % 2147483647


@njit(cache=True)
def _dynasearch(inst, tokens, best, cand, gain_sum, pick, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params,
                base, lanes, outs):
    """reference `_dynasearch` (`cand`, `gain_sum`, `pick`: scratch)."""
    n = len(tokens)
    gain_sum[0] = 0.0
    top_t, top_i, top_j = INF, -1, -1
    cand[:] = tokens
    for j in range(n):
        gain_sum[j + 1] = gain_sum[j]
        pick[j + 1] = -1
        for i in range(j):
            cand[i], cand[j] = tokens[j], tokens[i]
            t = _schedule_items(inst, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes,
                                outs, best - EPS)
            cand[i], cand[j] = tokens[i], tokens[j]
            if t < best - EPS:
                if t < top_t:
                    top_t, top_i, top_j = t, i, j
                if gain_sum[i] + (best - t) > gain_sum[j + 1] + EPS:
                    gain_sum[j + 1] = gain_sum[i] + (best - t)
                    pick[j + 1] = i
    if top_i < 0:
        return best
    k = n
    while k > 0:
        i = pick[k]
        if i < 0:
            k -= 1
        else:
            cand[i], cand[k - 1] = cand[k - 1], cand[i]
            k = i
    t = _schedule_items(inst, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes, outs,
                        top_t - EPS)
    if t < top_t - EPS:
        tokens[:] = cand
        return t
    tokens[top_i], tokens[top_j] = tokens[top_j], tokens[top_i]
    return top_t


@njit(cache=True)
def _iterated_search(inst, best_tokens, best, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base,
                     lanes, outs):
    """reference `_iterated_search` with its `_descend` written in (`cand`: scratch)."""
    n = len(best_tokens)
    if n < 2:
        return best
    current, trial = best_tokens.copy(), best_tokens.copy()
    gain_sum, pick = np.empty(n + 1), np.empty(n + 1, np.int64)
    current_twt = best
    state = params.ils_seed % 2147483646 + 1
    for _ in range(params.ils_kicks):
        if best <= 0.0:
            break
        trial[:] = current
        for _ in range(params.ils_kick_swaps):
            state = _next_random(state)
            a = state % n
            state = _next_random(state)
            b = state % (n - 1)
            if b >= a:
                b += 1
            trial[a], trial[b] = trial[b], trial[a]
        t = _schedule_items(inst, trial, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes, outs,
                            INF)
        if t == INF:
            continue
        while t > 0.0:  # reference `_descend`
            d = _dynasearch(inst, trial, t, cand, gain_sum, pick, order_of_item, i_lo, o_lo, left, lane_lo, handoff,
                            params, base, lanes, outs)
            if d < t - EPS:
                t = d
                continue
            d = _item_search(inst, trial, cand, order_of_item, i_lo, o_lo, left, lane_lo, handoff, params, base, lanes,
                             outs)
            if not d < t - EPS:
                break
            t = d
        if t <= current_twt + EPS:
            current[:] = trial
            current_twt = t
            if t < best - EPS:
                best = t
                best_tokens[:] = trial
    return best


# -- safety margin -------------------------------------------------------------------
@njit(cache=True, inline="always")
def _order_margin(o, z, order_item_start, item_prep_s, item_var_s2, item_progress_lane, item_progress_remaining_s,
                  starts, ends, items, counts, out_lane, out_finish, item_station, station_lane_start):
    i_lo, i_hi = order_item_start[o], order_item_start[o + 1]
    last, last_finish = -1, -INF
    for it in range(i_lo, i_hi):
        if out_finish[it] > last_finish:
            last, last_finish = it, out_finish[it]
    if last < 0 or last_finish == INF:
        return 0.0
    lane = out_lane[last]
    n = counts[lane]
    pos = 0
    while pos < n and items[lane, pos] != last:
        pos += 1
    if pos == n:  # a running item merged into its lane's closing: it alone
        share = item_progress_remaining_s[last] / item_prep_s[last]
        return z * math.sqrt(item_var_s2[last] * share * share)
    var = 0.0
    st = item_station[last]
    pooled = float(station_lane_start[st + 1] - station_lane_start[st])  # lanes sharing the work ahead
    while True:
        it = items[lane, pos]
        w = 1.0 if i_lo <= it < i_hi else 1.0 / pooled  # another order's item: overrun spread over the lanes
        if item_progress_lane[it] >= 0:  # only what is left can still vary
            share = item_progress_remaining_s[it] / item_prep_s[it]
            var += w * item_var_s2[it] * share * share
        else:
            var += w * item_var_s2[it]
        if pos == 0 or items[lane, pos - 1] < 0 or abs(ends[lane, pos - 1] - starts[lane, pos]) > EPS:
            break
        pos -= 1
    return z * math.sqrt(var)


@njit(cache=True)
def _order_margin_store(inst, o, z, lanes, outs):
    return _order_margin(o, z, inst.order_item_start, inst.item_prep_s, inst.item_var_s2, inst.item_progress_lane,
                         inst.item_progress_remaining_s, lanes[0], lanes[1], lanes[2], lanes[3], outs[0], outs[2],
                         inst.item_station, inst.station_lane_start)


# -- drivers: lane buffers, one store, many stores ---------------------------------
@njit(cache=True)
def _new_buffers(n_lanes, cap):
    """Room for two lane states (base and working) of a store with up to this many lanes and intervals."""
    return np.empty((4, n_lanes * cap)), np.empty((2, n_lanes * cap), np.int64), np.zeros((2, max(n_lanes, 1)),
                                                                                           np.int64)


@njit(cache=True)
def _store_lanes(inst, store, buffers):
    """Views of `buffers` shaped for one store; the base gets its closures and running items."""
    n_lanes, cap = _store_shape(inst, store)
    f, i, c = buffers
    size = n_lanes * cap
    base = (f[0, :size].reshape((n_lanes, cap)), f[1, :size].reshape((n_lanes, cap)),
            i[0, :size].reshape((n_lanes, cap)), c[0, :n_lanes])
    lanes = (f[2, :size].reshape((n_lanes, cap)), f[3, :size].reshape((n_lanes, cap)),
             i[1, :size].reshape((n_lanes, cap)), c[1, :n_lanes])
    st_lo, st_hi = inst.store_station_start[store], inst.store_station_start[store + 1]
    o_lo, o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
    _build_base_lanes(st_lo, st_hi, inst.order_item_start[o_lo], inst.order_item_start[o_hi],
                      inst.station_lane_start, inst.station_segment_start, inst.segment_start_s, inst.segment_lanes,
                      inst.item_station, inst.item_progress_lane, inst.item_progress_remaining_s,
                      base[0], base[1], base[2], base[3])
    return base, lanes


@njit(cache=True)
def _store_is_held(inst, o_lo, o_hi):
    """reference `_StorePlanner.held`: some order of the store has a rank in its held plan."""
    for o in range(o_lo, o_hi):
        if not math.isnan(inst.order_held_rank[o]):
            return True
    return False


@njit(cache=True, inline="always")
def _plan_store(inst, store, params, buffers, out_lane, out_start, out_finish, out_ready, out_margin, out_position,
                order_cap):
    o_lo, o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
    if o_hi == o_lo:
        return
    lane_lo = inst.station_lane_start[inst.store_station_start[store]]
    handoff = inst.store_handoff_s[store]
    base, lanes = _store_lanes(inst, store, buffers)
    seq_own = np.arange(o_lo, o_hi)
    seq = _borrow(seq_own)  # passed to every stage: borrowed, as the instance is (see "borrowed arrays")
    outs = (out_lane, out_start, out_finish, out_ready, order_cap)
    _plan_sequence(inst, seq, _store_is_held(inst, o_lo, o_hi), lane_lo, handoff, params, base, lanes, outs)
    for k in range(len(seq)):
        out_position[seq[k]] = k
    order_item_start, item_prep_s, item_var_s2 = inst.order_item_start, inst.item_prep_s, inst.item_var_s2
    item_progress_lane, item_progress_remaining_s = inst.item_progress_lane, inst.item_progress_remaining_s
    starts, ends, items, counts = lanes
    for o in range(o_lo, o_hi):
        out_margin[o] = _order_margin(o, params.safety_z, order_item_start, item_prep_s, item_var_s2,
                                      item_progress_lane, item_progress_remaining_s, starts, ends, items, counts,
                                      out_lane, out_finish, inst.item_station, inst.station_lane_start)
    _keep_alive((seq_own,))


# -- borrowed arrays (performance only) -------------------------------------------
# Every time compiled code hands an array that owns memory to a function that is
# not inlined, or takes one out of a tuple, Numba updates the array's reference
# count with an atomic instruction; in the placement loops that was about a third
# of the run time. A *borrowed* array is the same view (data, shape, strides) with
# no owner, so those updates are no-ops. The drivers below borrow the instance,
# the outputs and the lane buffers while the owning arrays are alive in their
# caller's frame; nothing borrowed outlives the call. The entry points borrow their
# own arguments (the caller, Python or compiled, holds them for the call). Plans are
# unchanged: same data, same code.
#
# The one rule: a function that borrows an array it owns itself (a local it made) ends with
# `_keep_alive((owner, ...))` after the last use of anything borrowed from it. Numba frees a
# local array right after its last use *by name*, and `_borrow(owner)` is that last use unless
# something later names it: without `_keep_alive` the borrowed view points into freed memory
# (tests/core_native/test_borrow.py shows the garbage). `_keep_alive` emits no code; the call
# naming the owners is what keeps them alive, and Numba's dead-code pass keeps calls.
if _numba_config.DISABLE_JIT:
    def _borrow(arr):
        return arr

    def _keep_alive(owners):
        pass
else:
    @intrinsic
    def _keep_alive(typingctx, owners):
        """Keep every array in the tuple `owners` alive until this point (see above)."""
        def codegen(context, builder, sig, args):
            return context.get_dummy_value()

        return types.none(owners), codegen


    @intrinsic
    def _borrow(typingctx, arr):
        def codegen(context, builder, sig, args):
            src = context.make_array(sig.args[0])(context, builder, args[0])
            out = context.make_array(sig.return_type)(context, builder)
            for field in ("data", "shape", "strides", "itemsize", "nitems"):
                setattr(out, field, getattr(src, field))
            out.meminfo = cgutils.get_null_value(out.meminfo.type)
            out.parent = cgutils.get_null_value(out.parent.type)
            return out._getvalue()

        return arr(arr), codegen


@njit(cache=True)
def _borrowed(inst):
    """The instance with every array borrowed (see above); valid while `inst` is alive.
    Only for use inside compiled code: never return borrowed arrays to Python."""
    return Prepared(_borrow(inst.store_station_start), _borrow(inst.station_lane_start),
                    _borrow(inst.station_segment_start), _borrow(inst.segment_start_s), _borrow(inst.segment_lanes),
                    _borrow(inst.store_order_start), _borrow(inst.store_handoff_s), _borrow(inst.order_item_start),
                    _borrow(inst.order_due_s), _borrow(inst.order_weight), _borrow(inst.order_jit),
                    _borrow(inst.order_held_rank), _borrow(inst.order_dispatch),
                    _borrow(inst.item_station), _borrow(inst.item_prep_s), _borrow(inst.item_var_s2),
                    _borrow(inst.item_release_s), _borrow(inst.item_progress_lane),
                    _borrow(inst.item_progress_remaining_s))


@njit(cache=True, nogil=True)
def plan_stores(inst, stores, params, out_lane, out_start, out_finish, out_ready, out_margin, out_position,
                order_cap):
    """Plan the listed stores, with one set of lane buffers sized for the largest of them. Outputs
    must be preset (lane -1, times inf, margin 0; order_cap, the search's scratch, inf): each store
    writes only its own items' and orders' slots, so calls for disjoint lists of stores may run at
    once on several threads (nogil; `api.plan_batch`). api.plan(parallel=False) lists every store.
    The one planning entry point: the serial and the parallel re-plan are the same compiled code."""
    inst = _borrowed(inst)  # the caller holds the arrays for the call (see "borrowed arrays")
    out_lane, out_start, out_finish = _borrow(out_lane), _borrow(out_start), _borrow(out_finish)
    out_ready, out_margin, out_position = _borrow(out_ready), _borrow(out_margin), _borrow(out_position)
    order_cap = _borrow(order_cap)
    most_lanes, most_cap = np.int64(1), np.int64(1)  # not literals (see ZERO)
    for s in stores:
        n_lanes, cap = _store_shape(inst, s)
        most_lanes = max(most_lanes, n_lanes)
        most_cap = max(most_cap, cap)
    f, i, c = _new_buffers(most_lanes, most_cap)
    buffers = (_borrow(f), _borrow(i), _borrow(c))
    for s in stores:
        _plan_store(inst, s, params, buffers, out_lane, out_start, out_finish, out_ready, out_margin, out_position,
                    order_cap)
    return f.size + i.size + c.size  # a use of the owning buffers after the loop: they live until here


# -- quote ---------------------------------------------------------------------
@njit(cache=True)
def _existing_kept(n, ready, allowed):
    for o in range(n):
        if ready[o] > allowed[o] + EPS:
            return False
    return True


@njit(cache=True)
def _sequence_with_new_at(base_seq, new, k, seq):
    """seq = base_seq[:k] + [new] + base_seq[k:]."""
    n = len(base_seq)
    for i in range(k):
        seq[i] = base_seq[i]
    seq[k] = new
    for i in range(k, n):
        seq[i + 1] = base_seq[i]


@njit(cache=True)
def _dispatch_position(inst, n, due):
    """Where (due, id) order puts an order with this due and the largest id: after equal dues."""
    k = 0
    while k < n and inst.order_due_s[k] <= due:
        k += 1
    return k


@njit(cache=True)
def _due_position(due, base_seq, n, t):
    """reference quote `due_position`."""
    k = n
    while k > 0 and due[base_seq[k - 1]] > t:
        k -= 1
    return k


@njit(cache=True, inline="always")
def _held_plan(inst, seq, handoff, params, base, lanes, outs, k_first, pace):
    """reference `_held_plan`: `seq` placed in turn (from seq[k_first] on top of `lanes` when k_first
    > 0, as `_schedule_store`), then the touch-ups; no search. False, with the plan left unfinished,
    where an order passed its cap (outs[4]; a quote's trials set caps, see quote_store).
    `pace=False` leaves pacing out, for callers that read only ready times: pacing moves items
    later but never past their order's last finish, so it changes no ready time."""
    if _schedule_store(inst, seq, ZERO, handoff, params, base, lanes, outs, k_first, 0.0, INF) == INF:
        return False
    _fire_early(inst, seq, handoff, params, lanes, outs)
    if pace:
        _pace(inst, seq, handoff, params, lanes, outs)
    return True


@njit(cache=True)
def _held_plan_with_new_at(inst, k, base_seq, new, seq, handoff, params, base, lanes, outs, prefix, pace):
    """_held_plan of base_seq with the new order at position k, without re-placing base_seq[:k].

    `prefix` = (lanes, outs, item_pos) of base_seq placed once before the touch-ups (item_pos:
    each existing item's order's position in base_seq). A trial starts from that plan's lanes after
    its first k orders (`_copy_lanes_before`) and places the rest: the same plan as placing
    everything (performance only).
    False where an order passed its cap (see `_held_plan`).
    """
    p_lanes, p_outs, item_pos = prefix
    _sequence_with_new_at(base_seq, new, k, seq)
    _copy_lanes_before(p_lanes, item_pos, ZERO, k, inst.item_progress_lane, lanes)
    # The first k orders' item times and ready times, copied as whole arrays: one contiguous copy is
    # several times faster than visiting those orders' items, and the rest is overwritten by the
    # trial's placements before anything reads it (performance only).
    n_items, n_orders = len(p_outs[0]), len(p_outs[3])
    outs[0][:n_items] = p_outs[0]
    outs[1][:n_items] = p_outs[1]
    outs[2][:n_items] = p_outs[2]
    outs[3][:n_orders] = p_outs[3]
    return _held_plan(inst, seq, handoff, params, base, lanes, outs, k, pace)


@njit(cache=True, inline="always")
def _trial(inst, k, base_seq, new, seq, handoff, params, base, lanes, allowed, outs, prefix):
    if not _held_plan_with_new_at(inst, k, base_seq, new, seq, handoff, params, base, lanes, outs, prefix, TRUE):
        return False, INF, 0.0  # an existing order past what it is allowed: not kept (see quote_store)
    m = _order_margin_store(inst, new, params.safety_z, lanes, outs)
    return _existing_kept(len(base_seq), outs[3], allowed), outs[3][new] + m, m


@njit(cache=True)
def _dispatch_with_new(inst, n, new, due, seq):
    """seq = the existing orders 0..n-1 in dispatch order, with the new order at its place for `due`
    (`_sequence_with_new_at` over the identity sequence, without allocating one)."""
    k = _dispatch_position(inst, n, due)
    for i in range(k):
        seq[i] = i
    seq[k] = new
    for i in range(k, n):
        seq[i + 1] = i


@njit(cache=True)
def _booked_plan_keeps(inst, promise, new_jit, ready_by, k, held, n, new, base_seq, seq, handoff, params, base,
                       lanes, allowed, outs, prefix):
    """reference `booked_plan_keeps`."""
    due, jit = inst.order_due_s, inst.order_jit
    due[new] = promise
    jit[new] = new_jit
    if held:  # reads ready times only: no pacing (see _held_plan)
        placed = _held_plan_with_new_at(inst, k, base_seq, new, seq, handoff, params, base, lanes, outs, prefix,
                                        FALSE)
    else:
        _dispatch_with_new(inst, n, new, promise, seq)
        _plan_sequence(inst, seq, FALSE, ZERO, handoff, params, base, lanes, outs)
        placed = True
    jit[new] = False
    due[new] = INF
    return placed and _existing_kept(n, outs[3], allowed) and outs[3][new] <= ready_by + EPS


@njit(cache=True)
def _quote_base(inst, n, held, handoff, params, base, lanes, outs, base_seq, allowed):
    """Step 1 of reference.quote: plan the n existing orders (base_seq = arange(n) in, the
    improved sequence out; a held plan as it stands) and what each may not exceed. Reads
    nothing of orders >= n. Returns the prefix plan the trials start from (`_prefix_plan`); a
    held plan's is its own placement before the touch-ups (the same arrays, placed once)."""
    for o in range(n):
        base_seq[o] = o
    if held:  # _held_plan, keeping the placement before the touch-ups
        _schedule_store(inst, base_seq, ZERO, handoff, params, base, lanes, outs, ZERO, 0.0, INF)
        prefix = _prefix_from(inst, n, base_seq, lanes, outs)
        _fire_early(inst, base_seq, handoff, params, lanes, outs)
        _pace(inst, base_seq, handoff, params, lanes, outs)
    else:
        _plan_sequence(inst, base_seq, FALSE, ZERO, handoff, params, base, lanes, outs)
        prefix = _prefix_plan(inst, n, base_seq, params)
    due, out_ready = inst.order_due_s, outs[3]
    for o in range(n):
        allowed[o] = max(due[o] - _order_margin_store(inst, o, params.safety_z, lanes, outs), out_ready[o])
    return prefix


@njit(cache=True)
def quote_base_fast(inst, params, out_seq, out_allowed):
    """_quote_base of every order of a one-store instance (StoreSnapshot: existing orders only):
    the base plan does not depend on the new order, so a snapshot computes it once for all its
    quotes. Returns the prefix plan; out_seq and out_allowed take the base sequence and allowed."""
    inst = _borrowed(inst)  # the caller holds the arrays for the call (see "borrowed arrays")
    base_seq, allowed = _borrow(out_seq), _borrow(out_allowed)
    n_items, n_orders = len(inst.item_prep_s), len(inst.order_due_s)
    n = n_orders
    own_lane, own_start = np.full(n_items, -1, np.int64), np.full(n_items, INF)
    own_finish, own_ready, own_cap = np.full(n_items, INF), np.full(n_orders, INF), np.full(n_orders, INF)
    outs = (_borrow(own_lane), _borrow(own_start), _borrow(own_finish), _borrow(own_ready), _borrow(own_cap))
    n_lanes, cap = _store_shape(inst, ZERO)
    bf, bi, bc = _new_buffers(n_lanes, cap)
    base, lanes = _store_lanes(inst, ZERO, (_borrow(bf), _borrow(bi), _borrow(bc)))
    prefix = _quote_base(inst, n, _store_is_held(inst, ZERO, n), inst.store_handoff_s[0], params, base, lanes,
                         outs, base_seq, allowed)
    _keep_alive((own_lane, own_start, own_finish, own_ready, own_cap, bf, bi, bc))
    return prefix


@njit(cache=True)
def _prefix_plan(inst, n, base_seq, params):
    """The base sequence base_seq[:n] of a one-store instance placed once, before the touch-ups:
    every quote trial starts from its first k orders (`_held_plan_with_new_at`). Returns owned
    arrays (`_prefix_from`)."""
    n_items, n_orders = len(inst.item_prep_s), len(inst.order_due_s)
    n_lanes, cap = _store_shape(inst, ZERO)
    f, i, c = _new_buffers(n_lanes, cap)
    base, lanes = _store_lanes(inst, ZERO, (f, i, c))
    outs = (np.full(n_items, -1, np.int64), np.full(n_items, INF), np.full(n_items, INF), np.full(n_orders, INF),
            np.full(n_orders, INF))
    _schedule_store(inst, base_seq[:n], ZERO, inst.store_handoff_s[0], params, base, lanes, outs, ZERO, 0.0, INF)
    return _prefix_from(inst, n, base_seq, lanes, outs)


@njit(cache=True)
def _prefix_from(inst, n, base_seq, lanes, outs):
    """Owned copies of a placed plan of base_seq[:n] (lane starts, ends, items, counts; item lane,
    start, finish; order ready) and item_pos: each item's order's position in base_seq,
    n_orders for the rest."""
    n_items, n_orders = len(inst.item_prep_s), len(inst.order_due_s)
    item_pos = np.full(n_items, n_orders, np.int64)
    for q in range(n):
        for it in range(inst.order_item_start[base_seq[q]], inst.order_item_start[base_seq[q] + 1]):
            item_pos[it] = q
    return (lanes[0].copy(), lanes[1].copy(), lanes[2].copy(), lanes[3].copy(), outs[0].copy(), outs[1].copy(),
            outs[2].copy(), outs[3].copy(), item_pos)


@njit(cache=True)
def _borrowed_prefix(prefix):
    """A prefix plan (_prefix_plan) with every array borrowed: every trial passes it on."""
    return (_borrow(prefix[0]), _borrow(prefix[1]), _borrow(prefix[2]), _borrow(prefix[3]), _borrow(prefix[4]),
            _borrow(prefix[5]), _borrow(prefix[6]), _borrow(prefix[7]), _borrow(prefix[8]))


@njit(cache=True)
def quote_store(inst, params, slot_first_start_s, slot_s, slot_capacity, slot_orders, new_jit, out_status,
                out_slot_ready, out_slot_position, known, known_seq, known_allowed, known_prefix):
    """Quote the last order of a one-store instance; see reference.quote. Returns (ready, margin, keeps,
    position); out_status, out_slot_ready (each slot's promise) and out_slot_position are filled per slot.

    `known`: the base plan of the existing orders is (known_seq, known_allowed, known_prefix), from
    quote_base_fast on the same store state (a StoreSnapshot's); False: planned here (those three
    are then unread, any arrays of their types: `no_known_base()`). The same answer either way.

    Performance only, the answer is reference.quote's: the instance, outputs and lane buffers are
    borrowed (owners alive to the return); a trial is a pure function of its position and
    a confirming plan of its promise, so each is computed once per quote and remembered.
    """
    inst = _borrowed(inst)  # the caller holds the arrays for the call (see "borrowed arrays")
    slot_orders, out_status, out_slot_ready = _borrow(slot_orders), _borrow(out_status), _borrow(out_slot_ready)
    out_slot_position = _borrow(out_slot_position)
    n_items = len(inst.item_prep_s)
    n_orders = len(inst.order_due_s)
    own_lane, own_start = np.full(n_items, -1, np.int64), np.full(n_items, INF)
    own_finish, own_ready, own_cap = np.full(n_items, INF), np.full(n_orders, INF), np.full(n_orders, INF)
    outs = (_borrow(own_lane), _borrow(own_start), _borrow(own_finish), _borrow(own_ready), _borrow(own_cap))
    out_ready = outs[3]
    handoff = inst.store_handoff_s[0]
    n_lanes, cap = _store_shape(inst, ZERO)
    bf, bi, bc = _new_buffers(n_lanes, cap)
    base, lanes = _store_lanes(inst, ZERO, (_borrow(bf), _borrow(bi), _borrow(bc)))
    due, jit = inst.order_due_s, inst.order_jit
    new = n_orders - 1
    n = new
    held = _store_is_held(inst, ZERO, n)

    own_base_seq = np.arange(n)
    base_seq = _borrow(own_base_seq)
    own_allowed = np.empty(n)
    allowed = _borrow(own_allowed)
    # the base plan, and the base sequence placed once before the touch-ups (every trial starts
    # from its first k orders); or both from quote_base_fast on the same store state (the same numbers)
    if not known:
        own_pre = _quote_base(inst, n, held, handoff, params, base, lanes, outs, base_seq, allowed)
    else:
        base_seq[:] = known_seq
        allowed[:] = known_allowed
        own_pre = known_prefix
    pre = _borrowed_prefix(own_pre)  # every trial passes it on
    prefix = ((pre[0], pre[1], pre[2], pre[3]), (pre[4], pre[5], pre[6], pre[7], outs[4]), pre[8])

    own_seq = np.empty(n + 1, np.int64)
    seq = _borrow(own_seq)
    # trial(k) remembered per k (see _trial_memo)
    own_memo = np.zeros((3, n + 1))
    memo = _borrow(own_memo)
    jit[new] = False
    due[new] = INF
    first_promise = _trial_memo(inst, ZERO, base_seq, new, seq, handoff, params, base, lanes, allowed, outs, memo,
                                prefix)[1]
    if held:
        # From here on a held trial stops placing at the first existing ASAP order that ends later than
        # it is allowed (its ready time is final once placed: the fire window moves only just-in-time
        # items, and only earlier; pacing never moves an item past its order's last finish), so such a
        # trial is not kept, as the full trial would say; its promise is then never read (trial 0's is
        # read, above; trial n places only the new order, which has no cap). Performance only.
        for o in range(n):
            if not jit[o]:
                outs[4][o] = allowed[o] + EPS
    lo = 0
    while lo < n and due[base_seq[lo]] <= first_promise:
        lo += 1
    hi = n  # reference: gallop back from the end, then bisect
    stride = 1
    while hi - stride >= lo and _trial_memo(inst, hi - stride, base_seq, new, seq, handoff, params, base, lanes,
                                            allowed, outs, memo, prefix)[0]:
        hi -= stride
        stride *= 2
    lo = max(lo, hi - stride + 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if _trial_memo(inst, mid, base_seq, new, seq, handoff, params, base, lanes, allowed, outs, memo, prefix)[0]:
            hi = mid
        else:
            lo = mid + 1
    best_promise, best_margin, keeps, position = INF, 0.0, False, n
    n_confirmed = 0
    own_confirmed = np.empty((2, n + 2))
    confirmed = _borrow(own_confirmed)  # promises already confirmed (all of them failed)
    for k in range(lo, n + 1):
        kept, promise, m = _trial_memo(inst, k, base_seq, new, seq, handoff, params, base, lanes, allowed, outs,
                                       memo, prefix)
        if kept and promise < INF:
            seen = False  # from scratch the confirming plan depends on the promise alone (not on k)
            for c in range(n_confirmed if not held else 0):
                if confirmed[0, c] == promise:
                    seen = True
                    break
            if seen:
                continue  # the same confirming plan: it failed already
            # on a held plan an ASAP order's confirming plan is trial k itself (its due moves neither
            # its placement nor the touch-ups, and ready <= ready + margin): no need to make it again
            if (held and not new_jit) or _booked_plan_keeps(inst, promise, new_jit, promise, k, held, n, new,
                                                            base_seq, seq, handoff, params, base, lanes, allowed,
                                                            outs, prefix):
                best_promise, best_margin, keeps, position = promise, m, True, k
                break
            confirmed[0, n_confirmed] = promise
            n_confirmed += 1
    if not keeps:
        result = _trial_memo(inst, n, base_seq, new, seq, handoff, params, base, lanes, allowed, outs, memo, prefix)
        best_promise, best_margin = result[1], result[2]

    own_var = 0.0
    for it in range(inst.order_item_start[new], inst.order_item_start[new + 1]):
        own_var += inst.item_var_s2[it]
    own_margin = params.safety_z * math.sqrt(own_var)
    shift_tol, step = params.slot_shift_tol_s, params.slot_shift_step_s
    for j in range(len(slot_orders)):
        start = slot_first_start_s + j * slot_s
        out_slot_ready[j] = start
        out_slot_position[j] = n
        if slot_orders[j] >= slot_capacity:
            out_status[j] = SLOT_FULL
        elif start < best_promise - EPS:
            out_status[j] = SLOT_TOO_SOON
        elif not _booked_plan_keeps(inst, start, TRUE, start - own_margin, _due_position(due, base_seq, n, start), held,
                                    n, new, base_seq, seq, handoff,
                                    params, base, lanes, allowed, outs, prefix):
            out_status[j] = SLOT_KITCHEN_FULL
        else:
            out_status[j] = SLOT_OFFERED
            early = start - own_margin - params.jit_buffer_s - out_ready[new]
            if early > shift_tol:  # promise inside the window (reference.quote step 4)
                gap = start - out_ready[new]
                later = start + max(step, math.floor(early / step + 0.5) * step)
                later = min(later, start + slot_s - step)
                if later > start + EPS and _booked_plan_keeps(inst, later, TRUE, later - own_margin,
                                                              _due_position(due, base_seq, n, later), held, n, new,
                                                              base_seq, seq, handoff, params, base, lanes, allowed,
                                                              outs, prefix):
                    if later - out_ready[new] < gap - EPS:
                        out_slot_ready[j] = later
            out_slot_position[j] = _due_position(due, base_seq, n, out_slot_ready[j])
    due[new] = best_promise
    _keep_alive((own_lane, own_start, own_finish, own_ready, bf, bi, bc, own_base_seq, own_allowed, own_seq, own_memo,
                 own_confirmed, own_cap, own_pre))
    return best_promise, best_margin, keeps, position


@njit(cache=True)
def _trial_memo(inst, k, base_seq, new, seq, handoff, params, base, lanes, allowed, outs, memo, prefix):
    """_trial(k), computed once per quote: memo[:, k] = (kept, promise, margin); memo[0, k] == 0 unknown, 1 not kept, 2 kept."""
    if memo[0, k] == 0.0:
        kept, promise, m = _trial(inst, k, base_seq, new, seq, handoff, params, base, lanes, allowed, outs, prefix)
        memo[0, k] = 2.0 if kept else 1.0
        memo[1, k] = promise
        memo[2, k] = m
    return memo[0, k] == 2.0, memo[1, k], memo[2, k]


@njit(cache=True)
def _appended(a, values):
    out = np.empty(len(a) + len(values), a.dtype)
    out[:len(a)] = a
    out[len(a):] = values
    return out


@njit(cache=True, inline="always")
def _with_new_order(inst, new_due, station, prep, var, release, weight):
    """api.StoreSnapshot.instance_with in compiled code (the new order's items already longest first,
    release clamped to now): the one-store instance with the new order appended as the last order."""
    n_orders, n_items, k = len(inst.order_due_s), len(inst.item_prep_s), len(station)
    return Prepared(inst.store_station_start, inst.station_lane_start, inst.station_segment_start,
                    inst.segment_start_s, inst.segment_lanes, np.array([0, n_orders + 1], np.int64),
                    inst.store_handoff_s, _appended(inst.order_item_start, np.array([n_items + k], np.int64)),
                    _appended(inst.order_due_s, np.array([new_due])),
                    _appended(inst.order_weight, np.array([weight.max()])),
                    _appended(inst.order_jit, np.zeros(1, np.bool_)),
                    _appended(inst.order_held_rank, np.array([np.nan])),
                    _appended(inst.order_dispatch, np.array([n_orders], np.int64)),
                    _appended(inst.item_station, station), _appended(inst.item_prep_s, prep),
                    _appended(inst.item_var_s2, var), _appended(inst.item_release_s, release),
                    _appended(inst.item_progress_lane, np.full(k, -1, np.int64)),
                    _appended(inst.item_progress_remaining_s, np.zeros(k)))


@njit(cache=True)
def quote_new_known(inst, new_due, station, prep, var, release, weight, params, slot_first_start_s, slot_s,
                    slot_capacity, slot_orders, new_jit, out_status, out_slot_ready, out_slot_position, known_seq,
                    known_allowed, known_prefix):
    """quote_store on the snapshot's instance of existing orders plus the new order's items,
    appended here rather than in NumPy calls from Python (performance only; the same instance),
    with the snapshot's base plan."""
    q = _with_new_order(inst, new_due, station, prep, var, release, weight)
    result = quote_store(q, params, slot_first_start_s, slot_s, slot_capacity, slot_orders, new_jit, out_status,
                         out_slot_ready, out_slot_position, TRUE, known_seq, known_allowed, known_prefix)
    _keep_alive((q,))  # the arrays made here, borrowed by quote_store
    return result


@njit(cache=True)
def no_known_base():
    """quote_store's known_seq, known_allowed, known_prefix when `known` is False (never read):
    empty arrays of the types quote_base_fast returns, so quote_store keeps its one signature."""
    i1, f1, f2, i2 = np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0), np.int64)
    return i1, f1, (f2, f2, i2, i1, i1, f1, f1, f1, i1)


# -- the validator's value checks -----------------------------------------------------


@njit(cache=True)
def _all_finite(a):
    for x in a:
        if not np.isfinite(x):
            return False
    return True


@njit(cache=True)
def _stable_argsort(key, perm):
    """perm reordered by key[perm], stable (ties keep their order in perm): one pass of a lexsort."""
    return perm[np.argsort(key[perm], kind="mergesort")]


@njit(cache=True)
def first_bad_input(station_store, segment_station, segment_start_s, segment_lanes, item_order, item_station,
                    item_prep_s, item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
                    item_held_rank, progress_item, progress_lane, progress_remaining_s, store_handoff_s, n_stores,
                    due_below):
    """The value checks of `_validate.check_store` (its step 2; the arguments are a StoreArrays,
    its arrays of their final types and lengths, and due_below): the first check that fails, as a _validate.BAD_* number (the numbers below, in
    that order), 0 when every check passes. Only which check: _validate.bad_input_error says
    where and words it. Compiled because a quote runs it on every call (performance only)."""
    n_st, n_items, n_seg, n_prog = len(station_store), len(item_order), len(segment_station), len(progress_item)
    for x in station_store:
        if x < 0:
            return 1  # BAD_STATION_STORE_NEGATIVE
    for x in station_store:
        if x >= n_stores:
            return 2  # BAD_STATION_STORE_RANGE
    for x in segment_station:
        if x < 0 or x >= n_st:
            return 3  # BAD_SEGMENT_STATION
    for x in item_station:
        if x < 0 or x >= n_st:
            return 4  # BAD_ITEM_STATION
    if not _all_finite(segment_start_s):
        return 5  # BAD_SEGMENT_START
    for x in segment_lanes:
        if x < 0:
            return 6  # BAD_SEGMENT_LANES
    if not _all_finite(item_prep_s):
        return 7  # BAD_PREP
    for x in item_prep_s:
        if x <= 0:
            return 8  # BAD_PREP_NOT_POSITIVE
    if not _all_finite(item_prep_sd_s):
        return 9  # BAD_PREP_SD
    for x in item_prep_sd_s:
        if x < 0:
            return 10  # BAD_PREP_SD_NEGATIVE
    if not _all_finite(item_release_s):
        return 11  # BAD_RELEASE
    if not _all_finite(item_due_s):
        return 12  # BAD_DUE
    if not _all_finite(item_weight):
        return 13  # BAD_WEIGHT
    for x in item_weight:
        if x < 0:
            return 14  # BAD_WEIGHT_NEGATIVE
    for x in item_held_rank:
        if np.isinf(x):
            return 15  # BAD_HELD_RANK
    if not _all_finite(store_handoff_s):
        return 16  # BAD_HANDOFF
    for x in store_handoff_s:
        if x < 0:
            return 17  # BAD_HANDOFF_NEGATIVE
    # staffing: one station has no two segments starting at one time
    # (every sort key is float64, so one sort is compiled: station numbers are exact floats)
    seg_perm = _stable_argsort(segment_station.astype(np.float64), np.argsort(segment_start_s, kind="mergesort"))
    for g in range(1, n_seg):
        a, b = seg_perm[g - 1], seg_perm[g]
        if segment_station[a] == segment_station[b] and segment_start_s[b] <= segment_start_s[a]:
            return 18  # BAD_SEGMENT_TWICE
    if n_stores > 1:  # an order's items are at one store
        by_id = np.argsort(item_order, kind="mergesort")
        for j in range(1, n_items):
            a, b = by_id[j - 1], by_id[j]
            if item_order[a] == item_order[b] and station_store[item_station[a]] != station_store[item_station[b]]:
                return 19  # BAD_ORDER_IN_TWO_STORES
    # items already in progress: each item once, each lane once, on a lane the station has
    if not _all_finite(progress_remaining_s):
        return 20  # BAD_REMAINING
    for it in progress_item:
        if it < 0 or it >= n_items:
            return 21  # BAD_PROGRESS_ITEM
    in_progress = np.zeros(n_items, np.bool_)
    for it in progress_item:
        if in_progress[it]:
            return 22  # BAD_PROGRESS_ITEM_TWICE
        in_progress[it] = True
    for x in progress_remaining_s:
        if x <= 0:
            return 23  # BAD_REMAINING_NOT_POSITIVE
    most_lanes = np.zeros(n_st if n_prog else 0, np.int64)  # (no item in progress: nothing to check)
    for g in range(n_seg if n_prog else 0):
        most_lanes[segment_station[g]] = max(most_lanes[segment_station[g]], segment_lanes[g])
    for p in range(n_prog):
        if progress_lane[p] < 0 or progress_lane[p] >= most_lanes[item_station[progress_item[p]]]:
            return 24  # BAD_PROGRESS_LANE
    lane_start = np.zeros(len(most_lanes) + 1, np.int64)
    for st in range(len(most_lanes)):
        lane_start[st + 1] = lane_start[st] + most_lanes[st]
    lane_taken = np.zeros(lane_start[-1], np.bool_)
    for p in range(n_prog):
        lane = lane_start[item_station[progress_item[p]]] + progress_lane[p]
        if lane_taken[lane]:
            return 25  # BAD_LANE_TWICE
        lane_taken[lane] = True
    # every order's due (its items' earliest) below due_below (only an order whose items are all
    # at or after it is not: look for one only where some item is)
    if n_items == 0 or np.max(item_due_s) < due_below:
        return 0
    by_id = np.argsort(item_order, kind="mergesort")
    j = 0
    while j < n_items:
        earliest = item_due_s[by_id[j]]
        k = j + 1
        while k < n_items and item_order[by_id[k]] == item_order[by_id[j]]:
            earliest = min(earliest, item_due_s[by_id[k]])
            k += 1
        if earliest >= due_below:
            return 26  # BAD_DUE_TOO_LARGE
        j = k
    return 0


# -- the store's layout, and api.quote in one call ------------------------------------
# `_kernel_args.prepare` for one store, compiled: a quote lays out the store's open orders on
# every call, and in NumPy that is ~70 small array calls (~100 us whatever the store's size,
# more than the quote itself). `layout_one_store` builds the same `Prepared` instance
# (tests/core_native/test_store_layout.py holds the two to the same instance) from arrays
# `_validate.check_store` passed.


@njit(cache=True)
def _indices_in_range(segment_station, item_station, progress_item, n_st):
    """The station and item numbers layout_one_store writes through are in range. Checked
    already by the validator; repeated here because compiled code has no bounds checks: called
    with unchecked arrays, the layout would write outside its own arrays rather than fail."""
    for x in segment_station:
        if x < 0 or x >= n_st:
            return False
    for x in item_station:
        if x < 0 or x >= n_st:
            return False
    for x in progress_item:
        if x < 0 or x >= len(item_station):
            return False
    return True


@njit(cache=True)
def layout_one_store(segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                     item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time, item_held_rank,
                     progress_item, progress_lane, progress_remaining_s, handoff_s, n_stations):
    """`prepare(station_store=None, n_stores=1, n_stations=n_stations, ...)`'s instance, from one
    store's arrays as `_validate.check_store` returns them (StoreArrays.one_store_args): the
    values are good (only the numbers it writes through are checked again, for memory safety)."""
    n_st, n_items, n_seg, n_prog = n_stations, len(item_order), len(segment_station), len(progress_item)
    if not _indices_in_range(segment_station, item_station, progress_item, n_st):
        raise IndexError("layout_one_store: unchecked input (the caller skipped _validate.check_store)")

    # staffing segments by station, then time
    # (every sort key is float64, so one sort is compiled: station numbers and 0/1 are exact floats)
    seg_perm = _stable_argsort(segment_station.astype(np.float64), np.argsort(segment_start_s, kind="mergesort"))
    seg_st, seg_start, seg_lanes = segment_station[seg_perm], segment_start_s[seg_perm], segment_lanes[seg_perm]
    station_segment_start = np.zeros(n_st + 1, np.int64)
    most_lanes = np.zeros(n_st, np.int64)
    for g in range(n_seg):
        station_segment_start[seg_st[g] + 1] += 1
        most_lanes[seg_st[g]] = max(most_lanes[seg_st[g]], seg_lanes[g])
    station_lane_start = np.zeros(n_st + 1, np.int64)
    for st in range(n_st):
        station_segment_start[st + 1] += station_segment_start[st]
        station_lane_start[st + 1] = station_lane_start[st] + most_lanes[st]

    # orders (ascending id): due = earliest item due, weight = largest, jit = any, rank = smallest
    by_id = np.argsort(item_order)  # (equal ids get one number whatever their order)
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
    order_seq = _stable_argsort(unranked.astype(np.float64), _stable_argsort(key, np.arange(n_orders)))
    order_place = np.empty(n_orders, np.int64)
    order_place[order_seq] = np.arange(n_orders)
    dispatch_place = np.empty(n_orders, np.int64)
    dispatch_place[_stable_argsort(order_due, np.arange(n_orders))] = np.arange(n_orders)

    # items by prepared order, longest first (ties: input position)
    # (a counting sort by order, then each order's handful of items by insertion: no sort's scratch)
    item_rank_order = order_place[item_order_idx]
    order_item_start = np.zeros(n_orders + 1, np.int64)
    for i in range(n_items):
        order_item_start[item_rank_order[i] + 1] += 1
    for o in range(n_orders):
        order_item_start[o + 1] += order_item_start[o]
    item_perm = np.empty(n_items, np.int64)
    fill = order_item_start[:-1].copy()
    for i in range(n_items):
        o = item_rank_order[i]
        j = fill[o]
        fill[o] += 1
        while j > order_item_start[o] and item_prep_s[item_perm[j - 1]] < item_prep_s[i]:
            item_perm[j] = item_perm[j - 1]
            j -= 1
        item_perm[j] = i

    # items already in progress
    progress_lane_of_item = np.full(n_items, -1, np.int64)
    remaining_of_item = np.zeros(n_items)
    for p in range(n_prog):
        progress_lane_of_item[progress_item[p]] = progress_lane[p]
        remaining_of_item[progress_item[p]] = progress_remaining_s[p]

    return Prepared(
        np.array([0, n_st], np.int64), station_lane_start, station_segment_start, seg_start, seg_lanes,
        np.array([0, n_orders], np.int64), np.array([handoff_s]), order_item_start,
        order_due[order_seq], order_weight[order_seq], order_jit[order_seq], order_rank[order_seq],
        dispatch_place[order_seq],
        item_station[item_perm], item_prep_s[item_perm], (item_prep_sd_s * item_prep_sd_s)[item_perm],
        np.maximum(item_release_s, 0.0)[item_perm], progress_lane_of_item[item_perm],
        remaining_of_item[item_perm])


@njit(cache=True)
def quote_arrays(segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s, item_due_s,
                 item_prep_sd_s, item_release_s, item_weight, item_just_in_time, item_held_rank, progress_item,
                 progress_lane, progress_remaining_s, handoff_s, n_stations, new_due, station, prep, var, release,
                 weight, params, slot_first_start_s, slot_s, slot_capacity, slot_orders, new_jit, out_status,
                 out_slot_ready, out_slot_position, out_slot_held_rank):
    """api.quote's route for store arrays, in one compiled call: the store laid out
    (layout_one_store, from arrays _validate.check_store passed), the new order appended
    (_with_new_order), quote_store: the snapshot route's instance and kernel, so its answer,
    without a Python round trip between them (performance only). Returns (ready, margin, keeps,
    held rank; slot held ranks into out_slot_held_rank: `held_ranks`)."""
    inst = layout_one_store(segment_station, segment_start_s, segment_lanes, item_order, item_station, item_prep_s,
                            item_due_s, item_prep_sd_s, item_release_s, item_weight, item_just_in_time,
                            item_held_rank, progress_item, progress_lane, progress_remaining_s, handoff_s,
                            n_stations)
    q = _with_new_order(inst, new_due, station, prep, var, release, weight)
    known_seq, known_allowed, known_prefix = no_known_base()
    ready, margin, keeps, position = quote_store(q, params, slot_first_start_s, slot_s, slot_capacity, slot_orders,
                                                 new_jit, out_status, out_slot_ready, out_slot_position, FALSE,
                                                 known_seq, known_allowed, known_prefix)
    _keep_alive((q,))  # the arrays made here, borrowed by quote_store
    return ready, margin, keeps, held_ranks(inst.order_held_rank, position, out_slot_position, out_slot_held_rank)


@njit(cache=True)
def held_ranks(order_held_rank, position, slot_position, out_slot_held_rank):
    """The item_held_rank that books a new order at `position` of a held plan's sequence (between
    the orders there; api.QuoteResult.held_rank), and the same per slot into out_slot_held_rank.
    The ranked orders come first in a prepared store (_layout): the rank before the first, between
    two neighbours, after the last; positions among the unranked (which go last) take the place
    right after the ranked ones. NaN for a store without a held plan."""
    n_ranked = 0
    while n_ranked < len(order_held_rank) and not math.isnan(order_held_rank[n_ranked]):
        n_ranked += 1
    for j in range(len(slot_position)):
        out_slot_held_rank[j] = _rank_at(order_held_rank, n_ranked, slot_position[j])
    return _rank_at(order_held_rank, n_ranked, position)


@njit(cache=True)
def _rank_at(order_held_rank, n_ranked, position):
    if n_ranked == 0:
        return np.nan
    if position <= 0:
        return order_held_rank[0] - 1.0
    if position >= n_ranked:
        return order_held_rank[n_ranked - 1] + 1.0
    return (order_held_rank[position - 1] + order_held_rank[position]) / 2.0
