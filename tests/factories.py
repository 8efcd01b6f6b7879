"""Test data: factory_boy factories, and a few builders for a complete store and menu."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from stores.models import (
    MenuCategory, MenuItem, ModifierGroup, ModifierOption, OpeningHours, Station, Store, StoreMembership,
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
    member = user(username)
    StoreMembership.objects.create(user=member, store=store, role=role)
    return member
