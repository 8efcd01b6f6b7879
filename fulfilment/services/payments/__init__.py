"""Payment for mobile orders: one intent with manual capture per order, through `fulfilment.payment_gateways`.

Money moves at four points, each with an idempotency key derived from the order, so a retry of any
of them (a customer's retried checkout, a staff member scanning twice, a sweep run twice) reaches the
same intent, capture or refund at the provider and never a second one:

- placement: `payment_authorise` holds the order total on the card; once the hold is in place the
  order is confirmed and so enters the kitchen queue (never before);
- handoff or no-show: `payment_finish_order` captures (or, for a no-show under a "release" policy,
  releases) and then moves the order on; a failed capture leaves the order ready;
- cancellation: `payment_settle_cancelled` runs after every cancel commits (an effect registered with
  `fulfilment.services.lifecycle`, which never imports payments): it releases the hold, or
  refunds what was captured, so a customer is never charged for an order the store cancelled;
- refunds after capture: `payment_refund`, for the whole order or chosen lines.

The provider's webhooks (`payment_webhook_receive`) and `payment_refresh` feed the intent's status
into `payment_apply_intent`, which only ever moves a payment forward (pending -> authorised -> captured, or
to failed/cancelled), so events that arrive twice or out of order leave the right state.

Network calls never run inside a database transaction. Where the database must decide who may make
one (two scans of the same QR code), a claim (`Payment.busy_since`) is committed first.
"""

from fulfilment.services.payments.authorise import payment_authorise, payment_record, payment_refresh
from fulfilment.services.payments.settle import payment_finish_order, payment_refund, payment_settle_cancelled
from fulfilment.services.payments.state import (
    CLAIM_STALE_AFTER,
    PaymentDeclinedError,
    PaymentUnavailable,
    below_card_minimum,
    payment_check_card_amount,
    payment_check_pickup_window,
    payment_idempotency_key,
    payment_policy_for,
)
from fulfilment.services.payments.sweeps import payment_cancel_expiring, payment_expire_unpaid, payment_reconcile
from fulfilment.services.payments.webhooks import payment_webhook_receive

__all__ = [
    "CLAIM_STALE_AFTER", "PaymentDeclinedError", "PaymentUnavailable", "below_card_minimum", "payment_authorise",
    "payment_cancel_expiring", "payment_check_card_amount", "payment_check_pickup_window", "payment_expire_unpaid",
    "payment_finish_order", "payment_idempotency_key", "payment_policy_for", "payment_reconcile", "payment_record",
    "payment_refresh", "payment_refund", "payment_settle_cancelled", "payment_webhook_receive",
]
