"""The demo provider: same interface as Stripe, no card, no network. Used when no Stripe key is set
(`make run`). It authorises at once and every order it pays for says it is a demo payment.

It keeps no state of its own: the Payment row is the record, and ids are derived from the caller's
idempotency keys, so a retried call gets the same intent or refund id, as it would from Stripe.
A payment method whose id contains "Declined" (for example Stripe's `pm_card_chargeDeclined`) is
declined, to try the decline path without Stripe.
"""

import hashlib

from fulfilment.payment_gateways.gateway import (
    CANCELED,
    REQUIRES_CAPTURE,
    SUCCEEDED,
    GatewayEvent,
    Intent,
    PaymentDeclined,
    PaymentGateway,
    ProviderRejected,
    RefundResult,
    WebhookRejected,
)


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class DemoGateway(PaymentGateway):
    provider = "demo"
    is_demo = True

    def authorise(self, *, amount_minor, currency, idempotency_key, metadata, description="", payment_method=""):
        order_id = int(metadata["order_id"]) if metadata.get("order_id") else None
        intent_id = _id("demo_pi", idempotency_key)
        if "declined" in payment_method.lower():
            raise PaymentDeclined("Your card was declined (demo).", code="card_declined",
                                  intent=Intent(id=intent_id, status="requires_payment_method",
                                                amount_minor=amount_minor, currency=currency.upper(),
                                                error_message="Your card was declined (demo).", order_id=order_id))
        return Intent(id=intent_id, status=REQUIRES_CAPTURE, amount_minor=amount_minor, currency=currency.upper(),
                      amount_capturable_minor=amount_minor, order_id=order_id)

    def retrieve(self, *, intent_id):
        raise ProviderRejected("The demo provider keeps no state; the payment row is the record.")

    def capture(self, *, intent_id, amount_minor, idempotency_key):
        return Intent(id=intent_id, status=SUCCEEDED, amount_minor=amount_minor, currency="",
                      amount_received_minor=amount_minor)

    def cancel(self, *, intent_id, idempotency_key):
        return Intent(id=intent_id, status=CANCELED, amount_minor=0, currency="")

    def refund(self, *, intent_id, amount_minor, idempotency_key, metadata):
        return RefundResult(id=_id("demo_re", idempotency_key), status="succeeded", amount_minor=amount_minor)

    def parse_webhook(self, *, payload, signature) -> GatewayEvent:
        raise WebhookRejected("The demo provider sends no webhooks.")
