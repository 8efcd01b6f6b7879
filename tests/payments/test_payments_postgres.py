"""Races on PostgreSQL: the same webhook delivered 50 times at once, the same QR code scanned 100 times at once.

Every client is a thread with its own database connection, released together by a barrier, calling the real
API (and, behind it, the Stripe double). One state change, one capture; every other answer a clean 2xx/409.
"""

import itertools
import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from fulfilment.models import Order, OrderEvent, PaymentWebhookEvent
from fulfilment.services import pickup as pickup_services
from stripe_double import signed_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOIN_TIMEOUT_S = 60
# PostgreSQL allows 100 connections by default; 40 clients at a time leave room for everyone else.
MAX_CLIENTS = 40


def run_together(calls, clients: int) -> list:
    """Run the calls on `clients` threads released at once; each thread takes the next call until none
    is left. Returns (status, body) per call, or the exception it raised."""
    answers: list = [None] * len(calls)
    pending = iter(enumerate(calls))
    take = threading.Lock()
    barrier = threading.Barrier(clients)

    def worker():
        try:
            connection.ensure_connection()
            barrier.wait(timeout=JOIN_TIMEOUT_S)
            while True:
                with take:
                    index, call = next(pending, (None, None))
                if call is None:
                    return
                try:
                    response = call()
                    answers[index] = (response.status_code, response.json())
                except BaseException as error:  # noqa: BLE001 - reported by the test
                    answers[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_S)
    assert not any(thread.is_alive() for thread in threads), "a client hung (deadlock or lock wait?)"
    errors = [a for a in answers if isinstance(a, BaseException)]
    assert not errors, errors[:3]
    return answers


def client_for(user=None) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.force_authenticate(user)
    return client


def test_same_event_delivered_50_times_at_once_changes_the_order_once(place, stripe_api):
    response = place(payment_method="")
    order = Order.objects.get(pk=response.json()["id"])
    authorised = stripe_api.confirm(order.payment.intent_id, "pm_card_visa")
    payload, signature = signed_event("payment_intent.amount_capturable_updated", authorised,
                                      secret="whsec_test_double", event_id="evt_once")

    def deliver():
        return client_for().post("/api/payments/stripe/webhook/", payload, content_type="application/json",
                                 HTTP_STRIPE_SIGNATURE=signature)

    answers = run_together([deliver] * 50, clients=50)

    assert Counter(status for status, _ in answers) == {200: 50}
    outcomes = Counter(body["outcome"] for _, body in answers)
    assert outcomes == {"authorised: order confirmed": 1, "duplicate: already processed": 49}
    order.refresh_from_db()
    assert order.status == "confirmed" and order.payment.status == "authorised"
    assert order.events.filter(kind=OrderEvent.STATUS_CHANGED, to_status="confirmed").count() == 1
    assert PaymentWebhookEvent.objects.filter(event_id="evt_once").count() == 1


def test_one_code_scanned_100_times_at_once_hands_over_once(ready_order, stripe_api, barista_store1):
    order = ready_order()
    token, _ = pickup_services.pickup_token(order=order)

    def scan():
        return client_for(barista_store1).post(f"/api/stores/{order.store_id}/handoff/", {"token": token},
                                               format="json")

    answers = run_together([scan] * 100, clients=MAX_CLIENTS)

    statuses = Counter(status for status, _ in answers)
    assert statuses[200] == 1 and statuses[409] == 99, statuses
    refusals = Counter(body["error"]["code"] for status, body in answers if status == 409)
    assert set(refusals) <= {"already_picked_up", "handoff_in_progress"}, refusals
    order.refresh_from_db()
    assert order.status == "picked_up" and order.payment.status == "captured"
    assert order.events.filter(to_status="picked_up").count() == 1
    assert len(stripe_api.calls("POST", r"/capture$")) == 1
    assert stripe_api.intent()["amount_received"] == 1595


def test_handoff_racing_a_cancel_never_leaves_the_customer_charged(ready_order, stripe_api, barista_store1):
    """A manager cancels while a barista scans: either the handoff wins (charged, picked up) or the cancel
    does (nothing charged, or refunded in full)."""
    from fulfilment import services

    order = ready_order()
    token, _ = pickup_services.pickup_token(order=order)

    def scan():
        return client_for(barista_store1).post(f"/api/stores/{order.store_id}/handoff/", {"token": token},
                                               format="json")

    class Cancelled:
        status_code = 200

        @staticmethod
        def json():
            return {}

    def cancel():
        try:
            services.order_cancel(order=Order.objects.get(pk=order.pk), reason="race")
        except Exception:  # noqa: BLE001 - losing the race is a Conflict
            pass
        return Cancelled()

    run_together(list(itertools.chain.from_iterable([scan, cancel] for _ in range(5))), clients=10)

    order.refresh_from_db()
    payment = order.payment
    if order.status == "picked_up":
        assert payment.status == "captured" and payment.refunded_minor == 0
    else:
        assert order.status == "cancelled"
        assert payment.captured_minor == payment.refunded_minor  # nothing kept
