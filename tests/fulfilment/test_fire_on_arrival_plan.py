"""The planner bridge and "make it when I arrive" (pickup_rules.arrival_timing): a silent customer's order is
planned just in time for a little after its promise, an ETA makes it as soon as possible but not more than
ETA_LEAD ahead, "I'm here" makes it as soon as possible, and a customer who says nothing by the promised time
plus the store's hold limit is served as if they came at the promise."""

import datetime as dt

import pytest
from django.utils import timezone

from fulfilment import services
from fulfilment.models import Channel, Order, OrderEvent, StoreFulfilmentSettings
from fulfilment.services import LineRequest, scheduling
from fulfilment.services.arrival import order_arrival_record
from fulfilment.services.pickup_rules import ARRIVAL_AIM_AFTER_PROMISE, ETA_LEAD, arrival_timing
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


def test_a_silent_customers_order_is_planned_for_a_little_after_its_promise(menu, offers, now):
    held = place(menu, None, fire_on_arrival=True, now=now)
    aim = held.promised_ready_at + ARRIVAL_AIM_AFTER_PROMISE
    # just in time for the aim: ready about then, not at once
    assert abs((held.estimated_ready_at - aim).total_seconds()) <= 60, (held.estimated_ready_at, aim)
    assert first_start(held) > now + dt.timedelta(seconds=60)
    # an ordinary order placed after it is made first, and on time: the held one does not hold up the kitchen
    plain = place(menu, None, now=now)
    held.refresh_from_db()
    assert first_start(plain) < first_start(held)
    assert plain.estimated_ready_at <= plain.promised_ready_at


def test_with_an_eta_it_is_made_shortly_before_and_ready_by_then(menu, offers, now):
    order = place(menu, None, fire_on_arrival=True, now=now)
    order, changed = order_arrival_record(order=order, customer=None, eta_minutes=20, now=now)
    assert changed and order.customer_eta_at == now + dt.timedelta(minutes=20)
    eta = order.customer_eta_at
    assert order.estimated_ready_at <= eta
    # not made early to sit on the shelf: started no sooner than ETA_LEAD before the ETA
    assert first_start(order) >= eta - ETA_LEAD - dt.timedelta(seconds=1)
    assert order.events.filter(kind=OrderEvent.ARRIVAL, data__eta_minutes=20).count() == 1


def test_a_short_notice_goes_straight_to_the_queue(menu, offers, now):
    order = place(menu, None, fire_on_arrival=True, now=now)
    order, _ = order_arrival_record(order=order, customer=None, eta_minutes=3, now=now)
    assert first_start(order) <= now + dt.timedelta(seconds=5)
    assert order.estimated_ready_at <= order.customer_eta_at


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
    hold = dt.timedelta(minutes=offers.shelf_hold_minutes)
    give_up = order.promised_ready_at + hold
    before = arrival_timing(order=order, now=give_up - dt.timedelta(seconds=1), hold=hold)
    assert before.just_in_time and before.due_at == order.promised_ready_at + ARRIVAL_AIM_AFTER_PROMISE
    after = arrival_timing(order=order, now=give_up, hold=hold)
    assert not after.just_in_time and after.due_at == order.promised_ready_at
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


def test_held_orders_are_counted_in_new_customers_quotes(menu, offers, now):
    """Silent customers' orders are real work planned for a little after their promises: a customer who comes
    after them is quoted with that work in view and is ready by their promise."""
    for _ in range(4):
        place(menu, None, fire_on_arrival=True, now=now)
    later = now + dt.timedelta(minutes=4)
    plain = place(menu, None, now=later)
    assert plain.estimated_ready_at <= plain.promised_ready_at
