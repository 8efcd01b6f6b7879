"""Favourites: an item the way a customer likes it, saved to put in a cart in one tap.

A favourite is saved only if it could be ordered as a cart line right now (`cart.cart_price`, so it is
refused with the cart's own errors), and it keeps the full choice the cart made of it, defaults included.
Listing them re-checks each against today's menu with the cart's per-line check, so the price and the
reason a favourite cannot be ordered are what a cart of it would say.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from fulfilment.models import Favourite
from fulfilment.services.cart import LineRequest, cart_lines_priced, cart_price, unit_price_minor
from orderahead.errors import Conflict, DomainError, NotFound
from stores.models import MenuItem

MAX_FAVOURITES_PER_CUSTOMER = 50


@dataclass
class FavouriteView:
    """A favourite as the customer sees it today."""

    favourite: Favourite
    option_ids: list[int]  # what a cart line of it sends: today's choice when it can be ordered
    option_names: list[str]
    unit_price_minor: int
    available: bool
    unavailable_reason: str


def favourite_add(*, user, item_id: int, quantity: int, option_ids: list[int]) -> tuple[Favourite, bool]:
    """Save the line as a favourite; (favourite, created). The same line saved again is the first favourite."""
    item = MenuItem.objects.select_related("store").filter(pk=item_id).first()
    if item is None:
        raise DomainError(f"Item {item_id} is not on any menu.", code="unknown_item", fields={"item": item_id})
    [priced] = cart_price(store=item.store, lines=[LineRequest(item_id=item.pk, quantity=quantity,
                                                               option_ids=tuple(option_ids))])
    chosen = [o.pk for o in priced.options]
    # Not locked: two taps racing at most save the same favourite twice, which the customer can delete.
    mine = Favourite.objects.filter(user=user)
    for favourite in mine.filter(item=item, quantity=quantity):
        if sorted(favourite.option_ids) == sorted(chosen):
            return favourite, False
    if mine.count() >= MAX_FAVOURITES_PER_CUSTOMER:
        raise Conflict(f"You can keep at most {MAX_FAVOURITES_PER_CUSTOMER} favourites: remove one first.",
                       code="too_many_favourites")
    return Favourite.objects.create(user=user, item=item, quantity=quantity, option_ids=chosen), True


def favourite_delete(*, user, favourite_id: int) -> None:
    deleted, _ = Favourite.objects.filter(user=user, pk=favourite_id).delete()
    if not deleted:
        raise NotFound("No such favourite.")


def favourite_list_for_customer(*, user) -> list[FavouriteView]:
    """The customer's favourites, newest first, each priced and checked against today's menu and stock."""
    return [_favourite_today(favourite) for favourite in _favourites(user)]


def favourite_get_for_customer(*, user, favourite_id: int) -> FavouriteView:
    favourite = _favourites(user).filter(pk=favourite_id).first()
    if favourite is None:
        raise NotFound("No such favourite.")
    return _favourite_today(favourite)


def _favourites(user) -> QuerySet[Favourite]:
    # Store, modifier groups and options in four queries for the whole list (none per favourite).
    return (Favourite.objects.filter(user=user).select_related("item__store")
            .prefetch_related("item__modifier_groups__options"))


def _favourite_today(favourite: Favourite) -> FavouriteView:
    item = favourite.item
    offered = {o.pk: o for g in item.modifier_groups.all() for o in g.options.all()}
    saved_options = [offered[pk] for pk in favourite.option_ids if pk in offered]
    line = LineRequest(item_id=item.pk, quantity=favourite.quantity, option_ids=tuple(favourite.option_ids))
    try:
        [priced] = cart_lines_priced(store=item.store, items={item.pk: item}, lines=[line])
    except DomainError as refused:
        # What it would cost if it could be made: the item and the saved options still offered.
        price = unit_price_minor(item, saved_options)
        reason = item.unavailable_reason.capitalize() or refused.message
        return FavouriteView(favourite=favourite, option_ids=list(favourite.option_ids),
                             option_names=[o.name for o in saved_options],
                             unit_price_minor=price, available=False, unavailable_reason=reason)
    reason = ""
    if item.stock_count is not None and item.stock_count < favourite.quantity:
        reason = f"Only {item.stock_count} × {item.name} left." if item.stock_count else "Sold out"
    return FavouriteView(favourite=favourite, option_ids=[o.pk for o in priced.options],
                         option_names=[o.name for o in priced.options],
                         unit_price_minor=priced.unit_price_minor, available=not reason, unavailable_reason=reason)
