"""Order again: a past order's lines as a cart for today, re-priced, with every difference said in words.

Each line goes through the cart's own per-line check (`cart.cart_lines_priced`), so what the reorder offers
is exactly what a quote or an order of those lines charges. Before that check this module adapts the line
to today's menu the way a barista would: an unavailable option of an optional group is left out, one of a
required group is swapped for the group's default (or first available) option, and quantities shrink to
the stock left and the per-order limit, counted per item across the lines as the cart counts them. A line
that cannot be made today is dropped, and each change is one entry a customer can read.
"""

from dataclasses import dataclass, field

from fulfilment.models import Order, OrderLine
from fulfilment.services.cart import LineRequest, cart_lines_priced, cart_menu_items
from orderahead.errors import DomainError
from stores.models import MenuItem, ModifierGroup, ModifierOption
from stores.money import format_money

NOT_ON_MENU, UNAVAILABLE, SOLD_OUT = "not_on_menu", "unavailable", "sold_out"
PRICE_CHANGED, OPTION_UNAVAILABLE, QUANTITY_REDUCED = "price_changed", "option_unavailable", "quantity_reduced"
CHANGE_KINDS = [NOT_ON_MENU, UNAVAILABLE, SOLD_OUT, PRICE_CHANGED, OPTION_UNAVAILABLE, QUANTITY_REDUCED]

# A line the cart's check still refuses after the adaptation below (a new required choice with nothing to
# pick, say) is dropped as the change its error code names.
_KIND_OF_CART_ERROR = {"unknown_item": NOT_ON_MENU, "item_unavailable": UNAVAILABLE, "out_of_stock": SOLD_OUT,
                       "bad_quantity": QUANTITY_REDUCED, "bad_modifiers": OPTION_UNAVAILABLE,
                       "modifier_unavailable": OPTION_UNAVAILABLE}


@dataclass
class ReorderLine:
    item_id: int
    item_name: str
    quantity: int
    option_ids: list[int]
    option_names: list[str]
    unit_price_minor: int
    was_unit_price_minor: int


@dataclass
class ReorderChange:
    index: int  # of the line in the past order
    item_name: str
    kind: str
    message: str


@dataclass
class Reorder:
    store_id: int
    store_name: str
    currency: str
    lines: list[ReorderLine] = field(default_factory=list)
    changes: list[ReorderChange] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return bool(self.lines)


def order_reorder(*, order: Order) -> Reorder:
    """`order` (with its store and lines loaded) as a cart for today. Reads only; reserves nothing."""
    store = order.store
    past_lines = list(order.lines.all())
    items = cart_menu_items(store=store, item_ids=[line.item_id for line in past_lines])
    result = Reorder(store_id=store.pk, store_name=store.name, currency=store.currency)
    # What is left to give per item as the lines take their share, in the order's own line order.
    limit_left = {item.pk: item.max_quantity for item in items.values()}
    stock_left = {item.pk: item.stock_count for item in items.values()}

    for index, past in enumerate(past_lines):
        change = _ChangeLog(index=index, changes=result.changes)
        item = items.get(past.item_id)
        line = _adapted_line(past, item, limit_left, stock_left, change)
        if line is not None:
            try:
                [priced] = cart_lines_priced(store=store, items=items, lines=[line])
            except DomainError as refused:
                change(_KIND_OF_CART_ERROR.get(refused.code, UNAVAILABLE), refused.message, item.name)
            else:
                limit_left[item.pk] -= priced.quantity
                if stock_left[item.pk] is not None:
                    stock_left[item.pk] -= priced.quantity
                if priced.unit_price_minor != past.unit_price_minor:
                    now = format_money(priced.unit_price_minor, store.currency)
                    was = format_money(past.unit_price_minor, order.currency)
                    change(PRICE_CHANGED, f"{item.name} now costs {now} (was {was}).", item.name)
                result.lines.append(ReorderLine(
                    item_id=item.pk, item_name=item.name, quantity=priced.quantity,
                    option_ids=[o.pk for o in priced.options], option_names=[o.name for o in priced.options],
                    unit_price_minor=priced.unit_price_minor, was_unit_price_minor=past.unit_price_minor))
    return result


@dataclass
class _ChangeLog:
    """Says a change of one past line: `change(kind, message, item_name)`."""

    index: int
    changes: list[ReorderChange]

    def __call__(self, kind: str, message: str, item_name: str) -> None:
        self.changes.append(ReorderChange(index=self.index, item_name=item_name, kind=kind, message=message))


def _adapted_line(past: OrderLine, item: MenuItem | None, limit_left: dict, stock_left: dict,
                  change: "_ChangeLog") -> LineRequest | None:
    """The past line as today's menu can make it, or None (and the change said) when it cannot."""
    if item is None or not item.is_active:
        change(NOT_ON_MENU, f"{past.item_name} is no longer on the menu.", past.item_name)
        return None
    if item.eighty_sixed:
        change(UNAVAILABLE, f"{item.name} is unavailable today.", item.name)
        return None
    if item.stock_count is not None and item.stock_count <= 0:
        change(SOLD_OUT, f"{item.name} is sold out.", item.name)
        return None

    option_ids = _adapted_options(past.modifiers or [], item, change)
    if option_ids is None:
        return None

    wanted = past.quantity
    stock = stock_left[item.pk]
    quantity = min(wanted, limit_left[item.pk], wanted if stock is None else stock)
    if quantity <= 0:
        # The lines above already took all there is of this item.
        if stock is not None and stock <= 0:
            change(SOLD_OUT, f"No {item.name} left for this line: the ones left are in the lines above.", item.name)
        else:
            change(QUANTITY_REDUCED, f"At most {item.max_quantity} × {item.name} per order, all in the lines above.",
                   item.name)
        return None
    if quantity < wanted:
        if stock is not None and quantity == stock:
            above = item.stock_count - stock
            left = f"{item.stock_count} × {item.name} left" + (f" ({above} of them in the lines above)" if above else "")
            change(QUANTITY_REDUCED, f"Only {left}, so {quantity} instead of {wanted}.", item.name)
        else:
            change(QUANTITY_REDUCED, f"At most {item.max_quantity} × {item.name} per order, so {quantity} instead "
                                     f"of {wanted}.", item.name)
    return LineRequest(item_id=item.pk, quantity=quantity, option_ids=tuple(option_ids))


def _adapted_options(modifiers: list[dict], item: MenuItem, change: "_ChangeLog") -> list[int] | None:
    """The option ids of a past line that today's menu offers, with unavailable ones left out (optional group)
    or swapped (required group); None (and the change said) when a required group has nothing to offer."""
    groups = list(item.modifier_groups.all())
    group_of = {o.pk: g for g in groups for o in g.options.all()}
    offered = {o.pk: o for g in groups for o in g.options.all()}
    kept: list[ModifierOption] = []
    lost: list[tuple[dict, ModifierGroup | None]] = []
    for modifier in modifiers:
        option = offered.get(modifier.get("option_id"))
        if option is not None and option.is_available:
            kept.append(option)
        else:
            # An option taken off the item keeps its group's name in the snapshot: find the group that way.
            group = group_of.get(modifier.get("option_id")) or next(
                (g for g in groups if g.name == modifier.get("group")), None)
            lost.append((modifier, group))

    for modifier, group in lost:
        label = f"{modifier.get('group', 'Option')}: {modifier.get('option', '?')}"
        have = sum(1 for o in kept if group is not None and group_of[o.pk] == group)
        if group is None or have >= group.min_choices:
            change(OPTION_UNAVAILABLE, f"{label} is unavailable today, so your {item.name} comes without it.",
                   item.name)
            continue
        candidates = [o for o in group.options.all() if o.is_available and o not in kept]
        replacement = next((o for o in candidates if o.is_default), None) or next(iter(candidates), None)
        if replacement is None:
            change(OPTION_UNAVAILABLE, f"{label} is unavailable today and there is no other {group.name} choice, "
                                       f"so {item.name} cannot be made.", item.name)
            return None
        kept.append(replacement)
        change(OPTION_UNAVAILABLE, f"{label} is unavailable today, so your {item.name} comes with "
                                   f"{replacement.name} instead.", item.name)
    return [o.pk for o in kept]
