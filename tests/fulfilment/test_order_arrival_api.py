"""POST /api/orders/{id}/arrival/: the customer says "on my way, N minutes" or "I'm here"; checkout's
"make it when I arrive" where the store offers it."""

import pytest

from fulfilment.models import Order, OrderEvent, OrderStatus, StoreEvent, StoreFulfilmentSettings
from tests import factories

pytestmark = pytest.mark.django_db


def cart(menu, **extra):
    return {"store": menu["latte"].store_id, "pickup": "asap", "items": [{"item": menu["latte"].pk, "quantity": 1}],
            **extra}


@pytest.fixture
def offers(store):
    return StoreFulfilmentSettings.objects.create(store=store, offers_fire_on_arrival=True)


@pytest.fixture
def order_id(api_as, menu, customer_a):
    response = api_as(customer_a).post("/api/orders/", cart(menu), format="json", **factories.checkout_key())
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def arrival(client, order_id, body):
    return client.post(f"/api/orders/{order_id}/arrival/", body, format="json")


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code, response.json()


def test_on_my_way_records_the_eta_writes_an_event_and_tells_the_screens(api_as, customer_a, order_id):
    seq_before = StoreEvent.objects.count()
    response = arrival(api_as(customer_a), order_id, {"eta_minutes": 8})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["customer_eta_at"] and body["arrived_at"] is None
    order = Order.objects.get(pk=order_id)
    assert 7 * 60 <= (order.customer_eta_at - order.updated_at).total_seconds() <= 8 * 60 + 1
    assert order.events.filter(kind=OrderEvent.ARRIVAL).count() == 1
    event = StoreEvent.objects.filter(kind="order.arrival").get()
    assert event.pk > seq_before and event.payload["ticket"]["customer_eta_at"] is not None
    assert event.payload["arrival"]["eta_minutes"] == 8 and event.payload["notify"] == [order_id]


def test_im_here_is_shown_and_saying_it_again_changes_nothing(api_as, customer_a, order_id):
    client = api_as(customer_a)
    first = arrival(client, order_id, {"here": True})
    assert first.status_code == 200 and first.json()["arrived_at"]
    again = arrival(client, order_id, {"here": True})
    assert again.status_code == 200 and again.json()["arrived_at"] == first.json()["arrived_at"]
    assert OrderEvent.objects.filter(order_id=order_id, kind=OrderEvent.ARRIVAL).count() == 1
    assert StoreEvent.objects.filter(kind="order.arrival").count() == 1
    ticket = StoreEvent.objects.get(kind="order.arrival").payload["ticket"]
    assert ticket["arrived_at"] == Order.objects.get(pk=order_id).arrived_at.isoformat()
    # on my way after "I'm here" makes no sense: refused, nothing changes
    assert_error(arrival(client, order_id, {"eta_minutes": 5}), 409, "already_here")


def test_the_same_eta_sent_twice_is_one_message(api_as, customer_a, order_id):
    client = api_as(customer_a)
    assert arrival(client, order_id, {"eta_minutes": 10}).status_code == 200
    assert arrival(client, order_id, {"eta_minutes": 10}).status_code == 200
    assert OrderEvent.objects.filter(order_id=order_id, kind=OrderEvent.ARRIVAL).count() == 1
    assert arrival(client, order_id, {"eta_minutes": 3}).status_code == 200  # a new ETA is news
    assert OrderEvent.objects.filter(order_id=order_id, kind=OrderEvent.ARRIVAL).count() == 2


def test_only_the_owner_may_say_it(api, api_as, customer_b, barista_store1, order_id):
    assert arrival(api, order_id, {"here": True}).status_code == 401
    assert arrival(api_as(customer_b), order_id, {"here": True}).status_code == 404
    assert arrival(api_as(barista_store1), order_id, {"here": True}).status_code == 404
    assert Order.objects.get(pk=order_id).arrived_at is None


@pytest.mark.parametrize("body", [{}, {"eta_minutes": -1}, {"eta_minutes": 61}, {"eta_minutes": "soon"},
                                  {"here": True, "eta_minutes": 5}, {"here": False}, {"eta_minutes": 2.5}])
def test_bad_bodies_are_400_with_the_reason(api_as, customer_a, order_id, body):
    response = arrival(api_as(customer_a), order_id, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]
    assert Order.objects.get(pk=order_id).customer_eta_at is None


def test_a_finished_order_is_409(api_as, customer_a, order_id):
    Order.objects.filter(pk=order_id).update(status=OrderStatus.PICKED_UP)
    assert_error(arrival(api_as(customer_a), order_id, {"here": True}), 409, "order_closed")


def test_an_unpaid_order_is_409(api_as, customer_a, order_id):
    Order.objects.filter(pk=order_id).update(status=OrderStatus.PENDING_PAYMENT)
    assert_error(arrival(api_as(customer_a), order_id, {"eta_minutes": 4}), 409, "awaiting_payment")


def test_checkout_chooses_make_it_when_i_arrive_where_the_store_offers_it(api, api_as, customer_a, menu, offers):
    store = api.get(f"/api/stores/{menu['latte'].store_id}/").json()
    assert store["offers_fire_on_arrival"] is True
    response = api_as(customer_a).post("/api/orders/", cart(menu, fire_on_arrival=True), format="json",
                                       **factories.checkout_key())
    assert response.status_code == 201, response.json()
    assert response.json()["fire_on_arrival"] is True
    assert Order.objects.get(pk=response.json()["id"]).fire_on_arrival


def test_checkout_refuses_it_where_the_store_does_not_offer_it(api, api_as, customer_a, menu):
    assert api.get(f"/api/stores/{menu['latte'].store_id}/").json()["offers_fire_on_arrival"] is False
    response = api_as(customer_a).post("/api/orders/", cart(menu, fire_on_arrival=True), format="json",
                                       **factories.checkout_key())
    assert_error(response, 400, "fire_on_arrival_not_offered")
    assert not Order.objects.exists()
