"""The order's life: which moves between states are legal, the one function that makes them
(`order_transition`), and the table of what reacts to a move after it commits.

The status sets (OPEN_STATUSES, KITCHEN_STATUSES, ...) are defined once, next to the model, in
`fulfilment.models`. Placing an order (the first state) is `fulfilment.services.orders.order_place`.

A move, in one transaction holding the store's row lock and then the order's: the state machine is
checked against the state in the database, the status and its timestamp are written (a cancel gives
the stock back), the history row is added, the store is re-planned and the screens' outbox event is
written. After the commit, the effects registered for that move run, each once; on a rollback, none.

Effects are declared by the module that reacts, never imported here, so fulfilment does not depend
on what reacts to it:

    from fulfilment.services.lifecycle import Transition, on_transition

    @on_transition(to=OrderStatus.PICKED_UP)
    def loyalty_stamp(change: Transition) -> None:
        ...

The reacting module must be imported at start-up (`FulfilmentConfig.ready` imports the payments
services, which release or refund a cancelled order's card payment this way).
"""

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial, update_wrapper

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from fulfilment.models import (
    CUSTOMER_CANCELLABLE_STATUSES,
    Order,
    OrderEvent,
    OrderStatus,
)
from fulfilment.presenters import ORDER_CHANGED
from fulfilment.services.outbox import outbox_order_changed
from fulfilment.services.scheduling import store_replan
from orderahead import metrics
from orderahead.errors import Conflict, NotFound
from orderahead.logs import binds_order_id, get_logger
from stores.models import Store
from stores.services import stock_release

S = OrderStatus
log = get_logger(__name__)
# The state machine: from each state, the states an order may move to.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.PENDING_PAYMENT: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.IN_PROGRESS, S.READY, S.CANCELLED},
    S.IN_PROGRESS: {S.READY, S.CANCELLED},
    S.READY: {S.PICKED_UP, S.NO_SHOW, S.IN_PROGRESS, S.CANCELLED},  # READY -> IN_PROGRESS is a recall
    S.PICKED_UP: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
}
# Moves that change nothing the kitchen plan reads: the plan already places an order awaiting payment
# (PLAN_STATUSES), with the same lines, due time and weight, so its payment needs no re-plan (which would
# re-read the store's stations, staffing and open lines and rewrite every line whose time moved by the
# milliseconds since the placement's plan: half of a mobile placement's CPU).
MOVES_THE_PLAN_IGNORES = {(S.PENDING_PAYMENT, S.CONFIRMED)}
# The order's field that records when it entered the state.
TIMESTAMP_FIELD = {S.CONFIRMED: "confirmed_at", S.READY: "ready_at", S.PICKED_UP: "picked_up_at",
                   S.CANCELLED: "cancelled_at"}


# --- After-commit effects -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    """One committed move, as an effect gets it: plain values, since the effect runs after the commit."""

    order_id: int
    store_id: int
    customer_id: int | None
    channel: str
    from_status: str
    to_status: str
    actor: AbstractBaseUser | None
    at: dt.datetime
    data: dict = field(default_factory=dict)


Effect = Callable[[Transition], None]


@dataclass(frozen=True)
class _Registration:
    effect: Effect
    to: frozenset[str] | None    # None: any state
    from_: frozenset[str] | None

    def matches(self, from_status: str, to_status: str) -> bool:
        return ((self.to is None or to_status in self.to)
                and (self.from_ is None or from_status in self.from_))


_EFFECTS: list[_Registration] = []


def _states(value: str | Collection[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    states = frozenset([value] if isinstance(value, str) else value)
    unknown = states - set(S.values)
    if unknown:
        raise ValueError(f"Unknown order states: {sorted(unknown)}")
    return states


def register_effect(effect: Effect, *, to: str | Collection[str] | None = None,
                    from_: str | Collection[str] | None = None) -> Effect:
    """Run `effect(Transition)` once after the commit of every move into `to` (from `from_`); None
    means any state. Registering the same function again for the same moves changes nothing."""
    registration = _Registration(effect=effect, to=_states(to), from_=_states(from_))
    if registration not in _EFFECTS:
        _EFFECTS.append(registration)
    return effect


def unregister_effect(effect: Effect) -> None:
    """Remove every registration of `effect` (for tests that add one)."""
    _EFFECTS[:] = [registration for registration in _EFFECTS if registration.effect is not effect]


def on_transition(*, to: str | Collection[str] | None = None,
                  from_: str | Collection[str] | None = None) -> Callable[[Effect], Effect]:
    """Decorator form of `register_effect`."""
    return partial(register_effect, to=to, from_=from_)


def effects_for(*, from_status: str, to_status: str) -> list[Effect]:
    """The effects that run after a move from `from_status` to `to_status`, in registration order."""
    return [registration.effect for registration in _EFFECTS if registration.matches(from_status, to_status)]


def _count_and_log(change: Transition) -> None:
    """One count and one log line per committed move (after the commit: a rolled-back move is not one)."""
    metrics.ORDER_MOVES.labels(change.to_status).inc()
    log.info("order_moved", order_id=change.order_id, store_id=change.store_id, channel=change.channel,
             from_status=change.from_status, to_status=change.to_status)


# --- Moves ---------------------------------------------------------------------------------------------

def order_get_for_update(*, order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.", code="unknown_order")
    return order


def order_lock(order: Order) -> tuple[Store, Order]:
    """The order's store row, then the order's, both locked (inside a transaction): the lock order of every
    order writer, since placing an order re-plans (and writes) the store's other orders under the store lock,
    and the store's lock is what numbers the screens' events (outbox)."""
    store = Store.objects.select_for_update().get(pk=order.store_id)
    return store, order_get_for_update(order_id=order.pk)


@binds_order_id
def order_transition(*, order: Order, to_status: str, actor: AbstractBaseUser | None = None,
                     data: dict | None = None, now: dt.datetime | None = None,
                     only_from: Collection[str] | None = None, locked_store: Store | None = None) -> Order:
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
            store, locked = order_lock(order)
        from_status = locked.status
        if only_from is not None and from_status not in only_from:
            raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()} and can no longer be "
                           "changed this way; please ask at the counter.", code="too_late",
                           fields={"status": from_status})
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()}; it cannot become "
                           f"{S(to_status).label.lower()}.", code="illegal_transition",
                           fields={"status": from_status})
        if to_status == S.PICKED_UP and locked.awaiting_till_payment:
            raise Conflict(f"Order {locked.pk} is not paid yet: take the payment at the till, then hand it over.",
                           code="payment_due", fields={"status": from_status, "total_minor": locked.total_minor})
        locked.status = to_status
        fields = ["status", "updated_at"]
        if to_status in TIMESTAMP_FIELD:
            setattr(locked, TIMESTAMP_FIELD[to_status], now)
            fields.append(TIMESTAMP_FIELD[to_status])
        if to_status == S.CANCELLED:
            locked.cancel_reason = (data or {}).get("reason", "")[:200]
            fields.append("cancel_reason")
            # Item rows are locked in id order, as order placement reserves them, so a cancel and an
            # order never wait on each other's rows in a cycle (a deadlock PostgreSQL breaks with a 500).
            for line in locked.lines.select_related("item").order_by("item_id", "id"):
                stock_release(item=line.item, quantity=line.quantity)
        # Registered here, as the cancel's payment release always was: on_commit runs them in this order.
        change = Transition(order_id=locked.pk, store_id=locked.store_id, customer_id=locked.customer_id,
                            channel=locked.channel, from_status=from_status, to_status=to_status, actor=actor,
                            at=now, data=dict(data or {}))
        # update_wrapper: Django logs a failing robust hook by its __qualname__, which a bare partial lacks, so
        # an effect failing after the commit (its database connection dropped) turned into a 500 instead.
        transaction.on_commit(update_wrapper(partial(_count_and_log, change), _count_and_log), robust=True)
        for effect in effects_for(from_status=from_status, to_status=to_status):
            # one failing effect stops no other
            transaction.on_commit(update_wrapper(partial(effect, change), effect), robust=True)
        locked.save(update_fields=fields)
        OrderEvent.objects.create(order=locked, kind=OrderEvent.STATUS_CHANGED, from_status=from_status,
                                  to_status=to_status, actor=actor, data=data or {})
        if (from_status, to_status) not in MOVES_THE_PLAN_IGNORES:
            store_replan(store=store, now=now)
        # The screens' event is written in this transaction, under the store lock that numbers it; the
        # outbox announces it after the commit itself.
        outbox_order_changed(store=store, order=locked, kind=ORDER_CHANGED, actor=actor,
                             data={"from": from_status, "to": to_status})
    if locked is not order:  # the caller's copy was not the one moved
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
                            data={"reason": "Cancelled by customer"}, only_from=CUSTOMER_CANCELLABLE_STATUSES)
