"""A reward redeemed at checkout in a real browser (Debian's Chromium, driven by Playwright) against a live Daphne
(issue 28): a member with stars sees the rewards they can use on the cart, picks one, sees the lower total (the
discount line, tax after it), pays with the demo provider, and the order's receipt shows the discount line.

The live server runs on its own SQLite file, migrated and seeded through manage.py (tests.live_server).
Screenshots go to test-artifacts/.
"""

import json
import re
import sqlite3

import pytest

from tests.fulfilment.test_checkout_browser import fill_cart
from tests.kitchen_display.test_kds_browser import PASSWORD, _api
from tests.live_server import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, daphne, manage, require_browser, seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEED = f"""
import json
from decimal import Decimal
from tests import factories
from fulfilment.models import LoyaltyProgram, Reward
from fulfilment.services import loyalty
store = factories.open_store(name="Reward Store", slug="reward-store", timezone=factories.midday_timezone(),
                             tax_rate_percent=Decimal("10"), prices_include_tax=False, tax_label="Sales tax")
menu = factories.coffee_menu(store)
customer = factories.user("customer", first_name="Cy")
customer.set_password({PASSWORD!r}); customer.save()
program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
reward = Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
reward.items.set([menu["latte"]])
Reward.objects.create(program=program, name="Free week", stars_cost=500, max_value_minor=5000)  # cannot afford
loyalty.loyalty_adjust(member=customer, stars=30, actor=None, reason="Welcome stars")
print(json.dumps({{"store": store.pk, "latte": menu["latte"].pk, "large": menu["large"].pk, "oat": menu["oat"].pk,
                  "drip": menu["drip"].pk, "reward": reward.pk, "customer": customer.pk}}))
"""


@pytest.fixture
def reward_server(tmp_path):
    require_browser()
    env = server_env(DATABASE_URL=f"sqlite:///{tmp_path / 'rewards.sqlite3'}", SERVE_STATIC="1", DEBUG="0",
                     THROTTLE_ORDER_PLACE="1000/min", THROTTLE_AUTH="1000/min")
    manage(env, "migrate", "--noinput")
    ids = seed(env, SEED)
    with daphne(env, tmp_path / "daphne.log") as base:
        yield {"direct": base, "db": tmp_path / "rewards.sqlite3", **ids}


def test_a_member_picks_a_reward_at_checkout_pays_less_and_the_receipt_shows_it(reward_server):
    from playwright.sync_api import expect, sync_playwright

    server = reward_server
    token = _api(server["direct"], "/auth/login/", {"username": "customer", "password": PASSWORD})["token"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 420, "height": 900}, locale="en-US")
            context.add_init_script(f"localStorage.setItem('token', {json.dumps(token)})")
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda message: errors.append(message.text)
                    if message.type == "error" and "Content Security Policy" in message.text else None)

            fill_cart(page, server)  # 2 large oat lattes (2 x 610) and a drip coffee (250): 1470, tax 147
            place = page.locator("#place")
            expect(place).to_contain_text("$16.17")
            rewards = page.locator("#rewards")
            expect(rewards).to_contain_text("Free drink")
            expect(rewards).not_to_contain_text("Free week")  # 500 stars: more than they have
            expect(rewards.get_by_label(re.compile("No reward"))).to_be_checked()

            rewards.get_by_label(re.compile("Free drink")).check()
            # one latte (610) off before tax: 860 + 86
            expect(page.locator(".totals .row.discount")).to_contain_text(re.compile(r"Free drink\s*−\$6\.10"))
            expect(place).to_contain_text("$9.46")
            expect(page.locator("#rewards").get_by_label(re.compile("Free drink"))).to_be_checked()
            page.screenshot(path=str(ARTIFACTS / "reward-checkout.png"), full_page=True)

            place.click()
            expect(page).to_have_url(re.compile(r"#/order/\d+$"))
            expect(page.locator(".status")).to_have_attribute("data-status", "confirmed")
            receipt = page.locator("#receipt")
            expect(receipt.locator(".row.discount")).to_contain_text(re.compile(r"Free drink\s*−\$6\.10"))
            expect(receipt.locator(".row.total")).to_contain_text("$9.46")
            page.screenshot(path=str(ARTIFACTS / "reward-receipt.png"), full_page=True)
            order_id = int(page.url.rsplit("/", 1)[1])
        finally:
            browser.close()

    with sqlite3.connect(server["db"]) as db:
        order = db.execute("SELECT subtotal_minor, discount_minor, tax_minor, total_minor FROM fulfilment_order "
                           "WHERE id = ?", (order_id,)).fetchone()
        amount = db.execute("SELECT amount_minor FROM fulfilment_payment WHERE order_id = ?", (order_id,)).fetchone()
        stars = db.execute("SELECT SUM(stars) FROM fulfilment_loyaltyentry WHERE member_id = ?",
                           (server["customer"],)).fetchone()
    assert order == (1470, 610, 86, 946) and amount == (946,)
    assert stars == (5,)
    assert errors == []
