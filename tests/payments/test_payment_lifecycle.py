"""After placement: cancellations release the hold, refunds after capture, and `manage.py expire_orders`
(unpaid orders, authorisations about to expire, no-shows by store policy)."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from fulfilment import services
from fulfilment.models import NoShowAction, Order, Payment, Refund, StorePaymentPolicy
from fulfilment.services import payments as payment_services
from fulfilment.services import pickup as pickup_services
from orderahead.errors import Conflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run `manage.py expire_orders` once, with after-commit work (releasing holds) done as in production."""
    def run() -> str:
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("expire_orders", stdout=out)
        return out.getvalue()
    return run


@pytest.fixture
def handed_over(ready_order, barista_store1):
    def make(**overrides) -> Order:
        order = ready_order(**overrides)
        pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                       token=pickup_services.pickup_token(order=order)[0])
        order.refresh_from_db()
        return order
    return make


# --- Cancelling before capture -----------------------------------------------------------------------------

def test_store_cancelling_a_paid_order_releases_the_hold(place, stripe_api, barista_store1, croissants,
                                                         django_capture_on_commit_callbacks):
    order = Order.objects.get(pk=place().json()["id"])

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, actor=barista_store1, reason="Espresso machine down")

    payment = Payment.objects.get(order=order)
    assert payment.status == "cancelled" and payment.captured_minor == 0
    assert stripe_api.intent()["status"] == "canceled" and not stripe_api.calls("POST", r"/capture$")
    assert croissants() == 5


def test_customer_cancelling_an_unpaid_order_cancels_the_intent(place, stripe_api, api_as, customer_a,
                                                                django_capture_on_commit_callbacks):
    order_id = place(payment_method="").json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(customer_a).post(f"/api/orders/{order_id}/cancel/")

    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Payment.objects.get(order_id=order_id).status == "cancelled"
    assert stripe_api.intent()["status"] == "canceled"  # the browser can no longer pay for it


def test_release_that_cannot_reach_stripe_is_retried_by_the_sweep(place, stripe_api, barista_store1, sweep,
                                                                  django_capture_on_commit_callbacks):
    order = Order.objects.get(pk=place().json()["id"])
    stripe_api.fail_next("POST", r"/cancel$", mode="error", status=500)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, actor=barista_store1)

    assert Payment.objects.get(order=order).status == "authorised"  # the hold is still there...
    assert f"settled: 1 ({order.pk})" in sweep()
    assert Payment.objects.get(order=order).status == "cancelled"  # ...until the next sweep
    assert stripe_api.intent()["status"] == "canceled"


# --- Refunds after capture --------------------------------------------------------------------------------

def test_refund_chosen_lines_then_the_rest(handed_over, stripe_api, barista_store1):
    order = handed_over()
    latte, croissant = order.lines.order_by("id")

    one_latte = payment_services.payment_refund(order=order, actor=barista_store1, lines={latte.pk: 1},
                                                reason="Cold")
    with pytest.raises(Conflict) as too_many:
        payment_services.payment_refund(order=order, lines={latte.pk: 2})
    rest = payment_services.payment_refund(order=order, actor=barista_store1, reason="Sorry")
    with pytest.raises(Conflict) as nothing_left:
        payment_services.payment_refund(order=order)

    assert (one_latte.amount_minor, one_latte.lines, one_latte.status) == (
        610, [{"line": latte.pk, "quantity": 1, "amount_minor": 610}], Refund.SUCCEEDED)
    assert too_many.value.code == "refund_too_large" and "1 of 2 can still be refunded" in too_many.value.message
    assert rest.amount_minor == 1595 - 610
    assert nothing_left.value.code == "nothing_to_refund"
    assert sorted(r["amount"] for r in stripe_api.refunds.values()) == [610, 985]
    payment = Payment.objects.get(order=order)
    assert (payment.captured_minor, payment.refunded_minor) == (1595, 1595)
    assert croissant.pk not in [entry["line"] for entry in one_latte.lines]


def test_refund_before_capture_is_refused(place, stripe_api):
    order = Order.objects.get(pk=place().json()["id"])

    with pytest.raises(Conflict) as refused:
        payment_services.payment_refund(order=order)

    assert refused.value.code == "not_captured" and "cancel the order" in refused.value.message
    assert not stripe_api.refunds


# --- Unpaid orders ----------------------------------------------------------------------------------------

def age(order_id: int, **delta) -> None:
    Order.objects.filter(pk=order_id).update(created_at=timezone.now() - dt.timedelta(**delta))


def test_unpaid_order_is_cancelled_after_the_timeout(place, stripe_api, sweep, croissants, settings):
    settings.ORDER_PAYMENT_TIMEOUT_S = 900
    fresh = place(payment_method="").json()["id"]
    stale = place(payment_method="").json()["id"]
    age(stale, minutes=16)
    assert croissants() == 3

    out = sweep()

    assert f"unpaid orders cancelled: 1 ({stale})" in out
    assert Order.objects.get(pk=stale).status == "cancelled"
    assert Order.objects.get(pk=stale).cancel_reason == "Not paid in time"
    assert Order.objects.get(pk=fresh).status == "pending_payment"
    assert croissants() == 4
    assert stripe_api.intents[Payment.objects.get(order_id=stale).intent_id]["status"] == "canceled"


def test_unpaid_order_whose_webhook_is_late_is_confirmed_not_cancelled(place, stripe_api, sweep):
    order_id = place(payment_method="").json()["id"]
    stripe_api.confirm(stripe_api.intent()["id"], "pm_card_visa")  # paid; the webhook has not come yet
    age(order_id, minutes=30)

    sweep()

    assert Order.objects.get(pk=order_id).status == "confirmed"


# --- The authorisation deadline ---------------------------------------------------------------------------

def test_uncollected_order_is_cancelled_before_its_authorisation_expires(ready_order, stripe_api, sweep,
                                                                         croissants, api_as, barista_store1):
    order = ready_order()
    token = pickup_services.pickup_token(order=order)[0]
    # Six days and a bit later: the capture deadline (a margin before Stripe's 7 days) has come.
    Payment.objects.filter(order=order).update(authorised_at=timezone.now() - dt.timedelta(days=6, hours=19),
                                               capture_deadline=timezone.now() - dt.timedelta(minutes=1))
    StorePaymentPolicy.objects.create(store=order.store, no_show_after_minutes=24 * 60)  # not a no-show yet
    Order.objects.filter(pk=order.pk).update(ready_at=timezone.now())

    out = sweep()

    assert f"orders cancelled before their card authorisation expired: 1 ({order.pk})" in out
    order.refresh_from_db()
    assert order.status == "cancelled" and "authorisation ran out" in order.cancel_reason
    assert order.payment.status == "cancelled" and order.payment.captured_minor == 0
    assert stripe_api.intent()["status"] == "canceled" and not stripe_api.calls("POST", r"/capture$")
    assert croissants() == 5
    late = api_as(barista_store1).post(f"/api/stores/{order.store_id}/handoff/", {"token": token}, format="json")
    assert late.status_code == 409 and late.json()["error"]["fields"]["status"] == "cancelled"
    assert not stripe_api.calls("POST", r"/capture$")


def test_handoff_after_the_deadline_never_captures_late(ready_order, stripe_api, api_as, barista_store1):
    order = ready_order()
    Payment.objects.filter(order=order).update(capture_deadline=timezone.now() - dt.timedelta(seconds=1))

    response = api_as(barista_store1).post(f"/api/stores/{order.store_id}/handoff/",
                                           {"token": pickup_services.pickup_token(order=order)[0]}, format="json")

    assert response.status_code == 409 and response.json()["error"]["code"] == "authorisation_expired"
    assert Order.objects.get(pk=order.pk).status == "ready"
    assert not stripe_api.calls("POST", r"/capture$")


# --- No-shows ------------------------------------------------------------------------------------------------

def leave_on_shelf(order: Order, minutes: int) -> None:
    past = timezone.now() - dt.timedelta(minutes=minutes)
    Order.objects.filter(pk=order.pk).update(ready_at=past, promised_ready_at=past)


def test_no_show_is_charged_under_the_default_policy(ready_order, stripe_api, sweep):
    order = ready_order()
    leave_on_shelf(order, 61)

    assert f"no-shows: 1 ({order.pk})" in sweep()

    order.refresh_from_db()
    assert order.status == "no_show" and order.payment.status == "captured"
    assert stripe_api.intent()["status"] == "succeeded"
    assert order.events.get(to_status="no_show").data["no_show"] == {"after_minutes": 60, "payment": "capture"}


def test_no_show_hold_is_released_when_the_store_says_so(ready_order, stripe_api, sweep):
    order = ready_order()
    StorePaymentPolicy.objects.create(store=order.store, no_show_after_minutes=15,
                                      no_show_action=NoShowAction.RELEASE)
    leave_on_shelf(order, 16)

    sweep()

    order.refresh_from_db()
    assert order.status == "no_show" and order.payment.status == "cancelled"
    assert stripe_api.intent()["status"] == "canceled" and not stripe_api.calls("POST", r"/capture$")


def test_order_within_its_no_show_time_stays_on_the_shelf(ready_order, stripe_api, sweep):
    order = ready_order()
    leave_on_shelf(order, 59)

    assert sweep() == ""

    assert Order.objects.get(pk=order.pk).status == "ready"


def test_sweep_run_twice_changes_nothing_twice(ready_order, stripe_api, sweep):
    order = ready_order()
    leave_on_shelf(order, 61)

    sweep()
    second = sweep()

    assert second == ""
    assert len(stripe_api.calls("POST", r"/capture$")) == 1
