"""Favourites: saved only when a cart could take them (the cart's own errors otherwise), listed with today's
price and availability and the reason when they cannot be ordered, and each customer's own."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfilment.models import Favourite
from stores.models import MenuItem, ModifierOption

pytestmark = pytest.mark.django_db


def save(client, item, quantity=1, modifiers=()):
    return client.post("/api/favourites/", {"item": item.pk, "quantity": quantity,
                                            "modifiers": [o.pk for o in modifiers]}, format="json")


def assert_error(response, status: int, code: str, message: str = ""):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error


def test_a_favourite_is_saved_with_the_defaults_the_cart_fills_in(api_as, customer_a, menu, store):
    response = save(api_as(customer_a), menu["latte"], 2, [menu["oat"]])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {"id": body["id"], "store": store.pk, "store_name": "Store One", "item": menu["latte"].pk,
                    "item_name": "Latte", "quantity": 2, "modifiers": [menu["oat"].pk, menu["small"].pk],
                    "modifier_names": ["Oat", "Small"], "unit_price_minor": 520, "currency": "USD",
                    "available": True, "unavailable_reason": ""}
    saved = Favourite.objects.get(pk=body["id"])
    assert saved.user == customer_a and saved.option_ids == [menu["oat"].pk, menu["small"].pk]


def test_the_same_favourite_saved_twice_is_the_first_one(api_as, customer_a, menu):
    client = api_as(customer_a)
    first = save(client, menu["latte"], 1, [menu["small"], menu["oat"]])
    again = save(client, menu["latte"], 1, [menu["oat"]])  # the same once the default size is filled in

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and Favourite.objects.count() == 1


@pytest.mark.parametrize("body, status, code, message", [
    ({"item": 999999, "quantity": 1}, 400, "unknown_item", "Item 999999 is not on any menu"),
    ({"item": "latte", "quantity": 1}, 400, "invalid", "item"),
    ({"item": "LATTE", "quantity": 0}, 400, "invalid", "quantity"),
    ({"item": "LATTE", "quantity": 11}, 400, "bad_quantity", "Quantity of Latte must be between 1 and 10"),
    ({"item": "LATTE", "modifiers": ["SMALL", "LARGE"]}, 400, "bad_modifiers", "choose exactly 1 for Size"),
    ({"item": "LATTE", "modifiers": ["OAT", "OAT"]}, 400, "bad_modifiers", "A modifier was chosen twice"),
    ({"item": "DRIP", "modifiers": ["OAT"]}, 400, "bad_modifiers", "is not offered for Drip coffee"),
])
def test_a_favourite_is_checked_like_a_cart_line(api_as, customer_a, menu, body, status, code, message):
    def real(value):
        return menu[value.lower()].pk if isinstance(value, str) and value.isupper() else value
    body = {key: [real(v) for v in value] if isinstance(value, list) else real(value) for key, value in body.items()}

    assert_error(api_as(customer_a).post("/api/favourites/", body, format="json"), status, code, message)
    assert not Favourite.objects.exists()


def test_an_inactive_item_gives_the_carts_answer(api_as, customer_a, menu):
    MenuItem.objects.filter(pk=menu["drip"].pk).update(is_active=False)

    assert_error(save(api_as(customer_a), menu["drip"]), 400, "unknown_item", "is not on the menu of Store One")


def test_what_cannot_be_ordered_now_is_a_conflict(api_as, customer_a, menu):
    client = api_as(customer_a)
    MenuItem.objects.filter(pk=menu["drip"].pk).update(eighty_sixed=True)
    ModifierOption.objects.filter(pk=menu["almond"].pk).update(is_available=False)

    assert_error(save(client, menu["drip"]), 409, "item_unavailable", "Drip coffee is temporarily unavailable")
    assert_error(save(client, menu["latte"], 1, [menu["almond"]]), 409, "modifier_unavailable",
                 "Milk: Almond is unavailable right now")
    assert_error(save(client, menu["croissant"], 6), 409, "out_of_stock", "Only 5 x Croissant left")


def test_the_list_shows_todays_price_and_why_a_favourite_cannot_be_ordered(api_as, customer_a, menu):
    client = api_as(customer_a)
    for item, quantity, options in [(menu["latte"], 1, [menu["large"], menu["oat"]]), (menu["drip"], 1, []),
                                    (menu["croissant"], 2, []), (menu["latte"], 1, [menu["almond"]])]:
        assert save(client, item, quantity, options).status_code == 201
    MenuItem.objects.filter(pk=menu["latte"].pk).update(price_minor=500)
    MenuItem.objects.filter(pk=menu["drip"].pk).update(eighty_sixed=True)
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=1)
    ModifierOption.objects.filter(pk=menu["almond"].pk).update(is_available=False)

    listed = client.get("/api/favourites/").json()

    shown = [(f["item_name"], f["modifier_names"], f["unit_price_minor"], f["available"], f["unavailable_reason"])
             for f in listed]
    assert shown == [  # newest first
        ("Latte", ["Almond", "Small"], 570, False, "Milk: Almond is unavailable right now."),
        ("Croissant", [], 375, False, "Only 1 × Croissant left."),
        ("Drip coffee", [], 250, False, "Temporarily unavailable"),
        ("Latte", ["Large", "Oat"], 660, True, ""),
    ]
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=0)
    MenuItem.objects.filter(pk=menu["latte"].pk).update(is_active=False)
    reasons = [f["unavailable_reason"] for f in client.get("/api/favourites/").json()]
    assert reasons == ["Not on the menu", "Sold out", "Temporarily unavailable", "Not on the menu"]


def test_the_list_reads_the_same_number_of_queries_for_1_and_10_favourites(api_as, customer_a, menu):
    client = api_as(customer_a)

    def queries_to_list(expected: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get("/api/favourites/").json()) == expected
        return len(queries)

    assert save(client, menu["latte"], 1, [menu["oat"]]).status_code == 201
    one = queries_to_list(1)
    for quantity in range(2, 11):
        assert save(client, menu["latte"], quantity, [menu["oat"]]).status_code == 201
    assert queries_to_list(10) == one


def test_customers_see_and_delete_only_their_own(api_as, customer_a, customer_b, menu):
    mine = save(api_as(customer_a), menu["drip"]).json()["id"]
    theirs = save(api_as(customer_b), menu["latte"]).json()["id"]

    assert [f["id"] for f in api_as(customer_a).get("/api/favourites/").json()] == [mine]
    assert_error(api_as(customer_a).delete(f"/api/favourites/{theirs}/"), 404, "not_found")
    assert Favourite.objects.filter(pk=theirs).exists()

    assert api_as(customer_a).delete(f"/api/favourites/{mine}/").status_code == 204
    assert not Favourite.objects.filter(pk=mine).exists()
    assert_error(api_as(customer_a).delete(f"/api/favourites/{mine}/"), 404, "not_found")


def test_signed_out_is_refused(api, customer_a, menu):
    assert_error(api.get("/api/favourites/"), 401, "not_authenticated")
    assert_error(api.post("/api/favourites/", {"item": menu["drip"].pk}, format="json"), 401, "not_authenticated")
    assert_error(api.delete("/api/favourites/1/"), 401, "not_authenticated")


def test_at_most_fifty_favourites(api_as, customer_a, menu, monkeypatch):
    from fulfilment.services import favourites

    monkeypatch.setattr(favourites, "MAX_FAVOURITES_PER_CUSTOMER", 2)
    client = api_as(customer_a)
    assert save(client, menu["drip"], 1).status_code == 201
    assert save(client, menu["drip"], 2).status_code == 201

    assert_error(save(client, menu["drip"], 3), 409, "too_many_favourites", "at most 2 favourites")
    assert save(client, menu["drip"], 2).status_code == 200  # one already saved is still found
