"""Plan any instance file (DESIGN.md format) and print the plan.

    python -m core_native.plan --instance FILE [--json] [--reference]

Prints every item's lane, start and finish, every order's ready time, and
the totals total_weighted_tardiness, late_items and makespan. Optional item
keys beyond DESIGN.md: prep_sd_s (prep spread, default 0) and just_in_time
(default false); an optional top-level handoff_s (default 0).
"""

from __future__ import annotations

import json
import sys

from ._cli import load_json_file, one_line_parser
from ._layout import PlanError


_Parser = one_line_parser(PlanError)


def _load(path):
    return load_json_file(path, "instance", PlanError)


def _fmt(x):
    return "-" if x is None else f"{x:.1f}"


def main(argv=None) -> int:
    parser = _Parser(prog="python -m core_native.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--instance", required=True, help="instance JSON file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--reference", action="store_true", help="use the pure-Python reference planner")
    try:
        args = parser.parse_args(argv)
        from .instances import plan_instance

        result = plan_instance(_load(args.instance), use_reference=args.reference)
    except PlanError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'item':>5} {'order':>10} {'station':>12} {'lane':>4} {'start_s':>9} {'finish_s':>9}")
    for it in result["items"]:
        print(f"{it['item']:>5} {str(it['order']):>10} {it['station']:>12} {it['lane']:>4} "
              f"{_fmt(it['start_s']):>9} {_fmt(it['finish_s']):>9}")
    print(f"\n{'order':>10} {'ready_s':>9} {'due_s':>9} {'tardy_s':>8}")
    for o in result["orders"]:
        print(f"{str(o['order']):>10} {_fmt(o['ready_s']):>9} {_fmt(o['due_s']):>9} {_fmt(o['tardiness_s']):>8}")
    print()
    for key, value in result["totals"].items():
        print(f"{key}: {value:g}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
