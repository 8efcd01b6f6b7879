"""What an order costs: its subtotal, its tax and its total, the one way the quote and the order both work it out.

Tax is rounded once per order, on the order's subtotal, half-up in minor units (the way a receipt shows it),
with Decimal arithmetic; never per line, where rounding each line would drift from the receipt by a cent
per line. Amounts are integer minor units, so a currency with 0 or 3 minor digits needs nothing special.

- Prices exclude tax (US sales tax): tax = round(subtotal x rate / 100), total = subtotal + tax.
- Prices include tax (VAT): the net is round(subtotal / (1 + rate / 100)), tax = subtotal - net,
  total = subtotal.

A reward (loyalty, issue 28) is a discount taken off the subtotal before tax: tax and total are worked out on
subtotal - discount, the way a receipt shows a discount line above the tax line.

A refund of some lines of an order whose prices exclude tax gives back their share of the tax
(`refund_tax_minor`), so refunding every line one by one returns exactly the tax charged. With a reward on
the order, a refunded line first keeps back its share of the reward (`refund_discount_minor`: the reward on
its own line, spread over that line's units), and the tax share is worked out on what is left, the
discounted amount the tax was charged on: every line refunded one by one returns exactly the capture.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from stores.models import Store

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class TaxRule:
    rate_percent: Decimal
    prices_include_tax: bool
    label: str


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    currency: str
    tax: TaxRule
    discount_minor: int = 0


def round_minor(amount: Decimal) -> int:
    """Half-up to whole minor units: 12.5 cents is 13, as receipts round it."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def store_tax_rule(store: Store) -> TaxRule:
    return TaxRule(rate_percent=Decimal(store.tax_rate_percent), prices_include_tax=store.prices_include_tax,
                   label=store.tax_label)


def order_tax_rule(order) -> TaxRule:
    """The rule an order was charged under (its snapshot), whatever the store charges now."""
    return TaxRule(rate_percent=Decimal(order.tax_rate_percent), prices_include_tax=order.prices_include_tax,
                   label=order.tax_label)


def tax_minor(*, subtotal_minor: int, rate_percent: Decimal, prices_include_tax: bool) -> int:
    """The tax in a subtotal (inclusive) or on top of it (exclusive), rounded once."""
    rate = Decimal(rate_percent) / HUNDRED
    if not rate or not subtotal_minor:
        return 0
    subtotal = Decimal(subtotal_minor)
    if prices_include_tax:
        return subtotal_minor - round_minor(subtotal / (1 + rate))
    return round_minor(subtotal * rate)


def totals_for(*, subtotal_minor: int, currency: str, rule: TaxRule, discount_minor: int = 0) -> Totals:
    """`discount_minor` (at most the subtotal) comes off before tax."""
    discount = min(max(0, discount_minor), subtotal_minor)
    taxable = subtotal_minor - discount
    tax = tax_minor(subtotal_minor=taxable, rate_percent=rule.rate_percent, prices_include_tax=rule.prices_include_tax)
    total = taxable if rule.prices_include_tax else taxable + tax
    return Totals(subtotal_minor=subtotal_minor, tax_minor=tax, total_minor=total, currency=currency, tax=rule,
                  discount_minor=discount)


def order_totals(*, store: Store, priced_lines: Iterable, discount_minor: int = 0) -> Totals:
    """Subtotal, tax and total of priced cart lines (`cart.PricedLine`) at the store's current tax rule, less
    `discount_minor` of rewards before tax."""
    subtotal = sum(line.line_total_minor for line in priced_lines)
    return totals_for(subtotal_minor=subtotal, currency=store.currency, rule=store_tax_rule(store),
                      discount_minor=discount_minor)


def refund_tax_minor(*, order_subtotal_minor: int, order_tax_minor: int, prices_include_tax: bool,
                     refunded_before_minor: int, refunding_minor: int) -> int:
    """The tax to give back with `refunding_minor` of line value, when `refunded_before_minor` of the
    order's lines went back earlier: the lines' proportional share, worked out on the running total so
    the shares of every line add up to exactly the order's tax. Prices that include tax: none extra."""
    if prices_include_tax or not order_tax_minor or order_subtotal_minor <= 0:
        return 0

    def share(lines_minor: int) -> int:
        lines_minor = min(lines_minor, order_subtotal_minor)
        return round_minor(Decimal(order_tax_minor) * lines_minor / order_subtotal_minor)

    return max(0, share(refunded_before_minor + refunding_minor) - share(refunded_before_minor))


def refund_discount_minor(*, discount_minor: int, spread_over: int, refunded_before: int, refunding: int) -> int:
    """The part of a discount that a refund keeps back: `discount_minor` spread evenly over `spread_over`
    (a line's units, or an order's line value), of which `refunded_before` went back earlier and `refunding`
    goes back now. Worked out on the running total, so refunding all of it keeps back exactly the discount,
    and never more than was refunded."""
    if discount_minor <= 0 or spread_over <= 0 or refunding <= 0:
        return 0

    def share(part: int) -> int:
        return round_minor(Decimal(discount_minor) * min(part, spread_over) / spread_over)

    return max(0, share(refunded_before + refunding) - share(refunded_before))
