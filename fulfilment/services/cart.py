"""Turn what a client asks for (item ids, quantities, modifier option ids) into priced, checked lines.

One function serves the quote and the order, so both refuse the same carts with the same words.
"""

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from orderahead.errors import Conflict, DomainError
from stores.models import MenuItem, ModifierOption, Store
from stores.selectors import item_prep_to_plan

MAX_UNITS_PER_ORDER = 50


@dataclass(frozen=True)
class LineRequest:
    item_id: int
    quantity: int
    option_ids: tuple[int, ...] = ()


@dataclass
class PricedLine:
    item: MenuItem
    quantity: int
    options: list[ModifierOption] = field(default_factory=list)
    unit_price_minor: int = 0
    store: Store | None = None
    now: dt.datetime | None = None  # when the kitchen makes it (its daypart's learned times); None: now

    @cached_property
    def _planned_prep(self) -> tuple[int, int]:
        # Read when the kitchen needs it (the quote, the order), not when a favourite or a reorder is only
        # priced; from the process's copy of the store's learned times (one query after the kitchen learned).
        return item_prep_to_plan(self.item, store=self.store, now=self.now)

    @property
    def prep_seconds(self) -> int:
        """One unit's planned prep time: the item's (learned, shrunk toward configured) plus its options'."""
        return self._planned_prep[0] + sum(o.extra_prep_seconds for o in self.options)

    @property
    def prep_sd_seconds(self) -> int:
        return self._planned_prep[1]

    @property
    def line_total_minor(self) -> int:
        return self.unit_price_minor * self.quantity

    def modifiers_snapshot(self) -> list[dict]:
        return [{"group": o.group.name, "option": o.name, "option_id": o.pk, "price_delta_minor": o.price_delta_minor}
                for o in self.options]


def cart_menu_items(*, store: Store, item_ids) -> dict[int, MenuItem]:
    """The store's items among `item_ids`, by id, with what pricing a line of them reads (station, modifier
    groups and their options) loaded in three queries however many there are."""
    return {i.pk: i for i in MenuItem.objects.filter(store=store, pk__in=set(item_ids))
            .select_related("station").prefetch_related("modifier_groups__options")}


def cart_lines_priced(*, store: Store, items: dict[int, MenuItem], lines: list[LineRequest],
                      now: dt.datetime | None = None) -> list[PricedLine]:
    """Each line checked and priced on its own (on the menu, not 86'd, quantity, modifiers), the errors naming
    its index in `lines`. What depends on the whole cart (limits and stock per item) is cart_price's; a
    reorder and a favourite check a single line with this and judge stock themselves."""
    priced = []
    for index, line in enumerate(lines):
        item = items.get(line.item_id)
        if item is None or not item.is_active:
            raise DomainError(f"Item {line.item_id} is not on the menu of {store.name}.", code="unknown_item",
                              fields={"items": {index: "unknown item"}})
        if item.eighty_sixed:
            raise Conflict(f"{item.name} is temporarily unavailable.", code="item_unavailable",
                           fields={"items": {index: "temporarily unavailable"}, "item": item.pk})
        if not 1 <= line.quantity <= item.max_quantity:
            raise DomainError(f"Quantity of {item.name} must be between 1 and {item.max_quantity}.",
                              code="bad_quantity", fields={"items": {index: "quantity out of range"}})
        options = _checked_options(item, line.option_ids, index)
        unit_price = unit_price_minor(item, options)
        priced.append(PricedLine(item=item, quantity=line.quantity, options=options, unit_price_minor=unit_price,
                                 store=store, now=now))
    return priced


def unit_price_minor(item: MenuItem, options: list[ModifierOption]) -> int:
    """One unit of `item` with `options`: the item's price plus the options' (a discount option never
    takes it below zero)."""
    return max(0, item.price_minor + sum(o.price_delta_minor for o in options))


def cart_price(*, store: Store, lines: list[LineRequest], now: dt.datetime | None = None) -> list[PricedLine]:
    if not lines:
        raise DomainError("The cart is empty: add at least one item.", code="empty_cart")
    total_units = sum(line.quantity for line in lines)
    if total_units > MAX_UNITS_PER_ORDER:
        raise DomainError(f"At most {MAX_UNITS_PER_ORDER} items per order (this cart has {total_units}).",
                          code="order_too_large")

    items = cart_menu_items(store=store, item_ids=[line.item_id for line in lines])
    priced = cart_lines_priced(store=store, items=items, lines=lines, now=now)

    # Limits and stock are per item, not per line: two lines of 6 lattes (one oat, one almond) are 12 lattes.
    wanted: dict[int, int] = {}
    for line in priced:
        wanted[line.item.pk] = wanted.get(line.item.pk, 0) + line.quantity
    for item_id, quantity in wanted.items():
        item = items[item_id]
        if quantity > item.max_quantity:
            limit = f"{item.max_quantity} x {item.name} per order"
            raise DomainError(f"At most {limit} (this cart has {quantity}).", code="bad_quantity",
                              fields={"items": {index: f"at most {limit}" for index, line in enumerate(lines)
                                                if line.item_id == item_id},
                                      "item": item_id, "max_quantity": item.max_quantity})
    for item_id, quantity in wanted.items():
        item = items[item_id]
        if item.stock_count is not None and item.stock_count < quantity:
            message = f"Only {item.stock_count} x {item.name} left." if item.stock_count else f"{item.name} is sold out."
            short = f"only {item.stock_count} left" if item.stock_count else "sold out"
            raise Conflict(message, code="out_of_stock",
                           fields={"items": {index: short for index, line in enumerate(lines) if line.item_id == item_id},
                                   "item": item_id, "available": item.stock_count})
    return priced


def _checked_options(item: MenuItem, option_ids: tuple[int, ...], index: int) -> list[ModifierOption]:
    if len(set(option_ids)) != len(option_ids):
        raise DomainError(f"A modifier was chosen twice for {item.name}.", code="bad_modifiers",
                          fields={"items": {index: "duplicate modifier"}})
    groups = list(item.modifier_groups.all())
    offered = {o.pk: o for g in groups for o in g.options.all()}
    chosen = []
    for option_id in option_ids:
        option = offered.get(option_id)
        if option is None:
            raise DomainError(f"Modifier {option_id} is not offered for {item.name}.", code="bad_modifiers",
                              fields={"items": {index: f"modifier {option_id} not offered"}})
        if not option.is_available:
            raise Conflict(f"{option.group.name}: {option.name} is unavailable right now.", code="modifier_unavailable",
                           fields={"items": {index: f"{option.name} unavailable"}, "item": item.pk,
                                   "modifier": option.pk})
        chosen.append(option)

    for group in groups:
        picked = [o for o in chosen if o.group_id == group.pk]
        if not picked and group.min_choices:
            # A required choice with a default (a medium size, whole milk) is filled in rather than refused.
            picked = [o for o in group.options.all() if o.is_default and o.is_available][: group.min_choices]
            chosen.extend(picked)
        if not group.min_choices <= len(picked) <= group.max_choices:
            if group.min_choices == group.max_choices:
                need = f"exactly {group.min_choices}"
            else:
                need = f"between {group.min_choices} and {group.max_choices}"
            raise DomainError(f"{item.name}: choose {need} for {group.name} (got {len(picked)}).",
                              code="bad_modifiers", fields={"items": {index: f"{group.name}: choose {need}"}})
    return chosen
