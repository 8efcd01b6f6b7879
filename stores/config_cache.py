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

The copies are shared by every request of the process: treat them as read-only.
"""

from collections.abc import Callable
from typing import TypeVar

from stores.models import OpeningHours, Station, Store, new_config_version

T = TypeVar("T")
_copies: dict[tuple[str, int], tuple[int, object]] = {}


def config_changed(store_id: int) -> None:
    """Give the store a new version: every process reads its stations, hours and policy again."""
    Store.objects.filter(pk=store_id).update(config_version=new_config_version())


def store_config_cached(store: Store, kind: str, read: Callable[[Store], T]) -> T:
    """`read(store)`, or the copy this process read under the store's current version."""
    key = (kind, store.pk)
    held = _copies.get(key)
    if held is not None and held[0] == store.config_version:
        return held[1]
    value = read(store)
    _copies[key] = (store.config_version, value)
    return value


def store_stations(store: Store) -> list[Station]:
    """The store's stations by id, each with its staffing periods (`station.staffing.all()`) at hand."""
    return store_config_cached(store, "stations", lambda s: list(s.stations.prefetch_related("staffing").order_by("pk")))


def store_opening_hours(store: Store) -> list[OpeningHours]:
    return store_config_cached(store, "opening_hours", lambda s: list(s.opening_hours.all()))
