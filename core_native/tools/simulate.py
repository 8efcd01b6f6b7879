"""Discrete-event simulation of one store, to judge quoting and sequencing policies.

    python -m core_native.tools.simulate --scenario FILE --policy planner|fixed|fifo [--json] [--seed N]

The scenario format and the metric keys are those of DESIGN.md. Every random
draw (arrivals, order contents, actual prep times, when customers walk in) is
made up front from the scenario's seed, so all policies face exactly the same
customers and the same run is repeated bit for bit.

What happens in the store
-------------------------
- Orders arrive per channel as a Poisson process with piecewise-constant
  rates. A share of them (scheduled_share) asks for a pickup time `lead_s`
  ahead; they want the slot that holds it, and accept a later one up to
  `slot_patience` slots on. If none is offered the order is rejected; under
  the planner, when the kitchen can make none of those slots but one has
  room, the customer is offered the kitchen's honest later time instead
  (the ASAP promise, or the slot start if later) and takes it.
- Every item takes a lognormal time around the menu's `actual_prep_s` (default
  `prep_s`) with its cv; every policy plans and quotes with `prep_s`.
- Each item is made on a lane of its station. A lane makes one item at a
  time; lane counts follow the scenario's staffing; an item being made when
  its lane closes is finished.
- Ready = last item done + handoff_s. Counter, kiosk and drive-thru customers
  wait in the store from ordering; mobile and delivery customers (couriers)
  walk in at their promised time + an offset drawn from
  customer_arrival_offset_s.

Policies
--------
- planner: our scheduler. Each order is quoted by `api.quote` (ASAP: the
  earliest promise that keeps every promise already made; scheduled: the
  first slot at or after the wanted one that is offered, promised at that
  slot's `slot_ready_s`: its start, or later inside it where the slot's
  earlier orders would have this one made early). On every event
  (arrival, item done, staffing change, planned start due) the store is
  re-planned with `api.plan` (the Numba kernels) from its real state, and
  baristas start whatever the plan says starts now, on the planned lane.
  Scheduled orders are planned just in time for their promise. As on the KDS
  (ASAP tickets show at once, a scheduled one shortly before its planned
  start), an idle barista also starts the next ASAP ticket planned on their
  lane within `idle_start_asap_s`, unless that pushes the lane's next planned
  item past its promise less margin (`idle_start_walk_ins`: the station's
  earliest such ticket on any lane, and a walk-in's even then).
- fixed: first come first served; every ASAP order is quoted now + 10 min
  (`fixed_quote_s`), a common "default prep time" setting.
- fifo: first come first served; ASAP quote = the work queued ahead at the
  order's stations divided by the lanes staffed now, plus its own work, plus
  handoff, plus a constant `fifo_margin_s`.
  Both baselines fire scheduled orders into the queue `fire_lead_s` before
  the slot and offer a slot whenever it holds fewer than slot_capacity orders.

Fire by arrival (scenario option `fire_on_arrival_share`, see tools/scenario.py): a customer who
asked to have it made when they arrive says "on my way" `notice` seconds before walking in (at the
promise + their offset) and "I'm here" as they walk in. The planner plans such an order as the app does
(fulfilment.services.pickup_rules.arrival_timing, mirrored in StoreSim._plan_timing): until the
customer speaks, just in time for the promise plus ARRIVAL_AIM_AFTER_PROMISE_S; on "on my way", as soon
as possible for the ETA but not started before ETA_LEAD_S ahead of it; as soon as possible once they are
here; a customer silent until the store's hold limit is taken to have come at the promise. The baselines have no such feature and make these orders as any other: that is the
comparison. Once its customer has said when they come, the planner's order is judged (on time, quote
error) against that ETA, the time the app then tells them. `shelf_time_p90_s` is ready until picked up
(the same quantity as `hold_p90_s`).

Learning (`--learn`, or `learning=` a LearningConfig): the planner starts
from the configured prep times and learns each menu item's from the items it
sees finish (core_native.learning, as the app does from the kitchen's bumps);
each new order is quoted and planned with the learned times of the moment
(an order's items keep the times they were placed with, like OrderLine's).
Scenarios whose configured times are wrong say `actual_prep_s` per item.
"""

from __future__ import annotations

import heapq
import math
import sys

import numpy as np

from .._cli import one_line_parser, print_figures
from ..api import promise_window
from ..config import (
    DEFAULT_LEARNING,
    DEFAULT_PLANNER,
    DEFAULT_SIMULATOR,
    DEFAULT_WINDOW,
    LearningConfig,
    PlannerConfig,
    SimulatorConfig,
    WindowConfig,
)
from ..learning import LearnedPrep, learned_update, pace_update, planned_prep, sample_usable
from .scenario import ScenarioError, draw_orders, load_scenario, validate_scenario

POLICIES = ("planner", "fixed", "fifo")
IN_STORE_CHANNELS = ("counter", "kiosk", "drive_thru")
METRIC_KEYS = ("orders", "quote_error_p50_s", "quote_error_p90_s", "on_time_rate", "late_p90_s",
               "in_store_wait_p90_s", "hold_p90_s", "throughput_per_h", "rejected_orders", "utilisation",
               "shelf_time_p90_s", "window_coverage", "window_width_p50_s")

# event kinds, in the order they are handled at equal times. _TICK only makes
# the store look again (a baseline's scheduled order is fired into the queue).
_FINISH, _STAFF, _ARRIVAL, _TICK, _WAKE = 0, 1, 2, 3, 4
_CUSTOMER = 5  # a make-it-when-I-arrive customer says "on my way" or "I'm here" (data: order, "eta"/"here")
_TIME_EPS = 1e-6
# fire by arrival: fulfilment.services.pickup_rules' ARRIVAL_AIM_AFTER_PROMISE and ETA_LEAD, in seconds
# (core_native does not import Django; keep the two the same)
ARRIVAL_AIM_AFTER_PROMISE_S = 120.0
ETA_LEAD_S = 300.0


def _step_value_at(steps, t):
    """The value at time t of a schedule of steps [(t_s, value), ...] with increasing times (a station's lane
    count, a channel's arrival rate); 0 before its first step."""
    value = 0
    for start, v in steps:
        if start <= t + _TIME_EPS:
            value = v
        else:
            break
    return value


# -- the simulation ---------------------------------------------------------------
class StoreSim:
    def __init__(self, scenario: dict, policy: str, planner_config: PlannerConfig = DEFAULT_PLANNER,
                 sim_config: SimulatorConfig = DEFAULT_SIMULATOR, learning: LearningConfig | None = None):
        if policy not in POLICIES:
            raise ScenarioError(f"unknown policy '{policy}' (choose {', '.join(POLICIES)})")
        if "_" not in scenario:
            scenario = validate_scenario(scenario)
        self.p = scenario["_"]
        self.policy = policy
        self.pcfg = planner_config
        self.cfg = sim_config
        self.orders = draw_orders(self.p)
        n_st = len(self.p["stations"])
        self.lane_item = [[-1] * max(c for _, c in steps) if steps else [] for steps in self.p["stations"]]
        self.n_stations = n_st
        # items: parallel lists
        self.it_order, self.it_station, self.it_mean, self.it_sd, self.it_actual = [], [], [], [], []
        self.it_state, self.it_lane, self.it_start, self.it_finish = [], [], [], []
        self.open_items = []  # waiting or running, in arrival order
        self.slot_booked = {}  # slot index -> scheduled orders booked
        self.events = []
        self.seq = 0
        self.busy_s = 0.0
        self.next_wake = math.inf
        # learned prep time per menu item (planner only; None: plan with the configured times)
        self.learning = learning if policy == "planner" else None
        self.learned = [LearnedPrep()] * len(self.p["menu"]) if self.learning else None
        self.pace = [LearnedPrep()] * n_st  # each station's real / configured time over all its items
        self.it_sku = []

    # events
    def push(self, t, kind, data):
        self.seq += 1
        heapq.heappush(self.events, (t, kind, self.seq, data))

    def run(self) -> dict:
        for i, o in enumerate(self.orders):
            o.update(promised=math.nan, ready=math.nan, rejected=False, remaining=len(o["skus"]), release=o["time"],
                     rank=math.nan)  # rank: place in the store's held plan (planner; NaN: not in it)
            self.push(o["time"], _ARRIVAL, i)
        for st, steps in enumerate(self.p["stations"]):
            for t, _ in steps:
                if t > 0:
                    self.push(t, _STAFF, st)
        now = 0.0
        while self.events:
            now, kind, _, data = heapq.heappop(self.events)
            if kind == _FINISH:
                self._finish(now, data)
            elif kind == _ARRIVAL:
                self._arrive(now, data)
            elif kind == _CUSTOMER:
                self._customer_says(*data)
            elif kind == _WAKE:
                if data != self.next_wake:
                    continue  # superseded by a later plan
                self.next_wake = math.inf
            # handle everything due at this same moment before deciding what starts
            if self.events and self.events[0][0] <= now + _TIME_EPS and self.events[0][1] != _WAKE:
                continue
            self._dispatch(now)
        return self.metrics()

    def _finish(self, now, item):
        st, lane = self.it_station[item], self.it_lane[item]
        self.lane_item[st][lane] = -1
        self.it_state[item] = 2
        self.it_finish[item] = now
        self.open_items.remove(item)
        o = self.orders[self.it_order[item]]
        o["remaining"] -= 1
        if o["remaining"] == 0:
            o["ready"] = now + self.p["handoff"]
        if self.learned is not None:
            self._learn(self.it_sku[item], now - self.it_start[item])

    # learned prep times (see the module's docstring)
    def _configured(self, sku):
        st, mean, cv, _ = self.p["menu"][sku]
        return st, mean, mean * cv

    def _plan_times(self, sku):
        """(mean, sd) the planner quotes and plans a new unit of `sku` with."""
        st, mean, sd = self._configured(sku)
        if self.learned is None:
            return mean, sd
        return planned_prep(self.learned[sku], mean, sd, self.learning, self.pace[st])

    def _learn(self, sku, took):
        st, mean, sd = self._configured(sku)
        planned, _ = planned_prep(self.learned[sku], mean, sd, self.learning, self.pace[st])
        if sample_usable(took, mean, planned, self.learning):
            self.learned[sku] = learned_update(self.learned[sku], took, mean, sd, self.learning, self.pace[st])
            self.pace[st] = pace_update(self.pace[st], took, mean, self.learning)

    # quoting
    def _arrive(self, now, idx):
        o = self.orders[idx]
        stations = [self.p["menu"][s][0] for s in o["skus"]]
        times = [self._plan_times(s) for s in o["skus"]]
        means, sds = [m for m, _ in times], [sd for _, sd in times]
        slot_s = self.p["slot_s"]
        if o["scheduled"]:
            first_slot = int(math.floor(o["wanted"] / slot_s))
            n_slots = self.cfg.slot_patience + 1
            booked = [self.slot_booked.get(first_slot + j, 0) for j in range(n_slots)]
            if self.policy == "planner":
                q = self._quote(now, stations, means, sds, first_slot * slot_s - now, booked,
                                reserve_until=(first_slot + n_slots) * slot_s)
                offered = np.flatnonzero(q.slot_offered)
            else:
                offered = [j for j in range(n_slots) if booked[j] < self.p["capacity"]]
            later = self.policy == "planner" and len(offered) == 0
            if later:
                # the kitchen cannot make any of the wanted slots: offer its honest later time instead
                # (the ASAP promise that keeps every other one, or the slot start if that is later),
                # booked in the first slot with room, as fifo books it there without asking the kitchen
                offered = [j for j in range(n_slots) if booked[j] < self.p["capacity"]]
            if len(offered) == 0:
                o["rejected"] = True
                return
            j = int(offered[0])
            slot = first_slot + j
            self.slot_booked[slot] = self.slot_booked.get(slot, 0) + 1
            o["promised"] = slot * slot_s
            if later:  # made as the ASAP quote placed it (not just in time: that is what it confirmed)
                o["promised"] = max(o["promised"], now + float(q.ready_s))
                o["rank"] = q.held_rank
                o["asap"] = True
            elif self.policy == "planner":  # the slot's own promise inside the window (its start or later)
                o["promised"] += float(q.slot_ready_s[j] - q.slot_start_s[j])
                o["rank"] = float(q.slot_held_rank[j])
            if self.policy != "planner":
                o["release"] = max(now, o["promised"] - self.cfg.fire_lead_s)
                if o["release"] > now:
                    self.push(o["release"], _TICK, -1)
        elif self.policy == "planner":
            q = self._quote(now, stations, means, sds, 0.0, [], self._timed(o))
            o["promised"] = now + q.ready_s
            o["rank"] = q.held_rank
        elif self.policy == "fixed":
            o["promised"] = now + self.cfg.fixed_quote_s
        else:
            o["promised"] = now + self._fifo_estimate(now, stations, means) + self.cfg.fifo_margin_s
        o["margin"] = float(q.margin_s) if self.policy == "planner" else 0.0  # for the promised window
        if self.policy == "planner" and o.get("fire_on_arrival"):
            self._await_customer(now, idx)
        for s, st, mean, sd, actual in zip(o["skus"], stations, means, sds, o["actual"]):
            self.it_order.append(idx)
            self.it_sku.append(s)
            self.it_station.append(st)
            self.it_mean.append(mean)
            self.it_sd.append(sd)
            self.it_actual.append(actual)
            self.it_state.append(0)
            self.it_lane.append(-1)
            self.it_start.append(math.nan)
            self.it_finish.append(math.nan)
            self.open_items.append(len(self.it_order) - 1)

    # fire by arrival (planner only; see the module's docstring)
    def _await_customer(self, now, idx):
        """Book what the customer of a make-it-when-I-arrive order will say: "on my way" `notice` before
        walking in (at once if that is already past) and "I'm here" as they walk in."""
        o = self.orders[idx]
        walk_in = o["promised"] + o["offset"]
        o["eta"] = o["here"] = math.nan
        self.push(max(now, walk_in - o["notice"]), _CUSTOMER, (idx, "eta"))
        self.push(max(now, walk_in), _CUSTOMER, (idx, "here"))

    def _customer_says(self, idx, what):
        o = self.orders[idx]
        walk_in = o["promised"] + o["offset"]
        if what == "eta":
            o["eta"] = walk_in
        else:
            o["here"] = walk_in

    def _plan_timing(self, o, now):
        """(release, due, just in time, weight) the planner is told for order `o`, absolute seconds: the
        rule of pickup_rules.arrival_timing in the app, its wording and constants (ARRIVAL_AIM_AFTER_PROMISE_S,
        ETA_LEAD_S) the same: change both together. "I'm here": as soon as possible, due then; "on my way":
        as soon as possible for the ETA, not started before ETA_LEAD_S ahead of it; nothing yet: just in time
        for the promise plus ARRIVAL_AIM_AFTER_PROMISE_S (at most the hold limit), until the hold limit has
        passed, then as soon as possible, due at the promise."""
        if not o.get("fire_on_arrival") or self.policy != "planner":
            return o["release"], o["promised"], self._timed(o), 1.0
        if not math.isnan(o["here"]):
            return o["release"], o["here"], False, 1.0
        if not math.isnan(o["eta"]):
            return max(o["release"], o["eta"] - ETA_LEAD_S), o["eta"], False, 1.0
        hold = self.p["shelf_hold"]
        if now >= o["promised"] + hold - _TIME_EPS:
            return o["release"], o["promised"], False, 1.0
        return o["release"], o["promised"] + min(ARRIVAL_AIM_AFTER_PROMISE_S, hold), True, 1.0

    def _judged_promise(self, o):
        """What the order is judged against (on time, quote error, late): its promise, or, once the
        customer of a make-it-when-I-arrive order said when they come, that ETA: the planner then makes
        it for the ETA, as the app tells them ("ready as you arrive"). The baselines keep their quote."""
        if self.policy == "planner" and o.get("fire_on_arrival") and not math.isnan(o["eta"]):
            return o["eta"]
        return o["promised"]

    def _waits_for_planned_start(self, o, now):
        """A just-in-time ticket an idle barista leaves until its planned start: a scheduled pickup, and a
        make-it-when-I-arrive order whose customer has not said when they come."""
        return self._plan_timing(o, now)[2]

    def _fifo_estimate(self, now, stations, means):
        """Queue ahead at each of the order's stations / lanes staffed now, plus own work and handoff."""
        worst = 0.0
        for st in set(stations):
            lanes = max(1, _step_value_at(self.p["stations"][st], now))
            ahead = 0.0
            for it in self.open_items:
                if self.it_station[it] != st:
                    continue
                if self.it_state[it] == 1:
                    ahead += max(0.0, self.it_mean[it] - (now - self.it_start[it]))
                elif self.orders[self.it_order[it]]["release"] <= now + _TIME_EPS:
                    ahead += self.it_mean[it]
            own = sum(m for s, m in zip(stations, means) if s == st)
            worst = max(worst, (ahead + own) / lanes)
        return worst + self.p["handoff"]

    # the planner's view of the store
    def _store_arrays(self, now):
        seg_station, seg_start, seg_lanes = [], [], []
        for st, steps in enumerate(self.p["stations"]):
            for t, c in steps:
                seg_station.append(st)
                seg_start.append(t - now)
                seg_lanes.append(c)
        items = self.open_items
        order_of = [self.it_order[i] for i in items]
        prog_item, prog_lane, prog_rem = [], [], []
        for k, it in enumerate(items):
            if self.it_state[it] == 1:
                elapsed = now - self.it_start[it]
                floor = self.cfg.overrun_floor_fraction * self.it_mean[it]
                prog_item.append(k)
                prog_lane.append(self.it_lane[it])
                prog_rem.append(max(self.it_mean[it] - elapsed, floor))
        orders = self.orders
        ranks = [orders[o]["rank"] for o in order_of] if self.cfg.held_plan else None
        timing = {o: self._plan_timing(orders[o], now) for o in set(order_of)}
        return dict(
            segment_station=np.asarray(seg_station, np.int64), segment_start_s=np.asarray(seg_start),
            segment_lanes=np.asarray(seg_lanes, np.int64), item_order=np.asarray(order_of, np.int64),
            item_station=np.asarray([self.it_station[i] for i in items], np.int64),
            item_prep_s=np.asarray([self.it_mean[i] for i in items]),
            item_prep_sd_s=np.asarray([self.it_sd[i] for i in items]),
            item_release_s=np.asarray([timing[o][0] - now for o in order_of]),
            item_due_s=np.asarray([timing[o][1] - now for o in order_of]),
            item_just_in_time=np.asarray([timing[o][2] for o in order_of], bool),
            item_weight=np.asarray([timing[o][3] for o in order_of]),
            progress_item=np.asarray(prog_item, np.int64), progress_lane=np.asarray(prog_lane, np.int64),
            progress_remaining_s=np.asarray(prog_rem), handoff_s=self.p["handoff"],
            item_held_rank=None if ranks is None else np.asarray(ranks))

    @staticmethod
    def _timed(order) -> bool:
        """Made just in time for the promise: scheduled pickups. (Timing ASAP mobile orders to the
        customer's walk-in was tried: it idles lanes that later congest, and in-store waits grew.)"""
        return order["scheduled"] and not order.get("asap", False)

    def _quote(self, now, stations, means, sds, first_slot_rel, booked, timed=False, reserve_until=None):
        from .. import api

        kw = self._store_arrays(now)
        if reserve_until is not None and self.cfg.walk_in_reserve_s > 0:
            kw = self._with_expected_walk_ins(kw, now, reserve_until)
        return api.quote(**kw, n_stations=self.n_stations, new_item_station=np.asarray(stations, np.int64),
                         new_item_prep_s=np.asarray(means), new_item_prep_sd_s=np.asarray(sds),
                         slot_first_start_s=first_slot_rel, slot_s=self.p["slot_s"],
                         slot_capacity=self.p["capacity"], slot_orders=np.asarray(booked, np.int64),
                         new_just_in_time=timed, config=self.pcfg)

    def _with_expected_walk_ins(self, kw, now, until):
        """The store arrays plus the walk-ins expected from now until `until` (absolute), as orders the
        kitchen must serve within walk_in_reserve_s of their arrival: a slot that would crowd them out is
        not offered. One typical order (each station's mean work per order) at each expected arrival."""
        p = self.p
        total_w = sum(w for *_, w in p["menu"])
        work = [0.0] * self.n_stations
        for st, prep, _cv, w in p["menu"]:
            work[st] += p["ipo_mean"] * prep * w / total_w
        times = []
        for channel, rates, share, _lo, _hi in p["arrivals"]:
            if channel not in IN_STORE_CHANNELS:
                continue
            expected, t, step = 0.5, now, 30.0
            while t < until:
                expected -= _step_value_at(rates, t) * (1 - share) * step / 3600.0
                while expected <= 0:
                    times.append(t)
                    expected += 1.0
                t += step
        if not times:
            return kw
        first_id = len(self.orders)
        order, station, prep, release, due = [], [], [], [], []
        for k, t in enumerate(sorted(times)):
            for st in range(self.n_stations):
                if work[st] > 0:
                    order.append(first_id + k)
                    station.append(st)
                    prep.append(work[st])
                    release.append(t - now)
                    due.append(t - now + self.cfg.walk_in_reserve_s)
        n = len(order)
        out = dict(kw)
        out["item_order"] = np.concatenate((kw["item_order"], np.asarray(order, np.int64)))
        out["item_station"] = np.concatenate((kw["item_station"], np.asarray(station, np.int64)))
        out["item_prep_s"] = np.concatenate((kw["item_prep_s"], np.asarray(prep)))
        out["item_prep_sd_s"] = np.concatenate((kw["item_prep_sd_s"], np.zeros(n)))
        out["item_release_s"] = np.concatenate((kw["item_release_s"], np.asarray(release)))
        out["item_due_s"] = np.concatenate((kw["item_due_s"], np.asarray(due)))
        out["item_just_in_time"] = np.concatenate((kw["item_just_in_time"], np.zeros(n, bool)))
        out["item_weight"] = np.concatenate((kw["item_weight"], np.ones(n)))
        if kw.get("item_held_rank") is not None:
            out["item_held_rank"] = np.concatenate((kw["item_held_rank"], np.full(n, np.nan)))
        return out

    # who starts what
    def _start(self, now, item, lane):
        st = self.it_station[item]
        self.lane_item[st][lane] = item
        self.it_state[item] = 1
        self.it_lane[item] = lane
        self.it_start[item] = now
        self.busy_s += self._busy_within_horizon(now, now + self.it_actual[item])
        self.push(now + self.it_actual[item], _FINISH, item)

    def _busy_within_horizon(self, a, b):
        return max(0.0, min(b, self.p["horizon"]) - min(a, self.p["horizon"]))

    def _dispatch(self, now):
        if not self.open_items:
            return
        if self.policy == "planner":
            self._dispatch_planned(now)
        else:
            self._dispatch_fcfs(now)

    def _dispatch_fcfs(self, now):
        for st in range(self.n_stations):
            open_lanes = _step_value_at(self.p["stations"][st], now)
            for lane in range(open_lanes):
                if self.lane_item[st][lane] >= 0:
                    continue
                best, best_key = -1, None
                for it in self.open_items:
                    if self.it_state[it] != 0 or self.it_station[it] != st:
                        continue
                    o = self.orders[self.it_order[it]]
                    if o["release"] > now + _TIME_EPS:
                        continue
                    key = (o["release"], self.it_order[it], it)
                    if best_key is None or key < best_key:
                        best, best_key = it, key
                if best < 0:
                    break
                self._start(now, best, lane)

    def _dispatch_planned(self, now):
        from .. import api

        kw = self._store_arrays(now)
        plan = api.plan(**kw, station_store=np.zeros(self.n_stations, np.int64), n_stores=1, config=self.pcfg)
        for order_id, position in zip(plan.order_id.tolist(), plan.order_position.tolist()):
            self.orders[order_id]["rank"] = float(position)  # the held plan the next plan starts from
        items = list(self.open_items)
        wake = math.inf
        for k, it in enumerate(items):
            if self.it_state[it] != 0:
                continue
            start = plan.item_start_s[k]
            lane = int(plan.item_lane[k])
            if lane < 0:
                continue
            if start <= _TIME_EPS:
                if self.lane_item[self.it_station[it]][lane] < 0:
                    self._start(now, it, lane)
            else:
                wake = min(wake, now + start)
        if self.cfg.idle_start_asap_s > 0:
            self._start_asap_on_idle_lanes(now, items, plan)
        # look again when the plan next starts something (earlier wake-ups go stale)
        if wake != self.next_wake:
            self.next_wake = wake
            if wake < math.inf:
                self.push(wake, _WAKE, wake)

    def _start_asap_on_idle_lanes(self, now, items, plan):
        """A barista with nothing to make starts the next ASAP ticket the plan has within
        `idle_start_asap_s` (held back by pacing or behind a scheduled order's reserved time); a
        scheduled (just-in-time) ticket still waits for its planned start. Which ticket: with
        `idle_start_walk_ins` the station's earliest planned one on whichever lane, and a walk-in's
        (its customer is waiting in the store) even if it delays the lane's next planned ticket;
        otherwise the earliest planned on this lane. An app order's ticket is started only when the
        lane's next planned item can take the delay and still be ready its margin before its promise."""
        waiting = [k for k, it in enumerate(items)
                   if self.it_state[it] == 0 and int(plan.item_lane[k]) >= 0
                   and plan.item_start_s[k] <= self.cfg.idle_start_asap_s
                   and not self._waits_for_planned_start(self.orders[self.it_order[it]], now)
                   and self._plan_timing(self.orders[self.it_order[it]], now)[0] <= now + _TIME_EPS]
        waiting.sort(key=lambda k: plan.item_start_s[k])
        slack = None
        for st in range(self.n_stations):
            for lane in range(_step_value_at(self.p["stations"][st], now)):
                if self.lane_item[st][lane] >= 0:
                    continue
                mine = [k for k in waiting if self.it_state[items[k]] == 0 and self.it_station[items[k]] == st
                        and (self.cfg.idle_start_walk_ins or int(plan.item_lane[k]) == lane)]
                if not mine:
                    continue
                k, it = mine[0], items[mine[0]]
                walk_in = self.orders[self.it_order[it]]["channel"] in IN_STORE_CHANNELS
                if not (self.cfg.idle_start_walk_ins and walk_in):
                    # started now it runs into the lane's next planned item (if it does) by `delay`
                    if slack is None:
                        slack = dict(zip(plan.order_id.tolist(),
                                         (plan.order_due_s - plan.order_margin_s - plan.order_ready_s).tolist()))
                    ahead = [j for j, jt in enumerate(items) if j != k and self.it_state[jt] == 0
                             and self.it_station[jt] == st and int(plan.item_lane[j]) == lane
                             and plan.item_start_s[j] < plan.item_start_s[k]]
                    if ahead:
                        nxt = min(ahead, key=lambda j: plan.item_start_s[j])
                        delay = self.it_mean[it] - plan.item_start_s[nxt]
                        if delay > 0 and slack[self.it_order[items[nxt]]] < delay:
                            continue
                self._start(now, it, lane)

    # results
    def metrics(self) -> dict:
        served = [o for o in self.orders if not o["rejected"]]
        ready = np.array([o["ready"] for o in served])
        promised = np.array([self._judged_promise(o) for o in served])
        in_store = np.array([o["channel"] in IN_STORE_CHANNELS for o in served], bool)
        walk_in = np.array([o["time"] if o["channel"] in IN_STORE_CHANNELS else o["promised"] + o["offset"]
                            for o in served])
        error = np.abs(ready - promised)
        late = np.maximum(0.0, ready - promised)
        wait = np.where(in_store, ready - walk_in, np.maximum(0.0, ready - walk_in))
        hold = np.maximum(0.0, walk_in - ready)
        horizon = self.p["horizon"]
        open_lane_s = 0.0
        for steps in self.p["stations"]:
            for k, (t, c) in enumerate(steps):
                t_end = steps[k + 1][0] if k + 1 < len(steps) else horizon
                open_lane_s += c * max(0.0, min(t_end, horizon) - max(t, 0.0))

        def pct(a, q):
            return round(float(np.percentile(a, q)), 1) if a.size else 0.0

        hold_p90 = pct(hold, 90)
        return dict(
            orders=len(served),
            quote_error_p50_s=pct(error, 50),
            quote_error_p90_s=pct(error, 90),
            on_time_rate=round(float(np.mean(ready <= promised + self.cfg.on_time_grace_s)), 4) if served else 1.0,
            late_p90_s=pct(late, 90),
            in_store_wait_p90_s=pct(wait, 90),
            hold_p90_s=hold_p90,
            throughput_per_h=round(len(served) / (horizon / 3600.0), 2),
            rejected_orders=sum(1 for o in self.orders if o["rejected"]),
            utilisation=round(self.busy_s / open_lane_s, 4) if open_lane_s > 0 else 0.0,
            shelf_time_p90_s=hold_p90,  # DESIGN.md: the same quantity as hold_p90_s (fire by arrival's name)
            **window_metrics(served, self.pcfg),
        )


def window_metrics(served: list[dict], planner_config: PlannerConfig, window: WindowConfig = DEFAULT_WINDOW) -> dict:
    """window_coverage: the share of served orders ready inside their promised window (api.promise_window
    from the promise and the quote's margin; the baselines have no margin, so they get the minimum
    width); window_width_p50_s: the median width."""
    if not served:
        return dict(window_coverage=1.0, window_width_p50_s=0.0)
    bounds = np.array([promise_window(o["promised"], o["margin"], safety_z=planner_config.safety_z, config=window)
                       for o in served])
    ready = np.array([o["ready"] for o in served])
    inside = (ready >= bounds[:, 0]) & (ready <= bounds[:, 1])
    return dict(window_coverage=round(float(np.mean(inside)), 4),
                window_width_p50_s=round(float(np.median(bounds[:, 1] - bounds[:, 0])), 1))


def simulate(scenario: dict, policy: str, planner_config: PlannerConfig = DEFAULT_PLANNER,
             sim_config: SimulatorConfig = DEFAULT_SIMULATOR, learning: LearningConfig | None = None) -> dict:
    """Run one scenario under one policy; returns the DESIGN.md metrics. `learning`: the planner learns
    prep times as it goes (None: it plans with the configured ones)."""
    return StoreSim(scenario, policy, planner_config, sim_config, learning).run()



_Parser = one_line_parser(ScenarioError)


def main(argv=None) -> int:
    parser = _Parser(prog="python -m core_native.tools.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", required=True, help="scenario JSON file (DESIGN.md format)")
    parser.add_argument("--policy", required=True, help="planner, fixed or fifo")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=None,
                        help="override the scenario's seed (judge noisy scenarios over several seeds)")
    parser.add_argument("--learn", action="store_true",
                        help="the planner learns prep times from the items it sees finish (core_native.learning)")
    try:
        args = parser.parse_args(argv)
        if args.policy not in POLICIES:
            raise ScenarioError(f"unknown policy '{args.policy}' (choose {', '.join(POLICIES)})")
        scenario = load_scenario(args.scenario)
        if args.seed is not None:
            scenario["_"]["seed"] = args.seed
        result = simulate(scenario, args.policy, learning=DEFAULT_LEARNING if args.learn else None)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = dict(scenario=scenario.get("name", args.scenario), policy=args.policy, **result)
    print_figures(result, as_json=args.json, width=22)
    return 0


if __name__ == "__main__":
    sys.exit(main())
