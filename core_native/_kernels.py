"""Numba kernels of the slot planner. Private: call them through `api.py`.

Each function here mirrors the function of the same name (without the
leading underscore, or the method) in `reference.py`, which is the readable
specification; tests hold the two to identical plans. Differences are only
in representation: a store's lanes are rows of 2-D arrays instead of Python
lists, and scans are linear instead of bisecting (lanes hold few intervals).

`plan_batch` runs stores in parallel with `prange`. Stores share nothing:
each allocates its own lane buffers inside the loop body (so per thread),
and each writes only the output slots of its own items and orders, which
are disjoint ranges of the output arrays.
"""

import math

import numpy as np
from numba import njit, prange

from ._layout import SLOT_FULL, SLOT_KITCHEN_FULL, SLOT_OFFERED, SLOT_TOO_SOON

INF = np.inf
EPS = 1e-6


# -- one lane ------------------------------------------------------------------
@njit(cache=True)
def _earliest_start(starts, ends, lane, n, release, prep):
    t = release
    for i in range(n):
        if ends[lane, i] <= t:
            continue
        if starts[lane, i] >= t + prep:
            break
        t = ends[lane, i]
    return t


@njit(cache=True)
def _latest_start(starts, ends, lane, n, release, finish_by, prep):
    f = finish_by
    for i in range(n - 1, -1, -1):
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


@njit(cache=True)
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


@njit(cache=True)
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
def _lane_capacity(inst, store):
    """Intervals a lane of this store can ever hold: its items, closures, one spare."""
    st_lo, st_hi = inst.store_station_start[store], inst.store_station_start[store + 1]
    o_lo, o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
    most_segments = 0
    for st in range(st_lo, st_hi):
        most_segments = max(most_segments, inst.station_segment_start[st + 1] - inst.station_segment_start[st])
    return inst.order_item_start[o_hi] - inst.order_item_start[o_lo] + most_segments + 2


@njit(cache=True)
def _build_base_lanes(inst, store, starts, ends, items, counts):
    st_lo, st_hi = inst.store_station_start[store], inst.store_station_start[store + 1]
    lane_lo = inst.station_lane_start[st_lo]
    counts[:] = 0
    for st in range(st_lo, st_hi):
        g_lo, g_hi = inst.station_segment_start[st], inst.station_segment_start[st + 1]
        for lane_in_station in range(inst.station_lane_start[st + 1] - inst.station_lane_start[st]):
            lane = inst.station_lane_start[st] - lane_lo + lane_in_station
            closed = True
            closed_from = -INF
            for g in range(g_lo, g_hi):
                if inst.segment_lanes[g] > lane_in_station:
                    if closed:
                        if inst.segment_start_s[g] > 0.0:
                            _insert(starts, ends, items, counts, lane, closed_from, inst.segment_start_s[g], -1)
                        closed = False
                elif not closed:
                    closed = True
                    closed_from = inst.segment_start_s[g]
            if closed:
                _insert(starts, ends, items, counts, lane, closed_from, INF, -1)
    o_lo, o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
    for it in range(inst.order_item_start[o_lo], inst.order_item_start[o_hi]):
        if inst.item_progress_lane[it] >= 0:
            lane = inst.station_lane_start[inst.item_station[it]] - lane_lo + inst.item_progress_lane[it]
            _insert(starts, ends, items, counts, lane, 0.0, inst.item_progress_remaining_s[it], it)
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
@njit(cache=True)
def _earliest_fit(inst, item, release, lane_lo, starts, ends, counts):
    st = inst.item_station[item]
    prep = inst.item_prep_s[item]
    best_lane, best_start = -1, INF
    for lane in range(inst.station_lane_start[st] - lane_lo, inst.station_lane_start[st + 1] - lane_lo):
        t = _earliest_start(starts, ends, lane, counts[lane], release, prep)
        if t < best_start:
            best_lane, best_start = lane, t
    return best_lane, best_start


@njit(cache=True)
def _latest_fit(inst, item, release, finish_by, lane_lo, starts, ends, counts):
    st = inst.item_station[item]
    prep = inst.item_prep_s[item]
    best_lane, best_start = -1, -INF
    for lane in range(inst.station_lane_start[st] - lane_lo, inst.station_lane_start[st + 1] - lane_lo):
        t = _latest_start(starts, ends, lane, counts[lane], release, finish_by, prep)
        if t > best_start:
            best_lane, best_start = lane, t
    return best_lane, best_start


@njit(cache=True)
def _commit(inst, item, lane, start, lanes, out_lane, out_start, out_finish):
    starts, ends, items, counts = lanes
    finish = start + inst.item_prep_s[item]
    _insert(starts, ends, items, counts, lane, start, finish, item)
    out_lane[item] = lane
    out_start[item] = start
    out_finish[item] = finish


# -- one order -----------------------------------------------------------------
@njit(cache=True)
def _place_order(inst, o, lane_lo, handoff, z, pacing_window, jit_buffer, lanes, out_lane, out_start,
                 out_finish, out_ready):
    starts, ends, items, counts = lanes
    i_lo, i_hi = inst.order_item_start[o], inst.order_item_start[o + 1]
    running_finish = -INF
    own_var = 0.0
    n_free = 0
    for it in range(i_lo, i_hi):
        if inst.item_progress_lane[it] >= 0:
            out_lane[it] = inst.station_lane_start[inst.item_station[it]] - lane_lo + inst.item_progress_lane[it]
            out_start[it] = 0.0
            out_finish[it] = inst.item_progress_remaining_s[it]
            running_finish = max(running_finish, inst.item_progress_remaining_s[it])
        else:
            own_var += inst.item_var_s2[it]
            n_free += 1

    placed = False
    if inst.order_jit[o] and n_free > 0:
        target_finish = inst.order_due_s[o] - handoff - z * math.sqrt(own_var) - jit_buffer
        placed = True
        for it in range(i_lo, i_hi):
            if inst.item_progress_lane[it] >= 0:
                continue
            lane, start = _latest_fit(inst, it, inst.item_release_s[it], target_finish, lane_lo, starts, ends, counts)
            if lane < 0:
                placed = False
                for back in range(i_lo, it):
                    if inst.item_progress_lane[back] < 0:
                        _remove(starts, ends, items, counts, out_lane[back], back)
                break
            _commit(inst, it, lane, start, lanes, out_lane, out_start, out_finish)

    if not placed and n_free > 0:
        for it in range(i_lo, i_hi):
            if inst.item_progress_lane[it] >= 0:
                continue
            lane, start = _earliest_fit(inst, it, inst.item_release_s[it], lane_lo, starts, ends, counts)
            if lane < 0 or start == INF:
                out_lane[it] = -1
                out_start[it] = INF
                out_finish[it] = INF
            else:
                _commit(inst, it, lane, start, lanes, out_lane, out_start, out_finish)
        order_finish = running_finish
        for it in range(i_lo, i_hi):
            order_finish = max(order_finish, out_finish[it])
        if order_finish < INF:
            for it in range(i_lo, i_hi):
                if inst.item_progress_lane[it] >= 0:
                    continue
                if out_finish[it] < order_finish - pacing_window:
                    old_start = out_start[it]
                    _remove(starts, ends, items, counts, out_lane[it], it)
                    lane, start = _latest_fit(inst, it, old_start, order_finish, lane_lo, starts, ends, counts)
                    _commit(inst, it, lane, start, lanes, out_lane, out_start, out_finish)

    finish = -INF
    for it in range(i_lo, i_hi):
        finish = max(finish, out_finish[it])
    out_ready[o] = finish + handoff


# -- whole store ---------------------------------------------------------------
@njit(cache=True)
def _schedule(inst, seq, lane_lo, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready):
    z, pacing_window, jit_buffer, _ = params
    b_starts, b_ends, b_items, b_counts = base
    starts, ends, items, counts = lanes
    for lane in range(len(b_counts)):
        n = b_counts[lane]
        counts[lane] = n
        for i in range(n):
            starts[lane, i] = b_starts[lane, i]
            ends[lane, i] = b_ends[lane, i]
            items[lane, i] = b_items[lane, i]
    twt = 0.0
    for k in range(len(seq)):
        o = seq[k]
        _place_order(inst, o, lane_lo, handoff, z, pacing_window, jit_buffer, lanes, out_lane, out_start,
                     out_finish, out_ready)
        late = out_ready[o] - inst.order_due_s[o]
        if late > 0.0 and late < INF:
            twt += inst.order_weight[o] * late
    return twt


@njit(cache=True)
def _plan_sequence(inst, seq, lane_lo, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready):
    twt = _schedule(inst, seq, lane_lo, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
    passes = params[3]
    if twt <= 0.0 or passes <= 0:
        return twt
    best = twt
    changed = False
    for _ in range(passes):
        improved = False
        for i in range(len(seq) - 1):
            a = seq[i]
            seq[i] = seq[i + 1]
            seq[i + 1] = a
            t = _schedule(inst, seq, lane_lo, handoff, params, base, lanes, out_lane, out_start, out_finish,
                          out_ready)
            if t < best - EPS:
                best = t
                improved = True
                changed = True
                if best <= 0.0:
                    break
            else:
                seq[i + 1] = seq[i]
                seq[i] = a
        if not improved or best <= 0.0:
            break
    if changed:
        _schedule(inst, seq, lane_lo, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
    return best


@njit(cache=True)
def _order_margin(inst, o, z, lanes, out_lane, out_finish):
    starts, ends, items, counts = lanes
    i_lo, i_hi = inst.order_item_start[o], inst.order_item_start[o + 1]
    last, last_finish = -1, -INF
    for it in range(i_lo, i_hi):
        if out_finish[it] > last_finish:
            last, last_finish = it, out_finish[it]
    if last < 0 or last_finish == INF:
        return 0.0
    lane = out_lane[last]
    pos = 0
    while items[lane, pos] != last:
        pos += 1
    var = 0.0
    while True:
        it = items[lane, pos]
        if inst.item_progress_lane[it] >= 0:
            share = inst.item_progress_remaining_s[it] / inst.item_prep_s[it]
            var += inst.item_var_s2[it] * share * share
        else:
            var += inst.item_var_s2[it]
        if pos == 0 or items[lane, pos - 1] < 0 or abs(ends[lane, pos - 1] - starts[lane, pos]) > EPS:
            break
        pos -= 1
    return z * math.sqrt(var)


@njit(cache=True)
def _store_buffers(inst, store):
    """Lane buffers of one store: the base (closures, running items) and a working copy."""
    st_lo, st_hi = inst.store_station_start[store], inst.store_station_start[store + 1]
    n_lanes = inst.station_lane_start[st_hi] - inst.station_lane_start[st_lo]
    cap = _lane_capacity(inst, store)
    base = (np.empty((n_lanes, cap)), np.empty((n_lanes, cap)), np.empty((n_lanes, cap), np.int64),
            np.zeros(n_lanes, np.int64))
    lanes = (np.empty((n_lanes, cap)), np.empty((n_lanes, cap)), np.empty((n_lanes, cap), np.int64),
             np.zeros(n_lanes, np.int64))
    _build_base_lanes(inst, store, base[0], base[1], base[2], base[3])
    return base, lanes


@njit(cache=True)
def _plan_store(inst, store, params, out_lane, out_start, out_finish, out_ready, out_margin):
    o_lo, o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
    if o_hi == o_lo:
        return
    lane_lo = inst.station_lane_start[inst.store_station_start[store]]
    handoff = inst.store_handoff_s[store]
    base, lanes = _store_buffers(inst, store)
    seq = np.arange(o_lo, o_hi)
    _plan_sequence(inst, seq, lane_lo, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
    for k in range(len(seq)):
        o = seq[k]
        out_margin[o] = _order_margin(inst, o, params[0], lanes, out_lane, out_finish)


@njit(cache=True, parallel=True)
def plan_batch(inst, params, out_lane, out_start, out_finish, out_ready, out_margin):
    """Plan every store, stores in parallel. Outputs must be preset (lane -1, times inf, margin 0)."""
    n_stores = len(inst.store_order_start) - 1
    for store in prange(n_stores):
        _plan_store(inst, store, params, out_lane, out_start, out_finish, out_ready, out_margin)


# -- quote ---------------------------------------------------------------------
@njit(cache=True)
def _existing_kept(n, ready, allowed):
    for o in range(n):
        if ready[o] > allowed[o] + EPS:
            return False
    return True


@njit(cache=True)
def _sequence_with_new_at(n, new, k, seq):
    """seq = existing[:k] + [new] + existing[k:], existing being orders 0..n-1."""
    for i in range(k):
        seq[i] = i
    seq[k] = new
    for i in range(k, n):
        seq[i + 1] = i


@njit(cache=True)
def _dispatch_position(inst, n, due):
    """Where (due, id) order puts an order with this due and the largest id: after equal dues."""
    k = 0
    while k < n and inst.order_due_s[k] <= due:
        k += 1
    return k


@njit(cache=True)
def _trial(inst, k, n, new, seq, handoff, params, base, lanes, allowed, out_lane, out_start, out_finish, out_ready):
    _sequence_with_new_at(n, new, k, seq)
    _schedule(inst, seq, 0, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
    r = out_ready[new]
    m = _order_margin(inst, new, params[0], lanes, out_lane, out_finish)
    promise = r + m
    if k > 0:
        promise = max(promise, inst.order_due_s[k - 1])
    consistent = k == n or promise < inst.order_due_s[k]
    ok = _existing_kept(n, out_ready, allowed) and consistent and r < INF
    return ok, promise, m


@njit(cache=True)
def quote_store(inst, params, slot_first_start_s, slot_s, slot_capacity, slot_orders, out_status):
    """Quote the last order of a one-store instance; see reference.quote. Returns (ready, margin, keeps)."""
    n_items = len(inst.item_prep_s)
    n_orders = len(inst.order_due_s)
    out_lane = np.full(n_items, -1, np.int64)
    out_start = np.full(n_items, INF)
    out_finish = np.full(n_items, INF)
    out_ready = np.full(n_orders, INF)
    handoff = inst.store_handoff_s[0]
    base, lanes = _store_buffers(inst, 0)
    due, jit = inst.order_due_s, inst.order_jit
    new = n_orders - 1
    n = new

    base_seq = np.arange(n)
    _plan_sequence(inst, base_seq, 0, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
    allowed = np.empty(n)
    for o in range(n):
        allowed[o] = max(due[o] - _order_margin(inst, o, params[0], lanes, out_lane, out_finish), out_ready[o])

    seq = np.empty(n + 1, np.int64)
    jit[new] = False
    due[new] = INF
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        ok, promise, m = _trial(inst, mid, n, new, seq, handoff, params, base, lanes, allowed, out_lane, out_start,
                                out_finish, out_ready)
        if ok:
            hi = mid
        else:
            lo = mid + 1
    best_promise, best_margin, keeps = INF, 0.0, False
    for k in range(lo, n + 1):
        due[new] = INF
        ok, promise, m = _trial(inst, k, n, new, seq, handoff, params, base, lanes, allowed, out_lane, out_start,
                                out_finish, out_ready)
        if ok:
            due[new] = promise
            _sequence_with_new_at(n, new, _dispatch_position(inst, n, promise), seq)
            _plan_sequence(inst, seq, 0, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
            if _existing_kept(n, out_ready, allowed) and out_ready[new] <= promise + EPS:
                best_promise, best_margin, keeps = promise, m, True
                break
    if not keeps:
        due[new] = INF
        ok, best_promise, best_margin = _trial(inst, n, n, new, seq, handoff, params, base, lanes, allowed, out_lane,
                                               out_start, out_finish, out_ready)

    own_var = 0.0
    for it in range(inst.order_item_start[new], inst.order_item_start[new + 1]):
        own_var += inst.item_var_s2[it]
    own_margin = params[0] * math.sqrt(own_var)
    jit[new] = True
    for j in range(len(slot_orders)):
        start = slot_first_start_s + j * slot_s
        if slot_orders[j] >= slot_capacity:
            out_status[j] = SLOT_FULL
        elif start < best_promise - EPS:
            out_status[j] = SLOT_TOO_SOON
        else:
            due[new] = start
            _sequence_with_new_at(n, new, _dispatch_position(inst, n, start), seq)
            _plan_sequence(inst, seq, 0, handoff, params, base, lanes, out_lane, out_start, out_finish, out_ready)
            if _existing_kept(n, out_ready, allowed) and out_ready[new] <= start - own_margin + EPS:
                out_status[j] = SLOT_OFFERED
            else:
                out_status[j] = SLOT_KITCHEN_FULL
    jit[new] = False
    due[new] = best_promise
    return best_promise, best_margin, keeps
