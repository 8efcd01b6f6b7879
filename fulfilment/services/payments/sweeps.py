"""The sweeps `manage.py expire_orders` runs: unpaid orders, holds about to expire, stuck releases and
refunds."""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from fulfilment.models import PAID_OPEN_STATUSES, Order, OrderStatus, Payment, PaymentStatus
from fulfilment.payment_gateways import GatewayError, get_gateway
from fulfilment.services.lifecycle import order_cancel
from fulfilment.services.payments.authorise import payment_refresh
from fulfilment.services.payments.settle import payment_apply_intent, payment_settle_cancelled
from fulfilment.services.payments.state import CLAIM_STALE_AFTER, payment_has_remote_state
from orderahead.errors import Conflict, DomainError

log = logging.getLogger(__name__)

S = OrderStatus
P = PaymentStatus


def payment_expire_unpaid(*, now: dt.datetime | None = None) -> list[int]:
    """Cancel mobile orders left unpaid for ORDER_PAYMENT_TIMEOUT_S: stock, slot and queue place go back,
    and the intent is cancelled so a late confirmation cannot charge the card. Asks the provider first,
    in case the payment went through and only its webhook is late."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT_S)
    cancelled = []
    for order in Order.objects.filter(status=S.PENDING_PAYMENT, created_at__lt=cutoff).select_related("store"):
        payment = Payment.objects.filter(order=order).first()
        if payment is not None and payment_has_remote_state(payment):
            try:
                payment_refresh(order=order)
            except DomainError as error:
                log.warning("Could not check the payment of order %s before expiring it: %s", order.pk, error)
            if order.status != S.PENDING_PAYMENT:
                continue
        try:
            order_cancel(order=order, reason="Not paid in time")
        except Conflict:
            continue
        cancelled.append(order.pk)
    return cancelled


def payment_cancel_expiring(*, now: dt.datetime | None = None) -> list[int]:
    """Cancel open orders whose card hold is about to run out (the capture deadline, a margin before
    the provider's 7 days): the hold is released before it expires, the stock goes back, and the
    order is never captured late."""
    now = now or timezone.now()
    cancelled = []
    due = Payment.objects.filter(status=P.AUTHORISED, capture_deadline__lte=now,
                                 order__status__in=PAID_OPEN_STATUSES)
    for payment in due.select_related("order"):
        try:
            order_cancel(order=payment.order, reason="Not collected before the card authorisation ran out")
        except Conflict:
            continue
        cancelled.append(payment.order_id)
    return cancelled


def payment_reconcile(*, now: dt.datetime | None = None) -> list[int]:
    """Settle what a failed network call left open: holds of cancelled orders not yet released,
    captures of cancelled orders not yet refunded, claims left by a worker that died mid-call."""
    now = now or timezone.now()
    stale = now - CLAIM_STALE_AFTER
    for payment in Payment.objects.filter(busy_since__lt=stale).select_related("order"):
        if payment_has_remote_state(payment):
            try:
                payment_apply_intent(payment_id=payment.pk, intent=get_gateway(payment.provider).retrieve(
                    intent_id=payment.intent_id), source="reconcile")
            except GatewayError as error:
                log.warning("Could not check payment %s: %s", payment.pk, error.message)
                continue
        Payment.objects.filter(pk=payment.pk, busy_since__lt=stale).update(busy_since=None)
    unsettled = (Payment.objects.filter(order__status=S.CANCELLED)
                 .filter(Q(status__in=[P.PENDING, P.AUTHORISED])
                         | Q(status=P.FAILED, intent_id__isnull=False)
                         | Q(status=P.CAPTURED, refunded_minor__lt=F("captured_minor"))))
    settled = []
    for order_id in unsettled.values_list("order_id", flat=True):
        outcome = payment_settle_cancelled(order_id=order_id, now=now)
        if not outcome.startswith("failed"):
            settled.append(order_id)
    return settled
