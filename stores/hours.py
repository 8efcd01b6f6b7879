"""Opening hours and staffing in a store's local time, turned into absolute (UTC) intervals.

The scheduler and the quote work in absolute time; people set hours in local wall-clock time.
Converting here, per local date, keeps daylight-saving changes right.
"""

import datetime as dt
from dataclasses import dataclass

from stores.config_cache import store_opening_hours
from stores.models import OpeningHours, StaffingPeriod, Station, Store


def _local_dates(store: Store, start: dt.datetime, end: dt.datetime):
    day = start.astimezone(store.tz).date() - dt.timedelta(days=1)
    last = end.astimezone(store.tz).date()
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _at(store: Store, day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=store.tz).astimezone(dt.UTC)


def open_periods(store: Store, start: dt.datetime, end: dt.datetime,
                 hours: list[OpeningHours] | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    """Opening periods overlapping [start, end), as UTC (opens, closes) pairs in time order."""
    hours = store_opening_hours(store) if hours is None else hours
    periods = []
    for day in _local_dates(store, start, end):
        for h in hours:
            if h.weekday != day.weekday():
                continue
            opens, closes = _at(store, day, h.opens), _at(store, day, h.closes)
            if closes > start and opens < end:
                periods.append((opens, closes))
    return sorted(periods)


def period_containing(store: Store, when: dt.datetime,
                      hours: list[OpeningHours] | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """The opening period `when` falls in (closing time excluded), or None when closed."""
    for opens, closes in open_periods(store, when, when + dt.timedelta(seconds=1), hours):
        if opens <= when < closes:
            return opens, closes
    return None


def next_opening(store: Store, after: dt.datetime, days: int = 8) -> dt.datetime | None:
    for opens, _ in open_periods(store, after, after + dt.timedelta(days=days)):
        if opens >= after:
            return opens
    return None


def _period_starts(periods: list[StaffingPeriod], days, at) -> list[tuple]:
    """(when, lanes) of every period on each of `days` (dates), `at(day, starts)` placing it on a clock,
    in time order."""
    return sorted((at(day, p.starts), p.lanes) for day in days for p in periods if p.weekday == day.weekday())


def _carried_lanes(changes: list[tuple], start, end, lanes_before: int) -> list[tuple]:
    """The staffing rule, on any clock: [(start, lanes then)] + each change in (start, end).

    `changes` are (when a period starts, its lanes) in time order, from at least a week before `start`.
    The lanes at `start` are those of the last period started at or before it: a shift set at 06:00 lasts
    until the next one, overnight and over days without periods. `lanes_before`: with no such period.
    """
    lanes_now = lanes_before
    later = []
    for at, lanes in changes:
        if at <= start:
            lanes_now = lanes
        elif at < end:
            later.append((at, lanes))
    return [(start, lanes_now)] + later


def lane_segments(station: Station, start: dt.datetime, end: dt.datetime,
                  periods: list[StaffingPeriod] | None = None) -> list[tuple[dt.datetime, int]]:
    """Piecewise-constant lane counts over [start, end): [(from, lanes), ...], first one at `start`.

    Before the first staffing period of a day the previous period carries on (_carried_lanes); with no
    periods at all, `default_lanes`.
    """
    periods = list(station.staffing.all()) if periods is None else periods
    if not periods:
        return [(start, station.default_lanes)]
    store = station.store
    changes = _period_starts(periods, _local_dates(store, start - dt.timedelta(days=7), end),
                             lambda day, time: _at(store, day, time))
    return _carried_lanes(changes, start, end, station.default_lanes)


# Any Monday: staffing_week lays the weekly periods on two weeks of naive wall-clock time from here.
_A_MONDAY = dt.date(2024, 1, 1)


def staffing_week(station: Station, periods: list[StaffingPeriod] | None = None) -> list[list[tuple[dt.time, int]]]:
    """Lanes over each local weekday (Monday first) as [(from, lanes), ...], the first one at 00:00: the
    week that lane_segments plans with, for people to read, by the same rule (_carried_lanes): a day starts
    with the lanes of the last period before it, from earlier in the week or, wrapping round, the week
    before; no periods: default_lanes. Wall-clock times, so no daylight-saving shift; a period that repeats
    the lanes already running is left out (nothing changes)."""
    periods = list(station.staffing.all()) if periods is None else periods
    days = [_A_MONDAY + dt.timedelta(days=n) for n in range(-7, 7)]  # last week, for the carry-over, and this
    changes = _period_starts(periods, days, dt.datetime.combine)
    week = []
    for weekday in range(7):
        midnight = dt.datetime.combine(_A_MONDAY + dt.timedelta(days=weekday), dt.time(0))
        day = []
        for at, lanes in _carried_lanes(changes, midnight, midnight + dt.timedelta(days=1), station.default_lanes):
            if not day or day[-1][1] != lanes:
                day.append((at.time(), lanes))
        week.append(day)
    return week


@dataclass(frozen=True)
class OpenState:
    """Whether a store is open at a moment, for a store card."""
    open_now: bool
    opens_at: dt.datetime | None    # closed: when it next opens (None: not in the coming week)
    closes_at: dt.datetime | None   # open: when the current opening ends (back-to-back periods run on)
    today_hours: list[tuple[dt.time, dt.time]]  # today's periods, local (opens, closes)


def open_state(store: Store, now: dt.datetime, hours: list[OpeningHours] | None = None) -> OpenState:
    hours = store_opening_hours(store) if hours is None else hours
    today = now.astimezone(store.tz).date()
    today_hours = sorted((h.opens, h.closes) for h in hours if h.weekday == today.weekday())
    periods = open_periods(store, now, now + dt.timedelta(days=8), hours)
    current = next(((opens, closes) for opens, closes in periods if opens <= now < closes), None)
    if current is None:
        return OpenState(open_now=False, opens_at=next((opens for opens, _ in periods if opens >= now), None),
                         closes_at=None, today_hours=today_hours)
    closes = current[1]
    for opens, later_closes in periods:  # 06:00-12:00 then 12:00-20:00 is open until 20:00
        if opens <= closes < later_closes:
            closes = later_closes
    return OpenState(open_now=True, opens_at=None, closes_at=closes, today_hours=today_hours)
