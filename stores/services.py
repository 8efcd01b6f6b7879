"""Writes to stores and menus. Stock changes are single conditional UPDATEs so they stay
correct when many requests race for the last units (PostgreSQL and SQLite alike)."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orderahead.errors import Conflict
from stores.models import MenuItem, ModifierOption, Store, StoreMembership


def stock_reserve(*, item: MenuItem, quantity: int) -> None:
    """Take `quantity` units of a counted item, or raise Conflict if fewer are left.

    The check and the decrement are one UPDATE ... WHERE stock_count >= quantity, so two
    buyers can never both take the last unit. Unlimited items (stock_count NULL) pass.
    """
    if item.stock_count is None:
        return
    taken = MenuItem.objects.filter(pk=item.pk, stock_count__gte=quantity).update(
        stock_count=F("stock_count") - quantity)
    if not taken:
        left = MenuItem.objects.values_list("stock_count", flat=True).get(pk=item.pk)
        raise Conflict(f"Only {left} x {item.name} left." if left else f"{item.name} is sold out.",
                       code="out_of_stock", fields={"item": item.pk, "available": left or 0})


def stock_release(*, item: MenuItem, quantity: int) -> None:
    """Give back units taken by an order that will not be made (cancelled, unpaid)."""
    MenuItem.objects.filter(pk=item.pk, stock_count__isnull=False).update(stock_count=F("stock_count") + quantity)


def store_pause_mobile(*, store: Store, reason: str, until=None) -> Store:
    store.mobile_paused = True
    store.pause_reason = reason
    store.paused_until = until
    store.save(update_fields=["mobile_paused", "pause_reason", "paused_until"])
    return store


def store_resume_mobile(*, store: Store) -> Store:
    store.mobile_paused = False
    store.pause_reason = ""
    store.paused_until = None
    store.save(update_fields=["mobile_paused", "pause_reason", "paused_until"])
    return store


@transaction.atomic
def item_set_86(*, item: MenuItem, eighty_sixed: bool) -> MenuItem:
    item.eighty_sixed = eighty_sixed
    item.save(update_fields=["eighty_sixed"])
    return item


def options_set_available(*, options, available: bool) -> int:
    """86 modifier options (oat milk is out) or put them back; the menu and quotes read the flag live.
    Returns how many options changed."""
    return ModifierOption.objects.filter(pk__in=[o.pk for o in options]).exclude(is_available=available).update(
        is_available=available)


@transaction.atomic
def staff_add_barista(*, store: Store, username: str, password: str = "") -> StoreMembership:
    """Make `username` a barista at `store`: a new account with `password` when the name is free, else the
    existing account. Callers decide who may name an existing account (admin: only the manager's own staff)."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username=username, password=password)
    return StoreMembership.objects.create(user=user, store=store, role=StoreMembership.BARISTA)


def store_lift_expired_pause(*, store: Store, now=None) -> Store:
    """A pause with an end time in the past is cleared, so admin shows the real state."""
    now = now or timezone.now()
    if store.mobile_paused and store.paused_until and store.paused_until <= now:
        return store_resume_mobile(store=store)
    return store
