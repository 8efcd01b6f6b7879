"""Stations, staffing, opening hours and the payment policy are read once per change of the store
(stores.config_cache), and every change, in any process, is seen by the next quote and order."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfilment.models import StorePaymentPolicy
from fulfilment.services.cart import LineRequest
from fulfilment.services.payments import payment_policy_for
from fulfilment.services.quotes import quote_for_cart
from fulfilment.services.scheduling import kitchen_state
from stores.models import OpeningHours, StaffingPeriod, Store
from tests.factories import coffee_menu, open_store

pytestmark = pytest.mark.django_db


def quote(store, menu):
    return quote_for_cart(store_id=store.pk, lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)],
                          requested_at=None)


def tables_read(store, menu) -> set[str]:
    with CaptureQueriesContext(connection) as queries:
        quote(store, menu)
    return {table for q in queries.captured_queries for table in
            ("stores_station", "stores_staffingperiod", "stores_openinghours") if f'FROM "{table}"' in q["sql"]}


def lanes_now(store) -> int:
    store.refresh_from_db()
    state = kitchen_state(store=store, now=timezone.now())
    return int(state.arrays["segment_lanes"][state.arrays["segment_start_s"] == 0.0].sum())


def test_a_second_quote_reads_no_station_staffing_or_hours():
    store = open_store()
    menu = coffee_menu(store)
    assert tables_read(store, menu) == {"stores_station", "stores_staffingperiod", "stores_openinghours"}
    assert tables_read(store, menu) == set()


def test_a_staffing_change_is_seen_by_the_next_plan():
    store = open_store()
    coffee_menu(store)  # espresso 2 lanes, oven 1, by default
    assert lanes_now(store) == 3
    station = store.stations.get(name="espresso")
    periods = [StaffingPeriod.objects.create(station=station, weekday=weekday, starts=dt.time(0, 0), lanes=5)
               for weekday in range(7)]
    assert lanes_now(store) == 6
    for period in periods:
        period.lanes = 1
        period.save()
    assert lanes_now(store) == 2


def test_closing_the_store_is_seen_by_the_next_quote():
    store = open_store()
    menu = coffee_menu(store)
    assert quote(store, menu).asap_ready_at is not None
    OpeningHours.objects.filter(store=store).delete()  # a queryset delete sends each row's post_delete
    closed = quote(store, menu)
    assert closed.asap_ready_at is None and "closed" in closed.asap_reason.lower()


def test_a_new_payment_policy_is_seen_at_once():
    store = open_store()
    assert payment_policy_for(store=store).no_show_after_minutes == 60  # the defaults: no row yet
    StorePaymentPolicy.objects.create(store=store, no_show_after_minutes=15)
    store.refresh_from_db()
    assert payment_policy_for(store=store).no_show_after_minutes == 15


def test_a_stale_store_row_never_gets_newer_data_under_its_old_version():
    store = open_store()
    coffee_menu(store)
    stale = Store.objects.get(pk=store.pk)
    assert lanes_now(store) == 3
    station = store.stations.get(name="oven")
    station.default_lanes = 3
    station.save()
    assert stale.config_version != Store.objects.get(pk=store.pk).config_version
    assert lanes_now(store) == 5
