"""Reads of stores and menus. Return querysets or plain values; never write."""

import datetime as dt
import math
from collections.abc import Iterable, Mapping

from django.db.models import F, Prefetch, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from core_native.learning import LearnedPrep, daypart_of, planned_prep
from stores.config_cache import store_learned_prep
from stores.models import (
    AvailabilityChange,
    LearnedPrepTime,
    MenuCategory,
    MenuItem,
    ModifierGroup,
    Store,
    StoreMembership,
)

EARTH_RADIUS_M = 6_371_000
MAX_ID = 2**63 - 1  # largest BigAutoField value


def store_list() -> QuerySet[Store]:
    return Store.objects.prefetch_related("opening_hours").order_by("name")


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance; plenty for 'which store is nearest'."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def store_list_near(*, latitude: float, longitude: float) -> list[Store]:
    """Stores nearest first, each with `distance_m` set. A chain has hundreds of stores, not millions,
    so sorting in Python is simpler than a spatial index and fast enough."""
    stores = list(store_list())
    for store in stores:
        store.distance_m = round(distance_m(latitude, longitude, store.latitude, store.longitude))
    return sorted(stores, key=lambda s: s.distance_m)


def store_menu(*, store: Store) -> QuerySet[MenuCategory]:
    """Categories with their listed items, modifier groups and options, for the live menu."""
    items = (MenuItem.objects.filter(is_active=True).select_related("station")
             .prefetch_related(Prefetch("modifier_groups", queryset=ModifierGroup.objects.prefetch_related("options"))))
    return (MenuCategory.objects.filter(store=store)
            .prefetch_related(Prefetch("items", queryset=items)).order_by("position", "name"))


def menu_item_from_price_minor(*, item: MenuItem) -> int:
    """What the cheapest way to order the item costs (the menu's "from" price): its price plus the cheapest
    available options of each required choice (the `min_choices` cheapest of a group that needs them).
    Reads the item's modifier groups and options through `.all()`, so store_menu's prefetch serves them."""
    price = item.price_minor
    for group in item.modifier_groups.all():
        if group.min_choices:
            deltas = sorted(option.price_delta_minor for option in group.options.all() if option.is_available)
            price += sum(deltas[: group.min_choices])
    return max(0, price)


def store_role(*, user, store_id: int) -> str | None:
    """The user's role at the store ('barista' or 'manager'), or None for anyone else. A superuser (the
    chain's own staff, who run every store from admin) is a manager of every store."""
    if not user or not user.is_authenticated:
        return None
    if not 1 <= store_id <= MAX_ID:  # a URL may carry any number; the database would choke on it
        return None
    if user.is_superuser:
        return StoreMembership.MANAGER if Store.objects.filter(pk=store_id).exists() else None
    return (StoreMembership.objects.filter(user=user, store_id=store_id)
            .values_list("role", flat=True).first())


def store_ids_managed_by(*, user) -> frozenset[int]:
    return frozenset(StoreMembership.objects.filter(user_id=user.pk, role=StoreMembership.MANAGER)
                     .values_list("store_id", flat=True))


# --- What ran out (86) and for how long --------------------------------------------------------------------

_CHANGE_FIELDS = ("store_id", "store__name", "item_id", "item__name", "item__eighty_sixed", "option_id",
                  "option__name", "option__group__name", "option__is_available", "out", "at")


def eighty_six_periods(*, stores: Iterable[Store], now: dt.datetime, start_at: dt.datetime | None = None,
                       end_at: dt.datetime | None = None,
                       bounds: Mapping[int, tuple[dt.datetime, dt.datetime]] | None = None) -> list[dict]:
    """Each item and modifier option of `stores` that was out (86) at any time in the range, longest out first:

        {"store_id", "store", "kind": "item" | "option", "id", "name" ("Milk: Oat" for an option),
         "times": out periods in the range (one already running at its start counts),
         "out_seconds": time out within [start, min(end, now)], "still_out": out now}

    The range is `start_at`..`end_at` for every store, or per store in `bounds` ({store id: (start, end)}),
    e.g. each store's own local day. Two queries, whatever the history: the changes in the range, and the
    last change before it of each item and option (was it out when the range began?)."""
    store_ids = {store.pk for store in stores}
    if bounds is None:
        bounds = dict.fromkeys(store_ids, (start_at, end_at))
    ranges = {store_id: (start, min(end, now)) for store_id, (start, end) in bounds.items()
              if store_id in store_ids and start < min(end, now)}  # nothing yet of a range still to come
    if not ranges:
        return []
    in_range, before = Q(pk__in=[]), Q(pk__in=[])
    for store_id, (start, end) in ranges.items():
        in_range |= Q(store_id=store_id, at__gte=start, at__lt=end)
        before |= Q(store_id=store_id, at__lt=start)
    last_before = (AvailabilityChange.objects.filter(before)
                   .annotate(newest=Window(RowNumber(), partition_by=[F("item_id"), F("option_id")],
                                           order_by=[F("at").desc(), F("pk").desc()]))
                   .filter(newest=1).values(*_CHANGE_FIELDS))
    changes = AvailabilityChange.objects.filter(in_range).order_by("at", "pk").values(*_CHANGE_FIELDS)

    periods: dict[tuple[str, int], dict] = {}
    out_since: dict[tuple[str, int], dt.datetime] = {}

    def key_of(row) -> tuple[str, int]:
        return ("item", row["item_id"]) if row["item_id"] else ("option", row["option_id"])

    def entry(row) -> tuple[str, int]:
        key = key_of(row)
        if key not in periods:
            is_item = key[0] == "item"
            periods[key] = {
                "store_id": row["store_id"], "store": row["store__name"], "kind": key[0], "id": key[1],
                "name": row["item__name"] if is_item else f"{row['option__group__name']}: {row['option__name']}",
                "times": 0, "out_seconds": 0.0,
                "still_out": row["item__eighty_sixed"] if is_item else not row["option__is_available"]}
        return key

    for row in last_before:
        if row["out"]:  # out when the range began: counted from its start
            key = entry(row)
            periods[key]["times"] += 1
            out_since[key] = ranges[row["store_id"]][0]
    for row in changes:
        key = key_of(row)
        if row["out"] and key not in out_since:
            key = entry(row)
            periods[key]["times"] += 1
            out_since[key] = row["at"]
        elif not row["out"] and key in out_since:
            periods[key]["out_seconds"] += (row["at"] - out_since.pop(key)).total_seconds()
    for key, since in out_since.items():  # still out at the end of the range
        periods[key]["out_seconds"] += (ranges[periods[key]["store_id"]][1] - since).total_seconds()
    return sorted(periods.values(), key=lambda p: (-p["out_seconds"], p["store"], p["name"]))


# --- Prep times to plan with (learned from the kitchen, shrunk toward the configured ones) -----------------

NOTHING_LEARNED = LearnedPrep()


def store_daypart(store: Store, when: dt.datetime) -> int:
    """The daypart (core_native.learning.DAYPARTS) `when` falls in, in the store's local time."""
    return daypart_of(when.astimezone(store.tz).hour)


def learned_state(row: LearnedPrepTime | None) -> LearnedPrep:
    return LearnedPrep(n=row.samples, mean_s=row.mean_seconds, var_s2=row.variance_seconds2) if row else LearnedPrep()


def item_prep_to_plan(item: MenuItem, *, store: Store | None = None, now: dt.datetime | None = None,
                      learned: tuple[LearnedPrep, LearnedPrep] | None = None) -> tuple[int, int]:
    """The prep time of one unit of `item` (no modifiers) to plan and quote with now: (mean, sd) in whole
    seconds, the learned values shrunk toward the configured `prep_seconds` / `prep_sd_seconds` x the
    station's pace (exactly the configured ones while nothing is learned). The one place the quote and the
    order get an item's time from. The learned values come from this process's copy of the store's
    (stores.config_cache.store_learned_prep: no statement until the kitchen learns something new);
    `learned`: (item state, pace) to use instead, when the caller read them (admin shows every daypart's)."""
    if learned is None:
        store = store or item.store
        table = store_learned_prep(store, store_daypart(store, now or timezone.now()))
        learned = (table.get((item.pk, item.station_id), NOTHING_LEARNED),
                   table.get((None, item.station_id), NOTHING_LEARNED))
    state, pace = learned
    mean, sd = planned_prep(state, item.prep_seconds, item.prep_sd_seconds, pace=pace)
    return max(1, round(mean)), round(sd)
