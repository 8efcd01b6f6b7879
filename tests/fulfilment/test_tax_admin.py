"""Tax in Django admin: managers set a store's rule; an order shows its tax beside subtotal and total."""

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from fulfilment.models import Order
from stores.models import Store
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_store_form_sets_the_tax_rule(client, admin_user, store):
    client.force_login(admin_user)
    url = reverse("admin:stores_store_change", args=[store.pk])
    page = client.get(url).content.decode()
    assert all(f'name="{field}"' in page for field in ("tax_rate_percent", "prices_include_tax", "tax_label"))

    form = {key: value for key, value in model_to_dict(store).items() if value is not None}
    form.update({"tax_rate_percent": "8.9", "tax_label": "Sales tax", "paused_until_0": "", "paused_until_1": ""})
    for prefix in ("opening_hours", "stations", "categories"):
        form.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[-3000:]
    store.refresh_from_db()
    assert (store.tax_rate_percent, store.prices_include_tax, store.tax_label) == (Decimal("8.9"), False, "Sales tax")


def test_an_order_shows_its_tax_beside_subtotal_and_total(client, admin_user, api_as, customer_a, store, menu):
    store.tax_rate_percent, store.tax_label = Decimal("8.9"), "Sales tax"
    store.save()
    response = api_as(customer_a).post("/api/orders/", {"store": store.pk, "items": [{"item": menu["latte"].pk,
                                                                                       "quantity": 2}]},
                                       format="json", **factories.checkout_key())
    order = Order.objects.get(pk=response.json()["id"])
    client.force_login(admin_user)

    page = client.get(reverse("admin:fulfilment_order_change", args=[order.pk])).content.decode()
    listing = client.get(reverse("admin:fulfilment_order_changelist")).content.decode()

    assert (order.subtotal_minor, order.tax_minor, order.total_minor) == (900, 80, 980)
    assert "$0.80 USD (Sales tax 8.9%, added)" in page and "$9.80 USD" in page
    assert "$9.80 USD" in listing  # the list shows the total; the tax rule is on the page
    assert Store.objects.get(pk=store.pk).tax_rate_percent == Decimal("8.9")
