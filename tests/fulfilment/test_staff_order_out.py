"""The staff view of an order (StaffOrderOut): the short pickup code the kitchen ticket shows, from the moment the
order is placed, so the till can tell the customer; the customer's own view of the order keeps it for when the
order is ready (`pickup`), and has no `pickup_code`."""

import pytest

from fulfilment.models import Order
from fulfilment.presenters import order_ticket
from fulfilment.serializers import OrderOut, StaffOrderOut
from tests import factories

pytestmark = pytest.mark.django_db


def test_staff_see_the_tickets_pickup_code_of_a_placed_order_and_the_customer_does_not(
        api_as, barista_store1, customer_a, menu):
    # A member's counter order: the kind of order both the staff and the customer's app show.
    placed = api_as(barista_store1).post(
        f"/api/stores/{menu['latte'].store_id}/orders/",
        {"channel": "counter", "pickup": "asap",
         "items": [{"item": menu["latte"].pk, "quantity": 1, "modifiers": [menu["large"].pk, menu["oat"].pk]}]},
        format="json", **factories.checkout_key())
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(pk=placed.json()["id"])
    Order.objects.filter(pk=order.pk).update(customer=customer_a)
    order.refresh_from_db()
    assert order.status == "confirmed"

    staff_view = StaffOrderOut(order).data
    code = order_ticket(order)["code"]
    assert staff_view["pickup_code"] == code and len(code) == 4
    assert staff_view["id"] == order.pk and staff_view["total_minor"] == order.total_minor  # the rest as OrderOut
    assert set(staff_view) == {*OrderOut(order).data, "pickup_code", "has_member"}
    assert staff_view["has_member"] is True  # that it is a member's, not whose

    customer_view = api_as(customer_a).get(f"/api/orders/{order.pk}/").json()
    assert "pickup_code" not in customer_view and customer_view["pickup"] is None  # not ready yet
