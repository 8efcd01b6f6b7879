"""Manager dashboard figures (issue 26): orders with known times, every figure checked exactly."""

import datetime as dt
import zoneinfo

import pytest

from fulfilment import dashboard
from fulfilment.models import Channel, OrderStatus, Payment, Refund
from stores.models import StoreMembership
from tests import factories

ZONE = "Etc/GMT-2"  # UTC+2 all year: local times below are two hours ahead of UTC
DAY = dt.date(2026, 3, 10)
NEXT_DAY = DAY + dt.timedelta(days=1)


def local(hour: int, minute: int, second: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=zoneinfo.ZoneInfo(ZONE))


@pytest.fixture
def day(db):
    """Store A's day (latte 60 s, drip 20 s, croissant 120 s configured), a store B order, a day-before order."""
    store_a = factories.open_store(name="A", slug="a", timezone=ZONE)
    store_b = factories.open_store(name="B", slug="b", timezone=ZONE)
    menu = factories.coffee_menu(store_a)
    menu_b = factories.coffee_menu(store_b)
    latte, drip, croissant = menu["latte"], menu["drip"], menu["croissant"]
    o1 = factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=500, created=local(8, 1),
                    promised=local(8, 10), ready=local(8, 9), picked_up=local(8, 12))  # 60 s early, 180 s shelf
    factories.line_with_times(o1, latte, quantity=1, started=local(8, 2), done=local(8, 3, 20))  # 80 s
    factories.line_with_times(o1, drip, quantity=2, started=local(8, 2), done=local(8, 3, 20))  # 80 s for two: 40 s each
    o2 = factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=700, created=local(8, 20),
                    promised=local(8, 30), ready=local(8, 30, 30), picked_up=local(8, 31, 30))  # 30 s late: in grace
    factories.line_with_times(o2, latte, quantity=1, started=local(8, 25), done=local(8, 26, 30))  # 90 s
    factories.line_with_times(o2, drip, quantity=1, started=local(8, 25), done=local(8, 25, 22))  # 22 s
    o3 = factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=300, created=local(8, 50),
                    promised=local(9, 0), ready=local(9, 5), picked_up=local(9, 6))  # 300 s late
    factories.line_with_times(o3, croissant, quantity=1, started=local(8, 55), done=local(8, 57, 30))  # 150 s
    factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.CANCELLED, total=400, created=local(9, 10))
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.NO_SHOW, total=600, created=local(9, 20),
               promised=local(9, 30), ready=local(9, 30))  # exactly on time, never collected
    factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.CONFIRMED, total=250, created=local(9, 40),
               promised=local(9, 45))  # still being made at 10:00: late now
    # Not in A's day: the evening before, and store B's order.
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=999,
               created=local(23, 59, day=DAY - dt.timedelta(days=1)))
    ob = factories.order_with_times(store_b, channel=Channel.MOBILE, status=OrderStatus.CONFIRMED, total=888, created=local(8, 5),
                    promised=local(8, 6), ready=local(8, 20))
    factories.line_with_times(ob, menu_b["latte"], quantity=1, started=local(8, 6), done=local(8, 16))
    # Store B has something for every figure, so a figure that leaked B into A's would show it.
    factories.order_with_times(store_b, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=433, created=local(8, 30),
               promised=local(8, 35), ready=local(8, 37), picked_up=local(8, 47))  # waits 420 s, 600 s on the shelf
    factories.order_with_times(store_b, channel=Channel.COUNTER, status=OrderStatus.CANCELLED, total=411, created=local(8, 40))
    factories.order_with_times(store_b, channel=Channel.COUNTER, status=OrderStatus.NO_SHOW, total=422, created=local(9, 0),
               promised=local(9, 5), ready=local(9, 6))  # waits 360 s
    factories.order_with_times(store_b, channel=Channel.MOBILE, status=OrderStatus.PENDING_PAYMENT, total=111, created=local(8, 7),
               slot=local(12, 0))  # holds B's 12:00 slot, not a sale yet
    payment = Payment.objects.create(order=o2, provider=Payment.DEMO, amount_minor=700, currency="USD",
                                     captured_minor=700, refunded_minor=200, status="captured")
    Refund.objects.create(payment=payment, amount_minor=200, status=Refund.SUCCEEDED)
    Refund.objects.create(payment=payment, amount_minor=100, status=Refund.FAILED)
    payment_b = Payment.objects.create(order=ob, provider=Payment.DEMO, amount_minor=888, currency="USD",
                                       captured_minor=888, refunded_minor=77, status="captured")
    Refund.objects.create(payment=payment_b, amount_minor=77, status=Refund.SUCCEEDED)
    return {"a": store_a, "b": store_b}


def test_sales_by_channel_count_sold_orders_only(day):
    rows = dashboard.sales_by_channel(stores=[day["a"]], start=DAY, end=NEXT_DAY)
    assert rows == [{"channel": "counter", "currency": "USD", "orders": 2, "sales_minor": 550},
                    {"channel": "mobile", "currency": "USD", "orders": 3, "sales_minor": 1800}]


def test_sales_by_fifteen_minute_local_bucket(day):
    rows = dashboard.sales_by_bucket(stores=[day["a"]], start=DAY, end=NEXT_DAY)
    at = lambda h, m: dt.datetime(2026, 3, 10, h, m)  # noqa: E731 - local wall-clock labels
    assert [(r["bucket"], r["orders"], r["sales_minor"]) for r in rows] == [
        (at(8, 0), 1, 500), (at(8, 15), 1, 700), (at(8, 45), 1, 300), (at(9, 15), 1, 600), (at(9, 30), 1, 250)]


def test_promise_accuracy_overall_by_channel_and_by_hour(day):
    promise = dashboard.promise_accuracy(stores=[day["a"]], start=DAY, end=NEXT_DAY)
    overall = promise["overall"]
    # errors -60, 30, 300, 0 -> sorted -60, 0, 30, 300; nearest rank: p50 is the 2nd, p90 the 4th
    assert (overall.count, overall.on_time, overall.p50, overall.p90, overall.min, overall.max) == (
        4, 3, 0, 300, -60, 300)
    assert overall.on_time_share == 0.75
    mobile, counter = promise["by_channel"]["mobile"], promise["by_channel"]["counter"]
    assert (mobile.count, mobile.on_time, mobile.p50, mobile.p90, mobile.min, mobile.max) == (3, 2 + 1, 0, 30, -60, 30)
    assert (counter.count, counter.on_time, counter.p50, counter.p90) == (1, 0, 300, 300)
    eight, nine = promise["by_hour"][dt.datetime(2026, 3, 10, 8)], promise["by_hour"][dt.datetime(2026, 3, 10, 9)]
    assert (eight.count, eight.on_time, eight.p50, eight.p90) == (2, 2, -60, 30)
    assert (nine.count, nine.on_time, nine.p50, nine.p90, nine.min, nine.max) == (2, 1, 0, 300, 0, 300)
    assert list(promise["by_hour"]) == [dt.datetime(2026, 3, 10, 8), dt.datetime(2026, 3, 10, 9)]


def test_ticket_times_per_station(day):
    rows = {r["station"]: r["stats"] for r in dashboard.ticket_times_by_station(stores=[day["a"]], start=DAY,
                                                                                end=NEXT_DAY)}
    assert set(rows) == {"espresso", "oven"}
    espresso, oven = rows["espresso"], rows["oven"]
    assert (espresso.count, espresso.p50, espresso.p90, espresso.min, espresso.max) == (4, 80, 90, 22, 90)
    assert (oven.count, oven.p50, oven.p90) == (1, 150, 150)


def test_ticket_times_per_item_flag_drift_over_twenty_percent(day):
    rows = {r["item"]: r for r in dashboard.ticket_times_by_item(stores=[day["a"]], start=DAY, end=NEXT_DAY)}
    latte, drip, croissant = rows["Latte"], rows["Drip coffee"], rows["Croissant"]
    assert (latte["stats"].p50, latte["stats"].p90, latte["configured_seconds"]) == (80, 90, 60)
    assert latte["drift_share"] == pytest.approx(1 / 3) and latte["flagged"]
    assert (drip["stats"].p50, drip["stats"].p90) == (22, 40)  # per unit: 80 s for two is 40 s each
    assert drip["drift_share"] == pytest.approx(0.1) and not drip["flagged"]
    assert croissant["drift_share"] == pytest.approx(0.25) and croissant["flagged"]


def test_counts_late_now_cancelled_no_shows_refunds_and_shelf(day):
    counts = dashboard.order_counts(stores=[day["a"]], start=DAY, end=NEXT_DAY)
    assert counts == {"cancelled": 1, "no_shows": 1,
                      "refunds": [{"currency": "USD", "refunded_minor": 200, "refunds": 1}]}
    assert dashboard.late_orders_now(stores=[day["a"]], now=local(10, 0)) == 1
    assert dashboard.late_orders_now(stores=[day["a"]], now=local(9, 44)) == 0
    shelf = dashboard.shelf_times(stores=[day["a"]], start=DAY, end=NEXT_DAY)
    assert (shelf.count, shelf.p50, shelf.p90, shelf.min, shelf.max) == (3, 60, 180, 60, 180)


def test_a_day_with_nothing_has_empty_figures(day):
    figures = dashboard.dashboard_figures(stores=[day["a"]], start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1),
                                          now=local(10, 0))
    assert figures.sales_by_channel == [] and figures.sales_by_bucket == [] and figures.stations == []
    assert figures.promise["overall"].count == 0 and figures.promise["overall"].p50 is None
    assert figures.shelf.p50 is None and figures.counts["refunds"] == []


def test_manager_of_a_sees_nothing_of_b(day):
    manager_a = factories.staff("manager-a", day["a"], StoreMembership.MANAGER)
    barista_b = factories.staff("barista-b", day["b"], StoreMembership.BARISTA)
    superuser = factories.user("root", is_superuser=True, is_staff=True)
    assert list(dashboard.dashboard_stores_for_user(user=manager_a)) == [day["a"]]
    assert list(dashboard.dashboard_stores_for_user(user=barista_b)) == []
    assert list(dashboard.dashboard_stores_for_user(user=superuser)) == [day["a"], day["b"]]
    figures = dashboard.dashboard_figures(stores=dashboard.dashboard_stores_for_user(user=manager_a), start=DAY,
                                          end=NEXT_DAY, now=local(10, 0))
    # Every figure is A's alone (B has an order for each of them in the fixture).
    assert sum(r["sales_minor"] for r in figures.sales_by_channel) == 2350  # none of B's 888 + 433 + 422
    assert sum(r["orders"] for r in figures.sales_by_bucket) == 5
    assert figures.promise["overall"].count == 4
    assert {r["store"] for r in figures.stations} == {"A"} and {r["store"] for r in figures.items} == {"A"}
    assert figures.counts == {"cancelled": 1, "no_shows": 1,
                              "refunds": [{"currency": "USD", "refunded_minor": 200, "refunds": 1}]}
    assert figures.late_now == 1 and figures.shelf.count == 3 and figures.shelf.max == 180
    assert figures.slot_load == []
    assert figures.in_store_wait["overall"].count == 1 and figures.in_store_wait["overall"].p50 == 900


def test_two_stores_add_up(day):
    figures = dashboard.dashboard_figures(stores=[day["a"], day["b"]], start=DAY, end=NEXT_DAY, now=local(10, 0))
    assert sum(r["sales_minor"] for r in figures.sales_by_channel) == 2350 + 888 + 433 + 422
    assert figures.late_now == 2
    assert figures.promise["overall"].count == 7 and figures.promise["overall"].max == 840
    assert figures.counts == {"cancelled": 2, "no_shows": 2,
                              "refunds": [{"currency": "USD", "refunded_minor": 277, "refunds": 2}]}
    assert (figures.shelf.count, figures.shelf.max) == (4, 600)
    assert [(r["store"], r["slot"], r["orders"]) for r in figures.slot_load] == [("B", dt.datetime(2026, 3, 10, 12),
                                                                                 1)]
    wait = figures.in_store_wait["overall"]  # A's 900 s, B's 420 s and 360 s
    assert (wait.count, wait.p50, wait.p90, wait.min, wait.max) == (3, 420, 900, 360, 900)


# --- The page and the CSV export ----------------------------------------------------------------------------

def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_page_shows_the_day_to_its_manager(day):
    manager = factories.staff("manager-a", day["a"], StoreMembership.MANAGER)
    response = _client(manager).get("/dashboard/", {"date": "2026-03-10"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Dashboard: A" in page and "$18.00 USD" in page and "$5.50 USD" in page  # mobile, counter
    assert '<td id="cancelled">1</td>' in page and '<td id="no-shows">1</td>' in page
    assert '<td id="shelf-p50">1 min</td>' in page and '<td id="shelf-p90">3 min</td>' in page and "$2.00 USD" in page  # refund
    assert "Check prep time" in page and "08:45" in page
    assert "$8.88 USD" not in page and "$8.55 USD" not in page  # store B's mobile and counter sales
    assert "$0.77 USD" not in page and "$2.77 USD" not in page  # B's refund, alone or added to A's


def test_page_range_and_store_picker_for_a_manager_of_two_stores(day):
    manager = factories.staff("manager-ab", day["a"], StoreMembership.MANAGER)
    StoreMembership.objects.create(user=manager, store=day["b"], role=StoreMembership.MANAGER)
    client = _client(manager)
    both = client.get("/dashboard/", {"from": "2026-03-09", "to": "2026-03-10"}).content.decode()
    # Mobile over both days and stores: A's 18.00 on the 10th and 9.99 on the 9th, B's 8.88.
    assert '<option value="' in both and "$36.87 USD" in both and "9 Mar 23:45" in both
    only_b = client.get("/dashboard/", {"date": "2026-03-10", "store": day["b"].pk}).content.decode()
    assert "$8.88 USD" in only_b and "$8.55 USD" in only_b and "$0.77 USD" in only_b
    assert "$18.00 USD" not in only_b and "$2.00 USD" not in only_b  # A's mobile sales and refund


def test_page_refuses_strangers_and_bad_queries(day):
    barista = factories.staff("barista-a", day["a"], StoreMembership.BARISTA)
    manager = factories.staff("manager-a", day["a"], StoreMembership.MANAGER)
    from django.test import Client

    assert Client().get("/dashboard/").status_code == 302  # to the sign-in page
    assert _client(barista).get("/dashboard/").status_code == 403
    assert _client(barista).get("/dashboard/orders.csv").status_code == 403
    client = _client(manager)
    for query in ({"date": "tuesday"}, {"from": "2026-03-10", "to": "2026-03-01"}, {"from": "2026-01-01",
                  "to": "2026-12-31"}, {"store": day["b"].pk}, {"from": "2026-03-10"}):
        response = client.get("/dashboard/", query)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "bad_query"
    assert client.get("/dashboard/orders.csv", {"store": day["b"].pk}).status_code == 400


def test_page_for_today_with_no_orders(day):
    manager = factories.staff("manager-a", day["a"], StoreMembership.MANAGER)
    page = _client(manager).get("/dashboard/").content.decode()
    assert "No orders." in page and 'id="tile-late">1</dd>' in page  # the confirmed 09:45 order is late now


def test_csv_export_is_scoped_to_the_managers_stores(day):
    import csv
    import io

    manager = factories.staff("manager-a", day["a"], StoreMembership.MANAGER)
    response = _client(manager).get("/dashboard/orders.csv", {"date": "2026-03-10"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="orders-2026-03-10.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 6 and {row["store"] for row in rows} == {"A"}
    assert [row["total_minor"] for row in rows] == ["500", "700", "300", "400", "600", "250"]
    assert rows[0]["ready_at"] == "2026-03-10T06:09:00+00:00"
    both = factories.staff("manager-ab", day["a"], StoreMembership.MANAGER)
    StoreMembership.objects.create(user=both, store=day["b"], role=StoreMembership.MANAGER)
    only_b = _client(both).get("/dashboard/orders.csv", {"date": "2026-03-10", "store": day["b"].pk})
    rows_b = list(csv.DictReader(io.StringIO(only_b.content.decode())))
    assert {row["store"] for row in rows_b} == {"B"} and len(rows_b) == 5


def test_benchmark_script_runs_on_a_small_day(tmp_path):
    """The benchmark keeps working as the models change (a small day; its figures are not checked here)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "fulfilment.tools.bench_dashboard", "--orders", "40", "--runs", "1",
                             "--keep", str(tmp_path / "bench.sqlite3")], cwd=root, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "figures     median" in result.stdout and "page        median" in result.stdout


def test_buckets_and_day_follow_the_local_clock_across_a_dst_change(db):
    """Europe/London springs forward at 01:00 on 29 March 2026: the day has 23 hours, labels stay local."""
    store = factories.open_store(name="London", slug="london", timezone="Europe/London")
    london = zoneinfo.ZoneInfo("Europe/London")
    sunday = dt.date(2026, 3, 29)
    for hour, minute in ((0, 30), (2, 30), (23, 50)):
        factories.order_with_times(store, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=100,
                   created=dt.datetime.combine(sunday, dt.time(hour, minute), tzinfo=london))
    factories.order_with_times(store, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=100,
               created=dt.datetime(2026, 3, 29, 23, 10, tzinfo=dt.UTC))  # 00:10 on Monday in London
    rows = dashboard.sales_by_bucket(stores=[store], start=sunday, end=sunday + dt.timedelta(days=1))
    assert [r["bucket"] for r in rows] == [dt.datetime(2026, 3, 29, 0, 30), dt.datetime(2026, 3, 29, 2, 30),
                                           dt.datetime(2026, 3, 29, 23, 45)]


# --- Pickup slots and the in-store wait (known numbers on the day after A's day) -------------------------------

def at_next(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return local(hour, minute, second, day=NEXT_DAY)


def test_slot_load_counts_the_orders_that_took_each_slot_against_capacity(day):
    store_a = day["a"]
    store_a.slot_capacity = 3
    store_a.save()
    noon, quarter_past = at_next(12, 0), at_next(12, 15)
    for status in (OrderStatus.CONFIRMED, OrderStatus.PICKED_UP, OrderStatus.NO_SHOW):
        factories.order_with_times(store_a, channel=Channel.MOBILE, status=status, total=100, created=at_next(11, 0), slot=noon)
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.CANCELLED, total=100, created=at_next(11, 1),
               slot=noon)  # gave its place back
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.READY, total=100, created=local(21, 0),
               slot=quarter_past)  # placed the evening before: counts on the slot's day
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.PENDING_PAYMENT, total=100,
               created=at_next(11, 2), slot=quarter_past)
    factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.CONFIRMED, total=100, created=at_next(11, 3),
               promised=noon)  # a counter order takes no slot (pickup_choose gives it none)
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.CONFIRMED, total=100, created=at_next(11, 4),
               slot=local(0, 0, day=NEXT_DAY + dt.timedelta(days=1)))  # the next day's first slot
    factories.order_with_times(day["b"], channel=Channel.MOBILE, status=OrderStatus.CONFIRMED, total=100, created=at_next(11, 5),
               slot=noon)

    rows = dashboard.slot_load(stores=[store_a], start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1))
    assert rows == [
        {"store_id": store_a.pk, "store": "A", "slot": dt.datetime(2026, 3, 11, 12, 0), "orders": 3, "holding": 1,
         "capacity": 3, "full": True},
        {"store_id": store_a.pk, "store": "A", "slot": dt.datetime(2026, 3, 11, 12, 15), "orders": 2, "holding": 2,
         "capacity": 3, "full": False}]
    both = dashboard.slot_load(stores=[day["b"], store_a], start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1))
    assert [(r["store"], r["slot"].time(), r["orders"], r["capacity"]) for r in both] == [
        ("A", dt.time(12, 0), 3, 3), ("A", dt.time(12, 15), 2, 3), ("B", dt.time(12, 0), 1, 4)]


def test_slot_load_of_orders_placed_through_the_api_counts_mobile_not_counter(api_as, customer_a, barista_store1,
                                                                              store, menu):
    from fulfilment.services.quotes import slot_floor

    def place(user, path, **extra):
        response = api_as(user).post(path, {"store": store.pk, "pickup": pickup, "items": [
            {"item": menu["drip"].pk, "quantity": 1}], **extra}, format="json", **factories.checkout_key())
        assert response.status_code == 201, response.json()

    slot = slot_floor(store, factories.local_now(store) + dt.timedelta(hours=1))
    pickup = (slot + dt.timedelta(minutes=1)).isoformat()
    for _ in range(store.slot_capacity):
        place(customer_a, "/api/orders/")
    place(barista_store1, f"/api/stores/{store.pk}/orders/", channel="counter")
    pickup = (slot + dt.timedelta(minutes=store.slot_minutes, seconds=30)).isoformat()
    place(customer_a, "/api/orders/")
    place(barista_store1, f"/api/stores/{store.pk}/orders/", channel="counter")

    today = slot.astimezone(store.tz).date()  # the store's zone keeps an hour ahead on the same day
    rows = dashboard.slot_load(stores=[store], start=today, end=today + dt.timedelta(days=1))
    local_slot = slot.astimezone(store.tz).replace(tzinfo=None)
    assert [(r["slot"], r["orders"], r["holding"], r["full"]) for r in rows] == [
        (local_slot, store.slot_capacity, store.slot_capacity, True),
        (local_slot + dt.timedelta(minutes=store.slot_minutes), 1, 1, False)]


@pytest.fixture
def waits(day):
    """A's in-store waits on the next day: counter 120, 300, 180 s; kiosk 240, 600 s; drive-thru 90 s; and
    orders whose wait is not an in-store one (mobile, delivery, never ready, store B)."""
    for channel, seconds in ((Channel.COUNTER, 120), (Channel.COUNTER, 300), (Channel.COUNTER, 180),
                             (Channel.KIOSK, 240), (Channel.KIOSK, 600), (Channel.DRIVE_THRU, 90),
                             (Channel.MOBILE, 1000), (Channel.DELIVERY, 500)):
        factories.order_with_times(day["a"], channel=channel, status=OrderStatus.PICKED_UP, total=100, created=at_next(9, 0),
                   ready=at_next(9, 0) + dt.timedelta(seconds=seconds))
    factories.order_with_times(day["a"], channel=Channel.COUNTER, status=OrderStatus.CANCELLED, total=100, created=at_next(9, 5))
    factories.order_with_times(day["b"], channel=Channel.KIOSK, status=OrderStatus.PICKED_UP, total=100, created=at_next(9, 0),
               ready=at_next(10, 0))
    return day


def test_in_store_wait_of_counter_kiosk_and_drive_thru_orders(waits):
    wait = dashboard.in_store_wait(stores=[waits["a"]], start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1))
    overall, by_channel = wait["overall"], wait["by_channel"]
    # 90, 120, 180, 240, 300, 600: nearest rank p50 is the 3rd, p90 the 6th
    assert (overall.count, overall.p50, overall.p90, overall.min, overall.max) == (6, 180, 600, 90, 600)
    assert list(by_channel) == ["counter", "drive_thru", "kiosk"]
    counter, kiosk, drive = by_channel["counter"], by_channel["kiosk"], by_channel["drive_thru"]
    assert (counter.count, counter.p50, counter.p90, counter.min, counter.max) == (3, 180, 300, 120, 300)
    assert (kiosk.count, kiosk.p50, kiosk.p90) == (2, 240, 600)
    assert (drive.count, drive.p50, drive.p90) == (1, 90, 90)
    assert dashboard.in_store_wait(stores=[waits["b"]], start=NEXT_DAY,
                                   end=NEXT_DAY + dt.timedelta(days=1))["overall"].p50 == 3600


def test_in_store_wait_reads_the_channel_table(waits, monkeypatch):
    import dataclasses

    from fulfilment.channels import CHANNEL_POLICIES, policy

    for channel, waits_at_store in ((Channel.DELIVERY, True), (Channel.COUNTER, False)):
        monkeypatch.setitem(CHANNEL_POLICIES, channel,
                            dataclasses.replace(policy(channel), customer_waits_at_store=waits_at_store))
    wait = dashboard.in_store_wait(stores=[waits["a"]], start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1))
    assert list(wait["by_channel"]) == ["delivery", "drive_thru", "kiosk"]
    assert (wait["overall"].count, wait["overall"].p50, wait["overall"].max) == (4, 240, 600)


def test_dashboard_queries_do_not_grow_with_the_number_of_stores(day, waits):
    """One store, and four stores in two zones: the figures read per zone, never per store or per order.
    21 = 16 queries for the whole set of stores (2 of them the 86 log's, 5 the loyalty card's: orders by members
    per channel, members who ordered, members who ordered per day, the ledger's sums per day, a star's value)
    + 5 per zone (the 15-minute buckets and promise accuracy's hours are cut at each zone's own clock).
    The loyalty card's chart by day added one query (members per day) and no per-zone one: its days are cut at
    each store's midnight by one CASE expression (dashboard._local_day), and the ledger's range sums became its
    per-day sums in the same single query; so 20 -> 21 for one store and 25 -> 26 for four."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    factories.order_with_times(day["a"], channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=100, created=local(7, 0),
               slot=local(7, 30))
    store_c = factories.open_store(name="C", slug="c", timezone="Europe/London")
    store_d = factories.open_store(name="D", slug="d", timezone="Europe/London")
    for store in (store_c, store_d):
        menu = factories.coffee_menu(store)
        order = factories.order_with_times(store, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=100,
                           created=local(9, 0), promised=local(9, 5), ready=local(9, 6), picked_up=local(9, 7),
                           slot=local(9, 0))
        factories.line_with_times(order, menu["latte"], quantity=1, started=local(9, 1), done=local(9, 2))

    def count(stores) -> int:
        with CaptureQueriesContext(connection) as queries:
            figures = dashboard.dashboard_figures(stores=stores, start=DAY, end=NEXT_DAY + dt.timedelta(days=1),
                                                  now=local(10, 0))
        assert figures.sales_by_channel and figures.stations and figures.slot_load  # the figures had rows
        return len(queries)

    one_store = count([day["a"]])
    four_stores = count([day["a"], day["b"], store_c, store_d])
    assert one_store <= 21
    assert four_stores <= 26
    assert four_stores - one_store == count([day["a"], store_c]) - one_store  # what grows is the zones


def test_what_was_86d_and_for_how_long_is_the_chosen_stores_own_day(day):
    """Oat milk out 8:00-8:45 and from 9:30 (still out at 10:00), the croissant out 9:00-9:10; store B's 86 and
    a change the evening before the day do not count."""
    from stores import services as store_services
    from stores.models import MenuItem, ModifierOption

    oat = ModifierOption.objects.get(group__store=day["a"], name__icontains="oat")
    croissant = MenuItem.objects.get(store=day["a"], name__icontains="croissant")
    b_item = MenuItem.objects.filter(store=day["b"]).first()
    store_services.item_set_86(item=croissant, eighty_sixed=True, now=local(20, 0) - dt.timedelta(days=1))
    store_services.item_set_86(item=croissant, eighty_sixed=False, now=local(21, 0) - dt.timedelta(days=1))
    for when, available in ((local(8, 0), False), (local(8, 45), True), (local(9, 30), False)):
        store_services.options_set_available(options=[oat], available=available, now=when)
    store_services.item_set_86(item=croissant, eighty_sixed=True, now=local(9, 0))
    store_services.item_set_86(item=croissant, eighty_sixed=False, now=local(9, 10))
    store_services.item_set_86(item=b_item, eighty_sixed=True, now=local(9, 0))

    figures = dashboard.dashboard_figures(stores=[day["a"]], start=DAY, end=NEXT_DAY, now=local(10, 0))
    rows = {(row["kind"], row["id"]): row for row in figures.eighty_six}
    assert list(rows) == [("option", oat.pk), ("item", croissant.pk)]  # longest out first
    assert (rows["option", oat.pk]["times"], rows["option", oat.pk]["out_seconds"],
            rows["option", oat.pk]["still_out"]) == (2, 75 * 60, True)
    assert (rows["item", croissant.pk]["times"], rows["item", croissant.pk]["out_seconds"],
            rows["item", croissant.pk]["still_out"]) == (1, 10 * 60, False)
