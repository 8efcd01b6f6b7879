"""Reads of orders. A customer's reads are scoped to their own orders here, once, not in each view."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from fulfilment.models import Order, OrderEvent, OrderLine


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("store", "payment").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("station")),
        Prefetch("events", queryset=OrderEvent.objects.order_by("at", "id")))


def order_list_for_customer(*, customer) -> QuerySet[Order]:
    return _orders().filter(customer=customer)


def order_get_for_customer(*, customer, order_id: int) -> Order | None:
    """The customer's own order, or None: another customer's order is indistinguishable from a missing one."""
    return order_list_for_customer(customer=customer).filter(pk=order_id).first()


def order_get_for_customer_or_404(*, customer, order_id: int) -> Order:
    """The customer's own order for an API view: a 404 when it is missing or someone else's."""
    order = order_get_for_customer(customer=customer, order_id=order_id)
    if order is None:
        raise Http404
    return order


def order_list_for_store(*, store_id: int, statuses=None) -> QuerySet[Order]:
    orders = _orders().filter(store_id=store_id)
    if statuses:
        orders = orders.filter(status__in=statuses)
    return orders
