"""The customer says when they come: "on my way, N minutes" or "I'm here" (issue 27, fire by arrival).

Any paid, open order takes it (the expo screen shows "here" or "arriving 8:42" on the ticket or the shelf);
for a make-when-I-arrive order it also decides when the kitchen makes it (services.pickup_rules.arrival_timing),
so every message re-plans the store.
"""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from fulfilment.models import KITCHEN_STATUSES, PAID_OPEN_STATUSES, Order, OrderEvent, OrderStatus
from fulfilment.presenters import ORDER_ARRIVAL
from fulfilment.services.lifecycle import order_lock
from fulfilment.services.outbox import outbox_order_changed
from fulfilment.services.scheduling import store_replan
from orderahead.errors import Conflict, DomainError

MAX_ETA_MINUTES = 60
# The same "on my way" sent again (a double tap, a retry after a lost answer) lands within this of the ETA
# already recorded: it changes nothing, writes no event and does not re-plan.
SAME_ETA_S = 60


def order_arrival_record(*, order: Order, customer: AbstractBaseUser | None, eta_minutes: int | None = None,
                         here: bool = False, now: dt.datetime | None = None) -> tuple[Order, bool]:
    """Record "I'm here" (`here`) or "on my way, `eta_minutes` minutes" on the order. Returns (order, changed).

    Saying it again changes nothing (changed False). "On my way" after "I'm here" is refused (409): the
    customer is already at the counter. A paid order that is not finished takes it; others get a 409."""
    now = now or timezone.now()
    if here == (eta_minutes is not None):
        raise DomainError('Say either {"here": true} or {"eta_minutes": N}.', code="invalid",
                          fields={"here": here, "eta_minutes": eta_minutes})
    if not here and (isinstance(eta_minutes, bool) or not isinstance(eta_minutes, int)
                     or not 0 <= eta_minutes <= MAX_ETA_MINUTES):
        raise DomainError(f"eta_minutes is a whole number of minutes from 0 to {MAX_ETA_MINUTES}.",
                          code="invalid", fields={"eta_minutes": f"0 to {MAX_ETA_MINUTES}"})
    with transaction.atomic():
        store, locked = order_lock(order)
        if locked.status not in PAID_OPEN_STATUSES:
            waiting = locked.status == OrderStatus.PENDING_PAYMENT
            raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()}: "
                           + ("pay for it first." if waiting else "there is nothing left to pick up."),
                           code="awaiting_payment" if waiting else "order_closed", fields={"status": locked.status})
        if here:
            if locked.arrived_at is not None:
                return locked, False
            locked.arrived_at = now
            data = {"here": True}
        else:
            if locked.arrived_at is not None:
                raise Conflict("You already said you are here.", code="already_here",
                               fields={"arrived_at": locked.arrived_at.isoformat()})
            eta = now + dt.timedelta(minutes=eta_minutes)
            if locked.customer_eta_at is not None and abs((eta - locked.customer_eta_at).total_seconds()) < SAME_ETA_S:
                return locked, False
            locked.customer_eta_at = eta
            data = {"eta": eta.isoformat(), "eta_minutes": eta_minutes}
        locked.save(update_fields=["arrived_at", "customer_eta_at", "updated_at"])
        OrderEvent.objects.create(order=locked, kind=OrderEvent.ARRIVAL, from_status=locked.status,
                                  to_status=locked.status, actor=customer, data=data)
        if locked.status in KITCHEN_STATUSES:
            store_replan(store=store, now=now)  # a make-when-I-arrive order moves; any other keeps its place
        outbox_order_changed(store=store, order=locked, kind=ORDER_ARRIVAL, actor=customer, data={"arrival": data})
    locked.refresh_from_db()
    return locked, True
