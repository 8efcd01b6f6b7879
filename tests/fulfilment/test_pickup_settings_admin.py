"""A manager turns "make it when I arrive" on for their store and sets its shelf hold limit in admin;
checkout sees it at once (the quote says so), and no one else's store is touched."""

import pytest

from fulfilment.models import StoreFulfilmentSettings

pytestmark = pytest.mark.django_db

ADD = "/admin/fulfilment/storefulfilmentsettings/add/"


def test_a_manager_offers_it_at_their_store_and_the_quote_says_so(client, api, store2, manager_store2, store, menu):
    client.force_login(manager_store2)
    form = client.get(ADD)
    assert form.status_code == 200
    assert f'value="{store.pk}"' not in form.content.decode()  # another manager's store is not offered
    saved = client.post(ADD, {"store": store2.pk, "offers_fire_on_arrival": "on", "shelf_hold_minutes": 7})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    settings = StoreFulfilmentSettings.objects.get(store=store2)
    assert settings.offers_fire_on_arrival and settings.shelf_hold_minutes == 7

    refused = client.post(ADD, {"store": store.pk, "offers_fire_on_arrival": "on", "shelf_hold_minutes": 7})
    assert refused.status_code == 200 and not StoreFulfilmentSettings.objects.filter(store=store).exists()


def test_the_quote_follows_the_setting(api, store, menu):
    body = {"items": [{"item": menu["latte"].pk, "quantity": 1}], "pickup": "asap"}
    assert api.post(f"/api/stores/{store.pk}/quote/", body, format="json").json()["offers_fire_on_arrival"] is False
    StoreFulfilmentSettings.objects.create(store=store, offers_fire_on_arrival=True)
    assert api.post(f"/api/stores/{store.pk}/quote/", body, format="json").json()["offers_fire_on_arrival"] is True
