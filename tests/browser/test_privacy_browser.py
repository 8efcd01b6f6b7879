"""The customer's own data on a phone (issue 28): My orders shows where each order was placed (an order taken at the
counter for the customer included) with Order again on every one; the account page downloads everything kept about
the customer as a file, and deletes the account after asking for the password, which signs the phone out."""

import json
import re
import urllib.error
import uuid

import pytest

from tests.browser.conftest import PASSWORD, new_phone, save_screenshot
from tests.browser.steps import heading, place_order_by_api
from tests.browser.test_accessibility_browser import axe_script, axe_violations, describe  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_history_shows_the_channel_and_the_download_holds_the_orders(phone):
    from playwright.sync_api import expect

    server = phone.server
    order = place_order_by_api(server, phone.token)
    # As if a barista had rung it up at the counter for this customer.
    server.sql("UPDATE fulfilment_order SET channel = 'counter' WHERE id = ?", order["id"])

    page = phone.open("/#/orders")
    expect(heading(page, "My orders")).to_be_visible()
    card = page.locator(".order-card", has_text=f"Order #{order['id']}")
    expect(card.get_by_text("At the counter")).to_be_visible()
    card.get_by_role("button", name="Order again").click()  # the counter order, again from the phone
    expect(heading(page, "Checkout")).to_be_visible()
    assert page.evaluate("JSON.parse(localStorage.getItem('cart')).lines.map(l => l.name)") == ["Latte", "Drip coffee"]

    page.goto(f"{server.base}/#/account")
    expect(heading(page, "Your account")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download my data").click()
    download = download_info.value
    assert re.fullmatch(r"my-order-ahead-data-\d{8}\.json", download.suggested_filename)
    with open(download.path(), encoding="utf8") as saved:
        data = json.load(saved)
    assert data["account"]["username"] == "customer" and data["account"]["email"] == "cy@example.com"
    assert order["id"] in [o["id"] for o in data["orders"]]
    assert {o["id"]: o["channel_label"] for o in data["orders"]}[order["id"]] == "Counter"
    expect(page.get_by_text(re.compile(r"^Saved as my-order-ahead-data-"))).to_be_visible()
    assert not phone.errors


def test_deleting_the_account_asks_the_password_and_signs_out(chromium, live):
    from playwright.sync_api import expect

    username = f"leaving{uuid.uuid4().hex[:6]}"
    live.api("/auth/register/", {"username": username, "password": PASSWORD})
    device = new_phone(chromium, live, username=username)
    try:
        order = place_order_by_api(live, device.token)
        live.api(f"/orders/{order['id']}/cancel/", {}, token=device.token)
        page = device.open("/#/account")
        expect(heading(page, "Your account")).to_be_visible()

        page.get_by_role("button", name="Delete my account").click()
        dialog = page.get_by_role("dialog", name="Delete your account?")
        expect(dialog.get_by_text(re.compile("your stars are gone"))).to_be_visible()
        dialog.get_by_label("Your password, to confirm").fill("not-the-password")
        dialog.get_by_role("button", name="Delete my account").click()
        expect(dialog.get_by_role("alert")).to_have_text("That password is not right; your account was not deleted.")
        save_screenshot(page, "account-delete")

        dialog.get_by_label("Your password, to confirm").fill(PASSWORD)
        dialog.get_by_role("button", name="Delete my account").click()
        expect(heading(page, "Your account is deleted")).to_be_visible()
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        assert page.evaluate("localStorage.getItem('token')") is None
        with pytest.raises(urllib.error.HTTPError) as refused:
            live.api("/orders/", token=device.token)
        assert refused.value.code == 401
        # The order stays for the store's books, without the customer.
        assert live.sql("SELECT customer_id, customer_name FROM fulfilment_order WHERE id = ?", order["id"]) == [
            (None, "")]
        assert not device.errors
    finally:
        device.context.close()


def test_the_privacy_section_and_the_delete_dialog_are_accessible(chromium, live, axe_script):  # noqa: F811
    from playwright.sync_api import expect

    device = new_phone(chromium, live, bypass_csp=True)  # axe is injected: the page's policy would refuse it
    try:
        page = device.open("/#/account")
        expect(page.get_by_role("heading", name="Your data")).to_be_visible()
        found = {"account": axe_violations(page, axe_script)}
        page.get_by_role("button", name="Delete my account").click()
        expect(page.get_by_role("dialog", name="Delete your account?")).to_be_visible()
        found["delete dialog"] = axe_violations(page, axe_script)
        page.get_by_role("button", name="Keep my account").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
    finally:
        device.context.close()
    failures = [describe(screen, violations) for screen, violations in found.items() if violations]
    assert not failures, "\n\n".join(failures)
