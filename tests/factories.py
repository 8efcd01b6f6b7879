"""Test data: factory_boy factories, and a few builders for a complete store and menu."""

import datetime as dt
import uuid

import factory
from django.contrib.auth import get_user_model

from stores.models import (
    MenuCategory,
    MenuItem,
    ModifierGroup,
    ModifierOption,
    OpeningHours,
    Station,
    Store,
    StoreMembership,
)

PASSWORD = "test-pass-123"


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    address = "1 Main St"
    latitude = 45.52
    longitude = -122.68
    timezone = "America/Los_Angeles"
    currency = "USD"
    slot_minutes = 5
    slot_capacity = 4
    min_lead_minutes = 5
    handoff_seconds = 20


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"station-{n}")
    kind = "espresso"
    default_lanes = 2


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuCategory

    store = factory.SubFactory(StoreFactory)
    name = factory.Sequence(lambda n: f"Category {n}")


class MenuItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuItem

    store = factory.SubFactory(StoreFactory)
    category = factory.SubFactory(CategoryFactory, store=factory.SelfAttribute("..store"))
    station = factory.SubFactory(StationFactory, store=factory.SelfAttribute("..store"))
    name = factory.Sequence(lambda n: f"Item {n}")
    price_minor = 400
    currency = "USD"
    prep_seconds = 60
    prep_sd_seconds = 12
    max_quantity = 10


def open_store(**fields) -> Store:
    """A store open 00:00-23:59 every day, so tests pass at any hour."""
    store = StoreFactory(**fields)
    for weekday in range(7):
        OpeningHours.objects.create(store=store, weekday=weekday, opens=dt.time(0, 0), closes=dt.time(23, 59, 59))
    return store


def coffee_menu(store: Store) -> dict:
    """Espresso bar with a latte (size required, milk optional), an oven with 5 croissants."""
    espresso = StationFactory(store=store, name="espresso", kind="espresso", default_lanes=2)
    oven = StationFactory(store=store, name="oven", kind="oven", default_lanes=1)
    drinks = CategoryFactory(store=store, name="Drinks", position=0)
    food = CategoryFactory(store=store, name="Food", position=1)
    size = ModifierGroup.objects.create(store=store, name="Size", min_choices=1, max_choices=1)
    small = ModifierOption.objects.create(group=size, name="Small", price_delta_minor=0, is_default=True)
    large = ModifierOption.objects.create(group=size, name="Large", price_delta_minor=90, extra_prep_seconds=10)
    milk = ModifierGroup.objects.create(store=store, name="Milk", min_choices=0, max_choices=1)
    oat = ModifierOption.objects.create(group=milk, name="Oat", price_delta_minor=70)
    almond = ModifierOption.objects.create(group=milk, name="Almond", price_delta_minor=70)
    latte = MenuItemFactory(store=store, category=drinks, station=espresso, name="Latte", price_minor=450,
                            prep_seconds=60)
    latte.modifier_groups.set([size, milk])
    drip = MenuItemFactory(store=store, category=drinks, station=espresso, name="Drip coffee", price_minor=250,
                           prep_seconds=20)
    croissant = MenuItemFactory(store=store, category=food, station=oven, name="Croissant", price_minor=375,
                                prep_seconds=120, stock_count=5)
    return {"espresso": espresso, "oven": oven, "latte": latte, "drip": drip, "croissant": croissant,
            "size": size, "small": small, "large": large, "milk": milk, "oat": oat, "almond": almond}


def user(username: str, **fields):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)


def staff(username: str, store: Store, role: str):
    # Managers work in Django admin, which needs is_staff; baristas only use the screens and the API.
    member = user(username, is_staff=(role == StoreMembership.MANAGER))
    StoreMembership.objects.create(user=member, store=store, role=role)
    return member


# --- Builders for the ordering API tests (time of day, opening hours) -------------------------------------

def midday_timezone(at: dt.datetime | None = None) -> str:
    """A fixed-offset zone (Etc/GMT±N) in which `at` (default: now) falls between 11:30 and 12:30 local time.

    API calls use the real clock; putting the store there keeps hours-dependent tests hours away
    from a local midnight or a closing time, whenever the suite runs.
    """
    from django.utils import timezone

    at = (at or timezone.now()).astimezone(dt.UTC)
    offset = round((12 * 60 - (at.hour * 60 + at.minute)) / 60)  # -12 .. +12 hours
    if offset == 0:
        return "Etc/GMT"
    # Etc/GMT zones have POSIX signs: Etc/GMT-3 is three hours *ahead* of UTC.
    return f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}"


def move_to_midday(store: Store) -> Store:
    """Put the store in a zone where it is about noon now (opening hours keep their local times)."""
    store.timezone = midday_timezone()
    store.save(update_fields=["timezone"])
    return store


def set_hours(store: Store, *periods: tuple[dt.time, dt.time]) -> Store:
    """Replace the store's opening hours by the same periods (local opens, closes) on every weekday."""
    store.opening_hours.all().delete()
    for weekday in range(7):
        for opens, closes in periods:
            OpeningHours.objects.create(store=store, weekday=weekday, opens=opens, closes=closes)
    return store


def local_now(store: Store) -> dt.datetime:
    from django.utils import timezone

    return timezone.now().astimezone(store.tz)


def checkout_key() -> dict:
    """Test-client headers of one new checkout: placing an order requires an Idempotency-Key."""
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def serving_token(client, store_id: int, member) -> str:
    """What a till gets for `member` by scanning a fresh member code at store `store_id` as the staff member
    `client` is signed in as: the serving token an order (or adding the member to one) needs."""
    from fulfilment.services.members import member_code_issue

    code, _ = member_code_issue(member=member)
    response = client.post(f"/api/stores/{store_id}/members/identify/", {"code": code}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["serving_token"]


def order_with_times(store: Store, *, channel, status, total, created, promised=None, ready=None, picked_up=None,
                     slot=None):
    """An order placed at `created` with known promised/ready/picked-up times (figures tests). created_at is
    auto_now_add, so the times go in with an update after the insert."""
    from fulfilment.models import Order, PickupKind

    order = Order.objects.create(store=store, channel=channel, status=status, slot_starts_at=slot,
                                 pickup_kind=PickupKind.SCHEDULED if slot else PickupKind.ASAP,
                                 subtotal_minor=total, total_minor=total, currency=store.currency)
    Order.objects.filter(pk=order.pk).update(created_at=created, promised_ready_at=promised, ready_at=ready,
                                             picked_up_at=picked_up)
    return order


def line_with_times(order, item: MenuItem, *, quantity, started, done):
    """A line of `order` made from `started` to `done` (None: never started / not done)."""
    from fulfilment.models import OrderLine

    return OrderLine.objects.create(order=order, item=item, item_name=item.name, quantity=quantity,
                                    unit_price_minor=item.price_minor, line_total_minor=item.price_minor * quantity,
                                    prep_seconds=item.prep_seconds, station=item.station, started_at=started,
                                    done_at=done)
