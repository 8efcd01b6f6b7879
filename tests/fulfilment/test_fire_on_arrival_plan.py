"""The planner bridge and "make it when I arrive": a held order is not started before its customer says
they are coming, an ETA makes it ready about then, "I'm here" makes it as soon as possible, and a customer
who says nothing is served from the promised time plus the store's hold limit."""

import datetime as dt

import pytest
from django.utils import timezone

from fulfilment import services
from fulfilment.models import Channel, Order, OrderEvent, StoreFulfilmentSettings
from fulfilment.services import LineRequest, scheduling
from fulfilment.services.arrival import order_arrival_record
from orderahead.errors import DomainError

pytestmark = pytest.mark.django_db


@pytest.fixture
def offers(store):
    return StoreFulfilmentSettings.objects.create(store=store, offers_fire_on_arrival=True, shelf_hold_minutes=5)


def place(menu, customer, *, fire_on_arrival=False, now=None, item="latte"):
    order, _ = services.order_place(store_id=menu[item].store_id, channel=Channel.COUNTER, customer_name="Ana",
                                    lines=[LineRequest(item_id=menu[item].pk, quantity=1)], now=now,
                                    fire_on_arrival=fire_on_arrival)
    return Order.objects.get(pk=order.pk)


def first_start(order):
    return min(line.planned_start_at for line in order.lines.all())


def test_a_held_order_is_not_started_before_its_customer_says_anything(menu, offers, now):
    held = place(menu, None, fire_on_arrival=True, now=now)
    hold = dt.timedelta(minutes=offers.shelf_hold_minutes)
    assert first_start(held) >= held.promised_ready_at + hold - dt.timedelta(seconds=1)
    # an ordinary order placed after it is made first: the held one does not hold up the kitchen
    plain = place(menu, None, now=now)
    held.refresh_from_db()
    assert first_start(plain) < first_start(held)
    assert plain.estimated_ready_at <= plain.promised_ready_at


def test_with_an_eta_it_is_ready_about_then_and_not_before(menu, offers, now):
    order = place(menu, None, fire_on_arrival=True, now=now)
    order, changed = order_arrival_record(order=order, customer=None, eta_minutes=20, now=now)
    assert changed and order.customer_eta_at == now + dt.timedelta(minutes=20)
    eta = order.customer_eta_at
    assert abs((order.estimated_ready_at - eta).total_seconds()) <= 90, (order.estimated_ready_at, eta)
    assert first_start(order) > now + dt.timedelta(minutes=15)  # not made early to sit on the shelf
    assert order.events.filter(kind=OrderEvent.ARRIVAL, data__eta_minutes=20).count() == 1


def test_im_here_makes_it_as_soon_as_possible(menu, offers, now):
    order = place(menu, None, fire_on_arrival=True, now=now)
    order_arrival_record(order=order, customer=None, eta_minutes=30, now=now)
    later = now + dt.timedelta(minutes=1)
    order, _ = order_arrival_record(order=order, customer=None, here=True, now=later)
    assert order.arrived_at == later
    assert first_start(order) <= later + dt.timedelta(seconds=5)
    prep = sum(line.prep_seconds for line in order.lines.all())
    assert order.estimated_ready_at <= later + dt.timedelta(seconds=prep + order.store.handoff_seconds + 30)


def test_a_silent_customer_is_served_from_the_promise_plus_the_hold_limit(menu, offers, now):
    order = place(menu, None, fire_on_arrival=True, now=now)
    give_up = order.promised_ready_at + dt.timedelta(minutes=offers.shelf_hold_minutes)
    scheduling.store_replan(store=order.store, now=give_up + dt.timedelta(seconds=30))
    order.refresh_from_db()
    assert first_start(order) <= give_up + dt.timedelta(seconds=35)


def test_ordinary_orders_ignore_arrival_for_planning(menu, offers, now):
    order = place(menu, None, now=now)
    before = order.estimated_ready_at
    order, changed = order_arrival_record(order=order, customer=None, eta_minutes=45, now=now)
    assert changed and order.estimated_ready_at == before  # the promise stands; the expo just sees "arriving"


def test_a_store_that_does_not_offer_it_refuses_the_choice(menu, now):
    with pytest.raises(DomainError) as refused:
        place(menu, None, fire_on_arrival=True, now=now)
    assert refused.value.code == "fire_on_arrival_not_offered"
    assert not Order.objects.exists()


def test_held_orders_change_nothing_for_stores_without_them(menu, offers, now):
    place(menu, None, now=now)
    state = scheduling.kitchen_state(store=menu["latte"].store, now=timezone.now())
    assert (state.arrays["item_release_s"] == 0).all() and (state.arrays["item_weight"] == 1).all()


def test_held_orders_past_their_promise_do_not_push_back_new_customers(menu, offers, now):
    alone = place(menu, None, now=now)
    quoted_alone = alone.promised_ready_at - now
    later = now + dt.timedelta(minutes=4)  # the held orders' promises have passed; their hold limit has not
    for _ in range(4):
        place(menu, None, fire_on_arrival=True, now=now)
    plain = place(menu, None, now=later)
    assert plain.promised_ready_at - later <= quoted_alone + dt.timedelta(seconds=30)
    assert plain.estimated_ready_at <= plain.promised_ready_at
