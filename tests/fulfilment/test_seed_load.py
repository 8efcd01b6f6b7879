"""manage.py seed_load: the stores, customers and barista the load tool (deploy/load) works with."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from fulfilment.models import Channel, Order, OrderStatus
from fulfilment.services import LineRequest, order_place
from stores.hours import period_containing
from stores.models import MenuItem, Station, Store, StoreMembership


@pytest.mark.django_db
def test_seed_load_makes_open_stores_customers_and_a_barista_and_reuses_them(tmp_path):
    out = tmp_path / "load.json"
    call_command("seed_load", stores=3, customers=4, out=out)
    first = json.loads(out.read_text())
    call_command("seed_load", stores=3, customers=4, out=out)
    second = json.loads(out.read_text())

    # The same stores, items, stations and tokens again; only the barista's password is new.
    assert {**second, "staff": {}} == {**first, "staff": {}}
    assert second["staff"]["token"] == first["staff"]["token"] and second["staff"]["password"] != first["staff"]["password"]
    assert len(first["stores"]) == 3 and Store.objects.count() == 3
    customer_tokens = set(Token.objects.exclude(user__username="load_barista").values_list("key", flat=True))
    assert set(first["tokens"]) == customer_tokens and len(first["tokens"]) == 4
    for store in first["stores"]:
        assert period_containing(Store.objects.get(pk=store["id"]), timezone.now()) is not None
        assert sorted(store["items"]) == sorted(MenuItem.objects.filter(store_id=store["id"]).values_list("pk", flat=True))
        assert sorted(store["stations"]) == sorted(Station.objects.filter(store_id=store["id"]).values_list("pk", flat=True))

    barista = get_user_model().objects.get(username=second["staff"]["username"])
    assert barista.check_password(second["staff"]["password"]) and not barista.check_password(first["staff"]["password"])
    assert Token.objects.get(user=barista).key == second["staff"]["token"]
    assert sorted(StoreMembership.objects.filter(user=barista, role="barista").values_list("store_id", flat=True)) == \
        sorted(store["id"] for store in first["stores"])
    assert not barista.is_staff and not barista.is_superuser  # a barista of the load stores, not an admin


@pytest.mark.django_db
def test_seed_load_closes_the_orders_an_earlier_run_left_open(tmp_path):
    out = tmp_path / "load.json"
    call_command("seed_load", stores=1, customers=1, out=out)
    load = json.loads(out.read_text())
    store, barista = load["stores"][0], get_user_model().objects.get(username="load_barista")
    placed = [order_place(store_id=store["id"], channel=Channel.COUNTER, lines=[LineRequest(item_id=store["items"][0],
                                                                                            quantity=1)],
                          requested_at=None, customer_name="Ann", placed_by=barista, idempotency_key=f"k{n}")[0]
              for n in range(3)]
    Order.objects.filter(pk=placed[0].pk).update(status=OrderStatus.READY)

    call_command("seed_load", stores=1, customers=1, out=out)

    statuses = dict(Order.objects.filter(pk__in=[o.pk for o in placed]).values_list("pk", "status"))
    assert statuses == {placed[0].pk: OrderStatus.PICKED_UP, placed[1].pk: OrderStatus.CANCELLED,
                        placed[2].pk: OrderStatus.CANCELLED}


@pytest.mark.django_db
def test_seed_load_refuses_production_settings_unless_told(tmp_path, settings):
    settings.SETTINGS_MODULE = "orderahead.settings.production"
    with pytest.raises(CommandError, match="allow-production"):
        call_command("seed_load", stores=1, customers=1, out=tmp_path / "load.json")
