"""Star expiry (issue 28): stars not spent star_expiry_days after they were earned expire, oldest first, once
a day at most, never more than the balance and never stars earned after the cut-off."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fulfilment.models import Channel, LoyaltyEntry, LoyaltyProgram, OrderStatus
from fulfilment.services import loyalty
from tests import factories

E = LoyaltyEntry
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAYS = 30
pytestmark = pytest.mark.django_db


@pytest.fixture
def program(db):
    return LoyaltyProgram.objects.create(name="Stars", earn_rate=2, star_expiry_days=DAYS)


@pytest.fixture
def orders(store):
    """Ten picked-up orders to hang earn rows on (an earn row names its order)."""
    return [factories.order_with_times(store, channel=Channel.COUNTER, status=OrderStatus.PICKED_UP, total=1000,
                                       created=NOW - dt.timedelta(days=90)) for _ in range(10)]


def earn(member, order, stars, *, days_ago):
    """An earn `days_ago` days before NOW, expiring DAYS days after it."""
    at = NOW - dt.timedelta(days=days_ago)
    return loyalty.ledger_write(member=member, kind=E.EARN, stars=stars, key=f"earn:order:{order.pk}", order=order,
                                now=at, expires_at=at + dt.timedelta(days=DAYS))[0]


def take(member, kind, stars, key, *, order=None):
    return loyalty.ledger_write(member=member, kind=kind, stars=stars, key=key, order=order, now=NOW)[0]


def test_old_stars_not_spent_expire_and_new_ones_stay(program, orders, customer_a):
    earn(customer_a, orders[0], 40, days_ago=45)  # expired 15 days ago
    earn(customer_a, orders[1], 30, days_ago=5)  # expires in 25 days
    take(customer_a, E.REDEEM, -25, "redeem:1")  # spent from the oldest stars

    assert loyalty.loyalty_expire(now=NOW) == [customer_a.pk]

    expired = LoyaltyEntry.objects.get(kind=E.EXPIRE)
    assert (expired.stars, expired.member) == (-15, customer_a)
    assert expired.key == f"expire:member:{customer_a.pk}:2026-06-01"
    assert loyalty.member_balance(member=customer_a) == 30  # the new earn, whole


def test_running_again_the_same_day_or_the_next_changes_nothing(program, orders, customer_a):
    earn(customer_a, orders[0], 40, days_ago=45)
    loyalty.loyalty_expire(now=NOW)
    assert loyalty.loyalty_expire(now=NOW) == []
    assert loyalty.loyalty_expire(now=NOW + dt.timedelta(days=1)) == []  # what expired counts as taken
    assert list(LoyaltyEntry.objects.filter(kind=E.EXPIRE).values_list("stars", flat=True)) == [-40]
    assert loyalty.member_balance(member=customer_a) == 0


def test_a_refund_of_a_new_order_does_not_keep_old_stars_alive(program, orders, customer_a):
    earn(customer_a, orders[0], 20, days_ago=40)
    earn(customer_a, orders[1], 10, days_ago=2)
    take(customer_a, E.EARN_REVERSED, -10, "earn_reversed:refund:1", order=orders[1])  # the new order refunded

    loyalty.loyalty_expire(now=NOW)

    assert loyalty.member_balance(member=customer_a) == 0


def test_a_refund_of_the_old_order_and_a_cancelled_redemption_count_once(program, orders, customer_a):
    earn(customer_a, orders[0], 20, days_ago=40)
    take(customer_a, E.EARN_REVERSED, -5, "earn_reversed:refund:1", order=orders[0])  # 15 of the 20 are left
    take(customer_a, E.REDEEM, -10, "redeem:1")
    take(customer_a, E.REDEEM_REVERSED, 10, "redeem_reversed:1")  # that order was cancelled: nothing spent

    loyalty.loyalty_expire(now=NOW)

    assert LoyaltyEntry.objects.get(kind=E.EXPIRE).stars == -15
    assert loyalty.member_balance(member=customer_a) == 0


def test_stars_a_manager_added_never_expire(program, orders, customer_a, manager_store2):
    earn(customer_a, orders[0], 20, days_ago=40)
    loyalty.loyalty_adjust(member=customer_a, stars=7, actor=manager_store2, reason="goodwill")
    loyalty.loyalty_expire(now=NOW)
    assert loyalty.member_balance(member=customer_a) == 7


def test_nothing_expires_without_an_expiry_in_the_program(program, orders, customer_a, customer_b):
    earn(customer_a, orders[0], 20, days_ago=40)
    program.star_expiry_days = 0
    program.save()
    assert loyalty.loyalty_expire(now=NOW) == []
    program.is_active = False
    program.save()
    assert loyalty.loyalty_expire(now=NOW) == []
    assert loyalty.member_balance(member=customer_a) == 20


def test_each_member_on_their_own(program, orders, customer_a, customer_b):
    earn(customer_a, orders[0], 20, days_ago=40)
    earn(customer_b, orders[1], 30, days_ago=40)
    take(customer_b, E.REDEEM, -30, "redeem:b")
    assert loyalty.loyalty_expire(now=NOW) == [customer_a.pk]
    assert (loyalty.member_balance(member=customer_a), loyalty.member_balance(member=customer_b)) == (0, 0)


def test_the_command_runs_one_pass(program, orders, customer_a):
    earn(customer_a, orders[0], 20, days_ago=40)
    out = StringIO()
    call_command("loyalty_expire", stdout=out)
    assert out.getvalue().strip() == "Stars expired for 1 member(s)."
    assert loyalty.member_balance(member=customer_a) == 0


# --- Properties over random ledgers -------------------------------------------------------------------------

# One member's history: earns (stars, days ago), then what happened to them, in order.
events = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 60), st.integers(0, 90)),
    st.tuples(st.just("redeem"), st.integers(1, 40), st.booleans()),  # the bool: later cancelled (given back)
    st.tuples(st.just("reverse"), st.integers(1, 30), st.integers(0, 9)),  # a refund of the n-th earn
    st.tuples(st.just("adjust"), st.integers(-20, 20), st.just(0)),
), max_size=25)


def play(member, orders, history) -> None:
    """Write `history` as the services would: nothing below a zero balance, reversals within their earn."""
    earned: list[tuple] = []  # (order, stars left to reverse)
    for n, (what, amount, extra) in enumerate(history):
        balance = loyalty.member_balance(member=member)
        if what == "earn" and len(earned) < len(orders):
            earn(member, orders[len(earned)], amount, days_ago=extra)
            earned.append([orders[len(earned)], amount])
        elif what == "redeem" and balance >= amount:
            take(member, E.REDEEM, -amount, f"redeem:{n}")
            if extra:
                take(member, E.REDEEM_REVERSED, amount, f"redeem_reversed:{n}")
        elif what == "reverse" and earned:
            target = earned[extra % len(earned)]
            due = min(amount, target[1], balance)
            if due > 0:
                target[1] -= due
                take(member, E.EARN_REVERSED, -due, f"earn_reversed:{n}", order=target[0])
        elif what == "adjust" and amount and balance + amount >= 0:
            take(member, E.ADJUST, amount, f"adjust:{n}")


def not_expired_net(member) -> int:
    """Stars earned after the cut-off, less their own refunds: what expiry may never take."""
    rows = list(LoyaltyEntry.objects.filter(member=member).values_list("kind", "stars", "order_id", "expires_at"))
    late_orders = {order_id for kind, _, order_id, expires in rows if kind == E.EARN and expires > NOW}
    return sum(stars for kind, stars, order_id, _ in rows
               if order_id in late_orders and kind in (E.EARN, E.EARN_REVERSED))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=events)
def test_expiry_never_takes_more_than_the_balance_nor_new_stars_and_runs_once(program, orders, customer_a, history):
    LoyaltyEntry.objects.all().delete()  # each example starts from an empty ledger (one transaction for all)
    play(customer_a, orders, history)
    before = loyalty.member_balance(member=customer_a)
    keep = not_expired_net(customer_a)

    loyalty.loyalty_expire(now=NOW)

    after = loyalty.member_balance(member=customer_a)
    assert 0 <= after <= before
    assert after >= min(before, keep)  # stars earned after the cut-off are all still there
    expired_rows = LoyaltyEntry.objects.filter(kind=E.EXPIRE)
    assert expired_rows.count() <= 1
    # again: the same day, and the next day unless an earn's expiry falls in between (then it may expire too)
    next_day = NOW + dt.timedelta(days=1)
    expiring_overnight = LoyaltyEntry.objects.filter(kind=E.EARN, expires_at__gt=NOW, expires_at__lte=next_day).exists()
    for later in (NOW, NOW + dt.timedelta(hours=1)) + (() if expiring_overnight else (next_day,)):
        loyalty.loyalty_expire(now=later)
    assert loyalty.member_balance(member=customer_a) == after
    rows = list(LoyaltyEntry.objects.filter(member=customer_a).values_list("kind", "stars", "order_id", "expires_at"))
    assert loyalty.stars_to_expire(rows, now=NOW + dt.timedelta(hours=1)) == 0


@given(history=st.lists(st.tuples(st.sampled_from([E.EARN, E.EARN_REVERSED, E.REDEEM, E.REDEEM_REVERSED, E.ADJUST,
                                                    E.EXPIRE, E.CLOSE]),
                                   st.integers(-50, 50), st.integers(0, 4), st.integers(-40, 40)), max_size=30))
def test_the_rule_alone_stays_within_the_balance_for_any_rows(history):
    """The rule, on any rows at all (even ones the services never write): 0 <= expiring <= max(balance, 0)."""
    rows = [(kind, stars, order_id, NOW + dt.timedelta(days=days)) for kind, stars, order_id, days in history]
    due = loyalty.stars_to_expire(rows, now=NOW)
    assert 0 <= due <= max(0, sum(stars for _, stars, _, _ in rows))
