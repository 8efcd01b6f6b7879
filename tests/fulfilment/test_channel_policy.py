"""The channel policy table (fulfilment/channels.py) is what every channel check reads.

Each behaviour is shown twice: as the table has it today, and with one flag of one channel changed
(monkeypatched), so a check that compared channel values instead of reading the table would fail.
"""

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from django.test import Client

from fulfilment import channels
from fulfilment.channels import CHANNEL_POLICIES, policy
from fulfilment.models import Channel, Order, OrderEvent, Payment
from fulfilment.serializers import StaffOrderIn
from tests import factories

pytestmark = pytest.mark.django_db

KDS_CSS = Path(__file__).resolve().parents[2] / "kitchen_display" / "static" / "kitchen_display" / "kds.css"


@pytest.fixture
def set_policy(monkeypatch):
    """set_policy(channel, flag=value, ...): that channel's row with those flags changed, for this test."""
    def change(channel, **flags):
        monkeypatch.setitem(CHANNEL_POLICIES, channel, dataclasses.replace(policy(channel), **flags))
    return change


def drip(menu) -> list[dict]:
    return [{"item": menu["drip"].pk, "quantity": 1}]


def mobile_order(api_as, customer, menu, pickup="asap"):
    return api_as(customer).post("/api/orders/", {"store": menu["drip"].store_id, "pickup": pickup,
                                                  "items": drip(menu)},
                                 format="json", **factories.checkout_key())


def counter_order(api_as, staff, menu, pickup="asap"):
    return api_as(staff).post(f"/api/stores/{menu['drip'].store_id}/orders/",
                              {"channel": "counter", "pickup": pickup, "items": drip(menu)},
                              format="json", **factories.checkout_key())


def slot_an_hour_ahead(store) -> dt.datetime:
    later = factories.local_now(store) + dt.timedelta(hours=1)
    return later.replace(minute=later.minute // 5 * 5, second=0, microsecond=0)


def pause(store):
    store.mobile_paused, store.pause_reason = True, "Short-staffed"
    store.save()


# --- The table ---------------------------------------------------------------------------------------------

def test_every_channel_has_exactly_one_policy():
    assert set(CHANNEL_POLICIES) == set(Channel.values)
    assert all(isinstance(policy(value), channels.ChannelPolicy) for value in Channel.values)


def test_a_policy_cannot_be_changed_in_place():
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy(Channel.MOBILE).pausable = False


# --- Pausable: the store's "pause mobile ordering" -----------------------------------------------------------

@pytest.mark.parametrize("pickup", ["asap", "scheduled"])
def test_pause_refuses_pausable_channels_only(api_as, customer_a, barista_store1, store, menu, pickup):
    pause(store)
    when = "asap" if pickup == "asap" else (slot_an_hour_ahead(store) + dt.timedelta(minutes=1)).isoformat()

    mobile = mobile_order(api_as, customer_a, menu, pickup=when)
    counter = counter_order(api_as, barista_store1, menu, pickup=when)

    assert mobile.status_code == 409 and mobile.json()["error"]["code"] == "store_paused"
    assert counter.status_code == 201, counter.json()


@pytest.mark.parametrize("pickup", ["asap", "scheduled"])
def test_pause_follows_the_table(api_as, customer_a, barista_store1, store, menu, set_policy, pickup):
    set_policy(Channel.COUNTER, pausable=True)
    set_policy(Channel.MOBILE, pausable=False)
    pause(store)
    when = "asap" if pickup == "asap" else (slot_an_hour_ahead(store) + dt.timedelta(minutes=1)).isoformat()

    mobile = mobile_order(api_as, customer_a, menu, pickup=when)
    counter = counter_order(api_as, barista_store1, menu, pickup=when)

    assert mobile.status_code == 201, mobile.json()
    assert counter.status_code == 409 and counter.json()["error"]["code"] == "store_paused"


# --- Paid in the app or at the till ----------------------------------------------------------------------------

@pytest.fixture
def admin_page(db):
    """admin_page(order) -> the order's page in the admin, as a chain admin sees it."""
    client = Client()
    client.force_login(factories.user("chain_admin", is_staff=True, is_superuser=True))

    def page(order: Order) -> str:
        response = client.get(f"/admin/fulfilment/order/{order.pk}/change/")
        assert response.status_code == 200
        return response.content.decode()
    return page


def test_mobile_waits_for_the_card_and_counter_is_paid_at_the_till(api_as, customer_a, barista_store1, menu,
                                                                   admin_page):
    mobile = mobile_order(api_as, customer_a, menu)
    counter = counter_order(api_as, barista_store1, menu)

    assert mobile.status_code == 201 and counter.status_code == 201
    mobile_row, counter_row = Order.objects.get(pk=mobile.json()["id"]), Order.objects.get(pk=counter.json()["id"])
    assert list(mobile_row.events.values_list("kind", "to_status")) == [
        (OrderEvent.CREATED, "pending_payment"), (OrderEvent.STATUS_CHANGED, "confirmed")]
    assert Payment.objects.filter(order=mobile_row).exists()
    assert mobile.json()["payment"]["provider"] != "in_store"
    assert list(counter_row.events.values_list("kind", "to_status")) == [(OrderEvent.CREATED, "confirmed")]
    assert not Payment.objects.filter(order=counter_row).exists()
    assert counter.json()["payment"]["status"] == "paid_in_store"
    assert "Paid at the till" in admin_page(counter_row)
    assert "Paid at the till" not in admin_page(mobile_row)


def test_payment_follows_the_table(api_as, customer_a, menu, set_policy, admin_page):
    set_policy(Channel.MOBILE, paid_in_app=False)

    response = mobile_order(api_as, customer_a, menu)

    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])
    # Paid at the till: confirmed at once, no card payment asked for, and every screen says so.
    assert list(order.events.values_list("kind", "to_status")) == [(OrderEvent.CREATED, "confirmed")]
    assert order.confirmed_at is not None
    assert not Payment.objects.filter(order=order).exists()
    assert response.json()["payment"]["status"] == "paid_in_store"
    assert response.json()["payment"]["status_label"] == "Paid at the till"
    assert "Paid at the till" in admin_page(order)


# --- Slot capacity ---------------------------------------------------------------------------------------------

def fill_slot(api_as, customer, store, menu) -> tuple[dt.datetime, str]:
    slot = slot_an_hour_ahead(store)
    pickup = (slot + dt.timedelta(minutes=1)).isoformat()
    for _ in range(store.slot_capacity):
        assert mobile_order(api_as, customer, menu, pickup=pickup).status_code == 201
    return slot, pickup


def test_only_slot_counting_channels_take_slot_capacity(api_as, customer_a, barista_store1, store, menu):
    slot, pickup = fill_slot(api_as, customer_a, store, menu)

    mobile = mobile_order(api_as, customer_a, menu, pickup=pickup)
    counter = counter_order(api_as, barista_store1, menu, pickup=pickup)

    assert mobile.status_code == 409 and mobile.json()["error"]["code"] == "slot_full"
    assert counter.status_code == 201, counter.json()
    assert counter.json()["slot_starts_at"] is None
    assert Order.objects.filter(slot_starts_at=slot).count() == store.slot_capacity


def test_slot_capacity_follows_the_table(api_as, customer_a, barista_store1, store, menu, set_policy):
    slot, pickup = fill_slot(api_as, customer_a, store, menu)
    set_policy(Channel.COUNTER, counts_toward_slot_capacity=True)
    set_policy(Channel.MOBILE, counts_toward_slot_capacity=False)

    mobile = mobile_order(api_as, customer_a, menu, pickup=pickup)
    counter = counter_order(api_as, barista_store1, menu, pickup=pickup)

    assert mobile.status_code == 201, mobile.json()
    assert mobile.json()["slot_starts_at"] is None
    assert counter.status_code == 409 and counter.json()["error"]["code"] == "slot_full"


# --- Placed by staff -------------------------------------------------------------------------------------------

def test_staff_order_api_offers_the_channels_staff_place(api_as, barista_store1, menu):
    offered = set(StaffOrderIn().fields["channel"].choices)

    assert offered == {value for value in Channel.values if policy(value).placed_by_staff}
    assert Channel.MOBILE not in offered
    response = api_as(barista_store1).post(f"/api/stores/{menu['drip'].store_id}/orders/",
                                           {"channel": "mobile", "items": drip(menu)},
                                           format="json", **factories.checkout_key())
    assert response.status_code == 400 and "channel" in response.json()["error"]["fields"]


def test_staff_channel_choices_follow_the_table(set_policy):
    set_policy(Channel.DELIVERY, placed_by_staff=False)

    assert Channel.DELIVERY not in dict(channels.staff_channel_choices())


# --- Badge on the kitchen screens ------------------------------------------------------------------------------

def kds_config(store, staff) -> dict:
    client = Client()
    client.force_login(staff)
    page = client.get(f"/kds/{store.pk}/expo/")
    assert page.status_code == 200
    return page.context["config"]


def test_every_badge_has_a_colour_in_the_kitchen_css():
    css_classes = set(re.findall(r"\.(ch-[\w-]+)\s*\{", KDS_CSS.read_text()))

    assert {policy(value).badge for value in Channel.values} <= css_classes


def test_kitchen_screens_take_the_badge_from_the_table(store, barista_store1, set_policy):
    assert kds_config(store, barista_store1)["badges"][Channel.KIOSK] == "ch-kiosk"

    set_policy(Channel.KIOSK, badge="ch-counter")

    assert kds_config(store, barista_store1)["badges"][Channel.KIOSK] == "ch-counter"
