"""Redeeming a reward (issue 28): a discount line before tax, the stars spent in the placing transaction, in the
app and at the counter; refused with a clear answer when it cannot be used, and never spent twice."""

import datetime as dt
from decimal import Decimal

import pytest

from fulfilment import services
from fulfilment.models import CustomerProfile, LoyaltyEntry, LoyaltyProgram, Order, OrderDiscount, Payment, Reward
from fulfilment.services import LineRequest, loyalty
from fulfilment.services.orders import request_fingerprint
from fulfilment.services.rewards import birthday_window
from stores.models import MenuItem
from tests import factories

pytestmark = pytest.mark.django_db
E = LoyaltyEntry


@pytest.fixture
def taxed_store(store):
    """10% sales tax added on top."""
    store.tax_rate_percent, store.prices_include_tax, store.tax_label = Decimal("10"), False, "Sales tax"
    store.save()
    return store


@pytest.fixture
def program(db, menu):
    """A free drink (a latte or a drip coffee, up to 650) at 25 stars; a birthday treat (anything, up to 500)."""
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    drink = Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    drink.items.set([menu["latte"], menu["drip"]])
    Reward.objects.create(program=program, name="Birthday treat", stars_cost=0, max_value_minor=500,
                          is_birthday=True)
    return program


@pytest.fixture
def free_drink(program):
    return program.rewards.get(name="Free drink")


@pytest.fixture
def birthday_treat(program):
    return program.rewards.get(name="Birthday treat")


@pytest.fixture
def stars(manager_store2):
    """stars(member, n): give a member n stars, as a manager's goodwill adjustment."""
    def give(member, n):
        loyalty.loyalty_adjust(member=member, stars=n, actor=manager_store2, reason="test stars")
    return give


def cart(menu, *, latte=True, croissant=True, **extra) -> dict:
    """A large oat latte (610) and a croissant (375): 985."""
    items = []
    if latte:
        items.append({"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["large"].pk, menu["oat"].pk]})
    if croissant:
        items.append({"item": menu["croissant"].pk, "quantity": 1})
    return {"store": menu["latte"].store_id, "pickup": "asap", "items": items, "payment_method": "pm_card_visa",
            **extra}


def place(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else factories.checkout_key()
    return client.post("/api/orders/", body, format="json", **headers)


def balance(member) -> int:
    return loyalty.member_balance(member=member)


def test_the_quote_offers_the_rewards_a_member_can_afford_and_prices_the_chosen_one(
        api_as, api, customer_a, menu, taxed_store, free_drink, stars):
    client = api_as(customer_a)
    quote_url = f"/api/stores/{taxed_store.pk}/quote/"
    body = cart(menu)
    del body["payment_method"], body["store"]
    assert client.post(quote_url, body, format="json").json()["rewards"] == []  # no stars yet
    stars(customer_a, 30)

    offered = client.post(quote_url, body, format="json").json()["rewards"]
    chosen = client.post(quote_url, {**body, "reward": free_drink.pk}, format="json").json()

    assert offered == [{"id": free_drink.pk, "name": "Free drink", "stars_cost": 25, "is_birthday": False,
                        "discount_minor": 610, "line_index": 0, "total_minor": 413, "below_card_minimum": False}]
    # 985 - 610 = 375 taxed: 37.5 -> 38
    assert (chosen["subtotal_minor"], chosen["discount_minor"], chosen["tax_minor"], chosen["total_minor"]) == (
        985, 610, 38, 413)
    assert chosen["discounts"] == [{"label": "Free drink", "amount_minor": 610, "reward": free_drink.pk,
                                    "line_index": 0}]
    assert api.post(quote_url, body, format="json").json()["rewards"] == []  # signed out: none
    assert balance(customer_a) == 30  # a quote spends nothing


def test_an_app_order_with_a_reward_shows_the_discount_charges_less_and_spends_the_stars(
        api_as, customer_a, menu, taxed_store, free_drink, stars):
    stars(customer_a, 30)

    response = place(api_as(customer_a), cart(menu, reward=free_drink.pk))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["subtotal_minor"], body["discount_minor"], body["tax_minor"], body["total_minor"]) == (
        985, 610, 38, 413)
    assert body["discounts"] == [{"label": "Free drink", "amount_minor": 610}]
    order = Order.objects.get(pk=body["id"])
    discount = OrderDiscount.objects.get(order=order)
    assert (discount.line.item_name, discount.reward, discount.amount_minor) == ("Latte", free_drink, 610)
    assert Payment.objects.get(order=order).amount_minor == 413  # the card is held for the discounted total
    assert balance(customer_a) == 5
    spent = LoyaltyEntry.objects.get(order=order)
    assert (spent.kind, spent.stars, spent.reward, spent.actor) == (E.REDEEM, -25, free_drink, customer_a)


def test_the_dearest_covered_unit_is_taken_off_up_to_the_rewards_value(api_as, customer_a, menu, free_drink, stars):
    stars(customer_a, 60)
    free_drink.max_value_minor = 500
    free_drink.save()
    body = cart(menu, croissant=False)
    body["items"] += [{"item": menu["drip"].pk, "quantity": 2}]

    response = place(api_as(customer_a), {**body, "reward": free_drink.pk})

    # the latte (610) is dearer than a drip coffee (250), and the reward takes at most 500 off it
    assert response.status_code == 201, response.json()
    assert response.json()["discount_minor"] == 500
    assert OrderDiscount.objects.get().line.item_name == "Latte"


def test_a_reward_that_makes_the_order_free_needs_no_card(api_as, customer_a, menu, taxed_store, free_drink, stars):
    stars(customer_a, 25)

    response = place(api_as(customer_a), cart(menu, croissant=False, reward=free_drink.pk))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["total_minor"], body["status"]) == (0, "confirmed")
    assert not Payment.objects.filter(order_id=body["id"]).exists()
    assert balance(customer_a) == 0
    shown = api_as(customer_a).get(f"/api/orders/{body['id']}/").json()["payment"]
    assert (shown["status"], shown["status_label"]) == ("nothing_to_pay", "Nothing to pay")  # not "pending"


def test_a_reward_that_would_leave_less_than_a_card_can_take_is_greyed_and_refused_in_the_app(
        api_as, customer_a, menu, taxed_store, free_drink, barista_store1, stars):
    """An oat latte (520) less a free drink worth up to 500 leaves 20 + 2 tax: below the 50 a card can be
    charged in USD. The quote says so; placing refuses it with the reason and spends nothing; at the till,
    where no card is needed, the same cart is fine."""
    stars(customer_a, 30)
    free_drink.max_value_minor = 500
    free_drink.save()
    items = [{"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["oat"].pk]}]

    offered = api_as(customer_a).post(f"/api/stores/{taxed_store.pk}/quote/", {"pickup": "asap", "items": items},
                                      format="json").json()["rewards"]
    refused = place(api_as(customer_a), {"store": taxed_store.pk, "pickup": "asap", "items": items,
                                         "payment_method": "pm_card_visa", "reward": free_drink.pk})

    assert [(r["discount_minor"], r["total_minor"], r["below_card_minimum"]) for r in offered] == [(500, 22, True)]
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert (error["code"], error["fields"]) == ("below_card_minimum", {"total_minor": 22, "minimum_minor": 50})
    assert "$0.22 USD" in error["message"] and "$0.50 USD" in error["message"]
    assert not Order.objects.exists() and balance(customer_a) == 30

    served = factories.serving_token(api_as(barista_store1), taxed_store.pk, customer_a)
    counter = api_as(barista_store1).post(f"/api/stores/{taxed_store.pk}/orders/",
                                          {"channel": "counter", "items": items, "member": served,
                                           "reward": free_drink.pk}, format="json", **factories.checkout_key())
    assert counter.status_code == 201, counter.json()
    assert counter.json()["total_minor"] == 22 and balance(customer_a) == 5


def test_at_the_counter_the_member_served_spends_their_stars(menu, customer_a, barista_store1, free_drink, stars):
    """The counter passes the member being served as the order's customer (their scanned code or phone)."""
    stars(customer_a, 40)

    order, created = services.order_place(
        store_id=menu["latte"].store_id, channel="counter", placed_by=barista_store1, customer=customer_a,
        lines=[LineRequest(item_id=menu["latte"].pk, quantity=2, option_ids=(menu["small"].pk,))],
        reward_id=free_drink.pk, idempotency_key="till-1")

    assert created and (order.subtotal_minor, order.discount_minor, order.total_minor) == (900, 450, 450)
    assert balance(customer_a) == 15
    assert LoyaltyEntry.objects.get(order=order, kind=E.REDEEM).actor == barista_store1


def test_a_counter_order_with_a_reward_but_no_member_is_refused(api_as, menu, barista_store1, free_drink):
    body = {"channel": "counter", "pickup": "asap", "reward": free_drink.pk,
            "items": [{"item": menu["latte"].pk, "quantity": 1}]}

    response = api_as(barista_store1).post(f"/api/stores/{menu['latte'].store_id}/orders/", body, format="json",
                                           **factories.checkout_key())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reward_needs_member"
    assert not Order.objects.exists()


def test_too_few_stars_places_nothing(api_as, customer_a, menu, free_drink, stars):
    stars(customer_a, 24)

    response = place(api_as(customer_a), cart(menu, reward=free_drink.pk))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_enough_stars"
    assert not Order.objects.exists() and not OrderDiscount.objects.exists()
    assert MenuItem.objects.get(pk=menu["croissant"].pk).stock_count == 5  # the stock taken is given back
    assert balance(customer_a) == 24


def test_a_reward_that_covers_nothing_in_the_cart_is_refused(api_as, customer_a, menu, free_drink, stars):
    stars(customer_a, 30)

    response = place(api_as(customer_a), cart(menu, latte=False, reward=free_drink.pk))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reward_not_applicable"
    assert not Order.objects.exists() and balance(customer_a) == 30


@pytest.mark.parametrize("reward", ["free drink", 999999, 0])
def test_a_bad_reward_id_is_a_400_in_json(api_as, customer_a, menu, program, reward):
    response = place(api_as(customer_a), cart(menu, reward=reward))

    assert response.status_code == 400
    assert "reward" in str(response.json())
    assert not Order.objects.exists()


def test_an_inactive_reward_or_program_is_not_on_offer(api_as, customer_a, menu, program, free_drink, stars):
    stars(customer_a, 30)
    program.is_active = False
    program.save()

    response = place(api_as(customer_a), cart(menu, reward=free_drink.pk))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_reward")


def test_a_retried_order_with_a_reward_spends_the_stars_once(api_as, customer_a, menu, free_drink, stars):
    stars(customer_a, 60)
    client = api_as(customer_a)

    first = place(client, cart(menu, reward=free_drink.pk), key="checkout-7")
    retry = place(client, cart(menu, reward=free_drink.pk), key="checkout-7")
    without = place(client, cart(menu), key="checkout-7")  # the same key, another request

    assert first.status_code == 201 and retry.status_code == 200
    assert retry["Idempotent-Replayed"] == "true" and retry.json()["id"] == first.json()["id"]
    assert (without.status_code, without.json()["error"]["code"]) == (409, "idempotency_key_reused")
    assert Order.objects.count() == 1 and LoyaltyEntry.objects.filter(kind=E.REDEEM).count() == 1
    assert balance(customer_a) == 35


def test_orders_without_a_reward_keep_their_fingerprints():
    import hashlib
    import json

    lines = [LineRequest(item_id=3, quantity=2, option_ids=(9, 4))]
    before = hashlib.sha256(json.dumps({"store": 1, "channel": "mobile", "name": "Ada", "pickup": "asap",
                                        "lines": [[3, 2, [4, 9]]]}, sort_keys=True).encode()).hexdigest()

    plain = request_fingerprint(store_id=1, channel="mobile", lines=lines, requested_at=None, customer_name="Ada")
    rewarded = request_fingerprint(store_id=1, channel="mobile", lines=lines, requested_at=None, customer_name="Ada",
                                   reward_id=5)

    assert plain == before != rewarded


# --- Birthday ---------------------------------------------------------------------------------------------------

def set_birthday(member, day: dt.date):
    CustomerProfile.objects.update_or_create(user=member, defaults={"birthday": day})


def test_the_birthday_treat_is_free_in_the_birthday_week_and_once(api_as, customer_a, menu, store, birthday_treat):
    set_birthday(customer_a, (factories.local_now(store).date() + dt.timedelta(days=2)).replace(year=1992))
    client = api_as(customer_a)

    first = place(client, cart(menu, reward=birthday_treat.pk))
    again = place(client, cart(menu, reward=birthday_treat.pk))

    assert first.status_code == 201, first.json()
    assert first.json()["discount_minor"] == 500  # the latte (610), up to 500
    assert (again.status_code, again.json()["error"]["code"]) == (409, "birthday_reward_used")
    assert Order.objects.count() == 1


def test_the_birthday_treat_is_refused_outside_the_birthday_week(api_as, customer_a, menu, store, birthday_treat):
    client = api_as(customer_a)
    no_birthday = place(client, cart(menu, reward=birthday_treat.pk))
    set_birthday(customer_a, factories.local_now(store).date() - dt.timedelta(days=10))
    too_far = place(client, cart(menu, reward=birthday_treat.pk))

    for response in (no_birthday, too_far):
        assert (response.status_code, response.json()["error"]["code"]) == (400, "not_birthday_week")
    assert not Order.objects.exists()


def test_the_birthday_week_reaches_across_new_year_and_29_february():
    assert birthday_window(birthday=dt.date(1990, 12, 30), today=dt.date(2027, 1, 2)) == (
        dt.date(2026, 12, 27), dt.date(2027, 1, 2))
    assert birthday_window(birthday=dt.date(1991, 1, 1), today=dt.date(2026, 12, 29)) == (
        dt.date(2026, 12, 29), dt.date(2027, 1, 4))
    assert birthday_window(birthday=dt.date(2000, 2, 29), today=dt.date(2027, 3, 3)) == (
        dt.date(2027, 2, 25), dt.date(2027, 3, 3))
    assert birthday_window(birthday=dt.date(2000, 2, 29), today=dt.date(2027, 3, 4)) is None
    assert birthday_window(birthday=None, today=dt.date(2027, 3, 4)) is None


# --- Cancelled: the stars come back (after the commit, as in production) -------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_cancelling_gives_the_stars_back_and_the_birthday_treat_again(api_as, customer_a, menu, store, free_drink,
                                                                      birthday_treat, stars):
    stars(customer_a, 30)
    set_birthday(customer_a, factories.local_now(store).date().replace(year=1992))
    client = api_as(customer_a)
    drink = place(client, cart(menu, reward=free_drink.pk)).json()
    treat = place(client, cart(menu, reward=birthday_treat.pk)).json()
    assert balance(customer_a) == 5

    for order in (drink, treat):
        assert client.post(f"/api/orders/{order['id']}/cancel/").status_code == 200

    assert balance(customer_a) == 30
    assert LoyaltyEntry.objects.filter(kind=E.REDEEM_REVERSED).count() == 2
    assert place(client, cart(menu, reward=birthday_treat.pk)).status_code == 201  # not used after all


def test_the_quote_refuses_a_reward_as_placing_would(api_as, api, customer_a, menu, store, free_drink, stars):
    body = {"pickup": "asap", "items": cart(menu)["items"], "reward": free_drink.pk}
    url = f"/api/stores/{store.pk}/quote/"
    stars(customer_a, 10)

    signed_out = api.post(url, body, format="json")
    too_few = api_as(customer_a).post(url, body, format="json")
    not_covered = api_as(customer_a).post(url, {**body, "items": cart(menu, latte=False)["items"]}, format="json")

    assert (signed_out.status_code, signed_out.json()["error"]["code"]) == (400, "reward_needs_member")
    assert (too_few.status_code, too_few.json()["error"]["code"]) == (409, "not_enough_stars")
    assert (not_covered.status_code, not_covered.json()["error"]["code"]) == (400, "reward_not_applicable")
