"""Refunds of an order with sales tax: lines take their share of the tax back, never more than was captured."""

from decimal import Decimal

import pytest

from fulfilment.models import Order, Payment
from fulfilment.services import payments as payment_services
from fulfilment.services import pickup as pickup_services
from orderahead.errors import Conflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxed_order(store, ready_order, barista_store1, stripe_api):
    """The cart (2 large oat lattes at 610 and a croissant at 375: 1595) at 8.9% sales tax added
    (141.955 -> 142): 1737 captured at the handoff."""
    store.tax_rate_percent, store.prices_include_tax, store.tax_label = Decimal("8.9"), False, "Sales tax"
    store.save()

    def make() -> Order:
        order = ready_order()
        pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                       token=pickup_services.pickup_token(order=order)[0])
        order.refresh_from_db()
        return order
    return make


def test_the_card_is_held_and_charged_for_the_total_with_tax(taxed_order, stripe_api):
    order = taxed_order()

    payment = Payment.objects.get(order=order)
    assert (order.subtotal_minor, order.tax_minor, order.total_minor) == (1595, 142, 1737)
    assert (payment.amount_minor, payment.captured_minor) == (1737, 1737)
    assert stripe_api.intent()["amount"] == 1737


def test_refunding_a_line_gives_back_its_share_of_the_tax(taxed_order, barista_store1, stripe_api):
    order = taxed_order()
    latte, _ = order.lines.order_by("id")

    refund = payment_services.payment_refund(order=order, actor=barista_store1, lines={latte.pk: 1})

    # 610 of 1595 of the lines: 142 x 610 / 1595 = 54.3 -> 54
    assert refund.amount_minor == 610 + 54
    assert refund.lines == [{"line": latte.pk, "quantity": 1, "amount_minor": 610, "tax_minor": 54}]
    assert sorted(r["amount"] for r in stripe_api.refunds.values()) == [664]


def test_refunding_every_line_one_by_one_returns_exactly_the_capture(taxed_order, barista_store1):
    order = taxed_order()
    latte, croissant = order.lines.order_by("id")

    amounts = [payment_services.payment_refund(order=order, lines=lines).amount_minor
               for lines in ({latte.pk: 1}, {croissant.pk: 1}, {latte.pk: 1})]

    payment = Payment.objects.get(order=order)
    assert sum(amounts) == payment.captured_minor == payment.refunded_minor == 1737
    with pytest.raises(Conflict) as nothing_left:
        payment_services.payment_refund(order=order)
    assert nothing_left.value.code == "nothing_to_refund"


def test_a_line_then_the_rest_returns_exactly_the_capture(taxed_order, barista_store1):
    order = taxed_order()
    latte, _ = order.lines.order_by("id")

    first = payment_services.payment_refund(order=order, lines={latte.pk: 1})
    rest = payment_services.payment_refund(order=order)

    assert first.amount_minor + rest.amount_minor == Payment.objects.get(order=order).captured_minor == 1737


def test_a_tax_share_never_takes_a_refund_past_what_is_left_of_the_capture(taxed_order):
    """A capture for less than the total (a provider's partial capture): the last line's tax share is cut
    to what is left, and the payment is never refunded beyond its capture."""
    order = taxed_order()
    Payment.objects.filter(order=order).update(captured_minor=1720)
    latte, croissant = order.lines.order_by("id")

    amounts = [payment_services.payment_refund(order=order, lines={latte.pk: 2}).amount_minor,
               payment_services.payment_refund(order=order, lines={croissant.pk: 1}).amount_minor]

    payment = Payment.objects.get(order=order)
    assert amounts[0] == 1220 + 109 and sum(amounts) == payment.refunded_minor == 1720


def test_prices_that_include_tax_refund_the_line_price_only(store, ready_order, barista_store1, stripe_api):
    store.tax_rate_percent, store.prices_include_tax, store.tax_label = Decimal("20"), True, "VAT"
    store.save()
    order = ready_order()
    pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                   token=pickup_services.pickup_token(order=order)[0])
    order.refresh_from_db()
    latte, _ = order.lines.order_by("id")

    refund = payment_services.payment_refund(order=order, lines={latte.pk: 1})

    assert (order.tax_minor, order.total_minor) == (266, 1595)  # 1595 - 1595 / 1.2 (1329.17)
    assert refund.amount_minor == 610
