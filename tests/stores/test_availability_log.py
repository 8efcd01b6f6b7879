"""Every 86 and un-86 of an item or a modifier option is logged once, with who did it, wherever it was done
(admin actions, admin forms, the kitchen screen); `eighty_six_periods` turns the log into what was out in a
range and for how long."""

import datetime as dt

import pytest
from django.urls import reverse

from fulfilment.services import kitchen_actions
from stores.models import AvailabilityChange, MenuItem, ModifierOption
from stores.selectors import eighty_six_periods
from stores.services import item_set_86, options_set_available
from tests import factories

pytestmark = pytest.mark.django_db

DAY = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)


def at(hh: int, mm: int = 0) -> dt.datetime:
    return DAY.replace(hour=hh, minute=mm)


def log(store, *, out: bool, when: dt.datetime, item=None, option=None) -> AvailabilityChange:
    return AvailabilityChange.objects.create(store=store, item=item, option=option, out=out, at=when)


def changes(**filters) -> list[tuple]:
    return list(AvailabilityChange.objects.filter(**filters).order_by("pk")
                .values_list("item_id", "option_id", "out", "actor__username"))


# --- The selector, on a log with known times ---------------------------------------------------------------

def test_out_twice_and_still_out(store, menu):
    croissant = menu["croissant"]
    item_set_86(item=croissant, eighty_sixed=True, now=at(10))
    item_set_86(item=croissant, eighty_sixed=False, now=at(10, 30))
    item_set_86(item=croissant, eighty_sixed=True, now=at(11))

    periods = eighty_six_periods(stores=[store], start_at=at(0), end_at=at(0) + dt.timedelta(days=1),
                                 now=at(11, 15))

    assert periods == [{"store_id": store.pk, "store": store.name, "kind": "item", "id": croissant.pk,
                        "name": "Croissant", "times": 2, "out_seconds": 45 * 60, "still_out": True}]


def test_an_option_named_by_its_group_and_sorted_by_time_out(store, menu):
    oat, drip = menu["oat"], menu["drip"]
    options_set_available(options=[oat], available=False, now=at(9))
    options_set_available(options=[oat], available=True, now=at(10))
    item_set_86(item=drip, eighty_sixed=True, now=at(9, 50))
    item_set_86(item=drip, eighty_sixed=False, now=at(10))

    periods = eighty_six_periods(stores=[store], start_at=at(0), end_at=at(23), now=at(12))

    assert [(p["kind"], p["name"], p["times"], p["out_seconds"], p["still_out"]) for p in periods] == [
        ("option", "Milk: Oat", 1, 3600, False), ("item", "Drip coffee", 1, 600, False)]
    assert periods[0]["id"] == oat.pk


def test_out_since_before_the_range_counts_from_its_start(store, menu):
    oat, almond, croissant = menu["oat"], menu["almond"], menu["croissant"]
    options_set_available(options=[oat], available=False, now=at(8) - dt.timedelta(days=2))  # out for days
    options_set_available(options=[almond], available=False, now=at(7))
    options_set_available(options=[almond], available=True, now=at(9, 20))
    item_set_86(item=croissant, eighty_sixed=True, now=at(6))  # out and back before the range: not listed
    item_set_86(item=croissant, eighty_sixed=False, now=at(7))

    periods = eighty_six_periods(stores=[store], start_at=at(9), end_at=at(17), now=at(20))

    assert {p["name"]: (p["times"], p["out_seconds"], p["still_out"]) for p in periods} == {
        "Milk: Oat": (1, 8 * 3600, True),  # clipped to the range's end (a past day: end before now)
        "Milk: Almond": (1, 20 * 60, False)}


def test_per_store_bounds_and_other_stores_left_out(store, store2, menu):
    menu2 = factories.coffee_menu(store2)
    item_set_86(item=menu["latte"], eighty_sixed=True, now=at(10))
    item_set_86(item=menu2["latte"], eighty_sixed=True, now=at(10))

    mine = eighty_six_periods(stores=[store], start_at=at(0), end_at=at(23), now=at(11))
    assert [(p["store_id"], p["id"]) for p in mine] == [(store.pk, menu["latte"].pk)]

    # Each store's own day (their local midnights differ): store 2's day starts after its 86.
    both = eighty_six_periods(stores=[store, store2], now=at(11),
                              bounds={store.pk: (at(0), at(23)), store2.pk: (at(10, 30), at(23))})
    assert {(p["store_id"], p["out_seconds"]) for p in both} == {(store.pk, 3600), (store2.pk, 1800)}


def test_a_range_in_the_future_or_empty_lists_nothing(store, menu):
    item_set_86(item=menu["latte"], eighty_sixed=True, now=at(10))
    assert eighty_six_periods(stores=[store], start_at=at(12), end_at=at(13), now=at(11)) == []
    assert eighty_six_periods(stores=[], start_at=at(0), end_at=at(23), now=at(11)) == []


def test_two_queries_however_long_the_history(store, menu, django_assert_num_queries):
    for day in range(30):
        when = at(10) - dt.timedelta(days=day)
        item_set_86(item=menu["drip"], eighty_sixed=True, now=when)
        item_set_86(item=menu["drip"], eighty_sixed=False, now=when + dt.timedelta(minutes=5))
    with django_assert_num_queries(2):
        periods = eighty_six_periods(stores=[store], start_at=at(0), end_at=at(23), now=at(12))
    assert [(p["times"], p["out_seconds"]) for p in periods] == [(1, 300)]


# --- The services log real changes only, with the actor ----------------------------------------------------

def test_no_op_toggles_log_nothing(store, menu, barista_store1):
    item_set_86(item=menu["drip"], eighty_sixed=False, actor=barista_store1)  # not out: nothing changes
    assert options_set_available(options=[menu["oat"]], available=True, actor=barista_store1) == []
    assert changes() == []

    item_set_86(item=menu["drip"], eighty_sixed=True, actor=barista_store1)
    item_set_86(item=menu["drip"], eighty_sixed=True, actor=barista_store1)  # a second tap
    changed = options_set_available(options=[menu["oat"], menu["almond"]], available=False)
    assert [o.pk for o in changed] == [menu["oat"].pk, menu["almond"].pk]
    assert options_set_available(options=[menu["oat"], menu["small"]], available=False) == [menu["small"]]
    assert changes() == [(menu["drip"].pk, None, True, "barista1"), (None, menu["oat"].pk, True, None),
                         (None, menu["almond"].pk, True, None), (None, menu["small"].pk, True, None)]


def test_the_log_holds_exactly_one_of_item_and_option(store, menu):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        log(store, out=True, when=at(9), item=menu["drip"], option=menu["oat"])
    with pytest.raises(IntegrityError), transaction.atomic():
        log(store, out=True, when=at(9))


# --- Every place an 86 is made logs it, with who did it ------------------------------------------------------

def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_admin_bulk_actions_log_with_the_manager(manager2_client, store2):
    menu2 = factories.coffee_menu(store2)
    latte, oat, almond = menu2["latte"], menu2["oat"], menu2["almond"]
    manager2_client.post(changelist(MenuItem), {"action": "mark_86", "_selected_action": [latte.pk]})
    manager2_client.post(changelist(MenuItem), {"action": "mark_86", "_selected_action": [latte.pk]})  # again
    manager2_client.post(changelist(MenuItem), {"action": "unmark_86", "_selected_action": [latte.pk]})
    manager2_client.post(changelist(ModifierOption), {"action": "mark_unavailable",
                                                      "_selected_action": [oat.pk, almond.pk]})
    manager2_client.post(changelist(ModifierOption), {"action": "mark_available", "_selected_action": [oat.pk]})

    assert changes(store=store2) == [
        (latte.pk, None, True, "manager2"), (latte.pk, None, False, "manager2"),
        (None, oat.pk, True, "manager2"), (None, almond.pk, True, "manager2"), (None, oat.pk, False, "manager2")]


def test_admin_option_form_logs_through_the_service(manager2_client, store2):
    menu2 = factories.coffee_menu(store2)
    oat = menu2["oat"]
    url = reverse("admin:stores_modifieroption_change", args=[oat.pk])
    form = {"name": "Oat", "price_delta_minor": "0.70", "extra_prep_seconds": "0", "position": "0",
            "initial-is_available": "on"}  # the box was ticked when the page loaded, and is now unticked
    assert manager2_client.post(url, form).status_code == 302
    oat.refresh_from_db()
    assert not oat.is_available
    assert changes() == [(None, oat.pk, True, "manager2")]

    # The same page, loaded while oat was out, saved with a new name after a barista brought it back: the
    # rename is saved, the stale box neither undoes the barista's change nor logs anything.
    del form["initial-is_available"]
    form["name"] = "Oat milk"
    options_set_available(options=[oat], available=True)
    assert manager2_client.post(url, form).status_code == 302
    oat.refresh_from_db()
    assert (oat.name, oat.is_available) == ("Oat milk", True)
    assert len(changes()) == 2


def test_kitchen_86s_log_with_the_barista(store, menu, barista_store1):
    kitchen_actions.kitchen_item_86(store_id=store.pk, item_id=menu["croissant"].pk, actor=barista_store1)
    kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=menu["oat"].pk, actor=barista_store1,
                                      available=False)
    kitchen_actions.kitchen_option_86(store_id=store.pk, option_id=menu["oat"].pk, actor=barista_store1,
                                      available=False)  # a second tap
    assert changes() == [(menu["croissant"].pk, None, True, "barista1"), (None, menu["oat"].pk, True, "barista1")]
