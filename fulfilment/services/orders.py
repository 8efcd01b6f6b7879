"""Placing an order: the request's idempotency, the price, the pickup time, the stock, the first state and
the re-plan. Every later change of the order's state is `fulfilment.services.lifecycle.order_transition`."""

import datetime as dt
import functools
import hashlib
import json
import time

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfilment.channels import policy
from fulfilment.models import Channel, Order, OrderDiscount, OrderEvent, OrderLine, OrderStatus
from fulfilment.presenters import ORDER_CHANGED, ORDER_CREATED
from fulfilment.services import loyalty
from fulfilment.services.cart import LineRequest, cart_price
from fulfilment.services.lifecycle import order_lock
from fulfilment.services.outbox import outbox_order_changed
from fulfilment.services.payments import (
    payment_authorise,
    payment_check_card_amount,
    payment_check_pickup_window,
    payment_record,
)
from fulfilment.services.payments.till import till_payment_due
from fulfilment.services.pickup_rules import fulfilment_settings_for
from fulfilment.services.pricing import order_tax_rule, order_totals, totals_for
from fulfilment.services.quotes import pickup_choose
from fulfilment.services.rewards import RewardUse, reward_apply, reward_check_member, reward_get
from fulfilment.services.scheduling import kitchen_state, store_replan
from orderahead import metrics
from orderahead.errors import Conflict, DomainError, NotFound
from orderahead.logs import get_logger
from stores.models import Store
from stores.services import stock_reserve

S = OrderStatus
log = get_logger(__name__)


def request_fingerprint(*, store_id: int, channel: str, lines: list[LineRequest],
                        requested_at: dt.datetime | None, customer_name: str, fire_on_arrival: bool = False,
                        reward_id: int | None = None, pay_when_collected: bool = False) -> str:
    """A hash of what the client asked for, to tell a retry (same body) from a new request (reused key)."""
    body = {
        "store": store_id, "channel": channel, "name": customer_name,
        "pickup": requested_at.isoformat() if requested_at else "asap",
        "lines": [[line.item_id, line.quantity, sorted(line.option_ids)] for line in lines],
    }
    if fire_on_arrival:  # only when chosen: the fingerprints of every other order stay as they were
        body["fire_on_arrival"] = True
    if reward_id is not None:  # likewise: an order without a reward keeps its fingerprint
        body["reward"] = reward_id
    if pay_when_collected:
        body["pay_when_collected"] = True
    canonical = json.dumps(body, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(existing: Order, fingerprint: str) -> Order:
    if existing.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different order; use a new key for a new order.",
                       code="idempotency_key_reused", fields={"order": existing.pk})
    return existing


def _measured(place):
    """Count and time every placement by channel and outcome (orderahead.metrics); log refusals and replays."""

    @functools.wraps(place)
    def wrapper(*, store_id: int, channel: str, **kwargs) -> tuple[Order, bool]:
        label = channel if channel in Channel.values else "unknown"  # clients choose it: no new series
        started, outcome = time.perf_counter(), "failed"
        try:
            order, created = place(store_id=store_id, channel=channel, **kwargs)
            outcome = "created" if created else "replayed"
            if not created:
                log.info("order_place_replayed", order_id=order.pk, store_id=store_id, channel=channel)
            return order, created
        except DomainError as error:
            outcome = "refused"
            log.info("order_place_refused", store_id=store_id, channel=channel, code=error.code)
            raise
        finally:
            metrics.ORDERS_PLACED.labels(label, outcome).inc()
            metrics.ORDER_PLACE_SECONDS.labels(label).observe(time.perf_counter() - started)

    return wrapper


@_measured
def order_place(*, store_id: int, channel: str, lines: list[LineRequest], requested_at: dt.datetime | None = None,
                customer: AbstractBaseUser | None = None, customer_name: str = "",
                placed_by: AbstractBaseUser | None = None, idempotency_key: str | None = None,
                now: dt.datetime | None = None, payment_method: str = "",
                fire_on_arrival: bool = False, reward_id: int | None = None,
                pay_when_collected: bool = False) -> tuple[Order, bool]:
    """Place an order in the store's one kitchen queue. Returns (order, created).

    Orders paid by card in the app (fulfilment.channels) start awaiting payment; the others are paid at
    the till and enter confirmed. The same idempotency key with the same request returns the first order.
    `payment_method` (a Stripe PaymentMethod id) confirms the card payment at once. `fire_on_arrival`: made
    when the customer says they are coming (services.arrival), where the store offers it. `reward_id`: a
    reward `customer` spends stars on (in the app, or the member served at the counter): a discount line
    before tax, the stars spent in the same transaction (services.rewards, loyalty.loyalty_redeem).
    `pay_when_collected`: an order staff take now and the customer pays for when it is handed over (the
    drive-thru window): confirmed, so the kitchen starts, but awaiting the till's payment
    (services.payments.till), and a member can be added until then (services.members).
    """
    now = now or timezone.now()
    if channel not in Channel.values:
        raise DomainError(f"Unknown channel {channel!r}.", code="bad_channel")
    fingerprint = request_fingerprint(store_id=store_id, channel=channel, lines=lines,
                                      requested_at=requested_at, customer_name=customer_name,
                                      fire_on_arrival=fire_on_arrival, reward_id=reward_id,
                                      pay_when_collected=pay_when_collected)
    scope = f"user:{customer.pk}" if customer else f"staff:{placed_by.pk if placed_by else 0}:store:{store_id}"
    if idempotency_key:
        existing = Order.objects.filter(idempotency_scope=scope, idempotency_key=idempotency_key).first()
        if existing:
            return _pay(_replay(existing, fingerprint), payment_method), False
    try:
        with transaction.atomic():
            order, payment = _order_place_locked(
                store_id=store_id, channel=channel, lines=lines, requested_at=requested_at, customer=customer,
                customer_name=customer_name, placed_by=placed_by, idempotency_key=idempotency_key, scope=scope,
                fingerprint=fingerprint, now=now, payment_method=payment_method, fire_on_arrival=fire_on_arrival,
                reward_id=reward_id, pay_when_collected=pay_when_collected)
    except IntegrityError:
        # A concurrent retry with the same key committed first (the key is unique per scope): its order.
        if idempotency_key:
            existing = Order.objects.filter(idempotency_scope=scope, idempotency_key=idempotency_key).first()
            if existing:
                return _pay(_replay(existing, fingerprint), payment_method), False
        raise
    log.info("order_placed", order_id=order.pk, store_id=store_id, channel=channel, to_status=order.status)
    return _pay(order, payment_method, payment), True


def _pay(order: Order, payment_method: str, payment=None) -> Order:
    """An order paid in the app and awaiting payment gets its card authorisation; a retried request finishes one
    that did not come back (the payment's idempotency key makes it the same authorisation)."""
    if order.status == S.PENDING_PAYMENT and policy(order.channel).paid_in_app:
        return payment_authorise(order=order, payment_method=payment_method, payment=payment)
    return order


def _reward_use(*, reward_id, member, store, priced, now) -> RewardUse | None:
    """The reward the order uses, checked for this member (their row locked, so their stars and birthday
    reward are spent by one order at a time) and this cart; None without one."""
    if reward_id is None:
        return None
    reward = reward_get(reward_id=reward_id)
    if member is not None:
        loyalty.member_lock(member=member)
    reward_check_member(reward=reward, member=member, store=store, now=now)
    return reward_apply(reward=reward, lines=priced)


def _reward_spend(*, order: Order, use: RewardUse, line: OrderLine, member, actor, now) -> None:
    """The discount line on the order, and the stars it costs (409 not_enough_stars undoes the placing)."""
    if line.pk is None:  # a database that does not hand back bulk-inserted ids: the lines in insert order
        line = list(order.lines.order_by("id"))[use.line_index]
    OrderDiscount.objects.create(order=order, line=line, reward=use.reward, label=use.reward.name,
                                 amount_minor=use.amount_minor)
    loyalty.loyalty_redeem(member=member, reward=use.reward, order=order, actor=actor, now=now)


def order_reward_add(*, order: Order, reward_id: int, member, actor, now: dt.datetime | None = None) -> Order:
    """The member added to an order at the drive-thru window (`members.member_order_attach`) spends a reward
    on it before paying: the same discount line, tax after it and stars spent as at placement, on the order's
    own prices and tax rule. Only an order still to be paid at the till, the member's own, without a reward
    yet (409 otherwise); a reward that makes it free leaves nothing to pay."""
    now = now or timezone.now()
    with transaction.atomic():
        store, locked = order_lock(order)
        if not till_payment_due(locked):
            raise Conflict(f"Order {locked.pk} is paid: a reward can only be taken before paying.",
                           code="already_paid", fields={"status": locked.status})
        if locked.customer_id != member.pk:
            raise Conflict(f"Order {locked.pk} is not this member's.", code="not_members_order",
                           fields={"reward": "not their order"})
        if locked.discount_minor:
            raise Conflict(f"Order {locked.pk} has a reward already: one per order.", code="reward_already_taken",
                           fields={"reward": "one per order"})
        lines = list(locked.lines.select_related("item").order_by("id"))  # priced as placed: same shape
        use = _reward_use(reward_id=reward_id, member=member, store=store, priced=lines, now=now)
        totals = totals_for(subtotal_minor=locked.subtotal_minor, currency=locked.currency,
                            rule=order_tax_rule(locked), discount_minor=use.amount_minor)
        locked.discount_minor, locked.tax_minor, locked.total_minor = (totals.discount_minor, totals.tax_minor,
                                                                      totals.total_minor)
        locked.awaiting_till_payment = totals.total_minor > 0
        locked.save(update_fields=["discount_minor", "tax_minor", "total_minor", "awaiting_till_payment",
                                   "updated_at"])
        _reward_spend(order=locked, use=use, line=lines[use.line_index], member=member, actor=actor, now=now)
        outbox_order_changed(store=store, order=locked, kind=ORDER_CHANGED, actor=actor)
    log.info("order_reward_added", order_id=locked.pk, reward_id=reward_id, discount_minor=use.amount_minor)
    return locked


def _order_place_locked(*, store_id, channel, lines, requested_at, customer, customer_name, placed_by,
                        idempotency_key, scope, fingerprint, now, payment_method, fire_on_arrival, reward_id=None,
                        pay_when_collected=False):
    """The order and, when it is paid in the app, its pending payment: (order, payment or None)."""
    # One order at a time per store: the quote and the slot count must see every earlier order.
    store = Store.objects.select_for_update().filter(pk=store_id).first()
    if store is None:
        raise NotFound(f"Store {store_id} does not exist.", code="unknown_store")

    if fire_on_arrival and not fulfilment_settings_for(store=store).offers_fire_on_arrival:
        raise DomainError(f"{store.name} does not offer \"make it when I arrive\".",
                          code="fire_on_arrival_not_offered", fields={"fire_on_arrival": "not offered here"})
    if pay_when_collected and not policy(channel).may_pay_when_collected:
        raise DomainError(f"{Channel(channel).label} orders cannot be paid when collected.",
                          code="pay_when_collected_not_offered", fields={"pay_when_collected": "not for this channel"})
    priced = cart_price(store=store, lines=lines, now=now)
    reward_use = _reward_use(reward_id=reward_id, member=customer, store=store, priced=priced, now=now)
    totals = order_totals(store=store, priced_lines=priced, discount_minor=reward_use.amount_minor if reward_use else 0)
    # An ASAP order: one kitchen state serves the quote and, with this order's lines added, the re-plan.
    state = kitchen_state(store=store, now=now) if requested_at is None else None
    pickup = pickup_choose(store=store, lines=priced, requested_at=requested_at, channel=channel, now=now,
                           state=state)
    # Paid by card in the app: it waits for the card hold, which must last until the pickup. Otherwise
    # paid at the till (or by the delivery partner), or made free by a reward: it enters the kitchen queue
    # confirmed (no card can be held for nothing).
    paid_in_app = policy(channel).paid_in_app and totals.total_minor > 0
    if paid_in_app:
        payment_check_card_amount(total_minor=totals.total_minor, currency=totals.currency)
        payment_check_pickup_window(store=store, ready_at=pickup.promised_ready_at, now=now)
    awaiting_till_payment = pay_when_collected and totals.total_minor > 0  # a reward may leave nothing to pay
    order = Order.objects.create(
        store=store, customer=customer, customer_name=customer_name or (customer.get_username() if customer else ""),
        channel=channel, status=S.PENDING_PAYMENT if paid_in_app else S.CONFIRMED, placed_by=placed_by,
        pickup_kind=pickup.kind, requested_pickup_at=pickup.requested_at, slot_starts_at=pickup.slot_starts_at,
        promised_ready_at=pickup.promised_ready_at, plan_rank=pickup.plan_rank, fire_on_arrival=fire_on_arrival,
        promised_window_start=pickup.window_start, promised_window_end=pickup.window_end,
        awaiting_till_payment=awaiting_till_payment,
        subtotal_minor=totals.subtotal_minor, discount_minor=totals.discount_minor, tax_minor=totals.tax_minor,
        total_minor=totals.total_minor,
        tax_rate_percent=totals.tax.rate_percent, prices_include_tax=totals.tax.prices_include_tax,
        tax_label=totals.tax.label, currency=totals.currency,
        idempotency_scope=scope, idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint, confirmed_at=None if paid_in_app else now)

    # Item rows are locked in id order, here and when a cancel gives stock back (lifecycle), so
    # an order and a cancel never wait on each other's rows in a cycle: a deadlock, which PostgreSQL
    # breaks by failing one of them (a 500).
    for line in sorted(priced, key=lambda line: line.item.pk):
        stock_reserve(item=line.item, quantity=line.quantity)
    new_lines = OrderLine.objects.bulk_create([
        OrderLine(order=order, item=line.item, item_name=line.item.name, quantity=line.quantity,
                  modifiers=line.modifiers_snapshot(), unit_price_minor=line.unit_price_minor,
                  line_total_minor=line.line_total_minor, prep_seconds=line.prep_seconds,
                  prep_sd_seconds=line.prep_sd_seconds, station=line.item.station)
        for line in priced])
    if reward_use is not None:
        _reward_spend(order=order, use=reward_use, line=new_lines[reward_use.line_index], member=customer,
                      actor=placed_by or customer, now=now)
    OrderEvent.objects.create(order=order, kind=OrderEvent.CREATED, to_status=order.status,
                              actor=placed_by or customer,
                              data={"channel": channel, "promised_ready_at": order.promised_ready_at.isoformat()})
    plan = store_replan(store=store, now=now, base=state, added=new_lines)
    # With the quote's state, the re-plan took this order's lines as they are (`added`) and set their
    # planned times and the order's `estimated_ready_at` on these very instances as it wrote them.
    in_memory = state is not None and plan is not None and all(line.pk for line in new_lines)
    if not in_memory:
        order.refresh_from_db(fields=["estimated_ready_at"])
    outbox_order_changed(store=store, order=order, kind=ORDER_CREATED, actor=placed_by or customer,  # screens
                         current_lines=new_lines if in_memory else None)
    return order, payment_record(order=order, payment_method=payment_method, placing=True) if paid_in_app else None

