"""A modifier option marked out (86) from the kitchen screen: staff of the store only, its own options only;
the menu and every quote see it at once, the log has it with the barista, and the screens get one event."""

import pytest

from fulfilment.models import StoreEvent
from fulfilment.services import kitchen_actions
from fulfilment.services.outbox import outbox_snapshot
from orderahead.errors import DomainError, NotFound
from stores.models import AvailabilityChange, ModifierOption
from tests import factories

pytestmark = pytest.mark.django_db


def quote_with(api, store, menu, option):
    return api.post(f"/api/stores/{store.pk}/quote/", {"items": [
        {"item": menu["latte"].pk, "quantity": 1, "modifiers": [option.pk]}]}, format="json")


def test_oat_milk_out_and_back(api, store, menu, barista_store1, django_capture_on_commit_callbacks):
    oat = menu["oat"]
    assert quote_with(api, store, menu, oat).status_code == 200
    head = StoreEvent.objects.filter(store=store).count()

    with django_capture_on_commit_callbacks(execute=True):
        option = kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=oat.pk, actor=barista_store1,
                                                   available=False)

    assert not option.is_available and not ModifierOption.objects.get(pk=oat.pk).is_available
    quote = quote_with(api, store, menu, oat)
    assert quote.status_code == 409 and quote.json()["error"]["code"] == "modifier_unavailable"
    options = {o["id"]: o for c in api.get(f"/api/stores/{store.pk}/menu/").json()["categories"]
               for i in c["items"] for g in i["modifier_groups"] for o in g["options"]}
    assert options[oat.pk]["available"] is False
    # One event for the screens (written in the action's transaction, not again after the commit).
    events = list(StoreEvent.objects.filter(store=store).order_by("seq")[head:])
    assert [(e.kind, e.payload["option"]["available"], e.payload["by"]) for e in events] == [
        ("menu.option", False, "barista1")]
    assert [o["id"] for o in outbox_snapshot(store_id=store.pk)["options_out"]] == [oat.pk]
    assert list(AvailabilityChange.objects.values_list("option_id", "out", "actor__username")) == [
        (oat.pk, True, "barista1")]

    with django_capture_on_commit_callbacks(execute=True):
        kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=oat.pk, actor=barista_store1, available=True)
    assert quote_with(api, store, menu, oat).status_code == 200
    assert outbox_snapshot(store_id=store.pk)["options_out"] == []
    assert StoreEvent.objects.filter(store=store).count() == head + 2


def test_a_second_tap_changes_nothing(store, menu, barista_store1):
    for _ in range(2):
        kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=menu["oat"].pk, actor=barista_store1,
                                          available=False)
    assert StoreEvent.objects.filter(store=store, kind="menu.option").count() == 1
    assert AvailabilityChange.objects.count() == 1


def test_refusals_change_nothing(store, store2, menu, barista_store1, manager_store2, customer_a):
    menu2 = factories.coffee_menu(store2)
    oat = menu["oat"]
    with pytest.raises(DomainError) as refused:
        kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=oat.pk, actor=customer_a, available=False)
    assert (refused.value.code, refused.value.status) == ("not_staff", 403)
    with pytest.raises(DomainError) as refused:  # a manager, but of another store
        kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=oat.pk, actor=manager_store2,
                                          available=False)
    assert refused.value.code == "not_staff"
    with pytest.raises(NotFound) as refused:  # store 2's oat milk, from store 1's screen
        kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=menu2["oat"].pk, actor=barista_store1,
                                          available=False)
    assert refused.value.code == "unknown_option"
    assert "is not a modifier option of this store" in refused.value.message

    assert ModifierOption.objects.filter(is_available=False).count() == 0
    assert AvailabilityChange.objects.count() == 0
    assert StoreEvent.objects.filter(kind="menu.option").count() == 0
