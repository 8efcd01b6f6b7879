"""What a store rarely changes (its stations with their staffing, its opening hours, fulfilment's payment
policy), read once per change instead of on every quote and order.

Each process keeps one copy per store and kind, under the store's `config_version`. Every save or delete
of those rows gives the store a new version in the same transaction (`config_changed`, connected to the
models' signals in `stores.signals` and `fulfilment.signals`), and every reader already has the store's
row, so a copy is used only while the version it was read under is the store's current one: no extra
round trip, no expiry to tune, and every process sees a change as soon as it commits.

Rows written with a queryset's `update()` send no signal: code that changes these models that way must
call `config_changed` itself. The menu is not kept here: its stock and 86 flags change with every order
and are written in bulk, and a stale price would be money.

Learned prep times are kept the same way under the store's `learned_version`, which every bump that
teaches the store something changes (`learned_prep_changed`): a quote reads them with no statement of its
own until the kitchen bumps again, and then one.

The copies are shared by every request of the process: treat them as read-only.
"""

from collections.abc import Callable
from typing import TypeVar

from core_native.learning import LearnedPrep
from stores.models import LearnedPrepTime, OpeningHours, Station, Store, new_config_version

T = TypeVar("T")
_copies: dict[tuple[str, int], tuple[int, object]] = {}


def config_changed(store_id: int) -> None:
    """Give the store a new version: every process reads its stations, hours and policy again."""
    Store.objects.filter(pk=store_id).update(config_version=new_config_version())


def learned_prep_changed(store_id: int) -> None:
    """Give the store a new learned version: every process reads its learned prep times again."""
    Store.objects.filter(pk=store_id).update(learned_version=new_config_version())


def store_row_saved(store_id: int) -> None:
    """The store's own row was saved: new versions of both, in one UPDATE. (A save writes back the versions
    of the copy it was made from, which may be older than a bump's since: a process must not take that
    old learned version for current.)"""
    Store.objects.filter(pk=store_id).update(config_version=new_config_version(),
                                             learned_version=new_config_version())


def store_config_cached(store: Store, kind: str, read: Callable[[Store], T], version: int | None = None) -> T:
    """`read(store)`, or the copy this process read under the store's current version (`config_version`,
    unless another is given)."""
    version = store.config_version if version is None else version
    key = (kind, store.pk)
    held = _copies.get(key)
    if held is not None and held[0] == version:
        return held[1]
    value = read(store)
    _copies[key] = (version, value)
    return value


def store_stations(store: Store) -> list[Station]:
    """The store's stations by id, each with its staffing periods (`station.staffing.all()`) at hand."""
    return store_config_cached(store, "stations", lambda s: list(s.stations.prefetch_related("staffing").order_by("pk")))


def store_opening_hours(store: Store) -> list[OpeningHours]:
    return store_config_cached(store, "opening_hours", lambda s: list(s.opening_hours.all()))


def store_learned_prep(store: Store, daypart: int) -> dict[tuple[int | None, int], LearnedPrep]:
    """What the store's kitchen learned in `daypart`: {(item id, station id): state, (None, station id): the
    station's pace}. One query when the store's learned version changed since this process last read it."""
    def read(store: Store) -> dict[tuple[int | None, int], LearnedPrep]:
        rows = (LearnedPrepTime.objects.filter(station__store=store, daypart=daypart).order_by()
                .values_list("item_id", "station_id", "samples", "mean_seconds", "variance_seconds2"))
        return {(item, station): LearnedPrep(n=n, mean_s=mean, var_s2=var) for item, station, n, mean, var in rows}
    return store_config_cached(store, f"learned_prep_{daypart}", read, version=store.learned_version)
