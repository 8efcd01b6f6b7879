"""The order's life at the service level: legal moves are recorded, illegal ones change nothing.

Orders are placed through `order_place` (a counter order enters `confirmed`); to start from
`pending_payment` the demo payment is held back for that test.
"""

import datetime as dt
import itertools

import pytest
from django.db import OperationalError

from fulfilment import services
from fulfilment.models import Channel, Order, OrderEvent, OrderStatus
from fulfilment.services import LineRequest
from fulfilment.services import orders as order_services
from fulfilment.services.lifecycle import register_effect, unregister_effect
from orderahead.errors import Conflict
from stores.models import MenuItem

pytestmark = pytest.mark.django_db

S = OrderStatus
LEGAL = {
    (S.PENDING_PAYMENT, S.CONFIRMED), (S.PENDING_PAYMENT, S.CANCELLED),
    (S.CONFIRMED, S.IN_PROGRESS), (S.CONFIRMED, S.READY), (S.CONFIRMED, S.CANCELLED),
    (S.IN_PROGRESS, S.READY), (S.IN_PROGRESS, S.CANCELLED),
    (S.READY, S.PICKED_UP), (S.READY, S.NO_SHOW), (S.READY, S.IN_PROGRESS), (S.READY, S.CANCELLED),
}
ILLEGAL = sorted(set(itertools.product(S.values, S.values)) - LEGAL)
TERMINAL = [S.PICKED_UP, S.CANCELLED, S.NO_SHOW]
# How to reach each state from `confirmed` (pending_payment is placed directly).
PATH = {S.PENDING_PAYMENT: [], S.CONFIRMED: [], S.IN_PROGRESS: [S.IN_PROGRESS], S.READY: [S.READY],
        S.PICKED_UP: [S.READY, S.PICKED_UP], S.NO_SHOW: [S.READY, S.NO_SHOW], S.CANCELLED: [S.CANCELLED]}


@pytest.fixture
def place(menu, customer_a, barista_store1, monkeypatch):
    """place(status) -> an order for 2 croissants (stock 5 -> 3) in that state, its history so far."""
    def make(status: str = S.CONFIRMED) -> Order:
        lines = [LineRequest(item_id=menu["croissant"].pk, quantity=2),
                 LineRequest(item_id=menu["latte"].pk, quantity=1, option_ids=(menu["large"].pk,))]
        if status == S.PENDING_PAYMENT:
            with monkeypatch.context() as patch:  # the payment has not come through yet
                patch.setattr(order_services, "payment_authorise", lambda *, order, **_: order)
                order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.MOBILE,
                                                lines=lines, customer=customer_a)
        else:
            order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, lines=lines,
                                            placed_by=barista_store1)
        for step in PATH[status]:
            services.order_transition(order=order, to_status=step, actor=barista_store1)
        assert order.status == status
        return order
    return make


def stock(menu) -> int:
    return MenuItem.objects.get(pk=menu["croissant"].pk).stock_count


def history(order) -> list[tuple[str, str, str]]:
    return list(OrderEvent.objects.filter(order=order).order_by("at", "id")
                .values_list("kind", "from_status", "to_status"))


def test_mobile_order_is_created_awaiting_payment_then_confirmed_by_the_payment(menu, customer_a):
    order, created = services.order_place(store_id=menu["latte"].store_id, channel=Channel.MOBILE,
                                          lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)],
                                          customer=customer_a)

    assert created and order.status == S.CONFIRMED and order.confirmed_at is not None
    assert history(order) == [(OrderEvent.CREATED, "", S.PENDING_PAYMENT),
                              (OrderEvent.STATUS_CHANGED, S.PENDING_PAYMENT, S.CONFIRMED)]
    created_event = order.events.get(kind=OrderEvent.CREATED)
    assert created_event.actor == customer_a
    assert order.events.get(kind=OrderEvent.STATUS_CHANGED).data["payment"]["provider"] == "demo"


def test_counter_order_enters_confirmed_with_the_staff_member_as_actor(place, barista_store1):
    order = place(S.CONFIRMED)

    assert order.confirmed_at is not None and order.placed_by == barista_store1
    assert history(order) == [(OrderEvent.CREATED, "", S.CONFIRMED)]
    assert order.events.get().actor == barista_store1


@pytest.mark.parametrize("from_status, to_status", sorted(LEGAL), ids=lambda s: str(s))
def test_every_legal_transition_is_recorded_with_from_to_and_actor(place, barista_store1, from_status, to_status):
    order = place(from_status)
    events_before = order.events.count()

    services.order_transition(order=order, to_status=to_status, actor=barista_store1)

    order.refresh_from_db()
    assert order.status == to_status
    assert order.events.count() == events_before + 1
    event = order.events.order_by("-id").first()
    assert (event.kind, event.from_status, event.to_status, event.actor) == (
        OrderEvent.STATUS_CHANGED, from_status, to_status, barista_store1)


@pytest.mark.parametrize("from_status, to_status", ILLEGAL, ids=lambda s: str(s))
def test_every_illegal_transition_is_a_conflict_and_changes_nothing(place, barista_store1, menu,
                                                                    from_status, to_status):
    order = place(from_status)
    before = Order.objects.filter(pk=order.pk).values().get()
    events_before, stock_before = history(order), stock(menu)

    with pytest.raises(Conflict) as refused:
        services.order_transition(order=order, to_status=to_status, actor=barista_store1)

    assert refused.value.status == 409 and refused.value.code == "illegal_transition"
    assert f"cannot become {S(to_status).label.lower()}" in refused.value.message
    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert history(order) == events_before
    assert stock(menu) == stock_before


@pytest.mark.parametrize("terminal", TERMINAL)
def test_no_transition_leaves_a_terminal_state(place, barista_store1, terminal):
    order = place(terminal)

    for to_status in S.values:
        with pytest.raises(Conflict):
            services.order_transition(order=order, to_status=to_status, actor=barista_store1)

    order.refresh_from_db()
    assert order.status == terminal


def test_named_services_walk_the_happy_path_with_timestamps(place, barista_store1):
    order = place(S.CONFIRMED)

    services.order_start(order=order, actor=barista_store1)
    services.order_mark_ready(order=order, actor=barista_store1)
    services.order_recall(order=order, actor=barista_store1)
    services.order_mark_ready(order=order, actor=barista_store1)
    services.order_pick_up(order=order, actor=barista_store1)

    order.refresh_from_db()
    assert order.status == S.PICKED_UP and order.ready_at is not None and order.picked_up_at is not None
    assert [(f, t) for _, f, t in history(order)[1:]] == [
        (S.CONFIRMED, S.IN_PROGRESS), (S.IN_PROGRESS, S.READY), (S.READY, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.READY), (S.READY, S.PICKED_UP)]
    assert order.events.get(from_status=S.READY, to_status=S.IN_PROGRESS).data == {"recall": True}


def test_no_show_keeps_the_stock_it_used(place, barista_store1, menu):
    order = place(S.READY)

    services.order_mark_no_show(order=order, actor=barista_store1)

    assert stock(menu) == 3


# --- Cancelling ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("from_status", [S.PENDING_PAYMENT, S.CONFIRMED, S.IN_PROGRESS, S.READY])
def test_cancel_releases_the_stock_and_records_the_reason(place, barista_store1, menu, from_status):
    order = place(from_status)
    assert stock(menu) == 3

    services.order_cancel(order=order, actor=barista_store1, reason="Customer left")

    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.cancelled_at is not None
    assert order.cancel_reason == "Customer left"
    assert stock(menu) == 5
    event = order.events.order_by("-id").first()
    assert (event.from_status, event.to_status, event.actor, event.data) == (
        from_status, S.CANCELLED, barista_store1, {"reason": "Customer left"})


def test_cancelling_twice_does_not_release_the_stock_twice(place, barista_store1, menu):
    order = place(S.CONFIRMED)
    services.order_cancel(order=order, actor=barista_store1)

    with pytest.raises(Conflict):
        services.order_cancel(order=order, actor=barista_store1)

    assert stock(menu) == 5
    assert order.events.filter(to_status=S.CANCELLED).count() == 1


def test_cancel_works_from_a_stale_copy_of_the_order(place, barista_store1, menu):
    """The check uses the state in the database, not the caller's copy."""
    order = place(S.CONFIRMED)
    stale = Order.objects.get(pk=order.pk)
    services.order_pick_up(order=services.order_mark_ready(order=order, actor=barista_store1), actor=barista_store1)

    with pytest.raises(Conflict):
        services.order_cancel(order=stale, actor=barista_store1)

    assert Order.objects.get(pk=order.pk).status == S.PICKED_UP
    assert stock(menu) == 3


@pytest.mark.parametrize("from_status", [S.PENDING_PAYMENT, S.CONFIRMED])
def test_customer_may_cancel_before_the_kitchen_starts(place, customer_a, menu, from_status):
    order = place(from_status)

    services.order_cancel_by_customer(order=order, customer=customer_a)

    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.cancel_reason == "Cancelled by customer"
    assert order.events.order_by("-id").first().actor == customer_a
    assert stock(menu) == 5


@pytest.mark.parametrize("from_status", [S.IN_PROGRESS, S.READY])
def test_customer_may_not_cancel_once_the_kitchen_started(place, customer_a, menu, from_status):
    order = place(from_status)
    events_before = history(order)

    with pytest.raises(Conflict) as refused:
        services.order_cancel_by_customer(order=order, customer=customer_a)

    assert refused.value.code == "too_late" and "please ask at the counter" in refused.value.message
    order.refresh_from_db()
    assert order.status == from_status and history(order) == events_before
    assert stock(menu) == 3


@pytest.mark.parametrize("terminal", TERMINAL)
def test_customer_cancel_of_a_finished_order_is_refused(place, customer_a, terminal):
    order = place(terminal)

    with pytest.raises(Conflict):
        services.order_cancel_by_customer(order=order, customer=customer_a)

    assert Order.objects.get(pk=order.pk).status == terminal


def test_customer_cancel_through_the_api_after_start_is_409(place, api_as, customer_a, barista_store1, menu):
    order = place(S.PENDING_PAYMENT)
    services.order_confirm(order=order, actor=None)
    services.order_start(order=order, actor=barista_store1)

    response = api_as(customer_a).post(f"/api/orders/{order.pk}/cancel/")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_late"
    assert Order.objects.get(pk=order.pk).status == S.IN_PROGRESS
    assert stock(menu) == 3


def test_customer_cancel_through_the_api_releases_stock(place, api_as, customer_a, menu):
    order = place(S.PENDING_PAYMENT)

    response = api_as(customer_a).post(f"/api/orders/{order.pk}/cancel/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "cancelled" and body["cancel_reason"] == "Cancelled by customer"
    assert body["events"][-1]["from_status"] == "pending_payment" and body["events"][-1]["to_status"] == "cancelled"
    assert stock(menu) == 5


def test_customer_cancel_sent_again_answers_200_with_the_cancelled_order(place, api_as, customer_a, menu):
    """A cancel retried because its first answer was lost must not hear "too late": it asked for this."""
    order = place(S.PENDING_PAYMENT)
    first = api_as(customer_a).post(f"/api/orders/{order.pk}/cancel/")

    again = api_as(customer_a).post(f"/api/orders/{order.pk}/cancel/")

    assert first.status_code == 200 and again.status_code == 200, again.json()
    assert again.json()["status"] == "cancelled"
    assert stock(menu) == 5
    assert order.events.filter(to_status=S.CANCELLED).count() == 1

def test_an_effect_failing_after_the_commit_is_logged_and_the_move_stands(place, barista_store1,
                                                                          django_capture_on_commit_callbacks):
    """An effect that fails after the commit (its database connection dropped) is logged; the caller is not
    told the committed move failed (that was a 500 for a cancel that had gone through)."""
    order = place(S.CONFIRMED)

    def connection_dropped(change):
        raise OperationalError("terminating connection due to administrator command")

    register_effect(connection_dropped, to=S.CANCELLED)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.order_cancel(order=order, actor=barista_store1)
    finally:
        unregister_effect(connection_dropped)

    assert Order.objects.get(pk=order.pk).status == S.CANCELLED

def test_transition_timestamp_uses_the_given_now(place, barista_store1):
    order = place(S.CONFIRMED)
    at = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

    services.order_transition(order=order, to_status=S.READY, actor=barista_store1, now=at)

    assert Order.objects.get(pk=order.pk).ready_at == at


def test_a_payment_confirming_an_order_does_not_replan_the_store(place, barista_store1, monkeypatch):
    """The plan already places an order awaiting payment: confirming it changes nothing the plan reads, so
    the store is not re-planned (a counter order's moves, which do change the queue, still are)."""
    from fulfilment.services import lifecycle

    pending = place(S.PENDING_PAYMENT)
    planned = list(pending.lines.values_list("planned_lane", "planned_start_at", "planned_finish_at"))
    replans = []
    monkeypatch.setattr(lifecycle, "store_replan", lambda **kwargs: replans.append(kwargs))

    services.order_confirm(order=pending)
    assert replans == []
    assert list(pending.lines.values_list("planned_lane", "planned_start_at", "planned_finish_at")) == planned

    services.order_mark_ready(order=pending, actor=barista_store1)
    assert len(replans) == 1
