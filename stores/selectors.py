"""Reads of stores and menus. Return querysets or plain values; never write."""

import math

from django.db.models import Prefetch, QuerySet

from stores.models import MenuCategory, MenuItem, ModifierGroup, Store, StoreMembership

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
