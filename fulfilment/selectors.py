"""Reads of orders. A customer's reads are scoped to their own orders here, once, not in each view."""

import datetime as dt
import math

from django.core.cache import cache
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from fulfilment.models import Channel, Order, OrderEvent, OrderLine
from fulfilment.services.cart import LineRequest, cart_price
from fulfilment.services.quotes import asap_ready_at
from orderahead.errors import DomainError
from stores import hours
from stores.models import MenuItem, Store


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


# --- Store cards: the kitchen's current ASAP wait ----------------------------------------------------------

ASAP_WAIT_CACHE_SECONDS = 30
_CLOSED = -1  # cached for "no ASAP now" (closed, paused, nothing to make), since the cache cannot hold None


def store_asap_waits(*, stores, now: dt.datetime | None = None) -> dict[int, int | None]:
    """Store id -> the minutes an ASAP order of one typical drink (the first available item of the menu)
    would wait now, as the scheduler quotes it; None while the store takes no ASAP order (closed, paused,
    nothing on the menu). Each store's figure is kept in Django's cache for ASAP_WAIT_CACHE_SECONDS: a
    store list is asked for far more often than the kitchen changes, and each figure costs a plan."""
    now = now or timezone.now()
    keys = {store.pk: f"store-asap-wait:{store.pk}" for store in stores}
    cached = cache.get_many(list(keys.values()))
    waits, fresh = {}, {}
    for store in stores:
        minutes = cached.get(keys[store.pk])
        if minutes is None:
            minutes = fresh[keys[store.pk]] = _asap_wait_minutes(store, now)
        waits[store.pk] = None if minutes == _CLOSED else minutes
    if fresh:
        cache.set_many(fresh, timeout=ASAP_WAIT_CACHE_SECONDS)
    return waits


def _asap_wait_minutes(store: Store, now: dt.datetime) -> int:
    if store.is_mobile_paused(now) or hours.period_containing(store, now) is None:
        return _CLOSED
    typical = (MenuItem.objects.filter(store=store, is_active=True, eighty_sixed=False)
               .filter(Q(stock_count__isnull=True) | Q(stock_count__gt=0)).values_list("pk", flat=True).first())
    if typical is None:
        return _CLOSED
    try:
        lines = cart_price(store=store, lines=[LineRequest(item_id=typical, quantity=1)], now=now)
        ready = asap_ready_at(store=store, lines=lines, channel=Channel.MOBILE, now=now)
    except DomainError:  # a required choice with nothing available, no staffed station, closing soon
        return _CLOSED
    return max(0, math.ceil((ready - now).total_seconds() / 60))
