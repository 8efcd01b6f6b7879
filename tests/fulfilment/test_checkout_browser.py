"""Checkout in a real browser (Debian's Chromium, driven by Playwright) against a live Daphne: one cart is one
order, whatever the customer does while it is being placed.

- Two tabs share the cart (localStorage). Placing from both gives one order, and both tabs show it.
- The page is reloaded while the order is being placed, once after the server placed it but before the answer
  reached the browser, once before the request reached the server. Either way there is one order afterwards,
  and the cart stays until the order exists.

Playwright's request interception holds the POST to /api/orders/ so the test decides when (and whether) the
browser hears the answer. The live server, its SQLite file and the seeded store come from the kitchen screen's
browser test (`daphne_server`). Screenshots go to test-artifacts/.
"""

import json
import re
import sqlite3
from types import SimpleNamespace

import pytest

from tests.kitchen_display.test_kds_browser import (  # noqa: F401 - daphne_server is a fixture
    PASSWORD, _api, daphne_server,
)
from tests.live_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORDERS_API = re.compile(r"/api/orders/$")


def orders_in_database(tmp_path) -> list[int]:
    """Every order the live server wrote (it runs on the SQLite file `daphne_server` made in tmp_path)."""
    with sqlite3.connect(tmp_path / "kds.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT id FROM fulfilment_order ORDER BY id")]


@pytest.fixture
def shop(daphne_server):
    """A signed-in customer's browser (a context whose tabs share localStorage) on the live server."""
    from playwright.sync_api import sync_playwright

    server = daphne_server
    token = _api(server["direct"], "/auth/login/", {"username": "customer", "password": PASSWORD})["token"]
    # The first quote in a fresh process loads (or compiles) the scheduler; not what this test is about.
    _api(server["direct"], f"/stores/{server['store']}/quote/",
         {"items": [{"item": server["drip"], "quantity": 1}], "pickup": "asap"})
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 420, "height": 900})
            context.add_init_script(f"localStorage.setItem('token', {json.dumps(token)})")
            errors: list[str] = []  # a script error on any page fails the test

            def new_tab():
                page = context.new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                return page
            yield SimpleNamespace(server=server, new_tab=new_tab, errors=errors,
                                  checkout=f"{server['direct']}/#/checkout")
        finally:
            browser.close()


def fill_cart(page, server) -> None:
    """Two large oat lattes and a drip coffee, added on the store's menu as a customer does: each item's
    sheet (options, quantity, the Add button with the live price), then the cart bar's Checkout."""
    from playwright.sync_api import expect

    page.goto(f"{server['direct']}/#/store/{server['store']}")
    page.locator(f"li.item[data-item='{server['latte']}'] button.add").click()
    sheet = page.locator("dialog[open] form.item-form")
    sheet.locator(f"input[value='{server['large']}']").check()
    sheet.locator(f"input[value='{server['oat']}']").check()
    sheet.locator("input[name=quantity]").fill("2")
    expect(sheet.locator("#sheet-add")).to_have_text(re.compile(r"^Add · "))
    sheet.locator("#sheet-add").click()
    expect(page.locator("#cart-open")).to_have_text(re.compile(r"Cart · 2 items"))
    page.locator(f"li.item[data-item='{server['drip']}'] button.add").click()
    page.locator("dialog[open] #sheet-add").click()
    expect(page.locator("#cart-open")).to_have_text(re.compile(r"Cart · 3 items"))
    page.click("#checkout")
    expect(page.locator("#place")).to_be_enabled()


def stored_cart(page) -> dict | None:
    return page.evaluate("JSON.parse(localStorage.getItem('cart'))")


def wait_until(page, condition) -> None:
    """Let Playwright run (and call route handlers) until `condition()` holds."""
    for _ in range(200):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("timed out waiting for the browser")


def assert_placing_shown(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#place")).to_be_disabled()
    expect(page.locator("#place")).to_have_text("Placing your order…")
    expect(page.locator("#place")).to_have_attribute("aria-busy", "true")
    expect(page.locator("#placing-note")).to_be_visible()
    expect(page.locator("[data-remove]").first).to_be_disabled()  # the cart cannot change under the request


def test_one_cart_placed_from_two_tabs_is_one_order(shop, tmp_path):
    from playwright.sync_api import expect

    first = shop.new_tab()
    fill_cart(first, shop.server)
    second = shop.new_tab()
    second.goto(shop.checkout)
    expect(second.locator("#place")).to_be_enabled()
    expect(second.locator("[data-remove]")).to_have_count(2)  # the same cart in both tabs

    held = []  # the first tab's order request, held until the test lets it go
    first.route(ORDERS_API, lambda route: held.append(route) if route.request.method == "POST" and not held
                else route.continue_())
    first.click("#place")
    wait_until(first, lambda: held)
    assert_placing_shown(first)
    first.screenshot(path=str(ARTIFACTS / "checkout-placing.png"), full_page=True)

    second.click("#place")  # the customer tries again from the other tab while the first is still waiting
    expect(second).to_have_url(re.compile(r"#/order/\d+$"))
    order_id = int(second.url.rsplit("/", 1)[1])
    expect(second.locator(".status")).to_have_attribute("data-status", "confirmed")
    assert stored_cart(second) is None  # the order exists: the cart is done with

    held[0].continue_()  # the first tab's request reaches the server late, with the same key and cart
    expect(first).to_have_url(re.compile(rf"#/order/{order_id}$"))
    expect(first.locator(".status")).to_have_attribute("data-status", "confirmed")
    first.screenshot(path=str(ARTIFACTS / "checkout-two-tabs-one-order.png"), full_page=True)
    assert orders_in_database(tmp_path) == [order_id]
    assert shop.errors == []


@pytest.mark.parametrize("server_placed_it", [True, False], ids=["answer-lost", "request-lost"])
def test_reload_while_placing_makes_one_order(shop, tmp_path, server_placed_it):
    from playwright.sync_api import expect

    page = shop.new_tab()
    fill_cart(page, shop.server)
    cart = stored_cart(page)

    held, retries = [], []  # the first order request; those after the reload, held until the screen is seen

    def hold_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
        elif held:
            retries.append(route)
        elif server_placed_it:
            held.append(route.fetch())  # the server places the order; the browser never hears back
        else:
            held.append(route)  # the request never leaves the browser

    page.route(ORDERS_API, hold_the_first_answer)
    page.click("#place")
    wait_until(page, lambda: held)
    assert_placing_shown(page)
    assert orders_in_database(tmp_path) == ([held[0].json()["id"]] if server_placed_it else [])
    assert stored_cart(page)["lines"] == cart["lines"]  # until the browser knows the order exists, the cart stays

    page.reload()
    # This app finishes the interrupted placement itself; with an app that does not, the customer would
    # press Place order again, which must not make a second order either.
    page.locator("#place:enabled, .placing-note").first.wait_for()
    if page.locator("#place:enabled").count():
        page.click("#place")
    wait_until(page, lambda: retries)
    expect(page.locator("#place:enabled")).to_have_count(0)  # progress shown, no second press possible
    page.screenshot(path=str(ARTIFACTS / "checkout-resuming.png"), full_page=True)
    retries[0].continue_()
    expect(page).to_have_url(re.compile(r"#/order/\d+$"))
    expect(page.locator(".status")).to_have_attribute("data-status", "confirmed")
    order_id = int(page.url.rsplit("/", 1)[1])
    if server_placed_it:
        assert order_id == held[0].json()["id"]
    assert orders_in_database(tmp_path) == [order_id]
    assert stored_cart(page) is None
    page.screenshot(path=str(ARTIFACTS / f"checkout-reloaded-{'answer' if server_placed_it else 'request'}-lost.png"),
                    full_page=True)
    assert shop.errors == []


def test_prices_follow_the_choices_and_a_declined_card_keeps_the_cart(shop, tmp_path):
    """The item sheet prices what is ticked (the required size visibly pre-selected, the optional milk can be
    unticked again with None); a card the demo gateway declines is reported by the Place button, the cart stays,
    and the next try with a good card places the order."""
    from playwright.sync_api import expect

    server = shop.server
    page = shop.new_tab()
    page.goto(f"{server['direct']}/#/store/{server['store']}")
    page.get_by_role("button", name=re.compile(r"choose Latte")).click()
    sheet = page.locator("dialog[open] form.item-form")
    expect(sheet.get_by_label("Small")).to_be_checked()  # the required size, pre-selected where it can be seen
    expect(sheet.locator("#sheet-add")).to_have_text("Add · $4.50")
    sheet.get_by_label("Oat").check()
    expect(sheet.locator("#sheet-add")).to_have_text("Add · $5.20")
    sheet.get_by_label("None").check()  # an optional single choice can be taken back
    expect(sheet.locator("#sheet-add")).to_have_text("Add · $4.50")
    sheet.get_by_label("Large").check()
    expect(sheet.locator("#sheet-add")).to_have_text("Add · $5.40")
    sheet.locator("#sheet-add").click()
    page.click("#checkout")
    expect(page.locator("#cart-lines")).to_contain_text("Large")
    expect(page.locator("#place")).to_have_text(re.compile(r"^Place order · \$5\.40"))
    cart = stored_cart(page)

    page.get_by_label("Is declined").check()
    page.click("#place")
    expect(page.locator("#place-error")).to_contain_text("declined")
    expect(page.locator("#place")).to_be_enabled()
    expect(page).to_have_url(re.compile(r"#/checkout$"))
    assert stored_cart(page)["lines"] == cart["lines"]  # the cart stays to try again

    page.get_by_label("Approves").check()
    page.click("#place")
    expect(page).to_have_url(re.compile(r"#/order/\d+$"))
    expect(page.locator(".status")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("#receipt")).to_contain_text("Large")
    order_id = int(page.url.rsplit("/", 1)[1])
    with sqlite3.connect(tmp_path / "kds.sqlite3") as db:
        statuses = dict(db.execute("SELECT id, status FROM fulfilment_order"))
    assert statuses[order_id] == "confirmed"
    assert [status for pk, status in statuses.items() if pk != order_id] == ["cancelled"]  # the declined try
    page.screenshot(path=str(ARTIFACTS / "checkout-declined-then-approved.png"), full_page=True)
    assert shop.errors == []
