"""The till in a real browser (issue 28): a barista signs in to the kitchen display, opens the store's Till,
scans a member's code (a USB scanner types it and presses Enter), sees who they serve, rings up two items with
no reward and places the order; it is the member's counter order, and the till is ready for the next customer.
An item with options opens the option picker (a required choice with no default, extras up to a limit), its
line shows and sends the options chosen, and the placed panel shows what the customer needs."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import EXPECT_TIMEOUT_MS, PASSWORD
from tests.live_server import ARTIFACTS, seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COUNTER = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}
TABLET = {"viewport": {"width": 800, "height": 1280}, "has_touch": True, "locale": "en-US"}


def live_env(live) -> dict:
    """The environment of the module's live server, to run code against its database (tests.live_server.seed)."""
    return server_env(DATABASE_URL=f"sqlite:///{live.database}", SERVE_VAR=str(live.database.parent))


@pytest.fixture(scope="module")
def casey(live):
    """A member with 120 stars under a program with a free drink at 100 stars; and on the menu a flat white
    whose milk must be chosen (no default; soy is out) with up to two extras."""
    return seed(live_env(live), f"""
import json
from tests import factories
from fulfilment.models import LoyaltyProgram, Reward
from fulfilment.services.loyalty import loyalty_adjust
from stores.models import MenuItem, ModifierGroup, ModifierOption
program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
Reward.objects.create(program=program, name="Free drink", stars_cost=100, max_value_minor=650)
casey = factories.user("casey", first_name="Casey")
casey.set_password({PASSWORD!r}); casey.save()
loyalty_adjust(member=casey, stars=120, actor=None, reason="Welcome stars")
latte = MenuItem.objects.get(store_id={live.ids["store"]}, name="Latte")
milk = ModifierGroup.objects.create(store=latte.store, name="Milk choice", min_choices=1, max_choices=1, position=5)
whole = ModifierOption.objects.create(group=milk, name="Whole milk", position=0)
oat = ModifierOption.objects.create(group=milk, name="Oat milk", price_delta_minor=70, position=1)
ModifierOption.objects.create(group=milk, name="Soy milk", price_delta_minor=60, is_available=False, position=2)
extras = ModifierGroup.objects.create(store=latte.store, name="Extras", min_choices=0, max_choices=2, position=6)
shot = ModifierOption.objects.create(group=extras, name="Extra shot", price_delta_minor=80, position=0)
vanilla = ModifierOption.objects.create(group=extras, name="Vanilla syrup", price_delta_minor=60, position=1)
ModifierOption.objects.create(group=extras, name="Caramel syrup", price_delta_minor=60, position=2)
flat_white = factories.MenuItemFactory(store=latte.store, category=latte.category, station=latte.station,
                                       name="Flat white", price_minor=420, prep_seconds=60)
flat_white.modifier_groups.set([milk, extras])
print(json.dumps({{"casey": casey.pk, "flat_white": flat_white.pk, "oat_milk": oat.pk, "extra_shot": shot.pk,
                  "vanilla": vanilla.pk}}))
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
        # The latte has options: the picker opens with the defaults chosen (a small), so Add is all it takes.
        page.get_by_role("dialog", name="Latte").get_by_role("button", name="Add").click()
        page.get_by_role("button", name=re.compile("^Add Drip coffee")).click()
        page.get_by_role("button", name=re.compile("^Add Croissant")).click()
        lines = page.locator("#lines")
        expect(lines).to_contain_text("1 × Drip coffee")
        page.get_by_role("button", name="Remove one Drip coffee").click()  # changed their mind
        expect(lines).not_to_contain_text("Drip coffee")
        expect(lines).to_contain_text("1 × Latte · Small")
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


def store_clock(live, at: str) -> str:
    """A time from the live database (UTC) as the till shows it in the store's time zone: "9:05" (then AM/PM)."""
    [(zone,)] = live.sql("SELECT timezone FROM stores_store WHERE id = ?", live.ids["store"])
    local = dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    return f"{local.hour % 12 or 12}:{local.minute:02d}\\s?{'AM' if local.hour < 12 else 'PM'}"


def test_a_barista_picks_options_and_the_placed_panel_says_what_the_customer_needs(chromium, live, casey):
    """A flat white needs its milk chosen: the picker says so, shows each option's price and the running price,
    stops the extras at two, and Escape leaves the order as it was. The line shows and sends its options; the
    member's free drink comes off, and the placed panel shows the number, the total with the discount, the ready
    time on the store's clock, and that Casey earns stars at pickup."""
    from playwright.sync_api import expect

    code = live.api("/me/member-code/", token=live.token("casey"))["code"]
    context, page, errors = open_till(chromium, live)
    try:
        scanner = page.get_by_label("Member code or phone")
        scanner.fill(code)
        scanner.press("Enter")
        expect(page.get_by_text("Serving Casey")).to_be_visible()

        flat_white = page.get_by_role("button", name=re.compile("^Add Flat white"))
        flat_white.click()
        picker = page.get_by_role("dialog", name="Flat white")
        expect(picker).to_be_visible()
        whole = picker.get_by_role("radio", name=re.compile("^Whole milk"))
        expect(whole).to_be_focused()  # the choice still to make
        expect(whole).not_to_be_checked()
        expect(picker.get_by_role("radio", name=re.compile("^Soy milk"))).to_be_disabled()  # 86'd
        expect(picker.get_by_role("group", name=re.compile("^Extras"))).to_contain_text("up to 2")
        expect(picker).to_contain_text("Each $4.20")
        picker.get_by_role("button", name="Add").click()  # nothing chosen yet: the picker says what is missing
        expect(picker.get_by_role("alert")).to_have_text("Milk choice: choose 1.")
        expect(whole).to_be_focused()

        oat = picker.get_by_role("radio", name=re.compile("^Oat milk"))
        expect(picker.get_by_role("radio", name="Oat milk +$0.70")).to_be_enabled()  # the price delta in its label
        oat.check()
        picker.get_by_role("checkbox", name=re.compile("^Extra shot")).check()
        picker.get_by_role("checkbox", name=re.compile("^Vanilla syrup")).check()
        expect(picker.get_by_role("checkbox", name=re.compile("^Caramel syrup"))).to_be_disabled()  # two is the most
        expect(picker).to_contain_text("Each $6.30")  # 4.20 + 0.70 + 0.80 + 0.60
        expect(picker.locator("#options-error")).to_be_empty()
        page.screenshot(path=str(ARTIFACTS / "till-option-picker.png"))
        picker.get_by_role("button", name="Add").click()
        expect(picker).to_be_hidden()
        expect(flat_white).to_be_focused()  # back where the barista was
        lines = page.locator("#lines")
        line_name = "Flat white · Oat milk, Extra shot, Vanilla syrup"
        expect(lines).to_contain_text(f"1 × {line_name}")

        # Escape cancels the picker without touching the order, and focus comes back to the item.
        flat_white.click()
        expect(picker).to_be_visible()
        page.keyboard.press("Escape")
        expect(picker).to_be_hidden()
        expect(flat_white).to_be_focused()
        page.get_by_role("button", name=f"Add one {line_name}").click()
        expect(lines).to_contain_text(f"2 × {line_name}")
        expect(lines).to_contain_text("$12.60")

        page.get_by_role("button", name=re.compile("^Add Drip coffee")).click()  # no options: straight in
        expect(picker).to_be_hidden()
        expect(lines).to_contain_text("1 × Drip coffee")
        page.get_by_label(re.compile("^Free drink")).check()

        page.get_by_role("button", name="Place order (paid at the till)").click()
        placed = page.locator("#placed")
        expect(placed).to_contain_text(re.compile(r"Order #\d+ for Casey"))
        order_id = int(re.search(r"Order #(\d+)", placed.inner_text()).group(1))
        page.screenshot(path=str(ARTIFACTS / "till-placed-options.png"))

        [(customer, total, discount, ready_at)] = live.sql(
            "SELECT customer_id, total_minor, discount_minor, promised_ready_at FROM fulfilment_order WHERE id = ?",
            order_id)
        assert customer == casey["casey"] and discount > 0
        [(item, quantity, modifiers)] = live.sql(
            "SELECT item_id, quantity, modifiers FROM fulfilment_orderline WHERE order_id = ? AND item_name = ?",
            order_id, "Flat white")
        assert (item, quantity) == (casey["flat_white"], 2)
        chosen = {m["option_id"]: m["option"] for m in json.loads(modifiers)}
        assert chosen == {casey["oat_milk"]: "Oat milk", casey["extra_shot"]: "Extra shot",
                          casey["vanilla"]: "Vanilla syrup"}

        expect(placed).to_contain_text(f"Free drink: −${discount / 100:.2f}")
        expect(placed).to_contain_text(f"Total ${total / 100:.2f} · Paid at the till")
        expect(placed).to_contain_text(re.compile(f"Ready at {store_clock(live, ready_at)}"))
        expect(placed).to_contain_text("Casey earns stars at pickup")
        assert errors == []
    finally:
        context.close()


def test_the_placed_panel_shows_the_pickup_code_the_kitchen_ticket_shows(chromium, live, casey):
    from playwright.sync_api import expect

    context, page, errors = open_till(chromium, live)
    try:
        page.get_by_role("button", name=re.compile("^Add Drip coffee")).click()
        page.get_by_label("Customer name").fill("Noor")
        page.get_by_role("button", name="Place order (paid at the till)").click()
        placed = page.locator("#placed")
        expect(placed).to_contain_text(re.compile(r"Order #\d+ for Noor"))
        order_id = int(re.search(r"Order #(\d+)", placed.inner_text()).group(1))
        ticket = seed(live_env(live), f"""
import json
from fulfilment.models import Order
from fulfilment.presenters import order_ticket
print(json.dumps(order_ticket(Order.objects.get(pk={order_id}))))
""")
        expect(placed.locator(".placed-code")).to_have_text(f"Pickup code {ticket['code']}", timeout=2_000)
        assert errors == []
    finally:
        context.close()


def test_at_the_drive_thru_window_the_member_is_added_before_paying_and_the_order_is_paid(chromium, live, casey):
    """Taken at the speaker (pay when collected), the order waits under "To pay when collected"; at the window
    Casey's code is scanned and added to it with a free drink, then the barista takes the rest of the money and
    the order leaves the list."""
    from playwright.sync_api import expect

    seed(live_env(live), f"""
from django.contrib.auth import get_user_model
from fulfilment.services.loyalty import loyalty_adjust
loyalty_adjust(member=get_user_model().objects.get(pk={casey["casey"]}), stars=100, actor=None, reason="For the window")
print("{{}}")
""")
    context, page, errors = open_till(chromium, live)
    try:
        page.get_by_label("Drive-thru").check()
        page.get_by_role("button", name=re.compile("^Add Drip coffee")).click()
        page.get_by_role("button", name=re.compile("^Add Croissant")).click()
        page.get_by_label("Customer name").fill("Blue car")
        page.get_by_role("button", name="Place order (pay when collected)").click()
        placed = page.locator("#placed")
        expect(placed).to_contain_text("To pay when collected")
        order_id = int(re.search(r"Order #(\d+)", placed.inner_text()).group(1))
        row = page.locator(f"#due-list li[data-order='{order_id}']")
        expect(row).to_contain_text("Blue car")
        expect(row.get_by_role("button", name=re.compile("scan their code first"))).to_be_disabled()

        code = live.api("/me/member-code/", token=live.token("casey"))["code"]
        scanner = page.get_by_label("Member code or phone")
        scanner.fill(code)
        scanner.press("Enter")
        expect(page.get_by_text(re.compile("^Serving Casey"))).to_be_visible()
        page.get_by_label(re.compile("^Free drink")).check()
        row.get_by_role("button", name=f"Add Casey with Free drink to order #{order_id} Blue car").click()
        expect(page.locator("#due-status")).to_contain_text(f"Casey added to order #{order_id}")
        expect(page.get_by_text(re.compile("^Serving Casey"))).to_be_hidden()  # one order per scan
        [(customer, due, discount, total)] = live.sql(
            "SELECT customer_id, awaiting_till_payment, discount_minor, total_minor FROM fulfilment_order "
            "WHERE id = ?", order_id)
        assert (customer, due) == (casey["casey"], 1) and discount > 0
        expect(page.locator("#due-status")).to_contain_text(f"${total / 100:.2f} to pay")
        expect(row).to_contain_text(f"${total / 100:.2f}")

        row.get_by_role("button", name=re.compile(f"^Paid: order #{order_id}")).click()
        expect(page.locator("#due-status")).to_contain_text(f"Order #{order_id} paid")
        expect(row).to_have_count(0)
        assert live.sql("SELECT awaiting_till_payment FROM fulfilment_order WHERE id = ?", order_id) == [(0,)]
        assert errors == []
    finally:
        context.close()


# The test machine has no camera and its Chromium no QR detector, so the page gets both from the test: a
# BarcodeDetector that "sees" whatever code the test holds up (window.cameraSees) and a camera that is a
# canvas's video stream. What runs for real is the till's own code: the button, the dialog, the video, the
# look-again loop, stopping the camera and identifying the member.
CAMERA_AND_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code"]; }
  constructor({ formats }) { this.formats = formats; }
  async detect(source) {
    window.cameraLooks = (window.cameraLooks || 0) + 1;
    return window.cameraSees ? [{ rawValue: window.cameraSees, format: "qr_code" }] : [];
  }
};
navigator.mediaDevices.getUserMedia = async constraints => {
  window.cameraAsked = constraints;
  const canvas = Object.assign(document.createElement("canvas"), { width: 64, height: 48 });
  canvas.getContext("2d").fillRect(0, 0, 64, 48);
  window.cameraStream = canvas.captureStream(5);
  return window.cameraStream;
};
"""


def test_without_a_qr_detector_there_is_no_camera_button(chromium, live, casey):
    from playwright.sync_api import expect

    context, page, errors = open_till(chromium, live)
    try:
        expect(page.get_by_role("button", name="Scan with the camera")).to_be_hidden()
        assert errors == []
    finally:
        context.close()


def test_a_tablet_scans_the_member_code_with_its_camera(chromium, live, casey):
    from playwright.sync_api import expect

    code = live.api("/me/member-code/", token=live.token("casey"))["code"]
    context, page, errors = open_till(BrowserWithScript(chromium, CAMERA_AND_DETECTOR), live, options=TABLET)
    try:
        page.get_by_role("button", name="Scan with the camera").click()
        dialog = page.get_by_role("dialog", name="Hold the member's code up to the camera")
        expect(dialog).to_be_visible()
        page.wait_for_function("() => window.cameraLooks >= 2")  # it keeps looking until it sees a code
        assert page.evaluate("window.cameraAsked.video.facingMode") == "environment"  # the back camera

        page.evaluate("code => { window.cameraSees = code; }", code)

        expect(page.get_by_text(re.compile("^Serving Casey"))).to_be_visible()
        expect(dialog).to_be_hidden()
        assert page.evaluate("window.cameraStream.getTracks().every(track => track.readyState === 'ended')")

        page.evaluate("window.cameraSees = null")
        page.get_by_role("button", name="Scan with the camera").click()  # Cancel stops the camera too
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_be_hidden()
        assert page.evaluate("window.cameraStream.getTracks().every(track => track.readyState === 'ended')")
        assert errors == []
    finally:
        context.close()


class BrowserWithScript:
    """A browser whose new contexts run `script` before the page's own (open_till makes the context)."""

    def __init__(self, browser, script: str):
        self.browser, self.script = browser, script

    def new_context(self, **options):
        context = self.browser.new_context(**options)
        context.add_init_script(self.script)
        return context
