"""`manage.py seed_demo`: a usable demo chain, the same after a second run, operational state kept."""

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.http import HttpRequest  # the sign-in lock-out (django-axes) needs a request

from stores import demo_data as demo
from stores.models import MenuItem, ModifierGroup, OpeningHours, Station, Store, StoreMembership

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def every_row() -> dict[str, list[dict]]:
    # Store.config_version and learned_version are cache keys that any save renews (stores.config_cache), not data
    # the seed keeps.
    return {model._meta.label: [{k: v for k, v in row.items() if k not in ("config_version", "learned_version")}
                                for row in model.objects.order_by("pk").values()] for model in apps.get_models()}


def test_second_run_changes_nothing():
    seed()
    first = every_row()
    seed()
    second = every_row()
    assert {label: len(rows) for label, rows in second.items()} == {label: len(rows) for label, rows in first.items()}
    # Not only the counts: no value changed either (a password reset would log demo users out).
    assert second == first


def test_creates_a_four_store_chain_with_menus():
    seed()
    stores = list(Store.objects.order_by("pk"))
    assert [s.slug for s in stores] == ["pearl-district", "hawthorne", "alberta-arts", "vancouver-waterfront"]
    for store in stores:
        assert (store.timezone, store.currency) == ("America/Los_Angeles", "USD")
        assert 45.4 < store.latitude < 45.7 and -122.8 < store.longitude < -122.5  # Portland and Vancouver, WA
        assert store.menu_items.count() == 25
        assert set(store.stations.values_list("kind", flat=True)) == {"espresso", "cold", "oven", "handoff"}
        assert store.opening_hours.count() == 7

    pearl = stores[0]
    monday = OpeningHours.objects.get(store=pearl, weekday=0)
    sunday = OpeningHours.objects.get(store=pearl, weekday=6)
    assert (monday.opens, monday.closes) == (dt.time(6), dt.time(20))
    assert (sunday.opens, sunday.closes) == (dt.time(7), dt.time(18))

    espresso = Station.objects.get(store=pearl, kind="espresso")
    monday_lanes = dict(espresso.staffing.filter(weekday=0).values_list("starts", "lanes"))
    assert monday_lanes[dt.time(7)] > monday_lanes[dt.time(6)]  # more hands for the morning rush

    croissant = MenuItem.objects.get(store=pearl, name="Butter Croissant")
    assert (croissant.stock_count, croissant.station.kind) == (12, "oven")
    assert MenuItem.objects.get(store=pearl, name="Caffè Latte").stock_count is None

    latte = MenuItem.objects.get(store=pearl, name="Caffè Latte")
    groups = {g.name: g for g in latte.modifier_groups.all()}
    assert set(groups) == {"Size", "Milk", "Extra shot", "Syrup"}
    assert (groups["Size"].min_choices, groups["Size"].max_choices) == (1, 1)
    assert (groups["Syrup"].min_choices, groups["Syrup"].max_choices) == (0, 2)
    large = groups["Size"].options.get(name="Large")
    assert (large.price_delta_minor, large.extra_prep_seconds > 0) == (90, True)
    assert groups["Milk"].options.get(is_default=True).name == "Whole milk"
    # Modifier groups are per store: the latte only offers its own store's.
    assert {g.store_id for g in latte.modifier_groups.all()} == {pearl.pk}
    assert ModifierGroup.objects.count() == 4 * 4


def test_portland_charges_no_sales_tax_and_vancouver_adds_washingtons():
    seed()
    taxes = {s.slug: (s.tax_rate_percent, s.prices_include_tax, s.tax_label) for s in Store.objects.all()}
    assert taxes == {"pearl-district": (Decimal("0"), False, "Sales tax"),
                     "hawthorne": (Decimal("0"), False, "Sales tax"),
                     "alberta-arts": (Decimal("0"), False, "Sales tax"),
                     "vancouver-waterfront": (Decimal("8.9"), False, "Sales tax")}
    vancouver = Store.objects.get(slug="vancouver-waterfront")
    assert vancouver.address == "695 Waterfront Way, Vancouver, WA 98660"
    assert (vancouver.latitude, vancouver.longitude) == (45.6232, -122.6742)


def test_demo_logins_work_with_the_documented_password(client):
    output = seed()
    users = ["admin", "customer", "manager1", "manager2", "manager3", "manager4", "barista1", "barista2", "barista3",
             "barista4"]
    for username in users:
        assert client.login(request=HttpRequest(), username=username, password=demo.PASSWORD), username
        assert username in output
        client.logout()
    assert demo.PASSWORD in output

    User = get_user_model()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="manager1").is_staff  # admin lets only staff in
    assert not User.objects.get(username="barista1").is_staff
    assert not User.objects.get(username="customer").is_staff
    roles = {(m.user.username, m.store.slug): m.role for m in StoreMembership.objects.select_related("user", "store")}
    assert roles == {
        ("manager1", "pearl-district"): "manager", ("barista1", "pearl-district"): "barista",
        ("manager2", "hawthorne"): "manager", ("barista2", "hawthorne"): "barista",
        ("manager3", "alberta-arts"): "manager", ("barista3", "alberta-arts"): "barista",
        ("manager4", "vancouver-waterfront"): "manager", ("barista4", "vancouver-waterfront"): "barista",
    }


def test_second_run_keeps_operational_state_and_restores_configuration():
    seed()
    pearl = Store.objects.get(slug="pearl-district")
    croissant = MenuItem.objects.get(store=pearl, name="Butter Croissant")
    MenuItem.objects.filter(pk=croissant.pk).update(stock_count=3, price_minor=999)  # 9 sold; a price typo
    MenuItem.objects.filter(store=pearl, name="Mocha").update(eighty_sixed=True)
    Store.objects.filter(pk=pearl.pk).update(mobile_paused=True, pause_reason="Espresso machine down")

    seed()

    croissant.refresh_from_db()
    pearl.refresh_from_db()
    assert croissant.stock_count == 3  # sales are not undone
    assert croissant.price_minor == 375  # configuration is back to the demo value
    assert MenuItem.objects.get(store=pearl, name="Mocha").eighty_sixed
    assert (pearl.mobile_paused, pearl.pause_reason) == (True, "Espresso machine down")


def test_second_run_keeps_changed_passwords(client):
    seed()
    manager = get_user_model().objects.get(username="manager1")
    manager.set_password("my-own-secret-9")
    manager.save()

    output = seed()

    assert client.login(request=HttpRequest(), username="manager1", password="my-own-secret-9")
    assert "manager1" in output.split("passwords were left as they were:")[1]


def test_refuses_production_settings_unless_told(settings):
    settings.SETTINGS_MODULE = "orderahead.settings.production"
    with pytest.raises(CommandError, match="--allow-production"):
        seed()
    assert not Store.objects.exists()

    call_command("seed_demo", "--allow-production", stdout=StringIO())
    assert Store.objects.count() == 4
