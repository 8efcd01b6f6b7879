"""Stripe webhooks: verified with the library, applied once per event id, in any order.

Deliveries are signed the way Stripe signs them (HMAC-SHA256 of "{t}.{payload}" in Stripe-Signature) and
describe intents that really exist in the Stripe double, as Stripe's would.
"""

import json
import time

import pytest

from fulfilment.models import Order, OrderEvent, Payment, PaymentWebhookEvent
from stripe_double import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(place, stripe_api):
    """An order placed without a card: awaiting payment, its intent waiting for the browser."""
    def make() -> tuple[Order, dict]:
        response = place(payment_method="")
        assert response.status_code == 201 and response.json()["status"] == "pending_payment"
        order = Order.objects.get(pk=response.json()["id"])
        return order, stripe_api.intents[order.payment.intent_id]
    return make


def status_changes(order) -> list[tuple[str, str]]:
    return list(order.events.filter(kind=OrderEvent.STATUS_CHANGED).order_by("id")
                .values_list("from_status", "to_status"))


def test_authorisation_webhook_confirms_the_order(waiting, stripe_api, send_webhook):
    order, intent = waiting()
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")

    response = send_webhook("payment_intent.amount_capturable_updated", authorised)

    assert response.status_code == 200, response.json()
    assert response.json() == {"received": True, "outcome": "authorised: order confirmed"}
    order.refresh_from_db()
    assert order.status == "confirmed" and order.payment.status == "authorised"
    assert status_changes(order) == [("pending_payment", "confirmed")]


def test_same_event_three_times_changes_the_order_once(waiting, stripe_api, send_webhook):
    order, intent = waiting()
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")

    answers = [send_webhook("payment_intent.amount_capturable_updated", authorised, event_id="evt_replayed")
               for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["outcome"] for a in answers] == [
        "authorised: order confirmed", "duplicate: already processed", "duplicate: already processed"]
    assert status_changes(order) == [("pending_payment", "confirmed")]
    assert PaymentWebhookEvent.objects.filter(event_id="evt_replayed").count() == 1


def test_succeeded_before_capturable_leaves_the_payment_captured(waiting, stripe_api, send_webhook):
    order, intent = waiting()
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")
    captured = {**authorised, "status": "succeeded", "amount_received": 1595, "amount_capturable": 0}

    first = send_webhook("payment_intent.succeeded", captured)
    late = send_webhook("payment_intent.amount_capturable_updated", authorised)

    assert first.json()["outcome"] == "captured: order confirmed"
    assert late.json()["outcome"].startswith("unchanged (captured")
    order.refresh_from_db()
    assert order.status == "confirmed" and order.payment.status == "captured"
    assert order.payment.captured_minor == 1595
    assert status_changes(order) == [("pending_payment", "confirmed")]


def test_an_old_failure_after_the_authorisation_changes_nothing(waiting, stripe_api, send_webhook):
    """The first card failed, the second worked; Stripe delivers the failure last."""
    order, intent = waiting()
    failed = {**intent, "status": "requires_payment_method",
              "last_payment_error": {"code": "card_declined", "message": "Your card was declined."}}
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")

    send_webhook("payment_intent.amount_capturable_updated", authorised)
    late = send_webhook("payment_intent.payment_failed", failed)

    assert late.status_code == 200 and late.json()["outcome"].startswith("unchanged (authorised")
    order.refresh_from_db()
    assert order.status == "confirmed" and order.payment.status == "authorised"


def test_a_late_requires_action_does_not_ask_for_authentication_again(waiting, stripe_api, send_webhook, api_as,
                                                                       customer_a):
    """3-D Secure: Stripe sent requires_action, then the authorisation, and delivers them the other way round."""
    order, intent = waiting()
    needs_action = {**intent, "status": "requires_action"}
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")

    send_webhook("payment_intent.amount_capturable_updated", authorised)
    late = send_webhook("payment_intent.requires_action", needs_action)

    assert late.json()["outcome"].startswith("unchanged (authorised")
    payment = api_as(customer_a).get(f"/api/orders/{order.pk}/payment/").json()
    assert payment["status"] == "authorised" and payment["requires_action"] is False
    assert Payment.objects.get(order=order).intent_status == "requires_capture"


def test_failed_payment_cancels_the_order_and_releases_stock(waiting, stripe_api, send_webhook, croissants):
    order, intent = waiting()
    assert croissants() == 4
    declined = stripe_api.confirm(intent["id"], "pm_card_chargeDeclined")["error"]["payment_intent"]

    response = send_webhook("payment_intent.payment_failed", declined)

    assert response.json()["outcome"] == "failed: order cancelled"
    order.refresh_from_db()
    assert order.status == "cancelled" and order.cancel_reason == "Payment failed: Your card was declined."
    assert croissants() == 5


def test_cancelled_intent_cancels_a_confirmed_order(place, stripe_api, send_webhook, croissants):
    order = Order.objects.get(pk=place().json()["id"])
    stripe_api.expire(order.payment.intent_id)  # e.g. the authorisation ran out at Stripe

    response = send_webhook("payment_intent.canceled", stripe_api.intent())

    assert response.json()["outcome"] == "cancelled: order cancelled"
    order.refresh_from_db()
    assert order.status == "cancelled" and order.payment.status == "cancelled"
    assert croissants() == 5


def test_authorisation_for_an_order_already_cancelled_is_released(waiting, stripe_api, send_webhook, api_as,
                                                                  customer_a, django_capture_on_commit_callbacks):
    order, intent = waiting()
    api_as(customer_a).post(f"/api/orders/{order.pk}/cancel/")
    # The browser confirmed just before the cancel reached Stripe; Stripe tells us afterwards.
    authorised = {**intent, "status": "requires_capture", "amount_capturable": 1595}

    with django_capture_on_commit_callbacks(execute=True):
        response = send_webhook("payment_intent.amount_capturable_updated", authorised)

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "cancelled" and order.payment.status == "cancelled"
    assert stripe_api.intent()["status"] == "canceled"


@pytest.mark.parametrize("tamper", ["wrong-secret", "no-header", "stale", "future", "altered-body", "garbage"])
def test_unverified_delivery_is_400_and_changes_nothing(waiting, stripe_api, api, send_webhook, tamper):
    order, intent = waiting()
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")
    payload = json.dumps({"id": "evt_x", "object": "event", "type": "payment_intent.amount_capturable_updated",
                          "data": {"object": authorised}})
    headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, "whsec_test_double")}
    if tamper == "wrong-secret":
        headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, "whsec_someone_else")}
    elif tamper == "no-header":
        headers = {}
    elif tamper == "stale":
        headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, "whsec_test_double", int(time.time()) - 600)}
    elif tamper == "future":
        headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, "whsec_test_double", int(time.time()) + 600)}
    elif tamper == "altered-body":
        payload = payload.replace('"amount": 1595', '"amount": 1')
    elif tamper == "garbage":
        payload = "not json"
        headers = {"HTTP_STRIPE_SIGNATURE": sign(payload, "whsec_test_double")}

    response = api.post("/api/payments/stripe/webhook/", payload, content_type="application/json", **headers)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "bad_signature"
    order.refresh_from_db()
    assert order.status == "pending_payment" and order.payment.status == "pending"
    assert not PaymentWebhookEvent.objects.exists()


def test_webhooks_without_a_configured_secret_are_refused(waiting, stripe_api, send_webhook, settings):
    order, intent = waiting()
    settings.STRIPE_WEBHOOK_SECRET = ""
    authorised = stripe_api.confirm(intent["id"], "pm_card_visa")

    response = send_webhook("payment_intent.amount_capturable_updated", authorised)

    assert response.status_code == 400
    assert Order.objects.get(pk=order.pk).status == "pending_payment"


def test_unknown_event_types_and_foreign_intents_are_acknowledged_and_ignored(waiting, stripe_api, send_webhook):
    order, intent = waiting()

    unknown = send_webhook("customer.created", {"id": "cus_1", "object": "customer"})
    foreign = send_webhook("payment_intent.succeeded", {**intent, "id": "pi_elsewhere", "metadata": {},
                                                         "status": "succeeded"})

    assert unknown.status_code == 200 and unknown.json()["outcome"] == "ignored: customer.created is not used"
    assert foreign.status_code == 200 and foreign.json()["outcome"] == "ignored: not one of our payments"
    assert Order.objects.get(pk=order.pk).status == "pending_payment"
    assert PaymentWebhookEvent.objects.count() == 2  # acknowledged once each


def test_webhook_finds_an_intent_whose_creation_answer_was_lost(place, stripe_api, send_webhook):
    stripe_api.fail_next("POST", r"^/v1/payment_intents$", mode="drop")
    assert place().status_code == 503
    order = Order.objects.get()
    assert order.payment.intent_id is None

    response = send_webhook("payment_intent.amount_capturable_updated", stripe_api.intent())

    assert response.json()["outcome"] == "authorised: order confirmed"
    payment = Payment.objects.get()
    assert payment.intent_id == stripe_api.intent()["id"] and payment.order.status == "confirmed"


def test_refund_made_in_the_stripe_dashboard_shows_on_the_payment(ready_order, stripe_api, send_webhook, api_as,
                                                                   barista_store1):
    order = ready_order()
    token = api_as(barista_store1)  # hand over by short code
    code = api_as(order.customer).get(f"/api/orders/{order.pk}/").json()["pickup"]["code"]
    assert token.post(f"/api/stores/{order.store_id}/handoff/", {"code": code, "name": order.customer_name},
                      format="json").status_code == 200
    charge = {"id": "ch_1", "object": "charge", "payment_intent": order.payment.intent_id, "amount": 1595,
              "amount_refunded": 500, "refunded": False}

    response = send_webhook("charge.refunded", charge)

    assert response.json()["outcome"] == "refunded amount updated"
    assert Payment.objects.get(pk=order.payment.pk).refunded_minor == 500
