"""A customer's own data (issue 28): download everything kept about them, delete the account (orders stay for the
store's books without the person in them, the stars balance is closed on the ledger), and staff screens that show
a member's name and nothing else about them."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fulfilment import services
from fulfilment.models import (
    Channel,
    CustomerProfile,
    Favourite,
    LoyaltyEntry,
    LoyaltyProgram,
    Order,
    OrderEvent,
    PushSubscription,
    StoreEvent,
)
from fulfilment.presenters import order_ticket
from fulfilment.services import LineRequest, loyalty
from fulfilment.services.arrival import order_arrival_record
from tests import factories

pytestmark = pytest.mark.django_db
E = LoyaltyEntry
PHONE_NUMBER = "5550123456"


@pytest.fixture
def program(db):
    return LoyaltyProgram.objects.create(name="Stars", earn_rate=2)  # 2 stars per dollar before tax


@pytest.fixture
def member(customer_a):
    """Customer A with an email, a phone and a birthday, a favourite and a browser subscribed to pushes."""
    customer_a.email = "a@example.com"
    customer_a.save()
    CustomerProfile.objects.create(user=customer_a, phone=PHONE_NUMBER, birthday=dt.date(1990, 5, 17),
                                   email_when_ready=True)
    return customer_a


@pytest.fixture
def extras(member, menu):
    Favourite.objects.create(user=member, item=menu["latte"], option_ids=[menu["oat"].pk])
    PushSubscription.objects.create(user=member, endpoint="https://push.example.com/a-browser", p256dh="secret-p256dh",
                                    auth="secret-auth")


def counter_order(menu, barista, customer, quantity=2) -> Order:
    """A counter order of `quantity` small lattes (450 each) paid at the till, for `customer`."""
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.COUNTER, placed_by=barista,
                                    customer=customer, lines=[LineRequest(item_id=menu["latte"].pk, quantity=quantity,
                                                                          option_ids=(menu["small"].pk,))])
    return order


def picked_up(order, barista) -> Order:
    services.order_mark_ready(order=order, actor=barista)
    services.order_pick_up(order=order, actor=barista)
    loyalty.loyalty_earn_for_order(order_id=order.pk)  # the after-commit effect, which a test transaction holds
    order.refresh_from_db()
    return order


def mobile_order(menu, customer) -> Order:
    order, _ = services.order_place(store_id=menu["latte"].store_id, channel=Channel.MOBILE, customer=customer,
                                    lines=[LineRequest(item_id=menu["croissant"].pk, quantity=1)])
    return order


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def delete(client, password=factories.PASSWORD):
    return client.post("/api/me/delete/", {"password": password}, format="json")


def keys_of(data) -> set[str]:
    """Every key of a JSON document, at any depth."""
    if isinstance(data, dict):
        return set(data) | {k for value in data.values() for k in keys_of(value)}
    if isinstance(data, list):
        return {k for value in data for k in keys_of(value)}
    return set()


# --- Download -------------------------------------------------------------------------------------------------

def test_the_download_has_every_channel_and_the_ledger_and_nothing_of_another_customer(
        program, member, extras, menu, barista_store1, customer_b):
    counter = picked_up(counter_order(menu, barista_store1, member), barista_store1)
    mobile = mobile_order(menu, member)
    services.order_cancel_by_customer(order=mobile, customer=member)
    other = picked_up(counter_order(menu, barista_store1, customer_b), barista_store1)

    response = token_client(member).get("/api/me/data/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="my-order-ahead-data-')
    data = json.loads(response.content)
    assert data["account"]["username"] == "customer_a" and data["account"]["email"] == "a@example.com"
    assert data["account"]["date_joined"]
    assert data["profile"] == {"email_when_ready": True, "phone": PHONE_NUMBER, "birthday": "1990-05-17"}
    orders = {o["id"]: o for o in data["orders"]}
    assert set(orders) == {counter.pk, mobile.pk}
    assert orders[counter.pk]["channel_label"] == "Counter" and orders[mobile.pk]["channel"] == "mobile"
    assert orders[counter.pk]["lines"] == [{"item": "Latte", "quantity": 2, "options": ["Small"],
                                            "unit_price_minor": 450, "line_total_minor": 900}]
    assert orders[counter.pk]["discounts"] == [] and orders[counter.pk]["total_minor"] == counter.total_minor
    assert [(e["kind"], e["stars"], e["order"]) for e in data["loyalty"]["ledger"]] == [(E.EARN, 18, counter.pk)]
    assert data["loyalty"]["balance"] == 18
    assert [(f["item"], f["quantity"]) for f in data["favourites"]] == [("Latte", 1)]
    assert data["push_subscriptions"][0]["endpoint"] == "https://push.example.com/a-browser"
    assert "secret-p256dh" not in response.content.decode() and "secret-auth" not in response.content.decode()
    assert other.pk not in orders and "customer_b" not in response.content.decode()


def test_the_download_needs_a_sign_in(api):
    assert api.get("/api/me/data/").status_code == 401


# --- Delete ---------------------------------------------------------------------------------------------------

def test_deleting_keeps_the_orders_for_the_books_without_the_person(program, member, extras, menu, store,
                                                                    barista_store1):
    order = counter_order(menu, barista_store1, member)
    order_arrival_record(order=order, customer=member, here=False, eta_minutes=5)
    order = picked_up(order, barista_store1)
    mobile = mobile_order(menu, member)
    services.order_cancel_by_customer(order=mobile, customer=member)
    books = Order.objects.filter(store=store).aggregate(total=Sum("total_minor"), tax=Sum("tax_minor"))
    client = token_client(member)
    member_id = member.pk

    response = delete(client)

    assert response.status_code == 200, response.content
    assert response.json() == {"deleted": True, "orders_anonymised": 2, "stars_closed": 18}
    assert not get_user_model().objects.filter(pk=member_id).exists()
    # The store's books: the same orders, the same money.
    assert Order.objects.filter(store=store).aggregate(total=Sum("total_minor"), tax=Sum("tax_minor")) == books
    for kept in Order.objects.filter(pk__in=[order.pk, mobile.pk]):
        assert (kept.customer_id, kept.customer_name, kept.idempotency_scope, kept.idempotency_key,
                kept.request_fingerprint) == (None, "", "", None, "")
    assert Order.objects.get(pk=order.pk).total_minor == order.total_minor
    arrival = OrderEvent.objects.get(order=order, kind=OrderEvent.ARRIVAL)
    assert arrival.data == {} and arrival.actor_id is None
    assert not OrderEvent.objects.filter(order__in=[order, mobile], actor_id=member_id).exists()
    screens = json.dumps(list(StoreEvent.objects.filter(order__in=[order, mobile]).values_list("payload", flat=True)))
    assert "customer_a" not in screens and "a@example.com" not in screens


def test_deleting_closes_the_balance_on_the_ledger(program, member, menu, barista_store1, customer_b):
    picked_up(counter_order(menu, barista_store1, member), barista_store1)
    picked_up(counter_order(menu, barista_store1, customer_b, quantity=1), barista_store1)

    assert delete(token_client(member)).status_code == 200

    closed = LoyaltyEntry.objects.filter(member__isnull=True)
    assert sorted((e.kind, e.stars) for e in closed) == [(E.CLOSE, -18), (E.EARN, 18)]
    assert closed.aggregate(n=Sum("stars"))["n"] == 0
    assert LoyaltyEntry.objects.get(kind=E.CLOSE).key.startswith("close:member:")
    # The liability: every remaining balance is a member's, and the deleted member's is gone from it.
    assert LoyaltyEntry.objects.aggregate(n=Sum("stars"))["n"] == 8 == loyalty.member_balance(member=customer_b)


def test_deleting_removes_the_personal_rows_and_the_token(program, member, extras, menu, barista_store1):
    picked_up(counter_order(menu, barista_store1, member), barista_store1)
    client = token_client(member)
    member_id = member.pk

    assert delete(client).status_code == 200

    for model, field in ((Favourite, "user_id"), (PushSubscription, "user_id"), (CustomerProfile, "user_id"),
                         (Token, "user_id")):
        assert not model.objects.filter(**{field: member_id}).exists(), model
    assert not CustomerProfile.objects.filter(phone=PHONE_NUMBER).exists()
    # The old token no longer opens anything.
    assert client.get("/api/orders/").status_code == 401
    assert delete(client).status_code == 401


def test_a_member_with_no_orders_and_no_stars_is_deleted(customer_b):
    response = delete(token_client(customer_b))

    assert response.status_code == 200
    assert response.json() == {"deleted": True, "orders_anonymised": 0, "stars_closed": 0}
    assert not LoyaltyEntry.objects.exists()


def test_an_open_order_refuses_and_changes_nothing(program, member, extras, menu, barista_store1):
    picked_up(counter_order(menu, barista_store1, member), barista_store1)
    waiting = counter_order(menu, barista_store1, member)  # confirmed: in the kitchen
    client = token_client(member)

    response = delete(client)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "open_orders" and error["fields"] == {"orders": [waiting.pk]}
    assert error["message"].startswith("Finish or cancel your open orders first")
    assert Order.objects.get(pk=waiting.pk).customer == member
    assert loyalty.member_balance(member=member) == 18 and Favourite.objects.filter(user=member).exists()
    assert client.get("/api/orders/").status_code == 200


def test_a_wrong_or_missing_password_refuses(member, extras):
    client = token_client(member)

    wrong = delete(client, password="not-my-password")
    missing = client.post("/api/me/delete/", {}, format="json")

    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    assert missing.status_code == 400
    assert get_user_model().objects.filter(pk=member.pk).exists() and Favourite.objects.filter(user=member).exists()


@pytest.mark.parametrize("who", ["barista", "manager", "admin"])
def test_staff_cannot_delete_themselves_here(who, store, barista_store1):
    user = {"barista": barista_store1, "manager": factories.staff("manager1", store, "manager"),
            "admin": factories.user("admin", is_staff=True, is_superuser=True)}[who]

    response = delete(token_client(user))

    assert response.status_code == 409
    assert response.json()["error"] == {"code": "staff_account",
                                        "message": "Staff accounts cannot be deleted from the app: ask an admin."}
    assert get_user_model().objects.filter(pk=user.pk).exists()


# --- What staff see of a member -------------------------------------------------------------------------------

def test_staff_screens_show_the_members_name_and_nothing_else_about_them(api_as, program, member, menu, store,
                                                                         barista_store1):
    picked_up(counter_order(menu, barista_store1, member), barista_store1)  # 18 stars
    order, _ = services.order_place(store_id=store.pk, channel=Channel.COUNTER, placed_by=barista_store1,
                                    customer=member, customer_name="Cy",
                                    lines=[LineRequest(item_id=menu["drip"].pk, quantity=1)])
    private = ["a@example.com", PHONE_NUMBER, "1990-05-17", "customer_a"]
    leaky_keys = {"email", "phone", "balance", "stars", "birthday", "username", "customer", "member"}

    staff_list = api_as(barista_store1).get(f"/api/stores/{store.pk}/orders/")
    ticket = order_ticket(order)
    screen_events = [e.payload for e in StoreEvent.objects.filter(order=order)]

    assert staff_list.status_code == 200
    [listed] = [o for o in staff_list.json() if o["id"] == order.pk]
    assert listed["customer_name"] == "Cy" and ticket["name"] == "Cy"
    for shown in (staff_list.json(), ticket, screen_events):
        assert not keys_of(shown) & leaky_keys, keys_of(shown) & leaky_keys
        text = json.dumps(shown)
        assert not [value for value in private if value in text], text


def test_a_former_barista_whose_orders_for_others_are_on_the_books_is_left_to_an_admin(menu, store, barista_store1):
    counter_order(menu, barista_store1, None)  # placed by them for a walk-in
    barista_store1.store_memberships.all().delete()  # no longer on the staff

    response = delete(token_client(barista_store1))

    assert response.status_code == 409 and response.json()["error"]["code"] == "account_in_records"
    assert get_user_model().objects.filter(pk=barista_store1.pk).exists()
    assert Token.objects.filter(user=barista_store1).exists()  # nothing was changed
