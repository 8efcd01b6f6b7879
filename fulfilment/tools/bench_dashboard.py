"""Manager dashboard benchmark: one store's busy day in a throwaway SQLite database.

    .venv/bin/python -m fulfilment.tools.bench_dashboard                 # 2,000 orders, 5 timed runs
    .venv/bin/python -m fulfilment.tools.bench_dashboard --orders 5000 --runs 3 --keep /tmp/dash.sqlite3

What it does:
  1. Migrates a new SQLite file (a temporary one, deleted afterwards unless --keep) and seeds one store
     (the test coffee menu: latte, drip, croissant on an espresso bar and an oven) and its manager.
  2. Writes `--orders` orders placed evenly over 06:00-18:00 local on one day, with 1-3 lines each and known
     promised/ready/picked-up times and line start/done times; 3% cancelled, 2% no-shows, 1% refunded; half
     the mobile orders booked in a pickup slot (the slot of their promise).
  3. Times each figure of fulfilment.dashboard on its own, then dashboard_figures (every figure of the page),
     a GET of /dashboard/ as the manager (figures, chart data and template), the ?partial=1 a live page
     fetches on each change, and the orders CSV, `--runs` times each, and prints the median and worst of
     each, plus the number of SQL queries of dashboard_figures. `write_orders` (the busy day's generator)
     also seeds the dashboard's screenshot.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _django(db_path: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "orderahead.settings.test"
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)  # one request log line per timed page would bury the figures


def write_orders(*, store, items, placed: list[dt.datetime], rng: random.Random, now: dt.datetime | None = None,
                 late_seconds: tuple[int, int] = (-120, 240)) -> int:
    """One order of `store` per time in `placed`, with 1-3 lines of `items` each and known times: promised 4-15 min
    after placing (2-7 min at the counter, kiosk and drive-thru), ready `late_seconds` from the promise (a random pick in that range), picked up 10 s-10 min
    later, lines started 30 s-3 min after placing and done in 0.7-1.5x their configured time; 3% cancelled,
    2% no-shows, about 1% of the picked-up ones refunded. Returns the number of lines.

    With `now` (a live day, e.g. a screenshot's morning), nothing happens after it: an order not ready by then
    is still being made (started lines only), one ready but not picked up waits on the shelf. Bench and
    seed data only: it writes placing times instead of the clock's, which the app itself never does.
    """
    from fulfilment.channels import policy
    from fulfilment.models import Channel, Order, OrderLine, OrderStatus, Payment, PickupKind, Refund
    from fulfilment.services.quotes import slot_floor

    channels = [Channel.MOBILE, Channel.MOBILE, Channel.COUNTER, Channel.KIOSK, Channel.DRIVE_THRU]
    rows, plans = [], []
    for created in placed:
        channel = rng.choice(channels)
        # A customer in the store is promised the next few minutes; an app order is placed further ahead.
        promised = created + dt.timedelta(seconds=rng.randint(*((120, 420) if policy(channel).customer_waits_at_store
                                                                else (240, 900))))
        ready = promised + dt.timedelta(seconds=rng.randint(*late_seconds))
        roll = rng.random()
        status = (OrderStatus.CANCELLED if roll < 0.03 else OrderStatus.NO_SHOW if roll < 0.05
                  else OrderStatus.PICKED_UP)
        lines = [(rng.choice(items), rng.randint(1, 2)) for _ in range(rng.randint(1, 3))]
        total = sum(item.price_minor * quantity for item, quantity in lines)
        # Only slot-counting channels get a slot, as quotes.pickup_choose gives them; half of them book one.
        slot = (slot_floor(store, promised) if policy(channel).counts_toward_slot_capacity and rng.random() < 0.5
                else None)
        rows.append(Order(
            store=store, channel=channel, status=status, slot_starts_at=slot,
            pickup_kind=PickupKind.SCHEDULED if slot else PickupKind.ASAP,
            subtotal_minor=total, total_minor=total, currency=store.currency, created_at=created,
            promised_ready_at=promised,
            ready_at=None if status == OrderStatus.CANCELLED else ready,
            picked_up_at=ready + dt.timedelta(seconds=rng.randint(10, 600)) if status == OrderStatus.PICKED_UP
            else None,
            cancelled_at=created + dt.timedelta(seconds=60) if status == OrderStatus.CANCELLED else None))
        plans.append(lines)
    line_rows, payments = [], []
    for order, lines in zip(rows, plans, strict=True):
        made = []
        for item, quantity in lines:
            started = None if order.status == OrderStatus.CANCELLED else order.created_at + dt.timedelta(
                seconds=rng.randint(30, 180))
            done = started and started + dt.timedelta(seconds=int(item.prep_seconds * quantity
                                                                  * rng.uniform(0.7, 1.5)))
            if now is not None:
                started, done = (started if started and started <= now else None), (done if done and done <= now
                                                                                    else None)
            made.append(started)
            line_rows.append(OrderLine(order=order, item=item, item_name=item.name, quantity=quantity,
                                       unit_price_minor=item.price_minor,
                                       line_total_minor=item.price_minor * quantity,
                                       prep_seconds=item.prep_seconds, station=item.station,
                                       started_at=started, done_at=done))
        if now is not None and order.status != OrderStatus.CANCELLED:
            if order.ready_at > now:
                order.status = OrderStatus.IN_PROGRESS if any(made) else OrderStatus.CONFIRMED
                order.ready_at = order.picked_up_at = None
            elif order.status == OrderStatus.PICKED_UP and order.picked_up_at > now:
                order.status, order.picked_up_at = OrderStatus.READY, None
        if order.status == OrderStatus.PICKED_UP and rng.random() < 0.01:
            payments.append(Payment(order=order, provider=Payment.DEMO, amount_minor=order.total_minor,
                                    currency=order.currency, captured_minor=order.total_minor,
                                    refunded_minor=order.total_minor, status="captured"))
    created_at = Order._meta.get_field("created_at")
    created_at.auto_now_add = False  # keep the generated placing times
    try:
        Order.objects.bulk_create(rows, batch_size=500)
    finally:
        created_at.auto_now_add = True
    for line in line_rows:
        line.order_id = line.order.pk
    OrderLine.objects.bulk_create(line_rows, batch_size=1000)
    Payment.objects.bulk_create(payments)
    Refund.objects.bulk_create([Refund(payment=p, amount_minor=p.amount_minor, status=Refund.SUCCEEDED)
                                for p in payments])
    return len(line_rows)


def seed(orders: int, day: dt.date, seed_value: int):
    from django.core.management import call_command
    from django.db import transaction

    from stores.models import StoreMembership
    from tests import factories

    call_command("migrate", verbosity=0)
    rng = random.Random(seed_value)
    with transaction.atomic():
        store = factories.open_store(name="Bench store", slug="bench", timezone="Europe/London")
        menu = factories.coffee_menu(store)
        manager = factories.staff("bench-manager", store, StoreMembership.MANAGER)
        opens = dt.datetime.combine(day, dt.time(6), tzinfo=store.tz)
        placed = [opens + dt.timedelta(seconds=n * 12 * 3600 / orders) for n in range(orders)]
        lines = write_orders(store=store, items=[menu["latte"], menu["drip"], menu["croissant"]], placed=placed,
                             rng=rng)
    return store, manager, lines


# The figures dashboard_figures reads over the chosen days, timed one by one (late_orders_now, the live
# figure, takes no days and is timed beside them).
PER_FIGURE = ("sales_by_channel", "sales_by_bucket", "promise_accuracy", "ticket_times_by_station",
              "ticket_times_by_item", "order_counts", "shelf_times", "slot_load", "in_store_wait")


def _timed(runs: int, work) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--keep", help="SQLite file to write and keep (default: a temporary file, deleted)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.factories builds the store
    tmp = None
    if args.keep:
        db_path = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-dashboard-")
        db_path = os.path.join(tmp.name, "bench.sqlite3")
    _django(db_path)

    from django.db import connection
    from django.test import Client

    from fulfilment import dashboard

    day = dt.date(2026, 3, 10)
    began = time.perf_counter()
    store, manager, lines = seed(args.orders, day, args.seed)
    print(f"seeded {args.orders} orders, {lines} lines in {time.perf_counter() - began:.1f} s ({db_path})")

    end = day + dt.timedelta(days=1)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *rest: queries.append(sql) or execute(sql, *rest)):
        figures = dashboard.dashboard_figures(stores=[store], start=day, end=end)
    client = Client()
    client.force_login(manager)
    response = client.get("/dashboard/", {"date": day.isoformat()})
    assert response.status_code == 200, response.status_code
    each = {name: _timed(args.runs, lambda name=name: getattr(dashboard, name)(stores=[store], start=day, end=end))
            for name in PER_FIGURE}
    each["late_orders_now"] = _timed(args.runs, lambda: dashboard.late_orders_now(stores=[store]))
    figure_ms = _timed(args.runs, lambda: dashboard.dashboard_figures(stores=[store], start=day, end=end))
    page_ms = _timed(args.runs, lambda: client.get("/dashboard/", {"date": day.isoformat()}))
    # What a live page fetches on each change (the figures and their charts' data, without the page around them).
    partial_ms = _timed(args.runs, lambda: client.get("/dashboard/", {"date": day.isoformat(), "partial": "1"}))
    csv_ms = _timed(args.runs, lambda: client.get("/dashboard/orders.csv", {"date": day.isoformat()}).content)
    overall = figures.promise["overall"]
    wait = figures.in_store_wait["overall"]
    print(f"promise: {overall.count} ready, on time {overall.on_time_share:.0%}, p50 {overall.p50:.0f} s, "
          f"p90 {overall.p90:.0f} s; {len(figures.sales_by_bucket)} 15-min buckets; "
          f"{len(figures.slot_load)} slots booked, {sum(r['full'] for r in figures.slot_load)} full; "
          f"in-store wait of {wait.count}: p50 {wait.p50:.0f} s, p90 {wait.p90:.0f} s")
    for name, times in each.items():
        print(f"  {name:24s} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms")
    for name, times in (("figures", figure_ms), ("page", page_ms), ("partial", partial_ms), ("orders.csv", csv_ms)):
        print(f"{name:11s} median {statistics.median(times):7.1f} ms   worst {max(times):7.1f} ms   ({args.runs} runs)")
    print(f"figures: {len(queries)} SQL queries; page: {len(response.content) / 1024:.0f} KiB of HTML")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
