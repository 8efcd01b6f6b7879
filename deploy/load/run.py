"""The load test, headless, for a bounded time, against a server on this machine; a report in a folder.

    .venv/bin/python manage.py seed_load --stores 50 --customers 200 --out var/load.json   # the server's database
    .venv/bin/python -m deploy.load.run --host http://127.0.0.1:8080 --seconds 60 --out var/load-report/

Runs deploy/load/locustfile.py headless: `--users` customers, tills and menu browsers (2:2:1), plus one
barista (expo screen, bumping) and one watching station screen per store, for `--seconds`. Writes Locust's
report into `--out`: report.html, load_stats.csv (one row per request name), load_failures.csv,
load_exceptions.csv, load_stats_history.csv and locust.log; prints each request name's count, failures and latency
percentiles, and exits non-zero when anything failed (as Locust does).

Only a server on this machine (127.0.0.1, ::1 or localhost): the screens' commit-to-screen times compare the
server's clock with this one, and a load test is never pointed at a server that others use. The same
command runs against `make run` (:8000) and `make serve` (:8080); start either with generous limits, or
most orders are refused with 429 (the customer and the till each place more than 20 a minute):

    THROTTLE_ORDER_PLACE=100000/min THROTTLE_QUOTE=100000/min make run
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import json
import os
import resource
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "deploy" / "load" / "locustfile.py"
USER_CLASSES = ["Customer", "Till", "MenuBrowser", "Barista", "Screen"]
CSV_PREFIX = "load"
HTML = "report.html"
LOG = "locust.log"


def loopback_refusal(host: str) -> str | None:
    """Why `host` may not be load-tested, or None for http(s) on this machine."""
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--host must be a URL such as http://127.0.0.1:8080, not {host!r}."
    if parts.hostname == "localhost":
        return None
    try:
        if ipaddress.ip_address(parts.hostname).is_loopback:
            return None
    except ValueError:
        pass
    return (f"{host} is not this machine: the load test runs against loopback only (127.0.0.1, ::1 or localhost), "
            "never against a server other people use. Run it on the server's own machine.")


def locust_headless(*, host: str, users: int, spawn_rate: int, seconds: int, csv_prefix: Path, load_file: Path,
                    wait_s: float, user_classes: list[str], extra: list[str] = (), log=None) -> tuple[int, float]:
    """Run deploy/load/locustfile.py headless (its CSV under `csv_prefix`, its output to `log`, else ours):
    (Locust's exit code, the CPU seconds Locust itself used)."""
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
               "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{seconds}s",
               "--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING", *extra, *user_classes]
    env = {**os.environ, "LOAD_FILE": str(load_file), "LOAD_WAIT_S": str(wait_s)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT if log else None,
                          check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done.returncode, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def read_stats(out: Path) -> list[dict]:
    with open(out / f"{CSV_PREFIX}_stats.csv") as table:
        return list(csv.DictReader(table))


def summary(rows: list[dict]) -> str:
    columns = ["Type", "Name", "Request Count", "Failure Count", "50%", "95%", "99%", "Max Response Time",
               "Requests/s"]
    heads = ["type", "name", "count", "failures", "p50 ms", "p95 ms", "p99 ms", "max ms", "per s"]
    table = [heads] + [[_short(row[column]) for column in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(heads))]
    return "\n".join("  ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                               for i, (cell, width) in enumerate(zip(line, widths))) for line in table)


def _short(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.1f}" if number != int(number) else str(int(number))


def orders_line(rows: list[dict], seconds: float) -> str:
    """Orders placed (answered 200/201), in all and by channel, from the stats rows."""
    placed = {row["Name"].removeprefix("place order").strip(" ()") or "mobile":
              int(row["Request Count"]) - int(row["Failure Count"])
              for row in rows if row["Name"].startswith("place order")}
    total = sum(placed.values())
    return (f"Orders placed: {total} ({total / seconds:.1f}/s): "
            + (", ".join(f"{channel} {count}" for channel, count in sorted(placed.items())) or "none"))


def failures(out: Path) -> list[dict]:
    path = out / f"{CSV_PREFIX}_failures.csv"
    if not path.exists():
        return []
    with open(path) as table:
        return sorted(csv.DictReader(table), key=lambda row: -int(row["Occurrences"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", required=True, help="The server, on this machine: http://127.0.0.1:8000 "
                                                      "(make run) or http://127.0.0.1:8080 (make serve).")
    parser.add_argument("--seconds", type=int, default=60, help="How long the load runs (default 60).")
    parser.add_argument("--out", type=Path, required=True, help="The folder the report is written to.")
    parser.add_argument("--users", type=int, default=20,
                        help="Customers, tills and menu browsers (2:2:1), each one task per --wait-s (default 20).")
    parser.add_argument("--wait-s", type=float, default=1.0, help="Pause between one user's tasks (default 1).")
    parser.add_argument("--open-orders", type=int, default=3,
                        help="Orders a store's barista leaves in the kitchen before bumping the oldest (default 3).")
    parser.add_argument("--baristas", type=int, help="Bumping expo screens (default: one per store).")
    parser.add_argument("--screens", type=int, help="Watching station screens (default: one per store).")
    parser.add_argument("--load-file", type=Path, default=ROOT / "var" / "load.json",
                        help="What manage.py seed_load wrote (default var/load.json).")
    options = parser.parse_args(argv)
    host = options.host.rstrip("/")
    refusal = loopback_refusal(host)
    if refusal:
        parser.error(refusal)
    if options.seconds < 1 or options.users < 1:
        parser.error("--seconds and --users must be at least 1.")
    if not options.load_file.exists():
        parser.error(f"{options.load_file} is missing: run manage.py seed_load --out {options.load_file} against the "
                     "server's database first.")
    load = json.loads(options.load_file.read_text())
    if "staff" not in load or "stations" not in load["stores"][0]:
        parser.error(f"{options.load_file} was written by an older seed_load (no barista): run seed_load again.")
    try:
        urllib.request.urlopen(f"{host}/healthz", timeout=10).close()
    except urllib.error.HTTPError:
        pass  # it answers
    except OSError as error:
        parser.error(f"nothing answers at {host} ({error}): start `make run` or `make serve` first.")

    stores = len(load["stores"])
    baristas = options.baristas or stores
    screens = options.screens or stores
    users = options.users + baristas + screens
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"{options.users} customers, tills and browsers, {baristas} baristas and {screens} screens over {stores} "
          f"stores at {host} for {options.seconds} s ...", flush=True)
    with open(out / LOG, "w") as log:  # Locust's own wide tables and messages; the summary below is shorter
        returncode, locust_cpu = locust_headless(
            host=host, users=users, spawn_rate=min(users, 100), seconds=options.seconds, csv_prefix=out / CSV_PREFIX,
            load_file=options.load_file.resolve(), wait_s=options.wait_s, user_classes=USER_CLASSES, log=log,
            extra=["--stop-timeout", "5", "--html", str(out / HTML), "--open-orders", str(options.open_orders),
                   "--baristas", str(baristas), "--screens", str(screens)])
    if not (out / f"{CSV_PREFIX}_stats.csv").exists():
        print(f"Locust wrote no report (exit {returncode}); the end of {out / LOG}:\n"
              + (out / LOG).read_text()[-3000:], file=sys.stderr)
        return returncode or 1
    rows = read_stats(out)
    print(summary(rows))
    print(orders_line(rows, options.seconds))
    print(f"Locust itself: {locust_cpu:.1f} s of CPU ({locust_cpu / options.seconds:.2f} of a core; near 1 it is the "
          "limit, not the server)")
    for row in failures(out)[:8]:
        print(f"failed {row['Occurrences']}x: {row['Method']} {row['Name']}: {row['Error'][:160]}")
    if any("429" in row["Error"] for row in failures(out)):
        print("The server refused requests with 429: start it with THROTTLE_ORDER_PLACE=100000/min "
              "THROTTLE_QUOTE=100000/min (see docs/SCALING.md).")
    print(f"Report: {out / HTML}, {out / CSV_PREFIX}_stats.csv (and _failures, _exceptions, _stats_history), "
          f"Locust's log {out / LOG}")
    return returncode


if __name__ == "__main__":
    sys.exit(main())
