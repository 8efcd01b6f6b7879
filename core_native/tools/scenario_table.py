"""Every scenario x several seeds x the three policies, judged against issue 27's targets.

    python -m core_native.tools.scenario_table [--seeds 5] [--scenarios DIR_OR_FILE ...] [--json]
                                               [--set NAME=VALUE ...]   (a PlannerConfig / SimulatorConfig field)
                                               [--no-learn]

The planner learns prep times from the items it sees finish (core_native.learning), as the app
does from the kitchen's bumps; `--no-learn` plans with the configured times throughout.

By default the scenarios are the repository's stress days (core_native/scenarios/*.json)
and the shared public ones (../shared/scenarios/*.json next to the repository) when that
folder exists. Each runs with its file's seed and `--seeds - 1` more derived from it
(seed + 1000 k), under planner, fixed and fifo, in a pool of os.cpu_count() processes;
every run is `simulate.simulate` (the figures are its metrics, nothing recomputed).

The markdown table gives, per scenario and policy, the mean and the worst seed of each
judged metric; the planner's row says which targets it meets:

    on_time_rate >= 0.95, quote_error_p90_s <= 75 (public) or 90 (the repository's
    stress days), rejected_orders <= fifo's, in_store_wait_p90_s <= 1.10 x fifo's,
    throughput_per_h >= 0.98 x fifo's.

A target is met on the mean when the planner's mean meets it (against fifo's mean), and
on the worst seed when every seed meets it (against fifo on the same seed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .._cli import one_line_parser
from ..config import DEFAULT_LEARNING, DEFAULT_PLANNER, DEFAULT_SIMULATOR
from .scenario import ScenarioError, load_scenario
from .simulate import POLICIES, simulate

REPO = Path(__file__).resolve().parents[2]
OUR_SCENARIOS = REPO / "core_native" / "scenarios"
PUBLIC_SCENARIOS = REPO.parent / "shared" / "scenarios"
SEED_STEP = 1000
# quote error p90 limits: the public scenarios and the repository's stress days
QUOTE_LIMIT_PUBLIC_S, QUOTE_LIMIT_OURS_S = 75.0, 90.0
ON_TIME_MIN = 0.95
WAIT_RATIO_MAX = 1.10
THROUGHPUT_RATIO_MIN = 0.98
# judged metrics, and which way is worse (for "the worst seed")
JUDGED = (("on_time_rate", min), ("quote_error_p90_s", max), ("rejected_orders", max),
          ("in_store_wait_p90_s", max), ("throughput_per_h", min))
TARGETS = ("on_time", "quote_error", "rejected", "in_store_wait", "throughput")


def seeds_for(file_seed: int, n: int) -> list[int]:
    """The file's own seed first, then n - 1 more derived from it (the same every run)."""
    return [file_seed + SEED_STEP * k for k in range(n)]


def scenario_files(paths) -> list[Path]:
    """Scenario files from folders (their *.json) and files, in the order given, each once."""
    files = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise ScenarioError(f"no *.json scenario files in {p}")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise ScenarioError(f"scenario path not found: {p}")
    seen, out = set(), []
    for f in files:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            out.append(f)
    return out


def quote_limit_for(path: Path) -> float:
    """The issue's quote error limit: 90 s for the repository's stress days, 75 s for every other file."""
    return QUOTE_LIMIT_OURS_S if path.resolve().parent == OUR_SCENARIOS.resolve() else QUOTE_LIMIT_PUBLIC_S


def _run_one(job):
    path, seed, policy, planner_config, sim_config, learning = job
    scenario = load_scenario(str(path))
    scenario["_"]["seed"] = seed
    return (path, seed, policy), simulate(scenario, policy, planner_config, sim_config, learning)


def configs_with(settings) -> tuple:
    """DEFAULT_PLANNER and DEFAULT_SIMULATOR with `NAME=VALUE` settings (a field of either) changed:
    how a tunable is compared on the whole table before its default changes."""
    planner, sim = DEFAULT_PLANNER, DEFAULT_SIMULATOR
    for setting in settings or ():
        name, sep, text = setting.partition("=")
        if not sep:
            raise ScenarioError(f"--set wants NAME=VALUE, got {setting!r}")
        for cfg_name in ("planner", "sim"):
            cfg = planner if cfg_name == "planner" else sim
            fields = {f.name: f for f in dataclasses.fields(cfg)}
            if name in fields:
                kind = type(getattr(cfg, name))
                try:
                    value = (text.lower() in ("1", "true", "yes")) if kind is bool else kind(text)
                except ValueError:
                    raise ScenarioError(f"--set {name}: {text!r} is not a {kind.__name__}") from None
                if cfg_name == "planner":
                    planner = dataclasses.replace(planner, **{name: value})
                else:
                    sim = dataclasses.replace(sim, **{name: value})
                break
        else:
            raise ScenarioError(f"--set {name}: not a PlannerConfig or SimulatorConfig field")
    return planner, sim


def run_all(files, n_seeds: int, workers: int | None = None,
            configs=(DEFAULT_PLANNER, DEFAULT_SIMULATOR), learning=DEFAULT_LEARNING) -> list[dict]:
    """Every file x seed x policy through simulate(), in parallel; one dict per file with the per-seed metrics.
    `learning`: the planner's (None: it plans with the configured prep times)."""
    plan = []
    for f in files:
        sc = load_scenario(str(f))  # a bad file fails here, before any work starts
        plan.append((f, sc.get("name", f.stem), seeds_for(sc["_"]["seed"], n_seeds)))
    # planner runs are the slow ones: hand them out first so the pool ends together
    jobs = [(str(f), s, pol, *configs, learning) for pol in POLICIES for f, _, seeds in plan for s in seeds]
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        done = dict(map(_run_one, jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = dict(pool.map(_run_one, jobs))
    return [dict(name=name, file=str(f), quote_limit_s=quote_limit_for(f), seeds=seeds,
                 runs={pol: [done[(str(f), s, pol)] for s in seeds] for pol in POLICIES})
            for f, name, seeds in plan]


def _mean(values):
    return sum(values) / len(values)


def summarise(runs: list[dict]) -> dict:
    """Mean and worst seed of each judged metric, from one policy's per-seed metrics."""
    return {key: dict(mean=round(_mean([r[key] for r in runs]), 4), worst=worse([r[key] for r in runs]))
            for key, worse in JUDGED}


def _ratio(a, b):
    if b > 0:
        return a / b
    return 1.0 if a <= 0 else float("inf")


def judge(planner: list[dict], fifo: list[dict], quote_limit_s: float) -> dict:
    """The planner against issue 27's targets, per target: met on the mean, met on every seed (the
    relative ones against fifo on the same seed), and the mean and worst figure judged."""
    per_seed = {
        "on_time": [p["on_time_rate"] for p in planner],
        "quote_error": [p["quote_error_p90_s"] for p in planner],
        "rejected": [p["rejected_orders"] - f["rejected_orders"] for p, f in zip(planner, fifo)],
        "in_store_wait": [_ratio(p["in_store_wait_p90_s"], f["in_store_wait_p90_s"]) for p, f in zip(planner, fifo)],
        "throughput": [_ratio(p["throughput_per_h"], f["throughput_per_h"]) for p, f in zip(planner, fifo)],
    }

    def mean_of(runs, key):
        return _mean([r[key] for r in runs])

    mean = {
        "on_time": mean_of(planner, "on_time_rate"),
        "quote_error": mean_of(planner, "quote_error_p90_s"),
        "rejected": mean_of(planner, "rejected_orders") - mean_of(fifo, "rejected_orders"),
        "in_store_wait": _ratio(mean_of(planner, "in_store_wait_p90_s"), mean_of(fifo, "in_store_wait_p90_s")),
        "throughput": _ratio(mean_of(planner, "throughput_per_h"), mean_of(fifo, "throughput_per_h")),
    }
    meets = {
        "on_time": lambda v: v >= ON_TIME_MIN,
        "quote_error": lambda v: v <= quote_limit_s,
        "rejected": lambda v: v <= 1e-9,
        "in_store_wait": lambda v: v <= WAIT_RATIO_MAX + 1e-9,
        "throughput": lambda v: v >= THROUGHPUT_RATIO_MIN - 1e-9,
    }
    worse_is_low = {"on_time", "throughput"}
    out = {}
    for t in TARGETS:
        worst = (min if t in worse_is_low else max)(per_seed[t])
        out[t] = dict(mean_ok=meets[t](mean[t]), worst_ok=all(meets[t](v) for v in per_seed[t]),
                      mean=round(mean[t], 4), worst=round(worst, 4))
    return out


def build_table(results: list[dict]) -> list[dict]:
    """Summaries and the planner's verdicts, one dict per scenario (what --json prints)."""
    rows = []
    for r in results:
        rows.append(dict(name=r["name"], file=r["file"], seeds=r["seeds"], quote_limit_s=r["quote_limit_s"],
                         policies={pol: summarise(runs) for pol, runs in r["runs"].items()},
                         targets=judge(r["runs"]["planner"], r["runs"]["fifo"], r["quote_limit_s"]),
                         per_seed=r["runs"]))
    return rows


def _fmt(key, value):
    return f"{value:.3f}" if key == "on_time_rate" else f"{value:.1f}" if isinstance(value, float) else str(value)


def _verdict(targets: dict) -> str:
    failed = []
    for t in TARGETS:
        v = targets[t]
        if not v["mean_ok"]:
            failed.append(f"{t} (mean)")
        elif not v["worst_ok"]:
            failed.append(f"{t} (worst)")
    return "pass" if not failed else "FAIL: " + ", ".join(failed)


def markdown(rows: list[dict]) -> str:
    """The table: mean / worst seed per metric; the planner's row adds its ratios to fifo and the verdict."""
    head = ("| scenario | policy | on_time_rate | quote_error_p90_s | rejected_orders | in_store_wait_p90_s "
            "| throughput_per_h | targets |")
    lines = [head, "|" + " --- |" * 8]
    for row in rows:
        for pol in POLICIES:
            s = row["policies"][pol]
            cells = [f"{_fmt(k, s[k]['mean'])} / {_fmt(k, s[k]['worst'])}" for k, _ in JUDGED]
            verdict = ""
            if pol == "planner":
                t = row["targets"]
                cells[3] += f" ({t['in_store_wait']['mean']:.2f}x / {t['in_store_wait']['worst']:.2f}x)"
                cells[4] += f" ({t['throughput']['mean']:.3f}x / {t['throughput']['worst']:.3f}x)"
                verdict = _verdict(t)
            lines.append(f"| {row['name']} | {pol} | " + " | ".join(cells) + f" | {verdict} |")
    n = {len(r["seeds"]) for r in rows}
    lines.append("")
    lines.append(f"Mean / worst of {'/'.join(map(str, sorted(n)))} seeds; planner: (x fifo, mean / worst seed). "
                 f"Quote error limit {QUOTE_LIMIT_PUBLIC_S:g} s public, {QUOTE_LIMIT_OURS_S:g} s stress days.")
    return "\n".join(lines + [""] + window_lines(rows))


def window_lines(rows: list[dict]) -> list[str]:
    """The planner's promised windows per scenario (not judged; issue 27 aims at about 0.9 inside):
    window_coverage and window_width_p50_s, mean over the seeds."""
    lines = ["| scenario | window_coverage | window_width_p50_s |", "| --- | --- | --- |"]
    for row in rows:
        runs = row["per_seed"]["planner"]
        lines.append(f"| {row['name']} | {_mean([r['window_coverage'] for r in runs]):.3f} "
                     f"| {_mean([r['window_width_p50_s'] for r in runs]):.0f} |")
    return lines


def default_scenario_paths() -> list[Path]:
    paths = [OUR_SCENARIOS]
    if PUBLIC_SCENARIOS.is_dir():
        paths.append(PUBLIC_SCENARIOS)
    return paths


_Parser = one_line_parser(ScenarioError)


def main(argv=None) -> int:
    parser = _Parser(prog="python -m core_native.tools.scenario_table", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per scenario: the file's and n - 1 derived")
    parser.add_argument("--scenarios", nargs="+", default=None,
                        help="scenario folders or files (default: core_native/scenarios and ../shared/scenarios)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default os.cpu_count())")
    parser.add_argument("--set", nargs="+", default=None, metavar="NAME=VALUE",
                        help="change PlannerConfig / SimulatorConfig fields for this run (compare a tunable)")
    parser.add_argument("--no-learn", action="store_true",
                        help="the planner plans with the configured prep times (default: it learns them, as the app)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    try:
        args = parser.parse_args(argv)
        if args.seeds < 1:
            raise ScenarioError("--seeds must be at least 1")
        if args.workers is not None and args.workers < 1:
            raise ScenarioError("--workers must be at least 1")
        files = scenario_files(args.scenarios or default_scenario_paths())
        configs = configs_with(args.set)
        rows = build_table(run_all(files, args.seeds, args.workers, configs,
                                   learning=None if args.no_learn else DEFAULT_LEARNING))
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(dict(seeds=args.seeds, scenarios=rows)))
    else:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
