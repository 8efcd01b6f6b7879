"""The manager dashboard page (issue 26): what a manager reads (tiles, tables in words), the charts' data and their
CSV (orders made here with known times), who may see which store, and the live socket that says "changed"."""

import csv
import datetime as dt
import io
import json
import re
import zoneinfo
from pathlib import Path
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from fulfilment import services
from fulfilment.models import Channel, Order, OrderStatus
from fulfilment.services import LineRequest
from fulfilment.templatetags.dashboard_format import human_duration, human_promise_error
from stores.models import StoreMembership
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
ZONE = "Etc/GMT-2"  # UTC+2 all year
DAY = dt.date(2026, 3, 10)
CHART_NAMES = ("orders_by_quarter", "orders_by_channel", "promise_by_hour", "slot_load", "station_times",
               "member_share", "stars_by_day")


def local(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(hour, minute, second), tzinfo=zoneinfo.ZoneInfo(ZONE))


@pytest.fixture
def morning(db):
    """Store A's morning: 3 orders picked up (60 s early, 30 s late, 300 s late), one cancelled, one no-show,
    one still being made long after its promise; store B has an order of its own. Each store has a manager."""
    store_a = factories.open_store(name="Harbour", slug="harbour", timezone=ZONE)
    store_b = factories.open_store(name="Pearl", slug="pearl", timezone=ZONE)
    menu = factories.coffee_menu(store_a)
    menu_b = factories.coffee_menu(store_b)
    latte, drip, croissant = menu["latte"], menu["drip"], menu["croissant"]
    o1 = factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=500, created=local(8, 1),
                    promised=local(8, 10), ready=local(8, 9), picked_up=local(8, 12))
    factories.line_with_times(o1, latte, quantity=1, started=local(8, 2), done=local(8, 3, 20))  # 80 s
    factories.line_with_times(o1, drip, quantity=2, started=local(8, 2), done=local(8, 3, 20))  # 80 s
    o2 = factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=700, created=local(8, 20),
                    promised=local(8, 30), ready=local(8, 30, 30), picked_up=local(8, 31, 30))
    factories.line_with_times(o2, latte, quantity=1, started=local(8, 25), done=local(8, 26, 30))  # 90 s
    factories.line_with_times(o2, drip, quantity=1, started=local(8, 25), done=local(8, 25, 22))  # 22 s
    o3 = factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=300, created=local(8, 50),
                    promised=local(9, 0), ready=local(9, 5), picked_up=local(9, 6))
    factories.line_with_times(o3, croissant, quantity=1, started=local(8, 55), done=local(8, 57, 30))  # 150 s
    factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.CANCELLED, total=400, created=local(9, 10))
    factories.order_with_times(store_a, channel=Channel.MOBILE, status=OrderStatus.NO_SHOW, total=600, created=local(9, 20),
               promised=local(9, 30), ready=local(9, 30))
    factories.order_with_times(store_a, channel=Channel.COUNTER, status=OrderStatus.CONFIRMED, total=250, created=local(9, 40),
               promised=local(9, 45))  # late now: still being made
    factories.order_with_times(store_b, channel=Channel.MOBILE, status=OrderStatus.PICKED_UP, total=888, created=local(8, 5),
               promised=local(8, 6), ready=local(8, 20), picked_up=local(8, 21))
    factories.line_with_times(Order.objects.filter(store=store_b).get(), menu_b["latte"], quantity=1, started=local(8, 6),
              done=local(8, 16))
    return SimpleNamespace(a=store_a, b=store_b, manager_a=factories.staff("manager-a", store_a, "manager"),
                           manager_b=factories.staff("manager-b", store_b, "manager"))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with this id, tags and extra spaces removed."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(dd|td|span|p)>', html, re.S)
    assert match, f"no element #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def json_script(html: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no json_script #{element_id}"
    return json.loads(match.group(1))


def chart_csv(client, **params) -> list[list[str]]:
    response = client.get("/dashboard/chart.csv", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- What a manager reads --------------------------------------------------------------------------------------

def test_the_tiles_say_the_morning_in_words(morning):
    html = signed_in(morning.manager_a).get("/dashboard/", {"date": DAY.isoformat()}).content.decode()

    assert text_of(html, "tile-orders") == "5"  # sold: 3 picked up, the no-show, the one being made
    assert text_of(html, "tile-sales") == "$23.50 USD"
    assert text_of(html, "tile-on-time") == "75%"  # 3 of the 4 ready orders, within the minute's grace
    assert text_of(html, "tile-p90") == "+5 min" and "late: 9 in 10 orders no later · median on the dot" in html
    assert text_of(html, "tile-late") == "1"
    assert text_of(html, "tile-wait") == "15 min"  # the one counter order made: placed 8:50, ready 9:05
    assert "3 of 4 orders, within 60 s" in html
    # Tables speak in durations: espresso's p50 80 s, the earliest order 60 s early, the shelf's median 1 min.
    assert "<td>1 min 20 s</td>" in html and "1 min early" in html and text_of(html, "shelf-p50") == "1 min"
    assert "Harbour" in html and "Pearl" not in html  # another manager's store is not on the page


def test_the_page_links_to_the_admin_and_the_admin_to_the_page(morning):
    client = signed_in(morning.manager_a)
    assert 'href="/admin/"' in client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/">Dashboard</a>' in client.get("/admin/").content.decode()

    staff_without_store = factories.user("clerk", is_staff=True)
    assert "/dashboard/" not in signed_in(staff_without_store).get("/admin/").content.decode()


def test_the_charts_get_the_same_tables_as_their_csv(morning):
    client = signed_in(morning.manager_a)
    html = client.get("/dashboard/", {"date": DAY.isoformat()}).content.decode()
    charts = json_script(html, "chart-data")

    assert set(charts) == set(CHART_NAMES)
    for name in CHART_NAMES:
        rows = chart_csv(client, chart=name, date=DAY.isoformat())
        assert rows[0] == charts[name]["columns"]
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in charts[name]["rows"]]
        assert f'href="/dashboard/chart.csv?chart={name}&amp;from=2026-03-10&amp;to=2026-03-10"' in html or \
            name == "slot_load"  # its card comes with the pickup-slot figures
    assert json_script(html, "chart-meta") == {"multi_day": False, "multi_store": False, "digits": {"USD": 2}}
    assert '<script src="/static/dashboard/vendor/chart.umd.js" defer></script>' in html


def test_each_charts_csv_holds_the_orders_made(morning):
    client = signed_in(morning.manager_a)
    day = DAY.isoformat()

    assert chart_csv(client, chart="orders_by_quarter", date=day) == [
        ["bucket", "currency", "orders", "sales_minor"],
        ["2026-03-10T08:00", "USD", "1", "500"], ["2026-03-10T08:15", "USD", "1", "700"],
        ["2026-03-10T08:45", "USD", "1", "300"], ["2026-03-10T09:15", "USD", "1", "600"],
        ["2026-03-10T09:30", "USD", "1", "250"]]
    assert chart_csv(client, chart="orders_by_channel", date=day) == [
        ["channel", "channel_name", "currency", "orders", "sales_minor"],
        ["counter", "Counter", "USD", "2", "550"], ["mobile", "Mobile app", "USD", "3", "1800"]]
    # errors: 8h -60, +30; 9h +300, 0 (hour of the promise)
    assert chart_csv(client, chart="promise_by_hour", date=day) == [
        ["hour", "ready", "on_time", "on_time_percent", "p50_seconds", "p90_seconds", "earliest_seconds",
         "latest_seconds"],
        ["2026-03-10T08:00", "2", "2", "100.0", "-60", "30", "-60", "30"],
        ["2026-03-10T09:00", "2", "1", "50.0", "0", "300", "0", "300"]]
    assert chart_csv(client, chart="station_times", date=day) == [
        ["store", "station", "lines", "p50_seconds", "p90_seconds"],
        ["Harbour", "espresso", "4", "80", "90"], ["Harbour", "oven", "1", "150", "150"]]
    response = client.get("/dashboard/chart.csv", {"chart": "station_times", "date": day})
    assert response["Content-Disposition"] == 'attachment; filename="station_times-2026-03-10.csv"'


def test_a_chart_csv_of_another_day_is_empty(morning):
    rows = chart_csv(signed_in(morning.manager_a), chart="orders_by_quarter", date="2026-03-11")
    assert rows == [["bucket", "currency", "orders", "sales_minor"]]


@pytest.mark.parametrize("name", ["", "orders", "ORDERS_BY_CHANNEL", "x" * 500])
def test_an_unknown_chart_is_a_400_that_names_the_charts(morning, name):
    response = signed_in(morning.manager_a).get("/dashboard/chart.csv", {"chart": name, "date": DAY.isoformat()})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_query" and "orders_by_quarter" in error["message"] and len(error["message"]) < 300


def test_another_managers_store_is_refused_on_the_page_and_every_csv(morning):
    client = signed_in(morning.manager_b)
    query = {"store": morning.a.pk, "date": DAY.isoformat()}
    for path, extra in (("/dashboard/", {}), ("/dashboard/orders.csv", {}),
                        *(("/dashboard/chart.csv", {"chart": name}) for name in CHART_NAMES)):
        response = client.get(path, {**query, **extra})
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "bad_query"
    # Their own store's chart holds only their order.
    rows = chart_csv(client, chart="orders_by_channel", date=DAY.isoformat())
    assert rows[1:] == [["mobile", "Mobile app", "USD", "1", "888"]]
    # Someone who manages nothing: 403; signed out: to the sign-in page.
    barista = factories.staff("barista-a", morning.a, StoreMembership.BARISTA)
    assert signed_in(barista).get("/dashboard/chart.csv", {"chart": "slot_load"}).status_code == 403
    assert Client().get("/dashboard/chart.csv", {"chart": "slot_load"}).status_code == 302


def test_the_live_part_alone_for_the_pages_refresh(morning):
    client = signed_in(morning.manager_a)
    part = client.get("/dashboard/", {"date": DAY.isoformat(), "partial": "1"}).content.decode()

    assert part.lstrip().startswith('<div id="figures"') and "<html" not in part
    assert text_of(part, "tile-orders") == "5" and json_script(part, "chart-data")["orders_by_channel"]["rows"]


def test_only_a_range_with_today_is_live(morning):
    client = signed_in(morning.manager_a)
    today = client.get("/dashboard/").content.decode()
    past = client.get("/dashboard/", {"date": DAY.isoformat()}).content.decode()
    one_store = client.get("/dashboard/", {"store": morning.a.pk}).content.decode()

    assert 'data-socket="/ws/dashboard/"' in today and "Live · updated" in today
    assert "data-refresh=\"/dashboard/?partial=1&amp;from=" in today
    assert "data-socket" not in past and "Figures as of" in past
    assert f'data-socket="/ws/dashboard/?store={morning.a.pk}"' in one_store


def test_slot_load_in_store_wait_and_86_cards(morning):
    """Two mobile orders in the 8:00 slot of capacity 2 (full), the no-show alone in 9:30's; the counter order's
    15 min in the store; oat milk out 8:00-8:45 from admin's service."""
    from stores import services as store_services
    from stores.models import ModifierOption, Store

    Store.objects.filter(pk=morning.a.pk).update(slot_capacity=2)
    mobile = Order.objects.filter(store=morning.a, channel=Channel.MOBILE).order_by("created_at")
    Order.objects.filter(pk__in=[mobile[0].pk, mobile[1].pk]).update(slot_starts_at=local(8, 0))
    Order.objects.filter(pk=mobile[2].pk).update(slot_starts_at=local(9, 30))
    oat = ModifierOption.objects.get(group__store=morning.a, name="Oat")
    store_services.options_set_available(options=[oat], available=False, now=local(8, 0))
    store_services.options_set_available(options=[oat], available=True, now=local(8, 45))

    client = signed_in(morning.manager_a)
    html = client.get("/dashboard/", {"date": DAY.isoformat()}).content.decode()

    assert text_of(html, "tile-wait") == "15 min"
    assert "Orders per pickup slot against capacity" in html and "<strong>full</strong>" in html
    assert re.search(r"<th scope=\"row\">Counter</th><td>1</td><td>15 min</td>", html)
    assert re.search(r"<td>Milk: Oat</td><td>option</td><td>1</td><td>45 min</td><td>back</td>", html)
    assert chart_csv(client, chart="slot_load", date=DAY.isoformat()) == [
        ["store", "slot", "orders", "capacity", "full"],
        ["Harbour", "2026-03-10T08:00", "2", "2", "True"], ["Harbour", "2026-03-10T09:30", "1", "2", "False"]]


@pytest.mark.parametrize("seconds, words", [(None, "–"), (0, "0 s"), (45.4, "45 s"), (60, "1 min"), (80, "1 min 20 s"),
                                            (-80, "1 min 20 s"), (3600, "1 h"), (4000, "1 h 6 min")])
def test_durations_in_words(seconds, words):
    assert human_duration(seconds) == words


@pytest.mark.parametrize("seconds, words", [(None, "–"), (45, "+45 s late"), (-12, "12 s early"), (0.3, "on the dot"),
                                            (130, "+2 min 10 s late")])
def test_promise_errors_in_words(seconds, words):
    assert human_promise_error(seconds) == words


# --- The live socket -------------------------------------------------------------------------------------------

ORIGIN = (b"origin", b"http://testserver")


@database_sync_to_async
def _headers(user) -> list[tuple[bytes, bytes]]:
    if user is None:
        return [ORIGIN]
    return [ORIGIN, (b"cookie", f"sessionid={signed_in(user).cookies['sessionid'].value}".encode())]


async def _connect(path: str, user):
    from orderahead.asgi import application

    socket = WebsocketCommunicator(application, path, headers=await _headers(user))
    connected, code = await socket.connect(timeout=5)
    return socket, connected, code


@pytest.fixture
def shop(transactional_db):
    """Two stores with menus, a barista each, and a manager each."""
    one = factories.open_store(name="One", slug="one", timezone=factories.midday_timezone())
    two = factories.open_store(name="Two", slug="two", timezone=factories.midday_timezone())
    return SimpleNamespace(one=one, two=two, menu_one=factories.coffee_menu(one), menu_two=factories.coffee_menu(two),
                           barista_one=factories.staff("barista-one", one, "barista"),
                           barista_two=factories.staff("barista-two", two, "barista"),
                           manager_one=factories.staff("manager-one", one, "manager"),
                           manager_two=factories.staff("manager-two", two, "manager"))


def _counter_order(store, menu, barista) -> Order:
    order, _ = services.order_place(store_id=store.pk, channel=Channel.COUNTER, placed_by=barista, customer_name="Sam",
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)])
    return order



@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_a_manager_hears_that_their_stores_orders_changed(layer, shop):
    socket, connected, _ = await _connect("/ws/dashboard/", shop.manager_one)
    assert connected
    try:
        await database_sync_to_async(_counter_order)(shop.two, shop.menu_two, shop.barista_two)
        assert await socket.receive_nothing(timeout=1)  # another store's order: nothing to re-read

        order = await database_sync_to_async(_counter_order)(shop.one, shop.menu_one, shop.barista_one)
        assert await socket.receive_json_from(timeout=5) == {"type": "changed", "store": shop.one.pk}
        while not await socket.receive_nothing(timeout=0.5):  # the placing's re-plan may tell again
            pass

        from fulfilment.services import kitchen_actions

        await database_sync_to_async(kitchen_actions.kitchen_ticket_bump)(
            store_id=shop.one.pk, actor=shop.barista_one, order_id=order.pk,
            station_id=shop.menu_one["espresso"].pk)
        assert await socket.receive_json_from(timeout=5) == {"type": "changed", "store": shop.one.pk}
    finally:
        await socket.disconnect()


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_a_manager_of_one_store_can_follow_just_that_one(layer, shop):
    socket, connected, _ = await _connect(f"/ws/dashboard/?store={shop.one.pk}", shop.manager_one)
    assert connected
    try:
        await database_sync_to_async(_counter_order)(shop.one, shop.menu_one, shop.barista_one)
        assert (await socket.receive_json_from(timeout=5))["type"] == "changed"
        await socket.send_json_to({"action": "sync", "ref": "r1"})
        while (message := await socket.receive_json_from(timeout=5))["type"] == "changed":
            pass
        assert message == {"type": "pong", "ref": "r1"}
    finally:
        await socket.disconnect()


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_the_dashboard_socket_is_for_managers_of_the_shown_stores_only(layer, shop):
    refusals = [("/ws/dashboard/", None, 4401),                                  # signed out
                ("/ws/dashboard/", shop.barista_one, 4403),                      # staff, but no manager
                (f"/ws/dashboard/?store={shop.one.pk}", shop.manager_two, 4403),  # another store's manager
                ("/ws/dashboard/?store=abc", shop.manager_one, 4403),
                (f"/ws/dashboard/?store={2**70}", shop.manager_one, 4403)]
    for path, user, expected in refusals:
        socket, connected, code = await _connect(path, user)
        await socket.disconnect()
        assert (connected, code) == (False, expected), path


def test_the_dashboards_files_are_served_but_not_precached_by_the_customer_apps_worker():
    from django.contrib.staticfiles import finders

    from fulfilment.pwa import shell_static_paths

    for path in ("dashboard/dashboard.js", "dashboard/dashboard.css", "dashboard/vendor/chart.umd.js"):
        assert finders.find(path), path
    assert not [path for path in shell_static_paths() if path.startswith("dashboard/")]
    pinned = json.loads((ROOT / "vendor" / "chartjs" / "package.json").read_text())["dependencies"]["chart.js"]
    with open(finders.find("dashboard/vendor/chart.umd.js")) as vendored:
        assert f"Chart.js v{pinned}\n" in vendored.read(200)  # `make vendor-chartjs` after changing the pin
    assert finders.find("dashboard/vendor/chart.js.LICENSE.md")
