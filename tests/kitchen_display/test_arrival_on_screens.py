"""What the kitchen screens learn of fire by arrival: the ticket carries the customer's ETA and arrival (in
the snapshot and in the event the arrival writes), the public board does not, and the expo page carries the
store's shelf hold limit that turns a shelf row red."""

import datetime as dt
import json
import re

import pytest

from fulfilment.models import StoreEvent, StoreFulfilmentSettings
from fulfilment.presenters import public_ticket
from fulfilment.services.arrival import order_arrival_record
from fulfilment.services.outbox import outbox_snapshot

pytestmark = pytest.mark.django_db


def test_arrival_reaches_the_ticket_in_the_event_and_the_snapshot(counter_order, store, now):
    order = counter_order()
    ticket = next(t for t in outbox_snapshot(store_id=store.pk)["tickets"] if t["id"] == order.pk)
    assert (ticket["arrived_at"], ticket["customer_eta_at"], ticket["fire_on_arrival"]) == (None, None, False)

    order_arrival_record(order=order, customer=None, eta_minutes=8, now=now)
    event = StoreEvent.objects.filter(kind="order.arrival").latest("seq")
    assert event.payload["ticket"]["customer_eta_at"] == (now + dt.timedelta(minutes=8)).isoformat()
    order_arrival_record(order=order, customer=None, here=True, now=now)
    ticket = next(t for t in outbox_snapshot(store_id=store.pk)["tickets"] if t["id"] == order.pk)
    assert ticket["arrived_at"] == now.isoformat() and ticket["customer_eta_at"] is not None
    # the public board is told nothing of it: it shows names and states only
    assert "arrived_at" not in public_ticket(ticket) and "customer_eta_at" not in public_ticket(ticket)


def _config(page) -> dict:
    found = re.search(r'<script id="kds-config" type="application/json">(.*?)</script>', page.content.decode(), re.S)
    return json.loads(found.group(1))


def test_the_expo_page_carries_the_stores_shelf_hold_limit(client, store, menu, barista_store1):
    client.force_login(barista_store1)
    assert _config(client.get(f"/kds/{store.pk}/expo/"))["shelf_hold_s"] == 5 * 60  # the default
    StoreFulfilmentSettings.objects.create(store=store, shelf_hold_minutes=8)
    store.refresh_from_db()  # the settings' save bumped the store's config version
    assert _config(client.get(f"/kds/{store.pk}/expo/"))["shelf_hold_s"] == 8 * 60
