"""Pickup on a later day: the quote's days, one day's slots, ordering for tomorrow, and the kitchen asked only
about the next hours."""

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfilment.models import Order
from fulfilment.services import quotes, scheduling
from tests import factories

pytestmark = pytest.mark.django_db


def quote(api, store, menu, expect=200, **body):
    response = api.post(f"/api/stores/{store.pk}/quote/",
                        {"items": [{"item": menu["drip"].pk, "quantity": 1}], **body}, format="json")
    assert response.status_code == expect, response.json()
    return response.json()


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def tomorrow_at(store, hour: int, minute: int = 0) -> dt.datetime:
    local = factories.local_now(store) + dt.timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def place(api_as, user, store, menu, pickup: dt.datetime):
    return api_as(user).post("/api/orders/", {"store": store.pk, "pickup": pickup.isoformat(),
                                              "items": [{"item": menu["drip"].pk, "quantity": 1}]},
                             format="json", **factories.checkout_key())


def test_quote_lists_every_day_up_to_the_stores_limit(api, store, menu):
    body = quote(api, store, menu)

    today = factories.local_now(store).date()
    days = body["days"]
    assert [d["date"] for d in days] == [(today + dt.timedelta(days=n)).isoformat() for n in range(8)]
    assert [d["label"] for d in days[:2]] == ["Today", "Tomorrow"]
    third = today + dt.timedelta(days=2)
    assert days[2]["label"] == f"{third:%a} {third.day} {third:%b}"  # "Tue 8 Dec"
    assert all(d["open"] and d["has_available_slots"] for d in days)
    assert body["day"] == today.isoformat()
    assert {when(s["starts_at"]).astimezone(store.tz).date() for s in body["slots"]} == {today}
    assert when(body["next_available_at"]) == when(body["asap_ready_at"])


def test_slots_of_a_later_day_cover_its_opening_hours_and_promise_their_start(api, store, menu):
    factories.set_hours(store, (dt.time(7), dt.time(11)), (dt.time(13), dt.time(17)))
    day = factories.local_now(store).date() + dt.timedelta(days=3)

    body = quote(api, store, menu, day=day.isoformat())

    assert body["day"] == day.isoformat()
    starts = [when(s["starts_at"]).astimezone(store.tz) for s in body["slots"]]
    assert starts[0].time() == dt.time(7) and starts[-1].time() == dt.time(16, 55)
    assert len(starts) == 2 * 4 * 12  # two four-hour periods of 5-minute slots
    assert all(s["available"] and s["ready_at"] == s["starts_at"] and s["taken"] == 0 for s in body["slots"])
    listed = body["days"][3]
    assert listed["open"] and listed["has_available_slots"]
    assert when(listed["opens_at"]).astimezone(store.tz).time() == dt.time(7)
    assert when(listed["closes_at"]).astimezone(store.tz).time() == dt.time(17)


def test_a_store_closed_for_the_rest_of_today_offers_tomorrow_and_says_when_it_opens(api, store, menu):
    factories.set_hours(store, (dt.time(6), dt.time(10)))  # it is about noon there

    body = quote(api, store, menu)

    tomorrow = factories.local_now(store).date() + dt.timedelta(days=1)
    assert body["asap_available"] is False and "opens at" in body["asap_reason"]
    assert body["days"][0]["open"] and not body["days"][0]["has_available_slots"]
    assert body["day"] == tomorrow.isoformat()
    assert when(body["slots"][0]["starts_at"]) == tomorrow_at(store, 6)
    assert when(body["next_available_at"]) == tomorrow_at(store, 6)


def test_a_day_the_store_does_not_open_is_listed_as_closed(api, store, menu):
    closed_day = factories.local_now(store).date() + dt.timedelta(days=2)
    store.opening_hours.filter(weekday=closed_day.weekday()).delete()

    body = quote(api, store, menu, day=closed_day.isoformat())

    listed = body["days"][2]
    assert (listed["open"], listed["opens_at"], listed["closes_at"], listed["has_available_slots"]) == (
        False, None, None, False)
    assert body["day"] == closed_day.isoformat() and body["slots"] == []


@pytest.mark.parametrize("day, message", [
    ("tomorrow", "Use a date such as"),
    ("2026-13-01", "Use a date such as"),
])
def test_a_malformed_day_is_a_400_that_says_how(api, store, menu, day, message):
    error = quote(api, store, menu, expect=400, day=day)["error"]

    assert error["code"] == "invalid" and message in error["message"] and "day" in error["fields"]


@pytest.mark.parametrize("offset", [-1, 8])
def test_a_day_outside_today_to_the_limit_is_a_400(api, store, menu, offset):
    day = factories.local_now(store).date() + dt.timedelta(days=offset)

    error = quote(api, store, menu, expect=400, day=day.isoformat())["error"]

    assert error["code"] == "bad_day" and "at most 7 days ahead" in error["message"]


def test_order_for_a_slot_tomorrow_is_accepted_and_counted(api, api_as, customer_a, store, menu):
    slot = tomorrow_at(store, 9)
    offered = {when(s["starts_at"]): s for s in
               quote(api, store, menu, day=slot.date().isoformat())["slots"]}
    assert offered[slot]["available"]

    response = place(api_as, customer_a, store, menu, slot)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["pickup_kind"] == "scheduled" and when(body["slot_starts_at"]) == slot
    assert when(body["promised_ready_at"]) == slot
    after = {when(s["starts_at"]): s for s in quote(api, store, menu, day=slot.date().isoformat())["slots"]}
    assert after[slot]["taken"] == 1


def test_a_full_slot_tomorrow_is_shown_full_and_refused(api, api_as, customer_a, customer_b, store, menu):
    slot = tomorrow_at(store, 9)
    for _ in range(store.slot_capacity):
        assert place(api_as, customer_a, store, menu, slot).status_code == 201

    offered = {when(s["starts_at"]): s for s in quote(api, store, menu, day=slot.date().isoformat())["slots"]}
    refused = place(api_as, customer_b, store, menu, slot)

    assert (offered[slot]["available"], offered[slot]["reason"], offered[slot]["taken"]) == (False, "full", 4)
    assert offered[slot + dt.timedelta(minutes=5)]["available"]
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "slot_full"


def test_an_order_beyond_the_days_ahead_is_refused(api_as, customer_a, store, menu):
    too_far = factories.local_now(store) + dt.timedelta(days=store.max_days_ahead, hours=1)

    response = place(api_as, customer_a, store, menu, too_far)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "pickup_too_far"
    assert not Order.objects.exists()


def test_a_requested_time_tomorrow_shows_tomorrows_slots(api, store, menu):
    pickup = tomorrow_at(store, 10, 30)

    body = quote(api, store, menu, pickup=pickup.isoformat())

    assert when(body["requested_ready_at"]) == pickup
    assert body["day"] == pickup.date().isoformat()


def test_the_kitchen_is_asked_only_about_the_next_hours(api, store, menu, monkeypatch):
    asked = []
    kitchen_quote = scheduling.kitchen_quote

    def spy(**kwargs):
        asked.append(list(kwargs.get("slot_starts", [])))
        return kitchen_quote(**kwargs)

    monkeypatch.setattr(scheduling, "kitchen_quote", spy)
    tomorrow = factories.local_now(store).date() + dt.timedelta(days=1)

    body = quote(api, store, menu, day=tomorrow.isoformat())

    assert len(asked) == 1  # one run for ASAP and the slots of the next three hours
    assert asked[0] and max(asked[0]) < when(body["quoted_at"]) + quotes.SLOT_HORIZON
    assert len(body["slots"]) == 24 * 12


def test_a_day_ahead_costs_no_more_statements_than_today(api, store, menu, capsys):
    """The figures of the report: statements and time of a quote for today and for a day ahead."""
    tomorrow = (factories.local_now(store).date() + dt.timedelta(days=1)).isoformat()
    quote(api, store, menu)  # warm the per-process caches (stations, hours) as a running server has them
    figures = {}
    for label, extra in (("today", {}), ("day ahead", {"day": tomorrow})):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            quote(api, store, menu, **extra)
            elapsed_ms = (time.perf_counter() - started) * 1000
        figures[label] = (len(queries), elapsed_ms)

    with capsys.disabled():
        print("\nquote statements/time: " + ", ".join(f"{k}: {n} statements, {ms:.1f} ms"
                                                      for k, (n, ms) in figures.items()))
    assert figures["day ahead"][0] <= figures["today"][0] <= 8


def test_a_paused_store_offers_no_slot_of_any_day_and_no_next_time(api, api_as, store, menu, customer_a):
    store.mobile_paused, store.pause_reason = True, "Espresso machine repair"
    store.paused_until = timezone.now() + dt.timedelta(hours=2)
    store.save()

    body = quote(api, store, menu, day=(factories.local_now(store).date() + dt.timedelta(days=1)).isoformat())

    assert body["slots"] and {s["reason"] for s in body["slots"]} == {"paused"}
    assert body["next_available_at"] is None and not body["asap_available"]
    assert not any(d["has_available_slots"] for d in body["days"])
    assert place(api_as, customer_a, store, menu, tomorrow_at(store, 10)).status_code == 409  # what the quote said
