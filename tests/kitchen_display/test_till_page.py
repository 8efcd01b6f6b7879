"""The till page (issue 28): store staff only, a shell that carries the store's id and its API paths in a JSON
config (no inline script, for the CSP), and whose session and CSRF token are what the API needs."""

import json
import re

import pytest

from fulfilment.models import CustomerProfile

pytestmark = pytest.mark.django_db


def till(store) -> str:
    return f"/kds/{store.pk}/till/"


def page_config(response) -> dict:
    found = re.search(rb'<script id="till-config" type="application/json">(.*?)</script>', response.content, re.S)
    assert found, "the page has no till config"
    return json.loads(found.group(1))


def test_the_till_needs_staff_of_the_store(client, store, store2, barista_store1, manager_store2, customer_a):
    response = client.get(till(store))
    assert response.status_code == 302 and response["Location"].startswith("/kds/login/")
    for outsider in (customer_a, manager_store2):  # a customer; staff of another store
        client.force_login(outsider)
        assert client.get(till(store)).status_code == 403
    client.force_login(barista_store1)
    assert client.get(till(store)).status_code == 200
    assert client.get(till(store2)).status_code == 403
    assert client.get(f"/kds/{2**70}/till/").status_code == 404


def test_the_till_renders_for_its_store_with_no_inline_script(client, store, menu, barista_store1):
    client.force_login(barista_store1)
    response = client.get(till(store))
    html = response.content.decode()
    config = page_config(response)
    assert config["store"] == store.pk
    assert config["api"] == {"menu": f"/api/stores/{store.pk}/menu/",
                             "member-identify": f"/api/stores/{store.pk}/members/identify/",
                             "orders": f"/api/stores/{store.pk}/orders/"}
    assert [value for value, _ in config["channels"]] == ["counter", "drive_thru", "kiosk"]
    # Every script is a file of this site, apart from the JSON config (data, not run); no inline handlers.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert [attrs for attrs, body in scripts if body.strip()] == [' id="till-config" type="application/json"']
    assert re.search(r'<script src="/static/kitchen_display/till\.js', html)
    assert not re.search(r"\son[a-z]+=", html) and "<style" not in html
    for label in ("Member code or phone", "Customer name", "Place order (paid at the till)", "Not a member"):
        assert label in html
    assert 'for="member-code"' in html and 'for="customer-name"' in html
    assert "script-src" in response["Content-Security-Policy"] and "unsafe-inline" not in \
        response["Content-Security-Policy"].split("script-src")[1].split(";")[0]


def test_the_kds_home_links_the_till(client, store, barista_store1):
    client.force_login(barista_store1)
    assert f'href="{till(store)}"'.encode() in client.get("/kds/").content


def test_the_pages_session_and_csrf_token_call_the_api(store, barista_store1, customer_a):
    """What till.js does: the session of the signed-in barista plus the token in the config; without the
    token the API refuses a session's POST."""
    from django.test import Client

    CustomerProfile.objects.create(user=customer_a, phone="14155550123")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(barista_store1)
    config = page_config(browser.get(till(store)))
    body = json.dumps({"phone": "+1 415-555-0123"})
    refused = browser.post(config["api"]["member-identify"], body, content_type="application/json")
    assert refused.status_code == 403
    served = browser.post(config["api"]["member-identify"], body, content_type="application/json",
                          headers={"X-CSRFToken": config["csrf"]})
    assert served.status_code == 200, served.content
    assert served.json()["member"]["name"] == (customer_a.first_name or customer_a.username)
