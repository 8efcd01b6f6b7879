"""The customer app's main journeys on a phone, through the screen as a customer uses it (roles, labels, text):

- a full order with options and quantities at a taxed store, picked up tomorrow: the receipt's tax and total are
  the server's;
- a cart that goes bad while it is open (an item sells out): the line says so, the customer removes it and orders
  the rest, without starting over;
- "Order again" from My orders after a price changed: the checkout says what changed, the new order has today's
  price;
- "email me when it's ready": the barista bumps the order on the kitchen screen, the email arrives at the local
  mail server with the pickup code, and the order page turns ready.

Screenshots of the main screens go to test-artifacts/ (and docs/screenshots/ with UPDATE_SCREENSHOTS=1).
"""

import datetime as dt
import re

import pytest

from tests.browser.conftest import PASSWORD, save_screenshot
from tests.browser.steps import (
    add_to_cart,
    go_to_checkout,
    heading,
    money_text,
    open_item,
    open_store,
    place_order_by_api,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORDER_URL = re.compile(r"#/order/(\d+)$")


def placed_order_id(page) -> int:
    from playwright.sync_api import expect

    expect(page).to_have_url(ORDER_URL)
    order_id = int(ORDER_URL.search(page.url).group(1))
    expect(heading(page, re.compile(rf"Order #{order_id}\b"))).to_be_visible()
    return order_id


def place(page) -> int:
    page.get_by_role("button", name=re.compile(r"^Place order")).click()
    return placed_order_id(page)


def receipt(page):
    return page.get_by_role("region", name="Receipt")


def test_full_order_with_options_and_tax_for_tomorrow(phone):
    from playwright.sync_api import expect

    server = phone.server
    page = phone.open("/")
    expect(heading(page, "Choose a store")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Harbour Roasters"))).to_be_visible()
    save_screenshot(page, "stores")

    open_store(page, server)
    expect(page.get_by_text("Sales tax (8.9%) is added at checkout.")).to_be_visible()  # before the cart, not after
    sheet = open_item(page, "Latte")
    sheet.get_by_label(re.compile(r"^\s*Large\b")).check()
    sheet.get_by_label(re.compile(r"^\s*Oat\b")).check()
    sheet.get_by_role("button", name="One more").click()
    expect(sheet.get_by_role("button", name=f"Add · {money_text(2 * (450 + 90 + 70))}")).to_be_visible()
    save_screenshot(page, "menu-item")
    sheet.get_by_role("button", name=re.compile(r"^Add · ")).click()
    expect(sheet).to_be_hidden()
    add_to_cart(page, "Croissant")

    go_to_checkout(page)
    expect(page.get_by_text(re.compile(r"Sales tax \(8\.9\s?%\)"))).to_be_visible()
    save_screenshot(page, "checkout-cart")
    page.get_by_role("group", name="Pickup day").get_by_role("button", name=re.compile("Tomorrow")).click()
    tomorrow = page.get_by_role("group", name="Pickup day").get_by_role("button", name=re.compile("Tomorrow"))
    expect(tomorrow).to_have_attribute("aria-pressed", "true")
    # A mid-morning time rather than the first one offered (just after midnight in this all-day store).
    half_past_nine = page.get_by_role("radio", name=re.compile(r"^\s*0?9:30\s?AM"))
    if not half_past_nine.is_visible():
        page.get_by_text(re.compile(r"^\s*9 AM\b")).click()  # the hour's times fold out
    half_past_nine.check()
    chosen = page.locator("input[name=pickup]:checked")
    expect(chosen).to_have_count(1)
    pickup = dt.datetime.fromisoformat(chosen.get_attribute("value"))
    # The store is at about noon now: any of tomorrow's times is at least 11 hours away.
    assert pickup - dt.datetime.now(dt.UTC) > dt.timedelta(hours=11), pickup
    save_screenshot(page, "checkout")

    order_id = place(page)
    order = server.api(f"/orders/{order_id}/", token=phone.token)
    assert order["tax_minor"] > 0 and order["total_minor"] == order["subtotal_minor"] + order["tax_minor"]
    assert dt.datetime.fromisoformat(order["slot_starts_at"].replace("Z", "+00:00")) == pickup
    expect(receipt(page)).to_contain_text(re.compile(rf"Sales tax.*{re.escape(money_text(order['tax_minor']))}", re.S))
    expect(receipt(page)).to_contain_text(re.compile(rf"Total\s*{re.escape(money_text(order['total_minor']))}"))
    expect(receipt(page)).to_contain_text("2 × Latte")
    receipt(page).scroll_into_view_if_needed()
    expect(receipt(page)).to_contain_text(re.compile(r"Large, Oat|Oat, Large"))
    save_screenshot(page, "order")
    assert phone.errors == []


def test_cart_that_sells_out_is_fixed_in_place(phone):
    from playwright.sync_api import expect

    server = phone.server
    page = phone.open("/")
    open_store(page, server)
    add_to_cart(page, "Drip coffee")
    add_to_cart(page, "Croissant", quantity=2)
    go_to_checkout(page)
    expect(page.get_by_role("button", name=re.compile(r"^Place order · "))).to_be_visible()

    server.sql("UPDATE stores_menuitem SET stock_count = 0 WHERE id = ?", server.ids["croissant"])  # the last ones sold
    try:
        page.get_by_role("button", name=re.compile(r"^Place order")).click()
        croissant = page.get_by_role("listitem").filter(has=page.get_by_role("group", name="Croissant"))
        expect(croissant.get_by_role("alert")).to_contain_text(re.compile(r"sold out|out of stock|left", re.I))
        expect(heading(page, "Checkout")).to_be_visible()  # still the same checkout, the cart as it was
        save_screenshot(page, "checkout-line-error")
        croissant.get_by_role("button", name="Remove").click()
        expect(page.get_by_role("group", name="Croissant")).to_have_count(0)
        expect(page.get_by_role("alert").filter(has_text=re.compile(r"sold out|out of stock", re.I))).to_have_count(0)
        order_id = place(page)
    finally:
        server.sql("UPDATE stores_menuitem SET stock_count = 5 WHERE id = ?", server.ids["croissant"])
    order = server.api(f"/orders/{order_id}/", token=phone.token)
    assert [(line["item_name"], line["quantity"]) for line in order["lines"]] == [("Drip coffee", 1)]
    assert phone.errors == []


def test_order_again_after_a_price_change(phone):
    from playwright.sync_api import expect

    server = phone.server
    first = place_order_by_api(server, phone.token)
    server.sql("UPDATE stores_menuitem SET price_minor = 275 WHERE id = ?", server.ids["drip"])
    try:
        page = phone.open("/#/orders")
        expect(heading(page, "My orders")).to_be_visible()
        card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name=re.compile(rf"Order #{first['id']}\b")))
        expect(card).to_be_visible()
        save_screenshot(page, "my-orders")
        card.get_by_role("button", name="Order again").click()
        expect(heading(page, "Checkout")).to_be_visible()
        changes = page.get_by_role("region", name="Changed since your last order")
        expect(changes).to_contain_text("Drip coffee")
        expect(changes).to_contain_text(re.compile(r"price|\$2\.75", re.I))
        expect(page.get_by_role("group", name="Latte")).to_be_visible()
        order_id = place(page)
    finally:
        server.sql("UPDATE stores_menuitem SET price_minor = 250 WHERE id = ?", server.ids["drip"])
    order = server.api(f"/orders/{order_id}/", token=phone.token)
    assert order_id != first["id"]
    assert {line["item_name"]: line["unit_price_minor"] for line in order["lines"]} == {"Latte": 610, "Drip coffee": 275}
    assert phone.errors == []


def bump_on_the_kitchen_screen(browser, server, order_id: int) -> None:
    """The barista signs in on the espresso screen and bumps the order's ticket (all its items are espresso's)."""
    from playwright.sync_api import expect

    kds = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        screen = kds.new_page()
        screen.goto(f"{server.base}/kds/login/")
        screen.get_by_label("Username").fill("barista")
        screen.get_by_label("Password").fill(PASSWORD)
        screen.get_by_role("button", name="Sign in").click()
        screen.get_by_role("link", name="espresso").click()
        ticket = screen.locator(f".ticket[data-order='{order_id}']")
        ticket.locator("button[data-act=bump_ticket]").click()
        expect(ticket).to_have_count(0)
    finally:
        kds.close()


def test_email_when_ready(phone, chromium):
    from playwright.sync_api import expect

    server = phone.server
    order = place_order_by_api(server, phone.token)
    page = phone.open(f"/#/order/{order['id']}")
    expect(heading(page, re.compile(rf"Order #{order['id']}\b"))).to_be_visible()
    # the promised window, not only a time: "Ready 8:12 AM–8:15 AM"
    expect(page.get_by_role("region", name="Order status")).to_contain_text(re.compile(r"Ready .*\d:\d\d.*–.*\d:\d\d"))
    consent = page.get_by_label("Email me when my order is ready")
    expect(page.get_by_label("Email address")).to_have_value("cy@example.com")
    consent.check()
    expect(page.get_by_text("We will email cy@example.com when it is ready.")).to_be_visible()
    assert server.api("/me/notifications/", token=phone.token)["email_when_ready"] is True

    bump_on_the_kitchen_screen(chromium, server, order["id"])
    expect(page.get_by_role("region", name="Order status")).to_contain_text(re.compile("ready", re.I))
    code = server.api(f"/orders/{order['id']}/", token=phone.token)["pickup"]["code"]
    recipients, message = server.mailbox.wait_for(lambda mail: f"#{order['id']}" in mail[1])
    assert recipients == ["cy@example.com"]
    assert code in message
    expect(page.get_by_role("img", name=re.compile("Pickup QR code"))).to_be_visible()
    page.wait_for_function("() => [...document.images].some(image => image.alt.startsWith('Pickup QR') && image.naturalWidth > 0)")
    save_screenshot(page, "order-ready")
    assert phone.errors == []
