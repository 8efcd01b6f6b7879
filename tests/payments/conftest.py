"""Payments and pickup fixtures: the local Stripe double, the project configured to use it, and helpers
to place a paid order, move it to the shelf and send signed webhooks."""

import pytest

from fulfilment import services
from fulfilment.models import Order
from stores.models import MenuItem
from stripe_double import StripeDouble, signed_event
from tests import factories

WEBHOOK_SECRET = "whsec_test_double"
WEBHOOK_URL = "/api/payments/stripe/webhook/"


@pytest.fixture
def stripe_api(settings):
    """Stripe keys set and the `stripe` library's API base pointed at a fresh local double."""
    double = StripeDouble(api_key="sk_test_double").start()
    settings.STRIPE_SECRET_KEY = "sk_test_double"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_double"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = double.url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0  # tests that want the library's own retries turn them on
    settings.STRIPE_TIMEOUT_S = 10
    yield double
    double.stop()


@pytest.fixture
def cart(menu):
    """2 large oat lattes (2 x 610) and a croissant (375): 1595 USD."""
    def make(**overrides):
        body = {"store": menu["latte"].store_id, "pickup": "asap",
                "items": [{"item": menu["latte"].pk, "quantity": 2, "modifiers": [menu["large"].pk, menu["oat"].pk]},
                          {"item": menu["croissant"].pk, "quantity": 1}]}
        body.update(overrides)
        return body
    return make


@pytest.fixture
def place(api_as, customer_a, cart):
    """place(**body) -> the response of POST /api/orders/ as customer A (pays with pm_card_visa by default);
    `key`: the Idempotency-Key to send (default: a new checkout's)."""
    def make(key: str | None = None, **overrides):
        body = cart(**{"payment_method": "pm_card_visa", **overrides})
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else factories.checkout_key()
        return api_as(customer_a).post("/api/orders/", body, format="json", **headers)
    return make


@pytest.fixture
def ready_order(place, barista_store1):
    """ready_order(**body) -> a paid order moved through the kitchen to the pickup shelf."""
    def make(**overrides) -> Order:
        response = place(**overrides)
        assert response.status_code == 201, response.json()
        order = Order.objects.get(pk=response.json()["id"])
        services.order_mark_ready(order=order, actor=barista_store1)
        order.refresh_from_db()
        return order
    return make


@pytest.fixture
def send_webhook(api):
    """send_webhook(type, intent_dict, event_id=...) -> the response to a delivery signed like Stripe signs."""
    def send(event_type: str, obj: dict, *, event_id: str | None = None, secret: str = WEBHOOK_SECRET,
             timestamp: int | None = None, client=None):
        payload, signature = signed_event(event_type, obj, secret=secret, event_id=event_id, timestamp=timestamp)
        return (client or api).post(WEBHOOK_URL, payload, content_type="application/json",
                                    HTTP_STRIPE_SIGNATURE=signature)
    return send


@pytest.fixture
def croissants(menu):
    return lambda: MenuItem.objects.get(pk=menu["croissant"].pk).stock_count
