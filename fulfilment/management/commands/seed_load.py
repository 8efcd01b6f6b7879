"""`manage.py seed_load --stores 50 --customers 200 --out var/load.json`: stores and customers for a load test.

Load-test stores are open around the clock (so a test runs at any hour), with an espresso bar and an oven
staffed all day and a four-item menu; the customers get API tokens. The JSON file written to --out is what
deploy/load/locustfile.py reads: {"stores": [{"id", "items": [ids]}], "tokens": [...]}. Running it again
reuses the stores and customers it made before (slugs load-<n>, usernames load_customer_<n>).
"""

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from stores.models import MenuCategory, MenuItem, OpeningHours, Station, Store

MENU = [  # (name, station kind, price in cents, prep seconds)
    ("Drip coffee", "espresso", 250, 20), ("Latte", "espresso", 450, 60), ("Cold brew", "espresso", 425, 25),
    ("Croissant", "oven", 375, 90),
]
LANES = {"espresso": 3, "oven": 2}


class Command(BaseCommand):
    help = "Create (or reuse) around-the-clock stores and customers with API tokens for a load test."

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
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(made))
        self.stdout.write(f"{stores} load stores and {customers} customers; written to {out}")


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
    return {"id": store.pk, "items": items}


def _customer_token(number: int) -> str:
    user, created = get_user_model().objects.get_or_create(username=f"load_customer_{number}",
                                                           defaults={"first_name": "Load", "last_name": str(number)})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return Token.objects.get_or_create(user=user)[0].key
