"""Sign-up, login and order placement are rate-limited per client: 429 with Retry-After and a JSON error.

DRF reads the rates into `SimpleRateThrottle.THROTTLE_RATES` when it is imported, so overriding
the setting is not enough; the class attribute is patched instead. The cache holding the
counters is cleared around every test by conftest.
"""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from fulfilment.models import Order
from stores.models import MenuItem
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def low_rates(monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"auth": "3/min", "order_place": "2/min", "quote": "4/min"})


def assert_throttled(response):
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= 60
    error = response.json()["error"]
    assert error["code"] == "throttled" and "Request was throttled" in error["message"]
    assert error["retry_after_s"] == int(response["Retry-After"])


def login(client, password="wrong-password"):
    return client.post("/api/auth/login/", {"username": "customer_a", "password": password}, format="json")


def test_login_is_limited_after_three_attempts(api, customer_a):
    answers = [login(api).status_code for _ in range(3)]

    assert answers == [401, 401, 401]
    assert_throttled(login(api))
    # Once limited, even the right password waits.
    assert_throttled(login(api, password=factories.PASSWORD))


def test_limit_is_per_client_address(customer_a):
    here, there = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
    for _ in range(3):
        login(here)

    assert_throttled(login(here))
    assert login(there, password=factories.PASSWORD).status_code == 200


def test_register_is_limited(api):
    answers = [api.post("/api/auth/register/", {"username": f"newbie{n}", "password": "correct horse 42"},
                        format="json").status_code for n in range(3)]

    assert answers == [201, 201, 201]
    refused = api.post("/api/auth/register/", {"username": "newbie9", "password": "correct horse 42"}, format="json")
    assert_throttled(refused)
    assert not get_user_model().objects.filter(username="newbie9").exists()


def test_order_placement_is_limited_per_customer(api_as, customer_a, customer_b, menu):
    body = {"store": menu["latte"].store_id, "items": [{"item": menu["croissant"].pk, "quantity": 1}]}
    client = api_as(customer_a)
    placed = [client.post("/api/orders/", body, format="json", **factories.checkout_key()) for _ in range(2)]
    assert [response.status_code for response in placed] == [201, 201]

    refused = client.post("/api/orders/", body, format="json", **factories.checkout_key())

    assert_throttled(refused)
    assert Order.objects.count() == 2
    assert MenuItem.objects.get(pk=menu["croissant"].pk).stock_count == 3
    # Reading is not limited, and another customer is not held up.
    assert client.get("/api/orders/").status_code == 200
    assert api_as(customer_b).post("/api/orders/", body, format="json", **factories.checkout_key()).status_code == 201


def test_staff_order_placement_is_limited(api_as, barista_store1, store, menu):
    client = api_as(barista_store1)
    body = {"channel": "counter", "items": [{"item": menu["drip"].pk, "quantity": 1}]}
    for _ in range(2):
        placed = client.post(f"/api/stores/{store.pk}/orders/", body, format="json", **factories.checkout_key())
        assert placed.status_code == 201

    assert_throttled(client.post(f"/api/stores/{store.pk}/orders/", body, format="json", **factories.checkout_key()))
    assert client.get(f"/api/stores/{store.pk}/orders/").status_code == 200


def test_quotes_are_limited_per_client_and_a_forged_forwarded_for_does_not_reset_them(api, store):
    item = factories.coffee_menu(store)["drip"]
    body = {"items": [{"item": item.pk, "quantity": 1}], "pickup": "asap"}

    def quote(client, forwarded="203.0.113.7"):
        return client.post(f"/api/stores/{store.pk}/quote/", body, format="json", HTTP_X_FORWARDED_FOR=forwarded)

    answers = [quote(api, forwarded=f"198.51.100.{n}").status_code for n in range(4)]

    assert answers == [200, 200, 200, 200]
    assert_throttled(quote(api, forwarded="198.51.100.99"))
    assert quote(APIClient(REMOTE_ADDR="10.0.0.9")).status_code == 200  # another client is unaffected
