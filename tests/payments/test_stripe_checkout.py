"""Paying for a mobile order with Stripe: the real `stripe` library against the local Stripe double.

An order enters the kitchen queue (confirmed) only once its card is authorised; a decline cancels it and
gives its stock back; a lost answer from Stripe followed by the customer's retry makes one intent and one order.
"""

import datetime as dt

import pytest

from fulfilment.models import KITCHEN_STATUSES, Order, OrderEvent, Payment
from tests import factories

pytestmark = pytest.mark.django_db


def test_order_is_authorised_with_manual_capture_and_enters_the_queue(place, stripe_api, croissants):
    response = place(key="checkout-1")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["payment"] == {
        "provider": "stripe", "demo": False, "status": "authorised", "status_label": "Authorised (held on the card)",
        "amount_minor": 1595, "captured_minor": 0, "refunded_minor": 0, "currency": "USD", "requires_action": False,
        "message": "Held on your card; charged when you pick up."}
    intent = stripe_api.intent()
    assert (intent["amount"], intent["currency"], intent["capture_method"], intent["status"]) == (
        1595, "usd", "manual", "requires_capture")
    assert intent["metadata"]["order_id"] == str(body["id"])
    create = stripe_api.calls("POST", r"^/v1/payment_intents$")
    assert len(create) == 1 and create[0].idempotency_key.startswith(f"orderahead-order-{body['id']}-")
    order = Order.objects.get(pk=body["id"])
    assert order.payment.intent_id == intent["id"] and order.payment.capture_deadline is not None
    assert list(order.events.values_list("kind", "to_status")) == [
        (OrderEvent.CREATED, "pending_payment"), (OrderEvent.STATUS_CHANGED, "confirmed")]
    assert croissants() == 4


def test_declined_card_cancels_the_order_and_gives_the_stock_back(place, stripe_api, croissants,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = place(payment_method="pm_card_chargeDeclined")

    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "card_declined" and "Your card was declined." in error["message"]
    order = Order.objects.get(pk=error["fields"]["order"])
    assert order.status == "cancelled" and order.cancel_reason == "Payment failed: Your card was declined."
    assert order.payment.status == "cancelled" and order.payment.last_error == "Your card was declined."
    assert croissants() == 5
    assert not order.events.filter(to_status="confirmed").exists()  # never reached the kitchen
    assert stripe_api.intent()["status"] == "canceled"  # the failed intent can no longer be confirmed later


def test_lost_answer_on_create_then_retry_makes_one_intent_and_one_order(place, stripe_api, croissants):
    stripe_api.fail_next("POST", r"^/v1/payment_intents$", mode="drop")  # Stripe makes it; the answer is lost

    first = place(key="checkout-7")

    assert first.status_code == 503, first.json()
    assert first.json()["error"]["code"] == "payment_provider_unavailable"
    assert "same Idempotency-Key" in first.json()["error"]["message"]
    order = Order.objects.get()
    assert order.status == "pending_payment" and order.status not in KITCHEN_STATUSES
    assert croissants() == 4  # held while the customer retries

    retry = place(key="checkout-7")

    assert retry.status_code == 200, retry.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == order.pk and retry.json()["status"] == "confirmed"
    assert Order.objects.count() == 1 and Payment.objects.count() == 1
    assert len(stripe_api.intents) == 1  # Stripe answered the retry with the intent it had made
    creates = stripe_api.calls("POST", r"^/v1/payment_intents$")
    assert len(creates) == 2 and creates[0].idempotency_key == creates[1].idempotency_key and creates[1].replayed
    assert croissants() == 4


def test_the_librarys_own_retry_reaches_the_same_intent(place, stripe_api, settings):
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    stripe_api.fail_next("POST", r"^/v1/payment_intents$", mode="drop")

    response = place()

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "confirmed"
    assert len(stripe_api.intents) == 1 and len(stripe_api.calls("POST", r"^/v1/payment_intents$")) == 2


def test_stripe_down_at_placement_keeps_the_order_waiting_and_never_in_the_queue(place, stripe_api):
    stripe_api.fail_next("POST", r"^/v1/payment_intents$", mode="error", status=500)

    response = place()

    assert response.status_code == 503
    assert Order.objects.get().status == "pending_payment"


def test_payment_confirmed_in_the_browser_confirms_the_order_on_refresh(place, stripe_api, api_as, customer_a):
    placed = place(payment_method="")
    assert placed.status_code == 201 and placed.json()["status"] == "pending_payment"
    order_id = placed.json()["id"]
    client = api_as(customer_a)

    payment = client.get(f"/api/orders/{order_id}/payment/").json()
    assert payment["client_secret"] == stripe_api.intent()["client_secret"]
    assert payment["publishable_key"] == "pk_test_double" and payment["status"] == "pending"
    stripe_api.confirm(stripe_api.intent()["id"], "pm_card_visa")  # stripe.js, with the client secret

    refreshed = client.post(f"/api/orders/{order_id}/payment/refresh/")

    assert refreshed.status_code == 200 and refreshed.json()["status"] == "confirmed"
    assert client.get(f"/api/orders/{order_id}/payment/").json()["client_secret"] == ""  # only while waiting


def test_3d_secure_leaves_the_order_waiting_and_says_so(place, stripe_api):
    response = place(payment_method="pm_card_authenticationRequired")

    assert response.status_code == 201
    assert response.json()["status"] == "pending_payment"
    assert response.json()["payment"]["requires_action"] is True


def test_another_customers_payment_is_not_found(place, stripe_api, api_as, customer_b):
    order_id = place().json()["id"]

    assert api_as(customer_b).get(f"/api/orders/{order_id}/payment/").status_code == 404
    assert api_as(customer_b).post(f"/api/orders/{order_id}/payment/refresh/").status_code == 404


def test_a_bad_payment_method_id_is_a_400(place, stripe_api):
    response = place(payment_method="pm_card_visa'; drop table")

    assert response.status_code == 400 and response.json()["error"]["fields"]["payment_method"]
    assert not Order.objects.exists() and not stripe_api.requests


def test_pickup_beyond_the_authorisation_window_is_refused(place, stripe_api, menu):
    store = menu["latte"].store
    when = factories.local_now(store).replace(second=0, microsecond=0) + dt.timedelta(days=6, hours=23)

    response = place(pickup=when.replace(minute=0).isoformat())

    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "pickup_too_far"
    assert "held for at most 7 days" in response.json()["error"]["message"]
    assert not Order.objects.exists() and not stripe_api.requests
