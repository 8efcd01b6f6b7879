"""`manage.py seed_demo`: a four-store demo chain with menus, staff logins and a customer."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from stores import demo_data as demo
from stores.models import (
    MenuCategory,
    MenuItem,
    ModifierGroup,
    ModifierOption,
    OpeningHours,
    StaffingPeriod,
    Station,
    Store,
    StoreMembership,
)


class Command(BaseCommand):
    help = (
        "Load the demo chain: three Portland coffee shops and one in Vancouver, WA, which charges sales tax "
        "(hours, stations and staffing, a 25-item menu "
        "with modifiers), a manager and a barista per store, a customer and a superuser, all with password "
        f"{demo.PASSWORD}. Safe to run again: it brings configuration (stores, hours, stations, staffing, "
        "menu, prices, prep times, modifiers, roles) back to the demo values, but keeps operational state "
        "as it is: stock counts and 86 flags of existing items, modifier availability, mobile-ordering pauses "
        "and the passwords of users that already exist. Refuses to run with production settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--allow-production", action="store_true",
                            help="Run even with production settings (it creates logins with a published password).")

    def handle(self, *args, allow_production: bool = False, **options):
        if settings.SETTINGS_MODULE.endswith(".production") and not allow_production:
            raise CommandError("seed_demo creates logins with a published password; "
                               "pass --allow-production if you really want them in production.")
        with transaction.atomic():  # all or nothing: a failure leaves no half-seeded chain
            created_users = self._seed()
        self._print_summary(created_users)

    def _seed(self) -> set[str]:
        """Returns the usernames created by this run (the others kept their passwords)."""
        created_users = set()

        def login(spec: demo.UserSpec):
            user, created = _seed_user(spec)
            if created:
                created_users.add(user.username)
            return user

        login(demo.ADMIN)
        login(demo.CUSTOMER)
        for spec, manager_spec, barista_spec in zip(demo.STORES, demo.MANAGERS, demo.BARISTAS, strict=True):
            store = _seed_store(spec)
            _seed_opening_hours(store)
            stations = _seed_stations(store)
            groups = _seed_modifier_groups(store)
            _seed_menu(store, stations, groups)
            for user_spec, role in ((manager_spec, StoreMembership.MANAGER), (barista_spec, StoreMembership.BARISTA)):
                StoreMembership.objects.update_or_create(user=login(user_spec), store=store, defaults={"role": role})
        return created_users

    def _print_summary(self, created_users: set[str]) -> None:
        stores = Store.objects.filter(slug__in=[s.slug for s in demo.STORES]).order_by("pk")
        self.stdout.write(self.style.SUCCESS(
            f"Demo chain ready: {stores.count()} stores, "
            f"{MenuItem.objects.filter(store__in=stores).count()} menu items."))
        for store in stores:
            self.stdout.write(f"  {store.name} ({store.slug}): {store.menu_items.count()} items, "
                              f"{store.address}")

        rows = [(demo.ADMIN.username, "superuser, all stores", "/admin/"),
                (demo.CUSTOMER.username, "customer", "/")]
        for spec, manager, barista in zip(demo.STORES, demo.MANAGERS, demo.BARISTAS, strict=True):
            rows.append((manager.username, f"manager, {spec.name}", "/admin/"))
            rows.append((barista.username, f"barista, {spec.name}", "/kds/"))
        self.stdout.write(f"Logins (password {demo.PASSWORD}):")
        for username, role, where in rows:
            self.stdout.write(f"  {username:<10} {role:<56} {where}")
        kept = [username for username, _, _ in rows if username not in created_users]
        if kept:
            self.stdout.write(f"Already existed, so their passwords were left as they were: {', '.join(kept)}.")


def _seed_user(spec: demo.UserSpec):
    """Create or update a demo login. Its password is set only when it is created: setting it on every
    run would also log out every session of that user."""
    user, created = get_user_model().objects.update_or_create(
        username=spec.username,
        defaults={"first_name": spec.first_name, "last_name": spec.last_name,
                  "email": f"{spec.username}@{demo.EMAIL_DOMAIN}", "is_staff": spec.is_staff,
                  "is_superuser": spec.is_superuser, "is_active": True})
    if created:
        user.set_password(demo.PASSWORD)
        user.save(update_fields=["password"])
    return user, created


def _seed_store(spec: demo.StoreSpec) -> Store:
    # Pause fields are left out: a pause is the store's live state, not demo configuration.
    store, _ = Store.objects.update_or_create(
        slug=spec.slug,
        defaults={"name": spec.name, "address": spec.address, "latitude": spec.latitude,
                  "longitude": spec.longitude, "timezone": demo.TIMEZONE, "currency": demo.CURRENCY,
                  "slot_capacity": spec.slot_capacity, "tax_rate_percent": spec.tax_rate_percent,
                  "prices_include_tax": spec.prices_include_tax, "tax_label": spec.tax_label, **demo.STORE_SETTINGS})
    return store


def _seed_opening_hours(store: Store) -> None:
    for weekday in range(7):
        opens, closes = demo.WEEKEND_HOURS if weekday in demo.WEEKEND else demo.WEEKDAY_HOURS
        OpeningHours.objects.update_or_create(store=store, weekday=weekday, opens=opens,
                                              defaults={"closes": closes})


def _seed_stations(store: Store) -> dict[str, Station]:
    stations = {}
    for spec in demo.STATIONS:
        station, _ = Station.objects.update_or_create(store=store, name=spec.name,
                                                      defaults={"kind": spec.kind, "default_lanes": 1})
        for weekday in range(7):
            periods = spec.weekend_lanes if weekday in demo.WEEKEND else spec.weekday_lanes
            for starts, lanes in periods:
                StaffingPeriod.objects.update_or_create(station=station, weekday=weekday, starts=starts,
                                                        defaults={"lanes": lanes})
        stations[spec.kind] = station
    return stations


def _seed_modifier_groups(store: Store) -> dict[str, ModifierGroup]:
    groups = {}
    for position, spec in enumerate(demo.MODIFIER_GROUPS):
        group, _ = ModifierGroup.objects.update_or_create(
            store=store, name=spec.name,
            defaults={"min_choices": spec.min_choices, "max_choices": spec.max_choices, "position": position})
        for option_position, option in enumerate(spec.options):
            # is_available is left out: a barista marking oat milk out is live state.
            ModifierOption.objects.update_or_create(
                group=group, name=option.name,
                defaults={"price_delta_minor": option.price_delta, "extra_prep_seconds": option.extra_prep_s,
                          "is_default": option.is_default, "position": option_position})
        groups[spec.name] = group
    return groups


def _seed_menu(store: Store, stations: dict[str, Station], groups: dict[str, ModifierGroup]) -> None:
    categories = {}
    for position, name in enumerate(demo.CATEGORIES):
        categories[name], _ = MenuCategory.objects.update_or_create(store=store, name=name,
                                                                     defaults={"position": position})
    for position, spec in enumerate(demo.MENU):
        menu_config = {"category": categories[spec.category], "station": stations[spec.station],
                       "description": spec.description, "price_minor": spec.price, "currency": store.currency,
                       "prep_seconds": spec.prep_s, "prep_sd_seconds": spec.prep_sd_s,
                       "max_quantity": spec.max_quantity, "position": position, "is_active": True}
        item, _ = MenuItem.objects.update_or_create(
            store=store, name=spec.name, defaults=menu_config,
            # Stock is set only on the first run; later runs keep what sales and managers made of it
            # (and eighty_sixed, not named here, keeps its value too).
            create_defaults={**menu_config, "stock_count": spec.stock})
        item.modifier_groups.set([groups[name] for name in spec.groups])
