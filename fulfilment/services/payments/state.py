"""Payment state: what each status means and how far along it is, the provider's word on an intent
applied to the payment and its order (only ever forward), and the small helpers the rest share."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fulfilment.models import Order, OrderStatus, Payment, PaymentStatus, StorePaymentPolicy
from fulfilment.payments import GatewayError, Intent
from fulfilment.payments import gateway as intents
from orderahead.errors import DomainError
from stores.models import Store

log = logging.getLogger(__name__)

S = OrderStatus
P = PaymentStatus


# How far each payment status is along; a payment never moves back (failed may still be authorised:
# the customer tried a second card on the same intent).
_RANK = {P.PENDING: 0, P.FAILED: 1, P.AUTHORISED: 2, P.CAPTURED: 3, P.CANCELLED: 3}
# A claim older than this belongs to a worker that died mid-call; the provider call it guarded is
# idempotent, so taking the claim over is safe.
CLAIM_STALE_AFTER = dt.timedelta(minutes=2)
UNAVAILABLE_STATUS = 503


class PaymentUnavailable(DomainError):
    def __init__(self, message: str, *, fields: dict | None = None):
        super().__init__(message, code="payment_provider_unavailable", status=UNAVAILABLE_STATUS, fields=fields)


class PaymentDeclinedError(DomainError):
    def __init__(self, message: str, *, fields: dict | None = None):
        super().__init__(message, code="card_declined", status=402, fields=fields)


# --- Small helpers ---------------------------------------------------------------------------------------

def payment_idempotency_key(*, order: Order, action: str) -> str:
    """Derived from the order alone, so every retry of `action` sends the same key. The creation time
    keeps keys of a re-created database from meeting the old ones at the provider (kept there 24 h)."""
    return f"orderahead-order-{order.pk}-{int(order.created_at.timestamp())}-{action}"


def payment_policy_for(*, store: Store) -> StorePaymentPolicy:
    """The store's payment policy, or the defaults when it has none (an unsaved row)."""
    return StorePaymentPolicy.objects.filter(store=store).first() or StorePaymentPolicy(store=store)


def _validity() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PAYMENT_AUTHORISATION_VALIDITY_S)


def _margin() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PAYMENT_AUTHORISATION_MARGIN_S)


def payment_check_pickup_window(*, store: Store, ready_at: dt.datetime, now: dt.datetime) -> None:
    """Refuse a pickup the card hold would not last until: a hold placed now must still be capturable
    when the order becomes a no-show at the latest."""
    policy = payment_policy_for(store=store)
    last_capture = now + _validity() - _margin()
    if ready_at + dt.timedelta(minutes=policy.no_show_after_minutes) > last_capture:
        latest = last_capture - dt.timedelta(minutes=policy.no_show_after_minutes)
        raise DomainError(f"A card payment is held for at most {_validity().days} days, so pickups can be "
                          f"scheduled until {latest.astimezone(store.tz):%a %d %b %H:%M}.",
                          code="pickup_too_far", fields={"latest_pickup_at": latest.isoformat()})


def _has_remote_state(payment: Payment) -> bool:
    return not payment.is_demo and bool(payment.intent_id)


def _lock(order_id: int) -> Payment | None:
    """Lock the store, the order and its payment, in that order: the order of order_transition and
    order placement (store, then order), so that none of them can wait on each other in a cycle."""
    store_id = Order.objects.filter(pk=order_id).values_list("store_id", flat=True).get()
    Store.objects.select_for_update().filter(pk=store_id).get()
    order = Order.objects.select_for_update().select_related("store").get(pk=order_id)
    payment = Payment.objects.select_for_update().filter(order_id=order_id).first()
    if payment is not None:
        payment.order = order
    return payment


def _error_text(error: GatewayError) -> str:
    return error.message[:300]


# --- Applying what the provider says about an intent ----------------------------------------------------

def _status_of(intent: Intent) -> str:
    if intent.status == intents.REQUIRES_CAPTURE:
        return P.AUTHORISED
    if intent.status == intents.SUCCEEDED:
        return P.CAPTURED
    if intent.status == intents.CANCELED:
        return P.CANCELLED
    if intent.status == intents.REQUIRES_PAYMENT_METHOD and intent.error_message:
        return P.FAILED
    return P.PENDING  # not paid yet: requires_payment_method, requires_action, processing, ...


def _apply_intent(*, payment_id: int, intent: Intent, source: str, now: dt.datetime | None = None,
                  failure: str = "", move_order: bool = True) -> str:
    """Bring the payment (and its order) forward to what `intent` says; never backward. Returns what it did.

    Authorised: the order is confirmed and enters the kitchen queue. Failed or cancelled before
    capture: the order is cancelled, which releases its stock and its place in the queue. An
    authorisation (or capture) that arrives for an order already cancelled is released (refunded)
    after the commit, by the cancel hook's own function.

    The order is left alone when `move_order` is false (the caller moves it itself: a no-show whose
    hold is released is a no-show, not a cancellation), and while another caller holds the payment's
    claim (`busy_since`): that caller is about to move the order, and a webhook must not race it.
    """
    from fulfilment.services.orders import order_confirm, order_transition
    from fulfilment.services.payments.settle import (
        payment_settle_cancelled,  # settle builds on this module
    )

    now = now or timezone.now()
    with transaction.atomic():
        payment = _lock(Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get())
        order = payment.order
        changed = []
        if not payment.intent_id:
            payment.intent_id = intent.id
            changed.append("intent_id")
        if intent.client_secret and not payment.client_secret:
            payment.client_secret = intent.client_secret
            changed.append("client_secret")
        if intent.status and intent.status != payment.intent_status:
            payment.intent_status = intent.status
            changed.append("intent_status")
        new = _status_of(intent)
        old = payment.status
        if payment.busy_since and payment.busy_since > now - CLAIM_STALE_AFTER:
            move_order = False
        moves_forward = _RANK[new] > _RANK[old] and old not in (P.CAPTURED, P.CANCELLED)
        if not moves_forward:
            if changed:
                payment.save(update_fields=[*changed, "updated_at"])
            return f"unchanged ({old}, provider says {intent.status})"

        payment.status = new
        changed.append("status")
        if new == P.AUTHORISED:
            payment.authorised_at = now
            payment.capture_deadline = now + _validity() - _margin()
            payment.last_error = ""
            changed += ["authorised_at", "capture_deadline", "last_error"]
        elif new == P.CAPTURED:
            payment.captured_minor = min(intent.amount_received_minor or payment.amount_minor, payment.amount_minor)
            payment.captured_at = now
            payment.busy_since = None
            changed += ["captured_minor", "captured_at", "busy_since"]
        elif new == P.CANCELLED:
            payment.cancelled_at = now
            payment.busy_since = None
            changed += ["cancelled_at", "busy_since"]
        elif new == P.FAILED:
            payment.last_error = (failure or intent.error_message or "The payment failed.")[:300]
            changed.append("last_error")
        payment.save(update_fields=[*changed, "updated_at"])
        log.info("Payment of order %s: %s -> %s (%s)", order.pk, old, new, source)

        if not move_order:
            return new
        summary = {"provider": payment.provider, "status": new, "amount_minor": payment.amount_minor,
                   "currency": payment.currency}
        if new in (P.AUTHORISED, P.CAPTURED) and order.status == S.PENDING_PAYMENT:
            order_confirm(order=order, data={"payment": summary})
            return f"{new}: order confirmed"
        if new in (P.FAILED, P.CANCELLED) and order.status in (S.PENDING_PAYMENT, S.CONFIRMED, S.IN_PROGRESS,
                                                              S.READY):
            reason = (f"Payment failed: {payment.last_error}" if new == P.FAILED
                      else "The payment was cancelled.")
            order_transition(order=order, to_status=S.CANCELLED, data={"reason": reason, "payment": summary})
            return f"{new}: order cancelled"
        if new in (P.AUTHORISED, P.CAPTURED) and order.status == S.CANCELLED:
            transaction.on_commit(lambda: payment_settle_cancelled(order_id=order.pk), robust=True)
            return f"{new}: order already cancelled, money to be released"
        return new


def _payment_for_intent(*, provider: str, intent: Intent) -> Payment | None:
    payment = Payment.objects.filter(provider=provider, intent_id=intent.id).first()
    if payment is None and intent.order_id:
        # The intent was created but its id never reached us (lost response): the metadata says whose it is.
        payment = (Payment.objects.filter(provider=provider, order_id=intent.order_id)
                   .filter(Q(intent_id__isnull=True) | Q(intent_id=intent.id)).first())
    return payment
