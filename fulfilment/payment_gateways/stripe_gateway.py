"""Stripe, through the official `stripe` library: PaymentIntents with `capture_method=manual`.

The only module in the project that imports `stripe`. It turns library objects and errors into the
provider-neutral `Intent`, `RefundResult` and `GatewayError`s of `gateway.py`.

`STRIPE_API_BASE` points the client at another address (the tests' local double of the Stripe API);
by default it talks to api.stripe.com. Network failures are retried by the library with the same
idempotency key (`STRIPE_MAX_NETWORK_RETRIES`), and the caller's keys make any later retry safe too.
"""

import functools
import json
import logging
import time

import stripe
from django.conf import settings

from fulfilment.payment_gateways.gateway import (
    GatewayEvent,
    Intent,
    PaymentDeclined,
    PaymentGateway,
    ProviderRejected,
    ProviderUnavailable,
    RefundResult,
    WebhookRejected,
)

log = logging.getLogger(__name__)


def _intent(data: dict) -> Intent:
    error = data.get("last_payment_error") or {}
    order_id = (data.get("metadata") or {}).get("order_id")
    return Intent(
        id=data["id"], status=data.get("status", ""), amount_minor=int(data.get("amount") or 0),
        currency=str(data.get("currency") or "").upper(),
        amount_capturable_minor=int(data.get("amount_capturable") or 0),
        amount_received_minor=int(data.get("amount_received") or 0),
        client_secret=data.get("client_secret") or "", error_message=error.get("message", "") if error else "",
        order_id=int(order_id) if order_id and str(order_id).isdigit() else None)


def _as_dict(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _translate(error: stripe.StripeError, doing: str) -> Exception:
    """A library error as one of ours, with a message staff and customers can act on."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    detail = body.get("error") or {}
    intent = _intent(detail["payment_intent"]) if isinstance(detail.get("payment_intent"), dict) else None
    message = detail.get("message") or error.user_message or str(error) or "no details"
    if isinstance(error, stripe.CardError):
        return PaymentDeclined(message, intent=intent, code=detail.get("decline_code") or error.code or "")
    if isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)):
        log.warning("Stripe unavailable while trying to %s: %s", doing, error)
        return ProviderUnavailable(f"Could not reach Stripe to {doing}: {message}")
    if isinstance(error, (stripe.AuthenticationError, stripe.PermissionError)):
        log.error("Stripe refused our credentials while trying to %s: %s", doing, error)
        return ProviderUnavailable(f"Payments are misconfigured (Stripe refused our key) and could not {doing}.")
    return ProviderRejected(f"Stripe refused to {doing}: {message}", intent=intent, code=error.code or "")


class StripeGateway(PaymentGateway):
    provider = "stripe"

    def __init__(self, *, secret_key: str, publishable_key: str = "", webhook_secret: str = "",
                 api_base: str = "", max_network_retries: int = 2, timeout_s: float = 20.0,
                 webhook_tolerance_s: int = 300):
        self.publishable_key = publishable_key
        self._webhook_secret = webhook_secret
        self._webhook_tolerance_s = webhook_tolerance_s
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base or stripe.api_base},
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout_s))

    def _call(self, doing: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as error:
            raise _translate(error, doing) from error

    def authorise(self, *, amount_minor, currency, idempotency_key, metadata, description="", payment_method=""):
        params = {
            "amount": amount_minor, "currency": currency.lower(), "capture_method": "manual",
            "metadata": metadata, "description": description,
            # Cards and wallets in the Payment Element; nothing that needs a redirect away from the app.
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
        }
        if payment_method:
            params.update(payment_method=payment_method, confirm=True)
        intent = self._call("authorise the payment", self._client.v1.payment_intents.create,
                            params=params, options={"idempotency_key": idempotency_key})
        return _intent(_as_dict(intent))

    def retrieve(self, *, intent_id):
        return _intent(_as_dict(self._call("look the payment up", self._client.v1.payment_intents.retrieve,
                                           intent_id)))

    def capture(self, *, intent_id, amount_minor, idempotency_key):
        intent = self._call("capture the payment", self._client.v1.payment_intents.capture, intent_id,
                            params={"amount_to_capture": amount_minor}, options={"idempotency_key": idempotency_key})
        return _intent(_as_dict(intent))

    def cancel(self, *, intent_id, idempotency_key):
        intent = self._call("release the payment", self._client.v1.payment_intents.cancel, intent_id,
                            options={"idempotency_key": idempotency_key})
        return _intent(_as_dict(intent))

    def refund(self, *, intent_id, amount_minor, idempotency_key, metadata):
        refund = self._call("refund the payment", self._client.v1.refunds.create,
                            params={"payment_intent": intent_id, "amount": amount_minor, "metadata": metadata},
                            options={"idempotency_key": idempotency_key})
        data = _as_dict(refund)
        return RefundResult(id=data["id"], status=data.get("status", ""), amount_minor=int(data.get("amount") or 0))

    def parse_webhook(self, *, payload: bytes, signature: str) -> GatewayEvent:
        if not self._webhook_secret:
            raise WebhookRejected("Stripe webhooks are not configured here (STRIPE_WEBHOOK_SECRET is not set).")
        try:
            event = stripe.Webhook.construct_event(payload, signature, self._webhook_secret,
                                                   tolerance=self._webhook_tolerance_s)
            signed_at = int(dict(part.split("=", 1) for part in signature.split(",") if "=" in part)["t"])
            body = json.loads(payload)
        except stripe.SignatureVerificationError as error:
            raise WebhookRejected(f"Bad Stripe signature: {error.user_message or error}") from None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise WebhookRejected("The webhook body is not a Stripe event.") from None
        # The library refuses old timestamps; one from the future is as suspect.
        if signed_at > time.time() + self._webhook_tolerance_s:
            raise WebhookRejected("Bad Stripe signature: timestamp outside the tolerance zone.")
        obj = ((body.get("data") or {}).get("object")) or {}
        if not isinstance(obj, dict):
            raise WebhookRejected("The webhook body is not a Stripe event.")
        kind = obj.get("object")
        return GatewayEvent(id=event.id, type=event.type,
                            intent=_intent(obj) if kind == "payment_intent" and obj.get("id") else None,
                            charge=obj if kind == "charge" else {})


@functools.lru_cache(maxsize=8)
def _cached(**options) -> StripeGateway:
    return StripeGateway(**options)


def stripe_gateway_from_settings() -> StripeGateway:
    # One client per configuration (tests point it at their own double), reused across requests.
    return _cached(secret_key=settings.STRIPE_SECRET_KEY, publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
                   webhook_secret=settings.STRIPE_WEBHOOK_SECRET, api_base=settings.STRIPE_API_BASE,
                   max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES, timeout_s=settings.STRIPE_TIMEOUT_S,
                   webhook_tolerance_s=settings.STRIPE_WEBHOOK_TOLERANCE_S)
