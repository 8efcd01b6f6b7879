"""A refund takes back its share of the stars (issue 28), in the browser: a member's app order, with a reward
on one latte, paid with the demo provider, is picked up (the payment captured at the handoff) and earns stars
that the account page's member card shows; the store manager refunds one latte through the back office's
"Refund lines" page, whose label says the reward keeps back its share; after a reload the member card shows
the stars less the refund's share, with a "Refund …" row in Recent stars, and the order's receipt shows the
money refunded.

This module runs its own server (the phone tests' seed has no manager); the phone is conftest's `phone`, on it.
"""

import re

import pytest

from tests.browser.conftest import PASSWORD, admin_sign_in, new_phone, seeded_server
from tests.browser.steps import heading
from tests.browser.test_manager_admin_browser import new_laptop, open_from_home, success_message
from tests.live_server import seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Harbour Roasters adds 10% sales tax to its prices. The chain gives 2 stars a dollar and a free drink (a
# latte, up to $6.50) for 25 stars; Cy starts with 30. Maya manages the store, Bea hands orders over.
SEED = f"""
import json
from decimal import Decimal
from tests import factories
from fulfilment.models import LoyaltyProgram, Reward
from fulfilment.services import loyalty
from stores.models import StoreMembership
store = factories.open_store(name="Harbour Roasters", slug="harbour-roasters", address="200 Harbour Way",
                             timezone=factories.midday_timezone(), tax_rate_percent=Decimal("10"),
                             prices_include_tax=False, tax_label="Sales tax")
menu = factories.coffee_menu(store)
for username, first_name, role in (("maya", "Maya", "manager"), ("bea", "Bea", "barista")):
    member = factories.user(username, first_name=first_name, is_staff=(role == "manager"))
    member.set_password({PASSWORD!r}); member.save()
    StoreMembership.objects.create(user=member, store=store, role=role)
customer = factories.user("customer", first_name="Cy", email="cy@example.com")
customer.set_password({PASSWORD!r}); customer.save()
program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
reward = Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
reward.items.set([menu["latte"]])
loyalty.loyalty_adjust(member=customer, stars=30, actor=None, reason="Welcome stars")
print(json.dumps({{"store": store.pk, "latte": menu["latte"].pk, "large": menu["large"].pk, "oat": menu["oat"].pk,
                  "drip": menu["drip"].pk, "reward": reward.pk}}))
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """This module's server and seed; conftest's `chromium` and `phone` use it."""
    yield from seeded_server(tmp_path_factory, "refund-stars", SEED)


def in_server(live, code: str) -> dict:
    """Run `code` in a `manage.py shell` on the live server's database (the pickup shelf, as Bea works it)."""
    env = server_env(DATABASE_URL=f"sqlite:///{live.database}", SERVE_VAR=str(live.database.parent))
    return seed(env, code)


def member_card(page):
    return page.get_by_role("region", name="Member card")


def star_history(page):
    return member_card(page).get_by_role("list").filter(has_text="picked up")


def test_a_line_refunded_in_the_back_office_takes_back_its_share_of_the_stars(chromium, live):
    from playwright.sync_api import expect

    # Cy orders in the app: 2 large oat lattes (2 x 6.10) and a drip coffee (2.50), the free drink taking 6.10
    # off one latte: 8.60 + 0.86 tax = 9.46, paid with the demo provider (held until the handoff).
    phone = new_phone(chromium, live)
    order = live.api("/orders/", {
        "store": live.ids["store"], "pickup": "asap", "reward": live.ids["reward"],
        "items": [{"item": live.ids["latte"], "quantity": 2, "modifiers": [live.ids["large"], live.ids["oat"]]},
                  {"item": live.ids["drip"], "quantity": 1}]}, token=phone.token)
    assert order["status"] == "confirmed" and order["total_minor"] == 946
    assert order["payment"]["demo"] is True

    # Made, and handed over at the shelf by its QR: the payment is captured, then the order earns 2 x 8 stars.
    handed_over = in_server(live, f"""
import json
from django.contrib.auth import get_user_model
from fulfilment import services
from fulfilment.models import Order
from fulfilment.services import pickup
from fulfilment.services.loyalty import member_balance
bea = get_user_model().objects.get(username="bea")
order = Order.objects.get(pk={order['id']})
services.order_mark_ready(order=order, actor=bea)
pickup.pickup_handoff(store_id=order.store_id, staff=bea, token=pickup.pickup_token(order=order)[0])
order.refresh_from_db()
print(json.dumps({{"status": order.status, "payment": order.payment.status, "captured": order.payment.captured_minor,
                  "balance": member_balance(member=order.customer)}}))
""")
    assert handed_over == {"status": "picked_up", "payment": "captured", "captured": 946, "balance": 30 - 25 + 16}

    try:
        page = phone.open("/#/account")
        expect(heading(page, "Your account")).to_be_visible()
        expect(member_card(page).locator("#member-balance")).to_have_text("21")
        expect(star_history(page)).to_contain_text(f"Order {order['id']} picked up")

        # Maya refunds one latte in the back office: the line's label says the reward keeps back its share.
        laptop = new_laptop(chromium)
        admin = laptop.new_page()
        admin_errors = []
        admin.on("pageerror", lambda error: admin_errors.append(str(error)))
        admin_sign_in(admin, f"{live.base}/admin/", "maya")
        expect(admin.get_by_role("heading", name="Your stores")).to_be_visible()
        open_from_home(admin, "Orders")
        admin.get_by_role("textbox", name="Search", exact=True).fill(str(order["id"]))
        admin.get_by_role("button", name="Search").click()
        admin.get_by_role("link", name=re.compile(rf"^{order['id']} · ")).click()
        expect(admin.get_by_role("heading", name=re.compile(rf"Order {order['id']}"))).to_be_visible()
        admin.get_by_role("link", name="Refund lines…").click()
        expect(admin.get_by_role("heading", name=f"Refund order {order['id']}")).to_be_visible()
        latte = admin.get_by_label(re.compile(r"^Latte \("))
        expect(latte).to_be_visible()
        assert admin.locator(f"label[for='{latte.get_attribute('id')}']").inner_text() == (
            "Latte ($6.10 USD each plus its share of Sales tax, 2 of 2 refundable; reward Free drink: $6.10 USD off, "
            "its share kept back):")
        drip_label = admin.get_by_text(re.compile(r"^Drip coffee \("))
        expect(drip_label).not_to_contain_text("reward")
        latte.fill("1")
        admin.get_by_label("Reason").fill("Spilt at the counter")
        admin.get_by_role("button", name="Refund", exact=True).click()
        # 6.10 less half the reward (3.05), and its share of the tax (3.05 of 8.60 taxed: 0.305 -> 0.31)
        expect(success_message(admin)).to_have_text(f"Refunded $3.36 USD of order {order['id']}.")
        expect(admin.locator(".field-refund_list")).to_contain_text("Spilt at the counter")  # the Refunds row
        laptop.close()
        assert admin_errors == []

        # The refund's share of the 16 stars the order earned: floor(16 x 3.36 / 9.46) = 5.
        page.reload()
        expect(member_card(page).locator("#member-balance")).to_have_text("16")
        refund_row = star_history(page).get_by_role("listitem").filter(has_text=re.compile(
            rf"Refund \d+ of order {order['id']}"))
        expect(refund_row).to_have_count(1)
        expect(refund_row).to_contain_text("-5")
        assert live.sql("SELECT stars, reason FROM fulfilment_loyaltyentry WHERE kind = 'earn_reversed'") == [
            (-5, re.search(r"Refund \d+ of order \d+", refund_row.inner_text()).group(0))]

        # The order page's receipt shows the money given back.
        page.goto(f"{live.base}/#/order/{order['id']}")
        receipt = page.get_by_role("region", name="Receipt")
        expect(receipt).to_contain_text("$3.36 refunded")
        expect(receipt.locator(".row.total")).to_contain_text("$9.46")
        assert phone.errors == []
    finally:
        phone.context.close()
