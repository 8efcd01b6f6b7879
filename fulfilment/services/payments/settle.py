"""Money at the end of an order: capture or release when it leaves the shelf, release or refund when it
is cancelled (an effect registered with the order's lifecycle), refunds after capture; and the provider's
word on an intent applied to the payment and its order, only ever forward (`payment_apply_intent`)."""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from fulfilment.models import (
    OPEN_STATUSES,
    Order,
    OrderDiscount,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
)
from fulfilment.payment_gateways import (
    GatewayError,
    Intent,
    ProviderRejected,
    ProviderUnavailable,
    get_gateway,
)
from fulfilment.payment_gateways import gateway as intents
from fulfilment.services.lifecycle import (
    Transition,
    on_transition,
    order_transition,
)
from fulfilment.services.loyalty import loyalty_reverse_for_refund
from fulfilment.services.payments.state import (
    CLAIM_STALE_AFTER,
    PaymentUnavailable,
    payment_capture_deadline,
    payment_error_text,
    payment_has_remote_state,
    payment_idempotency_key,
    payment_lock,
)
from fulfilment.services.pricing import refund_discount_minor, refund_tax_minor
from orderahead.errors import Conflict, DomainError
from orderahead.logs import binds_order_id

log = logging.getLogger(__name__)

S = OrderStatus
P = PaymentStatus


@binds_order_id
def payment_finish_order(*, order: Order, to_status: str, capture: bool, actor=None, data: dict | None = None,
                         refuse: Callable[[Order], DomainError] | None = None,
                         now: dt.datetime | None = None) -> Order:
    """Move a ready order to `to_status` (picked_up or no_show), capturing its payment first
    (`capture=True`) or releasing it. Exactly once, however many callers race for the same order.

    1. Under the order's row lock: the order must still be ready (else `refuse(order)` is raised),
       and its payment is claimed (`busy_since`) for this caller; a second caller gets a 409.
    2. After that commit, outside any transaction: the capture or release at the provider.
    3. Then, in one commit, the payment is recorded, the claim dropped and the order moved on. If the
       provider says no, the claim is dropped and the order stays ready, with an error that says what to do.
    """
    now = now or timezone.now()
    refuse = refuse or (lambda o: Conflict(f"Order {o.pk} is {o.get_status_display().lower()}.",
                                           code="not_ready", fields={"status": o.status}))
    with transaction.atomic():
        payment = payment_lock(order.pk)
        locked = payment.order if payment else Order.objects.get(pk=order.pk)
        if locked.status != S.READY:
            raise refuse(locked)
        # The claim first: a payment the provider already reports captured (its webhook can arrive before
        # the answer to the capture call) still belongs to the caller that captured it, which moves the order.
        if payment is not None and payment.busy_since and payment.busy_since > now - CLAIM_STALE_AFTER:
            raise Conflict(f"Order {locked.pk} is being handed over right now (since "
                           f"{payment.busy_since.astimezone(locked.store.tz):%H:%M:%S}).",
                           code="handoff_in_progress", fields={"since": payment.busy_since.isoformat()})
        settled = payment is None or payment.status == P.CAPTURED or (
            not capture and payment.status in (P.CANCELLED, P.FAILED))
        if settled:
            return order_transition(order=locked, to_status=to_status, actor=actor, data=data, now=now)
        if payment.status != P.AUTHORISED:
            raise Conflict(f"The payment of order {locked.pk} is {payment.get_status_display().lower()}, not "
                           "authorised; take payment at the till.", code="payment_not_authorised",
                           fields={"payment_status": payment.status})
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
        Payment.objects.filter(pk=payment.pk).update(busy_since=None, last_error=payment_error_text(error))
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
    data = {**(data or {}), "payment": {"provider": payment.provider, "currency": payment.currency,
                                        "captured_minor": intent.amount_received_minor if capture else 0,
                                        "released": not capture}}
    # The payment recorded, the claim dropped and the order moved in one commit: a second caller must never
    # find the payment settled and unclaimed while the order is still ready, or it would move the order itself.
    with transaction.atomic():
        payment_apply_intent(payment_id=payment.pk, intent=intent, source=to_status, now=now, move_order=False)
        Payment.objects.filter(pk=payment.pk).update(busy_since=None)
        try:
            return order_transition(order=order, to_status=to_status, actor=actor, data=data, now=now,
                                    only_from={S.READY})
        except Conflict:
            pass  # moved on while we were at the provider; the payment stays recorded
    order.refresh_from_db()
    if order.status == S.CANCELLED:  # cancelled while we were capturing: give the money back
        payment_settle_cancelled(order_id=order.pk)
    raise refuse(order) from None


# --- Cancelled orders: release or refund ---------------------------------------------------------------

@binds_order_id
def payment_settle_cancelled(*, order_id: int, now: dt.datetime | None = None) -> str:
    """Make sure a cancelled order costs the customer nothing: release the hold, or refund what was
    captured. Runs after every cancellation commits (`release_or_refund_cancelled`), and again from the sweep for
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
        if not payment_has_remote_state(payment):
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
            payment_apply_intent(payment_id=payment.pk, intent=error.intent, source="settle")
        return f"failed: {message}"
    payment_apply_intent(payment_id=payment.pk, intent=intent, source="cancel", now=now)
    return "released"


@on_transition(to=OrderStatus.CANCELLED)
def release_or_refund_cancelled(change: Transition) -> None:
    """After a cancel commits: release the card hold (or refund a capture) so a cancelled order costs nothing."""
    payment_settle_cancelled(order_id=change.order_id)


# --- Refunds ---------------------------------------------------------------------------------------------

def _pending_refunds(payment: Payment) -> int:
    return payment.refunds.filter(status=Refund.PENDING).aggregate(n=Sum("amount_minor"))["n"] or 0


def _discounts_of(order: Order) -> tuple[dict[int, int], int]:
    """The order's rewards: {line id: amount} for those on a line, and the sum of those on the whole order."""
    on_lines: dict[int, int] = defaultdict(int)
    on_order = 0
    if order.discount_minor:
        for line_id, amount in OrderDiscount.objects.filter(order=order).values_list("line_id", "amount_minor"):
            if line_id is None:
                on_order += amount
            else:
                on_lines[line_id] += amount
    return on_lines, on_order


@binds_order_id
def payment_refund(*, order: Order, actor=None, lines: dict[int, int] | None = None, reason: str = "") -> Refund:
    """Give money back after capture: `lines` maps order line ids to quantities; None refunds all that
    is left. A line is never refunded for more units than were sold, nor a payment beyond its capture.
    A line of an order with a reward gives back what was paid for it: its value less its share of the reward,
    and its share of the tax charged on the discounted amount (`pricing`)."""
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
            # given back by earlier refunds of lines, before tax: their value, and that less the rewards kept back
            value_refunded_minor = lines_refunded_minor = 0
            for done in payment.refunds.exclude(status=Refund.FAILED):
                for entry in done.lines:
                    already[entry["line"]] += entry["quantity"]
                    lines_refunded_minor += entry["amount_minor"]
                    value_refunded_minor += entry["amount_minor"] + entry.get("discount_minor", 0)
            order_lines = {line.pk: line for line in order.lines.all()}
            line_discounts, order_discount = _discounts_of(order)
            for line_id, quantity in sorted(lines.items()):
                line = order_lines.get(line_id)
                if line is None:
                    raise DomainError(f"Line {line_id} is not part of order {order.pk}.", code="unknown_line")
                if quantity < 1 or already[line_id] + quantity > line.quantity:
                    raise Conflict(f"{line.item_name}: {line.quantity - already[line_id]} of {line.quantity} "
                                   "can still be refunded.", code="refund_too_large",
                                   fields={"line": line_id, "refundable": line.quantity - already[line_id]})
                value = line.unit_price_minor * quantity
                # A reward keeps back its share: the one on this line spread over the line's units, one on the
                # whole order spread over its line value. The customer never gets back what they did not pay.
                kept = min(value, refund_discount_minor(
                    discount_minor=line_discounts.get(line_id, 0), spread_over=line.quantity,
                    refunded_before=already[line_id], refunding=quantity) + refund_discount_minor(
                    discount_minor=order_discount, spread_over=order.subtotal_minor,
                    refunded_before=value_refunded_minor, refunding=value))
                # Prices without tax: the line's share of the order's tax (charged on the discounted
                # amount) goes back with what the line gives back.
                tax = refund_tax_minor(order_subtotal_minor=order.subtotal_minor - order.discount_minor,
                                       order_tax_minor=order.tax_minor, prices_include_tax=order.prices_include_tax,
                                       refunded_before_minor=lines_refunded_minor, refunding_minor=value - kept)
                already[line_id] += quantity
                value_refunded_minor += value
                lines_refunded_minor += value - kept
                entry = {"line": line_id, "quantity": quantity, "amount_minor": value - kept}
                if kept:
                    entry["discount_minor"] = kept
                refund_lines.append({**entry, "tax_minor": tax} if order.tax_minor else entry)
            value = sum(entry["amount_minor"] for entry in refund_lines)
            if value > left:
                raise Conflict(f"Only {left} (minor units) of order {order.pk} can still be refunded.",
                               code="refund_too_large", fields={"refundable_minor": left})
            # The tax share never takes a refund past what is left of the capture.
            amount = min(left, value + sum(entry.get("tax_minor", 0) for entry in refund_lines))
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
        Refund.objects.filter(pk=refund.pk).update(status=Refund.FAILED, error=payment_error_text(error))
        if isinstance(error, ProviderUnavailable):
            raise PaymentUnavailable(f"Could not reach the payment provider; nothing was refunded. "
                                     f"{error.message}") from None
        raise Conflict(f"The payment provider refused the refund: {error.message}", code="refund_failed") from None

    with transaction.atomic():
        Refund.objects.filter(pk=refund.pk).update(status=Refund.SUCCEEDED, provider_refund_id=result.id)
        Payment.objects.filter(pk=payment.pk).update(refunded_minor=F("refunded_minor") + amount)
        # the member gives back the refund's share of the stars the order earned, once it has committed
        transaction.on_commit(partial(loyalty_reverse_for_refund, refund_id=refund.pk))
    refund.refresh_from_db()
    return refund


# --- Applying what the provider says about an intent ----------------------------------------------------

# How far each payment status is along; a payment never moves back (failed may still be authorised:
# the customer tried a second card on the same intent).
_RANK = {P.PENDING: 0, P.FAILED: 1, P.AUTHORISED: 2, P.CAPTURED: 3, P.CANCELLED: 3}


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


def payment_apply_intent(*, payment_id: int, intent: Intent, source: str, now: dt.datetime | None = None,
                         failure: str = "", move_order: bool = True, order: Order | None = None) -> str:
    """Bring the payment (and its order) forward to what `intent` says; never backward. Returns what it did.

    Authorised: the order is confirmed and enters the kitchen queue. Failed or cancelled before
    capture: the order is cancelled, which releases its stock and its place in the queue. An
    authorisation (or capture) that arrives for an order already cancelled is released (refunded)
    after the commit, by the cancel effect's own function (`payment_settle_cancelled`).

    The order is left alone when `move_order` is false (the caller moves it itself: a no-show whose
    hold is released is a no-show, not a cancellation), and while another caller holds the payment's
    claim (`busy_since`): that caller is about to move the order, and a webhook must not race it, nor
    drop the claim that keeps a second caller from moving the order in its place.

    `order`: the payment's order as the caller has it: its store is not looked up again, and this
    instance is the one locked, read afresh and moved, so the caller sees the order as it is now.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if order is None:
            payment = payment_lock(Payment.objects.filter(pk=payment_id).values_list("order_id", flat=True).get())
        else:
            payment = payment_lock(order.pk, order=order)
        order = payment.order
        changed = []
        if not payment.intent_id:
            payment.intent_id = intent.id
            changed.append("intent_id")
        if intent.client_secret and not payment.client_secret:
            payment.client_secret = intent.client_secret
            changed.append("client_secret")
        new = _status_of(intent)
        old = payment.status
        # The provider does not deliver its events in order: one that is behind the payment (a late
        # `requires_action` after the authorisation) must not take the recorded intent status back either,
        # or the customer would be asked to authenticate a payment already held. Failed is the exception:
        # after it the customer may try another card on the same intent.
        behind = _RANK[new] < _RANK[old] and old != P.FAILED
        if intent.status and intent.status != payment.intent_status and not behind:
            payment.intent_status = intent.status
            changed.append("intent_status")
        claimed = bool(payment.busy_since and payment.busy_since > now - CLAIM_STALE_AFTER)
        if claimed:
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
            payment.capture_deadline = payment_capture_deadline(authorised_at=now)
            payment.last_error = ""
            changed += ["authorised_at", "capture_deadline", "last_error"]
        elif new == P.CAPTURED:
            payment.captured_minor = min(intent.amount_received_minor or payment.amount_minor, payment.amount_minor)
            payment.captured_at = now
            changed += ["captured_minor", "captured_at"]
        elif new == P.CANCELLED:
            payment.cancelled_at = now
            changed.append("cancelled_at")
        elif new == P.FAILED:
            payment.last_error = (failure or intent.error_message or "The payment failed.")[:300]
            changed.append("last_error")
        if new in (P.CAPTURED, P.CANCELLED) and not claimed:
            # A claim left by a caller that died mid-call is over; a live one is its caller's to drop
            # once it has moved the order (a webhook that clears it lets a second handoff move it instead).
            payment.busy_since = None
            changed.append("busy_since")
        payment.save(update_fields=[*changed, "updated_at"])
        log.info("Payment of order %s: %s -> %s (%s)", order.pk, old, new, source, extra={"order_id": order.pk})

        if not move_order:
            return new
        summary = {"provider": payment.provider, "status": new, "amount_minor": payment.amount_minor,
                   "currency": payment.currency}
        if new in (P.AUTHORISED, P.CAPTURED) and order.status == S.PENDING_PAYMENT:
            # payment_lock holds the store's and the order's row locks: the move need not take them again.
            order_transition(order=order, to_status=S.CONFIRMED, data={"payment": summary}, locked_store=order.store)
            return f"{new}: order confirmed"
        if new in (P.FAILED, P.CANCELLED) and order.status in OPEN_STATUSES:
            reason = (f"Payment failed: {payment.last_error}" if new == P.FAILED
                      else "The payment was cancelled.")
            order_transition(order=order, to_status=S.CANCELLED, data={"reason": reason, "payment": summary},
                             locked_store=order.store)
            return f"{new}: order cancelled"
        if new in (P.AUTHORISED, P.CAPTURED) and order.status == S.CANCELLED:
            transaction.on_commit(lambda: payment_settle_cancelled(order_id=order.pk), robust=True)
            return f"{new}: order already cancelled, money to be released"
        return new
