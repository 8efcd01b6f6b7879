"""Every error about one cart line names the line (its index in the request's items), as the quote and the
order both give it: the app can mark the line that needs fixing."""

import pytest

from stores.models import MenuItem, ModifierOption

pytestmark = pytest.mark.django_db


def quote_error(api, store, items) -> dict:
    response = api.post(f"/api/stores/{store.pk}/quote/", {"items": items}, format="json")
    assert 400 <= response.status_code < 500, response.json()
    return response.json()["error"]


def test_an_86d_item_names_its_line(api, store, menu):
    MenuItem.objects.filter(pk=menu["latte"].pk).update(eighty_sixed=True)

    error = quote_error(api, store, [{"item": menu["drip"].pk, "quantity": 1},
                                     {"item": menu["latte"].pk, "quantity": 1}])

    assert error["code"] == "item_unavailable" and error["message"] == "Latte is temporarily unavailable."
    assert error["fields"]["items"] == {"1": "temporarily unavailable"}


def test_an_item_out_of_stock_names_every_line_of_it(api, store, menu):
    error = quote_error(api, store, [{"item": menu["croissant"].pk, "quantity": 3},
                                     {"item": menu["drip"].pk, "quantity": 1},
                                     {"item": menu["croissant"].pk, "quantity": 3}])

    assert error["code"] == "out_of_stock" and error["message"] == "Only 5 x Croissant left."
    assert error["fields"]["items"] == {"0": "only 5 left", "2": "only 5 left"}
    assert (error["fields"]["item"], error["fields"]["available"]) == (menu["croissant"].pk, 5)


def test_an_unavailable_option_names_its_line(api, store, menu):
    ModifierOption.objects.filter(pk=menu["oat"].pk).update(is_available=False)

    error = quote_error(api, store, [{"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["oat"].pk]}])

    assert error["code"] == "modifier_unavailable" and error["message"] == "Milk: Oat is unavailable right now."
    assert error["fields"]["items"] == {"0": "Oat unavailable"}


@pytest.mark.parametrize("line, code", [
    ({"item": 999_999, "quantity": 1}, "unknown_item"),
    ({"item": "latte", "quantity": 11}, "bad_quantity"),
    ({"item": "latte", "quantity": 1, "modifiers": [999_999]}, "bad_modifiers"),
])
def test_the_other_line_errors_name_their_line_too(api, store, menu, line, code):
    if line["item"] == "latte":
        line = {**line, "item": menu["latte"].pk}

    error = quote_error(api, store, [{"item": menu["drip"].pk, "quantity": 1}, line])

    assert error["code"] == code and "1" in error["fields"]["items"]
