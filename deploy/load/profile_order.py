"""Where a mobile order's server time goes, in one process: statements and CPU per request, and a profile.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderahead_profile \\
        .venv/bin/python -m deploy.load.profile_order --orders 200 [--stores 10] [--open 6] [--statements] [--learned]
    DATABASE_URL=sqlite:///var/profile.sqlite3 .venv/bin/python -m deploy.load.profile_order ...   # no PostgreSQL

Creates the database when missing, migrates it and seeds load stores (`seed_load`), then places --orders
mobile orders the way the load tool's customer does (quote, place with the demo provider's payment, read
it back) through Django's test client with API tokens: the whole middleware, DRF and service stack, no
HTTP server. A kitchen keeps each store's queue at --open open orders by bumping the oldest to ready and
handing it over (not counted). Prints one JSON object: per request, statements (round trips) and CPU ms;
per order, the CPU spent in each part of the code (cProfile, by the package of the innermost function),
the scheduler's share, and with --statements the statements of one placement, one per line.

`scheduler_share`: per request, the wall and CPU time spent inside core_native's `quote`, `plan` and
`promise_window` (timed around each call, in the same requests as `per_request`'s CPU) and their share of the
request's own wall and CPU time: the quote's share of a placed order's server time is
scheduler_share["place order"]["quote_share_of_cpu"] (and _of_wall).

--learned: every other load store gets learned prep times (every item and station pace, every daypart; the
load stores' earlier learned rows are replaced), so `by_learning` gives statements and CPU per request at
stores with learned rows and at stores without, placed in turn in the same run, and the median ratio of the
CPU of each two orders placed one after the other.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import io
import json
import os
import pstats
import random
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orderahead_profile"

# The innermost function's file decides where its own time goes.
PARTS = [
    ("scheduler kernels (core_native, numba)", re.compile(r"core_native|numba|llvmlite")),
    ("SQL building (django.db.models)", re.compile(r"django/db/models")),
    ("database driver (psycopg, django.db.backends)", re.compile(r"psycopg|django/db/backends|django/db/utils")),
    ("HTTP, middleware, auth (django, other)", re.compile(r"django/")),
    ("DRF (views, serializers, parsers)", re.compile(r"rest_framework")),
    ("logs and metrics (structlog, prometheus)", re.compile(r"structlog|prometheus_client|orderahead/logs")),
    ("app code (fulfilment, stores, kitchen_display, orderahead)",
     re.compile(r"/(fulfilment|stores|kitchen_display|orderahead)/")),
    ("Python built-ins and standard library", re.compile(r"^~|/lib/python3|<frozen|<built-in")),
]


def part_of(filename: str) -> str:
    return next((name for name, pattern in PARTS if pattern.search(filename)), "other")


def ensure_database(url: str) -> None:
    import psycopg

    from orderahead.env import database_from_url

    name = database_from_url(url, base_dir=ROOT)["NAME"]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def statement_kind(sql: str) -> str:
    """A statement without its values, short enough to count alike ones together."""
    sql = re.sub(r"'[^']*'|\b\d+(\.\d+)?\b|%s", "?", sql)
    sql = re.sub(r"\(\?(, \?)*\)", "(...)", sql)
    words = sql.split()
    head = " ".join(words[:2])
    table = next((w for w in words if w.startswith('"') and "_" in w), "")
    return f"{head} {table.split('.')[0]}"


class SchedulerTimer:
    """Wall and CPU time spent inside core_native.api's `quote`, `plan` and `promise_window`, summed since the
    last `take()`. The app calls them as attributes of the module (`planner.quote(...)`), so wrapping the
    module's functions sees every call."""

    CALLS = ("quote", "plan", "promise_window")

    def __init__(self):
        from core_native import api

        self.spent = collections.Counter()
        for name in self.CALLS:
            setattr(api, name, self._timed(name, getattr(api, name)))

    def _timed(self, name, function):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.spent[f"{name}_wall"] += time.perf_counter() - wall
                self.spent[f"{name}_cpu"] += time.process_time() - cpu
        return timed

    def take(self) -> collections.Counter:
        spent, self.spent = self.spent, collections.Counter()
        return spent


def give_learned_prep_times(store_ids: list[int]) -> None:
    """Learned rows as a kitchen that has run for a while has them: every item at its station in every daypart
    (20% slower than configured, 40 samples) and each station's pace (x1.1, 100 samples)."""
    from core_native.learning import DAYPARTS
    from stores.config_cache import learned_prep_changed
    from stores.models import LearnedPrepTime, MenuItem, Station

    rows = []
    for daypart, _, _ in DAYPARTS:
        rows += [LearnedPrepTime(item=item, station_id=item.station_id, daypart=daypart, samples=40,
                                 mean_seconds=1.2 * item.prep_seconds,
                                 variance_seconds2=(1.2 * item.prep_sd_seconds) ** 2)
                 for item in MenuItem.objects.filter(store_id__in=store_ids)]
        rows += [LearnedPrepTime(item=None, station=station, daypart=daypart, samples=100, mean_seconds=1.1,
                                 variance_seconds2=0.01) for station in Station.objects.filter(store_id__in=store_ids)]
    LearnedPrepTime.objects.bulk_create(rows)
    for store_id in store_ids:
        learned_prep_changed(store_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--open", type=int, default=6, help="Open orders a store's kitchen keeps (default 6).")
    parser.add_argument("--statements", action="store_true", help="Print one placement's statements.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--learned", action="store_true",
                        help="Every other store has learned prep times: figures by_learning, with and without.")
    options = parser.parse_args(argv)

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderahead.settings.base")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for rate in ("THROTTLE_ORDER_PLACE", "THROTTLE_QUOTE"):
        os.environ.setdefault(rate, "1000000/min")
    if url.startswith("postgres"):
        ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from fulfilment.models import Order, OrderStatus
    from fulfilment.services.lifecycle import order_mark_ready, order_pick_up
    from stores.models import LearnedPrepTime

    call_command("migrate", verbosity=0)
    load_file = ROOT / "var" / "profile_load.json"
    call_command("seed_load", stores=options.stores, customers=20, out=load_file, stdout=io.StringIO())
    load = json.loads(load_file.read_text())
    learned_stores = set()
    if options.learned:
        LearnedPrepTime.objects.filter(station__store_id__in=[s["id"] for s in load["stores"]]).delete()
        learned_stores = {s["id"] for s in load["stores"][::2]}
        give_learned_prep_times(sorted(learned_stores))
    scheduler = SchedulerTimer()
    rng = random.Random(options.seed)
    client = Client()
    profile = cProfile.Profile()

    def keep_queue_short(store_id: int) -> None:
        open_orders = list(Order.objects.filter(store_id=store_id, status__in=[OrderStatus.CONFIRMED,
                                                                                OrderStatus.IN_PROGRESS])
                           .order_by("created_at").values_list("pk", flat=True))
        for pk in open_orders[:max(0, len(open_orders) - options.open)]:
            order_pick_up(order=order_mark_ready(order=Order.objects.get(pk=pk)))

    def place_one(instrument: str, stores: list[dict]):
        """One customer's quote, order and status read: (store id, {request: (statements, cpu seconds, sql,
        wall seconds, time inside the scheduler's calls)}).
        instrument: "count" captures the statements (Django's debug cursor, which costs CPU itself),
        "time" measures CPU alone, "profile" runs cProfile."""
        store = rng.choice(stores)
        headers = {"HTTP_AUTHORIZATION": f"Token {rng.choice(load['tokens'])}"}
        items = [{"item": item, "quantity": 1} for item in rng.sample(store["items"], rng.randint(1, 3))]
        requests = [
            ("quote", lambda: client.post(f"/api/stores/{store['id']}/quote/", {"items": items, "pickup": "asap"},
                                          content_type="application/json", **headers)),
            ("place order", lambda: client.post("/api/orders/", {"store": store["id"], "items": items,
                                                                 "pickup": "asap"}, content_type="application/json",
                                                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex, **headers)),
            ("order status", lambda: client.get(f"/api/orders/{placed['id']}/", **headers)),
        ]
        figures, placed = {}, {}
        for name, call in requests:
            with CaptureQueriesContext(connection) if instrument == "count" else contextlib.nullcontext() as queries:
                scheduler.take()
                started, wall_started = time.process_time(), time.perf_counter()
                if instrument == "profile":
                    profile.enable()
                answer = call()
                if instrument == "profile":
                    profile.disable()
                cpu, wall = time.process_time() - started, time.perf_counter() - wall_started
                inside = scheduler.take()
            if answer.status_code not in (200, 201):
                raise SystemExit(f"{name}: {answer.status_code} {answer.content[:300]!r}")
            if name == "place order":
                placed = json.loads(answer.content)
            sql = [q["sql"] for q in queries.captured_queries] if queries else []
            figures[name] = (len(sql), cpu, sql, wall, inside)
        keep_queue_short(store["id"])
        return store["id"], figures

    learned_or_not = ([s for s in load["stores"] if s["id"] in learned_stores],
                      [s for s in load["stores"] if s["id"] not in learned_stores])

    def stores_to_place_at(number: int) -> list[dict]:
        """Any store; with --learned, learned and not in turn, in pairs whose first alternates (L N, N L, ...),
        so each pair's two orders see the same machine."""
        return learned_or_not[(number + 1) // 2 % 2] if options.learned else load["stores"]

    for _ in range(min(20, options.orders)):  # warm up: compiled kernels loaded, caches filled, queues built
        place_one("time", load["stores"])
    statements: dict[str, int] = collections.Counter()
    cpu: dict[str, float] = collections.Counter()
    # request -> wall, cpu and the scheduler's calls' wall and cpu, summed over the "time" pass
    spent: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    # "learned" / "none" -> request -> statements per request (the "count" pass), CPU seconds per request ("time")
    by_learning = {group: collections.defaultdict(lambda: {"statements": [], "cpu": []})
                   for group in ("learned", "none")}
    example = None
    for instrument in ("count", "time", "profile"):
        for number in range(options.orders):
            store_id, figures = place_one(instrument, stores_to_place_at(number))
            group = by_learning["learned" if store_id in learned_stores else "none"]
            for name, (count, seconds, sql, wall, inside) in figures.items():
                if instrument == "count":
                    statements[name] += count
                    group[name]["statements"].append(count)
                    if name == "place order" and example is None:
                        example = sql
                elif instrument == "time":
                    cpu[name] += seconds
                    group[name]["cpu"].append(seconds)
                    spent[name].update(inside, request_wall=wall, request_cpu=seconds)

    by_part: dict[str, float] = collections.defaultdict(float)
    for (filename, _, _), (_, _, own_time, _, _) in pstats.Stats(profile).stats.items():
        by_part[part_of(filename)] += own_time
    profiled = sum(by_part.values())
    kinds = collections.Counter(statement_kind(sql) for sql in example)
    report = {
        "orders": options.orders, "database": connection.vendor, "open_orders_per_store": options.open,
        "per_request": {name: {"statements": round(statements[name] / options.orders, 2),
                               "cpu_ms": round(1000 * cpu[name] / options.orders, 2)} for name in cpu},
        "cpu_ms_per_order": round(1000 * sum(cpu.values()) / options.orders, 2),
        "statements_per_order": round(sum(statements.values()) / options.orders, 2),
        "cpu_share_by_part": {name: round(seconds / profiled, 3)
                              for name, seconds in sorted(by_part.items(), key=lambda kv: -kv[1])},
        "place_order_statement_kinds": dict(kinds.most_common()),
        "scheduler_share": scheduler_share(spent, options.orders),
    }
    if options.learned:
        report["by_learning"] = learning_figures(by_learning)
    print(json.dumps(report, indent=2))
    if options.statements:
        for sql in example:
            print(sql[:300], file=sys.stderr)
    return 0


def scheduler_share(spent: dict[str, collections.Counter], orders: int) -> dict:
    """Per request and for the whole order (all its requests): ms per order of the request and of each
    scheduler call, and each call's share of the request's wall and CPU time."""
    spent = dict(spent, **{"whole order": sum(spent.values(), collections.Counter())})
    report = {}
    for name, times in spent.items():
        figures = {"request_wall_ms": round(1000 * times["request_wall"] / orders, 2),
                   "request_cpu_ms": round(1000 * times["request_cpu"] / orders, 2)}
        for call in SchedulerTimer.CALLS:
            figures[f"{call}_ms"] = round(1000 * times[f"{call}_wall"] / orders, 3)
            figures[f"{call}_share_of_wall"] = round(times[f"{call}_wall"] / times["request_wall"], 4)
            figures[f"{call}_share_of_cpu"] = round(times[f"{call}_cpu"] / times["request_cpu"], 4)
        report[name] = figures
    return report


def learning_figures(by_learning: dict) -> dict:
    """Statements (mean) and CPU ms (median) per request at stores with learned rows and without, and the
    median over the pairs of orders placed one after the other (one of each) of the ratio of their CPU."""
    report = {group: {name: {"requests": len(f["cpu"]), "statements": round(statistics.mean(f["statements"]), 2),
                             "cpu_ms_p50": round(1000 * statistics.median(f["cpu"]), 2)}
                      for name, f in requests.items() if f["statements"] and f["cpu"]}
              for group, requests in by_learning.items()}
    learned, none = by_learning["learned"], by_learning["none"]
    report["learned_over_none_cpu"] = {
        name: round(statistics.median(a / b for a, b in zip(learned[name]["cpu"], none[name]["cpu"])), 3)
        for name in learned if none[name]["cpu"]}
    return report


if __name__ == "__main__":
    sys.exit(main())
