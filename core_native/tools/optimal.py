"""How far from optimal is the planner? Small random instances solved exactly.

    python -m core_native.tools.optimal [--instances 20] [--seed 1] [--time-limit 10]
                                        [--family multi|single] [--lanes 1] [--items 40] [--json]

--family multi (the default): each instance is one store: 2-3 stations with 1-3 lanes, 8-40 items in
orders of 1-4 items, integer prep times, release and due times, weights 1-3,
loaded so that not every promise can be kept. OR-Tools CP-SAT solves it
exactly (one cumulative resource per station: identical lanes; order
tardiness = max(0, last finish - due)); the planner (`api.plan`, kernels)
plans it twice: with `THOROUGH_PLANNER` (the offline setting, item search on:
the main figures) and with `DEFAULT_PLANNER` (the live re-plan's cheap
budget: the `live_*` figures). Prints the planner's mean and worst gap in
total weighted tardiness: (planner - optimum) / max(optimum, GAP_FLOOR_S), GAP_FLOOR_S = 60
weighted seconds (one weight-1 order one minute late). The floor is there
because a relative gap means nothing when the optimum is 0 or nearly so: an
earlier version counted such an instance as 100% whatever the planner got
(1 s late and 10 min late alike); now 30 weighted seconds over an optimum of
0 is a 50% gap and 600 is 1000%. Also printed: the plain relative gap over
the instances with optimum >= GAP_FLOOR_S only, and how many instances have
optimum 0 with the planner's tardiness on them.
--family single: the classic single-machine total weighted tardiness problem
(1||sum wjTj) as a store: one station with --lanes lanes (1: the classic),
--items orders of one item each, released at 0, generated as the OR-Library
instances are (Potts & Van Wassenhove 1985; Crauwels, Potts & Van Wassenhove
1998): prep p ~ U[1,100], weight w ~ U[1,10], due ~ U[P(1-TF-RDD/2),
P(1-TF+RDD/2)] with P = sum of preps / lanes and the tardiness factor TF and
range RDD each drawn from {0.2, 0.4, 0.6, 0.8, 1.0} per instance.
--orlib INSTANCES OPTIMA: the same single-station check on instances with
proven optima, OR-Library's wt40.txt and wtopt40.txt (Beasley's OR-Library,
40 jobs; all 125 optima are known), or their first k instances and optima;
CP-SAT is not run. (In 10 s CP-SAT does not solve 40-job 1||sum wjTj
instances: on the random single family it stays far above the planner.)
OR-Tools is a dev/bench dependency only and is imported here, lazily.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

GAP_FLOOR_S = 60.0


def random_instance(rng) -> dict:
    """plan() keyword arguments of one small overloaded store (integer times)."""
    n_stations = int(rng.integers(2, 4))
    lanes = rng.integers(1, 4, n_stations)
    target_items = int(rng.integers(8, 41))
    item_order, item_station, prep, due, weight, release = [], [], [], [], [], []
    order = 0
    while len(item_order) < target_items:
        k = int(min(rng.integers(1, 5), target_items - len(item_order)))
        w = float(rng.integers(1, 4))
        rel = float(rng.integers(0, 120)) if rng.random() < 0.3 else 0.0
        for _ in range(k):
            item_order.append(order)
            item_station.append(int(rng.integers(0, n_stations)))
            prep.append(float(rng.integers(20, 241)))
            weight.append(w)
            release.append(rel)
        order += 1
    prep_a = np.asarray(prep)
    st_a = np.asarray(item_station)
    # per-lane load of the busiest station: dues spread over 40-100% of it, so some must be late
    load = max(prep_a[st_a == s].sum() / lanes[s] for s in range(n_stations))
    order_due = rng.uniform(0.4, 1.0, order) * load + 60.0
    due = [float(np.round(order_due[o])) for o in item_order]
    return dict(
        segment_station=np.arange(n_stations, dtype=np.int64), segment_start_s=np.zeros(n_stations),
        segment_lanes=lanes.astype(np.int64), item_order=np.asarray(item_order, np.int64),
        item_station=st_a.astype(np.int64), item_prep_s=prep_a, item_due_s=np.asarray(due),
        item_weight=np.asarray(weight), item_release_s=np.asarray(release))


def random_single_station_instance(rng, n_items=40, lanes=1) -> dict:
    """plan() keyword arguments of one OR-Library-style 1||sum wjTj instance (see the module doc)."""
    prep = rng.integers(1, 101, n_items).astype(float)
    weight = rng.integers(1, 11, n_items).astype(float)
    tf, rdd = rng.choice([0.2, 0.4, 0.6, 0.8, 1.0], 2)
    total = prep.sum() / lanes
    due = np.round(rng.uniform(total * (1 - tf - rdd / 2), total * (1 - tf + rdd / 2), n_items))
    return dict(
        segment_station=np.zeros(1, np.int64), segment_start_s=np.zeros(1),
        segment_lanes=np.asarray([lanes], np.int64), item_order=np.arange(n_items, dtype=np.int64),
        item_station=np.zeros(n_items, np.int64), item_prep_s=prep, item_due_s=np.maximum(due, 0.0),
        item_weight=weight, item_release_s=np.zeros(n_items))


def solve_exact(inst: dict, time_limit_s: float):
    """(optimal total weighted tardiness, proven optimal?) by CP-SAT."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        print("error: OR-Tools is not installed (pip install ortools); only this check needs it", file=sys.stderr)
        raise SystemExit(2) from None
    model = cp_model.CpModel()
    prep = inst["item_prep_s"].astype(int)
    release = inst["item_release_s"].astype(int)
    horizon = int(release.max() + prep.sum())
    ends, intervals_by_station = [], {}
    for i in range(prep.size):
        start = model.NewIntVar(int(release[i]), horizon, f"s{i}")
        end = model.NewIntVar(0, horizon, f"e{i}")
        interval = model.NewIntervalVar(start, int(prep[i]), end, f"i{i}")
        ends.append(end)
        intervals_by_station.setdefault(int(inst["item_station"][i]), []).append(interval)
    for st, intervals in intervals_by_station.items():
        if int(inst["segment_lanes"][st]) == 1:
            model.AddNoOverlap(intervals)  # the same constraint; CP-SAT propagates it far better
            continue
        model.AddCumulative(intervals, [1] * len(intervals), int(inst["segment_lanes"][st]))
    objective = []
    for o in np.unique(inst["item_order"]):
        members = np.flatnonzero(inst["item_order"] == o)
        due = int(inst["item_due_s"][members].min())
        weight = int(inst["item_weight"][members].max())
        finish = model.NewIntVar(0, horizon, f"f{o}")
        model.AddMaxEquality(finish, [ends[i] for i in members])
        tardy = model.NewIntVar(0, horizon, f"t{o}")
        model.Add(tardy >= finish - due)
        objective.append(weight * tardy)
    model.Minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 2
    status = solver.Solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    return float(solver.ObjectiveValue()), status == cp_model.OPTIMAL


def orlib_instances(path, optima_path, n_jobs=40):
    """(plan() keyword arguments, proven optimum) of each instance of an OR-Library 1||sum wjTj file
    (wt40.txt: per instance n_jobs prep times, then n_jobs weights, then n_jobs due times, all
    whitespace-separated; wtopt40.txt: one optimum a line), as --family single with one lane."""
    numbers = np.asarray(open(path).read().split(), float)
    optima = [float(x) for x in open(optima_path).read().split()]
    for k in range(numbers.size // (3 * n_jobs)):
        p, w, d = numbers[3 * n_jobs * k:3 * n_jobs * (k + 1)].reshape(3, n_jobs)
        yield dict(segment_station=np.zeros(1, np.int64), segment_start_s=np.zeros(1),
                   segment_lanes=np.ones(1, np.int64), item_order=np.arange(n_jobs, dtype=np.int64),
                   item_station=np.zeros(n_jobs, np.int64), item_prep_s=p, item_due_s=d, item_weight=w,
                   item_release_s=np.zeros(n_jobs)), optima[k]


def run(n_instances=20, seed=1, time_limit_s=10.0, family="multi", lanes=1, n_items=40, orlib=None) -> dict:
    """The planner against the optimum. `orlib`: (instances file, optima file) instead of random
    instances and CP-SAT (see `orlib_instances`); then n_instances, seed and family do not apply."""
    from .. import api
    from ..config import DEFAULT_PLANNER, THOROUGH_PLANNER

    rng = np.random.default_rng(seed)
    if orlib is not None:
        cases = orlib_instances(*orlib)
    else:
        cases = ((random_instance(rng) if family == "multi" else random_single_station_instance(rng, n_items, lanes),
                  None) for _ in range(n_instances))
    gaps, live_gaps, rows = [], [], []
    t0 = time.perf_counter()
    plan_s = 0.0
    for k, (inst, known) in enumerate(cases):
        t1 = time.perf_counter()
        planned = api.plan(**inst, config=THOROUGH_PLANNER).total_weighted_tardiness
        plan_s += time.perf_counter() - t1
        planned_live = api.plan(**inst, config=DEFAULT_PLANNER).total_weighted_tardiness
        optimum, proven = (known, True) if known is not None else solve_exact(inst, time_limit_s)
        if optimum is None:
            continue
        gap = (planned - optimum) / max(optimum, GAP_FLOOR_S)
        live_gap = (planned_live - optimum) / max(optimum, GAP_FLOOR_S)
        gaps.append(gap)
        live_gaps.append(live_gap)
        rows.append(dict(instance=k, items=int(inst["item_prep_s"].size), planner=round(planned, 1),
                         optimum=round(optimum, 1), proven_optimal=proven, gap=round(gap, 4),
                         planner_live=round(planned_live, 1), gap_live=round(live_gap, 4)))
    gaps_a = np.asarray(gaps)
    big = [r["gap"] for r in rows if r["optimum"] >= GAP_FLOOR_S]
    zero = [r["planner"] for r in rows if r["optimum"] == 0]
    return dict(instances=len(gaps), mean_gap=round(float(gaps_a.mean()), 4) if gaps else None,
                worst_gap=round(float(gaps_a.max()), 4) if gaps else None, gap_floor_s=GAP_FLOOR_S,
                mean_gap_optimum_above_floor=round(float(np.mean(big)), 4) if big else None,
                zero_optimum_instances=len(zero), zero_optimum_planner_tardiness=zero,
                proven_optimal=sum(r["proven_optimal"] for r in rows),
                live_mean_gap=round(float(np.mean(live_gaps)), 4) if gaps else None,
                live_worst_gap=round(float(np.max(live_gaps)), 4) if gaps else None,
                thorough_plan_s_mean=round(plan_s / max(len(rows), 1), 3),
                seconds=round(time.perf_counter() - t0, 1), rows=rows)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv=None) -> int:
    parser = _Parser(prog="python -m core_native.tools.optimal", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=10.0, help="CP-SAT seconds per instance")
    parser.add_argument("--family", choices=("multi", "single"), default="multi",
                        help="multi: small multi-station stores; single: 1||sum wjTj (one station)")
    parser.add_argument("--lanes", type=int, default=1, help="--family single: lanes of the one station")
    parser.add_argument("--items", type=int, default=40, help="--family single: items (one per order)")
    parser.add_argument("--orlib", nargs=2, metavar=("INSTANCES", "OPTIMA"),
                        help="OR-Library wt40.txt and wtopt40.txt (or a part of them): known optima, no CP-SAT")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.instances < 1 or args.time_limit <= 0 or args.lanes < 1 or args.items < 1:
        print("error: need --instances, --lanes, --items >= 1 and --time-limit > 0", file=sys.stderr)
        return 2
    result = run(args.instances, args.seed, args.time_limit, args.family, args.lanes, args.items, args.orlib)
    if args.json:
        print(json.dumps(result))
        return 0
    for r in result["rows"]:
        print(f"instance {r['instance']:>3}  items {r['items']:>3}  planner {r['planner']:>9}  "
              f"optimum {r['optimum']:>9}{'' if r['proven_optimal'] else '*'}  gap {100 * r['gap']:6.1f}%  "
              f"live: planner {r['planner_live']:>9}  gap {100 * r['gap_live']:6.1f}%")
    print(f"\nmean gap {100 * result['mean_gap']:.2f}%  worst gap {100 * result['worst_gap']:.2f}%  "
          f"({result['proven_optimal']}/{result['instances']} proven optimal; * = best found in time; "
          f"gap = (planner - optimum) / max(optimum, {GAP_FLOOR_S:g}))")
    print(f"live setting (DEFAULT_PLANNER): mean gap {100 * result['live_mean_gap']:.2f}%  "
          f"worst gap {100 * result['live_worst_gap']:.2f}%")
    if result["mean_gap_optimum_above_floor"] is not None:
        print(f"mean relative gap where optimum >= {GAP_FLOOR_S:g}: {100 * result['mean_gap_optimum_above_floor']:.2f}%")
    print(f"instances with optimum 0: {result['zero_optimum_instances']}, planner tardiness on them: "
          f"{result['zero_optimum_planner_tardiness']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
