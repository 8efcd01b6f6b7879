"""The slot planner in plain Python: the readable specification.

`_kernels.py` does exactly the same, step by step, in Numba; the property
tests hold the two to identical plans. Read this file to learn what the
planner does; read the kernels only to see how it is made fast. It is one
file on purpose, although long: it is read top to bottom as the
specification, and its sections (lanes, placing an order, the store, the
touch-ups, the order search, the item search, margins, plan, quote) match
`_kernels.py`'s, which must stay one module for Numba's cache.

Input is a `Prepared` instance (see `_layout.py`): flat arrays grouped by
store, times in seconds from now. Stores are independent.

How one store is planned
------------------------
1.  Lanes. A station has as many lanes as it ever has staff; lane `l` is open
    while the station's lane count is above `l`. Closed periods are busy
    intervals on the lane from the start. An item already in progress keeps
    its lane from now (0) until its remaining time is up, even if the lane
    closes meanwhile: a barista finishes the drink in hand. Every item the
    planner places must fit entirely inside an open period of its lane, so
    the lane count is respected at every moment for planned work.
2.  Dispatch sequence. Orders are taken by earliest due time (ties: smaller
    order id, i.e. the earlier order). Each order is placed in turn, on top
    of what earlier orders took (a serial schedule with gap filling: a later
    order may use a hole an earlier one left).
    Held plan. A store whose orders carry ranks (`order_held_rank`: their
    place in the store's last plan, or where a quote put a new order) starts
    from that sequence instead (unranked orders last, by due). It goes back
    to the dispatch sequence when that makes no order later than its due time
    or than the held sequence has it, and the search in step 4 keeps only
    moves within the same bound: a re-plan breaks no promise the held plan
    keeps. That is what lets a quote check its promise against the held plan
    alone.
3.  Placing an order.
    - A just-in-time order (a scheduled pickup) is placed as late as possible
      so that it is ready `own safety margin + jit_buffer_s` before its due
      time, never before its release. If some item does not fit that way,
      the order falls back to the ASAP placement below.
    - Otherwise every item takes the earliest free stretch on any lane of its
      station (not before its release; ties to the lower lane), longest item
      first.
    - Ready time = last item's finish + the store's handoff seconds.
4.  Overload. If some order is tardy (ready after due), a local search moves
    orders up to MAX_MOVE places earlier or later in the sequence, keeping a
    move only when total weighted tardiness drops, within a budget of
    `improve_trials_per_order` x orders trials: first each tardy order
    (heaviest weighted tardiness first) is moved earlier, then at most
    `improve_max_passes` sweeps try every move. Then, if some order is
    still tardy and `item_trials_per_item` > 0 (off on the live path), a
    second search works on items instead of whole orders: the plan is read
    as a list of items placed one by one (earliest free stretch), and single
    items move up to ITEM_MAX_MOVE places in that list, so an item of one
    order can go between the items of another (at most
    `item_trials_per_item` x items trials), once from the best order
    sequence and once from the dispatch sequence; the better plan is kept.
    If still tardy and `ils_kicks` > 0 (offline only), an iterated local
    search on that item list: random swaps, then dynasearch swap moves and
    the item moves again, `ils_kicks` times (`_iterated_search`).
4b. Touch-ups of the final plan (neither changes any tardiness):
    - Fire window: a just-in-time item behind a dead gap on its lane (shorter
      than every item of that station in the plan) moves left to close it,
      at most FIRE_WINDOW_S, so the idle time joins usable free time.
    - Pacing: an item of an ASAP order that would finish more than
      `pacing_window_s` before its paced finish (the order's last finish
      less safety_z x its own prep sd) slides later on its own lane into the
      free time right behind it: the order comes together without taking
      time any other item of the plan uses.
5.  Safety margin of an order. From its last-finishing item walk back along
    its lane through items that end exactly when the next starts (the
    critical chain: any of them running long delays the order). Margin =
    safety_z x sqrt(sum of their prep variances), where an item of another
    order counts 1/L of its variance (L = lanes of the station): the plan is
    re-made on every event, so an overrun ahead is shared by all L lanes,
    not borne by this lane alone.

Quote for a new order (one store)
---------------------------------
(On a held plan: the existing orders are the held plan as it stands, no
search; a candidate is the held sequence with the new order at position k, and
its confirming plan is that same sequence with the order booked, because the
re-plan starts from it and breaks none of its promises. A slot order goes right
behind the last order due by its promise. Otherwise, from scratch:)
Plan the existing orders; each existing order may end up no later than
max(due - its margin, its current ready): its promise and its safety margin
are both kept. Try the new order at each position in the dispatch sequence
(binary search for the earliest that keeps every existing promise); the
promise is its ready time there plus its own critical-chain margin. The
candidate is then checked with the full planner, with the new order's due
set to that promise, exactly as the next re-plan will see it.
A pickup slot is offered when it holds fewer than `slot_capacity` orders and
the full planner, with the new order made just in time for the slot's start,
keeps every existing promise and has the new order ready at least its own
safety margin before the slot.
Promise inside the window: the slot's start S is its promise unless that
confirming plan makes the new order ready more than `slot_shift_tol_s` before
its just-in-time target (S - own margin - jit_buffer_s): stacked behind the
slot's other orders, which all aim at S. Then the slot is promised P = S + how
early it was (whole `slot_shift_step_s`, at least one, at most S + slot width -
one step) when the full planner confirms P exactly as it confirmed S and the
order ends up nearer its promise there; the order is then booked due P.
"""

import math
from bisect import bisect_left, bisect_right

from ._layout import (
    SLOT_FULL,
    SLOT_KITCHEN_FULL,
    SLOT_OFFERED,
    SLOT_TOO_SOON,
    Prepared,
)
from .config import FIRE_WINDOW_S, ITEM_MAX_MOVE, MAX_MOVE

INF = math.inf
EPS = 1e-6  # seconds; float noise allowance when comparing promised times


class _StoreLanes:
    """Busy intervals of every lane of one store, each lane sorted by start.

    Intervals on a lane never overlap (they may touch). `item` is the item
    index, or -1 for a closed period (no staff) merged with anything overlapping it.
    """

    def __init__(self, n_lanes):
        self.starts = [[] for _ in range(n_lanes)]
        self.ends = [[] for _ in range(n_lanes)]
        self.items = [[] for _ in range(n_lanes)]

    def copy_from(self, other):
        self.starts = [list(x) for x in other.starts]
        self.ends = [list(x) for x in other.ends]
        self.items = [list(x) for x in other.items]

    def earliest_start(self, lane, release, prep):
        """Earliest t >= release with [t, t + prep) free on the lane (inf if none)."""
        starts, ends = self.starts[lane], self.ends[lane]
        t = release
        # intervals that end by `release` cannot matter: skip them at once
        for i in range(bisect_right(ends, t), len(starts)):
            if ends[i] <= t:
                continue
            if starts[i] >= t + prep:
                break
            t = ends[i]
        return t

    def latest_start(self, lane, release, finish_by, prep):
        """Latest t >= release with [t, t + prep) free and t + prep <= finish_by (-inf if none)."""
        starts, ends = self.starts[lane], self.ends[lane]
        f = finish_by
        # intervals that start at or after `finish_by` cannot matter
        for i in range(bisect_left(starts, f) - 1, -1, -1):
            if starts[i] >= f:
                continue
            if ends[i] <= f - prep:
                break
            f = starts[i]
            if f - prep < release:
                return -INF
        t = f - prep
        return t if t >= release else -INF

    def insert(self, lane, start, end, item):
        i = bisect_right(self.starts[lane], start)
        self.starts[lane].insert(i, start)
        self.ends[lane].insert(i, end)
        self.items[lane].insert(i, item)

    def remove(self, lane, item):
        i = self.items[lane].index(item)
        del self.starts[lane][i], self.ends[lane][i], self.items[lane][i]


class _StorePlanner:
    """Plans one store of a prepared instance; results go to the `out` lists."""

    def __init__(self, inst: Prepared, store, cfg, out):
        self.inst = inst
        # (safety_z, pacing_window_s, jit_buffer_s, improve_max_passes, improve_trials_per_order,
        #  item_trials_per_item, ils_kicks, ils_kick_swaps, ils_seed, slot_shift_tol_s, slot_shift_step_s):
        #  see config.PlannerConfig
        self.cfg = cfg
        self.out_lane, self.out_start, self.out_finish, self.out_ready, self.out_margin = out
        st_lo, st_hi = inst.store_station_start[store], inst.store_station_start[store + 1]
        self.lane_lo = inst.station_lane_start[st_lo]
        self.handoff = inst.store_handoff_s[store]
        self.o_lo, self.o_hi = inst.store_order_start[store], inst.store_order_start[store + 1]
        self.base = _StoreLanes(inst.station_lane_start[st_hi] - self.lane_lo)
        self._build_base_lanes(st_lo, st_hi)
        self.lanes = _StoreLanes(0)
        # a held plan: the orders come in the sequence of the store's last plan (see _layout)
        self.held = any(r == r for r in inst.order_held_rank[self.o_lo:self.o_hi])  # NaN != NaN
        # while the search runs on a held plan: the latest ready time each order may get
        # (index o - o_lo), so that no promise the held plan keeps is broken; None: no limit
        self.cap = None

    # -- setup ---------------------------------------------------------------
    def _build_base_lanes(self, st_lo, st_hi):
        inst = self.inst
        for st in range(st_lo, st_hi):
            g_lo, g_hi = inst.station_segment_start[st], inst.station_segment_start[st + 1]
            for lane_in_station in range(inst.station_lane_start[st + 1] - inst.station_lane_start[st]):
                lane = inst.station_lane_start[st] - self.lane_lo + lane_in_station
                closed_from = -INF  # every lane is closed before the first segment
                for g in range(g_lo, g_hi):
                    if inst.segment_lanes[g] > lane_in_station:
                        if closed_from is not None:
                            self._add_closure(lane, closed_from, inst.segment_start_s[g])
                            closed_from = None
                    elif closed_from is None:
                        closed_from = inst.segment_start_s[g]
                if closed_from is not None:
                    self._add_closure(lane, closed_from, INF)
        i_lo = inst.order_item_start[self.o_lo]
        i_hi = inst.order_item_start[self.o_hi]
        for it in range(i_lo, i_hi):
            if inst.item_progress_lane[it] >= 0:
                lane = inst.station_lane_start[inst.item_station[it]] - self.lane_lo + inst.item_progress_lane[it]
                self._add_in_progress(lane, inst.item_progress_remaining_s[it], it)

    def _add_closure(self, lane, start, end):
        if end > 0.0:  # closed periods that are over before now never matter
            self.base.insert(lane, start, end, -1)

    def _add_in_progress(self, lane, remaining, item):
        """The running item holds [0, remaining); merged with a closure it overlaps."""
        b = self.base
        b.insert(lane, 0.0, remaining, item)
        starts, ends, items = b.starts[lane], b.ends[lane], b.items[lane]
        i = 0
        while i + 1 < len(starts):
            if starts[i + 1] < ends[i]:
                ends[i] = max(ends[i], ends[i + 1])
                items[i] = -1
                del starts[i + 1], ends[i + 1], items[i + 1]
            else:
                i += 1

    def lane_of(self, item, lane_in_station):
        return self.inst.station_lane_start[self.inst.item_station[item]] - self.lane_lo + lane_in_station

    # -- placing one item ----------------------------------------------------
    def _station_lanes(self, item):
        st = self.inst.item_station[item]
        return (self.inst.station_lane_start[st] - self.lane_lo,
                self.inst.station_lane_start[st + 1] - self.lane_lo)

    def _earliest_fit(self, item, release):
        best_lane, best_start = -1, INF
        lo, hi = self._station_lanes(item)
        prep = self.inst.item_prep_s[item]
        for lane in range(lo, hi):
            t = self.lanes.earliest_start(lane, release, prep)
            if t < best_start:
                best_lane, best_start = lane, t
        return best_lane, best_start

    def _latest_fit(self, item, release, finish_by):
        best_lane, best_start = -1, -INF
        lo, hi = self._station_lanes(item)
        prep = self.inst.item_prep_s[item]
        for lane in range(lo, hi):
            t = self.lanes.latest_start(lane, release, finish_by, prep)
            if t > best_start:
                best_lane, best_start = lane, t
        return best_lane, best_start

    def _commit(self, item, lane, start):
        finish = start + self.inst.item_prep_s[item]
        self.lanes.insert(lane, start, finish, item)
        self.out_lane[item] = lane
        self.out_start[item] = start
        self.out_finish[item] = finish

    def _uncommit(self, item):
        self.lanes.remove(self.out_lane[item], item)

    # -- placing one order ---------------------------------------------------
    def _place_order(self, o):
        inst = self.inst
        z, jit_buffer = self.cfg.safety_z, self.cfg.jit_buffer_s
        i_lo, i_hi = inst.order_item_start[o], inst.order_item_start[o + 1]
        self._place_running(o)
        own_var = 0.0
        n_free = 0
        for it in range(i_lo, i_hi):
            if inst.item_progress_lane[it] < 0:
                own_var += inst.item_var_s2[it]
                n_free += 1

        placed = False
        if inst.order_jit[o] and n_free > 0:
            target_finish = inst.order_due_s[o] - self.handoff - z * math.sqrt(own_var) - jit_buffer
            placed = True
            for it in range(i_lo, i_hi):
                if inst.item_progress_lane[it] >= 0:
                    continue
                lane, start = self._latest_fit(it, inst.item_release_s[it], target_finish)
                if lane < 0:
                    placed = False
                    for back in range(i_lo, it):  # undo, then place ASAP instead
                        if inst.item_progress_lane[back] < 0:
                            self._uncommit(back)
                    break
                self._commit(it, lane, start)

        if not placed and n_free > 0:
            for it in range(i_lo, i_hi):
                if inst.item_progress_lane[it] < 0:
                    self._place_asap(it)
        self._set_ready(o)

    def _place_running(self, o):
        """Items of the order already in progress stay on their lane, from now until done."""
        inst = self.inst
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            if inst.item_progress_lane[it] >= 0:
                self.out_lane[it] = self.lane_of(it, inst.item_progress_lane[it])
                self.out_start[it] = 0.0
                self.out_finish[it] = inst.item_progress_remaining_s[it]

    def _place_asap(self, it):
        """The item at the earliest free stretch on any lane of its station."""
        lane, start = self._earliest_fit(it, self.inst.item_release_s[it])
        if lane < 0 or start == INF:  # no lane is ever open long enough
            self.out_lane[it] = -1
            self.out_start[it] = INF
            self.out_finish[it] = INF
        else:
            self._commit(it, lane, start)

    def _set_ready(self, o):
        finish = -INF
        for it in range(self.inst.order_item_start[o], self.inst.order_item_start[o + 1]):
            finish = max(finish, self.out_finish[it])
        self.out_ready[o] = finish + self.handoff

    # -- whole store ---------------------------------------------------------
    def schedule(self, seq, give_up_at=INF):
        """Place the orders in `seq` in that order; return finite total weighted tardiness.

        Stops early (returning what it has so far) once that reaches `give_up_at`:
        an improvement trial that can no longer win need not be finished.
        """
        self.lanes.copy_from(self.base)
        twt = 0.0
        cap = self.cap
        for o in seq:
            self._place_order(o)
            if cap is not None and self.out_ready[o] > cap[o - self.o_lo]:
                return INF  # later than the held plan allows: this trial cannot be kept
            late = self.out_ready[o] - self.inst.order_due_s[o]
            if late > 0.0 and late < INF:
                twt += self.inst.order_weight[o] * late
                if twt >= give_up_at:
                    return twt
        return twt

    def _jit_target(self, o):
        """Latest finish of a just-in-time order's items: its margin and the buffer before its due."""
        inst = self.inst
        own_var = 0.0
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            if inst.item_progress_lane[it] < 0:
                own_var += inst.item_var_s2[it]
        return inst.order_due_s[o] - self.handoff - self.cfg.safety_z * math.sqrt(own_var) - self.cfg.jit_buffer_s

    def _placed_just_in_time(self, o):
        """Was the order placed just in time (not fallen back to ASAP)? Then all its items end by the target."""
        inst = self.inst
        if not inst.order_jit[o]:
            return False
        target = self._jit_target(o)
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            if inst.item_progress_lane[it] < 0 and not self.out_finish[it] <= target:
                return False
        return True

    def fire_early(self, seq):
        """Fire window: a just-in-time item behind a dead gap starts earlier.

        A gap in front of an item, on its lane, that is shorter than every
        item of the plan at that station can never be used: the lane would
        idle there. Such an item, when its order was placed just in time,
        moves left to close the gap (at most FIRE_WINDOW_S before its planned
        start, never before its release or now), so the idle time joins the
        free time behind it, where waiting work can use it. Lanes are swept
        left to right, so a block of such items moves together. The order is
        ready a little earlier than just in time (never later); no other item
        moves, so no other order's ready time changes.
        """
        inst = self.inst
        jit_item = set()  # the items of orders placed just in time
        shortest = {}  # station -> shortest item of the plan there
        for o in seq:
            placed_jit = self._placed_just_in_time(o)
            for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
                if inst.item_progress_lane[it] < 0:
                    st = inst.item_station[it]
                    shortest[st] = min(shortest.get(st, INF), inst.item_prep_s[it])
                    if placed_jit:
                        jit_item.add(it)
        if not jit_item:
            return
        for lane in range(len(self.lanes.starts)):
            items, starts, ends = self.lanes.items[lane], self.lanes.starts[lane], self.lanes.ends[lane]
            for pos in range(1, len(items)):
                it = items[pos]
                if it not in jit_item:
                    continue
                gap = starts[pos] - ends[pos - 1]
                if not (0.0 < gap < shortest[inst.item_station[it]]):
                    continue
                new_start = max(ends[pos - 1], inst.item_release_s[it], starts[pos] - FIRE_WINDOW_S)
                if new_start < starts[pos]:
                    starts[pos], ends[pos] = new_start, new_start + inst.item_prep_s[it]
                    self.out_start[it], self.out_finish[it] = starts[pos], ends[pos]
        for o in seq:
            if inst.order_jit[o]:
                finish = -INF
                for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
                    finish = max(finish, self.out_finish[it])
                self.out_ready[o] = finish + self.handoff

    def pace(self, seq):
        """Pacing, once every order is placed: bring early items up to their order's last one.

        An item that would finish more than `pacing_window_s` before its paced
        finish (the order's last finish less safety_z x its own prep sd: done
        with the last item with high confidence (~90% at safety_z 1.28), so a paced item does not
        become the one the order waits for) slides later on its own lane,
        into the free time right behind it, up to the paced finish. Only time
        no other item of the plan uses is taken, and no order's ready time
        changes: pacing costs no capacity.
        """
        inst = self.inst
        z, window = self.cfg.safety_z, self.cfg.pacing_window_s
        for o in seq:
            if self._placed_just_in_time(o):
                continue
            i_lo, i_hi = inst.order_item_start[o], inst.order_item_start[o + 1]
            order_finish = -INF
            for it in range(i_lo, i_hi):
                order_finish = max(order_finish, self.out_finish[it])
            if order_finish == INF:
                continue
            for it in range(i_lo, i_hi):
                if inst.item_progress_lane[it] >= 0:
                    continue
                paced_finish = order_finish - z * math.sqrt(inst.item_var_s2[it])
                if not self.out_finish[it] < paced_finish - window:
                    continue
                lane = self.out_lane[it]
                items, starts, ends = self.lanes.items[lane], self.lanes.starts[lane], self.lanes.ends[lane]
                pos = items.index(it)
                new_finish = paced_finish
                if pos + 1 < len(starts) and starts[pos + 1] < new_finish:
                    new_finish = starts[pos + 1]
                if new_finish > self.out_finish[it]:
                    start = new_finish - inst.item_prep_s[it]
                    starts[pos], ends[pos] = start, new_finish
                    self.out_start[it], self.out_finish[it] = start, new_finish

    def plan_sequence(self, seq):
        """Dispatch `seq`, improve it in place when tardy; leaves the final plan.

        On a held plan the dispatch sequence replaces `seq` first where it
        keeps every promise `seq` keeps (`_dispatch_if_it_keeps`). Then the
        fire window and pacing touch up the final plan (neither changes total
        weighted tardiness).
        """
        if self.held:
            self._dispatch_if_it_keeps(seq)
        twt = self._improve(seq)
        self.fire_early(seq)
        self.pace(seq)
        return twt

    def _dispatch_if_it_keeps(self, seq):
        """On a held plan `seq`: take the dispatch sequence (due, id) instead, in place, when its
        plan has no order later than its due time or than `seq`'s plan has it.

        The held plan is what promises were checked against; earliest due first is the best
        order to absorb what happens next (it spreads the slack), so the store goes back to it
        whenever that costs no promise. The two are mostly the same: only a quote that put an
        order in ahead of its due, or an order out of sequence, makes them differ.
        """
        inst = self.inst
        dispatch = sorted(seq, key=lambda o: inst.order_dispatch[o])
        if dispatch == seq:
            return
        self.schedule(seq)
        self.cap = self._caps()
        if self.schedule(dispatch) < INF:
            seq[:] = dispatch
        self.cap = None

    def _caps(self):
        """Per order (index o - o_lo): the latest ready time a held plan's search may give it, its
        due time or, if the plan just made has it later, that."""
        due = self.inst.order_due_s
        return [max(self.out_ready[o], due[o]) + EPS for o in range(self.o_lo, self.o_hi)]

    @staticmethod
    def _moved(seq, m, j, later):
        """seq with seq[m] moved to position j (later), or seq[j] moved to position m (earlier); m < j."""
        if later:
            return seq[:m] + seq[m + 1:j + 1] + [seq[m]] + seq[j + 1:]
        return seq[:m] + [seq[j]] + seq[m:j] + seq[j + 1:]

    def _sweep(self, seq, max_move, evaluate, best, tried, budget):
        """One sweep of the first-improvement search over `seq` (orders or items), in place.

        For m = 0, 1, ...: for each j = m+1 .. m+max_move, first seq[m] moved
        to j, then seq[j] moved to m (by one, the same swap: tried once); a
        move is kept as soon as `evaluate` (total weighted tardiness, giving up
        once it cannot win) drops. Stops at zero tardiness or when `tried`
        reaches `budget`. Returns (best, tried, improved)."""
        improved = False
        n = len(seq)
        for m in range(n - 1):
            for j in range(m + 1, min(n, m + max_move + 1)):
                for later in ((True,) if j == m + 1 else (True, False)):
                    if tried >= budget:
                        break
                    cand = self._moved(seq, m, j, later)
                    tried += 1
                    t = evaluate(cand, best - EPS)
                    if t < best - EPS:
                        best = t
                        seq[:] = cand
                        improved = True
            if best <= 0.0 or tried >= budget:
                break
        return best, tried, improved

    def _improve(self, seq):
        """Local search on the dispatch sequence when it leaves some order tardy.

        Insertion moves: an order is tried up to MAX_MOVE places earlier or
        later (an adjacent swap is a move by one, tried once). A move is
        kept as soon as total weighted tardiness drops (first improvement)
        and the search goes on from the new sequence. The store has a budget
        of `improve_trials_per_order` x (number of orders) trials, so the
        cost stays linear in its orders however overloaded it is, and spends
        it on the most promising moves first:
        1.  Each order tardy in the dispatch plan, largest weighted tardiness
            first, is moved earlier: MAX_MOVE places, then fewer, up to the
            first move that helps.
        2.  Sweeps over every move, by the first position they change,
            m = 0, 1, ...: for each j = m+1 .. m+MAX_MOVE, first seq[m] moved
            to j, then seq[j] moved to m. At most `improve_max_passes`
            sweeps, stopping after one with no improvement.
        Both stop at zero tardiness or when the budget is spent. (Step 1
        only orders the trials, it filters none out: searching only those
        moves was tried and was much worse.) If tardiness is left and
        `item_trials_per_item` > 0, the item search (`_improve_items`) goes
        on from the best sequence and from the dispatch sequence.

        On a held plan (`self.held`: `seq` is the sequence of the store's
        last plan) the search starts from it and keeps only moves that break
        no promise it keeps: no order may end later than its due time or,
        if it is late already, than it is in the held plan. (A quote checks
        its promise against the held plan alone; this is what makes that
        enough. It also makes the search a continuation of the last one,
        and plans steady: an order on time stays on time.)
        """
        best = self.schedule(seq)
        if best <= 0.0 or self.cfg.improve_max_passes <= 0:
            return best
        if self.held:
            self.cap = self._caps()
        n = len(seq)
        budget = self.cfg.improve_trials_per_order * n
        tried = 0
        inst = self.inst
        dispatch = list(seq)
        late = [o for o in seq if 0.0 < self.out_ready[o] - inst.order_due_s[o] < INF]
        late.sort(key=lambda o: (-inst.order_weight[o] * (self.out_ready[o] - inst.order_due_s[o]), o))
        for o in late:
            j = seq.index(o)
            for m in range(max(0, j - MAX_MOVE), j):
                if tried >= budget:
                    break
                cand = self._moved(seq, m, j, False)
                tried += 1
                t = self.schedule(cand, best - EPS)
                if t < best - EPS:
                    best = t
                    seq[:] = cand
                    break
            if best <= 0.0 or tried >= budget:
                break
        for _ in range(self.cfg.improve_max_passes):
            if best <= 0.0 or tried >= budget:
                break
            best, tried, improved = self._sweep(seq, MAX_MOVE, self.schedule, best, tried, budget)
            if not improved:
                break
        if best > 0.0 and self.cfg.item_trials_per_item > 0:
            best = self._improve_items(seq, dispatch, best)
        elif tried:
            self.schedule(seq)  # leave the plan of the best sequence in place
        self.cap = None
        return best

    # -- the item search -------------------------------------------------------
    def _placed_whole(self, o):
        """An order the item search keeps in one piece: just in time (its items aim at one
        target together), or nothing of it left to place."""
        inst = self.inst
        if inst.order_jit[o]:
            return True
        for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
            if inst.item_progress_lane[it] < 0:
                return False
        return True

    def _item_list(self, seq):
        """The plan of `seq` as a list of what is placed one by one: each item still to
        make of an ASAP order (in the order `_place_order` places them), and for an order
        kept whole its first item, standing for the order."""
        inst = self.inst
        tokens = []
        for o in seq:
            if self._placed_whole(o):
                tokens.append(inst.order_item_start[o])
                continue
            for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
                if inst.item_progress_lane[it] < 0:
                    tokens.append(it)
        return tokens

    def schedule_items(self, tokens, give_up_at=INF):
        """Place `tokens` (see `_item_list`) in that order; return total weighted tardiness.

        An item goes to the earliest free stretch on any lane of its station;
        an order kept whole is placed by `_place_order`. An order's ready time
        and tardiness count once its last token is placed; `_item_list(seq)`
        placed this way gives exactly the plan `schedule(seq)` gives. Stops
        early once the tardiness reaches `give_up_at`.
        """
        inst = self.inst
        self.lanes.copy_from(self.base)
        left = {}  # order -> its tokens not yet placed
        for it in tokens:
            o = self.order_of_item[it - self.i_lo]
            left[o] = left.get(o, 0) + 1
        twt = 0.0
        for it in tokens:
            o = self.order_of_item[it - self.i_lo]
            if self._placed_whole(o):
                self._place_order(o)
            else:
                self._place_asap(it)
            left[o] -= 1
            if left[o] > 0:
                continue
            if not self._placed_whole(o):
                self._place_running(o)
                self._set_ready(o)
            if self.cap is not None and self.out_ready[o] > self.cap[o - self.o_lo]:
                return INF  # later than the held plan allows (see _improve)
            late = self.out_ready[o] - inst.order_due_s[o]
            if late > 0.0 and late < INF:
                twt += inst.order_weight[o] * late
                if twt >= give_up_at:
                    return twt
        return twt

    def _improve_items(self, seq, dispatch, best):
        """Local search on single items, after the order search; leaves the best plan in place.

        Placing whole orders cannot put the bottleneck item of an urgent
        order between two items of an earlier one, and the optimum often
        does just that. Here the plan is the list of items placed one by one
        (`_item_list`), searched by `_item_search`. It starts twice: from the
        best order sequence, and from the dispatch sequence `dispatch`
        (unless the two are the same), and keeps the better result: the
        order search may commit to a sequence whose item list the single
        item moves cannot get out of (a local optimum), and on small
        instances starting over from the dispatch list often found a better
        one.
        """
        inst = self.inst
        self.i_lo = inst.order_item_start[self.o_lo]
        self.order_of_item = [0] * (inst.order_item_start[self.o_hi] - self.i_lo)
        for o in range(self.o_lo, self.o_hi):
            for it in range(inst.order_item_start[o], inst.order_item_start[o + 1]):
                self.order_of_item[it - self.i_lo] = o
        best_tokens = self._item_list(seq)
        best = self._item_search(best_tokens)
        if best > 0.0 and dispatch != seq:
            tokens = self._item_list(dispatch)
            t = self._item_search(tokens)
            if t < best - EPS:
                best, best_tokens = t, tokens
        if best > 0.0 and self.cfg.ils_kicks > 0:
            best = self._iterated_search(best_tokens, best)
        self.schedule_items(best_tokens)  # leave the plan of the best list in place
        return best

    def _item_search(self, tokens):
        """First-improvement search on an item list, in place; returns its total weighted tardiness.

        An item moves up to ITEM_MAX_MOVE places earlier or later in the list,
        tried in the same order and kept on the same rule as the order moves.
        Sweeps repeat until one finds nothing, tardiness is zero, or
        `item_trials_per_item` x (items to place) trials are spent.
        """
        best = self.schedule_items(tokens)
        budget = self.cfg.item_trials_per_item * len(tokens)
        tried = 0
        improved = True
        while improved and best > 0.0 and tried < budget:
            best, tried, improved = self._sweep(tokens, ITEM_MAX_MOVE, self.schedule_items, best, tried, budget)
        return best

    # -- the iterated search (offline only) --------------------------------------
    def _dynasearch(self, tokens, best):
        """One dynasearch step on an item list, in place; returns its total weighted tardiness.

        Every swap of two items is tried, each evaluated by placing the whole
        list (the planner's own objective). Swaps on disjoint stretches of the
        list are combined by dynamic programming into the compound move of
        largest summed gain (gain_sum[j]: the best from swaps within the first j
        places; pick[j]: where the last of them starts). On one lane without
        idle time those gains add up exactly (Congram, Potts & van de Velde
        2002); with several lanes, stations or items per order they need not,
        so the compound move is placed and kept only if it beats the best
        single swap, which is kept otherwise. Unchanged if no swap improves.
        """
        n = len(tokens)
        gain_sum = [0.0] * (n + 1)
        pick = [-1] * (n + 1)
        top_t, top_i, top_j = INF, -1, -1
        cand = list(tokens)
        for j in range(n):
            gain_sum[j + 1] = gain_sum[j]
            for i in range(j):
                cand[i], cand[j] = tokens[j], tokens[i]
                t = self.schedule_items(cand, best - EPS)
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
        while k > 0:  # the compound move, read back from the end
            i = pick[k]
            if i < 0:
                k -= 1
            else:
                cand[i], cand[k - 1] = cand[k - 1], cand[i]
                k = i
        t = self.schedule_items(cand, top_t - EPS)
        if t < top_t - EPS:
            tokens[:] = cand
            return t
        tokens[top_i], tokens[top_j] = tokens[top_j], tokens[top_i]
        return top_t

    def _descend(self, tokens, best):
        """Local search to a local optimum, in place: dynasearch steps while they improve, then the
        item search's insertion moves (`_item_search`); again while those improve."""
        while best > 0.0:
            t = self._dynasearch(tokens, best)
            if t < best - EPS:
                best = t
                continue
            t = self._item_search(tokens)  # changes `tokens` only when it improves
            if not t < best - EPS:
                break
            best = t
        return best

    def _iterated_search(self, best_tokens, best):
        """Iterated local search on the best item list (`best_tokens`, in place); returns its tardiness.

        `ils_kicks` times: the current list gets `ils_kick_swaps` swaps of two
        random items (the kick), then `_descend`; the result becomes current
        if it is no worse (so the search walks across plateaus), and the best
        if it is better. Never worse than the list it starts from. The random
        numbers come from `_next_random` seeded with `ils_seed`: the kernel draws
        the same ones, so both give the same plan.
        """
        n = len(best_tokens)
        if n < 2:
            return best
        current, current_twt = list(best_tokens), best
        state = self.cfg.ils_seed % 2147483646 + 1
        for _ in range(self.cfg.ils_kicks):
            if best <= 0.0:
                break
            trial = list(current)
            for _ in range(self.cfg.ils_kick_swaps):
                state = _next_random(state)
                a = state % n
                state = _next_random(state)
                b = state % (n - 1)
                if b >= a:
                    b += 1
                trial[a], trial[b] = trial[b], trial[a]
            t = self.schedule_items(trial)
            if t == INF:
                continue  # an order later than the held plan allows: no start for a descent
            t = self._descend(trial, t)
            if t <= current_twt + EPS:
                current, current_twt = trial, t
                if t < best - EPS:
                    best = t
                    best_tokens[:] = trial
        return best

    def order_margin(self, o):
        """safety_z x sqrt(variance along the critical chain ending at the order's last item).

        The order's own items count in full; another order's item ahead on the
        chain counts 1/(lanes of the station), since re-planning spreads its
        overrun over every lane of the station.
        """
        inst = self.inst
        i_lo, i_hi = inst.order_item_start[o], inst.order_item_start[o + 1]
        last, last_finish = -1, -INF
        for it in range(i_lo, i_hi):
            if self.out_finish[it] > last_finish:
                last, last_finish = it, self.out_finish[it]
        if last < 0 or last_finish == INF:
            return 0.0
        lane = self.out_lane[last]
        items, starts, ends = self.lanes.items[lane], self.lanes.starts[lane], self.lanes.ends[lane]
        if last not in items:  # a running item merged into its lane's closing: it alone
            share = inst.item_progress_remaining_s[last] / inst.item_prep_s[last]
            return self.cfg.safety_z * math.sqrt(inst.item_var_s2[last] * share * share)
        pos = items.index(last)
        lo, hi = self._station_lanes(last)
        pooled = hi - lo  # the lanes of the station share the work queued ahead
        var = 0.0
        while True:
            it = items[pos]
            # another order's item ahead: at the next re-plan an overrun of it is spread over the
            # station's lanes (work moves to whichever lane frees first), so it counts 1/lanes
            w = 1.0 if i_lo <= it < i_hi else 1.0 / pooled
            if inst.item_progress_lane[it] >= 0:  # only what is left can still vary
                share = inst.item_progress_remaining_s[it] / inst.item_prep_s[it]
                var += w * inst.item_var_s2[it] * share * share
            else:
                var += w * inst.item_var_s2[it]
            if pos == 0 or items[pos - 1] < 0 or abs(ends[pos - 1] - starts[pos]) > EPS:
                break
            pos -= 1
        return self.cfg.safety_z * math.sqrt(var)


def _next_random(state):
    """Park and Miller's minimal standard generator (1..2^31-2); exact in int64, so the kernel
    draws the same numbers."""
    return state * 48271 % 2147483647


def _as_lists(inst: Prepared) -> Prepared:
    """Python lists of Python numbers: far faster to index one by one than arrays."""
    return Prepared(*[a.tolist() for a in inst])


def _new_outputs(inst: Prepared):
    n_items = len(inst.item_prep_s)
    n_orders = len(inst.order_due_s)
    return ([-1] * n_items, [INF] * n_items, [INF] * n_items, [INF] * n_orders, [0.0] * n_orders)


def _held_plan(p: _StorePlanner, seq):
    """The held plan as it stands, no search: `seq` placed in turn, then the touch-ups."""
    p.schedule(seq)
    p.fire_early(seq)
    p.pace(seq)


def plan(inst: Prepared, cfg):
    """Plan every store. cfg = _kernel_args.config_tuple(PlannerConfig): a _layout.PlannerParams,
    PlannerConfig's values read by name (cfg.safety_z, ...).

    Returns lists (item_lane, item_start_s, item_finish_s, order_ready_s,
    order_margin_s, order_position); item_lane is the store-local lane index (see
    _kernel_args.unpack for the station-local lane the caller sees), -1 when
    unschedulable; order_position is the order's place in its store's final
    sequence (0 first): the held plan the caller passes back next time.
    """
    inst = _as_lists(inst)
    out = _new_outputs(inst)
    position = [0] * len(inst.order_due_s)
    for store in range(len(inst.store_order_start) - 1):
        p = _StorePlanner(inst, store, cfg, out)
        seq = list(range(p.o_lo, p.o_hi))
        if not seq:
            continue
        p.plan_sequence(seq)
        for k, o in enumerate(seq):
            out[4][o] = p.order_margin(o)
            position[o] = k
    return out + (position,)


def quote(inst: Prepared, cfg, slot_first_start_s, slot_s, slot_capacity, slot_orders, new_jit=False):
    """Quote the last order of a one-store instance (its due time is ignored).

    The other orders of the store are the existing ones, stored in dispatch
    order (due, id) with ids smaller than the new order's. `new_jit`: the
    ASAP order will be booked just in time; the confirming plan does so.
    Returns (ready_s, margin_s, keeps_promises, slot_status list, slot_ready_s list: the promise
    of each slot if booked, its start unless step 4 moved it later in the window, position: where
    the ASAP order goes in the held plan's sequence, slot_position list: the same per slot).
    On a held plan a slot order goes right behind the last order due by its promise.
    """
    inst = _as_lists(inst)
    out = _new_outputs(inst)
    p = _StorePlanner(inst, 0, cfg, out)
    _, ready, margin = out[1], out[3], out[4]
    due, jit = inst.order_due_s, inst.order_jit
    new = p.o_hi - 1
    existing = list(range(p.o_lo, new))
    n = len(existing)

    # 1. what each existing order may not exceed: its promise less its margin, or where it already is
    base_seq = list(existing)
    if p.held:
        _held_plan(p, base_seq)  # the held plan, as the next re-plan starts from it
    else:
        p.plan_sequence(base_seq)  # the dispatch sequence, improved if the store is tardy
    allowed = [0.0] * n
    for k, o in enumerate(existing):
        allowed[k] = max(due[o] - p.order_margin(o), ready[o])

    def existing_kept():
        for k, o in enumerate(existing):
            if ready[o] > allowed[k] + EPS:
                return False
        return True

    def held_plan_with_new_at(k):
        """The held plan with the new order at position k of the base sequence, no search."""
        _held_plan(p, base_seq[:k] + [new] + base_seq[k:])

    def trial(k):
        """New order planned ASAP at position k of the base sequence: (kept, promise, margin)."""
        held_plan_with_new_at(k)
        m = p.order_margin(new)
        return existing_kept(), ready[new] + m, m

    def booked_plan_keeps(promise, just_in_time, ready_by, k):
        """The plan the next re-plan will make with the order booked as the caller will book it
        (due `promise`, just in time or not): every existing order kept and the new one ready by
        `ready_by` (the promise itself for ASAP, its own margin before it for a slot).

        From scratch that is the full planner (the order sorted in by due). On a held plan it is
        the held plan with the order at position k: the re-plan starts from that and its search
        breaks no promise that plan keeps (`_improve`)."""
        due[new] = promise
        jit[new] = just_in_time
        if p.held:
            held_plan_with_new_at(k)
        else:
            seq = sorted(existing + [new], key=lambda o: (due[o], o))
            p.plan_sequence(seq)
        jit[new] = False
        due[new] = INF
        return existing_kept() and ready[new] <= ready_by + EPS

    # 2. ASAP. A trial places the new order at position k of the base
    #    sequence; its promise there is its ready time plus its margin, and
    #    the full planner (sorting by due, as every re-plan does) must
    #    confirm it. Going first is as early as the order can be, so
    #    positions behind orders due before that are skipped; from there a
    #    search from the end (galloping back, then bisecting) finds the first
    #    position that keeps every promise (a later position disturbs fewer
    #    orders), and candidates are confirmed in turn from there.
    jit[new] = False
    due[new] = INF
    first_promise = trial(0)[1]
    lo = 0
    while lo < n and due[base_seq[lo]] <= first_promise:
        lo += 1
    hi = n  # the first position that keeps, searched from the end (n is taken to keep)
    stride = 1  # galloping back from the end: a new order most often goes near it, and trials there
    while hi - stride >= lo and trial(hi - stride)[0]:  # place few orders; then bisect the last bracket
        hi -= stride
        stride *= 2
    lo = max(lo, hi - stride + 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if trial(mid)[0]:
            hi = mid
        else:
            lo = mid + 1
    best_promise, best_margin, keeps, position = INF, 0.0, False, n
    for k in range(lo, n + 1):
        kept, promise, m = trial(k)
        if kept and promise < INF and booked_plan_keeps(promise, new_jit, promise, k):
            best_promise, best_margin, keeps, position = promise, m, True, k
            break
    if not keeps:  # overloaded beyond repair: after everyone else, honestly flagged
        _, best_promise, best_margin = trial(n)

    # 3. pickup slots
    def due_position(t):
        """Where a slot order due at t goes in the held sequence: right behind the last order due by t."""
        k = n
        while k > 0 and due[base_seq[k - 1]] > t:
            k -= 1
        return k

    own_var = 0.0
    for it in range(inst.order_item_start[new], inst.order_item_start[new + 1]):
        own_var += inst.item_var_s2[it]
    own_margin = cfg.safety_z * math.sqrt(own_var)
    shift_tol, step = cfg.slot_shift_tol_s, cfg.slot_shift_step_s
    status = [SLOT_OFFERED] * len(slot_orders)
    slot_ready = [slot_first_start_s + j * slot_s for j in range(len(slot_orders))]
    slot_position = [n] * len(slot_orders)
    for j in range(len(slot_orders)):
        start = slot_ready[j]
        if slot_orders[j] >= slot_capacity:
            status[j] = SLOT_FULL
        elif start < best_promise - EPS:
            status[j] = SLOT_TOO_SOON
        elif not booked_plan_keeps(start, True, start - own_margin, due_position(start)):
            status[j] = SLOT_KITCHEN_FULL
        else:
            # 4. promise inside the window: the confirming plan made the order early (stacked
            #    behind the slot's other orders, all aimed at the slot's start)? Then promise it
            #    later in the window, by about as much as it was early, if the full planner
            #    confirms that too and makes the order nearer its promise. Otherwise the slot's start.
            early = start - own_margin - cfg.jit_buffer_s - ready[new]
            if early > shift_tol:
                gap = start - ready[new]
                later = start + max(step, math.floor(early / step + 0.5) * step)
                later = min(later, start + slot_s - step)
                if (later > start + EPS and booked_plan_keeps(later, True, later - own_margin, due_position(later))
                        and later - ready[new] < gap - EPS):
                    slot_ready[j] = later
            slot_position[j] = due_position(slot_ready[j])
    due[new] = best_promise
    return best_promise, best_margin, keeps, status, slot_ready, position, slot_position
