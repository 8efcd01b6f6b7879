"""One customer across channels, on a phone (issue 28): the account page's member card shows a QR code; the
barista scans it (here: the code the page shows, read from the image as a scanner would read the QR), places a
counter order for the member, makes it and hands it over; the customer sees the order in My orders at once and,
after the pickup, the stars it earned on the member card."""

import json
import re

import pytest

from tests.browser.conftest import save_screenshot
from tests.browser.steps import heading
from tests.live_server import seed, server_env

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def in_server(live, code: str) -> dict:
    """Run `code` in a `manage.py shell` on the live server's database (the kitchen, as a barista works it)."""
    env = server_env(DATABASE_URL=f"sqlite:///{live.database}", SERVE_VAR=str(live.database.parent))
    return seed(env, code)


@pytest.fixture(scope="module")
def stars_program(live):
    """2 stars per dollar paid before tax; a free drink at 25 stars."""
    return in_server(live, """
import json
from fulfilment.models import LoyaltyProgram, Reward
program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
print(json.dumps({"program": program.pk}))
""")


def member_card(page):
    return page.get_by_role("region", name="Member card")


def shown_code(page) -> str:
    """The member code in the card's QR image (the page keeps it beside the image it drew)."""
    from playwright.sync_api import expect

    qr = member_card(page).get_by_role("img", name=re.compile("member code"))
    expect(qr).to_have_attribute("data-code", re.compile(r".+:.+"))
    return qr.get_attribute("data-code")


def test_a_counter_order_scanned_from_the_member_card_earns_stars_and_shows_in_the_app(phone, stars_program):
    from playwright.sync_api import expect

    server = phone.server
    store = server.ids["store"]
    barista = server.token("barista")
    page = phone.context.new_page()
    page.on("pageerror", lambda error: phone.errors.append(str(error)))
    page.clock.install()  # the card's minute between codes passes when the test says so
    page.goto(f"{server.base}/#/account")
    expect(heading(page, "Your account")).to_be_visible()
    card = member_card(page)
    expect(card.get_by_role("img", name=re.compile("member code"))).to_be_visible()
    expect(card.locator("#member-balance")).to_have_text("0")
    first_code = shown_code(page)
    # The image is a QR code the browser drew from the SVG (not a broken image).
    assert page.evaluate("() => document.getElementById('member-qr').naturalWidth") > 0
    save_screenshot(page, "member-card")

    # A minute later the card shows a new code; the old one still works for its two minutes, once.
    page.clock.fast_forward(61_000)
    expect(card.get_by_role("img", name=re.compile("member code"))).not_to_have_attribute("data-code", first_code)
    code = shown_code(page)

    served = server.api(f"/stores/{store}/members/identify/", {"code": code}, token=barista)
    assert served["member"] == {"name": "Cy", "balance": 0}
    order = server.api(f"/stores/{store}/orders/",
                       {"channel": "counter", "items": [{"item": server.ids["latte"], "quantity": 2}],
                        "member": served["serving_token"]}, token=barista)
    assert order["customer_name"] == "Cy" and order["status"] == "confirmed"

    # At once in the customer's history, before anything is made.
    page.goto(f"{server.base}/#/orders")
    expect(heading(page, "My orders")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(rf"Order #{order['id']}\b"))).to_be_visible()

    # The barista makes it and hands it over: the after-commit hook credits the member.
    earned = in_server(server, f"""
import json
from django.contrib.auth import get_user_model
from fulfilment import services
from fulfilment.models import Order
from fulfilment.services.loyalty import member_balance
barista = get_user_model().objects.get(username="barista")
order = Order.objects.get(pk={order['id']})
services.order_mark_ready(order=order, actor=barista)
order.refresh_from_db()
services.order_pick_up(order=order, actor=barista)
print(json.dumps({{"balance": member_balance(member=order.customer)}}))
""")
    assert earned == {"balance": 2 * 9}  # 2 lattes, 900 before tax: 9 dollars x 2 stars

    page.goto(f"{server.base}/#/account")
    page.reload()
    expect(member_card(page).locator("#member-balance")).to_have_text("18")
    expect(member_card(page).locator("#star-history")).to_contain_text(f"Order {order['id']} picked up")
    expect(member_card(page).locator("#star-history")).to_contain_text("+18")
    page.goto(f"{server.base}/#/orders")
    link = page.get_by_role("link", name=re.compile(rf"Order #{order['id']}\b"))
    mine = page.get_by_role("listitem").filter(has=link)
    expect(mine).to_contain_text("Picked up")

    # The code the customer showed is used up: a second scan (a screenshot passed on) is refused.
    replay = in_server(server, f"""
import json
from django.contrib.auth import get_user_model
from fulfilment.services.members import member_identify
from orderahead.errors import DomainError
from stores.models import Store
try:
    member_identify(store=Store.objects.get(pk={store}), staff=get_user_model().objects.get(username="barista"),
                    code={json.dumps(code)})
    print(json.dumps({{"code": "served"}}))
except DomainError as refused:
    print(json.dumps({{"code": refused.code}}))
""")
    assert replay == {"code": "member_code_used"}
    assert phone.errors == []


def test_the_customer_registers_a_phone_and_the_till_finds_them_by_it(phone, stars_program):
    from playwright.sync_api import expect

    server = phone.server
    page = phone.open("/#/account")
    card = member_card(page)
    card.get_by_label("Phone number").fill("+1 (415) 555-0199")
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_text("Saved. Staff can find you by this number.")).to_be_visible()
    expect(card.get_by_label("Phone number")).to_have_value("14155550199")

    served = server.api(f"/stores/{server.ids['store']}/members/identify/", {"phone": "1 415 555 0199"},
                        token=server.token("barista"))
    assert served["member"]["name"] == "Cy" and served["via"] == "phone"

    card.get_by_label("Phone number").fill("12")
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_role("status").filter(has_text="7 to 15 digits")).to_be_visible()
    assert phone.errors == []
