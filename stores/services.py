"""Writes to stores and menus. Stock changes are single conditional UPDATEs so they stay
correct when many requests race for the last units (PostgreSQL and SQLite alike)."""

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core_native.learning import learned_update, pace_update, planned_prep, sample_usable
from orderahead.errors import Conflict
from stores.config_cache import learned_prep_changed
from stores.models import AvailabilityChange, LearnedPrepTime, MenuItem, ModifierOption, Store, StoreMembership
from stores.selectors import learned_state, store_daypart
from stores.signals import options_availability_changed


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


def _actor_id(actor) -> int | None:
    """The user to log, or None for a change with no signed-in person behind it (a command, a test)."""
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


@transaction.atomic
def item_set_86(*, item: MenuItem, eighty_sixed: bool, actor=None, now=None) -> MenuItem:
    """Mark an item out (86) or back, and log it for the dashboard when that is a change.

    The flag is read under a row lock, so two people 86ing the same item at once log one change, not two."""
    was = MenuItem.objects.select_for_update().values_list("eighty_sixed", flat=True).get(pk=item.pk)
    item.eighty_sixed = eighty_sixed
    item.save(update_fields=["eighty_sixed"])  # saved even when unchanged: fulfilment re-announces the item
    if was != eighty_sixed:
        AvailabilityChange.objects.create(store_id=item.store_id, item=item, out=eighty_sixed,
                                          actor_id=_actor_id(actor), at=now or timezone.now())
    return item


@transaction.atomic
def options_set_available(*, options, available: bool, actor=None, now=None) -> list[ModifierOption]:
    """86 modifier options (oat milk is out) or put them back; the menu and quotes read the flag live.

    Returns the options that changed (each with its group), which are logged for the dashboard and
    announced (`options_availability_changed`, after which fulfilment tells the screens and the app)."""
    changing = list(ModifierOption.objects.select_for_update(of=("self",)).select_related("group")
                    .filter(pk__in=[o.pk for o in options]).exclude(is_available=available).order_by("pk"))
    if not changing:
        return []
    ModifierOption.objects.filter(pk__in=[o.pk for o in changing]).update(is_available=available)
    actor_id, now = _actor_id(actor), now or timezone.now()
    AvailabilityChange.objects.bulk_create([
        AvailabilityChange(store_id=o.group.store_id, option=o, out=not available, actor_id=actor_id, at=now)
        for o in changing])
    announced = {o.pk for o in options if getattr(o, "_announced", False)}
    for o in changing:
        o.is_available = available
        o._announced = o.pk in announced  # the caller writes the screens' event itself (kitchen_option_86)
    options_availability_changed.send(sender=ModifierOption, options=changing)
    return changing


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


# --- Learned prep times ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PrepSample:
    """One made item: which, where, when it was started, and the seconds one unit took (modifiers' extra
    time taken off, so it compares with MenuItem.prep_seconds)."""
    item_id: int
    station_id: int
    started_at: dt.datetime
    seconds: float


def learned_prep_record(*, store: Store, samples: list[PrepSample], now: dt.datetime | None = None) -> int:
    """Fold the samples into the store's learned prep times and its stations' paces (core_native.learning,
    O(1) per sample); returns how many counted (a sample left on the screen or tapped done at once does not:
    `sample_usable`).

    Two reads and at most three writes (new rows, changed rows, the store's learned version) however many
    samples. The caller holds the store's row lock (every kitchen action does), so no other bump of this
    store reads the same rows between the read and the write."""
    if not samples:
        return 0
    now = now or timezone.now()
    items = MenuItem.objects.filter(store=store, pk__in={s.item_id for s in samples}).only(
        "pk", "prep_seconds", "prep_sd_seconds").in_bulk()
    keyed = [((s.item_id, s.station_id, store_daypart(store, s.started_at)), s) for s in samples if s.item_id in items]
    if not keyed:
        return 0
    rows = {(r.item_id, r.station_id, r.daypart): r for r in LearnedPrepTime.objects.filter(
        Q(item_id__in={k[0] for k, _ in keyed}) | Q(item__isnull=True),
        station_id__in={k[1] for k, _ in keyed}, daypart__in={k[2] for k, _ in keyed})}
    new, changed = {}, {}

    def row_for(key) -> LearnedPrepTime:
        row = rows.get(key) or new.get(key)
        if row is None:
            row = new[key] = LearnedPrepTime(item_id=key[0], station_id=key[1], daypart=key[2])
        elif key in rows:
            changed[key] = row
        return row

    def keep(key, state) -> None:
        row = row_for(key)
        row.samples, row.mean_seconds, row.variance_seconds2, row.updated_at = state.n, state.mean_s, state.var_s2, now

    counted = 0
    for key, sample in keyed:
        item, pace_key = items[key[0]], (None, key[1], key[2])
        state = learned_state(rows.get(key) or new.get(key))
        pace = learned_state(rows.get(pace_key) or new.get(pace_key))
        planned, _ = planned_prep(state, item.prep_seconds, item.prep_sd_seconds, pace=pace)
        if not sample_usable(sample.seconds, item.prep_seconds, planned):
            continue
        keep(key, learned_update(state, sample.seconds, item.prep_seconds, item.prep_sd_seconds, pace=pace))
        keep(pace_key, pace_update(pace, sample.seconds, item.prep_seconds))
        counted += 1
    if new:
        LearnedPrepTime.objects.bulk_create(new.values())
    if changed:
        LearnedPrepTime.objects.bulk_update(changed.values(), ["samples", "mean_seconds", "variance_seconds2",
                                                               "updated_at"])
    if counted:
        learned_prep_changed(store.pk)  # every process's quotes read the new values
    return counted


def learned_prep_reset(*, items) -> int:
    """Forget what was learned of `items` (every station and daypart) and the pace of their stations (it is
    relative to the configured times, which a manager resets after correcting): they are planned with their
    configured times again, and learn afresh from the next bump. Returns the rows removed."""
    items = list(items)
    deleted, _ = LearnedPrepTime.objects.filter(
        Q(item__in=items) | Q(item__isnull=True, station_id__in={item.station_id for item in items})).delete()
    for store_id in {item.store_id for item in items}:
        learned_prep_changed(store_id)
    return deleted
