"""Tax and totals: rounded once per order, half-up in minor units; the quote, the order and the payment agree."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fulfilment.models import Order, Payment
from fulfilment.services.pricing import TaxRule, refund_tax_minor, round_minor, tax_minor, totals_for
from tests import factories

rates = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)
amounts = st.integers(min_value=0, max_value=10_000_000)  # up to 100 000.00 in cents, or 10 million yen


def rule(rate, inclusive: bool) -> TaxRule:
    return TaxRule(rate_percent=Decimal(rate), prices_include_tax=inclusive, label="Tax")


# --- The arithmetic ------------------------------------------------------------------------------------------

@given(subtotal=amounts, rate=rates)
def test_inclusive_tax_plus_net_is_the_total_and_the_total_is_the_price(subtotal, rate):
    totals = totals_for(subtotal_minor=subtotal, currency="EUR", rule=rule(rate, True))

    net = round_minor(Decimal(subtotal) / (1 + rate / 100))
    assert totals.total_minor == subtotal
    assert totals.tax_minor + net == totals.total_minor
    assert 0 <= totals.tax_minor <= subtotal


@given(subtotal=amounts, rate=rates)
def test_exclusive_tax_is_added_and_within_half_a_minor_unit_of_exact(subtotal, rate):
    totals = totals_for(subtotal_minor=subtotal, currency="USD", rule=rule(rate, False))

    exact = Decimal(subtotal) * rate / 100
    assert totals.total_minor == subtotal + totals.tax_minor
    assert abs(totals.tax_minor - exact) <= Decimal("0.5")
    assert totals.tax_minor >= 0


@given(subtotal=amounts, rate=rates)
def test_exclusive_tax_never_falls_as_the_subtotal_grows(subtotal, rate):
    assert (tax_minor(subtotal_minor=subtotal + 1, rate_percent=rate, prices_include_tax=False)
            >= tax_minor(subtotal_minor=subtotal, rate_percent=rate, prices_include_tax=False))


@pytest.mark.parametrize("subtotal, rate, inclusive, tax", [
    (1000, "8.9", False, 89),
    (1005, "10", False, 101),      # 100.5 rounds half up
    (1004, "10", False, 100),      # 100.4 rounds down
    (1190, "19", True, 190),       # 1190 / 1.19 = 1000 net
    (1000, "20", True, 167),       # 1000 / 1.2 = 833.33 net
    (0, "8.9", False, 0),
    (999, "0", False, 0),
    (1234, "100", False, 1234),
    (1500, "8.875", False, 133),   # 133.125 (New York City)
])
def test_known_amounts(subtotal, rate, inclusive, tax):
    assert tax_minor(subtotal_minor=subtotal, rate_percent=Decimal(rate), prices_include_tax=inclusive) == tax


def test_rounding_once_per_order_differs_from_rounding_each_line():
    """Three 5-cent lines at 10%: each line's 0.5 cent would round up to 1 (3 in all); the order's 1.5
    cents rounds to 2, which is what the receipt shows."""
    per_line = sum(tax_minor(subtotal_minor=5, rate_percent=Decimal(10), prices_include_tax=False) for _ in range(3))

    assert per_line == 3
    assert tax_minor(subtotal_minor=15, rate_percent=Decimal(10), prices_include_tax=False) == 2


@given(lines=st.lists(st.integers(min_value=1, max_value=50_000), min_size=1, max_size=12), rate=rates)
def test_once_per_order_is_never_further_from_exact_than_half_a_unit(lines, rate):
    """Per-line rounding drifts by up to half a unit per line; per-order rounding never more than half a unit."""
    order_tax = tax_minor(subtotal_minor=sum(lines), rate_percent=rate, prices_include_tax=False)

    assert abs(order_tax - Decimal(sum(lines)) * rate / 100) <= Decimal("0.5")


@given(lines=st.lists(st.integers(min_value=0, max_value=50_000), min_size=1, max_size=12), rate=rates,
       data=st.data())
def test_line_refunds_give_back_exactly_the_tax_charged_in_any_order(lines, rate, data):
    subtotal = sum(lines)
    tax = tax_minor(subtotal_minor=subtotal, rate_percent=rate, prices_include_tax=False)
    order = data.draw(st.permutations(lines))
    refunded, given_back = 0, 0
    for value in order:
        share = refund_tax_minor(order_subtotal_minor=subtotal, order_tax_minor=tax, prices_include_tax=False,
                                 refunded_before_minor=refunded, refunding_minor=value)
        assert share >= 0
        refunded += value
        given_back += share
        assert given_back <= tax
    assert given_back == tax


@given(subtotal=st.integers(min_value=1, max_value=100_000), rate=rates)
def test_prices_with_tax_included_refund_no_extra_tax(subtotal, rate):
    tax = tax_minor(subtotal_minor=subtotal, rate_percent=rate, prices_include_tax=True)
    assert refund_tax_minor(order_subtotal_minor=subtotal, order_tax_minor=tax, prices_include_tax=True,
                            refunded_before_minor=0, refunding_minor=subtotal) == 0


# --- Quote, order and payment agree ------------------------------------------------------------------------------

def cart(menu) -> list[dict]:
    """2 large lattes (2 x 540) and a drip coffee (250): 1330."""
    return [{"item": menu["latte"].pk, "quantity": 2, "modifiers": [menu["large"].pk]},
            {"item": menu["drip"].pk, "quantity": 1}]


@pytest.mark.parametrize("rate, inclusive, tax, total", [
    ("8.9", False, 118, 1448),   # 118.37
    ("8.875", False, 118, 1448),  # 118.04
    ("20", True, 222, 1330),     # 1330 - 1108.33
    ("0", False, 0, 1330),
])
def test_quote_total_is_what_the_order_charges_and_the_card_holds(api, api_as, customer_a, store, menu, rate,
                                                                  inclusive, tax, total):
    store.tax_rate_percent, store.prices_include_tax, store.tax_label = Decimal(rate), inclusive, "VAT"
    store.save()

    quote = api.post(f"/api/stores/{store.pk}/quote/", {"items": cart(menu)}, format="json").json()
    placed = api_as(customer_a).post("/api/orders/", {"store": store.pk, "items": cart(menu)}, format="json",
                                     **factories.checkout_key())

    assert placed.status_code == 201, placed.json()
    order = placed.json()
    assert (quote["subtotal_minor"], quote["tax_minor"], quote["total_minor"]) == (1330, tax, total)
    assert (order["subtotal_minor"], order["tax_minor"], order["total_minor"]) == (1330, tax, total)
    assert quote["tax"] == order["tax"] == {"rate_percent": f"{Decimal(rate):.3f}", "prices_include_tax": inclusive,
                                            "label": "VAT"}
    assert Payment.objects.get(order_id=order["id"]).amount_minor == total
    assert order["payment"]["amount_minor"] == total


def test_an_order_keeps_the_tax_rule_it_was_placed_under(api_as, customer_a, store, menu):
    store.tax_rate_percent = Decimal("8.9")
    store.save()
    order_id = api_as(customer_a).post("/api/orders/", {"store": store.pk, "items": cart(menu)}, format="json",
                                       **factories.checkout_key()).json()["id"]
    store.tax_rate_percent = Decimal("10")
    store.save()

    body = api_as(customer_a).get(f"/api/orders/{order_id}/").json()

    assert body["tax"]["rate_percent"] == "8.900" and body["tax_minor"] == 118
    order = Order.objects.get(pk=order_id)
    assert (order.tax_rate_percent, order.tax_minor, order.total_minor) == (Decimal("8.9"), 118, 1448)


def test_quote_lists_the_priced_lines_with_the_modifiers_the_server_filled_in(api, store, menu):
    body = api.post(f"/api/stores/{store.pk}/quote/", {"items": cart(menu)}, format="json").json()

    latte, drip = body["lines"]
    assert latte == {"index": 0, "item": menu["latte"].pk, "item_name": "Latte", "quantity": 2,
                     "modifiers": [{"group": "Size", "option": "Large", "option_id": menu["large"].pk,
                                    "price_delta_minor": 90}],
                     "unit_price_minor": 540, "line_total_minor": 1080}
    assert (drip["index"], drip["line_total_minor"], drip["modifiers"]) == (1, 250, [])

    plain = api.post(f"/api/stores/{store.pk}/quote/", {"items": [{"item": menu["latte"].pk, "quantity": 1}]},
                     format="json").json()
    assert plain["lines"][0]["modifiers"] == [{"group": "Size", "option": "Small", "option_id": menu["small"].pk,
                                               "price_delta_minor": 0}]  # the required size, by default


def test_order_and_order_list_show_tax_address_and_a_summary(api_as, customer_a, store, menu):
    api_as(customer_a).post("/api/orders/", {"store": store.pk, "items": cart(menu)}, format="json",
                            **factories.checkout_key())

    listed = api_as(customer_a).get("/api/orders/").json()[0]

    assert listed["summary"] == "2 × Latte, Drip coffee" and listed["item_count"] == 3
    assert listed["store_address"] == store.address and listed["tax_minor"] == 0
    assert listed["created_at"]
