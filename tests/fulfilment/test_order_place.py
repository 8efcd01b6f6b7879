"""Placing an order through the API: prices, stock, pickup, and the history row."""

import pytest

from fulfilment.models import Order, OrderEvent
from stores.models import MenuItem
from tests import factories

pytestmark = pytest.mark.django_db


def cart(menu, **overrides):
    body = {"store": menu["latte"].store_id,
            "items": [{"item": menu["latte"].pk, "quantity": 2, "modifiers": [menu["large"].pk, menu["oat"].pk]},
                      {"item": menu["croissant"].pk, "quantity": 1}],
            "pickup": "asap"}
    body.update(overrides)
    return body


def test_asap_order_is_priced_confirmed_and_takes_stock(api_as, customer_a, menu):
    response = api_as(customer_a).post("/api/orders/", cart(menu), format="json", **factories.checkout_key())

    assert response.status_code == 201, response.json()
    body = response.json()
    # (450 + 90 large + 70 oat) x 2 + 375
    assert body["total_minor"] == 1595 and body["currency"] == "USD"
    assert body["status"] == "confirmed"  # demo payment authorises at once
    assert body["promised_ready_at"] is not None
    assert [line["item_name"] for line in body["lines"]] == ["Latte", "Croissant"]
    assert MenuItem.objects.get(pk=menu["croissant"].pk).stock_count == 4
    order = Order.objects.get(pk=body["id"])
    assert list(order.events.values_list("kind", "to_status")) == [
        (OrderEvent.CREATED, "pending_payment"), (OrderEvent.STATUS_CHANGED, "confirmed")]


def test_client_cannot_set_server_owned_fields(api_as, customer_a, menu):
    response = api_as(customer_a).post(
        "/api/orders/", cart(menu, status="picked_up", total_minor=1, promised_ready_at="2000-01-01T00:00:00Z"),
        format="json", **factories.checkout_key())

    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"
    assert response.json()["total_minor"] == 1595
    assert not response.json()["promised_ready_at"].startswith("2000")
