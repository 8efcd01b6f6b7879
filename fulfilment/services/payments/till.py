"""Payment taken at the till for an order placed to be paid when collected (issue 28): the drive-thru order
taken at the speaker and paid at the window, or a counter order paid when it is ready.

Such an order is confirmed as it is placed (the kitchen starts at once) with `Order.awaiting_till_payment`
set. Until the till takes the money it cannot be handed over (`lifecycle.order_transition` refuses the
pickup) and a member can still be added to it (`members.member_attach`); once paid, never. The money itself
goes through the store's own card reader or cash drawer: what the platform records is that it was taken,
by whom and when (an OrderEvent), exactly once.
"""

from django.db import transaction

from fulfilment.channels import policy
from fulfilment.models import OPEN_STATUSES, Order, OrderEvent
from fulfilment.presenters import ORDER_CHANGED
from fulfilment.services.lifecycle import order_lock
from fulfilment.services.outbox import outbox_order_changed
from orderahead.errors import Conflict
from orderahead.logs import binds_order_id, get_logger

log = get_logger(__name__)


def till_payment_due(order: Order) -> bool:
    """Still to be paid at the till: placed to be paid when collected, and open. Until then a member (and a
    reward) can be added to it."""
    return order.awaiting_till_payment and order.status in OPEN_STATUSES


@binds_order_id
def payment_take_at_till(*, order: Order, actor) -> Order:
    """Record that the till took the payment of `order`. Taking it again (a double tap, a retried request)
    changes nothing; an order paid at the till as it was placed is paid already and is returned as it is.
    409 for an order paid by card in the app, and for one that is no longer open (cancelled, not collected)."""
    with transaction.atomic():
        store, locked = order_lock(order)
        if policy(locked.channel).paid_in_app:
            raise Conflict(f"Order {locked.pk} is paid by card in the app: there is nothing to take at the till.",
                           code="paid_in_app", fields={"channel": locked.channel})
        if not locked.awaiting_till_payment:
            return locked
        if locked.status not in OPEN_STATUSES:
            raise Conflict(f"Order {locked.pk} is {locked.get_status_display().lower()}; there is nothing to take "
                           "payment for.", code="not_open", fields={"status": locked.status})
        locked.awaiting_till_payment = False
        locked.save(update_fields=["awaiting_till_payment", "updated_at"])
        OrderEvent.objects.create(order=locked, kind=OrderEvent.PAID_AT_TILL, from_status=locked.status,
                                  to_status=locked.status, actor=actor, data={"amount_minor": locked.total_minor})
        outbox_order_changed(store=store, order=locked, kind=ORDER_CHANGED, actor=actor)  # the screens' badge
    log.info("paid_at_till", order_id=locked.pk, amount_minor=locked.total_minor)
    return locked
