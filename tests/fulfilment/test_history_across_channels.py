"""One customer's history across channels (issue 28): an order staff placed for a member at the counter, kiosk or
drive-thru is in the member's "My orders" at once, with its channel, and orders again from the phone as a mobile
cart, what cannot be made today said in words."""

import pytest

from fulfilment import services
from fulfilment.models import Channel, Order
from fulfilment.services import LineRequest

pytestmark = pytest.mark.django_db


def staff_order(menu, barista, customer, channel, *lines) -> Order:
    """An in-store order of `lines` ((item, quantity, options), ...) placed by `barista` for `customer`."""
    order, _ = services.order_place(
        store_id=menu["latte"].store_id, channel=channel, customer=customer, placed_by=barista,
        lines=[LineRequest(item_id=item.pk, quantity=quantity, option_ids=tuple(o.pk for o in options))
               for item, quantity, options in lines])
    return order


def test_a_counter_order_for_a_member_is_in_their_list_at_once(api_as, menu, customer_a, barista_store1):
    counter = staff_order(menu, barista_store1, customer_a, Channel.COUNTER, (menu["latte"], 2, [menu["large"]]))
    drive = staff_order(menu, barista_store1, customer_a, Channel.DRIVE_THRU, (menu["croissant"], 1, []))
    walk_in = staff_order(menu, barista_store1, None, Channel.KIOSK, (menu["drip"], 1, []))

    response = api_as(customer_a).get("/api/orders/")

    assert response.status_code == 200
    listed = {o["id"]: o for o in response.json()}
    assert set(listed) == {counter.pk, drive.pk}  # not the walk-in's
    assert listed[counter.pk]["channel"] == "counter" and listed[counter.pk]["summary"] == "2 × Latte"
    assert listed[counter.pk]["payment"]["status_label"] == "Paid at the till"
    assert listed[drive.pk]["channel"] == "drive_thru"
    assert walk_in.customer_id is None


def test_a_counter_order_orders_again_as_a_mobile_cart(api_as, menu, store, customer_a, barista_store1):
    counter = staff_order(menu, barista_store1, customer_a, Channel.COUNTER,
                          (menu["latte"], 2, [menu["large"], menu["oat"]]), (menu["croissant"], 1, []))
    phone = api_as(customer_a)

    cart = phone.get(f"/api/orders/{counter.pk}/reorder/").json()

    assert cart["store"] == store.pk and cart["available"] is True and cart["changes"] == []
    assert [(line["item_name"], line["quantity"], line["modifiers"]) for line in cart["lines"]] == [
        ("Latte", 2, [menu["large"].pk, menu["oat"].pk]), ("Croissant", 1, [])]
    # The app checks the cart out as its own order: a mobile one, paid in the app, the member's.
    placed = phone.post("/api/orders/", {
        "store": cart["store"], "pickup": "asap",
        "items": [{"item": line["item"], "quantity": line["quantity"], "modifiers": line["modifiers"]}
                  for line in cart["lines"]]}, format="json", HTTP_IDEMPOTENCY_KEY="reorder-1")
    assert placed.status_code == 201, placed.content
    again = Order.objects.get(pk=placed.json()["id"])
    assert (again.channel, again.customer, again.placed_by) == (Channel.MOBILE, customer_a, None)
    assert again.subtotal_minor == counter.subtotal_minor
    assert Order.objects.filter(channel=Channel.COUNTER).count() == 1  # nothing placed at the counter


def test_lines_no_longer_made_are_dropped_with_a_reason(api_as, menu, customer_a, barista_store1):
    drive = staff_order(menu, barista_store1, customer_a, Channel.DRIVE_THRU,
                        (menu["latte"], 1, [menu["small"]]), (menu["croissant"], 1, []), (menu["drip"], 1, []))
    menu["croissant"].eighty_sixed = True
    menu["croissant"].save()
    menu["drip"].is_active = False
    menu["drip"].save()

    cart = api_as(customer_a).get(f"/api/orders/{drive.pk}/reorder/").json()

    assert [line["item_name"] for line in cart["lines"]] == ["Latte"]
    assert {(c["kind"], c["message"]) for c in cart["changes"]} == {
        ("unavailable", "Croissant is unavailable today."),
        ("not_on_menu", "Drip coffee is no longer on the menu.")}


def test_nothing_left_to_make_says_so(api_as, menu, customer_a, barista_store1):
    kiosk = staff_order(menu, barista_store1, customer_a, Channel.KIOSK, (menu["croissant"], 1, []))
    menu["croissant"].eighty_sixed = True
    menu["croissant"].save()

    cart = api_as(customer_a).get(f"/api/orders/{kiosk.pk}/reorder/").json()

    assert cart["available"] is False and cart["lines"] == []
    assert [c["message"] for c in cart["changes"]] == ["Croissant is unavailable today."]


def test_another_customers_counter_order_is_not_theirs_to_see_or_reorder(api_as, menu, customer_a, customer_b,
                                                                         barista_store1):
    counter = staff_order(menu, barista_store1, customer_a, Channel.COUNTER, (menu["drip"], 1, []))
    other = api_as(customer_b)

    assert other.get("/api/orders/").json() == []
    assert other.get(f"/api/orders/{counter.pk}/").status_code == 404
    assert other.get(f"/api/orders/{counter.pk}/reorder/").status_code == 404


def test_the_barista_who_placed_it_does_not_get_it_as_their_own(api_as, menu, customer_a, barista_store1):
    staff_order(menu, barista_store1, customer_a, Channel.COUNTER, (menu["drip"], 1, []))
    barista_as_customer = api_as(barista_store1)

    assert barista_as_customer.get("/api/orders/").json() == []
