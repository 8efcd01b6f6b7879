"""Django admin: managers see what was held, charged and refunded, and refund whole orders or chosen lines."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from fulfilment.models import Order, Payment
from fulfilment.services import pickup as pickup_services
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager1(store):
    return factories.staff("manager1", store, "manager")


@pytest.fixture
def collected(stripe_api, ready_order, barista_store1):
    order = ready_order()
    pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                   token=pickup_services.pickup_token(order=order)[0])
    return Order.objects.get(pk=order.pk)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_order_pages_show_held_charged_and_refunded(client, manager1, collected, stripe_api):
    client.force_login(manager1)

    listing = client.get(reverse("admin:fulfilment_order_changelist"))
    page = client.get(reverse("admin:fulfilment_order_change", args=[collected.pk]))

    assert listing.status_code == 200 and page.status_code == 200
    assert "Captured (charged)" in page.content.decode()  # the list keeps to a few columns
    text = page.content.decode()
    assert "Authorised (held)" in text and "$15.95 USD" in text and "Refund lines…" in text
    assert collected.payment.intent_id in text


def test_refund_chosen_lines_from_admin(client, manager1, collected, stripe_api):
    client.force_login(manager1)
    latte = collected.lines.get(item_name="Latte")
    url = reverse("admin:fulfilment_order_refund", args=[collected.pk])

    form = client.get(url)
    response = client.post(url, {f"line_{latte.pk}": 1, "reason": "Spilt"}, follow=True)

    assert form.status_code == 200 and "2 of 2 refundable" in form.content.decode()
    assert response.status_code == 200
    assert f"Refunded $6.10 USD of order {collected.pk}." in messages_of(response)
    assert Payment.objects.get(order=collected).refunded_minor == 610
    assert [r["amount"] for r in stripe_api.refunds.values()] == [610]
    refund = Payment.objects.get(order=collected).refunds.get()
    assert refund.created_by == manager1 and refund.reason == "Spilt"


def test_refund_more_than_is_left_is_refused_by_the_form(client, manager1, collected, stripe_api):
    client.force_login(manager1)
    latte = collected.lines.get(item_name="Latte")
    url = reverse("admin:fulfilment_order_refund", args=[collected.pk])

    response = client.post(url, {f"line_{latte.pk}": 3})

    assert response.status_code == 200 and "Ensure this value is less than or equal to 2" in response.content.decode()
    assert not stripe_api.refunds


def test_refund_action_refunds_whole_orders_and_reports_the_rest(client, manager1, collected, place, stripe_api):
    client.force_login(manager1)
    held = Order.objects.get(pk=place().json()["id"])  # authorised, not captured

    response = client.post(reverse("admin:fulfilment_order_changelist"), {
        "action": "refund_orders", "_selected_action": [collected.pk, held.pk]}, follow=True)

    shown = messages_of(response)
    assert f"Refunded 1 order(s): {collected.pk}." in shown
    assert any(m.startswith(f"Order {held.pk} was not refunded: Nothing has been charged") for m in shown)
    assert Payment.objects.get(order=collected).refunded_minor == 1595


def test_manager_of_another_store_cannot_refund(client, manager_store2, collected, stripe_api):
    client.force_login(manager_store2)

    response = client.post(reverse("admin:fulfilment_order_refund", args=[collected.pk]), {})

    assert response.status_code == 404
    assert not stripe_api.refunds
