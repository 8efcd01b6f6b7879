"""The provider's webhooks: verified, recorded once per event id, applied forward only."""

import logging

from django.db import IntegrityError, transaction

from fulfilment.models import Payment, PaymentWebhookEvent
from fulfilment.payment_gateways import WebhookRejected, get_gateway
from fulfilment.services.payments.settle import payment_apply_intent
from fulfilment.services.payments.state import payment_for_intent
from orderahead.errors import DomainError

log = logging.getLogger(__name__)


def payment_webhook_receive(*, provider: str, payload: bytes, signature: str) -> str:
    """Verify and apply one webhook delivery; returns what happened (for the log and the response).

    The event row and the change it causes commit in one transaction, and the row's event id is
    unique: a second delivery of the same event, also one racing the first on another worker, finds
    the row (or waits for it) and changes nothing.
    """
    try:
        event = get_gateway(provider).parse_webhook(payload=payload, signature=signature)
    except WebhookRejected as error:
        raise DomainError(error.message, code="bad_signature") from None
    try:
        with transaction.atomic():
            row = PaymentWebhookEvent.objects.create(provider=provider, event_id=event.id, type=event.type)
            outcome, order_id = _webhook_apply(provider=provider, event=event)
            row.outcome, row.order_id = outcome[:200], order_id
            row.save(update_fields=["outcome", "order"])
    except IntegrityError:
        if PaymentWebhookEvent.objects.filter(provider=provider, event_id=event.id).exists():
            return "duplicate: already processed"
        raise
    log.info("%s webhook %s %s: %s", provider, event.type, event.id, outcome, extra={"order_id": order_id})
    return outcome


def _webhook_apply(*, provider: str, event) -> tuple[str, int | None]:
    if event.type.startswith("payment_intent.") and event.intent is not None:
        payment = payment_for_intent(provider=provider, intent=event.intent)
        if payment is None:
            return "ignored: not one of our payments", None
        return payment_apply_intent(payment_id=payment.pk, intent=event.intent, source=f"webhook {event.type}"), \
            payment.order_id
    if event.type == "charge.refunded" and event.charge.get("payment_intent"):
        payment = Payment.objects.filter(provider=provider, intent_id=event.charge["payment_intent"]).first()
        if payment is None:
            return "ignored: not one of our payments", None
        # Refunds made in the provider's dashboard show up here; ours are already counted.
        refunded = min(int(event.charge.get("amount_refunded") or 0), payment.captured_minor)
        updated = Payment.objects.filter(pk=payment.pk, refunded_minor__lt=refunded).update(refunded_minor=refunded)
        return ("refunded amount updated" if updated else "refunds already recorded"), payment.order_id
    return f"ignored: {event.type} is not used", None
