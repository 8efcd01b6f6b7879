"""Without Stripe keys the demo provider pays, at once, and every page and order response says so."""

import pytest

from fulfilment.models import Order

pytestmark = pytest.mark.django_db


def test_demo_order_is_confirmed_at_once_and_says_it_is_a_demo(place, api_as, customer_a, settings):
    assert not settings.STRIPE_SECRET_KEY

    placed = place(payment_method="")

    assert placed.status_code == 201 and placed.json()["status"] == "confirmed"
    client = api_as(customer_a)
    for body in (placed.json(), client.get(f"/api/orders/{placed.json()['id']}/").json(),
                 client.get("/api/orders/").json()[0]):
        assert body["payment"]["demo"] is True and body["payment"]["provider"] == "demo"
        assert body["payment"]["message"] == "Demo payment: no card was charged."
    payment = client.get(f"/api/orders/{placed.json()['id']}/payment/").json()
    assert payment["demo"] is True and payment["client_secret"] == "" and payment["publishable_key"] == ""


def test_demo_decline_works_without_stripe(place, croissants):
    response = place(payment_method="pm_card_chargeDeclined")

    assert response.status_code == 402
    assert Order.objects.get().status == "cancelled" and croissants() == 5


def test_app_page_in_demo_mode_loads_nothing_from_stripe(client):
    page = client.get("/").content.decode()

    assert "Demo payments: no card is charged" in page
    assert "js.stripe.com" not in page
    assert "window.DEMO_PAYMENTS = true" in page


def test_app_page_with_stripe_keys_loads_the_payment_element(client, stripe_api):
    page = client.get("/").content.decode()

    assert '<script src="https://js.stripe.com/v3/"></script>' in page
    assert '"pk_test_double"' in page
    assert "Demo payments" not in page


def test_secret_key_alone_uses_stripe_without_the_payment_element(client, stripe_api, settings):
    settings.STRIPE_PUBLISHABLE_KEY = ""

    page = client.get("/").content.decode()

    assert "js.stripe.com" not in page and "Demo payments" not in page
