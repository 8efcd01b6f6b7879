"""Loyalty stars: the ledger (issue 28). Every change of a member's stars is one LoyaltyEntry row (who,
why, which order or refund); a balance is the sum of the member's rows and is never stored.

Each change has a `key` that names it ("earn:order:17", "earn_reversed:refund:4"); the key is unique, so a
change made twice (a retried request, a replayed webhook, an after-commit effect run again) is made once.
Changes of one member are serialised on their CustomerProfile row (SELECT ... FOR UPDATE), so a
redemption sees every earlier change and two redemptions cannot spend the same stars.

- Earn: after an order is picked up (an effect on the lifecycle's PICKED_UP move), if it belongs to a
  member and was paid (at the till, or a captured card payment): per whole currency unit paid before tax
  and after rewards, or per item, at the active program's rate.
- Reverse: a refund gives back its share of what the order earned (share of the money paid, worked out on
  running totals so refunding everything reverses exactly what was earned).
- Redeem: spending a reward's stars, in the placing transaction of the order it discounts; a cancelled
  order gives them back.
"""

import datetime as dt
import math
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from fulfilment.channels import policy
from fulfilment.models import (
    CustomerProfile,
    LoyaltyEntry,
    LoyaltyProgram,
    Order,
    OrderStatus,
    Payment,
    Refund,
    Reward,
)
from fulfilment.services.lifecycle import Transition, on_transition
from orderahead.errors import Conflict
from orderahead.logs import get_logger
from stores.money import minor_digits

E = LoyaltyEntry
log = get_logger(__name__)


def program_active() -> LoyaltyProgram | None:
    """The chain's loyalty rules now: the newest active program, or None (nobody earns or redeems)."""
    return LoyaltyProgram.objects.filter(is_active=True).order_by("-created_at", "-id").first()


def member_balance(*, member) -> int:
    """A member's stars: the sum of their ledger."""
    return LoyaltyEntry.objects.filter(member=member).aggregate(n=Sum("stars"))["n"] or 0


def member_lock(*, member) -> CustomerProfile:
    """Lock the member's profile row for the rest of the transaction: every change of one member's stars
    takes it first, so balances are read and changed one at a time."""
    CustomerProfile.objects.get_or_create(user=member)
    return CustomerProfile.objects.select_for_update().get(user=member)


def ledger_write(*, member, kind: str, stars: int, key: str, order: Order | None = None, refund: Refund | None = None,
                 reward: Reward | None = None, actor=None, reason: str = "", now: dt.datetime | None = None,
                 expires_at: dt.datetime | None = None) -> tuple[LoyaltyEntry, bool]:
    """Write one change unless a change with `key` was written already: (entry, created). Runs in its own
    savepoint, so a duplicate key leaves the caller's transaction usable."""
    existing = LoyaltyEntry.objects.filter(key=key).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            entry = LoyaltyEntry.objects.create(
                member=member, kind=kind, stars=stars, key=key, order=order, refund=refund, reward=reward,
                actor=actor, reason=reason[:200], created_at=now or timezone.now(), expires_at=expires_at)
    except IntegrityError:  # the same change, committed by another process a moment ago
        return LoyaltyEntry.objects.get(key=key), False
    log.info("loyalty_entry", entry_id=entry.pk, kind=kind, stars=stars, order_id=order.pk if order else None)
    return entry, True


# --- Earning ---------------------------------------------------------------------------------------------

def order_is_paid(order: Order) -> bool:
    """Paid: at the till (as it was placed, or when collected: `payments.till`), or a card payment captured."""
    if not policy(order.channel).paid_in_app:
        return not order.awaiting_till_payment
    payment = Payment.objects.filter(order=order).first()
    return payment is not None and payment.captured_minor > 0


def stars_for_order(*, order: Order, program: LoyaltyProgram) -> int:
    """What an order earns under `program`: per whole currency unit of its lines after rewards (before tax),
    or per item."""
    if program.earn_basis == LoyaltyProgram.PER_ITEM:
        return program.earn_rate * sum(line.quantity for line in order.lines.all())
    paid_before_tax = order.subtotal_minor - order.discount_minor
    per_unit = 10 ** minor_digits(order.currency)
    return program.earn_rate * (paid_before_tax // per_unit)


def loyalty_earn_for_order(*, order_id: int, now: dt.datetime | None = None) -> LoyaltyEntry | None:
    """Credit a picked-up, paid member order with its stars, once (key "earn:order:<id>"). None when it earns
    nothing: no member, not picked up, not paid, no active program, or too small."""
    now = now or timezone.now()
    program = program_active()
    order = Order.objects.filter(pk=order_id).first()
    if (program is None or order is None or order.customer_id is None or order.status != OrderStatus.PICKED_UP
            or not order_is_paid(order)):
        return None
    stars = stars_for_order(order=order, program=program)
    if stars <= 0:
        return None
    expires = now + dt.timedelta(days=program.star_expiry_days) if program.star_expiry_days else None
    with transaction.atomic():
        member_lock(member=order.customer)
        entry, _ = ledger_write(member=order.customer, kind=E.EARN, stars=stars, key=f"earn:order:{order.pk}",
                                order=order, reason=f"Order {order.pk} picked up", now=now, expires_at=expires)
    return entry


@on_transition(to=OrderStatus.PICKED_UP)
def earn_after_pickup(change: Transition) -> None:
    """After a pickup commits: the member earns the order's stars."""
    if change.customer_id is not None:
        loyalty_earn_for_order(order_id=change.order_id)


def loyalty_reverse_for_refund(*, refund_id: int, now: dt.datetime | None = None) -> LoyaltyEntry | None:
    """Take back a succeeded refund's share of what its order earned (key "earn_reversed:refund:<id>").

    The share is of the money paid: after refunds worth r of a capture c, floor(earned x r / c) stars are
    reversed in all, so a refund of everything reverses exactly the stars earned and never more; but never
    more than the member still has (stars already spent stay spent)."""
    refund = Refund.objects.select_related("payment__order").filter(pk=refund_id, status=Refund.SUCCEEDED).first()
    if refund is None:
        return None
    order = refund.payment.order
    earned = LoyaltyEntry.objects.filter(order=order, kind=E.EARN).first()
    if earned is None or earned.member_id is None or refund.payment.captured_minor <= 0:
        return None
    with transaction.atomic():
        member_lock(member=earned.member)
        if LoyaltyEntry.objects.filter(key=f"earn_reversed:refund:{refund.pk}").exists():
            return LoyaltyEntry.objects.get(key=f"earn_reversed:refund:{refund.pk}")
        reversed_before = -(LoyaltyEntry.objects.filter(order=order, kind=E.EARN_REVERSED)
                            .aggregate(n=Sum("stars"))["n"] or 0)
        refunded = (Refund.objects.filter(payment=refund.payment, status=Refund.SUCCEEDED, pk__lte=refund.pk)
                    .aggregate(n=Sum("amount_minor"))["n"] or 0)
        share = min(refunded, refund.payment.captured_minor) / refund.payment.captured_minor
        due = math.floor(earned.stars * share + 1e-9) - reversed_before
        # Stars the member has already spent are not taken back: a balance never goes below zero (the shop
        # keeps the reward it gave; the ledger row says how many the refund took).
        due = min(due, member_balance(member=earned.member))
        if due <= 0:
            return None
        entry, _ = ledger_write(member=earned.member, kind=E.EARN_REVERSED, stars=-due,
                                key=f"earn_reversed:refund:{refund.pk}", order=order, refund=refund,
                                reason=f"Refund {refund.pk} of order {order.pk}", now=now)
    return entry


# --- Spending ---------------------------------------------------------------------------------------------

def loyalty_redeem(*, member, reward: Reward, order: Order, actor=None, now: dt.datetime | None = None) -> LoyaltyEntry:
    """Spend `reward`'s stars on `order`; call it inside the transaction that places the order. Conflict when
    the member has too few stars (their row is locked, so two redemptions cannot both spend the same stars)."""
    member_lock(member=member)
    key = f"redeem:order:{order.pk}:reward:{reward.pk}"
    done = LoyaltyEntry.objects.filter(key=key).first()
    if done is not None:  # a replay of this very redemption: the same answer, nothing spent twice
        return done
    balance = member_balance(member=member)
    if balance < reward.stars_cost:
        raise Conflict(f"{reward.name} takes {reward.stars_cost} stars; you have {balance}.",
                       code="not_enough_stars", fields={"reward": reward.pk, "balance": balance})
    entry, _ = ledger_write(member=member, kind=E.REDEEM, stars=-reward.stars_cost, key=key, order=order,
                            reward=reward, actor=actor, reason=f"{reward.name} on order {order.pk}", now=now)
    return entry


@on_transition(to=OrderStatus.CANCELLED)
def give_back_redeemed_on_cancel(change: Transition) -> None:
    """After a cancel commits: the stars spent on the order's rewards go back to the member."""
    redeemed = list(LoyaltyEntry.objects.filter(order_id=change.order_id, kind=E.REDEEM, member__isnull=False))
    for spent in redeemed:
        with transaction.atomic():
            member_lock(member=spent.member)
            ledger_write(member=spent.member, kind=E.REDEEM_REVERSED, stars=-spent.stars,
                         key=f"redeem_reversed:entry:{spent.pk}", order=spent.order, reward=spent.reward,
                         reason=f"Order {change.order_id} cancelled")


# --- Staff and account changes -----------------------------------------------------------------------------

def loyalty_adjust(*, member, stars: int, actor, reason: str, key: str | None = None) -> LoyaltyEntry:
    """A manager's correction (goodwill, a mistake): any non-zero number of stars, with a reason; never
    below a zero balance."""
    if not stars or not reason.strip():
        raise Conflict("An adjustment needs a non-zero number of stars and a reason.", code="bad_adjustment")
    with transaction.atomic():
        member_lock(member=member)
        if stars < 0 and member_balance(member=member) + stars < 0:
            raise Conflict("That would take the balance below zero.", code="not_enough_stars")
        entry, _ = ledger_write(member=member, kind=E.ADJUST, stars=stars, key=key or f"adjust:{uuid.uuid4().hex}",
                                actor=actor, reason=reason)
    return entry


# --- Expiry -------------------------------------------------------------------------------------------------

def stars_to_expire(entries, *, now: dt.datetime) -> int:
    """How many of a member's stars expire at `now`, from their ledger rows (kind, stars, order_id,
    expires_at); the rule, written once for the sweep below and for tests.

    Expiring = the stars earned with expires_at <= now (each earn less its own refund reversals) minus
    everything ever taken out (redeemed net of what cancels gave back, adjusted down, closed, and what
    expired before), never below 0. So spending takes the oldest stars first; what expired before counts
    as taken, so a second run finds nothing more; and stars earned after the cut-off, or added by a
    manager, are never touched, which keeps the result within the balance. One leniency, on the member's
    side: stars taken while only a manager's added stars were there still count against old earned ones."""
    reversed_by_order: dict[int, int] = {}
    for kind, stars, order_id, _ in entries:
        if kind == E.EARN_REVERSED and order_id is not None:
            reversed_by_order[order_id] = reversed_by_order.get(order_id, 0) - stars
    past_expiry = taken = balance = 0
    for kind, stars, order_id, expires_at in entries:
        balance += stars
        if kind == E.EARN and expires_at is not None and expires_at <= now:
            past_expiry += max(0, stars - reversed_by_order.get(order_id, 0))
        elif kind in (E.REDEEM, E.REDEEM_REVERSED, E.EXPIRE, E.CLOSE) or (kind == E.ADJUST and stars < 0):
            taken -= stars
    return max(0, min(past_expiry - taken, balance))


def _expire_key(member_id: int, now: dt.datetime) -> str:
    return f"expire:member:{member_id}:{now.astimezone(dt.UTC).date().isoformat()}"


def loyalty_expire(*, now: dt.datetime | None = None) -> list[int]:
    """Expire the stars not spent star_expiry_days after they were earned (see stars_to_expire): one
    "expire" row per member per day (key "expire:member:<id>:<UTC date>"), so a second run that day, or
    on a second machine, changes nothing. Returns the ids of the members whose stars expired. Nothing
    without an active program that has an expiry."""
    now = now or timezone.now()
    program = program_active()
    if program is None or not program.star_expiry_days:
        return []
    candidates = set(LoyaltyEntry.objects.filter(kind=E.EARN, expires_at__lte=now, member__isnull=False)
                     .values_list("member_id", flat=True).distinct().order_by())
    rows_by_member: dict[int, list] = {member_id: [] for member_id in candidates}
    for member_id, *row in (LoyaltyEntry.objects.filter(member_id__in=candidates).order_by()
                            .values_list("member_id", "kind", "stars", "order_id", "expires_at").iterator()):
        rows_by_member[member_id].append(tuple(row))
    expired = []
    for member_id in sorted(candidates):
        if stars_to_expire(rows_by_member[member_id], now=now) <= 0:
            continue  # read without the lock: most members with old stars have spent them
        with transaction.atomic():
            member = LoyaltyEntry.member.field.related_model.objects.get(pk=member_id)
            member_lock(member=member)
            due = stars_to_expire(list(LoyaltyEntry.objects.filter(member_id=member_id)
                                       .values_list("kind", "stars", "order_id", "expires_at")), now=now)
            if due <= 0:
                continue
            _, created = ledger_write(member=member, kind=E.EXPIRE, stars=-due, key=_expire_key(member_id, now),
                                      reason=f"Stars older than {program.star_expiry_days} days not spent", now=now)
        if created:
            expired.append(member_id)
    return expired
