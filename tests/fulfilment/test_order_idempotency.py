"""Idempotency-Key: a retried request returns the first order; a reused key for another order is refused."""

import pytest

from fulfilment.models import Order
from stores.models import MenuItem
from tests import factories

pytestmark = pytest.mark.django_db


def cart(menu, **overrides):
    body = {"store": menu["latte"].store_id, "pickup": "asap",
            "items": [{"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["large"].pk, menu["oat"].pk]},
                      {"item": menu["croissant"].pk, "quantity": 2}]}
    body.update(overrides)
    return body


def post(client, body, key):
    return client.post("/api/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def croissants_left(menu) -> int:
    return MenuItem.objects.get(pk=menu["croissant"].pk).stock_count


def test_retry_with_same_key_and_body_returns_the_same_order(api_as, customer_a, menu):
    client = api_as(customer_a)

    first = post(client, cart(menu), "checkout-42")
    retry = post(client, cart(menu), "checkout-42")

    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    assert retry.status_code == 200, retry.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["total_minor"] == first.json()["total_minor"]
    assert Order.objects.count() == 1
    assert croissants_left(menu) == 3  # taken once, not twice


def test_retry_with_modifiers_in_another_order_is_the_same_request(api_as, customer_a, menu):
    client = api_as(customer_a)
    first = post(client, cart(menu), "checkout-42")
    shuffled = cart(menu)
    shuffled["items"][0]["modifiers"].reverse()

    retry = post(client, shuffled, "checkout-42")

    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]


def _at_three_pm(menu) -> str:
    return factories.local_now(menu["latte"].store).replace(hour=15, minute=0, second=0, microsecond=0).isoformat()


@pytest.mark.parametrize("change", [
    lambda menu, body: body.update(pickup=_at_three_pm(menu)),
    lambda menu, body: body.update(customer_name="Someone else"),
    lambda menu, body: body["items"][1].update(quantity=3),
    lambda menu, body: body["items"][0].update(modifiers=[menu["large"].pk]),
], ids=["other-pickup", "other-name", "more-croissants", "no-oat-milk"])
def test_same_key_with_a_different_body_is_refused(api_as, customer_a, menu, change):
    client = api_as(customer_a)
    first = post(client, cart(menu), "checkout-42")
    body = cart(menu)
    change(menu, body)

    reused = post(client, body, "checkout-42")

    assert reused.status_code == 409, reused.json()
    error = reused.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "already used for a different order" in error["message"]
    assert error["fields"] == {"order": first.json()["id"]}
    assert Order.objects.count() == 1
    assert croissants_left(menu) == 3


def test_keys_belong_to_one_customer(api_as, customer_a, customer_b, menu):
    from_a = post(api_as(customer_a), cart(menu), "checkout-42")
    from_b = post(api_as(customer_b), cart(menu), "checkout-42")

    assert from_a.status_code == 201 and from_b.status_code == 201, from_b.json()
    assert from_a.json()["id"] != from_b.json()["id"]
    assert set(Order.objects.values_list("customer__username", flat=True)) == {"customer_a", "customer_b"}
    assert croissants_left(menu) == 1


def assert_key_required(response, menu):
    """Refused before anything is written, with an answer that says which header and why."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_required"
    assert "Idempotency-Key" in error["message"] and "never places a second order" in error["message"]
    assert error["fields"] == {"Idempotency-Key": "required"}
    assert not Order.objects.exists() and croissants_left(menu) == 5


def test_mobile_order_without_a_key_is_refused(api_as, customer_a, menu):
    """Without a key a retried checkout (slow network, a second tab) would be a second order."""
    client = api_as(customer_a)

    assert_key_required(client.post("/api/orders/", cart(menu), format="json"), menu)
    assert_key_required(client.post("/api/orders/", cart(menu), format="json"), menu)


def test_staff_order_without_a_key_is_refused(api_as, barista_store1, store, menu):
    """A till or kiosk that retries after a timeout doubles an order just as a phone does."""
    body = {"channel": "counter", "items": [{"item": menu["croissant"].pk, "quantity": 1}], "pickup": "asap"}

    response = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", body, format="json")

    assert_key_required(response, menu)


@pytest.mark.parametrize("path", ["/api/orders/", "/api/stores/{store_id}/orders/"])
def test_schema_says_the_key_is_required(api, path):
    schema = api.get("/api/schema/?format=json").json()

    parameters = schema["paths"][path]["post"]["parameters"]
    key = next(p for p in parameters if p["in"] == "header" and p["name"] == "Idempotency-Key")
    assert key["required"] is True


def test_new_key_places_a_new_order(api_as, customer_a, menu):
    client = api_as(customer_a)

    first = post(client, cart(menu), "checkout-42")
    second = post(client, cart(menu), "checkout-43")

    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]


def test_replay_of_a_cancelled_order_returns_it_and_places_nothing(api_as, customer_a, menu):
    client = api_as(customer_a)
    first = post(client, cart(menu), "checkout-42")
    client.post(f"/api/orders/{first.json()['id']}/cancel/")

    retry = post(client, cart(menu), "checkout-42")

    assert retry.status_code == 200 and retry.json()["status"] == "cancelled"
    assert Order.objects.count() == 1 and croissants_left(menu) == 5


def test_refused_request_does_not_burn_the_key(api_as, customer_a, menu):
    """A request that failed left no order, so the retry with the same key is tried afresh."""
    client = api_as(customer_a)
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=1)
    refused = post(client, cart(menu), "checkout-42")
    assert refused.status_code == 409
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=5)

    retry = post(client, cart(menu), "checkout-42")

    assert retry.status_code == 201, retry.json()


@pytest.mark.parametrize("key", ["k" * 129, "   "])
def test_key_of_wrong_length_is_a_400(api_as, customer_a, menu, key):
    response = post(api_as(customer_a), cart(menu), key)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and "Idempotency-Key: Must be 1 to 128 characters" in error["message"]
    assert not Order.objects.exists() and croissants_left(menu) == 5


def test_key_of_128_characters_is_accepted(api_as, customer_a, menu):
    response = post(api_as(customer_a), cart(menu), "k" * 128)

    assert response.status_code == 201
    assert Order.objects.get().idempotency_key == "k" * 128


def test_staff_retry_with_same_key_returns_the_same_order(api_as, barista_store1, store, menu):
    client = api_as(barista_store1)
    body = {"channel": "counter", "items": [{"item": menu["drip"].pk, "quantity": 1}], "pickup": "asap"}

    first = client.post(f"/api/stores/{store.pk}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-7")
    retry = client.post(f"/api/stores/{store.pk}/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-7")

    assert first.status_code == 201 and retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true" and retry.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
