"""The manager's dashboard on a laptop (1280x800): a manager signs in on the admin's login page, reads a busy
morning (120 orders over the past four hours, made with the benchmark's generator), sees the charts drawn, and
watches a counter order placed elsewhere arrive on the page without a reload. The screenshot goes to
test-artifacts/ (and docs/screenshots/dashboard.png with UPDATE_SCREENSHOTS=1)."""

import re

import pytest

from tests.browser import test_accessibility_browser as accessibility
from tests.browser.conftest import PASSWORD, admin_sign_in, save_screenshot
from tests.live_server import ARTIFACTS, seed, server_env
from tests.test_csp_browser import RECORD_VIOLATIONS

axe_script = accessibility.axe_script  # the fixture: axe-core from tests/browser/node_modules (`make axe`)

pytestmark = [pytest.mark.browser]

LAPTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1, "locale": "en-US"}

# Harbour Roasters' manager, and its morning so far: orders placed over the past four hours, busiest three
# hours ago, the last ones still being made or waiting on the shelf.
MORNING = f"""
import datetime as dt, json, random
from django.utils import timezone
from fulfilment.tools.bench_dashboard import write_orders
from stores.models import MenuItem, Store, StoreMembership
from tests import factories
store = Store.objects.get(slug="harbour-roasters")
manager = factories.user("manager", first_name="Mo", is_staff=True)
manager.set_password({PASSWORD!r}); manager.save()
StoreMembership.objects.create(user=manager, store=store, role="manager")
rng = random.Random(26)
now = timezone.now()
placed = sorted(now - dt.timedelta(seconds=rng.triangular(90, 4 * 3600, 3 * 3600)) for _ in range(120))
items = list(MenuItem.objects.filter(store=store, name__in=["Latte", "Drip coffee", "Croissant"]))
lines = write_orders(store=store, items=items, placed=placed, rng=rng, now=now, late_seconds=(-180, 100))
# Every third order picked up is a member's, who earned 10 stars at pickup: the Loyalty card's charts have data.
from fulfilment.models import LoyaltyEntry, Order
from fulfilment.services import loyalty
members = [factories.user(f"dash-member-{{i}}") for i in range(5)]
picked_up = list(Order.objects.filter(store=store, status="picked_up").order_by("pk"))[::3]
for i, order in enumerate(picked_up):
    Order.objects.filter(pk=order.pk).update(customer=members[i % 5])
    loyalty.ledger_write(member=members[i % 5], kind=LoyaltyEntry.EARN, stars=10, key=f"dash-earn-{{order.pk}}",
                         order=order, now=order.picked_up_at)
print(json.dumps({{"manager": manager.pk, "lines": lines}}))
"""


@pytest.fixture(scope="module")
def morning(live):
    return seed(server_env(DATABASE_URL=f"sqlite:///{live.database}"), MORNING)


def charted_pixels(page, name: str) -> int:
    """Painted pixels of chart `name`'s canvas (0: not drawn)."""
    return page.evaluate("""name => {
        const canvas = document.getElementById(`chart-${name}`);
        if (!canvas || !window.Chart || !Chart.getChart(canvas)) return 0;
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
        return painted;
    }""", name)


def open_dashboard(context, live, errors: list):
    """The manager signs in on the admin's login page, which leads on to the dashboard."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    admin_sign_in(page, f"{live.base}/admin/login/?next=/dashboard/", "manager")
    expect(page.get_by_role("heading", level=1, name="Dashboard: Harbour Roasters")).to_be_visible()
    return page


def test_a_manager_reads_the_morning_and_sees_it_move(chromium, live, morning):
    from playwright.sync_api import expect

    context = chromium.new_context(**LAPTOP)
    context.add_init_script(RECORD_VIOLATIONS)
    errors = []
    try:
        page = open_dashboard(context, live, errors)
        live_state = page.locator("#live-state")
        expect(live_state).to_have_text(re.compile(r"^Live · updated \d\d:\d\d:\d\d$"))
        expect(live_state).to_have_class(re.compile(r"\bconnected\b"))
        for name in ("orders_by_quarter", "orders_by_channel", "promise_by_hour", "station_times", "member_share",
                     "stars_by_day"):
            assert charted_pixels(page, name) > 500, f"{name} is not drawn"
            # Drawn: its table folds away under the chart (still there for a screen reader, and as CSV).
            expect(page.locator(f"#table-{name}")).not_to_have_attribute("open", "")
        orders = int(page.locator("#tile-orders").inner_text())
        assert 100 <= orders <= 120  # the morning's, less the cancelled ones
        expect(page.locator("#tile-on-time")).to_have_text(re.compile(r"^\d+%$"))
        expect(page.locator("#tile-p90")).to_have_text(re.compile(r"^([+−]\d.* s|[+−]\d+ min|on the dot)$"))
        save_screenshot(page, "dashboard")
        page.screenshot(path=str(ARTIFACTS / "dashboard-full.png"), full_page=True)  # the whole page, to look at
        assert page.evaluate("window.__csp") == []  # styles and scripts from static files only

        # A barista rings up an order at the counter; the page shows it without a reload.
        page.evaluate("window.notReloaded = true")
        barista = live.token("barista")
        live.api(f"/stores/{live.ids['store']}/orders/", {"channel": "counter", "pickup": "asap",
                                                           "customer_name": "Sam",
                                                           "items": [{"item": live.ids["drip"], "quantity": 1}]},
                 token=barista)
        expect(page.locator("#tile-orders")).to_have_text(str(orders + 1))
        assert page.evaluate("window.notReloaded") is True
        assert charted_pixels(page, "orders_by_quarter") > 500  # drawn again from the new figures
        assert charted_pixels(page, "stars_by_day") > 500  # the Loyalty card's too
        expect(live_state).to_have_text(re.compile(r"^Live · updated "))

        # The admin leads back to the dashboard.
        page.goto(f"{live.base}/admin/")
        page.get_by_role("link", name="Dashboard").click()
        expect(page.get_by_role("heading", level=1, name="Dashboard: Harbour Roasters")).to_be_visible()
        assert page.evaluate("window.__csp") == []
        assert errors == []
    finally:
        context.close()


def test_the_dashboard_has_no_serious_accessibility_violations(chromium, live, morning, axe_script):
    from playwright.sync_api import expect

    context = chromium.new_context(**LAPTOP, bypass_csp=True)  # axe is injected as a script of its own
    errors = []
    try:
        page = open_dashboard(context, live, errors)
        expect(page.locator("#live-state")).to_have_class(re.compile(r"\bconnected\b"))
        violations = accessibility.axe_violations(page, axe_script)
        assert violations == [], accessibility.describe("dashboard", violations)
        assert errors == []
    finally:
        context.close()


def test_a_dropped_link_says_not_live_and_comes_back(chromium, live, morning):
    from playwright.sync_api import expect

    context = chromium.new_context(**LAPTOP)
    sockets, server_up = [], [True]

    def dashboard_socket(route):
        """Between the page and the server: passes through while the server is "up", else drops at once."""
        if server_up[0]:
            route.connect_to_server()
            sockets.append(route)
        else:
            route.close(code=1011, reason="test: server away")

    context.route_web_socket(re.compile(r"/ws/dashboard/"), dashboard_socket)
    errors = []
    try:
        page = open_dashboard(context, live, errors)
        state = page.locator("#live-state")
        expect(state).to_have_text(re.compile(r"^Live · updated "))

        server_up[0] = False
        sockets[-1].close(code=1011, reason="test: server away")
        expect(state).to_have_text(re.compile(r"^Not live · updated \d\d:\d\d:\d\d · reconnecting in \d+ s$"))
        expect(state).to_have_class(re.compile(r"\bdropped\b"))

        server_up[0] = True  # the next try (backoff: a few seconds at most here) gets through
        expect(state).to_have_text(re.compile(r"^Live · updated "))
        expect(state).to_have_class(re.compile(r"\bconnected\b"))
        assert errors == []
    finally:
        context.close()
