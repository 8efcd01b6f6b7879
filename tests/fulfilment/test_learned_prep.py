"""Learned prep times in the app: the kitchen's bumps teach the store what its items really take (never-started
and left-on-screen items do not), and a quote and a placed order plan with what was learned."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core_native.learning import LearnedPrep, learned_update, pace_update, planned_prep
from fulfilment import services
from fulfilment.models import Channel
from fulfilment.services import LineRequest, kitchen_actions
from stores.config_cache import learned_prep_changed
from stores.models import LearnedPrepTime
from stores.selectors import item_prep_to_plan, store_daypart
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(menu, barista_store1):
    """place(latte=1, croissant=0, drip=0, large=False) -> a confirmed counter order."""
    def make(latte=1, croissant=0, drip=0, large=False, now=None):
        options = (menu["large"].pk,) if large else ()
        lines = [LineRequest(item_id=menu[item].pk, quantity=quantity, option_ids=options if item == "latte" else ())
                 for item, quantity in (("latte", latte), ("croissant", croissant), ("drip", drip)) if quantity]
        order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, lines=lines,
                                        placed_by=barista_store1, customer_name="Sam", now=now)
        return order
    return make


def start(store, menu, order, item, barista, at):
    line = order.lines.get(item=menu[item])
    kitchen_actions.kitchen_item_start(store_id=store.pk, station_id=line.station_id, order_id=order.pk,
                                       line_id=line.pk, actor=barista, now=at)
    return line


def bump(store, order, line, barista, at):
    kitchen_actions.kitchen_item_bump(store_id=store.pk, station_id=line.station_id, order_id=order.pk,
                                      line_id=line.pk, actor=barista, now=at)


def learned(item):
    return {(row.daypart, row.samples, round(row.mean_seconds, 3)) for row in LearnedPrepTime.objects.filter(item=item)}


def pace(station):
    return {(row.daypart, row.samples, round(row.mean_seconds, 3))
            for row in LearnedPrepTime.objects.filter(station=station, item__isnull=True)}


def test_a_started_and_bumped_item_is_learned_per_unit_and_in_its_daypart(store, menu, place, barista_store1):
    t0 = timezone.now()
    order = place(latte=2)
    line = start(store, menu, order, "latte", barista_store1, t0)
    bump(store, order, line, barista_store1, t0 + dt.timedelta(seconds=150))

    row = LearnedPrepTime.objects.get(item=menu["latte"])
    assert (row.station_id, row.daypart, row.samples) == (menu["espresso"].pk, store_daypart(store, t0), 1)
    assert row.mean_seconds == pytest.approx(75)  # 150 s for two lattes
    assert pace(menu["espresso"]) == {(store_daypart(store, t0), 1, 1.25)}  # 75 s against a configured 60 s
    assert pace(menu["oven"]) == set()


def test_the_options_extra_time_is_taken_off(store, menu, place, barista_store1):
    t0 = timezone.now()
    order = place(latte=1, large=True)  # a large latte is configured 10 s longer
    line = start(store, menu, order, "latte", barista_store1, t0)
    bump(store, order, line, barista_store1, t0 + dt.timedelta(seconds=100))
    assert learned(menu["latte"]) == {(store_daypart(store, t0), 1, 90.0)}


def test_never_started_and_left_on_screen_items_teach_nothing(store, menu, place, barista_store1):
    t0 = timezone.now()
    order = place(latte=1, croissant=1, drip=1)
    drip = start(store, menu, order, "drip", barista_store1, t0)  # 20 s configured
    bump(store, order, drip, barista_store1, t0 + dt.timedelta(minutes=30))  # left on the screen
    croissant = order.lines.get(item=menu["croissant"])
    bump(store, order, croissant, barista_store1, t0 + dt.timedelta(seconds=130))  # start never pressed
    latte = start(store, menu, order, "latte", barista_store1, t0)
    bump(store, order, latte, barista_store1, t0 + dt.timedelta(seconds=1))  # start and done at once

    assert LearnedPrepTime.objects.count() == 0
    croissant.refresh_from_db()
    assert croissant.done_at is not None  # the bumps themselves worked


def test_a_ticket_bump_learns_the_started_lines_and_the_expo_bump_none(store, menu, place, barista_store1):
    t0 = timezone.now()
    order = place(latte=1, drip=1)
    start(store, menu, order, "latte", barista_store1, t0)
    kitchen_actions.kitchen_ticket_bump(store_id=store.pk, station_id=menu["espresso"].pk, order_id=order.pk,
                                        actor=barista_store1, now=t0 + dt.timedelta(seconds=80))
    assert learned(menu["latte"]) == {(store_daypart(store, t0), 1, 80.0)}
    assert learned(menu["drip"]) == set()

    other = place(latte=1)
    start(store, menu, other, "latte", barista_store1, t0)
    kitchen_actions.kitchen_order_bump(store_id=store.pk, order_id=other.pk, actor=barista_store1,
                                       now=t0 + dt.timedelta(seconds=70))
    assert learned(menu["latte"]) == {(store_daypart(store, t0), 1, 80.0)}  # the handoff time is not a make


def test_successive_bumps_fold_in_as_the_estimator_does(store, menu, place, barista_store1):
    t0 = timezone.now()
    expected, expected_pace = LearnedPrep(), LearnedPrep()
    for took in (80, 95, 70, 600):  # 600 s: 10x a latte, left on the screen: dropped
        order = place(latte=1)
        line = start(store, menu, order, "latte", barista_store1, t0)
        bump(store, order, line, barista_store1, t0 + dt.timedelta(seconds=took))
        if took < 4 * 60:
            expected = learned_update(expected, took, 60, 12, pace=expected_pace)
            expected_pace = pace_update(expected_pace, took, 60)
    row = LearnedPrepTime.objects.get(item=menu["latte"])
    assert (row.samples, row.mean_seconds, row.variance_seconds2) == pytest.approx(
        (expected.n, expected.mean_s, expected.var_s2))
    station = LearnedPrepTime.objects.get(station=menu["espresso"], item__isnull=True)
    assert (station.samples, station.mean_seconds) == pytest.approx((expected_pace.n, expected_pace.mean_s))


def _teach(menu, item, daypart, samples=45, mean=90.0, variance=400.0, station=None):
    """A learned row written directly, as learned_prep_record would (which also tells every process's copy)."""
    row = LearnedPrepTime.objects.create(item=menu[item], station=station or menu[item].station, daypart=daypart,
                                         samples=samples, mean_seconds=mean, variance_seconds2=variance)
    learned_prep_changed(menu[item].store_id)
    return row


def test_a_placed_order_plans_with_the_learned_time(store, menu, place):
    now = timezone.now()
    _teach(menu, "latte", store_daypart(store, now))
    _teach(menu, "drip", (store_daypart(store, now) + 1) % 4)  # another daypart: not now's
    mean, sd = planned_prep(LearnedPrep(n=45, mean_s=90.0, var_s2=400.0), 60, 12)

    order = place(latte=1, drip=1, now=now)
    latte, drip = order.lines.get(item=menu["latte"]), order.lines.get(item=menu["drip"])
    assert (latte.prep_seconds, latte.prep_sd_seconds) == (round(mean), round(sd))
    assert (drip.prep_seconds, drip.prep_sd_seconds) == (20, 12)  # configured
    assert round(mean) == 87  # 45 samples of 90 s against a configured 60 s: 0.9 x 90 + 0.1 x 60

    large = place(latte=1, large=True, now=now).lines.get()
    assert large.prep_seconds == round(mean) + 10  # the option's extra time on top


def test_an_item_never_made_follows_its_stations_pace(store, menu, place):
    """Lattes took 1.5x their configured time 45 times: the drip coffee at the same bar, never made yet, is
    planned 1.5 x (shrunk toward 1 by 5 / 50) of its 20 s; the croissant at the oven is not."""
    now = timezone.now()
    LearnedPrepTime.objects.create(item=None, station=menu["espresso"], daypart=store_daypart(store, now),
                                   samples=45, mean_seconds=1.5, variance_seconds2=0.01)
    learned_prep_changed(store.pk)
    order = place(latte=0, drip=1, croissant=1, now=now)
    assert order.lines.get(item=menu["drip"]).prep_seconds == round(20 * (0.9 * 1.5 + 0.1))  # 29
    assert order.lines.get(item=menu["croissant"]).prep_seconds == 120


def test_a_learned_row_of_another_station_is_not_used(store, menu, place):
    now = timezone.now()
    _teach(menu, "latte", store_daypart(store, now), station=menu["oven"])  # the latte was made there once
    assert item_prep_to_plan(menu["latte"], now=now) == (60, 12)
    assert place(latte=1, now=now).lines.get().prep_seconds == 60


def test_the_quote_reads_learned_times_without_another_statement_until_the_kitchen_learns(
        api, store, menu, barista_store1, place, capsys):
    """The quote reads the process's copy of the learned times: no statement of its own, except the first
    quote after the kitchen learned something (one), which then sees it."""
    body = {"items": [{"item": menu["latte"].pk, "quantity": 2}, {"item": menu["croissant"].pk, "quantity": 1}],
            "pickup": "asap"}
    url = f"/api/stores/{store.pk}/quote/"

    def quoted():
        with CaptureQueriesContext(connection) as queries:
            response = api.post(url, body, format="json")
        assert response.status_code == 200, response.content
        return len(queries), response.json()["asap_ready_at"]

    quoted()  # warm the per-process caches (stations, hours) as a running server has them
    before, configured_ready = quoted()
    now = timezone.now()
    _teach(menu, "latte", store_daypart(store, now), samples=200, mean=240.0, variance=900.0)  # 4x slower
    first, learned_ready = quoted()
    after, _ = quoted()
    with capsys.disabled():
        print(f"\nquote statements: nothing learned {before}; learned: first quote after a bump {first}, "
              f"then {after}")
    assert (first, after) == (before + 1, before)
    assert learned_ready > configured_ready  # slower lattes: a later ASAP time

    order = place(latte=1)
    line = start(store, menu, order, "latte", barista_store1, now)
    bump(store, order, line, barista_store1, now + dt.timedelta(seconds=200))  # the kitchen learns: a new copy
    assert LearnedPrepTime.objects.get(item=menu["latte"]).samples == 201
    assert [quoted()[0], quoted()[0]] == [before + 1, before]


def test_item_prep_to_plan_reads_the_learned_times_once_per_change(store, menu, django_assert_num_queries):
    item = factories.MenuItemFactory(store=store, station=menu["espresso"], prep_seconds=45, prep_sd_seconds=0)
    with django_assert_num_queries(1):
        assert item_prep_to_plan(item, store=store) == (45, 0)
    with django_assert_num_queries(0):
        assert item_prep_to_plan(item, store=store) == (45, 0)
    LearnedPrepTime.objects.create(item=item, station=item.station, daypart=store_daypart(store, timezone.now()),
                                   samples=95, mean_seconds=65.0)
    learned_prep_changed(store.pk)
    store.refresh_from_db()  # a request reads the store's row, with its learned version, first
    with django_assert_num_queries(1):
        assert item_prep_to_plan(item, store=store) == (64, 3)  # 95 samples of 65 s; sd: the prior 11 s x sqrt(5 / 99)


def test_saving_the_store_row_does_not_bring_back_an_old_learned_version(store, menu):
    """An admin form holds the store as it was read; a bump changes the learned version since; the form's
    save must not write the old one back, or a process holding a copy under it would miss the bump."""
    held = type(store).objects.get(pk=store.pk)
    now = timezone.now()
    assert item_prep_to_plan(menu["latte"], store=held, now=now) == (60, 12)  # a copy under the held version
    _teach(menu, "latte", store_daypart(store, now))
    held.name = "Renamed"
    held.save()
    held.refresh_from_db()
    assert item_prep_to_plan(menu["latte"], store=held, now=now) == (87, 19)
