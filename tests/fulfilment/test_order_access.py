"""Who may see and change which orders: customers their own, staff the orders of their own store."""

import pytest

from fulfilment.models import Order
from stores.models import MenuItem
from tests import factories

pytestmark = pytest.mark.django_db


def cart(menu):
    return {"store": menu["latte"].store_id, "pickup": "asap",
            "items": [{"item": menu["croissant"].pk, "quantity": 1}]}


@pytest.fixture
def order_of(api_as, menu):
    """order_of(customer) -> the id of a fresh mobile order of theirs."""
    def place(customer) -> int:
        response = api_as(customer).post("/api/orders/", cart(menu), format="json", **factories.checkout_key())
        assert response.status_code == 201, response.json()
        return response.json()["id"]
    return place


def staff_body(menu, channel="counter", **extra):
    return {"channel": channel, "items": [{"item": menu["drip"].pk, "quantity": 2}], "pickup": "asap", **extra}


def assert_error(response, status: int, code: str, message: str = ""):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and message in error["message"], error


# --- Customers --------------------------------------------------------------------------------------------------

def test_customer_lists_only_their_own_orders(api_as, customer_a, customer_b, order_of):
    mine = {order_of(customer_a), order_of(customer_a)}
    order_of(customer_b)

    response = api_as(customer_a).get("/api/orders/")

    assert response.status_code == 200
    assert {order["id"] for order in response.json()} == mine


def test_customer_sees_their_own_order(api_as, customer_a, order_of):
    order_id = order_of(customer_a)

    response = api_as(customer_a).get(f"/api/orders/{order_id}/")

    assert response.status_code == 200
    assert response.json()["id"] == order_id and response.json()["status"] == "confirmed"


def test_another_customers_order_is_not_found(api_as, customer_a, customer_b, order_of):
    order_id = order_of(customer_b)

    response = api_as(customer_a).get(f"/api/orders/{order_id}/")

    assert_error(response, 404, "not_found")
    # Indistinguishable from an order that does not exist.
    assert api_as(customer_a).get("/api/orders/999999/").json() == response.json()
    assert api_as(customer_a).get(f"/api/orders/{10**20}/").json() == response.json()


def test_another_customers_order_cannot_be_cancelled(api_as, customer_a, customer_b, order_of, menu):
    order_id = order_of(customer_b)

    response = api_as(customer_a).post(f"/api/orders/{order_id}/cancel/")

    assert_error(response, 404, "not_found")
    assert Order.objects.get(pk=order_id).status == "confirmed"
    assert MenuItem.objects.get(pk=menu["croissant"].pk).stock_count == 4


def test_staff_cannot_read_customer_orders_through_the_customer_api(api_as, barista_store1, customer_a, order_of):
    order_id = order_of(customer_a)

    assert api_as(barista_store1).get(f"/api/orders/{order_id}/").status_code == 404


@pytest.mark.parametrize("method, path", [
    ("get", "/api/orders/"), ("post", "/api/orders/"), ("get", "/api/orders/1/"), ("post", "/api/orders/1/cancel/"),
    ("get", "/api/stores/{store}/orders/"), ("post", "/api/stores/{store}/orders/"),
])
def test_anonymous_requests_are_refused_with_a_json_401(api, store, menu, method, path):
    response = getattr(api, method)(path.format(store=store.pk), {}, format="json")

    assert_error(response, 401, "not_authenticated", "Authentication credentials were not provided")
    assert response["WWW-Authenticate"] == "Token"
    assert not Order.objects.exists()


def test_bad_token_is_a_json_401(api):
    response = api.get("/api/orders/", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(response, 401, "authentication_failed", "Invalid token")


# --- Staff endpoint ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", ["counter", "kiosk", "drive_thru", "delivery"])
def test_barista_places_an_in_store_order_that_enters_confirmed(api_as, barista_store1, store, menu, channel):
    response = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/",
                                           staff_body(menu, channel, customer_name="Sam"), format="json",
                                           **factories.checkout_key())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["channel"], body["status"], body["customer_name"]) == (channel, "confirmed", "Sam")
    assert [(e["kind"], e["to_status"]) for e in body["events"]] == [("created", "confirmed")]
    order = Order.objects.get(pk=body["id"])
    assert order.placed_by == barista_store1 and order.customer is None
    assert order.slot_starts_at is None  # in-store orders do not take mobile pickup slots


def test_mobile_channel_is_refused_on_the_staff_endpoint(api_as, barista_store1, store, menu):
    response = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", staff_body(menu, "mobile"),
                                           format="json", **factories.checkout_key())

    assert_error(response, 400, "invalid", "channel")
    assert not Order.objects.exists()


def test_staff_order_needs_a_channel(api_as, barista_store1, store, menu):
    body = staff_body(menu)
    del body["channel"]

    response = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", body, format="json",
                                           **factories.checkout_key())

    assert_error(response, 400, "invalid", "channel")


def test_manager_of_another_store_is_refused(api_as, manager_store2, store, menu):
    client = api_as(manager_store2)

    placed = client.post(f"/api/stores/{store.pk}/orders/", staff_body(menu), format="json", **factories.checkout_key())
    listed = client.get(f"/api/stores/{store.pk}/orders/")

    assert_error(placed, 403, "permission_denied", "You are not on the staff of this store")
    assert_error(listed, 403, "permission_denied", "You are not on the staff of this store")
    assert not Order.objects.exists()


def test_manager_works_at_their_own_store(api_as, manager_store2, store2):
    factories.move_to_midday(store2)
    menu2 = factories.coffee_menu(store2)

    response = api_as(manager_store2).post(f"/api/stores/{store2.pk}/orders/", staff_body(menu2), format="json",
                                           **factories.checkout_key())

    assert response.status_code == 201, response.json()
    assert response.json()["store"] == store2.pk


def test_customer_is_refused_on_the_staff_endpoint(api_as, customer_a, store, menu):
    client = api_as(customer_a)

    assert_error(client.post(f"/api/stores/{store.pk}/orders/", staff_body(menu), format="json",
                             **factories.checkout_key()),
                 403, "permission_denied")
    assert_error(client.get(f"/api/stores/{store.pk}/orders/"), 403, "permission_denied")
    assert not Order.objects.exists()


@pytest.mark.parametrize("store_id", [999_999, 10**20])  # the second overflowed the database: a 500
def test_staff_endpoint_of_an_unknown_store_is_refused(api_as, barista_store1, menu, store_id):
    client = api_as(barista_store1)

    assert_error(client.get(f"/api/stores/{store_id}/orders/"), 403, "permission_denied")
    assert_error(client.post(f"/api/stores/{store_id}/orders/", staff_body(menu), format="json",
                             **factories.checkout_key()),
                 403, "permission_denied")


def test_barista_lists_the_open_orders_of_their_store_only(api_as, barista_store1, store, store2, menu,
                                                          customer_a, order_of):
    client = api_as(barista_store1)
    mobile_id = order_of(customer_a)
    counter_id, done_id = (client.post(f"/api/stores/{store.pk}/orders/", staff_body(menu), format="json",
                                       **factories.checkout_key()).json()["id"] for _ in range(2))
    Order.objects.filter(pk=done_id).update(status="picked_up")
    factories.move_to_midday(store2)
    menu2 = factories.coffee_menu(store2)
    other_store = api_as(customer_a).post("/api/orders/", cart(menu2), format="json", **factories.checkout_key())
    assert other_store.status_code == 201

    response = client.get(f"/api/stores/{store.pk}/orders/")

    assert response.status_code == 200
    assert {order["id"] for order in response.json()} == {mobile_id, counter_id}


def test_in_store_orders_are_taken_while_mobile_ordering_is_paused(api_as, barista_store1, customer_a, store, menu):
    store.mobile_paused, store.pause_reason = True, "Line out the door"
    store.save()

    mobile = api_as(customer_a).post("/api/orders/", cart(menu), format="json", **factories.checkout_key())
    counter = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", staff_body(menu), format="json",
                                          **factories.checkout_key())

    assert_error(mobile, 409, "store_paused", "Line out the door")
    assert counter.status_code == 201, counter.json()
    assert counter.json()["status"] == "confirmed"


def test_staff_order_gets_the_same_validation(api_as, barista_store1, store, menu):
    MenuItem.objects.filter(pk=menu["drip"].pk).update(eighty_sixed=True)

    response = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", staff_body(menu), format="json",
                                           **factories.checkout_key())

    assert_error(response, 409, "item_unavailable", "Drip coffee is temporarily unavailable")
    assert not Order.objects.exists()


def test_staff_order_cannot_set_server_owned_fields(api_as, barista_store1, store, menu):
    response = api_as(barista_store1).post(
        f"/api/stores/{store.pk}/orders/",
        staff_body(menu, status="picked_up", total_minor=1, store=999, promised_ready_at="2000-01-01T00:00:00Z"),
        format="json", **factories.checkout_key())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["total_minor"], body["store"]) == ("confirmed", 500, store.pk)
    assert not body["promised_ready_at"].startswith("2000")
