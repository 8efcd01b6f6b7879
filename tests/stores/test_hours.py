"""Opening hours and staffing turn local wall-clock settings into the right absolute times."""

import datetime as dt
import zoneinfo

import pytest

from stores import hours
from stores.models import OpeningHours, StaffingPeriod
from tests import factories

pytestmark = pytest.mark.django_db
LA = zoneinfo.ZoneInfo("America/Los_Angeles")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LA)


@pytest.fixture
def cafe():
    store = factories.StoreFactory(timezone="America/Los_Angeles")
    for weekday in range(5):
        OpeningHours.objects.create(store=store, weekday=weekday, opens=dt.time(6), closes=dt.time(20))
    OpeningHours.objects.create(store=store, weekday=5, opens=dt.time(7), closes=dt.time(12))
    OpeningHours.objects.create(store=store, weekday=5, opens=dt.time(13), closes=dt.time(18))
    return store


def test_open_and_closed_in_local_time(cafe):
    monday_morning = local(2026, 11, 23, 6, 30)
    assert hours.period_containing(cafe, monday_morning) == (local(2026, 11, 23, 6), local(2026, 11, 23, 20))
    assert hours.period_containing(cafe, local(2026, 11, 23, 5, 59)) is None
    assert hours.period_containing(cafe, local(2026, 11, 23, 20, 0)) is None  # closing time is closed


def test_split_day_and_sunday_closed(cafe):
    assert hours.period_containing(cafe, local(2026, 11, 28, 12, 30)) is None  # Saturday lunch break
    assert hours.period_containing(cafe, local(2026, 11, 28, 13, 0)) is not None
    assert hours.period_containing(cafe, local(2026, 11, 29, 10, 0)) is None  # Sunday
    assert hours.next_opening(cafe, local(2026, 11, 29, 10, 0)) == local(2026, 11, 30, 6)


def test_opening_follows_daylight_saving_change(cafe):
    # US clocks went back on 2026-11-01: 06:00 PDT is 13:00 UTC, 06:00 PST is 14:00 UTC.
    before = hours.period_containing(cafe, local(2026, 10, 30, 7))[0]
    after = hours.period_containing(cafe, local(2026, 11, 2, 7))[0]
    assert before.astimezone(dt.UTC).hour == 13
    assert after.astimezone(dt.UTC).hour == 14


def test_lane_segments_follow_staffing_over_the_day(cafe):
    bar = factories.StationFactory(store=cafe, default_lanes=1)
    for weekday in range(7):
        StaffingPeriod.objects.create(station=bar, weekday=weekday, starts=dt.time(6), lanes=2)
        StaffingPeriod.objects.create(station=bar, weekday=weekday, starts=dt.time(7, 30), lanes=4)
        StaffingPeriod.objects.create(station=bar, weekday=weekday, starts=dt.time(10), lanes=2)

    segments = hours.lane_segments(bar, local(2026, 11, 23, 7), local(2026, 11, 23, 11))

    assert segments == [(local(2026, 11, 23, 7), 2), (local(2026, 11, 23, 7, 30), 4), (local(2026, 11, 23, 10), 2)]


def test_lane_segments_without_staffing_use_default(cafe):
    bar = factories.StationFactory(store=cafe, default_lanes=3)
    start = local(2026, 11, 23, 9)
    assert hours.lane_segments(bar, start, start + dt.timedelta(hours=2)) == [(start, 3)]
