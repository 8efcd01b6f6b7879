"""Everything that writes orders. Views, admin actions and consumers call these and nothing else.

An order is placed by `orders.order_place`; its life after that (the state machine, every move, and the
effects other modules register to run after a move commits) is `lifecycle`."""

from fulfilment.services.cart import LineRequest, cart_price
from fulfilment.services.lifecycle import (
    order_cancel,
    order_cancel_by_customer,
    order_confirm,
    order_mark_no_show,
    order_mark_ready,
    order_pick_up,
    order_recall,
    order_start,
    order_transition,
)
from fulfilment.services.orders import order_place
from fulfilment.services.quotes import quote_build, quote_for_cart

__all__ = [
    "LineRequest", "cart_price", "order_cancel", "order_cancel_by_customer", "order_confirm", "order_mark_no_show",
    "order_mark_ready", "order_pick_up", "order_place", "order_recall", "order_start", "order_transition",
    "quote_build", "quote_for_cart",
]
