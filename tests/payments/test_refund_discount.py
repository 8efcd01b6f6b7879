"""Refunds of an order with a reward (issue 28): a line gives back what was paid for it, its value less its share
of the reward, and its share of the tax charged on the discounted amount; every line refunded one by one returns
exactly the capture, and never more than was paid."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fulfilment.models import LoyaltyProgram, Order, Payment, Reward
from fulfilment.services import loyalty
from fulfilment.services import payments as payment_services
from fulfilment.services import pickup as pickup_services
from fulfilment.services.pricing import TaxRule, refund_discount_minor, refund_tax_minor, totals_for
from orderahead.errors import Conflict


@pytest.fixture
def free_drink(db, menu, customer_a, manager_store2):
    """A free latte (up to 650) at 25 stars, and customer A with 25 stars to spend on it."""
    program = LoyaltyProgram.objects.create(name="Stars", earn_rate=2)
    reward = Reward.objects.create(program=program, name="Free drink", stars_cost=25, max_value_minor=650)
    reward.items.set([menu["latte"]])
    loyalty.loyalty_adjust(member=customer_a, stars=25, actor=manager_store2, reason="test stars")
    return reward


def tax_rule(store, rate: str, included: bool) -> None:
    store.tax_rate_percent, store.prices_include_tax = Decimal(rate), included
    store.tax_label = "VAT" if included else "Sales tax"
    store.save()


@pytest.fixture
def discounted_order(store, ready_order, barista_store1, free_drink):
    """The cart (2 large oat lattes at 610 and a croissant at 375: 1595) with one latte free (610 off: 985
    taxed), handed over and captured."""
    def make() -> Order:
        order = ready_order(reward=free_drink.pk)
        pickup_services.pickup_handoff(store_id=order.store_id, staff=barista_store1,
                                       token=pickup_services.pickup_token(order=order)[0])
        order.refresh_from_db()
        return order
    return make


@pytest.mark.django_db
def test_sales_tax_is_charged_after_the_reward_and_each_line_gives_back_what_was_paid(store, discounted_order):
    tax_rule(store, "8.9", included=False)
    order = discounted_order()
    latte, croissant = order.lines.order_by("id")
    payment = Payment.objects.get(order=order)
    # 1595 - 610 = 985; 8.9% of it is 87.665 -> 88
    assert (order.subtotal_minor, order.discount_minor, order.tax_minor, order.total_minor) == (1595, 610, 88, 1073)
    assert payment.captured_minor == 1073

    first = payment_services.payment_refund(order=order, lines={latte.pk: 1})
    second = payment_services.payment_refund(order=order, lines={croissant.pk: 1})
    third = payment_services.payment_refund(order=order, lines={latte.pk: 1})

    # a latte: 610 less half the reward on its line (305); tax 88 x 305 / 985 = 27.2 -> 27
    assert first.lines == [{"line": latte.pk, "quantity": 1, "amount_minor": 305, "discount_minor": 305,
                            "tax_minor": 27}]
    assert first.amount_minor == 332
    # the croissant had no reward: 375, tax on the running total round(88 x 680 / 985) - 27 = 61 - 27
    assert second.amount_minor == 375 + 34
    assert third.amount_minor == 305 + 27
    payment.refresh_from_db()
    assert first.amount_minor + second.amount_minor + third.amount_minor == payment.refunded_minor == 1073
    with pytest.raises(Conflict) as nothing_left:
        payment_services.payment_refund(order=order)
    assert nothing_left.value.code == "nothing_to_refund"


@pytest.mark.django_db
def test_vat_included_a_line_gives_back_its_price_less_its_share_of_the_reward(store, discounted_order):
    tax_rule(store, "20", included=True)
    order = discounted_order()
    latte, croissant = order.lines.order_by("id")
    # 985 paid, VAT inside it: 985 - 985 / 1.2 (820.83 -> 821)
    assert (order.discount_minor, order.tax_minor, order.total_minor) == (610, 164, 985)

    amounts = [payment_services.payment_refund(order=order, lines=lines).amount_minor
               for lines in ({latte.pk: 2}, {croissant.pk: 1})]

    assert amounts == [610, 375]
    assert sum(amounts) == Payment.objects.get(order=order).refunded_minor == 985


@pytest.mark.django_db
def test_a_line_then_the_rest_returns_exactly_the_capture(store, discounted_order):
    tax_rule(store, "7.25", included=False)
    order = discounted_order()
    _, croissant = order.lines.order_by("id")

    first = payment_services.payment_refund(order=order, lines={croissant.pk: 1})
    rest = payment_services.payment_refund(order=order)

    payment = Payment.objects.get(order=order)
    assert first.amount_minor + rest.amount_minor == payment.captured_minor == payment.refunded_minor


@pytest.mark.django_db
def test_never_more_than_what_is_left_of_the_capture(store, discounted_order):
    """A capture for less than the total (a provider's partial capture): the lines' shares stop at it."""
    tax_rule(store, "8.9", included=False)
    order = discounted_order()
    Payment.objects.filter(order=order).update(captured_minor=1050)
    latte, croissant = order.lines.order_by("id")

    amounts = [payment_services.payment_refund(order=order, lines={latte.pk: 2}).amount_minor,
               payment_services.payment_refund(order=order, lines={croissant.pk: 1}).amount_minor]

    # both lattes: 1220 less the reward (610), tax 88 x 610 / 985 = 54.5 -> 54; the croissant's 375 + 34 is cut
    # to the 386 left
    assert amounts == [610 + 54, 386] and sum(amounts) == Payment.objects.get(order=order).refunded_minor == 1050


# --- The arithmetic, over random carts, rewards and rates --------------------------------------------------------

rates = st.decimals(min_value=0, max_value=30, places=3)


@st.composite
def discounted_carts(draw):
    """Lines (unit price, quantity); one line with a reward of at most one unit's price; units refunded in a
    random order, one refund of some units of one line at a time."""
    lines = draw(st.lists(st.tuples(st.integers(min_value=0, max_value=5_000), st.integers(min_value=1, max_value=4)),
                          min_size=1, max_size=6))
    rewarded = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    discount = draw(st.integers(min_value=0, max_value=lines[rewarded][0]))
    units = [index for index, (_, quantity) in enumerate(lines) for _ in range(quantity)]
    order = draw(st.permutations(units))
    refunds, i = [], 0
    while i < len(order):  # consecutive units of the same line go back together
        j = i + 1
        while j < len(order) and order[j] == order[i] and draw(st.booleans()):
            j += 1
        refunds.append((order[i], j - i))
        i = j
    return lines, rewarded, discount, refunds


@settings(max_examples=300, deadline=None)
@given(cart=discounted_carts(), rate=rates, included=st.booleans())
def test_refunding_every_line_returns_exactly_what_was_paid_and_never_more(cart, rate, included):
    """The same arithmetic as payments.payment_refund: the reward kept back on its line's units, the tax on the
    discounted running total."""
    lines, rewarded, discount, refunds = cart
    subtotal = sum(price * quantity for price, quantity in lines)
    totals = totals_for(subtotal_minor=subtotal, currency="USD", discount_minor=discount,
                        rule=TaxRule(rate_percent=rate, prices_include_tax=included, label="Tax"))
    units_back = [0] * len(lines)
    net_back = given_back = 0
    for index, quantity in refunds:
        price, line_quantity = lines[index]
        value = price * quantity
        kept = min(value, refund_discount_minor(discount_minor=discount if index == rewarded else 0,
                                                spread_over=line_quantity, refunded_before=units_back[index],
                                                refunding=quantity))
        tax = refund_tax_minor(order_subtotal_minor=subtotal - totals.discount_minor, order_tax_minor=totals.tax_minor,
                               prices_include_tax=included, refunded_before_minor=net_back,
                               refunding_minor=value - kept)
        assert kept >= 0 and tax >= 0
        units_back[index] += quantity
        net_back += value - kept
        given_back += value - kept + tax
        assert given_back <= totals.total_minor
    assert given_back == totals.total_minor


@given(discount=st.integers(min_value=0, max_value=10_000), spread=st.integers(min_value=1, max_value=50),
       data=st.data())
def test_a_discount_kept_back_in_parts_adds_up_to_the_discount(discount, spread, data):
    parts = data.draw(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=50))
    kept = before = 0
    for part in parts:
        part = min(part, spread - before)
        if part <= 0:
            break
        share = refund_discount_minor(discount_minor=discount, spread_over=spread, refunded_before=before,
                                      refunding=part)
        assert share >= 0
        kept += share
        before += part
        assert kept <= discount
    if before == spread:
        assert kept == discount
