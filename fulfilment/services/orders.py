"""The order's life. Every change of an order's state goes through `order_transition`, which
checks the move is legal, writes the history row, and runs follow-up work only after the commit."""

import datetime as dt
import hashlib
import json
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from fulfilment.channels import policy
from fulfilment.models import Channel, Order, OrderEvent, OrderLine, OrderStatus
from fulfilment.services.cart import LineRequest, cart_price
from fulfilment.services.outbox import ORDER_CHANGED, ORDER_CREATED, outbox_order_changed
from fulfilment.services.payments import payment_authorise, payment_check_pickup_window, payment_settle_cancelled
from fulfilment.services.quotes import pickup_choose
from fulfilment.services.scheduling import kitchen_state, store_replan
from orderahead.errors import Conflict, DomainError, NotFound
from stores.models import Store
from stores.services import stock_release, stock_reserve

S = OrderStatus
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.IN_PROGRESS, S.READY, S.CANCELLED},
    S.IN_PROGRESS: {S.READY, S.CANCELLED},
    S.READY: {S.PICKED_UP, S.NO_SHOW, S.IN_PROGRESS, S.CANCELLED},  # READY -> IN_PROGRESS is a recall
    S.PICKED_UP: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
}
_TIMESTAMP_FIELD = {S.CONFIRMED: "confirmed_at", S.READY: "ready_at", S.PICKED_UP: "picked_up_at",
                    S.CANCELLED: "cancelled_at"}


def request_fingerprint(*, store_id: int, channel: str, lines: list[LineRequest],
                        requested_at: dt.datetime | None, customer_name: str) -> str:
    """A hash of what the client asked for, to tell a retry (same body) from a new request (reused key)."""
    canonical = json.dumps({
        "store": store_id, "channel": channel, "name": customer_name,
        "pickup": requested_at.isoformat() if requested_at else "asap",
        "lines": [[line.item_id, line.quantity, sorted(line.option_ids)] for line in lines],
    }, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(existing: Order, fingerprint: str) -> Order:
    if existing.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different order; use a new key for a new order.",
                       code="idempotency_key_reused", fields={"order": existing.pk})
    return existing


def order_place(*, store_id: int, channel: str, lines: list[LineRequest], requested_at: dt.datetime | None = None,
                customer: AbstractBaseUser | None = None, customer_name: str = "",
                placed_by: AbstractBaseUser | None = None, idempotency_key: str | None = None,
                now: dt.datetime | None = None, payment_method: str = "") -> tuple[Order, bool]:
    """Place an order in the store's one kitchen queue. Returns (order, created).

    Orders paid by card in the app (fulfilment.channels) start awaiting payment; the others are paid at
    the till and enter confirmed. The same idempotency key with the same request returns the first order.
    `payment_method` (a Stripe PaymentMethod id) confirms the card payment at once.
    """
    now = now or timezone.now()
    if channel not in Channel.values:
        raise DomainError(f"Unknown channel {channel!r}.", code="bad_channel")
    fingerprint = request_fingerprint(store_id=store_id, channel=channel, lines=lines,
                                      requested_at=requested_at, customer_name=customer_name)
    scope = f"user:{customer.pk}" if customer else f"staff:{placed_by.pk if placed_by else 0}:store:{store_id}"
    if idempotency_key:
        existing = Order.objects.filter(idempotency_scope=scope, idempotency_key=idempotency_key).first()
        if existing:
            return _pay(_replay(existing, fingerprint), payment_method), False
    try:
        with transaction.atomic():
            order, created = _order_place_locked(
                store_id=store_id, channel=channel, lines=lines, requested_at=requested_at, customer=customer,
                customer_name=customer_name, placed_by=placed_by, idempotency_key=idempotency_key, scope=scope,
                fingerprint=fingerprint, now=now)
    except IntegrityError:
        # A concurrent retry with the same key committed first: answer with its order.
        if idempotency_key:
            existing = Order.objects.filter(idempotency_scope=scope, idempotency_key=idempotency_key).first()
            if existing:
                return _pay(_replay(existing, fingerprint), payment_method), False
        raise
    return _pay(order, payment_method), created


def _pay(order: Order, payment_method: str) -> Order:
    """An order paid in the app and awaiting payment gets its card authorisation; a retried request finishes one
    that did not come back (the payment's idempotency key makes it the same authorisation)."""
    if order.status == S.PENDING_PAYMENT and policy(order.channel).paid_in_app:
        return payment_authorise(order=order, payment_method=payment_method)
    return order


def _order_place_locked(*, store_id, channel, lines, requested_at, customer, customer_name, placed_by,
                        idempotency_key, scope, fingerprint, now) -> tuple[Order, bool]:
    # One order at a time per store: the quote and the slot count must see every earlier order.
    store = Store.objects.select_for_update().filter(pk=store_id).first()
    if store is None:
        raise NotFound(f"Store {store_id} does not exist.", code="unknown_store")
    if idempotency_key:
        existing = Order.objects.filter(idempotency_scope=scope, idempotency_key=idempotency_key).first()
        if existing:
            return _replay(existing, fingerprint), False

    priced = cart_price(store=store, lines=lines)
    # An ASAP order: one kitchen state serves the quote and, with this order's lines added, the re-plan.
    state = kitchen_state(store=store, now=now) if requested_at is None else None
    pickup = pickup_choose(store=store, lines=priced, requested_at=requested_at, channel=channel, now=now,
                           state=state)
    # Paid by card in the app: it waits for the card hold, which must last until the pickup. Otherwise
    # paid at the till (or by the delivery partner): it enters the kitchen queue confirmed.
    paid_in_app = policy(channel).paid_in_app
    if paid_in_app:
        payment_check_pickup_window(store=store, ready_at=pickup.promised_ready_at, now=now)
    subtotal = sum(line.line_total_minor for line in priced)
    order = Order.objects.create(
        store=store, customer=customer, customer_name=customer_name or (customer.get_username() if customer else ""),
        channel=channel, status=S.PENDING_PAYMENT if paid_in_app else S.CONFIRMED, placed_by=placed_by,
        pickup_kind=pickup.kind, requested_pickup_at=pickup.requested_at, slot_starts_at=pickup.slot_starts_at,
        promised_ready_at=pickup.promised_ready_at, plan_rank=pickup.plan_rank,
        subtotal_minor=subtotal, total_minor=subtotal,
        currency=store.currency, idempotency_scope=scope, idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint, confirmed_at=None if paid_in_app else now)

    # Item rows are locked in id order, here and when a cancel gives stock back (order_transition), so
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
    return order, True


def order_get_for_update(*, order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.", code="unknown_order")
    return order


def order_transition(*, order: Order, to_status: str, actor: AbstractBaseUser | None = None,
                     data: dict | None = None, now: dt.datetime | None = None,
                     only_from: set[str] | None = None, locked_store: Store | None = None) -> Order:
    """Move an order to `to_status` if the state machine allows it from the state in the database.

    `only_from` narrows the legal starting states for one caller (a customer may cancel only
    before the kitchen starts); it is checked under the row lock, so a race cannot slip past it.
    `locked_store`: the caller is inside a transaction that already holds this store's row lock and
    read `order` with `select_for_update` after it (the kitchen actions), so neither is read again.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if locked_store is not None:
            store, locked = locked_store, order
        else:
            # Store first, then order: the same lock order as order placement, which re-plans (and so
            # writes) the store's other orders while holding the store lock.
            store = Store.objects.select_for_update().get(pk=order.store_id)
            locked = order_get_for_update(order_id=order.pk)
        from_status = locked.status
        if only_from is not None and from_status not in only_from:
            raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()} and can no longer be "
                           "changed this way; please ask at the counter.", code="too_late",
                           fields={"status": from_status})
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()}; it cannot become "
                           f"{S(to_status).label.lower()}.", code="illegal_transition",
                           fields={"status": from_status})
        locked.status = to_status
        fields = ["status", "updated_at"]
        if to_status in _TIMESTAMP_FIELD:
            setattr(locked, _TIMESTAMP_FIELD[to_status], now)
            fields.append(_TIMESTAMP_FIELD[to_status])
        if to_status == S.CANCELLED:
            locked.cancel_reason = (data or {}).get("reason", "")[:200]
            fields.append("cancel_reason")
            for line in locked.lines.select_related("item").order_by("item_id", "id"):  # id order: see above
                stock_release(item=line.item, quantity=line.quantity)
            # After the commit: release the card hold (or refund a capture) so a cancelled order costs nothing.
            transaction.on_commit(partial(payment_settle_cancelled, order_id=locked.pk), robust=True)
        locked.save(update_fields=fields)
        OrderEvent.objects.create(order=locked, kind=OrderEvent.STATUS_CHANGED, from_status=from_status,
                                  to_status=to_status, actor=actor, data=data or {})
        store_replan(store=store, now=now)
        outbox_order_changed(store=store, order=locked, kind=ORDER_CHANGED, actor=actor,  # for the screens
                             data={"from": from_status, "to": to_status})
    order.refresh_from_db()
    return order


def order_confirm(*, order: Order, actor=None, data: dict | None = None) -> Order:
    """Payment authorised: the order enters the kitchen queue."""
    return order_transition(order=order, to_status=S.CONFIRMED, actor=actor, data=data)


def order_start(*, order: Order, actor=None) -> Order:
    return order_transition(order=order, to_status=S.IN_PROGRESS, actor=actor)


def order_mark_ready(*, order: Order, actor=None) -> Order:
    return order_transition(order=order, to_status=S.READY, actor=actor)


def order_recall(*, order: Order, actor=None) -> Order:
    return order_transition(order=order, to_status=S.IN_PROGRESS, actor=actor, data={"recall": True})


def order_pick_up(*, order: Order, actor=None, data: dict | None = None) -> Order:
    return order_transition(order=order, to_status=S.PICKED_UP, actor=actor, data=data)


def order_mark_no_show(*, order: Order, actor=None) -> Order:
    return order_transition(order=order, to_status=S.NO_SHOW, actor=actor)


def order_cancel(*, order: Order, actor=None, reason: str = "") -> Order:
    """Cancel an open order: its stock goes back on the shelf and its slot and queue place are freed."""
    return order_transition(order=order, to_status=S.CANCELLED, actor=actor, data={"reason": reason})


def order_cancel_by_customer(*, order: Order, customer) -> Order:
    """Customers may cancel until the kitchen starts on the order."""
    return order_transition(order=order, to_status=S.CANCELLED, actor=customer,
                            data={"reason": "Cancelled by customer"}, only_from={S.PENDING_PAYMENT, S.CONFIRMED})
