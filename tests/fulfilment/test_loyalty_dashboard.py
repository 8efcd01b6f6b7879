"""The dashboard's Loyalty card (issue 28): members who ordered, the members' share of orders per channel, stars
earned and redeemed in the stores' days, and what all members' stars are worth, chain-wide."""

import datetime as dt
import zoneinfo
from types import SimpleNamespace

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


# --- The card's charts and their CSV (member_share, stars_by_day) ------------------------------------------------

EAST, WEST = "Etc/GMT-2", "Etc/GMT+5"  # UTC+2 and UTC-5 all year


def at(zone: str, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=zoneinfo.ZoneInfo(zone))


@pytest.fixture
def two_zones(db):
    """10 and 11 March in East (UTC+2) and West (UTC-5). Rows near midnight sit on the other side of the UTC date
    from their store's day: East's 00:10 on the 11th is 22:10 UTC on the 10th, West's 21:00 on the 10th is
    02:00 UTC on the 11th. Each store has a manager, and one manager runs both."""
    east = factories.open_store(name="East", slug="east", timezone=EAST)
    west = factories.open_store(name="West", slug="west", timezone=WEST)
    ann, bob, cat = (factories.user(name) for name in ("ann", "bob", "cat"))
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)

    def order(store, channel, customer, placed, status=OrderStatus.PICKED_UP):
        made = factories.order_with_times(store, channel=channel, status=status, total=1000, created=placed)
        if customer:
            made.customer = customer
            made.save(update_fields=["customer"])
        return made

    def write(member, kind, stars, key, order, written):
        loyalty.ledger_write(member=member, kind=kind, stars=stars, key=key, order=order, now=written)

    # East, the 10th late and the 11th just after midnight (still the 10th in UTC), and a walk-in on the 11th.
    e1 = order(east, Channel.MOBILE, ann, at(EAST, 10, 23, 30))
    write(ann, E.EARN, 10, "e1", e1, at(EAST, 10, 23, 50))
    e2 = order(east, Channel.MOBILE, ann, at(EAST, 11, 0, 10))
    write(ann, E.EARN, 20, "e2", e2, at(EAST, 11, 0, 20))
    order(east, Channel.COUNTER, None, at(EAST, 11, 9))
    # West, the 10th late in the evening (the 11th in UTC), and the 11th's morning: a reward, a refund, a cancel.
    w1 = order(west, Channel.COUNTER, bob, at(WEST, 10, 21))
    write(bob, E.EARN, 30, "w1", w1, at(WEST, 10, 21, 30))
    w2 = order(west, Channel.MOBILE, ann, at(WEST, 11, 8))
    write(ann, E.REDEEM, -25, "w2-redeem", w2, at(WEST, 11, 8))
    write(ann, E.EARN, 5, "w2-earn", w2, at(WEST, 11, 8, 30))
    write(ann, E.EARN_REVERSED, -5, "w2-refund", w2, at(WEST, 11, 9))
    w3 = order(west, Channel.MOBILE, cat, at(WEST, 11, 10), status=OrderStatus.CANCELLED)  # not a sale
    write(cat, E.REDEEM, -25, "w3-redeem", w3, at(WEST, 11, 10))
    write(cat, E.REDEEM_REVERSED, 25, "w3-back", w3, at(WEST, 11, 10, 5))
    # Outside the two days, though inside their UTC dates: West's 9th at 23:00 (04:00 UTC on the 10th), East's
    # 12th at 00:30 (22:30 UTC on the 11th).
    w0 = order(west, Channel.COUNTER, bob, at(WEST, 9, 23))
    write(bob, E.EARN, 40, "w0", w0, at(WEST, 9, 23, 30))
    e3 = order(east, Channel.MOBILE, ann, at(EAST, 12, 0, 30))
    write(ann, E.EARN, 50, "e3", e3, at(EAST, 12, 0, 40))
    both = factories.staff("manager-both", east, StoreMembership.MANAGER)
    StoreMembership.objects.create(user=both, store=west, role=StoreMembership.MANAGER)
    return SimpleNamespace(east=east, west=west, manager_east=factories.staff("manager-east", east, "manager"),
                           manager_west=factories.staff("manager-west", west, "manager"), manager_both=both)


TWO_DAYS = {"from": "2026-03-10", "to": "2026-03-11"}
SHARE_HEADER = ["channel", "channel_name", "orders", "member_orders", "share_percent"]
STARS_HEADER = ["day", "earned", "reversed", "redeemed", "given_back", "members"]


def signed_in(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def chart_csv(client, **params) -> list[list[str]]:
    import csv
    import io

    response = client.get("/dashboard/chart.csv", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_both_stores_csvs_cut_each_store_at_its_own_midnight(two_zones):
    client = signed_in(two_zones.manager_both)

    # Counter: East's walk-in and bob at West; mobile: ann twice at East, once at West (cat's was cancelled).
    assert chart_csv(client, chart="member_share", **TWO_DAYS) == [
        SHARE_HEADER, ["counter", "Counter", "2", "1", "50.0"], ["mobile", "Mobile app", "3", "3", "100.0"]]
    # The 10th: East's 10 stars and West's 30, ann and bob. The 11th: East's 20 (written 22:20 UTC on the 10th),
    # West's 5 earned and taken back, ann's and cat's rewards (cat's given back); ann alone ordered (in both
    # stores). Neither the 9th's 40 nor the 12th's 50 counts.
    assert chart_csv(client, chart="stars_by_day", **TWO_DAYS) == [
        STARS_HEADER, ["2026-03-10", "40", "0", "0", "0", "2"], ["2026-03-11", "25", "5", "50", "25", "1"]]
    response = client.get("/dashboard/chart.csv", {"chart": "stars_by_day", **TWO_DAYS})
    assert response["Content-Disposition"] == 'attachment; filename="stars_by_day-2026-03-10-to-2026-03-11.csv"'


def test_the_days_add_up_to_the_cards_figures(two_zones):
    figures = dashboard.loyalty_figures(stores=[two_zones.east, two_zones.west], start=DAY,
                                        end=DAY + dt.timedelta(days=2))

    for name in ("earned", "reversed", "redeemed", "given_back"):
        assert figures[name] == sum(row[name] for row in figures["by_day"]), name
    assert figures["members"] == 2  # ann and bob: ann ordered on both days but is one member
    assert figures["outstanding"] == 10 + 20 + 30 + 40 + 50 - 25 + 5 - 5 - 25 + 25  # every row, chain-wide


def test_a_quiet_day_is_a_row_of_zeros(two_zones):
    rows = chart_csv(signed_in(two_zones.manager_east), chart="stars_by_day", **{"from": "2026-03-09",
                                                                                 "to": "2026-03-11"})
    assert rows == [STARS_HEADER, ["2026-03-09", "0", "0", "0", "0", "0"], ["2026-03-10", "10", "0", "0", "0", "1"],
                    ["2026-03-11", "20", "0", "0", "0", "1"]]


def test_a_manager_of_one_store_sees_only_its_rows(two_zones):
    east, west = signed_in(two_zones.manager_east), signed_in(two_zones.manager_west)

    assert chart_csv(east, chart="member_share", **TWO_DAYS) == [
        SHARE_HEADER, ["counter", "Counter", "1", "0", "0.0"], ["mobile", "Mobile app", "2", "2", "100.0"]]
    assert chart_csv(east, chart="stars_by_day", **TWO_DAYS) == [
        STARS_HEADER, ["2026-03-10", "10", "0", "0", "0", "1"], ["2026-03-11", "20", "0", "0", "0", "1"]]
    assert chart_csv(west, chart="member_share", **TWO_DAYS) == [
        SHARE_HEADER, ["counter", "Counter", "1", "1", "100.0"], ["mobile", "Mobile app", "1", "1", "100.0"]]
    assert chart_csv(west, chart="stars_by_day", **TWO_DAYS) == [
        STARS_HEADER, ["2026-03-10", "30", "0", "0", "0", "1"], ["2026-03-11", "5", "5", "50", "25", "1"]]
    # The other store, asked for by name: refused like a store that does not exist, on both CSVs.
    for name in ("member_share", "stars_by_day"):
        response = east.get("/dashboard/chart.csv", {"chart": name, "store": two_zones.west.pk, **TWO_DAYS})
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_query"
    # The manager of both picks one of them.
    only_west = chart_csv(signed_in(two_zones.manager_both), chart="stars_by_day", store=two_zones.west.pk, **TWO_DAYS)
    assert only_west[1:] == [["2026-03-10", "30", "0", "0", "0", "1"], ["2026-03-11", "5", "5", "50", "25", "1"]]


def test_the_card_draws_both_charts_from_the_same_tables_and_links_their_csv(two_zones):
    import json
    import re

    client = signed_in(two_zones.manager_west)
    for params in (TWO_DAYS, {**TWO_DAYS, "partial": "1"}):  # the page, and the live refresh's part of it
        html = client.get("/dashboard/", params).content.decode()
        charts = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html,
                                      re.S).group(1))
        for name in ("member_share", "stars_by_day"):
            csv_rows = chart_csv(client, chart=name, **TWO_DAYS)
            assert charts[name]["columns"] == csv_rows[0]
            assert [[str(value) for value in row] for row in charts[name]["rows"]] == csv_rows[1:]
            assert f'<canvas id="chart-{name}" role="img"' in html
            assert f'<details class="chart-table" id="table-{name}" open>' in html
            assert f'href="/dashboard/chart.csv?chart={name}&amp;from=2026-03-10&amp;to=2026-03-11"' in html
        # The tables under the charts, for a reader without the chart.
        assert '<th scope="row">Wed 11 Mar</th><td>5</td><td>5</td><td>50</td><td>25</td><td>1</td>' in html
        assert '<th scope="row">Counter</th><td>1</td><td>1</td><td>100%</td>' in html


def test_a_card_with_nothing_to_chart_says_so(two_zones):
    html = signed_in(two_zones.manager_east).get("/dashboard/", {"date": "2026-03-20"}).content.decode()
    assert 'id="chart-member_share"' not in html and 'id="chart-stars_by_day"' not in html
    assert "No stars moved and no member ordered." in html
    assert '<th scope="row">Fri 20 Mar</th><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td>' in html
