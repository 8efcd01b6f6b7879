"""The order admin for a store manager: times on the store's own clock, a list that fits a laptop,
and an order page that reads like a receipt and a timeline."""

import datetime as dt

import pytest
from django.urls import reverse

from fulfilment.models import (
    Channel,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentStatus,
    PickupKind,
)
from fulfilment.pickup_codes import pickup_code
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

    assert "Jan 15, 12:38 PST" in page and "Jan 15, 12:36 PST" in page  # promised, ready
    assert "<td class=\"field-promised_short\">12:38 PST</td>" in listing  # on the day placed: no date
    assert "<td class=\"field-ready_short\">12:36 PST</td>" in listing
    for text in (listing, page):
        assert "Jan 15, 12:28 PST" in text  # placed
        assert "20:28" not in text and "8:28 p.m." not in text


def test_times_across_the_spring_forward_change(client, admin_user, la_menu):
    """2026-03-08 02:00 PST clocks jump to 03:00 PDT: one order before, one after."""
    before = order_at(la_menu["latte"], dt.datetime(2026, 3, 8, 9, 30, tzinfo=UTC))  # 01:30 PST
    after = order_at(la_menu["latte"], dt.datetime(2026, 3, 8, 10, 30, tzinfo=UTC))  # 03:30 PDT
    client.force_login(admin_user)

    listing = changelist(client).content.decode()

    assert "Mar 8, 01:30 PST" in listing and ">01:40 PST<" in listing
    assert "Mar 8, 03:30 PDT" in listing and ">03:40 PDT<" in listing
    assert "Mar 8, 01:30 PST" in change_page(client, before)
    assert "Mar 8, 03:30 PDT" in change_page(client, after)


# --- 2. The list --------------------------------------------------------------------------------------------

def listed(response) -> set[int]:
    assert response.status_code == 200
    return {order.pk for order in response.context["cl"].result_list}


def test_list_shows_the_columns_that_matter(client, admin_user, la_menu):
    order = order_at(la_menu["latte"], dt.datetime(2026, 1, 15, 20, 28, tzinfo=UTC))
    client.force_login(admin_user)

    response = changelist(client)
    text = response.content.decode()

    headers = [str(header["text"]).lower() for header in response.context["result_headers"]]
    assert headers[1:] == ["order", "customer", "store", "channel", "status", "placed", "promised", "ready",
                           "total"]  # [0] is the select box
    assert f"{order.pk} · {pickup_code(order=order)}" in text and "$4.50 USD" in text
    assert "Captured (charged)" not in text  # money detail lives on the order page
    assert "fulfilment/admin_orders.css" in text  # tighter cells: the list fits 1280 px (measured in Chromium)


def test_search_by_pickup_code_number_name_and_username(client, admin_user, la_menu):
    placed = dt.datetime(2026, 1, 15, 20, 28, tzinfo=UTC)
    customer = factories.user("sam_b")
    open_order = order_at(la_menu["latte"], placed, customer_name="Sam", customer=customer)
    collected = order_at(la_menu["latte"], placed, customer_name="Kim", status=OrderStatus.PICKED_UP)
    client.force_login(admin_user)

    code = pickup_code(order=open_order)
    assert listed(changelist(client, q=code)) == {open_order.pk}
    assert listed(changelist(client, q=code.lower())) == {open_order.pk}
    # A collected order's code no longer works anywhere, so it finds nothing here either.
    assert open_order.pk not in listed(changelist(client, q=pickup_code(order=collected)))
    assert listed(changelist(client, q=str(collected.pk))) == {collected.pk}
    assert listed(changelist(client, q="Kim")) == {collected.pk}
    assert listed(changelist(client, q="sam_b")) == {open_order.pk}


def test_a_manager_of_one_store_gets_no_store_column(client, la_store, la_menu):
    order_at(la_menu["latte"], dt.datetime(2026, 1, 15, 20, 28, tzinfo=UTC))
    client.force_login(factories.staff("manager_la", la_store, "manager"))

    response = changelist(client)

    assert "store" not in [str(header["text"]).lower() for header in response.context["result_headers"]]
    assert len(response.context["cl"].result_list) == 1


def test_day_filter_uses_each_store_calendar(client, admin_user, la_menu, monkeypatch):
    tokyo = factories.open_store(name="Ginza", slug="ginza", timezone="Asia/Tokyo")
    tokyo_latte = factories.coffee_menu(tokyo)["latte"]
    at = lambda hour, minute=0, day=8: dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # noqa: E731
    la_today = order_at(la_menu["latte"], at(9, 30))  # Mar 8 01:30 PST
    la_yesterday = order_at(la_menu["latte"], at(7, 30))  # Mar 7 23:30 PST (Mar 8 in UTC)
    tokyo_today = order_at(tokyo_latte, at(16))  # Mar 9 01:00 JST (Mar 8 in UTC)
    tokyo_yesterday = order_at(tokyo_latte, at(14))  # Mar 8 23:00 JST
    la_last_week = order_at(la_menu["latte"], at(8, day=2))  # Mar 2 00:00 PST, the first of the 7 days
    la_too_old = order_at(la_menu["latte"], at(7, 59, day=2))  # Mar 1 23:59 PST
    client.force_login(admin_user)
    # 10:00 PDT on Mar 8 in Los Angeles, 03:00 JST on Mar 9 in Tokyo.
    monkeypatch.setattr("django.utils.timezone.now", lambda: at(18))

    assert listed(changelist(client, day="today")) == {la_today.pk, tokyo_today.pk}
    assert listed(changelist(client, day="yesterday")) == {la_yesterday.pk, tokyo_yesterday.pk}
    week = listed(changelist(client, day="7d"))
    assert week == {la_today.pk, la_yesterday.pk, tokyo_today.pk, tokyo_yesterday.pk, la_last_week.pk}
    assert la_too_old.pk not in week and la_too_old.pk in listed(changelist(client))
    assert "Last 7 days" in changelist(client).content.decode()


# --- 3. The order page ----------------------------------------------------------------------------------------

def add_event(order, at: dt.datetime, kind=OrderEvent.STATUS_CHANGED, **fields) -> OrderEvent:
    event = OrderEvent.objects.create(order=order, kind=kind, **fields)
    OrderEvent.objects.filter(pk=event.pk).update(at=at)
    return event


def test_order_page_reads_like_a_receipt_and_a_timeline(client, admin_user, la_menu, barista_store1):
    placed = dt.datetime(2026, 1, 15, 20, 28, tzinfo=UTC)  # 12:28 PST
    order = order_at(la_menu["latte"], placed)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
    OrderLine.objects.filter(order=order).update(
        modifiers=[{"group": "Size", "option": "Large", "price_delta_minor": 90},
                   {"group": "Milk", "option": "Whole", "price_delta_minor": 0}], unit_price_minor=540,
        line_total_minor=540)
    Payment.objects.create(order=order, provider=Payment.STRIPE, status=PaymentStatus.CAPTURED, amount_minor=540,
                           currency="USD", captured_minor=540, refunded_minor=200)
    OrderEvent.objects.filter(order=order).update(data={"promised_ready_at": "2026-01-15T20:38:00+00:00"})
    add_event(order, placed + dt.timedelta(seconds=20), from_status=OrderStatus.PENDING_PAYMENT,
              to_status=OrderStatus.CONFIRMED, actor=barista_store1)
    add_event(order, placed + dt.timedelta(minutes=2), kind=OrderEvent.READY_TIME_CHANGED,
              from_status=OrderStatus.CONFIRMED, to_status=OrderStatus.CONFIRMED,
              data={"from": "2026-01-15T20:38:00+00:00", "to": "2026-01-15T20:45:00+00:00",
                    "promised": "2026-01-15T20:38:00+00:00"})
    add_event(order, placed + dt.timedelta(hours=12), from_status=OrderStatus.CONFIRMED,
              to_status=OrderStatus.CANCELLED, data={"reason": "Customer left"})
    client.force_login(admin_user)

    page = change_page(client, order)

    assert "Size: Large (+$0.90 USD), Milk: Whole" in page
    assert "$5.40 USD" in page  # unit price, line total, held, captured
    assert "$2.00 USD" in page and "Stripe" in page and "Captured (charged)" in page
    assert "12:28 PST — Placed (Confirmed), promised for 12:38 PST" in page
    assert "12:28 PST — Confirmed (from Awaiting payment) by barista1" in page
    assert "12:30 PST — Ready time moved 12:38 → 12:45 PST" in page
    assert "Jan 16, 00:28 PST — Cancelled (from Confirmed): Customer left" in page  # the next local day
    assert "ready_time_changed" not in page and "&quot;from&quot;" not in page  # no raw JSON


def test_ready_time_moved_across_the_dst_change_names_both_zones(client, admin_user, la_menu):
    order = order_at(la_menu["latte"], dt.datetime(2026, 3, 8, 9, 50, tzinfo=UTC))  # 01:50 PST
    add_event(order, dt.datetime(2026, 3, 8, 9, 55, tzinfo=UTC), kind=OrderEvent.READY_TIME_CHANGED,
              data={"from": "2026-03-08T09:59:00+00:00", "to": "2026-03-08T10:05:00+00:00"})
    client.force_login(admin_user)

    assert "01:55 PST — Ready time moved 01:59 PST → 03:05 PDT" in change_page(client, order)


def test_a_manager_reads_who_ordered_without_a_link_to_a_page_they_may_not_open(client, la_store, la_menu):
    """Account pages are head office's (a manager gets "403 Forbidden" there), so people are plain text."""
    customer = factories.user("robin.k")
    order = order_at(la_menu["latte"], dt.datetime(2026, 1, 15, 20, 28, tzinfo=UTC), customer=customer)
    client.force_login(factories.staff("manager_la", la_store, "manager"))

    page = change_page(client, order)

    assert "Robin (robin.k)" in page
    assert reverse("admin:auth_user_change", args=[customer.pk]) not in page
    assert client.get(reverse("admin:auth_user_change", args=[customer.pk])).status_code == 403
