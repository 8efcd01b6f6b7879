"""Barista actions as fulfilment services: what each one changes, what it refuses, and that it re-plans."""

import threading

import pytest
from django.db import connection

from fulfilment import services
from fulfilment.models import Channel, Order, OrderEvent, OrderStatus, StoreEvent
from fulfilment.services import LineRequest, kitchen_actions
from orderahead.errors import Conflict, DomainError, NotFound
from stores.models import MenuItem

S = OrderStatus


@pytest.mark.django_db
def test_bumping_the_last_item_makes_the_order_ready(store, menu, counter_order, barista_store1):
    order = counter_order(latte=1, croissant=1)
    latte, croissant = order.lines.get(item=menu["latte"]), order.lines.get(item=menu["croissant"])
    kitchen_actions.kitchen_item_start(store_id=store.pk, station_id=menu["espresso"].pk, order_id=order.pk,
                               line_id=latte.pk, actor=barista_store1)
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS
    kitchen_actions.kitchen_item_bump(store_id=store.pk, station_id=menu["espresso"].pk, order_id=order.pk,
                              line_id=latte.pk, actor=barista_store1)
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS
    kitchen_actions.kitchen_item_bump(store_id=store.pk, station_id=menu["oven"].pk, order_id=order.pk,
                              line_id=croissant.pk, actor=barista_store1)
    order.refresh_from_db()
    assert order.status == S.READY and order.ready_at is not None
    history = list(order.events.filter(kind=OrderEvent.STATUS_CHANGED).values_list("to_status", "actor__username"))
    assert history == [(S.IN_PROGRESS, "barista1"), (S.READY, "barista1")]
    assert order.lines.filter(done_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_recall_from_a_station_brings_back_only_its_items(store, menu, counter_order, barista_store1):
    order = counter_order(latte=1, croissant=1)
    kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=order.pk, actor=barista_store1)
    kitchen_actions.kitchen_order_recall(store_id=store.pk, order_id=order.pk, station_id=menu["oven"].pk,
                                 actor=barista_store1)
    order.refresh_from_db()
    assert order.status == S.IN_PROGRESS
    assert list(order.lines.filter(done_at__isnull=True).values_list("item__name", flat=True)) == ["Croissant"]
    assert order.events.filter(to_status=S.IN_PROGRESS, data__recall=True).exists()


@pytest.mark.django_db
def test_refusals_change_nothing(store, menu, counter_order, barista_store1, manager_store2, customer_a):
    order = counter_order(latte=1, croissant=1)
    latte = order.lines.get(item=menu["latte"])
    head = StoreEvent.objects.filter(store=store).count()
    refusals = [
        (DomainError, "not_staff", lambda: kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=order.pk,
                                                                      actor=manager_store2)),
        (DomainError, "not_staff", lambda: kitchen_actions.kitchen_item_86(store_id=store.pk, item_id=menu["drip"].pk,
                                                                   actor=customer_a)),
        (Conflict, "other_station", lambda: kitchen_actions.kitchen_item_bump(
            store_id=store.pk, station_id=menu["oven"].pk, order_id=order.pk, line_id=latte.pk,
            actor=barista_store1)),
        (NotFound, "unknown_station", lambda: kitchen_actions.kitchen_ticket_bump(
            store_id=store.pk, station_id=10**9, order_id=order.pk, actor=barista_store1)),
        (DomainError, "invalid", lambda: kitchen_actions.kitchen_delay_report(
            store_id=store.pk, order_id=order.pk, minutes=61, actor=barista_store1)),
        (Conflict, "nothing_to_recall", lambda: kitchen_actions.kitchen_order_recall(
            store_id=store.pk, order_id=order.pk, actor=barista_store1)),
    ]
    for error_type, code, call in refusals:
        with pytest.raises(error_type) as caught:
            call()
        assert caught.value.code == code
    services.order_cancel(order=order, actor=barista_store1, reason="test")
    head = StoreEvent.objects.filter(store=store).count()
    for call in (lambda: kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=order.pk, actor=barista_store1),
                 lambda: kitchen_actions.kitchen_item_start(store_id=store.pk, station_id=menu["espresso"].pk,
                                                    order_id=order.pk, line_id=latte.pk, actor=barista_store1),
                 lambda: kitchen_actions.kitchen_order_recall(store_id=store.pk, order_id=order.pk, actor=barista_store1)):
        with pytest.raises(Conflict, match="was cancelled"):
            call()
    assert StoreEvent.objects.filter(store=store).count() == head
    assert not order.lines.filter(started_at__isnull=False).exists()
    assert not MenuItem.objects.get(pk=menu["drip"].pk).eighty_sixed


@pytest.mark.django_db
def test_an_order_awaiting_payment_is_not_made(store, menu, customer_a, barista_store1, monkeypatch):
    from fulfilment.services import orders as order_services

    monkeypatch.setattr(order_services, "payment_authorise", lambda *, order, **_: order)
    order, _ = services.order_place(store_id=store.pk, channel=Channel.MOBILE, customer=customer_a,
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)])
    with pytest.raises(Conflict, match="not paid yet"):
        kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=order.pk, actor=barista_store1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_actions_racing_orders_keep_the_numbers_gapless_and_never_deadlock(store, menu, counter_order,
                                                                           barista_store1):
    """Baristas bump while orders come in and customers cancel, all at once: every writer locks the store
    row first, so nobody waits in a cycle, and the store's numbers come out 1..n, each once."""
    orders = [counter_order(latte=1, croissant=0) for _ in range(6)]
    barrier = threading.Barrier(12)
    errors = []

    def run(call):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            call()
        except Conflict:
            pass  # a clear refusal (say, bumping what another barista just cancelled) is fine
        except BaseException as error:  # noqa: BLE001
            errors.append(repr(error))
        finally:
            connection.close()

    calls = [lambda o=o: kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=o.pk, actor=barista_store1)
             for o in orders[:3]]
    calls += [lambda o=o: services.order_cancel(order=o, actor=barista_store1) for o in orders[3:]]
    calls += [lambda: counter_order(latte=1, croissant=0) for _ in range(4)]
    calls += [lambda: kitchen_actions.kitchen_item_86(store_id=store.pk, item_id=menu["croissant"].pk, actor=barista_store1),
              lambda: kitchen_actions.kitchen_delay_report(store_id=store.pk, order_id=orders[0].pk, minutes=2,
                                                   actor=barista_store1)]
    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    numbers = list(StoreEvent.objects.filter(store=store).order_by("seq").values_list("seq", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))
    assert Order.objects.filter(store=store).count() == 10
