"""Order again: a past order's lines re-priced against today's menu and stock, each change said in words,
and the customer's order history ("My orders") with its counts and one-line summaries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfilment import services
from fulfilment.models import Channel
from stores.models import MenuItem, ModifierOption

pytestmark = pytest.mark.django_db


def place(customer, *lines) -> int:
    """Place a mobile order of `lines` ((item, quantity, [options]), ...) for `customer`; its id."""
    store_id = lines[0][0].store_id
    requests = [services.LineRequest(item_id=item.pk, quantity=quantity, option_ids=tuple(o.pk for o in options))
                for item, quantity, options in lines]
    order, _ = services.order_place(store_id=store_id, channel=Channel.MOBILE, lines=requests, customer=customer)
    return order.pk


def reorder(api_as, customer, order_id):
    response = api_as(customer).get(f"/api/orders/{order_id}/reorder/")
    assert response.status_code == 200, response.content
    return response.json()


def change_of(body, kind):
    matching = [change for change in body["changes"] if change["kind"] == kind]
    assert len(matching) == 1, body["changes"]
    return matching[0]


def update(obj, **fields):
    type(obj).objects.filter(pk=obj.pk).update(**fields)


@pytest.fixture
def usual(customer_a, menu):
    """Customer A's usual: 2 large oat lattes and a croissant (450 + 90 + 70 = 610 a latte, 375)."""
    return place(customer_a, (menu["latte"], 2, [menu["large"], menu["oat"]]), (menu["croissant"], 1, []))


def test_unchanged_order_comes_back_as_it_was(api_as, customer_a, menu, store, usual):
    body = reorder(api_as, customer_a, usual)

    assert body["store"] == store.pk and body["store_name"] == "Store One" and body["currency"] == "USD"
    assert body["available"] is True and body["changes"] == []
    assert body["lines"] == [
        {"item": menu["latte"].pk, "item_name": "Latte", "quantity": 2,
         "modifiers": [menu["large"].pk, menu["oat"].pk], "modifier_names": ["Large", "Oat"],
         "unit_price_minor": 610, "was_unit_price_minor": 610},
        {"item": menu["croissant"].pk, "item_name": "Croissant", "quantity": 1, "modifiers": [],
         "modifier_names": [], "unit_price_minor": 375, "was_unit_price_minor": 375}]


def test_a_new_price_is_charged_and_said(api_as, customer_a, menu, usual):
    update(menu["latte"], price_minor=470)

    body = reorder(api_as, customer_a, usual)

    assert body["lines"][0]["unit_price_minor"] == 630 and body["lines"][0]["was_unit_price_minor"] == 610
    change = change_of(body, "price_changed")
    assert change["index"] == 0 and change["item_name"] == "Latte"
    assert change["message"] == "Latte now costs $6.30 USD (was $6.10 USD)."


def test_an_unavailable_optional_option_is_left_out(api_as, customer_a, menu, usual):
    update(menu["oat"], is_available=False)

    body = reorder(api_as, customer_a, usual)

    latte = body["lines"][0]
    assert latte["modifiers"] == [menu["large"].pk] and latte["unit_price_minor"] == 540 and latte["quantity"] == 2
    assert change_of(body, "option_unavailable")["message"] == (
        "Milk: Oat is unavailable today, so your Latte comes without it.")
    assert change_of(body, "price_changed")["message"] == "Latte now costs $5.40 USD (was $6.10 USD)."


def test_an_unavailable_required_option_is_swapped_for_the_default(api_as, customer_a, menu, usual):
    update(menu["large"], is_available=False)

    body = reorder(api_as, customer_a, usual)

    assert body["lines"][0]["modifiers"] == [menu["oat"].pk, menu["small"].pk]
    assert body["lines"][0]["modifier_names"] == ["Oat", "Small"]
    assert change_of(body, "option_unavailable")["message"] == (
        "Size: Large is unavailable today, so your Latte comes with Small instead.")


def test_without_a_default_the_first_available_option_of_a_required_group_is_taken(api_as, customer_a, menu, usual):
    update(menu["large"], is_available=False)
    update(menu["small"], is_default=False)
    medium = ModifierOption.objects.create(group=menu["size"], name="Medium", price_delta_minor=50, position=0)

    body = reorder(api_as, customer_a, usual)

    assert body["lines"][0]["modifier_names"] == ["Oat", "Medium"]
    assert "comes with Medium instead" in change_of(body, "option_unavailable")["message"]
    assert medium.pk in body["lines"][0]["modifiers"]


def test_a_required_group_with_nothing_available_drops_the_line(api_as, customer_a, menu, usual):
    ModifierOption.objects.filter(group=menu["size"]).update(is_available=False)

    body = reorder(api_as, customer_a, usual)

    assert [line["item_name"] for line in body["lines"]] == ["Croissant"]
    change = change_of(body, "option_unavailable")
    assert change["index"] == 0
    assert change["message"] == ("Size: Large is unavailable today and there is no other Size choice, "
                                 "so Latte cannot be made.")


def test_an_86d_item_is_unavailable_today(api_as, customer_a, menu, usual):
    update(menu["croissant"], eighty_sixed=True)

    body = reorder(api_as, customer_a, usual)

    assert [line["item_name"] for line in body["lines"]] == ["Latte"]
    assert change_of(body, "unavailable") == {"index": 1, "item_name": "Croissant", "kind": "unavailable",
                                              "message": "Croissant is unavailable today."}


def test_a_sold_out_item_is_said_so(api_as, customer_a, menu, usual):
    update(menu["croissant"], stock_count=0)

    body = reorder(api_as, customer_a, usual)

    assert change_of(body, "sold_out")["message"] == "Croissant is sold out."
    assert body["available"] is True and len(body["lines"]) == 1


def test_an_item_taken_off_the_menu_is_no_longer_on_it(api_as, customer_a, menu, usual):
    update(menu["latte"], is_active=False, name="Latte (old recipe)")

    body = reorder(api_as, customer_a, usual)

    assert change_of(body, "not_on_menu")["message"] == "Latte is no longer on the menu."


def test_nothing_left_to_order_is_not_available(api_as, customer_a, menu):
    order_id = place(customer_a, (menu["croissant"], 1, []))
    update(menu["croissant"], is_active=False)

    body = reorder(api_as, customer_a, order_id)

    assert body["available"] is False and body["lines"] == []
    assert [change["kind"] for change in body["changes"]] == ["not_on_menu"]


def test_a_stock_shortage_reduces_the_quantity(api_as, customer_a, menu):
    order_id = place(customer_a, (menu["croissant"], 3, []))  # 5 in stock: 2 left after this order

    body = reorder(api_as, customer_a, order_id)

    assert body["lines"][0]["quantity"] == 2
    assert change_of(body, "quantity_reduced")["message"] == "Only 2 × Croissant left, so 2 instead of 3."


def test_stock_is_shared_by_the_lines_of_one_item(api_as, customer_a, menu):
    update(menu["latte"], stock_count=11)
    order_id = place(customer_a, (menu["latte"], 3, [menu["oat"]]), (menu["latte"], 3, [menu["almond"]]),
                     (menu["latte"], 1, []))  # 4 left

    body = reorder(api_as, customer_a, order_id)

    assert [line["quantity"] for line in body["lines"]] == [3, 1]
    assert body["changes"] == [
        {"index": 1, "item_name": "Latte", "kind": "quantity_reduced",
         "message": "Only 4 × Latte left (3 of them in the lines above), so 1 instead of 3."},
        {"index": 2, "item_name": "Latte", "kind": "sold_out",
         "message": "No Latte left for this line: the ones left are in the lines above."}]


def test_a_lower_per_order_limit_reduces_the_quantity(api_as, customer_a, menu):
    order_id = place(customer_a, (menu["drip"], 4, []), (menu["drip"], 3, []))
    update(menu["drip"], max_quantity=5)

    body = reorder(api_as, customer_a, order_id)

    assert [line["quantity"] for line in body["lines"]] == [4, 1]
    assert change_of(body, "quantity_reduced") == {
        "index": 1, "item_name": "Drip coffee", "kind": "quantity_reduced",
        "message": "At most 5 × Drip coffee per order, so 1 instead of 3."}


def test_the_reordered_lines_quote_to_exactly_the_prices_it_said(api, api_as, customer_a, menu, usual):
    update(menu["latte"], price_minor=480)
    update(menu["oat"], is_available=False)
    update(menu["croissant"], stock_count=0)
    update(menu["small"], price_delta_minor=10)
    place(customer_a, (menu["drip"], 1, []))  # another order in between changes nothing of this one
    body = reorder(api_as, customer_a, usual)

    quote = api.post(f"/api/stores/{body['store']}/quote/", {"pickup": "asap", "items": [
        {"item": line["item"], "quantity": line["quantity"], "modifiers": line["modifiers"]}
        for line in body["lines"]]}, format="json")

    assert quote.status_code == 200, quote.json()
    assert quote.json()["subtotal_minor"] == sum(line["unit_price_minor"] * line["quantity"]
                                                 for line in body["lines"]) == 2 * (480 + 90)


def test_another_customers_order_is_not_found(api_as, customer_b, usual):
    response = api_as(customer_b).get(f"/api/orders/{usual}/reorder/")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_staff_get_nothing_special(api_as, barista_store1, usual):
    assert api_as(barista_store1).get(f"/api/orders/{usual}/reorder/").status_code == 404


def test_signed_out_is_refused(api, usual):
    response = api.get(f"/api/orders/{usual}/reorder/")

    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


# --- The order list ("My orders") ----------------------------------------------------------------------------

def test_order_list_has_the_count_and_a_summary(api_as, customer_a, menu, usual):
    [order] = api_as(customer_a).get("/api/orders/").json()

    assert order["id"] == usual and order["created_at"]
    assert order["item_count"] == 3
    assert order["summary"] == "2 × Latte, Croissant"


def test_order_list_reads_the_same_number_of_queries_for_1_and_20_orders(api_as, customer_a, menu):
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=None)
    client = api_as(customer_a)

    def queries_to_list(expected_orders: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/orders/")
        assert response.status_code == 200 and len(response.json()) == expected_orders
        return len(queries)

    place(customer_a, (menu["latte"], 1, [menu["oat"]]), (menu["croissant"], 2, []))
    one = queries_to_list(1)
    for _ in range(19):
        place(customer_a, (menu["latte"], 1, [menu["oat"]]), (menu["croissant"], 2, []))
    assert queries_to_list(20) == one
    assert one <= 6, one
