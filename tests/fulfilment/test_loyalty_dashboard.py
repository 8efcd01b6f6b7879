"""The dashboard's Loyalty card (issue 28): members who ordered, the members' share of orders per channel, stars
earned and redeemed in the stores' days, and what all members' stars are worth, chain-wide."""

import datetime as dt
import zoneinfo

import pytest

from fulfilment import dashboard
from fulfilment.models import Channel, LoyaltyEntry, LoyaltyProgram, OrderStatus, Reward
from fulfilment.services import loyalty
from stores.models import StoreMembership
from tests import factories

ZONE = "Etc/GMT-2"  # UTC+2 all year
DAY = dt.date(2026, 3, 10)
NEXT_DAY = DAY + dt.timedelta(days=1)
E = LoyaltyEntry


def local(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(ZONE))


@pytest.fixture
def day(db):
    """Store A's day: 3 mobile orders (2 by members), 2 counter orders (1 by a member), a cancelled member order;
    store B's member order; ledger rows of A's day, of the day before and of B."""
    store_a = factories.open_store(name="A", slug="a", timezone=ZONE)
    store_b = factories.open_store(name="B", slug="b", timezone=ZONE)
    ann, bob, cat = (factories.user(name) for name in ("ann", "bob", "cat"))
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    Reward.objects.create(program=program, name="Free cake", stars_cost=60, max_value_minor=900)
    Reward.objects.create(program=program, name="Birthday", stars_cost=0, max_value_minor=800, is_birthday=True)

    def order(store, channel, customer, hour, status=OrderStatus.PICKED_UP):
        made = factories.order_with_times(store, channel=channel, status=status, total=1000, created=local(hour))
        if customer:
            made.customer = customer
            made.save(update_fields=["customer"])
        return made

    o1 = order(store_a, Channel.MOBILE, ann, 8)
    o2 = order(store_a, Channel.MOBILE, ann, 9)
    order(store_a, Channel.MOBILE, None, 10)
    o4 = order(store_a, Channel.COUNTER, bob, 11)
    order(store_a, Channel.COUNTER, None, 12)
    order(store_a, Channel.COUNTER, cat, 13, status=OrderStatus.CANCELLED)  # not a sale
    ob = order(store_b, Channel.COUNTER, cat, 9)

    def write(member, kind, stars, key, order=None, at=None):
        loyalty.ledger_write(member=member, kind=kind, stars=stars, key=key, order=order, now=at or local(12))

    write(ann, E.EARN, 20, "e1", o1, local(8, 30))
    write(ann, E.EARN, 20, "e2", o2, local(9, 30))
    write(ann, E.EARN_REVERSED, -5, "r2", o2, local(10))
    write(bob, E.EARN, 20, "e4", o4, local(11, 30))
    write(ann, E.REDEEM, -25, "d1", o2, local(9))
    write(bob, E.REDEEM, -25, "d4", o4, local(11))
    write(bob, E.REDEEM_REVERSED, 25, "g4", o4, local(11, 5))
    write(ann, E.EARN, 30, "old", o1, local(23, day=DAY - dt.timedelta(days=1)))  # the evening before A's day
    write(cat, E.EARN, 20, "eb", ob, local(9, 30))  # store B
    write(cat, E.ADJUST, 7, "adj")  # no order: counts in the balance only
    return {"a": store_a, "b": store_b, "program": program}


def test_members_share_of_orders_and_stars_of_the_day(day):
    figures = dashboard.loyalty_figures(stores=[day["a"]], start=DAY, end=NEXT_DAY)

    assert figures["members"] == 2  # ann (twice) and bob; cat's order was cancelled
    assert figures["by_channel"] == [
        {"channel": "counter", "orders": 2, "member_orders": 1, "share": 0.5},
        {"channel": "mobile", "orders": 3, "member_orders": 2, "share": pytest.approx(2 / 3)}]
    assert (figures["earned"], figures["reversed"], figures["redeemed"], figures["given_back"]) == (60, 5, 50, 25)


def test_rewards_outstanding_are_every_members_stars_at_the_cheapest_rewards_value(day):
    # Balances: ann 20 + 20 - 5 - 25 + 30 = 40, bob 20, cat 27: 87 stars, chain-wide (B's and the day before's
    # too). A star: the cheapest reward that costs stars, the free drink, 650 / 25 = 26 cents.
    figures = dashboard.loyalty_figures(stores=[day["a"]], start=DAY, end=NEXT_DAY)
    assert figures["outstanding"] == 87
    assert figures["star"] == {"name": "Free drink", "max_value_minor": 650, "stars_cost": 25}
    assert figures["liability_minor"] == 87 * 26

    Reward.objects.filter(name="Free drink").update(is_active=False)  # the cake: 900 / 60 = 15 cents
    assert dashboard.loyalty_figures(stores=[day["a"]], start=DAY, end=NEXT_DAY)["liability_minor"] == 87 * 15
    Reward.objects.filter(name="Free cake").update(is_active=False)  # only the birthday reward: no value
    assert dashboard.loyalty_figures(stores=[day["a"]], start=DAY, end=NEXT_DAY)["liability_minor"] is None


def test_the_card_on_the_page(day):
    from django.test import Client

    manager = factories.staff("manager-a", day["a"], StoreMembership.MANAGER)
    client = Client()
    client.force_login(manager)
    page = client.get("/dashboard/", {"date": "2026-03-10"}).content.decode()

    assert '<h2 id="h-loyalty">Loyalty</h2>' in page
    assert '<td id="loyalty-members">2</td>' in page and '<td id="loyalty-earned">60</td>' in page
    assert '<td id="loyalty-redeemed">50</td>' in page and '<td id="loyalty-given-back">25</td>' in page
    assert '<td id="loyalty-liability">$22.62 USD</td>' in page
    assert "87 stars, in every store" in page
    assert "Free drink: up to $6.50 USD for 25 stars" in page
    assert "<td>3</td><td>2</td><td>67%</td>" in page  # mobile: 2 of 3 orders by members
    partial = client.get("/dashboard/", {"date": "2026-03-10", "partial": "1"}).content.decode()
    assert 'id="loyalty-liability"' in partial


def test_a_day_without_members_or_program(day):
    LoyaltyProgram.objects.update(is_active=False)
    figures = dashboard.loyalty_figures(stores=[day["a"]], start=NEXT_DAY, end=NEXT_DAY + dt.timedelta(days=1))
    assert figures["members"] == 0 and figures["by_channel"] == [] and figures["earned"] == 0
    assert figures["star"] is None and figures["liability_minor"] is None
