"""Fire by arrival end to end in a real browser against a live Daphne: a "make it when I arrive" order is
held off the expo screen, and still after "on my way, 15 min"; the customer taps "I'm here" on their order
page and the ticket shows on the expo screen marked "here"; once it is ready, the shelf row counts its
minutes and turns red past the store's hold limit. Reuses the harness of test_kds_browser (a migrated,
seeded SQLite file, Debian's Chromium)."""

import json

import pytest

from tests.kitchen_display.test_kds_browser import PASSWORD, _api
from tests.live_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, daphne, manage, require_browser, seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = f"""
import json
from tests import factories
from fulfilment.models import StoreFulfilmentSettings
from stores.models import StoreMembership
store = factories.open_store(name="Arrival Store", slug="arrival-store", timezone=factories.midday_timezone())
menu = factories.coffee_menu(store)
StoreFulfilmentSettings.objects.create(store=store, offers_fire_on_arrival=True, shelf_hold_minutes=5)
barista = factories.user("barista", first_name="Bea")
barista.set_password({PASSWORD!r}); barista.save()
StoreMembership.objects.create(user=barista, store=store, role="barista")
customer = factories.user("customer", first_name="Cy")
customer.set_password({PASSWORD!r}); customer.save()
print(json.dumps({{"store": store.pk, "latte": menu["latte"].pk}}))
"""


@pytest.fixture
def server(tmp_path):
    require_browser()
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'arrival.sqlite3'}", SERVE_STATIC="1", DEBUG="0",
                     THROTTLE_ORDER_PLACE="1000/min", THROTTLE_AUTH="1000/min", KDS_BROWSER_TEST="1")
    manage(env, "migrate", "--noinput")
    ids = seed(env, SEED)
    with daphne(env, tmp_path / "daphne.log") as base:
        yield {"base": base, **ids}


def test_im_here_on_the_order_page_shows_on_the_expo_screen(server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    base = server["base"]
    token = _api(base, "/auth/login/", {"username": "customer", "password": PASSWORD})["token"]
    order = _api(base, "/orders/", {"store": server["store"], "pickup": "asap", "fire_on_arrival": True,
                                    "items": [{"item": server["latte"], "quantity": 1}], "customer_name": "Ada"},
                 token=token)
    assert order["fire_on_arrival"] is True and order["status"] == "confirmed"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            errors = []
            expo = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            expo.on("pageerror", lambda error: errors.append(f"expo: {error}"))
            expo.goto(f"{base}/kds/login/")
            expo.fill("input[name=username]", "barista")
            expo.fill("input[name=password]", PASSWORD)
            expo.click("button.primary")
            expo.goto(f"{base}/kds/{server['store']}/expo/")
            expo.wait_for_function("() => window.kds && window.kds.seq !== null && window.kds.online")
            ticket = expo.locator(f".ticket[data-order='{order['id']}']")
            expect(ticket).to_have_count(0)  # held: nobody makes it before the customer says they are coming
            expect(expo.locator("#later")).to_contain_text("1 scheduled for later")
            board = expo.context.new_page()  # the pickup area's board does not call it "being made" either
            board.on("pageerror", lambda error: errors.append(f"board: {error}"))
            board.goto(f"{base}/kds/{server['store']}/board/")
            board.wait_for_function("() => window.kds && window.kds.seq !== null && window.kds.online")
            expect(board.locator(f"#board-making li[data-order='{order['id']}']")).to_have_count(0)

            customer = browser.new_context(viewport={"width": 420, "height": 900})
            customer.add_init_script(f"localStorage.setItem('token', {json.dumps(token)})")
            phone = customer.new_page()
            phone.on("pageerror", lambda error: errors.append(f"customer: {error}"))
            phone.goto(f"{base}/#/order/{order['id']}")
            expect(phone.locator("#order-status")).to_contain_text("Made when you arrive")
            phone.screenshot(path=str(ARTIFACTS / "customer-arrival.png"), full_page=True)
            phone.select_option("#arrival-minutes", "15")
            phone.click("button[data-arrive=eta]")
            expect(phone.locator("#arrival-state")).to_contain_text("The store expects you about")
            expect(phone.locator("#order-status")).to_contain_text("Made to be ready as you arrive")
            expect(ticket).to_have_count(0)  # planned for 15 minutes from now: not on the screen yet
            phone.click("button[data-arrive=here]")
            expect(phone.locator("#arrival-state")).to_have_text("You told the store you are here.")

            expect(ticket).to_be_visible(timeout=5000)
            expect(ticket.locator(".arrival.here")).to_have_text("here")
            expo.screenshot(path=str(ARTIFACTS / "kds-expo-arrival.png"), full_page=True)
            expect(board.locator(f"#board-making li[data-order='{order['id']}']")).to_contain_text("Ada")

            ticket.locator("button[data-act=bump_order]").click()
            row = expo.locator(f".ready-row[data-order='{order['id']}']")
            expect(row.locator(".shelf")).to_have_text("on shelf 0 min")
            expect(row).not_to_have_class("ready-row over-limit")
            expect(row.locator(".arrival.here")).to_have_text("here")
            expo.evaluate("window.kds.skew += 6 * 60 * 1000")  # six minutes later on the screen's clock
            expect(row).to_have_class("ready-row over-limit", timeout=3000)
            expect(row.locator(".shelf")).to_have_text("on shelf 6 min · over hold limit")
            expo.screenshot(path=str(ARTIFACTS / "kds-expo-shelf-over-limit.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
