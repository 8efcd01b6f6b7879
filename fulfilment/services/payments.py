"""Payment for mobile orders: one intent with manual capture per order, through `fulfilment.payments`.

Money moves at four points, each with an idempotency key derived from the order, so a retry of any
of them (a customer's retried checkout, a staff member scanning twice, a sweep run twice) reaches the
same intent, capture or refund at the provider and never a second one:

- placement: `payment_authorise` holds the order total on the card; once the hold is in place the
  order is confirmed and so enters the kitchen queue (never before);
- handoff or no-show: `payment_finish_order` captures (or, for a no-show under a "release" policy,
  releases) and then moves the order on; a failed capture leaves the order ready;
- cancellation: `payment_settle_cancelled` runs after every cancel commits: it releases the hold, or
  refunds what was captured, so a customer is never charged for an order the store cancelled;
- refunds after capture: `payment_refund`, for the whole order or chosen lines.

The provider's webhooks (`payment_webhook_receive`) and `payment_refresh` feed the intent's status
into `_apply_intent`, which only ever moves a payment forward (pending -> authorised -> captured, or
to failed/cancelled), so events that arrive twice or out of order leave the right state.

Network calls never run inside a database transaction. Where the database must decide who may make
one (two scans of the same QR code), a claim (`Payment.busy_since`) is committed first.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from fulfilment.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    PaymentWebhookEvent,
    Refund,
    StorePaymentPolicy,
)
from fulfilment.payments import (
    GatewayError,
    Intent,
    PaymentDeclined,
    ProviderRejected,
    ProviderUnavailable,
    WebhookRejected,
    get_gateway,
)
from fulfilment.payments import gateway as intents
from orderahead.errors import Conflict, DomainError
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


# --- Authorisation at placement -----------------------------------------------------------------------

def payment_authorise(*, order: Order, payment_method: str = "") -> Order:
    """Hold the order's total on the customer's card; confirm the order once it is held.

    With `payment_method` (a Stripe PaymentMethod id made by the Payment Element, or a test one like
    `pm_card_visa`) the intent is confirmed at once; without one it waits for the customer's browser
    to confirm it with the client secret, and the webhook (or `payment_refresh`) brings the answer.
    The demo provider authorises at once.

    Safe to call again for the same order (a retried checkout): the first call's payment method and
    idempotency key are reused, so the provider answers with the same intent.
    """
    if order.status != S.PENDING_PAYMENT:
        return order
    with transaction.atomic():
        gateway = get_gateway()
        payment, _ = Payment.objects.get_or_create(
            order=order, defaults={"provider": gateway.provider, "amount_minor": order.total_minor,
                                   "currency": order.currency, "payment_method": payment_method[:255]})
    if payment.status != P.PENDING:
        order.refresh_from_db()
        return order
    gateway = get_gateway(payment.provider)
    try:
        if _has_remote_state(payment):
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
        Payment.objects.filter(pk=payment.pk).update(last_error=_error_text(error))
        raise PaymentUnavailable("The payment provider could not be reached, so the card has not been "
                                 "checked yet. Try again in a moment with the same Idempotency-Key: your "
                                 "order is kept and will not be charged twice.",
                                 fields={"order": order.pk}) from None
    except ProviderRejected as error:
        _fail_at_placement(payment, error)
        raise DomainError(f"The payment was refused: {error.message} The order was cancelled.",
                          code="payment_refused", fields={"order": order.pk}) from None
    _apply_intent(payment_id=payment.pk, intent=intent, source="placement")
    order.refresh_from_db()
    return order


def _fail_at_placement(payment: Payment, error: GatewayError) -> None:
    """A definite no at placement: the payment failed, so the order is cancelled (stock and slot back)."""
    intent = error.intent or Intent(id=payment.intent_id or "", status=intents.REQUIRES_PAYMENT_METHOD,
                                    amount_minor=payment.amount_minor, currency=payment.currency)
    if intent.id:
        _apply_intent(payment_id=payment.pk, intent=intent, source="placement", failure=error.message)
        return
    from fulfilment.services.orders import order_transition

    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, status=P.PENDING).update(status=P.FAILED,
                                                                       last_error=_error_text(error))
        try:
            order_transition(order=payment.order, to_status=S.CANCELLED,
                             data={"reason": f"Payment failed: {error.message}"[:200]})
        except Conflict:
            pass  # already moved on (a concurrent retry cancelled it)


def payment_refresh(*, order: Order) -> Order:
    """Ask the provider where the order's intent stands and apply it: for a browser that has just
    confirmed the payment, so the order moves on even before (or without) the webhook."""
    payment = Payment.objects.filter(order=order).first()
    if payment is None or not _has_remote_state(payment):
        return order
    try:
        intent = get_gateway(payment.provider).retrieve(intent_id=payment.intent_id)
    except ProviderUnavailable as error:
        raise PaymentUnavailable(f"The payment provider could not be reached: {error.message}") from None
    except GatewayError as error:
        raise Conflict(f"The payment provider refused: {error.message}", code="payment_refused") from None
    _apply_intent(payment_id=payment.pk, intent=intent, source="refresh")
    order.refresh_from_db()
    return order


# --- Webhooks --------------------------------------------------------------------------------------------

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
    log.info("%s webhook %s %s: %s", provider, event.type, event.id, outcome)
    return outcome


def _webhook_apply(*, provider: str, event) -> tuple[str, int | None]:
    if event.type.startswith("payment_intent.") and event.intent is not None:
        payment = _payment_for_intent(provider=provider, intent=event.intent)
        if payment is None:
            return "ignored: not one of our payments", None
        return _apply_intent(payment_id=payment.pk, intent=event.intent, source=f"webhook {event.type}"), \
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


# --- Capture or release when the order leaves the shelf ------------------------------------------------

def payment_finish_order(*, order: Order, to_status: str, capture: bool, actor=None, data: dict | None = None,
                         refuse: Callable[[Order], DomainError] | None = None,
                         now: dt.datetime | None = None) -> Order:
    """Move a ready order to `to_status` (picked_up or no_show), capturing its payment first
    (`capture=True`) or releasing it. Exactly once, however many callers race for the same order.

    1. Under the order's row lock: the order must still be ready (else `refuse(order)` is raised),
       and its payment is claimed (`busy_since`) for this caller; a second caller gets a 409.
    2. After that commit, outside any transaction: the capture or release at the provider.
    3. Then the payment is recorded and the order moved on. If the provider says no, the claim is
       dropped and the order stays ready, with an error that says what to do.
    """
    from fulfilment.services.orders import order_transition

    now = now or timezone.now()
    refuse = refuse or (lambda o: Conflict(f"Order {o.pk} is {o.get_status_display().lower()}.",
                                           code="not_ready", fields={"status": o.status}))
    with transaction.atomic():
        payment = _lock(order.pk)
        locked = payment.order if payment else Order.objects.get(pk=order.pk)
        if locked.status != S.READY:
            raise refuse(locked)
        settled = payment is None or payment.status == P.CAPTURED or (
            not capture and payment.status in (P.CANCELLED, P.FAILED))
        if settled:
            return order_transition(order=locked, to_status=to_status, actor=actor, data=data, now=now)
        if payment.status != P.AUTHORISED:
            raise Conflict(f"The payment of order {locked.pk} is {payment.get_status_display().lower()}, not "
                           "authorised; take payment at the till.", code="payment_not_authorised",
                           fields={"payment_status": payment.status})
        if payment.busy_since and payment.busy_since > now - CLAIM_STALE_AFTER:
            raise Conflict(f"Order {locked.pk} is being handed over right now (since "
                           f"{payment.busy_since.astimezone(locked.store.tz):%H:%M:%S}).",
                           code="handoff_in_progress", fields={"since": payment.busy_since.isoformat()})
        if capture and payment.capture_deadline and now >= payment.capture_deadline:
            raise Conflict("The card authorisation of this order has run out, so it cannot be charged; "
                           "take payment at the till.", code="authorisation_expired",
                           fields={"capture_deadline": payment.capture_deadline.isoformat()})
        payment.busy_since = now
        payment.save(update_fields=["busy_since", "updated_at"])

    gateway = get_gateway(payment.provider)
    action = "capture" if capture else "release"
    try:
        if capture:
            intent = gateway.capture(intent_id=payment.intent_id, amount_minor=payment.amount_minor,
                                     idempotency_key=payment_idempotency_key(order=order, action="capture"))
        else:
            intent = gateway.cancel(intent_id=payment.intent_id,
                                    idempotency_key=payment_idempotency_key(order=order, action="cancel"))
    except GatewayError as error:
        Payment.objects.filter(pk=payment.pk).update(busy_since=None, last_error=_error_text(error))
        log.warning("Could not %s the payment of order %s: %s", action, order.pk, error.message)
        what = "charge the card" if capture else "release the card hold"
        fields = {"status": S.READY, "payment_status": payment.status}
        if isinstance(error, ProviderUnavailable):
            raise PaymentUnavailable(f"Could not reach the payment provider to {what}; the order is still "
                                     "ready and nothing was charged. Try again in a moment.", fields=fields) from None
        raise Conflict(f"The payment provider refused to {what}: {error.message} The order is still ready and "
                       "was not handed over; ask the customer to pay at the till.",
                       code=f"{action}_failed", fields=fields) from None

    expected = intents.SUCCEEDED if capture else intents.CANCELED
    if intent.status != expected:
        Payment.objects.filter(pk=payment.pk).update(busy_since=None, intent_status=intent.status)
        raise Conflict(f"The payment provider left the payment {intent.status.replace('_', ' ')}; the order is "
                       "still ready and was not handed over.", code=f"{action}_failed",
                       fields={"status": S.READY, "payment_status": payment.status})
    _apply_intent(payment_id=payment.pk, intent=intent, source=to_status, now=now, move_order=False)
    Payment.objects.filter(pk=payment.pk).update(busy_since=None)
    data = {**(data or {}), "payment": {"provider": payment.provider, "currency": payment.currency,
                                        "captured_minor": intent.amount_received_minor if capture else 0,
                                        "released": not capture}}
    try:
        return order_transition(order=order, to_status=to_status, actor=actor, data=data, now=now,
                                only_from={S.READY})
    except Conflict:
        order.refresh_from_db()
        if order.status == S.CANCELLED:  # cancelled while we were capturing: give the money back
            payment_settle_cancelled(order_id=order.pk)
        raise refuse(order) from None


# --- Cancelled orders: release or refund ---------------------------------------------------------------

def payment_settle_cancelled(*, order_id: int, now: dt.datetime | None = None) -> str:
    """Make sure a cancelled order costs the customer nothing: release the hold, or refund what was
    captured. Runs after every cancellation commits (order_transition), and again from the sweep for
    any payment a network failure left unsettled. Never raises: a failure is logged and retried later."""
    now = now or timezone.now()
    payment = Payment.objects.select_related("order").filter(order_id=order_id).first()
    if payment is None or payment.order.status != S.CANCELLED:
        return "nothing to settle"
    if payment.busy_since and payment.busy_since > now - CLAIM_STALE_AFTER:
        return "a capture or release is in flight; it settles the payment itself"
    try:
        if payment.status == P.CAPTURED:
            if payment.captured_minor > payment.refunded_minor + _pending_refunds(payment):
                payment_refund(order=payment.order, reason="Order cancelled after the payment was captured")
                return "refunded"
            return "already refunded"
        if payment.status == P.CANCELLED:
            return "already released"
        if not _has_remote_state(payment):
            Payment.objects.filter(pk=payment.pk, status__in=[P.PENDING, P.AUTHORISED, P.FAILED]).update(
                status=P.CANCELLED, cancelled_at=now)
            return "released"
        intent = get_gateway(payment.provider).cancel(
            intent_id=payment.intent_id, idempotency_key=payment_idempotency_key(order=payment.order, action="cancel"))
    except (GatewayError, DomainError) as error:
        message = error.message
        Payment.objects.filter(pk=payment.pk).update(last_error=message[:300])
        log.warning("Could not settle the payment of cancelled order %s (will retry): %s", order_id, message)
        if isinstance(error, ProviderRejected) and error.intent is not None:
            _apply_intent(payment_id=payment.pk, intent=error.intent, source="settle")
        return f"failed: {message}"
    _apply_intent(payment_id=payment.pk, intent=intent, source="cancel", now=now)
    return "released"


# --- Refunds ---------------------------------------------------------------------------------------------

def _pending_refunds(payment: Payment) -> int:
    return payment.refunds.filter(status=Refund.PENDING).aggregate(n=Sum("amount_minor"))["n"] or 0


def payment_refund(*, order: Order, actor=None, lines: dict[int, int] | None = None, reason: str = "") -> Refund:
    """Give money back after capture: `lines` maps order line ids to quantities; None refunds all that
    is left. A line is never refunded for more units than were sold, nor a payment beyond its capture."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(order=order).first()
        if payment is None:
            raise Conflict("This order was paid at the till; refund it there.", code="no_card_payment")
        if payment.status != P.CAPTURED:
            raise Conflict(f"Nothing has been charged for order {order.pk} yet (the payment is "
                           f"{payment.get_status_display().lower()}); cancel the order to release the hold.",
                           code="not_captured", fields={"payment_status": payment.status})
        left = payment.captured_minor - payment.refunded_minor - _pending_refunds(payment)
        refund_lines = []
        if lines:
            already = defaultdict(int)
            for done in payment.refunds.exclude(status=Refund.FAILED):
                for entry in done.lines:
                    already[entry["line"]] += entry["quantity"]
            order_lines = {line.pk: line for line in order.lines.all()}
            for line_id, quantity in sorted(lines.items()):
                line = order_lines.get(line_id)
                if line is None:
                    raise DomainError(f"Line {line_id} is not part of order {order.pk}.", code="unknown_line")
                if quantity < 1 or already[line_id] + quantity > line.quantity:
                    raise Conflict(f"{line.item_name}: {line.quantity - already[line_id]} of {line.quantity} "
                                   "can still be refunded.", code="refund_too_large",
                                   fields={"line": line_id, "refundable": line.quantity - already[line_id]})
                refund_lines.append({"line": line_id, "quantity": quantity,
                                     "amount_minor": line.unit_price_minor * quantity})
            amount = sum(entry["amount_minor"] for entry in refund_lines)
            if amount > left:
                raise Conflict(f"Only {left} (minor units) of order {order.pk} can still be refunded.",
                               code="refund_too_large", fields={"refundable_minor": left})
        else:
            amount = left
        if amount <= 0:
            raise Conflict(f"Order {order.pk} has been refunded in full already.", code="nothing_to_refund")
        refund = Refund.objects.create(payment=payment, amount_minor=amount, lines=refund_lines,
                                       reason=reason[:200], created_by=actor)

    try:
        result = get_gateway(payment.provider).refund(
            intent_id=payment.intent_id, amount_minor=amount,
            idempotency_key=payment_idempotency_key(order=order, action=f"refund-{refund.pk}"),
            metadata={"order_id": str(order.pk), "refund": str(refund.pk)})
    except GatewayError as error:
        Refund.objects.filter(pk=refund.pk).update(status=Refund.FAILED, error=_error_text(error))
        if isinstance(error, ProviderUnavailable):
            raise PaymentUnavailable(f"Could not reach the payment provider; nothing was refunded. "
                                     f"{error.message}") from None
        raise Conflict(f"The payment provider refused the refund: {error.message}", code="refund_failed") from None

    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(status=Refund.SUCCEEDED, provider_refund_id=result.id)
        Payment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") + amount)
    refund.refresh_from_db()
    return refund


# --- Sweeps (run by `manage.py expire_orders`) ------------------------------------------------------------

def payment_expire_unpaid(*, now: dt.datetime | None = None) -> list[int]:
    """Cancel mobile orders left unpaid for ORDER_PAYMENT_TIMEOUT_S: stock, slot and queue place go back,
    and the intent is cancelled so a late confirmation cannot charge the card. Asks the provider first,
    in case the payment went through and only its webhook is late."""
    from fulfilment.services.orders import order_cancel

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.ORDER_PAYMENT_TIMEOUT_S)
    cancelled = []
    for order in Order.objects.filter(status=S.PENDING_PAYMENT, created_at__lt=cutoff).select_related("store"):
        payment = Payment.objects.filter(order=order).first()
        if payment is not None and _has_remote_state(payment):
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
    from fulfilment.services.orders import order_cancel

    now = now or timezone.now()
    cancelled = []
    due = Payment.objects.filter(status=P.AUTHORISED, capture_deadline__lte=now,
                                 order__status__in=[S.CONFIRMED, S.IN_PROGRESS, S.READY])
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
        if _has_remote_state(payment):
            try:
                _apply_intent(payment_id=payment.pk, intent=get_gateway(payment.provider).retrieve(
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
