"""Authorisation at placement, and asking the provider again (`payment_refresh`)."""


from django.db import transaction

from fulfilment.models import Order, OrderStatus, Payment, PaymentStatus
from fulfilment.payment_gateways import (
    GatewayError,
    Intent,
    PaymentDeclined,
    ProviderRejected,
    ProviderUnavailable,
    get_gateway,
)
from fulfilment.payment_gateways import gateway as intents
from fulfilment.services.lifecycle import order_transition
from fulfilment.services.payments.settle import payment_apply_intent
from fulfilment.services.payments.state import (
    PaymentDeclinedError,
    PaymentUnavailable,
    payment_error_text,
    payment_has_remote_state,
    payment_idempotency_key,
)
from orderahead.errors import Conflict, DomainError
from orderahead.logs import binds_order_id

S = OrderStatus
P = PaymentStatus


@binds_order_id
def payment_authorise(*, order: Order, payment_method: str = "", payment: Payment | None = None) -> Order:
    """Hold the order's total on the customer's card; confirm the order once it is held.

    With `payment_method` (a Stripe PaymentMethod id made by the Payment Element, or a test one like
    `pm_card_visa`) the intent is confirmed at once; without one it waits for the customer's browser
    to confirm it with the client secret, and the webhook (or `payment_refresh`) brings the answer.
    The demo provider authorises at once.

    Safe to call again for the same order (a retried checkout): the first call's payment method and
    idempotency key are reused, so the provider answers with the same intent.
    `payment`: the order's pending payment, written with the order (`payment_record`), not looked up again.
    """
    if order.status != S.PENDING_PAYMENT:
        return order
    if payment is None:
        with transaction.atomic():
            payment = payment_record(order=order, payment_method=payment_method)
    if payment.status != P.PENDING:
        order.refresh_from_db()
        return order
    gateway = get_gateway(payment.provider)
    try:
        if payment_has_remote_state(payment):
            intent = gateway.retrieve(intent_id=payment.intent_id)
        else:
            intent = gateway.authorise(
                amount_minor=payment.amount_minor, currency=payment.currency,
                idempotency_key=payment_idempotency_key(order=order, action="authorise"),
                metadata={"order_id": str(order.pk), "store_id": str(order.store_id)},
                description=f"Order {order.pk} at {order.store.name}", payment_method=payment.payment_method)
    except PaymentDeclined as declined:
        _fail_at_placement(payment, declined)
        raise PaymentDeclinedError(f"{declined.message} Nothing was charged and the order was cancelled; "
                                   "please try another card.", fields={"order": order.pk}) from None
    except ProviderUnavailable as error:
        Payment.objects.filter(pk=payment.pk).update(last_error=payment_error_text(error))
        raise PaymentUnavailable("The payment provider could not be reached, so the card has not been "
                                 "checked yet. Try again in a moment with the same Idempotency-Key: your "
                                 "order is kept and will not be charged twice.",
                                 fields={"order": order.pk}) from None
    except ProviderRejected as error:
        _fail_at_placement(payment, error)
        raise DomainError(f"The payment was refused: {error.message} The order was cancelled.",
                          code="payment_refused", fields={"order": order.pk}) from None
    # Given the order, the payment's lock refreshes this very instance: it comes back as it is now.
    payment_apply_intent(payment_id=payment.pk, intent=intent, source="placement", order=order)
    return order


def payment_record(*, order: Order, payment_method: str = "", placing: bool = False) -> Payment:
    """The order's payment as it starts, pending with the current provider; the one it has, if any.
    Order placement writes it in the placing transaction (`placing`: the order is new, so it has none
    yet), and the authorisation has it at hand."""
    fields = {"provider": get_gateway().provider, "amount_minor": order.total_minor, "currency": order.currency,
              "payment_method": payment_method[:255]}
    if placing:
        return Payment.objects.create(order=order, **fields)
    return Payment.objects.get_or_create(order=order, defaults=fields)[0]


def _fail_at_placement(payment: Payment, error: GatewayError) -> None:
    """A definite no at placement: the payment failed, so the order is cancelled (stock and slot back)."""
    intent = error.intent or Intent(id=payment.intent_id or "", status=intents.REQUIRES_PAYMENT_METHOD,
                                    amount_minor=payment.amount_minor, currency=payment.currency)
    if intent.id:
        payment_apply_intent(payment_id=payment.pk, intent=intent, source="placement", failure=error.message)
        return
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, status=P.PENDING).update(status=P.FAILED,
                                                                       last_error=payment_error_text(error))
        try:
            order_transition(order=payment.order, to_status=S.CANCELLED,
                             data={"reason": f"Payment failed: {error.message}"[:200]})
        except Conflict:
            pass  # already moved on (a concurrent retry cancelled it)


@binds_order_id
def payment_refresh(*, order: Order) -> Order:
    """Ask the provider where the order's intent stands and apply it: for a browser that has just
    confirmed the payment, so the order moves on even before (or without) the webhook."""
    payment = Payment.objects.filter(order=order).first()
    if payment is None or not payment_has_remote_state(payment):
        return order
    try:
        intent = get_gateway(payment.provider).retrieve(intent_id=payment.intent_id)
    except ProviderUnavailable as error:
        raise PaymentUnavailable(f"The payment provider could not be reached: {error.message}") from None
    except GatewayError as error:
        raise Conflict(f"The payment provider refused: {error.message}", code="payment_refused") from None
    payment_apply_intent(payment_id=payment.pk, intent=intent, source="refresh")
    order.refresh_from_db()
    return order
