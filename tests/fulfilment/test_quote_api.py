"""Quotes: the ASAP ready time (honest about the queue), the pickup slots, and that ordering keeps the promise."""

import datetime as dt

import pytest

from fulfilment.models import Order
from tests import factories

pytestmark = pytest.mark.django_db


def quote(api, store, *lines, pickup="asap"):
    response = api.post(f"/api/stores/{store.pk}/quote/", {"items": list(lines), "pickup": pickup}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def lead(body) -> dt.timedelta:
    return when(body["asap_ready_at"]) - when(body["quoted_at"])


def slot_an_hour_ahead(store) -> dt.datetime:
    """Start of the 5-minute pickup slot an hour from now, in the store's time."""
    later = factories.local_now(store) + dt.timedelta(hours=1)
    return later.replace(minute=later.minute // 5 * 5, second=0, microsecond=0)


@pytest.fixture
def place(api_as, customer_a, menu):
    def order(pickup="asap", client=None, **line):
        body = {"store": menu["latte"].store_id, "pickup": pickup,
                "items": [line or {"item": menu["drip"].pk, "quantity": 1}]}
        return (client or api_as(customer_a)).post("/api/orders/", body, format="json", **factories.checkout_key())
    return order


def test_quote_prices_the_cart(api, store, menu):
    body = quote(api, store, {"item": menu["latte"].pk, "quantity": 2, "modifiers": [menu["large"].pk]},
                 {"item": menu["drip"].pk, "quantity": 1})

    assert (body["subtotal_minor"], body["currency"]) == ((450 + 90) * 2 + 250, "USD")
    assert body["asap_available"] is True and body["asap_reason"] == ""
    assert body["requested_ready_at"] is None


def test_asap_is_later_when_the_kitchen_has_a_backlog(api, api_as, barista_store1, store, menu):
    drip = {"item": menu["drip"].pk, "quantity": 1}
    idle = quote(api, store, drip)
    for _ in range(3):  # 30 lattes = 30 min of espresso-bar work on 2 lanes
        response = api_as(barista_store1).post(
            f"/api/stores/{store.pk}/orders/",
            {"channel": "counter", "pickup": "asap", "items": [{"item": menu["latte"].pk, "quantity": 10}]},
            format="json", **factories.checkout_key())
        assert response.status_code == 201, response.json()

    busy = quote(api, store, drip)

    assert lead(idle) < dt.timedelta(minutes=2)
    assert lead(busy) >= lead(idle) + dt.timedelta(minutes=13)


def test_backlog_at_another_station_does_not_delay_this_cart(api, api_as, barista_store1, store, menu):
    croissant = {"item": menu["croissant"].pk, "quantity": 1}
    idle = quote(api, store, croissant)
    api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/",
                                {"channel": "counter", "items": [{"item": menu["latte"].pk, "quantity": 10}]},
                                format="json", **factories.checkout_key())

    assert lead(quote(api, store, croissant)) == lead(idle)


def test_quote_lists_the_pickup_slots_of_the_next_hours(api, store, menu):
    body = quote(api, store, {"item": menu["drip"].pk, "quantity": 1})

    slots = body["slots"]
    assert len(slots) >= 30  # about three hours of 5-minute slots in a store open all day
    starts = [when(s["starts_at"]) for s in slots]
    assert all(b - a == dt.timedelta(minutes=5) for a, b in zip(starts, starts[1:]))
    assert all(when(s["ends_at"]) - when(s["starts_at"]) == dt.timedelta(minutes=5) for s in slots)
    assert {(s["capacity"], s["taken"]) for s in slots} == {(4, 0)}
    quoted_at = when(body["quoted_at"])
    assert starts[0] <= quoted_at < starts[0] + dt.timedelta(minutes=5)
    for slot, start in zip(slots, starts):
        if start < quoted_at + dt.timedelta(minutes=5):  # the minimum lead time
            assert (slot["available"], slot["reason"]) == (False, "too soon")
        elif start >= quoted_at + dt.timedelta(minutes=10):
            assert (slot["available"], slot["reason"]) == (True, "")


def test_scheduled_order_gets_its_slot_and_the_requested_time(api, store, menu, place):
    slot = slot_an_hour_ahead(store)
    pickup = slot + dt.timedelta(minutes=2)

    response = place(pickup=pickup.isoformat())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["pickup_kind"] == "scheduled"
    assert when(body["slot_starts_at"]) == slot
    assert when(body["promised_ready_at"]) == pickup and when(body["requested_pickup_at"]) == pickup
    taken = {when(s["starts_at"]): s["taken"] for s in quote(api, store, {"item": menu["drip"].pk, "quantity": 1})
             ["slots"]}
    assert taken[slot] == 1


def test_bunched_slot_promises_a_later_time_inside_it(api, api_as, barista_store1, store, menu, place):
    """Four lattes already booked for a slot's start fill both espresso lanes just before it; a fifth
    made for that start would be ready minutes early. The quote promises it later inside the slot
    instead, and the order booked for that slot gets that promise (and still counts in the slot)."""
    slot = slot_an_hour_ahead(store)
    counter = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/",
                                          {"channel": "counter", "pickup": slot.isoformat(),
                                           "items": [{"item": menu["latte"].pk, "quantity": 4}]}, format="json",
                                          **factories.checkout_key())
    assert counter.status_code == 201, counter.json()

    offered = {when(s["starts_at"]): s for s in quote(api, store, {"item": menu["latte"].pk, "quantity": 1})["slots"]}
    response = place(pickup=slot.isoformat(), item=menu["latte"].pk, quantity=1)

    ready_at = when(offered[slot]["ready_at"])
    assert offered[slot]["available"] and slot < ready_at < slot + dt.timedelta(minutes=5)
    assert when(offered[slot + dt.timedelta(minutes=30)]["ready_at"]) == slot + dt.timedelta(minutes=30)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert when(body["slot_starts_at"]) == slot and when(body["requested_pickup_at"]) == slot
    assert when(body["promised_ready_at"]) == ready_at


def test_full_slot_is_shown_and_refused(api, api_as, customer_b, barista_store1, store, menu, place):
    slot = slot_an_hour_ahead(store)
    pickup = (slot + dt.timedelta(minutes=1)).isoformat()
    for _ in range(4):  # slot capacity is 4
        assert place(pickup=pickup).status_code == 201

    offered = {when(s["starts_at"]): s for s in quote(api, store, {"item": menu["drip"].pk, "quantity": 1})["slots"]}
    refused = place(pickup=pickup, client=api_as(customer_b))

    full = offered[slot]
    assert (full["capacity"], full["taken"], full["available"], full["reason"]) == (4, 4, False, "full")
    assert offered[slot + dt.timedelta(minutes=5)]["available"] is True
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "slot_full"
    assert f"The {slot:%H:%M} pickup slot is full" in refused.json()["error"]["message"]
    assert Order.objects.count() == 4
    # Counter orders do not count against mobile pickup slots.
    counter = api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/",
                                          {"channel": "counter", "pickup": pickup,
                                           "items": [{"item": menu["drip"].pk, "quantity": 1}]}, format="json",
                                          **factories.checkout_key())
    assert counter.status_code == 201, counter.json()


def test_cancelling_frees_a_place_in_a_full_slot(api_as, customer_a, store, menu, place):
    slot = slot_an_hour_ahead(store)
    pickup = (slot + dt.timedelta(minutes=1)).isoformat()
    ids = [place(pickup=pickup).json()["id"] for _ in range(4)]
    assert place(pickup=pickup).status_code == 409

    api_as(customer_a).post(f"/api/orders/{ids[0]}/cancel/")

    assert place(pickup=pickup).status_code == 201


def test_quote_for_a_requested_time_returns_when_it_will_be_ready(api, store, menu):
    pickup = slot_an_hour_ahead(store) + dt.timedelta(minutes=3)

    body = quote(api, store, {"item": menu["drip"].pk, "quantity": 1}, pickup=pickup.isoformat())

    assert when(body["requested_ready_at"]) == pickup


def test_quote_for_a_time_the_kitchen_cannot_make_says_the_earliest(api, api_as, barista_store1, store, menu):
    for _ in range(3):
        api_as(barista_store1).post(f"/api/stores/{store.pk}/orders/",
                                    {"channel": "counter", "items": [{"item": menu["latte"].pk, "quantity": 10}]},
                                    format="json", **factories.checkout_key())
    pickup = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=7)

    response = api.post(f"/api/stores/{store.pk}/quote/",
                        {"items": [{"item": menu["drip"].pk, "quantity": 1}], "pickup": pickup.isoformat()},
                        format="json")

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "slot_unavailable" and "the earliest is" in error["message"]
    assert when(error["fields"]["earliest_ready_at"]) > pickup


def test_quoted_asap_time_is_what_the_order_then_promises(api, store, menu, place):
    body = quote(api, store, {"item": menu["latte"].pk, "quantity": 2})

    response = place(item=menu["latte"].pk, quantity=2)

    assert response.status_code == 201, response.json()
    promised = when(response.json()["promised_ready_at"])
    assert response.json()["pickup_kind"] == "asap" and response.json()["slot_starts_at"] is None
    assert abs(promised - when(body["asap_ready_at"])) < dt.timedelta(seconds=5)


def test_paused_store_quotes_no_asap_and_says_why(api, store, menu):
    store.mobile_paused, store.pause_reason = True, "Closed for a private event"
    store.save()

    body = quote(api, store, {"item": menu["drip"].pk, "quantity": 1})

    assert body["asap_available"] is False and body["asap_ready_at"] is None
    assert "Closed for a private event" in body["asap_reason"]


def test_closed_store_quotes_no_asap_and_only_open_slots(api, store, menu):
    factories.set_hours(store, (dt.time(14), dt.time(18)))  # it is about noon there

    body = quote(api, store, {"item": menu["drip"].pk, "quantity": 1})

    assert body["asap_available"] is False and "opens at" in body["asap_reason"]
    assert body["slots"], "slots after 14:00 fall within the next three hours"
    assert all(when(s["starts_at"]).astimezone(store.tz).time() >= dt.time(14) for s in body["slots"])


@pytest.mark.parametrize("store_id, items, status, code", [
    (999_999, "drip", 404, "unknown_store"),
    (None, 999_999, 400, "unknown_item"),
    (None, [], 400, "invalid"),
])
def test_quote_refuses_what_ordering_refuses(api, store, menu, store_id, items, status, code):
    lines = [] if items == [] else [{"item": menu["drip"].pk if items == "drip" else items, "quantity": 1}]

    response = api.post(f"/api/stores/{store_id or store.pk}/quote/", {"items": lines}, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code


def test_quote_refuses_a_time_outside_opening_hours(api, store, menu):
    factories.set_hours(store, (dt.time(6), dt.time(18)))
    evening = factories.local_now(store).replace(hour=21, minute=0, second=0, microsecond=0)

    response = api.post(f"/api/stores/{store.pk}/quote/",
                        {"items": [{"item": menu["drip"].pk, "quantity": 1}], "pickup": evening.isoformat()},
                        format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "outside_opening_hours"
