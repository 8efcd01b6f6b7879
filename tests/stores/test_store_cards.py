"""Store cards: open now or when next, today's hours, the tax rule; the menu's "from" prices."""

import datetime as dt
from decimal import Decimal

import pytest

from stores import hours
from stores.models import ModifierGroup, ModifierOption
from tests import factories

pytestmark = pytest.mark.django_db


def card(api, store) -> dict:
    response = api.get("/api/stores/")
    assert response.status_code == 200
    return next(s for s in response.json() if s["id"] == store.pk)


def local(store, text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text).astimezone(store.tz) if text else None


def test_an_open_store_says_until_when(api, store):
    factories.set_hours(store, (dt.time(6), dt.time(20)))  # it is about noon there

    body = card(api, store)

    assert (body["open_now"], body["opens_at"]) == (True, None)
    closes = local(store, body["closes_at"])
    assert (closes.date(), closes.time()) == (factories.local_now(store).date(), dt.time(20))
    assert body["today_hours"] == [{"opens": "06:00", "closes": "20:00"}]


def test_back_to_back_periods_count_as_one_opening(api, store):
    factories.set_hours(store, (dt.time(6), dt.time(14)), (dt.time(14), dt.time(20)))

    body = card(api, store)

    assert body["open_now"] and local(store, body["closes_at"]).time() == dt.time(20)
    assert body["today_hours"] == [{"opens": "06:00", "closes": "14:00"}, {"opens": "14:00", "closes": "20:00"}]


def test_a_store_closed_over_lunch_says_when_it_opens_again(api, store):
    factories.set_hours(store, (dt.time(6), dt.time(10)), (dt.time(14), dt.time(18)))

    body = card(api, store)

    assert (body["open_now"], body["closes_at"]) == (False, None)
    opens = local(store, body["opens_at"])
    assert (opens.date(), opens.time()) == (factories.local_now(store).date(), dt.time(14))


def test_a_store_closed_all_day_shows_no_hours_today_and_its_next_opening(api, store):
    today = factories.local_now(store).date()
    store.opening_hours.filter(weekday=today.weekday()).delete()

    body = card(api, store)

    assert (body["open_now"], body["today_hours"]) == (False, [])
    assert local(store, body["opens_at"]) == dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0),
                                                                  tzinfo=store.tz)


def test_a_store_without_hours_never_opens():
    store = factories.StoreFactory()
    state = hours.open_state(store, dt.datetime.now(dt.UTC))
    assert (state.open_now, state.opens_at, state.closes_at, state.today_hours) == (False, None, None, [])


def test_cards_and_menu_show_the_tax_rule(api, store, menu):
    store.tax_rate_percent, store.prices_include_tax, store.tax_label = Decimal("8.9"), False, "Sales tax"
    store.save()

    tax = {"rate_percent": "8.900", "prices_include_tax": False, "label": "Sales tax"}
    assert card(api, store)["tax"] == tax
    assert api.get(f"/api/stores/{store.pk}/").json()["tax"] == tax
    assert api.get(f"/api/stores/{store.pk}/menu/").json()["store"]["tax"] == tax


def from_prices(api, store) -> dict[str, int]:
    body = api.get(f"/api/stores/{store.pk}/menu/").json()
    return {item["name"]: item["from_price_minor"] for category in body["categories"] for item in category["items"]}


def test_from_price_adds_the_cheapest_available_option_of_each_required_choice(api, store, menu):
    assert from_prices(api, store) == {"Latte": 450, "Drip coffee": 250, "Croissant": 375}  # optional milk: free

    ModifierOption.objects.filter(pk=menu["small"].pk).update(is_available=False)

    assert from_prices(api, store)["Latte"] == 450 + 90  # only the large size is left


def test_from_price_sums_the_cheapest_options_a_group_requires(api, store, menu):
    shots = ModifierGroup.objects.create(store=store, name="Shots", min_choices=2, max_choices=3)
    for name, delta in (("Single", 80), ("Decaf", 60), ("Ristretto", 100)):
        ModifierOption.objects.create(group=shots, name=name, price_delta_minor=delta)
    menu["drip"].modifier_groups.add(shots)

    assert from_prices(api, store)["Drip coffee"] == 250 + 60 + 80
