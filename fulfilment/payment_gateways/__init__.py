"""Adapters to card payment providers. Everything outside this package talks to `gateway.PaymentGateway`
(got from `get_gateway()`); only `stripe_gateway` imports the `stripe` library."""

from fulfilment.payment_gateways.gateway import (
    GatewayError,
    GatewayEvent,
    Intent,
    PaymentDeclined,
    PaymentGateway,
    ProviderRejected,
    ProviderUnavailable,
    RefundResult,
    WebhookRejected,
    get_gateway,
)

__all__ = ["GatewayError", "GatewayEvent", "Intent", "PaymentDeclined", "PaymentGateway", "ProviderRejected",
           "ProviderUnavailable", "RefundResult", "WebhookRejected", "get_gateway"]
