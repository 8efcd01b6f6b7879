"""The interface every payment provider adapter implements, in the provider-neutral words the services use.

A payment is one *intent* with manual capture: `authorise` creates it (and confirms it when a payment
method is given), `capture` takes the money at handoff, `cancel` releases the hold, `refund` gives
money back after capture. Intent statuses use Stripe's vocabulary because it is the reference
provider; the demo adapter speaks the same words.

Every write takes an idempotency key chosen by the caller from the order, so a retried call (after a
timeout, a lost response, a crashed worker) reaches the same intent, capture or refund, never a second one.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from django.conf import settings

# Intent statuses (Stripe's PaymentIntent statuses).
REQUIRES_PAYMENT_METHOD = "requires_payment_method"
REQUIRES_CONFIRMATION = "requires_confirmation"
REQUIRES_ACTION = "requires_action"
PROCESSING = "processing"
REQUIRES_CAPTURE = "requires_capture"
SUCCEEDED = "succeeded"
CANCELED = "canceled"


@dataclass(frozen=True)
class Intent:
    id: str
    status: str
    amount_minor: int
    currency: str  # upper case, as on orders
    amount_capturable_minor: int = 0
    amount_received_minor: int = 0
    client_secret: str = ""
    error_message: str = ""  # why the last attempt to pay failed, if it did
    order_id: int | None = None  # from the intent's metadata


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # "succeeded", "pending", "failed"
    amount_minor: int


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook event. `intent` is set for payment-intent events, `charge` for charge events."""

    id: str
    type: str
    intent: Intent | None = None
    charge: dict = field(default_factory=dict)


class GatewayError(Exception):
    def __init__(self, message: str, *, intent: Intent | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.intent = intent
        self.code = code


class PaymentDeclined(GatewayError):
    """The card (or the bank) said no. `intent` is the intent as the provider left it, when known."""


class ProviderUnavailable(GatewayError):
    """The provider could not be reached or failed on its side; the same call may be retried later."""


class ProviderRejected(GatewayError):
    """The provider refused the request (the intent is in a state that does not allow it, bad parameters)."""


class WebhookRejected(GatewayError):
    """A webhook delivery that is not provably from the provider: bad or missing signature, old timestamp."""


class PaymentGateway(abc.ABC):
    provider: str
    is_demo: bool = False
    publishable_key: str = ""

    @abc.abstractmethod
    def authorise(self, *, amount_minor: int, currency: str, idempotency_key: str, metadata: dict[str, str],
                  description: str = "", payment_method: str = "") -> Intent:
        """Create an intent with manual capture, confirmed at once when `payment_method` is given.

        Raises PaymentDeclined when the card is declined, ProviderUnavailable on network trouble."""

    @abc.abstractmethod
    def retrieve(self, *, intent_id: str) -> Intent: ...

    @abc.abstractmethod
    def capture(self, *, intent_id: str, amount_minor: int, idempotency_key: str) -> Intent: ...

    @abc.abstractmethod
    def cancel(self, *, intent_id: str, idempotency_key: str) -> Intent: ...

    @abc.abstractmethod
    def refund(self, *, intent_id: str, amount_minor: int, idempotency_key: str,
               metadata: dict[str, str]) -> RefundResult: ...

    @abc.abstractmethod
    def parse_webhook(self, *, payload: bytes, signature: str) -> GatewayEvent:
        """Verify a webhook delivery and return its event, or raise WebhookRejected."""


def get_gateway(provider: str | None = None) -> PaymentGateway:
    """The gateway for `provider` ("stripe" or "demo"), or the configured one: Stripe when
    STRIPE_SECRET_KEY is set, the demo provider otherwise.

    A payment keeps the provider it was made with, so an order authorised by the demo provider is
    captured by it even after Stripe keys are added.
    """
    if provider is None:
        provider = "stripe" if settings.STRIPE_SECRET_KEY else "demo"
    if provider == "demo":
        from fulfilment.payment_gateways.demo_gateway import DemoGateway

        return DemoGateway()
    if provider == "stripe":
        from fulfilment.payment_gateways.stripe_gateway import stripe_gateway_from_settings

        return stripe_gateway_from_settings()
    raise ValueError(f"Unknown payment provider {provider!r}")
