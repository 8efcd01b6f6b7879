"""Orders go through the slot scheduler: quotes are its answers, lines carry its plan, and a new
order never breaks an earlier promise."""

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core_native.config import DEFAULT_PLANNER
from fulfilment import services
from fulfilment.models import Channel, Order, OrderEvent, OrderLine
from fulfilment.services import LineRequest, scheduling
from stores.models import StaffingPeriod

pytestmark = pytest.mark.django_db


def place(menu, customer, quantity=1, item="latte"):
    order, _ = services.order_place(store_id=menu[item].store_id, channel=Channel.MOBILE, customer=customer,
                                    lines=[LineRequest(item_id=menu[item].pk, quantity=quantity)])
    return order


def test_lines_carry_the_plan_and_lanes_never_overlap(menu, customer_a):
    for quantity in (2, 3, 1, 4):
        place(menu, customer_a, quantity)

    lines = list(OrderLine.objects.filter(order__store=menu["latte"].store))
    assert all(line.planned_start_at and line.planned_finish_at and line.planned_lane is not None for line in lines)
    assert all(0 <= line.planned_lane < menu["espresso"].default_lanes for line in lines)
    for order in Order.objects.all():
        assert order.estimated_ready_at is not None
        last_finish = max(line.planned_finish_at for line in order.lines.all())
        assert order.estimated_ready_at >= last_finish


def test_earlier_promises_hold_as_orders_arrive(menu, customer_a, customer_b):
    for n in range(12):
        place(menu, customer_a if n % 2 else customer_b, quantity=1 + n % 3)
        for order in Order.objects.all():
            assert order.estimated_ready_at <= order.promised_ready_at, (
                f"order {order.pk} expected {order.estimated_ready_at}, promised {order.promised_ready_at}")


def test_api_quote_is_the_schedulers_answer(api, menu, customer_a):
    place(menu, customer_a, quantity=4)
    response = api.post(f"/api/stores/{menu['latte'].store_id}/quote/",
                        {"items": [{"item": menu["latte"].pk, "quantity": 2}]}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    quoted_at = parse_datetime(body["quoted_at"])

    latte = menu["latte"]
    small_prep = latte.prep_seconds  # the default size adds no prep time
    direct = scheduling.kitchen_quote(store=latte.store, now=quoted_at,
                                      units=[(latte.station_id, small_prep, latte.prep_sd_seconds)] * 2)

    assert parse_datetime(body["asap_ready_at"]) == direct.ready_at


def test_asap_promise_includes_a_margin_from_the_prep_spread(menu, customer_a):
    steady, spread = menu["drip"], menu["latte"]
    steady.prep_sd_seconds = 0
    steady.save()
    spread.prep_sd_seconds = 40
    spread.save()
    now = timezone.now()
    no_spread = scheduling.kitchen_quote(store=steady.store, now=now, units=[(steady.station_id, 60, 0)])
    with_spread = scheduling.kitchen_quote(store=steady.store, now=now, units=[(steady.station_id, 60, 40)])
    assert no_spread.margin_s == 0
    # one item in an idle kitchen: its whole spread is the critical chain (safety_z x sd)
    assert with_spread.margin_s == pytest.approx(DEFAULT_PLANNER.safety_z * 40, abs=0.5)
    assert with_spread.ready_at > no_spread.ready_at


def test_fewer_lanes_move_ready_times_and_tell_the_customer(menu, customer_a, django_capture_on_commit_callbacks):
    orders = [place(menu, customer_a, quantity=3) for _ in range(4)]
    before = {o.pk: Order.objects.get(pk=o.pk).estimated_ready_at for o in orders}

    # From local midnight every day: one barista on the bar instead of two, now.
    with django_capture_on_commit_callbacks(execute=True):
        for weekday in range(7):
            StaffingPeriod.objects.create(station=menu["espresso"], weekday=weekday, starts=dt.time(0, 0), lanes=1)

    after = {o.pk: Order.objects.get(pk=o.pk).estimated_ready_at for o in orders}
    assert max(after.values()) > max(before.values())
    moved = OrderEvent.objects.filter(kind=OrderEvent.READY_TIME_CHANGED)
    assert moved.exists()
    assert all(event.data["to"] > event.data["from"] for event in moved)


def test_cancel_frees_capacity_for_the_next_quote(menu, customer_a):
    big = place(menu, customer_a, quantity=10)
    now = timezone.now()
    latte = menu["latte"]
    units = [(latte.station_id, latte.prep_seconds, latte.prep_sd_seconds)]
    busy = scheduling.kitchen_quote(store=latte.store, now=now, units=units).ready_at

    services.order_cancel(order=big, reason="test")
    free = scheduling.kitchen_quote(store=latte.store, now=now, units=units).ready_at

    assert free < busy


def test_a_full_kitchen_is_said_honestly(menu, customer_a, store):
    store.slot_capacity = 100
    store.save()
    for _ in range(8):
        place(menu, customer_a, quantity=10)
    quote = services.quote_for_cart(store_id=store.pk, requested_at=None,
                                    lines=[LineRequest(item_id=menu["latte"].pk, quantity=1)])
    # Forty minutes of lattes are queued on two lanes: the next one cannot be promised sooner.
    assert quote.asap_ready_at - quote.now > dt.timedelta(minutes=30)
    assert any(not slot.available and slot.reason for slot in quote.slots)
    first_offered = next(slot for slot in quote.slots if slot.available)
    assert first_offered.starts_at >= quote.asap_ready_at - dt.timedelta(minutes=store.slot_minutes)


def test_every_open_order_holds_its_place_in_the_kitchen_plan(menu, customer_a):
    """The re-plan writes each open order's place in the plan (its held plan); an order is booked
    where its quote put it, and the next re-plan starts from those places."""
    orders = [place(menu, customer_a, quantity=q) for q in (2, 1, 3)]
    ranks = [Order.objects.get(pk=o.pk).plan_rank for o in orders]
    assert sorted(ranks) == [0.0, 1.0, 2.0]

    store = menu["latte"].store
    now = timezone.now()
    state = scheduling.kitchen_state(store=store, now=now)
    held = dict(zip(state.arrays["item_order"].tolist(), state.arrays["item_held_rank"].tolist()))
    assert held == {o.pk: r for o, r in zip(orders, ranks)}

    latte = menu["latte"]
    quote = scheduling.kitchen_quote(store=store, now=now, units=[(latte.station_id, latte.prep_seconds, 0)],
                                     state=state)
    booked = place(menu, customer_a, quantity=1)
    # a single latte behind the queue: ranked among the held places, and every order renumbered 0..3
    assert quote.held_rank is not None
    assert sorted(Order.objects.filter(pk__in=[o.pk for o in [*orders, booked]])
                  .values_list("plan_rank", flat=True)) == [0.0, 1.0, 2.0, 3.0]



def test_the_kitchen_state_is_quoted_in_one_compiled_call(menu, customer_a):
    """Django's arrays are typed as the compiled layout takes them, so a quote skips the NumPy
    layout (`core_native.api.quote`'s fast path) and answers what the snapshot path answers."""
    from core_native import api as planner
    from core_native._kernel_args import typed_store_arrays

    place(menu, customer_a, quantity=3)
    store = menu["latte"].store
    state = scheduling.kitchen_state(store=store, now=timezone.now())
    n_stations = len(state.station_index)
    assert typed_store_arrays(**state.arrays, n_stations=n_stations) is not None
    new = dict(new_item_station=[0], new_item_prep_s=[60.0], new_item_prep_sd_s=[10.0], slot_first_start_s=600.0,
               slot_s=600.0, slot_capacity=5, slot_orders=[0, 2, 5])
    one_call = planner.quote(**state.arrays, n_stations=n_stations, **new)
    snapshot = planner.prepare_store(**state.arrays, n_stations=n_stations).quote(**new)
    assert (one_call.ready_s, one_call.held_rank) == (snapshot.ready_s, snapshot.held_rank)
    assert one_call.slot_status.tolist() == snapshot.slot_status.tolist()


def replan_writes(store, now) -> list[str]:
    """The UPDATE statements a re-plan of the store at `now` sends."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from stores.models import Store

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        scheduling.store_replan(store=Store.objects.select_for_update().get(pk=store.pk), now=now)
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_replan_writes_only_times_that_moved_noticeably(menu, customer_a):
    """As the clock runs on, waiting items' planned times creep: rows are rewritten only once a time moved
    by PLAN_WRITE_THRESHOLD_S, and what is written is the plan of that moment."""
    store = menu["latte"].store
    for quantity in (2, 1, 3):
        place(menu, customer_a, quantity)
    now = timezone.now()
    assert replan_writes(store, now) == []  # nothing moved since the last order's re-plan
    assert replan_writes(store, now + dt.timedelta(seconds=scheduling.PLAN_WRITE_THRESHOLD_S - 5)) == []

    later = now + dt.timedelta(seconds=10 * scheduling.PLAN_WRITE_THRESHOLD_S)
    writes = replan_writes(store, later)
    assert any('"fulfilment_orderline"' in sql for sql in writes)
    assert all(line.planned_start_at >= later - dt.timedelta(seconds=1)
               for line in OrderLine.objects.filter(order__store=store))  # nothing planned in the past


def test_ranks_are_renumbered_only_when_they_no_longer_give_the_plan_order(menu, customer_a):
    orders = [place(menu, customer_a, quantity=q) for q in (2, 1, 3)]
    store = menu["latte"].store
    # ranks that still give the plan's sequence are kept, whatever their values
    Order.objects.filter(pk=orders[1].pk).update(plan_rank=1.5)
    assert not [sql for sql in replan_writes(store, timezone.now()) if '"plan_rank"' in sql and "1.5" in sql]
    assert Order.objects.get(pk=orders[1].pk).plan_rank == 1.5
    # neighbours too close to book an order between them: renumbered 0, 1, 2
    Order.objects.filter(pk=orders[1].pk).update(plan_rank=2.0 - scheduling.MIN_RANK_GAP / 2)
    replan_writes(store, timezone.now())
    assert sorted(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("plan_rank", flat=True)) == [
        0.0, 1.0, 2.0]


def test_quote_and_order_carry_the_schedulers_window(api, api_as, menu, customer_a):
    latte = menu["latte"]
    latte.prep_sd_seconds = 40  # a spread, so the window is wider than the minimum
    latte.save()
    place(menu, customer_a, quantity=2)
    response = api.post(f"/api/stores/{latte.store_id}/quote/", {"items": [{"item": latte.pk, "quantity": 2}]},
                        format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    direct = scheduling.kitchen_quote(store=latte.store, now=parse_datetime(body["quoted_at"]),
                                      units=[(latte.station_id, latte.prep_seconds, latte.prep_sd_seconds)] * 2)
    start, end = scheduling.promised_window(direct.ready_at, direct.margin_s)
    assert (parse_datetime(body["asap_window_start"]), parse_datetime(body["asap_window_end"])) == (start, end)
    assert start < direct.ready_at <= end and start.second == end.second == 0
    judged = [slot for slot in body["slots"] if slot["window_start"]]
    assert judged, "the kitchen judged no slot of today"
    for slot in judged:
        assert parse_datetime(slot["window_start"]) <= parse_datetime(slot["ready_at"]) <= parse_datetime(
            slot["window_end"])

    order = place(menu, customer_a, quantity=2)
    assert order.promised_window_start <= order.promised_ready_at <= order.promised_window_end
    assert order.promised_window_end - order.promised_window_start >= dt.timedelta(minutes=1)
    shown = api_as(customer_a).get(f"/api/orders/{order.pk}/").json()
    assert parse_datetime(shown["promised_window_start"]) == order.promised_window_start
    assert parse_datetime(shown["promised_window_end"]) == order.promised_window_end


def test_a_replan_keeps_the_window_the_customer_was_given(menu, customer_a):
    first = place(menu, customer_a)
    window = (first.promised_window_start, first.promised_window_end)
    for _ in range(3):
        place(menu, customer_a, quantity=2)
    first.refresh_from_db()
    assert (first.promised_window_start, first.promised_window_end) == window
