"""Bad orders are refused with a clear 4xx JSON error and change nothing.

Every refused cart below also holds a croissant (5 in stock), so a partial write would show
as a missing unit. The store is moved to a zone where it is about noon, so the opening-hours
cases never run near a local midnight.
"""

import datetime as dt
import uuid

import pytest

from fulfilment.models import Order, OrderLine
from fulfilment.services import cart_price
from orderahead.errors import DomainError
from stores.models import MenuItem, ModifierGroup, ModifierOption
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_as, customer_a):
    """Customer A at one checkout: every order request carries that checkout's Idempotency-Key, as the
    API requires (a refused request leaves no order, so the key is free for the next try)."""
    client = api_as(customer_a)
    client.credentials(HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    return client


def order_body(menu, *lines, pickup="asap"):
    return {"store": menu["latte"].store_id,
            "items": [{"item": menu["croissant"].pk, "quantity": 1}, *lines], "pickup": pickup}


def iso_in(**delta) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat()


def assert_refused(response, status: int, code: str, *message_parts: str, menu, stock: int = 5) -> dict:
    """The answer is the API's JSON error, and neither an order nor a stock change was left behind."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    for part in message_parts:
        assert part in error["message"], error
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    assert MenuItem.objects.get(pk=menu["croissant"].pk).stock_count == stock
    return error


# --- Items and quantities ------------------------------------------------------------------------------------

def test_unknown_item_is_refused(client, menu):
    response = client.post("/api/orders/", order_body(menu, {"item": 999_999, "quantity": 1}), format="json")

    error = assert_refused(response, 400, "unknown_item", "Item 999999 is not on the menu of Store One", menu=menu)
    assert error["fields"] == {"items": {"1": "unknown item"}}


def test_item_of_another_store_is_refused(client, menu, store2):
    foreign = factories.MenuItemFactory(store=store2, name="Store Two Mocha")

    response = client.post("/api/orders/", order_body(menu, {"item": foreign.pk, "quantity": 1}), format="json")

    assert_refused(response, 400, "unknown_item", f"Item {foreign.pk} is not on the menu", menu=menu)


def test_item_taken_off_the_menu_is_refused(client, menu):
    MenuItem.objects.filter(pk=menu["drip"].pk).update(is_active=False)

    response = client.post("/api/orders/", order_body(menu, {"item": menu["drip"].pk, "quantity": 1}), format="json")

    assert_refused(response, 400, "unknown_item", "not on the menu", menu=menu)


@pytest.mark.parametrize("quantity, code, message", [
    (0, "invalid", "greater than or equal to 1"),
    (-3, "invalid", "greater than or equal to 1"),
    (11, "bad_quantity", "Quantity of Drip coffee must be between 1 and 10"),  # max_quantity is 10
    (100, "invalid", "less than or equal to 99"),
])
def test_quantity_out_of_range_is_refused(client, menu, quantity, code, message):
    response = client.post("/api/orders/", order_body(menu, {"item": menu["drip"].pk, "quantity": quantity}),
                           format="json")

    assert_refused(response, 400, code, message, menu=menu)


def test_lines_of_one_item_count_together_against_its_limit(client, menu):
    """Drip coffee is limited to 10 an order: two lines of 6 are 12, not two sixes."""
    six_drips = {"item": menu["drip"].pk, "quantity": 6}

    response = client.post("/api/orders/", order_body(menu, six_drips, six_drips), format="json")

    error = assert_refused(response, 400, "bad_quantity", "At most 10 x Drip coffee per order (this cart has 12)",
                           menu=menu)
    assert error["fields"] == {"items": {"1": "at most 10 x Drip coffee per order", "2": "at most 10 x Drip coffee "
                                         "per order"}, "item": menu["drip"].pk, "max_quantity": 10}


def test_lines_of_one_item_up_to_its_limit_are_accepted(client, menu):
    lattes = [{"item": menu["latte"].pk, "quantity": 5, "modifiers": [menu[size].pk]} for size in ("small", "large")]

    response = client.post("/api/orders/", order_body(menu, *lattes), format="json")

    assert response.status_code == 201, response.json()
    assert sum(line["quantity"] for line in response.json()["lines"] if line["item"] == menu["latte"].pk) == 10


def test_staff_order_counts_lines_of_one_item_together(api_as, barista_store1, store, menu):
    body = {"channel": "counter", "pickup": "asap", "items": [{"item": menu["drip"].pk, "quantity": 10},
                                                              {"item": menu["drip"].pk, "quantity": 1}]}

    response = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", body, format="json",
                                           HTTP_IDEMPOTENCY_KEY="till-1")

    assert_refused(response, 400, "bad_quantity", "At most 10 x Drip coffee per order (this cart has 11)", menu=menu)


def test_quote_counts_lines_of_one_item_together(api, store, menu):
    """The quote refuses the cart the order would refuse, with the same words."""
    body = {"pickup": "asap", "items": [{"item": menu["drip"].pk, "quantity": 6}] * 2}

    response = api.post(f"/api/stores/{store.pk}/quote/", body, format="json")

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "bad_quantity" and "At most 10 x Drip coffee per order" in error["message"]
    assert error["fields"]["item"] == menu["drip"].pk


def test_more_than_fifty_units_in_one_order_is_refused(client, menu):
    lines = [{"item": menu["drip"].pk, "quantity": 10}] * 5  # + 1 croissant = 51

    response = client.post("/api/orders/", order_body(menu, *lines), format="json")

    assert_refused(response, 400, "order_too_large", "At most 50 items per order (this cart has 51)", menu=menu)


def test_empty_cart_is_refused(client, menu):
    response = client.post("/api/orders/", {"store": menu["latte"].store_id, "items": [], "pickup": "asap"},
                           format="json")

    assert_refused(response, 400, "invalid", "items", "empty", menu=menu)


def test_cart_without_items_key_is_refused(client, menu):
    response = client.post("/api/orders/", {"store": menu["latte"].store_id}, format="json")

    assert_refused(response, 400, "invalid", "items", "required", menu=menu)


def test_empty_cart_is_refused_by_the_service_too(store, menu):
    with pytest.raises(DomainError) as refused:
        cart_price(store=store, lines=[])

    assert refused.value.code == "empty_cart" and refused.value.status == 400


# --- Modifiers ------------------------------------------------------------------------------------------------

def test_modifier_of_another_item_is_refused(client, menu):
    line = {"item": menu["drip"].pk, "quantity": 1, "modifiers": [menu["large"].pk]}

    response = client.post("/api/orders/", order_body(menu, line), format="json")

    assert_refused(response, 400, "bad_modifiers", f"Modifier {menu['large'].pk} is not offered for Drip coffee",
                   menu=menu)


def test_unknown_modifier_is_refused(client, menu):
    line = {"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["small"].pk, 999_999]}

    response = client.post("/api/orders/", order_body(menu, line), format="json")

    assert_refused(response, 400, "bad_modifiers", "Modifier 999999 is not offered for Latte", menu=menu)


def test_modifier_of_another_store_is_refused(client, menu, store2):
    group = ModifierGroup.objects.create(store=store2, name="Syrup", min_choices=0, max_choices=3)
    vanilla = ModifierOption.objects.create(group=group, name="Vanilla")
    line = {"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["small"].pk, vanilla.pk]}

    response = client.post("/api/orders/", order_body(menu, line), format="json")

    assert_refused(response, 400, "bad_modifiers", "not offered for Latte", menu=menu)


def test_unavailable_modifier_is_a_conflict(client, menu):
    ModifierOption.objects.filter(pk=menu["oat"].pk).update(is_available=False)
    line = {"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["small"].pk, menu["oat"].pk]}

    response = client.post("/api/orders/", order_body(menu, line), format="json")

    assert_refused(response, 409, "modifier_unavailable", "Milk: Oat is unavailable", menu=menu)


@pytest.mark.parametrize("chosen, message", [
    (["oat", "almond", "small"], "Latte: choose between 0 and 1 for Milk (got 2)"),
    (["small", "large"], "Latte: choose exactly 1 for Size (got 2)"),
])
def test_too_many_choices_in_a_group_are_refused(client, menu, chosen, message):
    line = {"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu[name].pk for name in chosen]}

    response = client.post("/api/orders/", order_body(menu, line), format="json")

    assert_refused(response, 400, "bad_modifiers", message, menu=menu)


def test_duplicate_modifier_is_refused(client, menu):
    line = {"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["oat"].pk, menu["oat"].pk]}

    response = client.post("/api/orders/", order_body(menu, line), format="json")

    assert_refused(response, 400, "bad_modifiers", "A modifier was chosen twice for Latte", menu=menu)


def test_required_choice_with_a_default_is_filled_in(client, menu):
    response = client.post("/api/orders/", {"store": menu["latte"].store_id, "pickup": "asap",
                                            "items": [{"item": menu["latte"].pk, "quantity": 1}]}, format="json")

    assert response.status_code == 201, response.json()
    line = response.json()["lines"][0]
    assert [(m["group"], m["option"]) for m in line["modifiers"]] == [("Size", "Small")]
    assert line["unit_price_minor"] == 450


def test_required_choice_without_a_default_is_refused(client, menu):
    ModifierOption.objects.filter(pk=menu["small"].pk).update(is_default=False)

    response = client.post("/api/orders/", order_body(menu, {"item": menu["latte"].pk, "quantity": 1}),
                           format="json")

    assert_refused(response, 400, "bad_modifiers", "Latte: choose exactly 1 for Size (got 0)", menu=menu)


def test_required_choice_whose_default_is_unavailable_is_refused(client, menu):
    ModifierOption.objects.filter(pk=menu["small"].pk).update(is_available=False)

    response = client.post("/api/orders/", order_body(menu, {"item": menu["latte"].pk, "quantity": 1}),
                           format="json")

    assert_refused(response, 400, "bad_modifiers", "choose exactly 1 for Size (got 0)", menu=menu)


# --- Pickup time ----------------------------------------------------------------------------------------------

def test_pickup_in_the_past_is_refused(client, menu):
    response = client.post("/api/orders/", order_body(menu, pickup=iso_in(hours=-1)), format="json")

    assert_refused(response, 400, "pickup_in_past", "The pickup time is in the past", menu=menu)


def test_pickup_more_than_seven_days_ahead_is_refused(client, menu):
    response = client.post("/api/orders/", order_body(menu, pickup=iso_in(days=7, hours=1)), format="json")

    assert_refused(response, 400, "pickup_too_far", "at most 7 days ahead", menu=menu)


def test_pickup_six_days_ahead_is_accepted(client, menu):
    response = client.post("/api/orders/", order_body(menu, pickup=iso_in(days=6)), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["pickup_kind"] == "scheduled"


def test_pickup_sooner_than_the_lead_time_is_refused(client, menu):
    response = client.post("/api/orders/", order_body(menu, pickup=iso_in(minutes=2)), format="json")

    assert_refused(response, 400, "pickup_too_soon", "at least 5 minutes' notice", menu=menu)


def test_pickup_outside_opening_hours_is_refused(client, store, menu):
    factories.set_hours(store, (dt.time(6), dt.time(18)))  # it is about noon there
    evening = factories.local_now(store).replace(hour=20, minute=0, second=0, microsecond=0)

    response = client.post("/api/orders/", order_body(menu, pickup=evening.isoformat()), format="json")

    assert_refused(response, 400, "outside_opening_hours", f"Store One is closed at {evening:%a %d %b} 20:00",
                   menu=menu)


def test_pickup_in_store_local_time_without_offset_is_understood(client, store, menu):
    """A naive time is the store's wall-clock time: 20:00 there is closed, 15:00 is open."""
    factories.set_hours(store, (dt.time(6), dt.time(18)))
    today = factories.local_now(store).date()

    closed = client.post("/api/orders/", order_body(menu, pickup=f"{today}T20:00:00"), format="json")
    assert_refused(closed, 400, "outside_opening_hours", menu=menu)

    open_ = client.post("/api/orders/", order_body(menu, pickup=f"{today}T15:00:00"), format="json")
    assert open_.status_code == 201, open_.json()
    promised = dt.datetime.fromisoformat(open_.json()["promised_ready_at"]).astimezone(store.tz)
    assert (promised.hour, promised.minute) == (15, 0)


def test_asap_while_closed_is_refused_with_the_opening_time(client, store, menu):
    factories.set_hours(store, (dt.time(16), dt.time(18)))  # it is about noon there

    response = client.post("/api/orders/", order_body(menu), format="json")

    assert_refused(response, 409, "store_closed", "Store One is closed; it opens at", "16:00", menu=menu)


def test_asap_that_would_be_ready_after_closing_is_refused(client, store, menu):
    closing = (factories.local_now(store) + dt.timedelta(seconds=90)).time().replace(microsecond=0)
    factories.set_hours(store, (dt.time(6), closing))
    ten_lattes = {"item": menu["latte"].pk, "quantity": 10}  # 10 min of work on 2 lanes

    response = client.post("/api/orders/", order_body(menu, ten_lattes), format="json")

    assert_refused(response, 409, "store_closing",
                   f"The kitchen cannot have this ready before closing at {closing:%H:%M}", menu=menu)


# --- Paused store ----------------------------------------------------------------------------------------------

def test_paused_store_refuses_mobile_orders_with_its_reason(client, store, menu):
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    store.mobile_paused, store.pause_reason, store.paused_until = True, "Espresso machine is being fixed", until
    store.save()

    response = client.post("/api/orders/", order_body(menu), format="json")

    error = assert_refused(response, 409, "store_paused", "Mobile ordering is paused: Espresso machine is being fixed",
                           menu=menu)
    assert error["fields"]["reason"] == "Espresso machine is being fixed"
    assert dt.datetime.fromisoformat(error["fields"]["paused_until"]) == until


def test_paused_store_refuses_scheduled_mobile_orders_too(client, store, menu):
    store.mobile_paused, store.pause_reason = True, "Short-staffed"
    store.save()

    response = client.post("/api/orders/", order_body(menu, pickup=iso_in(hours=2)), format="json")

    assert_refused(response, 409, "store_paused", "Short-staffed", menu=menu)


def test_pause_without_a_reason_still_says_what_to_do(client, store, menu):
    store.mobile_paused = True
    store.save()

    response = client.post("/api/orders/", order_body(menu), format="json")

    assert_refused(response, 409, "store_paused", "please order at the counter", menu=menu)


def test_pause_whose_end_time_has_passed_no_longer_refuses(client, store, menu):
    store.mobile_paused, store.pause_reason = True, "Back soon"
    store.paused_until = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    store.save()

    response = client.post("/api/orders/", order_body(menu), format="json")

    assert response.status_code == 201, response.json()
    assert MenuItem.objects.get(pk=menu["croissant"].pk).stock_count == 4


# --- Availability ----------------------------------------------------------------------------------------------

def test_eighty_sixed_item_is_a_conflict(client, menu):
    MenuItem.objects.filter(pk=menu["latte"].pk).update(eighty_sixed=True)

    response = client.post("/api/orders/", order_body(menu, {"item": menu["latte"].pk, "quantity": 1}),
                           format="json")

    error = assert_refused(response, 409, "item_unavailable", "Latte is temporarily unavailable", menu=menu)
    assert error["fields"] == {"items": {"1": "temporarily unavailable"}, "item": menu["latte"].pk}


def test_sold_out_item_is_a_conflict(client, menu):
    MenuItem.objects.filter(pk=menu["croissant"].pk).update(stock_count=0)

    response = client.post("/api/orders/", order_body(menu), format="json")

    error = assert_refused(response, 409, "out_of_stock", "Croissant is sold out", menu=menu, stock=0)
    assert error["fields"] == {"items": {"0": "sold out"}, "item": menu["croissant"].pk, "available": 0}


def test_more_than_the_stock_left_is_a_conflict(client, menu):
    # Two lines of the same item count together: 1 + 5 > 5.
    response = client.post("/api/orders/", order_body(menu, {"item": menu["croissant"].pk, "quantity": 5}),
                           format="json")

    assert_refused(response, 409, "out_of_stock", "Only 5 x Croissant left", menu=menu)


# --- Malformed requests ----------------------------------------------------------------------------------------

def test_malformed_json_is_a_json_400(client, menu):
    response = client.post("/api/orders/", '{"store": 1, "items": [', content_type="application/json")

    assert_refused(response, 400, "parse_error", "JSON parse error", menu=menu)


def test_form_encoded_body_is_refused_as_unsupported(client, menu):
    response = client.post("/api/orders/", {"store": menu["latte"].store_id}, format="multipart")

    assert_refused(response, 415, "unsupported_media_type", "multipart/form-data", menu=menu)


def _wrong(menu, **changes):
    body = order_body(menu)
    body.update(changes)
    return body


@pytest.mark.parametrize("make_body, field", [
    (lambda m: [order_body(m)], "Expected a dictionary"),
    (lambda m: _wrong(m, items="latte"), "items"),
    (lambda m: _wrong(m, items=None), "items"),
    (lambda m: _wrong(m, items=[5]), "items"),
    (lambda m: _wrong(m, items=[{"item": "latte", "quantity": 1}]), "items"),
    (lambda m: _wrong(m, items=[{"item": m["drip"].pk, "quantity": "two"}]), "items"),
    (lambda m: _wrong(m, items=[{"item": m["drip"].pk, "quantity": 1.5}]), "items"),
    (lambda m: _wrong(m, items=[{"item": m["drip"].pk}]), "items"),
    (lambda m: _wrong(m, items=[{"item": m["latte"].pk, "quantity": 1, "modifiers": "oat"}]), "items"),
    (lambda m: _wrong(m, items=[{"item": m["latte"].pk, "quantity": 1, "modifiers": [None]}]), "items"),
    (lambda m: _wrong(m, items=[{"item": 2**40, "quantity": 1}]), "items"),
    (lambda m: _wrong(m, store="one"), "store"),
    (lambda m: _wrong(m, store=None), "store"),
    (lambda m: _wrong(m, store=0), "store"),
    (lambda m: _wrong(m, store=2**40), "store"),
    (lambda m: _wrong(m, pickup=12345), "pickup"),
    (lambda m: _wrong(m, pickup="tomorrow morning"), "pickup"),
    (lambda m: _wrong(m, pickup="2026-02-30T10:00:00"), "pickup"),
    (lambda m: _wrong(m, pickup="x" * 100), "pickup"),
    (lambda m: _wrong(m, customer_name="n" * 81), "customer_name"),
], ids=["list-body", "items-string", "items-null", "line-not-object", "item-string", "quantity-word",
        "quantity-fraction", "quantity-missing", "modifiers-string", "modifier-null", "item-id-huge", "store-string",
        "store-null", "store-zero", "store-huge", "pickup-number", "pickup-words", "pickup-no-such-day",
        "pickup-long", "name-too-long"])
def test_wrong_types_are_a_400_naming_the_field(client, menu, make_body, field):
    response = client.post("/api/orders/", make_body(menu), format="json")

    assert_refused(response, 400, "invalid", field, menu=menu)


@pytest.mark.parametrize("zone, pickup, code", [
    ("Etc/GMT+12", "9999-12-31T23:59:59", "pickup_too_far"),  # store-local time, after year 9999 in UTC
    ("Etc/GMT+12", "9999-12-31T23:59:59-08:00", "pickup_too_far"),
    ("Etc/GMT-14", "9999-12-31T23:59:59+00:00", "pickup_too_far"),  # fine in UTC, after 9999 in the store
    ("Etc/GMT-14", "0001-01-01T00:00:00", "pickup_in_past"),
    ("Etc/GMT+12", "0001-01-01T00:00:00+05:00", "pickup_in_past"),
    ("Etc/GMT+12", "0001-01-01T06:00:00+00:00", "pickup_in_past"),  # fine in UTC, before year 1 in the store
])
def test_pickup_at_the_edge_of_the_calendar_is_a_400_not_a_500(client, store, menu, zone, pickup, code):
    store.timezone = zone
    store.save()

    response = client.post("/api/orders/", order_body(menu, pickup=pickup), format="json")

    assert_refused(response, 400, code, menu=menu)


def test_unknown_store_is_a_404(client, menu):
    response = client.post("/api/orders/", order_body(menu) | {"store": 999_999}, format="json")

    assert_refused(response, 404, "unknown_store", "Store 999999 does not exist", menu=menu)
