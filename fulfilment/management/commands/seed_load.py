"""`manage.py seed_load --stores 50 --customers 200 --out var/load.json`: stores, customers and staff for a load test.

Load-test stores are open around the clock (so a test runs at any hour), with an espresso bar and an oven
staffed all day and a four-item menu; the customers get API tokens. One staff login, `load_barista`, is a
barista of every load store: the load tool's tills place counter, kiosk, drive-thru and delivery orders with
its API token, and its kitchen screens sign in with its password (a new random one on every run, so only
the newest file signs in). The JSON file written to --out is what deploy/load/locustfile.py reads:

    {"stores": [{"id", "items": [ids], "stations": [ids]}], "tokens": [...],
     "staff": {"username", "password", "token"}}

Running it again reuses the stores and users it made before (slugs load-<n>, usernames load_customer_<n>)
and closes the orders an earlier run left open in them, so each run starts with empty kitchens: ready ones
as picked up, the rest as cancelled. That is a bulk update, not the order services: no screen is told and
no payment moves, which is right only for load stores between runs.
"""

import datetime as dt
import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from fulfilment.models import OPEN_STATUSES, Order, OrderStatus
from stores.models import (
    MenuCategory,
    MenuItem,
    OpeningHours,
    Station,
    Store,
    StoreMembership,
)

MENU = [  # (name, station kind, price in cents, prep seconds)
    ("Drip coffee", "espresso", 250, 20), ("Latte", "espresso", 450, 60), ("Cold brew", "espresso", 425, 25),
    ("Croissant", "oven", 375, 90),
]
LANES = {"espresso": 3, "oven": 2}
STAFF_USERNAME = "load_barista"


class Command(BaseCommand):
    help = "Create (or reuse) around-the-clock stores, customers with API tokens and a barista for a load test."

    def add_arguments(self, parser):
        parser.add_argument("--stores", type=int, default=20)
        parser.add_argument("--customers", type=int, default=100)
        parser.add_argument("--out", type=Path, required=True, help="Where to write the JSON for the load tool.")
        parser.add_argument("--allow-production", action="store_true",
                            help="Run even with production settings (it creates stores customers can see).")

    def handle(self, *args, stores: int, customers: int, out: Path, allow_production: bool, **options):
        if settings.SETTINGS_MODULE.endswith(".production") and not allow_production:
            raise CommandError("seed_load creates stores every customer can see; pass --allow-production on a "
                               "machine that serves no real customers.")
        if stores < 1 or customers < 1:
            raise CommandError("--stores and --customers must be at least 1.")
        with transaction.atomic():
            made = {"stores": [_load_store(number) for number in range(stores)],
                    "tokens": [_customer_token(number) for number in range(customers)]}
            made["staff"] = _staff([store["id"] for store in made["stores"]])
            closed = _close_open_orders([store["id"] for store in made["stores"]])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.touch(mode=0o600)  # it holds a staff password
        out.write_text(json.dumps(made))
        self.stdout.write(f"{stores} load stores, {customers} customers and {STAFF_USERNAME}; "
                          f"{closed} orders left open by an earlier run closed; written to {out}")


def _load_store(number: int) -> dict:
    store, _ = Store.objects.get_or_create(
        slug=f"load-{number}", defaults={"name": f"Load Test Store {number}", "latitude": 45.5, "longitude": -122.6,
                                         "timezone": "UTC", "currency": "USD", "slot_capacity": 50})
    for weekday in range(7):
        OpeningHours.objects.get_or_create(store=store, weekday=weekday, opens=dt.time(0, 0),
                                           defaults={"closes": dt.time(23, 59, 59)})
    stations = {kind: Station.objects.get_or_create(store=store, name=kind.title(),
                                                    defaults={"kind": kind, "default_lanes": lanes})[0]
                for kind, lanes in LANES.items()}
    category, _ = MenuCategory.objects.get_or_create(store=store, name="Menu", defaults={"position": 0})
    items = [MenuItem.objects.get_or_create(store=store, name=name, defaults={
        "category": category, "station": stations[kind], "price_minor": price, "prep_seconds": prep})[0].pk
        for name, kind, price, prep in MENU]
    return {"id": store.pk, "items": items, "stations": [station.pk for station in stations.values()]}


def _customer_token(number: int) -> str:
    user, created = get_user_model().objects.get_or_create(username=f"load_customer_{number}",
                                                           defaults={"first_name": "Load", "last_name": str(number)})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return Token.objects.get_or_create(user=user)[0].key


def _staff(store_ids: list[int]) -> dict:
    """The load barista, on the staff of every load store, with a new password and its API token."""
    user, _ = get_user_model().objects.get_or_create(username=STAFF_USERNAME,
                                                     defaults={"first_name": "Load", "last_name": "Barista"})
    password = secrets.token_urlsafe(18)
    user.set_password(password)
    user.save(update_fields=["password"])
    have = set(StoreMembership.objects.filter(user=user, store_id__in=store_ids).values_list("store_id", flat=True))
    StoreMembership.objects.bulk_create([StoreMembership(user=user, store_id=store_id, role=StoreMembership.BARISTA)
                                         for store_id in store_ids if store_id not in have])
    return {"username": STAFF_USERNAME, "password": password, "token": Token.objects.get_or_create(user=user)[0].key}


def _close_open_orders(store_ids: list[int]) -> int:
    orders = Order.objects.filter(store_id__in=store_ids, status__in=OPEN_STATUSES)
    now = timezone.now()
    return (orders.filter(status=OrderStatus.READY).update(status=OrderStatus.PICKED_UP, updated_at=now)
            + orders.update(status=OrderStatus.CANCELLED, updated_at=now))
