"""The store cards' ASAP wait: the scheduler's quote for one typical drink, null when closed or paused,
kept for 30 seconds."""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfilment.selectors import ASAP_WAIT_CACHE_SECONDS, store_asap_waits
from stores.models import MenuItem
from tests import factories

pytestmark = pytest.mark.django_db


def wait(api, store):
    response = api.get("/api/stores/")
    assert response.status_code == 200
    return next(s for s in response.json() if s["id"] == store.pk)["asap_wait_minutes"]


def backlog(api_as, barista, store, menu, lattes=30):
    for _ in range(lattes // 10):  # 30 lattes: 30 minutes of espresso-bar work on 2 lanes
        response = api_as(barista).post(f"/api/stores/{store.pk}/orders/",
                                        {"channel": "counter", "items": [{"item": menu["latte"].pk, "quantity": 10}]},
                                        format="json", **factories.checkout_key())
        assert response.status_code == 201, response.json()


def test_an_idle_open_store_waits_a_minute_or_two(api, store, menu):
    assert wait(api, store) in (1, 2)
    assert api.get(f"/api/stores/{store.pk}/").json()["asap_wait_minutes"] in (1, 2)


def test_the_wait_grows_with_the_kitchens_queue_once_the_cached_figure_expires(api, api_as, barista_store1,
                                                                               store, menu):
    idle = wait(api, store)
    backlog(api_as, barista_store1, store, menu)

    assert wait(api, store) == idle  # the figure of the last 30 seconds
    cache.clear()  # as if 30 seconds had passed
    assert wait(api, store) >= idle + 13


def test_the_wait_is_for_the_first_drink_on_the_menu_that_can_be_had(api, api_as, barista_store1, store, menu):
    """A croissant (oven) waits on nothing while the espresso bar is busy; when the coffees run out the
    typical item is the croissant."""
    backlog(api_as, barista_store1, store, menu)
    MenuItem.objects.filter(pk__in=[menu["drip"].pk, menu["latte"].pk]).update(eighty_sixed=True)

    assert wait(api, store) in (2, 3)  # 120 s in the oven, plus the handoff


def test_no_wait_while_closed_paused_or_with_nothing_to_sell(api, store, menu):
    factories.set_hours(store, (dt.time(6), dt.time(10)))
    assert wait(api, store) is None

    cache.clear()
    factories.set_hours(store, (dt.time(0), dt.time(23, 59)))
    store.mobile_paused = True
    store.save()
    assert wait(api, store) is None

    cache.clear()
    store.mobile_paused = False
    store.save()
    MenuItem.objects.filter(store=store).update(is_active=False)
    assert wait(api, store) is None


def test_the_figures_are_kept_for_30_seconds_so_a_busy_list_runs_no_plan(api, store, store2, menu):
    factories.coffee_menu(store2)
    stores = [store, store2]
    first = store_asap_waits(stores=stores)

    with CaptureQueriesContext(connection) as queries:
        again = store_asap_waits(stores=stores)

    assert ASAP_WAIT_CACHE_SECONDS == 30
    assert again == first and len(queries) == 0
