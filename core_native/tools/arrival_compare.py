"""Fire by arrival on against off: the same scenario with every fire_on_arrival_share set to 0.

    python -m core_native.tools.arrival_compare [--scenario FILE] [--seeds 5] [--set NAME=VALUE ...] [--no-learn] [--json]

Prints shelf_time_p90_s, in_store_wait_p90_s and on_time_rate per policy, mean and worst of the seeds
(scenario_table.seeds_for: the file's seed and n - 1 derived), run as scenario_table runs them (the
planner learning its prep times unless --no-learn; --set changes a PlannerConfig/SimulatorConfig field). Issue 27's claim: with arrival firing the
planner's shelf time drops and in-store wait does not rise. The baselines have no arrival feature, so
their figures are the same on and off (the customers are the same; only the planner listens to them).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

from .._cli import one_line_parser
from ..config import DEFAULT_LEARNING, DEFAULT_PLANNER, DEFAULT_SIMULATOR
from .scenario import ScenarioError, load_scenario, validate_scenario
from .scenario_table import configs_with, seeds_for
from .simulate import POLICIES, simulate

DEFAULT_SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "arrival-firing.json"
# metric -> which way is worse
SHOWN = (("shelf_time_p90_s", max), ("in_store_wait_p90_s", max), ("on_time_rate", min))


def arrival_off(scenario: dict) -> dict:
    """The same scenario, nobody asking to have it made on arrival."""
    raw = {k: copy.deepcopy(v) for k, v in scenario.items() if k != "_"}
    for a in raw["arrivals"]:
        a["fire_on_arrival_share"] = 0
    return validate_scenario(raw)


def compare(scenario: dict, n_seeds: int = 5, configs=(DEFAULT_PLANNER, DEFAULT_SIMULATOR),
            learning=DEFAULT_LEARNING) -> list[dict]:
    """Rows of (policy, arrival on/off, metric mean and worst over the seeds)."""
    rows, seeds = [], seeds_for(scenario["_"]["seed"], n_seeds)
    for label, sc in (("on", scenario), ("off", arrival_off(scenario))):
        for policy in POLICIES:
            runs = []
            for seed in seeds:
                sc["_"]["seed"] = seed
                runs.append(simulate(sc, policy, *configs, learning=learning))
            row = dict(policy=policy, arrival_firing=label)
            for key, worst in SHOWN:
                values = [r[key] for r in runs]
                row[key] = dict(mean=round(sum(values) / len(values), 4), worst=worst(values))
            rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    head = "| policy | arrival firing | " + " | ".join(f"{k} mean (worst)" for k, _ in SHOWN) + " |"
    lines = [head, "|" + "---|" * (2 + len(SHOWN))]
    for r in rows:
        cells = [f"{r[k]['mean']:g} ({r[k]['worst']:g})" for k, _ in SHOWN]
        lines.append(f"| {r['policy']} | {r['arrival_firing']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = one_line_parser(ScenarioError)(prog="python -m core_native.tools.arrival_compare",
                                            description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario JSON with fire_on_arrival_share")
    parser.add_argument("--seeds", type=int, default=5, help="seeds: the file's and n - 1 derived")
    parser.add_argument("--set", nargs="+", default=None, metavar="NAME=VALUE",
                        help="run with a PlannerConfig/SimulatorConfig field changed (as scenario_table --set)")
    parser.add_argument("--no-learn", action="store_true", help="the planner keeps the configured prep times")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    try:
        args = parser.parse_args(argv)
        scenario = load_scenario(args.scenario)
        rows = compare(scenario, args.seeds, configs_with(args.set),
                       learning=None if args.no_learn else DEFAULT_LEARNING)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(dict(scenario=scenario.get("name"), seeds=args.seeds, rows=rows)) if args.json
          else markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
