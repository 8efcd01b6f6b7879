"""Loyalty stars (issue 28): earned after pickup, reversed by refunds, spent and given back on a cancel, each
change once however often it is asked for; a balance is the ledger's sum."""

import pytest
from django.db.models import Sum

from fulfilment import services
from fulfilment.models import LoyaltyEntry, LoyaltyProgram, Order, Reward
from fulfilment.services import LineRequest, loyalty
from fulfilment.services import payments as payment_services
from fulfilment.services import pickup as pickup_services
from orderahead.errors import Conflict

# transactional: the lifecycle's after-commit effects (earning, giving back) run as they do in production
pytestmark = pytest.mark.django_db(transaction=True)
E = LoyaltyEntry


@pytest.fixture
def program(db):
    """2 stars per dollar paid before tax; a free drink at 25 stars."""
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    return program


@pytest.fixture
def counter_order(menu, barista_store1):
    """counter_order(customer) -> a counter order for 2 lattes (900) paid at the till, for `customer`."""
    def make(customer, quantity=2) -> Order:
        order, _ = services.order_place(store_id=menu["latte"].store_id, channel="counter", placed_by=barista_store1,
                                        lines=[LineRequest(item_id=menu["latte"].pk, quantity=quantity,
                                                           option_ids=(menu["small"].pk,))], customer=customer)
        return order
    return make


def picked_up(order, barista):
    services.order_mark_ready(order=order, actor=barista)
    services.order_pick_up(order=order, actor=barista)
    order.refresh_from_db()
    return order


def ledger_sum(member):
    return LoyaltyEntry.objects.filter(member=member).aggregate(n=Sum("stars"))["n"] or 0


def test_a_member_counter_order_earns_after_pickup_and_not_before(program, counter_order, customer_a, barista_store1):
    order = counter_order(customer_a)
    services.order_mark_ready(order=order, actor=barista_store1)
    assert loyalty.member_balance(member=customer_a) == 0  # ready is not picked up

    services.order_pick_up(order=order, actor=barista_store1)

    # 900 before tax: 9 whole dollars x 2
    entry = LoyaltyEntry.objects.get(order=order)
    assert (entry.kind, entry.stars, entry.member) == (E.EARN, 18, customer_a)
    assert loyalty.member_balance(member=customer_a) == 18 == ledger_sum(customer_a)


def test_earning_again_changes_nothing(program, counter_order, customer_a, barista_store1):
    order = picked_up(counter_order(customer_a), barista_store1)

    for _ in range(3):  # a retried effect, a second run of the hook
        loyalty.loyalty_earn_for_order(order_id=order.pk)

    assert LoyaltyEntry.objects.filter(order=order).count() == 1
    assert loyalty.member_balance(member=customer_a) == 18


def test_no_member_no_program_or_not_picked_up_earns_nothing(program, counter_order, customer_a, barista_store1):
    anonymous = picked_up(counter_order(None), barista_store1)
    cancelled = counter_order(customer_a)
    services.order_cancel(order=cancelled, actor=barista_store1)
    assert loyalty.loyalty_earn_for_order(order_id=anonymous.pk) is None
    assert loyalty.loyalty_earn_for_order(order_id=cancelled.pk) is None

    program.is_active = False
    program.save()
    later = picked_up(counter_order(customer_a), barista_store1)
    assert loyalty.loyalty_earn_for_order(order_id=later.pk) is None
    assert not LoyaltyEntry.objects.exists()


def test_per_item_programs_stamp_each_item(program, counter_order, customer_a, barista_store1):
    program.earn_basis, program.earn_rate = LoyaltyProgram.PER_ITEM, 1
    program.save()
    picked_up(counter_order(customer_a, quantity=3), barista_store1)
    assert loyalty.member_balance(member=customer_a) == 3


def test_an_app_order_earns_when_its_payment_is_captured_at_pickup(program, ready_order, customer_a, barista_store1):
    order = ready_order()  # 1595 held on the card
    assert not loyalty.order_is_paid(order)
    pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                   token=pickup_services.pickup_token(order=order)[0])
    assert loyalty.member_balance(member=customer_a) == 2 * 15


def test_refunds_take_back_their_share_and_a_full_refund_all_of_it(program, ready_order, customer_a, barista_store1):
    order = ready_order()
    pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                   token=pickup_services.pickup_token(order=order)[0])
    latte, _croissant = order.lines.order_by("id")
    assert loyalty.member_balance(member=customer_a) == 30

    first = payment_services.payment_refund(order=order, actor=barista_store1, lines={latte.pk: 1})
    # 610 of 1595 paid: floor(30 x 610 / 1595) = 11
    assert loyalty.member_balance(member=customer_a) == 30 - 11
    loyalty.loyalty_reverse_for_refund(refund_id=first.pk)  # replayed: nothing more
    assert loyalty.member_balance(member=customer_a) == 19

    payment_services.payment_refund(order=order, actor=barista_store1)  # the rest
    assert loyalty.member_balance(member=customer_a) == 0 == ledger_sum(customer_a)
    assert [e.kind for e in LoyaltyEntry.objects.filter(order=order).order_by("id")] == [
        E.EARN, E.EARN_REVERSED, E.EARN_REVERSED]


def test_redeeming_needs_the_stars_and_a_cancel_gives_them_back_once(program, counter_order, customer_a,
                                                                      barista_store1):
    reward = program.rewards.get()
    for _ in range(2):
        picked_up(counter_order(customer_a), barista_store1)  # 36 stars
    poor = counter_order(customer_a)
    loyalty.loyalty_redeem(member=customer_a, reward=reward, order=poor)
    assert loyalty.member_balance(member=customer_a) == 11
    with pytest.raises(Conflict) as refused:
        loyalty.loyalty_redeem(member=customer_a, reward=reward, order=counter_order(customer_a))
    assert refused.value.code == "not_enough_stars"

    services.order_cancel(order=poor, actor=barista_store1)
    loyalty.give_back_redeemed_on_cancel(type("Change", (), {"order_id": poor.pk})())  # a second run
    assert loyalty.member_balance(member=customer_a) == 36 == ledger_sum(customer_a)
    assert LoyaltyEntry.objects.filter(order=poor, kind=E.REDEEM_REVERSED).count() == 1


def test_adjustments_need_a_reason_and_never_go_below_zero(program, customer_a, manager_store2):
    with pytest.raises(Conflict):
        loyalty.loyalty_adjust(member=customer_a, stars=5, actor=manager_store2, reason=" ")
    with pytest.raises(Conflict):
        loyalty.loyalty_adjust(member=customer_a, stars=-1, actor=manager_store2, reason="typo")
    entry = loyalty.loyalty_adjust(member=customer_a, stars=5, actor=manager_store2, reason="goodwill")
    assert (entry.kind, entry.actor, loyalty.member_balance(member=customer_a)) == (E.ADJUST, manager_store2, 5)


def test_a_refund_after_the_stars_were_spent_never_takes_the_balance_below_zero(program, counter_order, customer_a,
                                                                                 ready_order, barista_store1):
    app_order = ready_order()
    pickup_services.pickup_handoff(store_id=app_order.store_id, staff=barista_store1,
                                   token=pickup_services.pickup_token(order=app_order)[0])  # 30 stars
    loyalty.loyalty_redeem(member=customer_a, reward=program.rewards.get(), order=counter_order(customer_a))  # 5 left

    payment_services.payment_refund(order=app_order, actor=barista_store1)  # would take back 30

    assert loyalty.member_balance(member=customer_a) == 0 == ledger_sum(customer_a)
    assert LoyaltyEntry.objects.get(order=app_order, kind=E.EARN_REVERSED).stars == -5


def test_a_replayed_redemption_answers_with_the_first_one(program, counter_order, customer_a, barista_store1):
    picked_up(counter_order(customer_a), barista_store1)
    picked_up(counter_order(customer_a), barista_store1)  # 36
    order, reward = counter_order(customer_a), program.rewards.get()
    first = loyalty.loyalty_redeem(member=customer_a, reward=reward, order=order)  # 11 left: too few for another
    assert loyalty.loyalty_redeem(member=customer_a, reward=reward, order=order) == first
    assert loyalty.member_balance(member=customer_a) == 11
