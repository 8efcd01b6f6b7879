"""Quoted pickup times: the ASAP ready time for a cart and the pickup slots of the next hours.

The kitchen's answers (how soon, which slots still fit) come from the slot scheduler through
`scheduling.kitchen_quote`; everything else here is store rules: opening hours, lead time,
how far ahead, slot capacity.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count

from fulfilment.channels import policy
from fulfilment.models import OPEN_STATUSES, Channel, Order, PickupKind
from fulfilment.services import scheduling
from fulfilment.services.cart import PricedLine
from orderahead.errors import Conflict, DomainError, NotFound
from stores import hours
from stores.models import Store

SLOT_HORIZON = dt.timedelta(hours=3)


@dataclass
class SlotOffer:
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    taken: int
    available: bool
    reason: str = ""
    ready_at: dt.datetime | None = None  # the ready time promised when booked in this slot (see pickup_choose)


@dataclass
class Quote:
    now: dt.datetime
    asap_ready_at: dt.datetime | None
    asap_reason: str
    slots: list[SlotOffer] = field(default_factory=list)


@dataclass(frozen=True)
class PickupPlan:
    kind: str
    promised_ready_at: dt.datetime
    requested_at: dt.datetime | None = None
    slot_starts_at: dt.datetime | None = None
    # where the quote placed the order in the store's held kitchen plan (Order.plan_rank); None: at the end
    plan_rank: float | None = None


def _units(lines: list[PricedLine]) -> list[tuple[int, int, int]]:
    return [(line.item.station_id, line.prep_seconds, line.prep_sd_seconds)
            for line in lines for _ in range(line.quantity)]


def slot_floor(store: Store, when: dt.datetime) -> dt.datetime:
    width = store.slot_minutes * 60
    local = when.astimezone(store.tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = int((local - midnight).total_seconds()) // width * width
    return (midnight + dt.timedelta(seconds=seconds)).astimezone(dt.UTC)


def _slot_counts(store: Store, start: dt.datetime, end: dt.datetime) -> dict[dt.datetime, int]:
    rows = (Order.objects.filter(store=store, status__in=OPEN_STATUSES, slot_starts_at__gte=start,
                                 slot_starts_at__lt=end)
            .values("slot_starts_at").annotate(n=Count("id")))
    return {row["slot_starts_at"]: row["n"] for row in rows}


def _paused_error(store: Store) -> Conflict:
    return Conflict(f"Mobile ordering is paused: {store.pause_reason or 'please order at the counter'}.",
                    code="store_paused", fields={"reason": store.pause_reason,
                                                 "paused_until": store.paused_until.isoformat()
                                                 if store.paused_until else None})


def _asap_period(*, store: Store, channel: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The opening period an ASAP order is made in, or Conflict saying why the store takes none now."""
    if policy(channel).pausable and store.is_mobile_paused(now):
        raise _paused_error(store)
    period = hours.period_containing(store, now)
    if period is None:
        opens = hours.next_opening(store, now)
        when = f"; it opens at {opens.astimezone(store.tz):%a %H:%M}" if opens else ""
        raise Conflict(f"{store.name} is closed{when}.", code="store_closed")
    return period


def _before_closing(store: Store, period: tuple[dt.datetime, dt.datetime], ready: dt.datetime) -> dt.datetime:
    if ready > period[1]:
        raise Conflict(f"The kitchen cannot have this ready before closing at "
                       f"{period[1].astimezone(store.tz):%H:%M}.", code="store_closing")
    return ready


def asap_pickup(*, store: Store, lines: list[PricedLine], channel: str, now: dt.datetime,
                state: "scheduling.KitchenState | None" = None) -> PickupPlan:
    """An ASAP pickup: the earliest ready time that keeps every promise already made (the scheduler's
    answer, with the safety margin that comes from the prep-time spread) and the order's place in the
    kitchen plan; or Conflict saying why the store cannot take one now. `state`: the store's kitchen
    state at `now`, when the caller already built it."""
    period = _asap_period(store=store, channel=channel, now=now)
    kitchen = scheduling.kitchen_quote(store=store, units=_units(lines), now=now, state=state)
    return PickupPlan(kind=PickupKind.ASAP, promised_ready_at=_before_closing(store, period, kitchen.ready_at),
                      plan_rank=kitchen.held_rank)


def asap_ready_at(*, store: Store, lines: list[PricedLine], channel: str, now: dt.datetime,
                  ready: dt.datetime | None = None) -> dt.datetime:
    """The ready time an ASAP order gets (`ready`: the kitchen's answer, when the caller has it), or
    Conflict saying why the store cannot take one now."""
    if ready is None:
        return asap_pickup(store=store, lines=lines, channel=channel, now=now).promised_ready_at
    return _before_closing(store, _asap_period(store=store, channel=channel, now=now), ready)


def quote_build(*, store: Store, lines: list[PricedLine], now: dt.datetime,
                horizon: dt.timedelta = SLOT_HORIZON) -> Quote:
    width = dt.timedelta(minutes=store.slot_minutes)
    starts = []
    for opens, closes in hours.open_periods(store, now, now + horizon):
        start = slot_floor(store, max(opens, now))
        while start < min(closes, now + horizon):
            if start >= opens:
                starts.append(start)
            start += width
    counts = _slot_counts(store, slot_floor(store, now), now + horizon + width)
    kitchen = scheduling.kitchen_quote(store=store, units=_units(lines), now=now, slot_starts=starts,
                                       slot_taken=counts)
    try:
        asap, asap_reason = asap_ready_at(store=store, lines=lines, channel=Channel.MOBILE, now=now,
                                          ready=kitchen.ready_at), ""
    except Conflict as why_not:
        asap, asap_reason = None, why_not.message

    earliest = now + dt.timedelta(minutes=store.min_lead_minutes)
    slots = []
    for start in starts:
        reason = scheduling.slot_reason("too_soon") if start < earliest else kitchen.slot_status.get(start, "")
        slots.append(SlotOffer(starts_at=start, ends_at=start + width, capacity=store.slot_capacity,
                               taken=counts.get(start, 0), available=not reason, reason=reason,
                               ready_at=kitchen.slot_ready.get(start, start)))
    return Quote(now=now, asap_ready_at=asap, asap_reason=asap_reason, slots=slots)


def pickup_choose(*, store: Store, lines: list[PricedLine], requested_at: dt.datetime | None,
                  channel: str, now: dt.datetime, state: "scheduling.KitchenState | None" = None) -> PickupPlan:
    """Check the pickup a client asked for against the store's rules and the kitchen; say why not if not.

    Counted against slot capacity: scheduled orders of the channels that count toward it
    (fulfilment.channels), by the slot their pickup time falls in.
    """
    if requested_at is None:
        return asap_pickup(store=store, lines=lines, channel=channel, now=now, state=state)

    if requested_at.tzinfo is None:
        requested_at = requested_at.replace(tzinfo=store.tz)
    try:
        requested_at = requested_at.astimezone(dt.UTC)
        local = requested_at.astimezone(store.tz)
    except OverflowError:  # year 1 or 9999 shifted past the calendar's edge by a time zone
        if requested_at.year <= 1:
            raise DomainError("The pickup time is in the past.", code="pickup_in_past") from None
        raise DomainError(f"Orders can be scheduled at most {store.max_days_ahead} days ahead.",
                          code="pickup_too_far") from None
    if requested_at <= now:
        raise DomainError("The pickup time is in the past.", code="pickup_in_past")
    if requested_at > now + dt.timedelta(days=store.max_days_ahead):
        raise DomainError(f"Orders can be scheduled at most {store.max_days_ahead} days ahead.",
                          code="pickup_too_far")
    earliest = now + dt.timedelta(minutes=store.min_lead_minutes)
    if requested_at < earliest:
        raise DomainError(f"Scheduled pickups need at least {store.min_lead_minutes} minutes' notice; "
                          f"the earliest is {earliest.astimezone(store.tz):%H:%M}.", code="pickup_too_soon")
    if hours.period_containing(store, requested_at) is None:
        raise DomainError(f"{store.name} is closed at {local:%a %d %b %H:%M}.", code="outside_opening_hours")
    channel_rules = policy(channel)
    if channel_rules.pausable and store.is_mobile_paused(now):
        raise _paused_error(store)
    slot = slot_floor(store, requested_at)
    takes_slot = channel_rules.counts_toward_slot_capacity
    counts = _slot_counts(store, slot, slot + dt.timedelta(seconds=1)) if takes_slot else {}
    kitchen = scheduling.kitchen_quote(store=store, units=_units(lines), now=now, slot_starts=[slot],
                                       slot_taken=counts)
    verdict = kitchen.slot_status[slot] if takes_slot else ""
    if requested_at < kitchen.ready_at or verdict == scheduling.slot_reason("too_soon"):
        raise Conflict(f"The kitchen cannot have this ready by {local:%H:%M}; the earliest is "
                       f"{kitchen.ready_at.astimezone(store.tz):%H:%M}.", code="slot_unavailable",
                       fields={"earliest_ready_at": kitchen.ready_at.isoformat()})
    if verdict == scheduling.slot_reason("full"):
        raise Conflict(f"The {slot.astimezone(store.tz):%H:%M} pickup slot is full; pick another.",
                       code="slot_full")
    if verdict:
        raise Conflict(f"The kitchen is fully booked around {slot.astimezone(store.tz):%H:%M}; pick another slot.",
                       code="slot_unavailable")
    # The promise inside the slot: where the orders already booked for this slot would have this one
    # made early (they all aim at its start), the kitchen promises a later time in the slot, which it
    # has checked as it checked the start. A customer who asked for a time later than that keeps it.
    promised = max(requested_at, kitchen.slot_ready.get(slot, requested_at))
    return PickupPlan(kind=PickupKind.SCHEDULED, promised_ready_at=promised, requested_at=requested_at,
                      slot_starts_at=slot if takes_slot else None,
                      plan_rank=kitchen.slot_held_rank.get(slot))


@dataclass
class CartQuote(Quote):
    subtotal_minor: int = 0
    currency: str = ""
    requested_ready_at: dt.datetime | None = None


def quote_for_cart(*, store_id: int, lines, requested_at: dt.datetime | None,
                   now: dt.datetime | None = None) -> CartQuote:
    """What the customer sees before ordering: price, ASAP time, slots, and whether their chosen time works.

    A requested time that cannot be honoured is an error with the reason (and the earliest time when
    the kitchen is the limit), the same error placing the order would give.
    """
    from django.utils import timezone

    from fulfilment.services.cart import cart_price

    now = now or timezone.now()
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        raise NotFound(f"Store {store_id} does not exist.", code="unknown_store")
    priced = cart_price(store=store, lines=lines)
    quote = quote_build(store=store, lines=priced, now=now)
    requested_ready_at = None
    if requested_at is not None:
        requested_ready_at = pickup_choose(store=store, lines=priced, requested_at=requested_at,
                                           channel=Channel.MOBILE, now=now).promised_ready_at
    return CartQuote(now=quote.now, asap_ready_at=quote.asap_ready_at, asap_reason=quote.asap_reason,
                     slots=quote.slots, subtotal_minor=sum(line.line_total_minor for line in priced),
                     currency=store.currency, requested_ready_at=requested_ready_at)
