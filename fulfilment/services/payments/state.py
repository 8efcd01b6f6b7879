"""Payment state: the errors, the store's policy, the capture deadline, the lock, and the small helpers the
other payment modules share. What the provider says about an intent is applied in `settle`."""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Q

from fulfilment.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    StorePaymentPolicy,
)
from fulfilment.payment_gateways import GatewayError, Intent
from orderahead.errors import DomainError
from stores.config_cache import store_config_cached
from stores.models import Store
from stores.money import format_money

log = logging.getLogger(__name__)

S = OrderStatus
P = PaymentStatus


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
    """The store's payment policy, or the defaults when it has none (an unsaved row); read once per change
    of the store's configuration (stores.config_cache)."""
    return store_config_cached(store, "payment_policy", lambda s: StorePaymentPolicy.objects.filter(store=s).first()
                               or StorePaymentPolicy(store=s))


def _validity() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PAYMENT_AUTHORISATION_VALIDITY_S)


def payment_capture_deadline(*, authorised_at: dt.datetime) -> dt.datetime:
    """The last moment a hold placed at `authorised_at` is captured: a margin before the provider lets it expire."""
    return authorised_at + _validity() - dt.timedelta(seconds=settings.PAYMENT_AUTHORISATION_MARGIN_S)


def payment_check_pickup_window(*, store: Store, ready_at: dt.datetime, now: dt.datetime) -> None:
    """Refuse a pickup the card hold would not last until: a hold placed now must still be capturable
    when the order becomes a no-show at the latest."""
    policy = payment_policy_for(store=store)
    last_capture = payment_capture_deadline(authorised_at=now)
    if ready_at + dt.timedelta(minutes=policy.no_show_after_minutes) > last_capture:
        latest = last_capture - dt.timedelta(minutes=policy.no_show_after_minutes)
        raise DomainError(f"A card payment is held for at most {_validity().days} days, so pickups can be "
                          f"scheduled until {latest.astimezone(store.tz):%a %d %b %H:%M}.",
                          code="pickup_too_far", fields={"latest_pickup_at": latest.isoformat()})


# The least a card can be charged, in minor units, by currency: Stripe's minimum charge amounts (the demo
# provider keeps to them too, so what works offline works live). Others: CARD_MINIMUM_DEFAULT_MINOR.
CARD_MINIMUM_MINOR = {"USD": 50, "EUR": 50, "GBP": 30, "CAD": 50, "AUD": 50, "NZD": 50, "CHF": 50, "SGD": 50,
                      "JPY": 50, "HKD": 400, "DKK": 250, "SEK": 300, "NOK": 300, "PLN": 200, "CZK": 1500,
                      "MXN": 1000, "BRL": 50, "INR": 50}
CARD_MINIMUM_DEFAULT_MINOR = 50


def card_minimum_minor(currency: str) -> int:
    return CARD_MINIMUM_MINOR.get(currency.upper(), CARD_MINIMUM_DEFAULT_MINOR)


def below_card_minimum(*, total_minor: int, currency: str) -> bool:
    """Something to pay, but less than a card can be charged (nothing to pay needs no card at all)."""
    return 0 < total_minor < card_minimum_minor(currency)


def payment_check_card_amount(*, total_minor: int, currency: str) -> None:
    """Refuse a card payment smaller than the card minimum (a reward that leaves 0.30 of a 4.80 order): the
    provider would refuse it after the order was placed. Nothing to pay at all is fine (no card is used)."""
    if below_card_minimum(total_minor=total_minor, currency=currency):
        minimum = card_minimum_minor(currency)
        raise DomainError(f"That leaves {format_money(total_minor, currency)} to pay, less than the "
                          f"{format_money(minimum, currency)} a card can be charged. Add something to the order, "
                          "or use the reward at the counter.", code="below_card_minimum",
                          fields={"total_minor": total_minor, "minimum_minor": minimum})


def payment_has_remote_state(payment: Payment) -> bool:
    return not payment.is_demo and bool(payment.intent_id)


def payment_lock(order_id: int, *, order: Order | None = None) -> Payment | None:
    """Lock the store, the order and its payment, in that order: the order of order_transition and
    order placement (store, then order), so that none of them can wait on each other in a cycle.
    The payment comes back with its locked order (and the order's store) attached; None without one.
    `order`: the caller's copy of the order: its store id is not looked up (an order never changes
    store), and it is the instance locked, read afresh and attached, so the caller sees every change."""
    store_id = order.store_id if order else Order.objects.filter(pk=order_id).values_list("store_id", flat=True).get()
    store = Store.objects.select_for_update().filter(pk=store_id).get()
    if order is None:
        order = Order.objects.select_for_update().get(pk=order_id)
    else:
        order.refresh_from_db(from_queryset=Order.objects.select_for_update())
    order.store = store
    payment = Payment.objects.select_for_update().filter(order_id=order_id).first()
    if payment is not None:
        payment.order = order
    return payment


def payment_error_text(error: GatewayError) -> str:
    return error.message[:300]


def payment_for_intent(*, provider: str, intent: Intent) -> Payment | None:
    payment = Payment.objects.filter(provider=provider, intent_id=intent.id).first()
    if payment is None and intent.order_id:
        # The intent was created but its id never reached us (lost response): the metadata says whose it is.
        payment = (Payment.objects.filter(provider=provider, order_id=intent.order_id)
                   .filter(Q(intent_id__isnull=True) | Q(intent_id=intent.id)).first())
    return payment
