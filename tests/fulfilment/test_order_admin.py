"""The order admin for a store manager: times on the store's own clock, a list that fits a laptop,
and an order page that reads like a receipt and a timeline."""

import datetime as dt

import pytest
from django.urls import reverse

from fulfilment.models import Channel, Order, OrderEvent, OrderLine, OrderStatus, PickupKind
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def la_store(db):
    return factories.open_store(name="Pearl", slug="pearl", timezone="America/Los_Angeles")


@pytest.fixture
def la_menu(la_store):
    return factories.coffee_menu(la_store)


def order_at(item, placed: dt.datetime, *, customer_name="Robin", customer=None, **fields) -> Order:
    """An order as if placed at `placed` (UTC), confirmed and promised 10 minutes later."""
    fields = {"status": OrderStatus.CONFIRMED, "promised_ready_at": placed + dt.timedelta(minutes=10), **fields}
    order = Order.objects.create(
        store=item.store, customer=customer, customer_name=customer_name, channel=Channel.MOBILE,
        pickup_kind=PickupKind.ASAP, subtotal_minor=item.price_minor, total_minor=item.price_minor,
        currency=item.currency, **fields)
    Order.objects.filter(pk=order.pk).update(created_at=placed)  # auto_now_add ignores a given value
    OrderLine.objects.create(order=order, item=item, item_name=item.name, quantity=1,
                             unit_price_minor=item.price_minor, line_total_minor=item.price_minor,
                             prep_seconds=item.prep_seconds, station=item.station)
    event = OrderEvent.objects.create(order=order, kind=OrderEvent.CREATED, to_status=order.status)
    OrderEvent.objects.filter(pk=event.pk).update(at=placed)
    return Order.objects.get(pk=order.pk)


def changelist(client, **params):
    return client.get(reverse("admin:fulfilment_order_changelist"), params)


def change_page(client, order) -> str:
    response = client.get(reverse("admin:fulfilment_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- 1. Times in the store's zone ----------------------------------------------------------------------------

def test_list_and_page_show_the_store_wall_clock_not_utc(client, admin_user, la_menu):
    order = order_at(la_menu["latte"], dt.datetime(2026, 1, 15, 20, 28, tzinfo=UTC),  # 12:28 in Los Angeles
                     ready_at=dt.datetime(2026, 1, 15, 20, 36, tzinfo=UTC))
    client.force_login(admin_user)

    listing = changelist(client).content.decode()
    page = change_page(client, order)

    for text in (listing, page):
        assert "Jan 15, 12:28 PST" in text  # placed
        assert "Jan 15, 12:38 PST" in text  # promised
        assert "Jan 15, 12:36 PST" in text  # ready
        assert "20:28" not in text and "8:28 p.m." not in text


def test_times_across_the_spring_forward_change(client, admin_user, la_menu):
    """2026-03-08 02:00 PST clocks jump to 03:00 PDT: one order before, one after."""
    before = order_at(la_menu["latte"], dt.datetime(2026, 3, 8, 9, 30, tzinfo=UTC))  # 01:30 PST
    after = order_at(la_menu["latte"], dt.datetime(2026, 3, 8, 10, 30, tzinfo=UTC))  # 03:30 PDT
    client.force_login(admin_user)

    listing = changelist(client).content.decode()

    assert "Mar 8, 01:30 PST" in listing and "Mar 8, 01:40 PST" in listing
    assert "Mar 8, 03:30 PDT" in listing and "Mar 8, 03:40 PDT" in listing
    assert "Mar 8, 01:30 PST" in change_page(client, before)
    assert "Mar 8, 03:30 PDT" in change_page(client, after)
