"""manage.py seed_load: the stores and customers the load tool (deploy/load) orders with."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from stores.hours import period_containing
from stores.models import MenuItem, Store


@pytest.mark.django_db
def test_seed_load_makes_open_stores_and_customers_with_tokens_and_reuses_them(tmp_path):
    out = tmp_path / "load.json"
    call_command("seed_load", stores=3, customers=4, out=out)
    first = json.loads(out.read_text())
    call_command("seed_load", stores=3, customers=4, out=out)

    assert json.loads(out.read_text()) == first  # the same stores, items and tokens again
    assert len(first["stores"]) == 3 and Store.objects.count() == 3
    assert set(first["tokens"]) == set(Token.objects.values_list("key", flat=True)) and len(first["tokens"]) == 4
    for store in first["stores"]:
        assert period_containing(Store.objects.get(pk=store["id"]), timezone.now()) is not None
        assert sorted(store["items"]) == sorted(MenuItem.objects.filter(store_id=store["id"]).values_list("pk", flat=True))


@pytest.mark.django_db
def test_seed_load_refuses_production_settings_unless_told(tmp_path, settings):
    settings.SETTINGS_MODULE = "orderahead.settings.production"
    with pytest.raises(CommandError, match="allow-production"):
        call_command("seed_load", stores=1, customers=1, out=tmp_path / "load.json")
