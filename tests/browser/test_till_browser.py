"""The till in a real browser (issue 28): a barista signs in to the kitchen display, opens the store's Till,
scans a member's code (a USB scanner types it and presses Enter), sees who they serve, rings up two items with
no reward and places the order; it is the member's counter order, and the till is ready for the next customer."""

import re

import pytest

from tests.browser.conftest import EXPECT_TIMEOUT_MS, PASSWORD
from tests.live_server import ARTIFACTS, seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNTER = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
TABLET = {"viewport": {"width": 800, "height": 1280}, "has_touch": True, "locale": "en-US"}


@pytest.fixture(scope="module")
def casey(live):
    """A member with 120 stars under a program with a free drink at 100 stars."""
    env = server_env(DATABASE_URL=f"sqlite:///{live.database}", SERVE_VAR=str(live.database.parent))
    return seed(env, f"""
import json
from tests import factories
from fulfilment.models import LoyaltyProgram, Reward
from fulfilment.services.loyalty import loyalty_adjust
program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
Reward.objects.create(program=program, name="Free drink", stars_cost=100, max_value_minor=650)
casey = factories.user("casey", first_name="Casey")
casey.set_password({PASSWORD!r}); casey.save()
loyalty_adjust(member=casey, stars=120, actor=None, reason="Welcome stars")
print(json.dumps({{"casey": casey.pk}}))
""")


def open_till(browser, live, options=COUNTER):
    """A barista signed in to the kitchen display who picked the store's Till on the home page."""
    from playwright.sync_api import expect

    context = browser.new_context(**options)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live.base}/kds/login/")
    page.get_by_label("Username").fill("barista")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=re.compile("^Till")).click()
    expect(page.get_by_role("heading", level=1, name=re.compile("Till"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Add Latte"))).to_be_visible()  # the menu loaded
    return context, page, errors


def test_a_barista_scans_a_member_and_places_a_counter_order(chromium, live, casey):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    code = live.api("/me/member-code/", token=live.token("casey"))["code"]
    context, page, errors = open_till(chromium, live)
    try:
        expect(page.get_by_label("Counter")).to_be_checked()
        scanner = page.get_by_label("Member code or phone")
        expect(scanner).to_be_focused()  # the scanner's keystrokes land here without a tap
        scanner.fill(code)
        scanner.press("Enter")
        expect(page.get_by_text("Serving Casey · 120 stars")).to_be_visible()
        expect(page.get_by_label("No reward")).to_be_checked()
        expect(page.get_by_label(re.compile("^Free drink"))).to_be_visible()

        page.get_by_role("button", name=re.compile("^Add Latte")).click()
        page.get_by_role("button", name=re.compile("^Add Drip coffee")).click()
        page.get_by_role("button", name=re.compile("^Add Croissant")).click()
        lines = page.locator("#lines")
        expect(lines).to_contain_text("1 × Drip coffee")
        page.get_by_role("button", name="Remove one Drip coffee").click()  # changed their mind
        expect(lines).not_to_contain_text("Drip coffee")
        expect(lines).to_contain_text("1 × Latte")
        expect(lines).to_contain_text("1 × Croissant")
        page.screenshot(path=str(ARTIFACTS / "till-member-cart.png"))

        page.get_by_role("button", name="Place order (paid at the till)").click()
        placed = page.locator("#placed")
        expect(placed).to_contain_text(re.compile(r"Order #\d+ for Casey"))
        order_id = int(re.search(r"Order #(\d+)", placed.inner_text()).group(1))
        page.screenshot(path=str(ARTIFACTS / "till-placed.png"))

        [(customer, channel, status, total, discount)] = live.sql(
            "SELECT customer_id, channel, status, total_minor, discount_minor FROM fulfilment_order WHERE id = ?",
            order_id)
        assert (customer, channel, status, discount) == (casey["casey"], "counter", "confirmed", 0)
        expect(placed).to_contain_text(f"Total ${total / 100:.2f}")
        lines_in_db = live.sql("SELECT item_name, quantity FROM fulfilment_orderline WHERE order_id = ? "
                               "ORDER BY item_name", order_id)
        assert lines_in_db == [("Croissant", 1), ("Latte", 1)]

        # Ready for the next customer: nobody served, an empty order, the scanner field focused.
        expect(page.get_by_text("Serving Casey")).to_be_hidden()
        expect(page.get_by_text("Tap items on the menu to add them.")).to_be_visible()
        expect(page.get_by_role("button", name="Place order (paid at the till)")).to_be_disabled()
        expect(scanner).to_be_focused()

        # The code works once: scanned again (a screenshot passed on), the till says so by the field.
        scanner.fill(code)
        scanner.press("Enter")
        expect(page.locator("#member-error")).to_contain_text("already")
        expect(page.get_by_text("Serving Casey")).to_be_hidden()
        assert errors == []
    finally:
        context.close()


def test_the_till_fits_a_tablet(chromium, live, casey):
    context, page, errors = open_till(chromium, live, TABLET)
    try:
        page.screenshot(path=str(ARTIFACTS / "till-tablet.png"), full_page=True)
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert errors == []
    finally:
        context.close()


def test_a_lost_answer_is_retried_with_the_same_key_and_places_one_order(chromium, live, casey):
    """The order reaches the server but its answer is lost (the network drops): the till says so, and Place order
    again sends the same Idempotency-Key, so the drive-thru customer gets one order, not two."""
    from playwright.sync_api import expect

    context, page, errors = open_till(chromium, live)
    try:
        page.get_by_label("Drive-thru").check()
        page.get_by_role("button", name=re.compile("^Add Drip coffee")).click()
        page.get_by_label("Customer name").fill("Wes")
        sent = []

        def lose_the_answer(route):
            sent.append(route.request.headers["idempotency-key"])
            route.fetch()  # the server places the order ...
            route.abort()  # ... and the till never hears back

        page.route("**/orders/", lose_the_answer)
        place = page.get_by_role("button", name="Place order (paid at the till)")
        place.click()
        expect(page.locator("#place-error")).to_contain_text("No connection to the server")
        page.unroute("**/orders/")
        page.on("request", lambda request: request.method == "POST" and request.url.endswith("/orders/")
                and sent.append(request.headers["idempotency-key"]))
        place.click()
        expect(page.locator("#placed")).to_contain_text(re.compile(r"Order #\d+ for Wes"))
        assert len(sent) == 2 and sent[0] == sent[1]
        assert live.sql("SELECT channel FROM fulfilment_order WHERE customer_name = 'Wes'") == [("drive_thru",)]
        assert errors == []
    finally:
        context.close()
