"""Paid when collected (issue 28): a drive-thru order taken at the speaker goes to the kitchen at once and is
paid at the window. Until the till takes the money the member whose code is scanned at the window can be
added (then never), the order cannot be handed over, and it earns nothing; once paid and picked up it earns
the member's stars once."""

from decimal import Decimal

import pytest
from django.test import Client

from fulfilment import services
from fulfilment.models import LoyaltyEntry, LoyaltyProgram, Order, OrderEvent, OrderStatus, Reward, StoreEvent
from fulfilment.services.loyalty import loyalty_adjust, member_balance
from fulfilment.services.pickup import pickup_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def program(db):
    return LoyaltyProgram.objects.create(name="Stars", earn_rate=2)


def place(api_as, staff, store_id, menu, **extra):
    body = {"channel": "drive_thru", "items": [{"item": menu["drip"].pk, "quantity": 2}], **extra}
    return api_as(staff).post(f"/api/stores/{store_id}/orders/", body, format="json", **factories.checkout_key())


def serving_token(api_as, staff, store_id, member) -> str:
    return factories.serving_token(api_as(staff), store_id, member)


def add_member(api_as, staff, order_id, store_id, token, **extra):
    return api_as(staff).post(f"/api/stores/{store_id}/orders/{order_id}/member/", {"member": token, **extra},
                              format="json")


def take_payment(api_as, staff, order_id, store_id):
    return api_as(staff).post(f"/api/stores/{store_id}/orders/{order_id}/paid/", format="json")


def error_of(response):
    return response.json()["error"]


def test_an_order_paid_when_collected_goes_to_the_kitchen_now_and_says_what_is_due(api_as, barista_store1, store,
                                                                                   menu):
    response = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == OrderStatus.CONFIRMED  # the kitchen starts at once
    assert body["payment"]["status"] == "due_in_store"
    assert body["payment"]["amount_minor"] == body["total_minor"] > 0
    order = Order.objects.get(pk=body["id"])
    assert order.awaiting_till_payment
    ticket = StoreEvent.objects.filter(order=order).latest("seq").payload["ticket"]
    assert ticket["payment_due"] is True  # the window sees "to pay" on the ticket

    listed = api_as(barista_store1).get(f"/api/stores/{store.pk}/orders/?payment_due=1").json()
    assert [row["id"] for row in listed] == [order.pk]


def test_a_paid_at_once_order_is_not_listed_as_due(api_as, barista_store1, store, menu):
    place(api_as, barista_store1, store.pk, menu)

    assert api_as(barista_store1).get(f"/api/stores/{store.pk}/orders/?payment_due=1").json() == []
    assert len(api_as(barista_store1).get(f"/api/stores/{store.pk}/orders/").json()) == 1


@pytest.mark.parametrize("channel", ["delivery"])
def test_channels_the_customer_does_not_collect_from_the_till_are_refused(api_as, barista_store1, store, menu,
                                                                          channel):
    response = place(api_as, barista_store1, store.pk, menu, channel=channel, pay_when_collected=True)

    assert response.status_code == 400
    assert error_of(response)["code"] == "pay_when_collected_not_offered"
    assert not Order.objects.exists()


def test_the_member_scanned_at_the_window_is_added_until_payment_and_never_after(
        api_as, barista_store1, store, menu, customer_a, customer_b):
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]

    added = add_member(api_as, barista_store1, order_id, store.pk,
                       serving_token(api_as, barista_store1, store.pk, customer_a))

    assert added.status_code == 200, added.content
    order = Order.objects.get(pk=order_id)
    assert order.customer == customer_a and order.customer_name == customer_a.get_username()
    assert order.events.filter(kind=OrderEvent.MEMBER_ADDED, data__member=customer_a.pk).count() == 1
    # the member sees it in their history at once
    assert [row["id"] for row in api_as(customer_a).get("/api/orders/").json()] == [order_id]

    paid = take_payment(api_as, barista_store1, order_id, store.pk)
    assert paid.status_code == 200 and paid.json()["payment"]["status"] == "paid_in_store"

    second = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    take_payment(api_as, barista_store1, second, store.pk)
    late = add_member(api_as, barista_store1, second, store.pk,
                      serving_token(api_as, barista_store1, store.pk, customer_b))
    assert late.status_code == 409 and error_of(late)["code"] == "already_paid"
    assert Order.objects.get(pk=second).customer is None


def test_one_scan_adds_one_order_and_a_retry_is_the_same_answer(api_as, barista_store1, store, menu, customer_a):
    first = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    other = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    token = serving_token(api_as, barista_store1, store.pk, customer_a)

    assert add_member(api_as, barista_store1, first, store.pk, token).status_code == 200
    retry = add_member(api_as, barista_store1, first, store.pk, token)
    reused = add_member(api_as, barista_store1, other, store.pk, token)

    assert retry.status_code == 200
    assert Order.objects.get(pk=first).events.filter(kind=OrderEvent.MEMBER_ADDED).count() == 1
    assert reused.status_code == 409 and error_of(reused)["code"] == "member_token_used"
    assert Order.objects.get(pk=other).customer is None


def test_an_order_of_another_store_or_someone_elses_cannot_take_the_member(
        api_as, barista_store1, store, store2, menu, customer_a, customer_b):
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    add_member(api_as, barista_store1, order_id, store.pk, serving_token(api_as, barista_store1, store.pk, customer_a))

    taken = add_member(api_as, barista_store1, order_id, store.pk,
                       serving_token(api_as, barista_store1, store.pk, customer_b))
    other_store = add_member(api_as, barista_store1, order_id, store2.pk, "anything")

    assert taken.status_code == 409 and error_of(taken)["code"] == "already_attached"
    assert other_store.status_code == 403  # not on that store's staff
    assert Order.objects.get(pk=order_id).customer == customer_a


def test_it_cannot_be_handed_over_before_the_till_takes_the_money(api_as, barista_store1, store, menu):
    order = Order.objects.get(pk=place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"])
    services.order_mark_ready(order=order, actor=barista_store1)
    listed = api_as(barista_store1).get(f"/api/stores/{store.pk}/orders/").json()[0]

    token, _ = pickup_token(order=order)  # the handoff refuses it however it is reached; here by a QR token
    handoff = api_as(barista_store1).post(f"/api/stores/{store.pk}/handoff/", {"token": token}, format="json")

    assert listed["status"] == OrderStatus.READY and listed["payment"]["status"] == "due_in_store"
    assert handoff.status_code == 409 and error_of(handoff)["code"] == "payment_due"
    order.refresh_from_db()
    assert order.status == OrderStatus.READY

    take_payment(api_as, barista_store1, order.pk, store.pk)
    services.order_pick_up(order=order, actor=barista_store1)
    order.refresh_from_db()
    assert order.status == OrderStatus.PICKED_UP


def test_taking_the_payment_twice_records_it_once_and_a_cancelled_order_is_refused(api_as, barista_store1, store,
                                                                                  menu):
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]

    assert take_payment(api_as, barista_store1, order_id, store.pk).status_code == 200
    assert take_payment(api_as, barista_store1, order_id, store.pk).status_code == 200
    assert Order.objects.get(pk=order_id).events.filter(kind=OrderEvent.PAID_AT_TILL).count() == 1

    cancelled = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    services.order_cancel(order=Order.objects.get(pk=cancelled), actor=barista_store1, reason="drove off")
    refused = take_payment(api_as, barista_store1, cancelled, store.pk)
    assert refused.status_code == 409 and error_of(refused)["code"] == "not_open"
    assert take_payment(api_as, barista_store1, 999999, store.pk).status_code == 404


def test_an_app_order_has_nothing_to_take_at_the_till(api_as, barista_store1, customer_a, store, menu):
    body = {"store": store.pk, "pickup": "asap", "items": [{"item": menu["drip"].pk, "quantity": 1}]}
    mobile = api_as(customer_a).post("/api/orders/", body, format="json", **factories.checkout_key()).json()

    refused = take_payment(api_as, barista_store1, mobile["id"], store.pk)

    assert refused.status_code == 409 and error_of(refused)["code"] == "paid_in_app"
    assert not OrderEvent.objects.filter(order_id=mobile["id"], kind=OrderEvent.PAID_AT_TILL).exists()


@pytest.mark.django_db(transaction=True)
def test_the_member_earns_once_paid_and_picked_up(api_as, barista_store1, store, menu, customer_a, program):
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    add_member(api_as, barista_store1, order_id, store.pk, serving_token(api_as, barista_store1, store.pk, customer_a))
    order = Order.objects.get(pk=order_id)
    services.order_mark_ready(order=order, actor=barista_store1)
    assert services.loyalty.loyalty_earn_for_order(order_id=order_id) is None  # not paid (nor picked up) yet

    take_payment(api_as, barista_store1, order_id, store.pk)
    services.order_pick_up(order=order, actor=barista_store1)

    assert member_balance(member=customer_a) == 2 * 5  # two drip coffees, 500 before tax: 5 dollars x 2
    assert LoyaltyEntry.objects.filter(order_id=order_id, kind=LoyaltyEntry.EARN).count() == 1


def test_admin_says_what_is_still_to_pay_and_filters_by_it(api_as, barista_store1, store, menu):
    due = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    paid_now = place(api_as, barista_store1, store.pk, menu).json()["id"]
    client = Client()
    client.force_login(factories.user("chain_admin", is_staff=True, is_superuser=True))

    due_page = client.get(f"/admin/fulfilment/order/{due}/change/").content.decode()
    listed = client.get("/admin/fulfilment/order/?awaiting_till_payment__exact=1").content.decode()

    assert "To pay when collected" in due_page and "Paid at the till" not in due_page
    assert "Paid at the till" in client.get(f"/admin/fulfilment/order/{paid_now}/change/").content.decode()
    assert f"/admin/fulfilment/order/{due}/change/" in listed
    assert f"/admin/fulfilment/order/{paid_now}/change/" not in listed


@pytest.fixture
def free_drink(program, menu, manager_store2):
    """A free drink (a latte or a drip coffee, up to 650) at 25 stars."""
    reward = Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    reward.items.set([menu["latte"], menu["drip"]])
    return reward


def test_the_member_at_the_window_spends_a_reward_before_paying(api_as, barista_store1, store, menu, customer_a,
                                                                 free_drink, manager_store2,
                                                                 django_capture_on_commit_callbacks):
    """Two drip coffees (250 each) at 10% sales tax: the free drink takes one off, tax after it, and the till
    takes the rest; the stars are spent once, and given back if the order is cancelled."""
    store.tax_rate_percent, store.prices_include_tax = Decimal("10"), False
    store.save()
    loyalty_adjust(member=customer_a, stars=30, actor=manager_store2, reason="test stars")
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    assert Order.objects.get(pk=order_id).total_minor == 550

    added = add_member(api_as, barista_store1, order_id, store.pk,
                       serving_token(api_as, barista_store1, store.pk, customer_a), reward=free_drink.pk)

    assert added.status_code == 200, added.content
    body = added.json()
    assert (body["subtotal_minor"], body["discount_minor"], body["tax_minor"], body["total_minor"]) == (
        500, 250, 25, 275)
    assert body["discounts"] == [{"label": "Free drink", "amount_minor": 250}]
    assert body["payment"] == {**body["payment"], "status": "due_in_store", "amount_minor": 275}
    assert member_balance(member=customer_a) == 5

    again = add_member(api_as, barista_store1, order_id, store.pk,
                       serving_token(api_as, barista_store1, store.pk, customer_a), reward=free_drink.pk)
    assert again.status_code == 409 and error_of(again)["code"] == "already_attached"
    assert member_balance(member=customer_a) == 5

    with django_capture_on_commit_callbacks(execute=True):  # the cancel gives the stars back after its commit
        services.order_cancel(order=Order.objects.get(pk=order_id), actor=barista_store1, reason="drove off")
    assert member_balance(member=customer_a) == 30


def test_a_refused_reward_adds_nothing_and_the_member_can_be_added_without_it(
        api_as, barista_store1, store, menu, customer_a, free_drink):
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    token = serving_token(api_as, barista_store1, store.pk, customer_a)

    refused = add_member(api_as, barista_store1, order_id, store.pk, token, reward=free_drink.pk)  # no stars

    assert refused.status_code == 409 and error_of(refused)["code"] == "not_enough_stars"
    order = Order.objects.get(pk=order_id)
    assert order.customer is None and order.discount_minor == 0 and order.total_minor == 500
    assert add_member(api_as, barista_store1, order_id, store.pk, token).status_code == 200
    assert Order.objects.get(pk=order_id).customer == customer_a


def test_a_reward_that_covers_the_order_at_the_window_leaves_nothing_to_pay(api_as, barista_store1, store, menu,
                                                                           customer_a, free_drink, manager_store2):
    loyalty_adjust(member=customer_a, stars=25, actor=manager_store2, reason="test stars")
    body = {"channel": "drive_thru", "items": [{"item": menu["drip"].pk, "quantity": 1}], "pay_when_collected": True}
    order_id = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/", body, format="json",
                                           **factories.checkout_key()).json()["id"]

    added = add_member(api_as, barista_store1, order_id, store.pk,
                       serving_token(api_as, barista_store1, store.pk, customer_a), reward=free_drink.pk).json()

    assert (added["total_minor"], added["payment"]["status"]) == (0, "nothing_to_pay")
    order = Order.objects.get(pk=order_id)
    assert not order.awaiting_till_payment
    services.order_mark_ready(order=order, actor=barista_store1)
    assert services.order_pick_up(order=order, actor=barista_store1).status == OrderStatus.PICKED_UP


def test_deleting_the_account_drops_who_was_added_and_keeps_what_was_paid(api_as, barista_store1, store, menu,
                                                                          customer_a):
    order_id = place(api_as, barista_store1, store.pk, menu, pay_when_collected=True).json()["id"]
    add_member(api_as, barista_store1, order_id, store.pk, serving_token(api_as, barista_store1, store.pk, customer_a))
    take_payment(api_as, barista_store1, order_id, store.pk)
    order = Order.objects.get(pk=order_id)
    services.order_mark_ready(order=order, actor=barista_store1)
    services.order_pick_up(order=order, actor=barista_store1)

    deleted = api_as(customer_a).post("/api/me/delete/", {"password": factories.PASSWORD}, format="json")

    assert deleted.status_code == 200, deleted.content
    events = {event.kind: event.data for event in OrderEvent.objects.filter(order_id=order_id)}
    assert events[OrderEvent.MEMBER_ADDED] == {}  # no trace of who it was
    assert events[OrderEvent.PAID_AT_TILL] == {"amount_minor": order.total_minor}  # the books keep the money
    assert Order.objects.get(pk=order_id).customer is None
