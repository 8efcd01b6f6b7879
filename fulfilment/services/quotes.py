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
from fulfilment.services.pickup_rules import fulfilment_settings_for
from fulfilment.services.pricing import TaxRule, order_totals
from orderahead.errors import Conflict, DomainError, NotFound
from stores import hours
from stores.models import Store

PAUSED_REASON = "paused"  # a slot reason of the store's, beside the scheduler's ("full", "too soon" ...)
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
    window_start: dt.datetime | None = None  # and the window promised with it (scheduling.promised_window)
    window_end: dt.datetime | None = None


@dataclass
class DayOffer:
    """One day a pickup can be booked for, in the store's calendar."""
    date: dt.date
    label: str                      # "Today", "Tomorrow", "Tue 8 Dec"
    open: bool                      # the store opens at all that day
    opens_at: dt.datetime | None    # its first opening and last closing that day
    closes_at: dt.datetime | None
    has_available_slots: bool


@dataclass
class Quote:
    now: dt.datetime
    asap_ready_at: dt.datetime | None
    asap_reason: str
    slots: list[SlotOffer] = field(default_factory=list)  # the slots of `day`
    days: list[DayOffer] = field(default_factory=list)
    day: dt.date | None = None
    next_available_at: dt.datetime | None = None  # the earlier of ASAP and the first free slot of any day
    asap_window_start: dt.datetime | None = None  # the window promised with asap_ready_at
    asap_window_end: dt.datetime | None = None


@dataclass(frozen=True)
class PickupPlan:
    kind: str
    promised_ready_at: dt.datetime
    requested_at: dt.datetime | None = None
    slot_starts_at: dt.datetime | None = None
    # where the quote placed the order in the store's held kitchen plan (Order.plan_rank); None: at the end
    plan_rank: float | None = None
    # the window promised with promised_ready_at (scheduling.promised_window)
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None


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
    promised = _before_closing(store, period, kitchen.ready_at)
    start, end = scheduling.promised_window(promised, kitchen.margin_s)
    return PickupPlan(kind=PickupKind.ASAP, promised_ready_at=promised, plan_rank=kitchen.held_rank,
                      window_start=start, window_end=end)


def asap_ready_at(*, store: Store, lines: list[PricedLine], channel: str, now: dt.datetime,
                  ready: dt.datetime | None = None) -> dt.datetime:
    """The ready time an ASAP order gets (`ready`: the kitchen's answer, when the caller has it), or
    Conflict saying why the store cannot take one now."""
    if ready is None:
        return asap_pickup(store=store, lines=lines, channel=channel, now=now).promised_ready_at
    return _before_closing(store, _asap_period(store=store, channel=channel, now=now), ready)


def _slot_starts(store: Store, period: tuple[dt.datetime, dt.datetime], now: dt.datetime,
                 until: dt.datetime) -> list[dt.datetime]:
    """The pickup slot starts of one opening period, from the current slot on and up to `until`."""
    opens, closes = period
    width = dt.timedelta(minutes=store.slot_minutes)
    start = slot_floor(store, max(opens, now))
    starts = []
    while start < closes and start <= until:
        if start >= opens:
            starts.append(start)
        start += width
    return starts


def _day_label(day: dt.date, today: dt.date) -> str:
    if day == today:
        return "Today"
    if day == today + dt.timedelta(days=1):
        return "Tomorrow"
    return f"{day:%a} {day.day} {day:%b}"


def quote_build(*, store: Store, lines: list[PricedLine], now: dt.datetime, day: dt.date | None = None,
                horizon: dt.timedelta = SLOT_HORIZON) -> Quote:
    """The ASAP time, the days a pickup can be booked (today to today + `max_days_ahead`) and the slots of
    one of them (`day`, else today when anything is on offer today, else the first day with a free slot).

    The kitchen scheduler is asked only about the ASAP time and the slots of the next `horizon`, where
    the queue already in the kitchen decides; later slots are judged by the store's rules alone (opening
    hours, lead time, slot capacity) and promise their start. Placing an order there still asks the
    kitchen (`pickup_choose`), which by then has little to say so far ahead.
    """
    tz = store.tz
    today = now.astimezone(tz).date()
    limit = now + dt.timedelta(days=store.max_days_ahead)  # pickup_choose refuses anything later
    width = dt.timedelta(minutes=store.slot_minutes)
    # From today's local midnight, so the day list shows today's hours even once they are over. A period
    # never crosses midnight (OpeningHours), so each belongs to the local day it opens on.
    days_periods: dict[dt.date, list[tuple[dt.datetime, dt.datetime]]] = {}
    for period in hours.open_periods(store, dt.datetime.combine(today, dt.time(0), tzinfo=tz), limit + width):
        days_periods.setdefault(period[0].astimezone(tz).date(), []).append(period)
    starts_of = {date: [start for period in periods for start in _slot_starts(store, period, now, limit)]
                 for date, periods in days_periods.items()}
    # One read of the slot counts for every day offered.
    counts = _slot_counts(store, slot_floor(store, now), limit + width) if any(starts_of.values()) else {}
    near = [start for starts in starts_of.values() for start in starts if start < now + horizon]

    asap_reason = ""
    try:
        period = _asap_period(store=store, channel=Channel.MOBILE, now=now)
    except Conflict as why_not:
        period, asap_reason = None, why_not.message
    kitchen = None
    if period is not None or near:
        kitchen = scheduling.kitchen_quote(store=store, units=_units(lines), now=now, slot_starts=near,
                                           slot_taken=counts)
    asap = asap_window = None
    if period is not None:
        try:
            asap = _before_closing(store, period, kitchen.ready_at)
            asap_window = scheduling.promised_window(asap, kitchen.margin_s)
        except Conflict as why_not:
            asap_reason = why_not.message

    earliest = now + dt.timedelta(minutes=store.min_lead_minutes)
    full, too_soon = scheduling.slot_reason("full"), scheduling.slot_reason("too_soon")
    judged = kitchen.slot_status if kitchen is not None else {}
    # While paused, pickup_choose books no mobile order for any day, so no slot may look bookable.
    paused = policy(Channel.MOBILE).pausable and store.is_mobile_paused(now)

    def reason(start: dt.datetime) -> str:
        """Why the slot is not offered; "" when it is."""
        if paused:
            return PAUSED_REASON
        if start < earliest:
            return too_soon
        if start in judged:
            return judged[start]
        return full if counts.get(start, 0) >= store.slot_capacity else ""

    # A week of slots is a couple of thousand; only the shown day's become offers, the others are only
    # looked through up to their first free slot.
    first_free = {date: next((start for start in starts if not reason(start)), None)
                  for date, starts in starts_of.items()}
    days = []
    for offset in range(store.max_days_ahead + 1):
        date = today + dt.timedelta(days=offset)
        periods = days_periods.get(date, [])
        days.append(DayOffer(date=date, label=_day_label(date, today), open=bool(periods),
                             opens_at=periods[0][0] if periods else None,
                             closes_at=max(closes for _, closes in periods) if periods else None,
                             has_available_slots=first_free.get(date) is not None))
    if day is None:
        offered_today = asap is not None or days[0].has_available_slots
        day = today if offered_today else next((d.date for d in days if d.has_available_slots), today)

    ready_in_slot = kitchen.slot_ready if kitchen is not None else {}
    slots = []
    for start in starts_of.get(day, []):
        why_not = reason(start)
        ready = ready_in_slot.get(start, start)
        # a window only where the kitchen judged the slot (its margin); a slot beyond the horizon has none yet
        window = scheduling.promised_window(ready, kitchen.margin_s) if start in ready_in_slot else (None, None)
        slots.append(SlotOffer(starts_at=start, ends_at=start + width, capacity=store.slot_capacity,
                               taken=counts.get(start, 0), available=not why_not, reason=why_not,
                               ready_at=ready, window_start=window[0], window_end=window[1]))
    free = min((start for start in first_free.values() if start is not None), default=None)
    next_available = min((t for t in (asap, free) if t is not None), default=None)
    return Quote(now=now, asap_ready_at=asap, asap_reason=asap_reason, slots=slots, days=days, day=day,
                 next_available_at=next_available, asap_window_start=asap_window[0] if asap_window else None,
                 asap_window_end=asap_window[1] if asap_window else None)


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
    start, end = scheduling.promised_window(promised, kitchen.margin_s)
    return PickupPlan(kind=PickupKind.SCHEDULED, promised_ready_at=promised, requested_at=requested_at,
                      slot_starts_at=slot if takes_slot else None,
                      plan_rank=kitchen.slot_held_rank.get(slot), window_start=start, window_end=end)


@dataclass
class CartQuote(Quote):
    subtotal_minor: int = 0
    tax_minor: int = 0
    total_minor: int = 0
    currency: str = ""
    tax: TaxRule | None = None
    lines: list[dict] = field(default_factory=list)
    requested_ready_at: dt.datetime | None = None
    requested_window_start: dt.datetime | None = None  # the window promised with requested_ready_at
    requested_window_end: dt.datetime | None = None
    offers_fire_on_arrival: bool = False  # checkout may offer "make it when I arrive" (StoreFulfilmentSettings)
    discount_minor: int = 0  # the chosen reward, off before tax (services.rewards)
    discounts: list[dict] = field(default_factory=list)  # its discount line: label, amount_minor, line_index
    rewards: list[dict] = field(default_factory=list)  # what the signed-in member could use on this cart now


def _check_day(store: Store, day: dt.date, now: dt.datetime) -> None:
    today = now.astimezone(store.tz).date()
    last = today + dt.timedelta(days=store.max_days_ahead)
    if not today <= day <= last:
        raise DomainError(f"Pick a day from {today:%Y-%m-%d} (today at {store.name}) to {last:%Y-%m-%d}: orders "
                          f"can be scheduled at most {store.max_days_ahead} days ahead.", code="bad_day",
                          fields={"day": f"from {today.isoformat()} to {last.isoformat()}"})


def quote_for_cart(*, store_id: int, lines, requested_at: dt.datetime | None, day: dt.date | None = None,
                   now: dt.datetime | None = None, member=None, reward_id: int | None = None) -> CartQuote:
    """What the customer sees before ordering: the priced lines and totals (the very figures placing the
    order charges: `pricing.order_totals`), the ASAP time, the days and one day's slots, and whether their
    chosen time works.

    A requested time that cannot be honoured is an error with the reason (and the earliest time when
    the kitchen is the limit), the same error placing the order would give. Without a `day`, a requested
    time shows the slots of its own day.

    `member` (the signed-in customer): the rewards they could use on this cart (`rewards`). `reward_id`: the
    one chosen, priced as placing the order prices it (a discount line before tax), refused as it would be.
    """
    from django.utils import timezone

    from fulfilment.services import loyalty, rewards
    from fulfilment.services.cart import cart_price
    from fulfilment.services.payments import below_card_minimum

    now = now or timezone.now()
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        raise NotFound(f"Store {store_id} does not exist.", code="unknown_store")
    if day is not None:
        _check_day(store, day, now)
    priced = cart_price(store=store, lines=lines, now=now)
    use = None
    if reward_id is not None:
        reward = rewards.reward_get(reward_id=reward_id)
        rewards.reward_check_member(reward=reward, member=member, store=store, now=now)
        use = rewards.reward_apply(reward=reward, lines=priced)
        balance = loyalty.member_balance(member=member)
        if balance < reward.stars_cost:
            raise Conflict(f"{reward.name} takes {reward.stars_cost} stars; you have {balance}.",
                           code="not_enough_stars", fields={"reward": reward.pk, "balance": balance})
    offers = rewards.rewards_affordable(member=member, store=store, lines=priced, now=now) if member else []
    for offer in offers:  # the checkout greys out a reward that would leave less than a card can be charged
        offer["total_minor"] = order_totals(store=store, priced_lines=priced,
                                            discount_minor=offer["discount_minor"]).total_minor
        offer["below_card_minimum"] = below_card_minimum(total_minor=offer["total_minor"], currency=store.currency)
    requested_ready_at = requested = None
    if requested_at is not None:
        requested = pickup_choose(store=store, lines=priced, requested_at=requested_at, channel=Channel.MOBILE,
                                  now=now)
        requested_ready_at = requested.promised_ready_at
        if day is None:
            day = requested_ready_at.astimezone(store.tz).date()
    quote = quote_build(store=store, lines=priced, now=now, day=day)
    totals = order_totals(store=store, priced_lines=priced, discount_minor=use.amount_minor if use else 0)
    return CartQuote(now=quote.now, asap_ready_at=quote.asap_ready_at, asap_reason=quote.asap_reason,
                     slots=quote.slots, days=quote.days, day=quote.day, next_available_at=quote.next_available_at,
                     asap_window_start=quote.asap_window_start, asap_window_end=quote.asap_window_end,
                     subtotal_minor=totals.subtotal_minor, tax_minor=totals.tax_minor, total_minor=totals.total_minor,
                     currency=totals.currency, tax=totals.tax,
                     lines=[{"index": index, "item": line.item.pk, "item_name": line.item.name,
                             "quantity": line.quantity, "modifiers": line.modifiers_snapshot(),
                             "unit_price_minor": line.unit_price_minor, "line_total_minor": line.line_total_minor}
                            for index, line in enumerate(priced)],
                     requested_ready_at=requested_ready_at,
                     requested_window_start=requested.window_start if requested else None,
                     requested_window_end=requested.window_end if requested else None,
                     offers_fire_on_arrival=fulfilment_settings_for(store=store).offers_fire_on_arrival,
                     discount_minor=totals.discount_minor, rewards=offers,
                     discounts=[{"label": use.reward.name, "amount_minor": use.amount_minor, "reward": use.reward.pk,
                                 "line_index": use.line_index}] if use else [])
