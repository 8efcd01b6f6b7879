"""An item marked 86 in Django admin reaches the screens' event stream, like one marked on a screen."""

import pytest

from fulfilment.models import StoreEvent

pytestmark = pytest.mark.django_db


def test_admin_86_writes_a_store_event(client, menu, django_capture_on_commit_callbacks):
    from tests import factories

    admin = factories.user("boss", is_staff=True, is_superuser=True)
    client.force_login(admin)
    croissant = menu["croissant"]
    before = StoreEvent.objects.filter(store=croissant.store).count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/stores/menuitem/", {
            "action": "mark_86", "_selected_action": [croissant.pk]}, follow=True)

    assert response.status_code == 200
    croissant.refresh_from_db()
    assert croissant.eighty_sixed
    events = StoreEvent.objects.filter(store=croissant.store).order_by("seq")
    assert events.count() == before + 1
    assert events.last().payload["item"] == {"id": croissant.pk, "name": croissant.name,
                                             "station": croissant.station_id, "eighty_sixed": True}


def test_screen_86_is_announced_once(menu, barista_store1, django_capture_on_commit_callbacks):
    from fulfilment.services.kitchen_actions import kitchen_item_86

    croissant = menu["croissant"]
    before = StoreEvent.objects.filter(store=croissant.store).count()
    with django_capture_on_commit_callbacks(execute=True):
        kitchen_item_86(store_id=croissant.store_id, item_id=croissant.pk, actor=barista_store1)
    assert StoreEvent.objects.filter(store=croissant.store).count() == before + 1
