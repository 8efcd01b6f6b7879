"""CPU per order of the running production stack (`make serve`), the figure docs/SCALING.md sizes from.

    .venv/bin/python manage.py seed_load --stores 50 --customers 200 --out var/load.json --allow-production
    .venv/bin/python -m deploy.load.cpu_per_order --users 40 --seconds 60

Runs Locust headless (deploy/load/locustfile.py) against nginx for --seconds, reads the CPU time of every
process of the stack from /proc before and after (Daphne workers, nginx, PostgreSQL, Redis; Locust itself
is counted apart: it is the customers, not the service), counts the orders placed from /metrics
(orderahead_orders_placed_total, summed over the workers), and prints one JSON object: orders per second
held, CPU seconds per process group, CPU milliseconds per order, and Locust's latency percentiles.
Run it on an otherwise quiet machine: PostgreSQL and Redis are counted whole, whoever else uses them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from deploy.load.run import CSV_PREFIX, locust_headless, read_stats
from deploy.serve import DEFAULT_DATABASE_URL

ROOT = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")
# What belongs to the stack under test when other things run too: Daphne workers whose command line
# matches --daphne (default: any), nginx and Redis whole, PostgreSQL's backends of the stack's database
# plus the server's own background processes (checkpointer, WAL writer, ...), not other databases' backends.
POSTGRES_BACKEND = re.compile(r"^postgres: \S+: \S+ (\S+) ")


def group_of(command: str, daphne: re.Pattern, database: str) -> str | None:
    program = Path(command.split(" ")[0]).name
    if "daphne" in command and daphne.search(command):
        return "daphne"
    if program.startswith("nginx"):
        return "nginx"
    if program.startswith("redis-server"):
        return "redis"
    if command.startswith("postgres") or program == "postgres":
        backend = POSTGRES_BACKEND.match(command)
        return "postgres" if backend is None or backend.group(1) == database else None
    return None


PLACED = re.compile(r'^orderahead_orders_placed_total\{[^}]*outcome="created"[^}]*\} ([0-9.e+]+)$', re.MULTILINE)


def process_cpu(daphne: re.Pattern, database: str) -> dict[int, tuple[str, float]]:
    """Every process of the stack's (group, CPU seconds so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        group = group_of(command, daphne, database)
        if group is not None:
            found[int(entry.name)] = (group, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def orders_placed(host: str) -> float:
    with urllib.request.urlopen(f"{host}/metrics", timeout=10) as response:
        return sum(float(value) for value in PLACED.findall(response.read().decode()))


def cpu_by_group(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds each group used between the two readings (a process that started meanwhile: all of it)."""
    used = {group: 0.0 for group in ("daphne", "nginx", "postgres", "redis")}
    for pid, (group, seconds) in after.items():
        used[group] += seconds - before.get(pid, (group, 0.0))[1]
    return used


def run(host: str, users: int, seconds: int, wait_s: float, load_file: Path, daphne: re.Pattern,
        database: str, user_class: str = "Customer") -> dict:
    placed_before, cpu_before = orders_placed(host), process_cpu(daphne, database)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        _, locust_cpu = locust_headless(host=host, users=users, spawn_rate=users, seconds=seconds,
                                        csv_prefix=Path(tmp) / CSV_PREFIX, load_file=load_file, wait_s=wait_s,
                                        user_classes=[user_class])
        wall = time.monotonic() - started
        stats = {row["Name"]: row for row in read_stats(Path(tmp))}
    cpu_after, placed_after = process_cpu(daphne, database), orders_placed(host)
    orders = placed_after - placed_before
    used = cpu_by_group(cpu_before, cpu_after)
    service = {group: round(seconds, 2) for group, seconds in used.items()}
    place = stats.get("place order", {})
    requests = int(stats.get("Aggregated", {}).get("Request Count", 0))
    return {
        "users": users, "seconds": round(wall, 1), "orders": int(orders), "orders_per_s": round(orders / wall, 2),
        "cpu_s": service, "locust_cpu_s": round(locust_cpu, 2),
        "service_cores": round(sum(service.values()) / wall, 2),
        "cpu_ms_per_order": {group: round(1000 * seconds / max(orders, 1), 1) for group, seconds in service.items()},
        "service_cpu_ms_per_order": round(1000 * sum(service.values()) / max(orders, 1), 1),
        "place_order_ms": {p: place.get(f"{p}%") for p in ("50", "95", "99")},
        "place_order_failures": place.get("Failure Count"),
        "requests_per_s": round(requests / wall, 2),
        "service_cpu_ms_per_request": round(1000 * sum(service.values()) / max(requests, 1), 2),
        "requests": {name: row["Request Count"] for name, row in stats.items() if name != "Aggregated"},
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("LOAD_HOST", "http://127.0.0.1:8080"))
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--wait-s", type=float, default=1.0, help="Pause between one customer's orders.")
    parser.add_argument("--user", default="Customer", choices=["Customer", "StoreReader", "MenuBrowser", "Quoter"],
                        help="Customer orders ahead; StoreReader only reads a store, the yardstick an order's CPU is "
                             "compared with (run both, one after the other, and divide); MenuBrowser only reads "
                             "menus, Quoter only asks for quotes.")
    parser.add_argument("--load-file", type=Path, default=ROOT / "var" / "load.json")
    parser.add_argument("--daphne", default="", help="Count only Daphne processes whose command line has this "
                                                     "(e.g. ' -p 81' for make serve's workers on 8100..).")
    parser.add_argument("--database", default=urlsplit(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)).path[1:],
                        help="The stack's PostgreSQL database (default: DATABASE_URL's, else make serve's).")
    options = parser.parse_args(argv)
    if not options.load_file.exists():
        parser.error(f"{options.load_file} is missing: run manage.py seed_load --out {options.load_file} first")
    print(json.dumps(run(options.host, options.users, options.seconds, options.wait_s, options.load_file,
                         re.compile(re.escape(options.daphne)), options.database, options.user), indent=2))


if __name__ == "__main__":
    main()
