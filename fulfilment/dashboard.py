"""Reads for the manager dashboard (issue 26): the figures of a set of stores over store-local days.

Counts and sums are SQL aggregates (values().annotate(Count/Sum/Min/Max)); nothing loads whole orders.
Percentiles fetch ONE sorted duration column (plus its group keys) and pick by nearest rank in Python:
fine up to a few thousand rows a query (a store's day is ~2,000 orders), see bench_dashboard.py.

Which day an order belongs to: the store-local day it was placed (Order.created_at); for the slot load,
the day its pickup slot starts (Order.slot_starts_at: an order placed the evening before counts on the day
it takes a place in a slot). Stores in different zones are each cut at their own midnight; hour and
15-minute buckets are store-local wall-clock times.
"""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, ExtractMinute, Floor, TruncDate, TruncHour
from django.utils import timezone

from fulfilment.channels import policy
from fulfilment.models import (
    KITCHEN_STATUSES,
    OPEN_STATUSES,
    SOLD_STATUSES,
    Channel,
    LoyaltyEntry,
    LoyaltyProgram,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    Reward,
)
from stores.models import Store, StoreMembership
from stores.selectors import eighty_six_periods

# An order ready this long after its promise still counts as "ready by the promise": the pickup shelf
# and the customer's walk absorb a minute; beyond it the customer waits at the counter.
PROMISE_GRACE_SECONDS = 60
# An item's measured median prep time this far (either way) from its configured prep_seconds is flagged:
# the scheduler plans with the configured figure, so promises drift when it is wrong.
PREP_DRIFT_SHARE = 0.20
BUCKET_MINUTES = 15


# --- Who sees which stores ------------------------------------------------------------------------------------

def dashboard_stores_for_user(*, user) -> QuerySet[Store]:
    """The stores whose dashboard this person may see: those they manage; a superuser, every store."""
    if not user or not user.is_authenticated:
        return Store.objects.none()
    stores = Store.objects.order_by("name", "pk")
    if user.is_superuser:
        return stores
    return stores.filter(memberships__user=user, memberships__role=StoreMembership.MANAGER)


# --- Helpers ---------------------------------------------------------------------------------------------------

def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of an ascending list (p50 of [1, 2, 3, 4] is 2): always a measured value."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def local_day_bounds(store: Store, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) local days of the store as aware datetimes (midnight to midnight in its zone)."""
    return (dt.datetime.combine(start, dt.time.min, tzinfo=store.tz),
            dt.datetime.combine(end, dt.time.min, tzinfo=store.tz))


def _placed_in_range(stores: Iterable[Store], start: dt.date, end: dt.date, prefix: str = "",
                     moment: str = "created_at") -> Q:
    """Orders (or rows reached through `prefix`, e.g. "order__") of these stores placed in their local range;
    by another of the order's times with `moment` (e.g. "slot_starts_at")."""
    q = Q(pk__in=[])
    for store in stores:
        since, until = local_day_bounds(store, start, end)
        q |= Q(**{f"{prefix}store_id": store.pk, f"{prefix}{moment}__gte": since,
                  f"{prefix}{moment}__lt": until})
    return q


def _local_day(stores: Iterable[Store], start: dt.date, end: dt.date, store_field: str = "store_id",
               moment: str = "created_at") -> Case:
    """The store-local date of `moment` for rows of these stores (the store reached through `store_field`, e.g.
    "order__store_id") in their local days [start, end), NULL for every other row. One expression with a branch
    per store, each cut at its store's own midnight, so one query can group rows of stores in several zones by
    day (sales_by_bucket instead reads zone by zone because it also needs the local hour)."""
    branches = []
    for store in stores:
        since, until = local_day_bounds(store, start, end)
        branches.append(When(Q(**{store_field: store.pk, f"{moment}__gte": since, f"{moment}__lt": until}),
                             then=TruncDate(moment, tzinfo=store.tz)))
    return Case(*branches, default=Value(None), output_field=DateField()) if branches else Value(None, DateField())


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=offset) for offset in range((end - start).days)]


def _zones(stores: Iterable[Store]) -> dict[str, list[Store]]:
    by_zone = defaultdict(list)
    for store in stores:
        by_zone[store.timezone].append(store)
    return by_zone


def _seconds(value) -> float:
    """A duration from the database: a timedelta (PostgreSQL, SQLite via Django) as seconds."""
    return value.total_seconds() if isinstance(value, dt.timedelta) else value / 1_000_000


def _local_label(value: dt.datetime | None, zone) -> dt.datetime | None:
    return None if value is None else timezone.localtime(value, zone).replace(tzinfo=None)


@dataclass
class DurationStats:
    """Figures of a group of durations (seconds): count, p50, p90, earliest (min), latest (max)."""

    count: int = 0
    p50: float | None = None
    p90: float | None = None
    min: float | None = None
    max: float | None = None
    on_time: int = 0  # promise accuracy only: how many within the grace

    @property
    def on_time_share(self) -> float | None:
        return None if not self.count else self.on_time / self.count


def _stats(values: list[float]) -> DurationStats:
    values = sorted(values)
    return DurationStats(count=len(values), p50=percentile(values, 50), p90=percentile(values, 90),
                         min=values[0] if values else None, max=values[-1] if values else None)


# --- a) Orders and sales -------------------------------------------------------------------------------------

def sales_by_channel(*, stores, start: dt.date, end: dt.date) -> list[dict]:
    """[{channel, currency, orders, sales_minor}] of sold orders, by channel (and currency: stores may differ)."""
    rows = (Order.objects.filter(_placed_in_range(stores, start, end), status__in=SOLD_STATUSES)
            .values("channel", "currency").annotate(orders=Count("pk"), sales_minor=Sum("total_minor"))
            .order_by("channel", "currency"))
    return list(rows)


def sales_by_bucket(*, stores, start: dt.date, end: dt.date) -> list[dict]:
    """[{bucket (local naive datetime), currency, orders, sales_minor}] by 15-minute bucket of placing."""
    merged: dict[tuple, dict] = {}
    for zone_name, zone_stores in _zones(stores).items():
        zone = zone_stores[0].tz
        rows = (Order.objects.filter(_placed_in_range(zone_stores, start, end), status__in=SOLD_STATUSES)
                .annotate(hour=TruncHour("created_at", tzinfo=zone),
                          quarter=Floor(Cast(ExtractMinute("created_at", tzinfo=zone), FloatField())
                                        / Value(float(BUCKET_MINUTES)), output_field=IntegerField()))
                .values("hour", "quarter", "currency")
                .annotate(orders=Count("pk"), sales_minor=Sum("total_minor")))
        for row in rows:
            bucket = _local_label(row["hour"], zone) + dt.timedelta(minutes=BUCKET_MINUTES * int(row["quarter"]))
            key = (bucket, row["currency"])
            slot = merged.setdefault(key, {"bucket": bucket, "currency": row["currency"], "orders": 0,
                                           "sales_minor": 0})
            slot["orders"] += row["orders"]
            slot["sales_minor"] += row["sales_minor"]
    return [merged[key] for key in sorted(merged)]


# --- b) Promise accuracy ---------------------------------------------------------------------------------------

def _ready_error():
    return ExpressionWrapper(F("ready_at") - F("promised_ready_at"), output_field=DurationField())


def promise_accuracy(*, stores, start: dt.date, end: dt.date) -> dict:
    """Error = ready_at - promised_ready_at (seconds; negative: early) of orders that reached READY.

    {"overall": DurationStats, "by_channel": {channel: DurationStats}, "by_hour": {local hour: DurationStats}}
    The hour is the local hour of the promise. Counts and on-time counts are SQL aggregates; p50, p90,
    earliest and latest come from one sorted column of errors per zone.
    """
    on_time = Count("pk", filter=Q(ready_at__lte=F("promised_ready_at") + dt.timedelta(seconds=PROMISE_GRACE_SECONDS)))
    overall, by_channel, by_hour = DurationStats(), defaultdict(DurationStats), defaultdict(DurationStats)
    errors_overall, errors_channel, errors_hour = [], defaultdict(list), defaultdict(list)
    for zone_stores in _zones(stores).values():
        zone = zone_stores[0].tz
        reached = Order.objects.filter(_placed_in_range(zone_stores, start, end), ready_at__isnull=False,
                                       promised_ready_at__isnull=False)
        totals = reached.aggregate(count=Count("pk"), on_time=on_time)
        overall.count += totals["count"]
        overall.on_time += totals["on_time"] or 0
        for row in reached.values("channel").annotate(count=Count("pk"), on_time=on_time).order_by():
            by_channel[row["channel"]].count += row["count"]
            by_channel[row["channel"]].on_time += row["on_time"]
        hourly = reached.annotate(hour=TruncHour("promised_ready_at", tzinfo=zone))
        for row in hourly.values("hour").annotate(count=Count("pk"), on_time=on_time).order_by():
            label = _local_label(row["hour"], zone)
            by_hour[label].count += row["count"]
            by_hour[label].on_time += row["on_time"]
        # The percentile column: one sorted duration per order, with its two group keys.
        for channel, hour, error in (hourly.annotate(error=_ready_error()).order_by("error")
                                     .values_list("channel", "hour", "error")):
            seconds = _seconds(error)
            errors_overall.append(seconds)
            errors_channel[channel].append(seconds)
            errors_hour[_local_label(hour, zone)].append(seconds)

    def fill(stats: DurationStats, values: list[float]) -> DurationStats:
        measured = _stats(values)
        stats.p50, stats.p90, stats.min, stats.max = measured.p50, measured.p90, measured.min, measured.max
        return stats

    return {"overall": fill(overall, errors_overall),
            "by_channel": {key: fill(by_channel[key], errors_channel[key]) for key in sorted(by_channel)},
            "by_hour": {key: fill(by_hour[key], errors_hour[key]) for key in sorted(by_hour)}}


# --- c) Ticket times ------------------------------------------------------------------------------------------

def _made_lines(stores, start, end) -> QuerySet[OrderLine]:
    return (OrderLine.objects.filter(_placed_in_range(stores, start, end, prefix="order__"),
                                     started_at__isnull=False, done_at__isnull=False)
            .annotate(took=ExpressionWrapper(F("done_at") - F("started_at"), output_field=DurationField())))


def ticket_times_by_station(*, stores, start: dt.date, end: dt.date) -> list[dict]:
    """[{station_id, station, store, stats: DurationStats}]: started_at -> done_at of each made line."""
    grouped, names = defaultdict(list), {}
    for station_id, name, store_name, took in (_made_lines(stores, start, end).order_by("took")
                                               .values_list("station_id", "station__name", "station__store__name",
                                                            "took")):
        grouped[station_id].append(_seconds(took))
        names[station_id] = (name, store_name)
    return [{"station_id": key, "station": names[key][0], "store": names[key][1], "stats": _stats(grouped[key])}
            for key in sorted(grouped, key=lambda k: names[k][::-1])]


def ticket_times_by_item(*, stores, start: dt.date, end: dt.date) -> list[dict]:
    """[{item_id, item, store, configured_seconds, stats, drift_share, flagged}] per menu item.

    A line of 3 lattes took its time for 3 units, so the measured figure is per unit: (done - started) /
    quantity, compared with MenuItem.prep_seconds (the configured time of one unit without modifiers).
    flagged: the measured median differs from the configured time by more than PREP_DRIFT_SHARE.
    """
    grouped, meta = defaultdict(list), {}
    for item_id, name, store_name, configured, quantity, took in (
            _made_lines(stores, start, end).order_by("took")
            .values_list("item_id", "item__name", "item__store__name", "item__prep_seconds", "quantity", "took")):
        grouped[item_id].append(_seconds(took) / max(1, quantity))
        meta[item_id] = (name, store_name, configured)
    rows = []
    for item_id in sorted(grouped, key=lambda k: (meta[k][1], meta[k][0])):
        name, store_name, configured = meta[item_id]
        stats = _stats(grouped[item_id])
        drift = (stats.p50 - configured) / configured if configured else None
        rows.append({"item_id": item_id, "item": name, "store": store_name, "configured_seconds": configured,
                     "stats": stats, "drift_share": drift,
                     "flagged": drift is not None and abs(drift) > PREP_DRIFT_SHARE})
    return rows


# --- d) Counts ------------------------------------------------------------------------------------------------

def late_orders_now(*, stores, now: dt.datetime | None = None) -> int:
    """Orders the kitchen still has to make (confirmed, being made) whose promise has passed. A live
    figure: not limited to the chosen days."""
    now = now or timezone.now()
    return Order.objects.filter(store__in=list(stores), status__in=KITCHEN_STATUSES,
                                promised_ready_at__lt=now).count()


def order_counts(*, stores, start: dt.date, end: dt.date) -> dict:
    """{"cancelled", "no_shows"} of orders placed in the range, and {"refunds": [{currency, refunded_minor,
    refunds}]}: succeeded refunds of those orders."""
    counts = Order.objects.filter(_placed_in_range(stores, start, end)).aggregate(
        cancelled=Count("pk", filter=Q(status=OrderStatus.CANCELLED)),
        no_shows=Count("pk", filter=Q(status=OrderStatus.NO_SHOW)))
    refunds = (Refund.objects.filter(_placed_in_range(stores, start, end, prefix="payment__order__"),
                                     status=Refund.SUCCEEDED)
               .values("payment__currency").annotate(refunded_minor=Sum("amount_minor"), refunds=Count("pk"))
               .order_by("payment__currency"))
    counts["refunds"] = [{"currency": r["payment__currency"], "refunded_minor": r["refunded_minor"],
                          "refunds": r["refunds"]} for r in refunds]
    return counts


def shelf_times(*, stores, start: dt.date, end: dt.date) -> DurationStats:
    """ready_at -> picked_up_at of orders picked up: how long orders wait on the pickup shelf."""
    values = [_seconds(value) for value in (
        Order.objects.filter(_placed_in_range(stores, start, end), status=OrderStatus.PICKED_UP,
                             ready_at__isnull=False, picked_up_at__isnull=False)
        .annotate(shelf=ExpressionWrapper(F("picked_up_at") - F("ready_at"), output_field=DurationField()))
        .order_by("shelf").values_list("shelf", flat=True))]
    return _stats(values)


# --- e) Pickup slots and the in-store wait -------------------------------------------------------------------

def slot_load(*, stores, start: dt.date, end: dt.date) -> list[dict]:
    """[{store_id, store, slot, orders, holding, capacity, full}] per pickup slot that has orders, by store
    (name) then slot; the slots that start in the stores' local days [start, end).

    slot: the local naive start (Order.slot_starts_at). Only orders of the channels that count toward slot
    capacity have one (quotes.pickup_choose sets it by ChannelPolicy.counts_toward_slot_capacity), so the
    slot itself is the channel rule, as in quotes._slot_counts.
    holding: the orders holding the slot now (OPEN_STATUSES), what quotes counts against Store.slot_capacity
    when it offers the slot. orders: every order that took a place in it except the cancelled ones, which
    gave theirs back; the picked-up and no-show ones kept theirs until their handoff. The orders of a past
    slot are all finished, so `holding` falls to 0 there while `orders` is the load the slot carried.
    full: orders >= capacity (the store's capacity today).
    """
    stores = list(stores)
    by_pk = {store.pk: store for store in stores}
    rows = (Order.objects.filter(_placed_in_range(stores, start, end, moment="slot_starts_at"))
            .exclude(status=OrderStatus.CANCELLED)
            .values("store_id", "slot_starts_at")
            .annotate(orders=Count("pk"), holding=Count("pk", filter=Q(status__in=OPEN_STATUSES)))
            .order_by())
    load = []
    for row in rows:
        store = by_pk[row["store_id"]]
        load.append({"store_id": store.pk, "store": store.name, "slot": _local_label(row["slot_starts_at"], store.tz),
                     "orders": row["orders"], "holding": row["holding"], "capacity": store.slot_capacity,
                     "full": row["orders"] >= store.slot_capacity})
    return sorted(load, key=lambda r: (r["store"], r["store_id"], r["slot"]))


def in_store_channels() -> list[str]:
    """The channels whose customer waits at the store for the order (ChannelPolicy.customer_waits_at_store)."""
    return [value for value in Channel.values if policy(value).customer_waits_at_store]


def in_store_wait(*, stores, start: dt.date, end: dt.date) -> dict:
    """created_at -> ready_at (seconds) of orders placed in the range on in_store_channels() that reached
    READY: how long a customer at the counter, kiosk or drive-thru waits for their order.

    {"overall": DurationStats, "by_channel": {channel: DurationStats}} from one sorted column of waits.
    """
    overall, by_channel = [], defaultdict(list)
    for channel, wait in (
            Order.objects.filter(_placed_in_range(stores, start, end), channel__in=in_store_channels(),
                                 ready_at__isnull=False)
            .annotate(wait=ExpressionWrapper(F("ready_at") - F("created_at"), output_field=DurationField()))
            .order_by("wait").values_list("channel", "wait")):
        seconds = _seconds(wait)
        overall.append(seconds)
        by_channel[channel].append(seconds)
    return {"overall": _stats(overall), "by_channel": {key: _stats(by_channel[key]) for key in sorted(by_channel)}}


# --- f) Loyalty (issue 28) -------------------------------------------------------------------------------------

def chain_currency() -> str:
    """The currency loyalty amounts (a reward's "takes off up to") are in: rewards are the chain's and have no
    currency of their own, so the stores' (the first store's, should a chain sell in more than one)."""
    return Store.objects.order_by("pk").values_list("currency", flat=True).first() or "USD"


def star_value() -> dict | None:
    """What one star is worth, from the cheapest active non-birthday reward of the active program:
    {"reward", "max_value_minor", "stars_cost"} (a star = max_value_minor / stars_cost), or None when
    no such reward is on offer. One query."""
    active = LoyaltyProgram.objects.filter(is_active=True).order_by("-created_at", "-id").values("pk")[:1]
    return (Reward.objects.filter(program=Subquery(active), is_active=True, is_birthday=False, stars_cost__gt=0)
            .order_by("stars_cost", "id").values("name", "max_value_minor", "stars_cost").first())


def loyalty_figures(*, stores, start: dt.date, end: dt.date) -> dict:
    """Members and stars of the stores' local days, and what the chain owes its members. Five queries.

    by_channel: [{channel, orders, member_orders, share}] of sold orders; members: how many members ordered;
    earned / reversed / redeemed / given_back: stars of ledger rows written in the range about the stores'
    orders (earned at pickup, taken back by refunds, spent on rewards, given back by cancels), all positive;
    by_day: [{day, earned, reversed, redeemed, given_back, members}] for every local day of the range (quiet
    days as zeros), each row's day the store-local day the ledger row was written or the member's order placed;
    the stars of the range are the sums of these days, so the card and its chart cannot disagree. members of a
    day: distinct members with a sold order that day (across the stores), so the days do not add up to
    `members`, which counts each member once over the whole range.
    outstanding: every member's stars, chain-wide (a member's stars are spendable in any store);
    star: star_value(); liability_minor: outstanding x a star's value, rounded to the minor unit (None
    without a reward to value stars by)."""
    stores = list(stores)
    sold = Order.objects.filter(_placed_in_range(stores, start, end), status__in=SOLD_STATUSES)
    by_channel = list(sold.values("channel").annotate(orders=Count("pk"),
                                                      member_orders=Count("pk", filter=Q(customer__isnull=False)))
                      .order_by("channel"))
    for row in by_channel:
        row["share"] = row["member_orders"] / row["orders"] if row["orders"] else None
    by_members = sold.filter(customer__isnull=False)
    members = by_members.aggregate(n=Count("customer", distinct=True))["n"]
    members_by_day = dict(by_members.annotate(day=_local_day(stores, start, end)).values("day")
                          .annotate(n=Count("customer", distinct=True)).order_by().values_list("day", "n"))
    kinds = {"earned": LoyaltyEntry.EARN, "reversed": LoyaltyEntry.EARN_REVERSED, "redeemed": LoyaltyEntry.REDEEM,
             "given_back": LoyaltyEntry.REDEEM_REVERSED}
    # The whole ledger in one grouped query: rows of the range by their local day, every other row under
    # day NULL, where only the balance (outstanding) is read.
    ledger = (LoyaltyEntry.objects
              .annotate(day=_local_day(stores, start, end, store_field="order__store_id")).values("day")
              .annotate(outstanding=Sum("stars", filter=Q(member__isnull=False)),
                        **{name: Sum("stars", filter=Q(kind=kind)) for name, kind in kinds.items()})
              .order_by())
    stars_by_day, outstanding = {}, 0
    for row in ledger:
        outstanding += row["outstanding"] or 0
        if row["day"] is not None:
            stars_by_day[row["day"]] = {name: abs(row[name] or 0) for name in kinds}
    by_day = [{"day": day, **stars_by_day.get(day, dict.fromkeys(kinds, 0)), "members": members_by_day.get(day, 0)}
              for day in _days(start, end)]
    figures = {name: sum(row[name] for row in by_day) for name in kinds}
    value = star_value()
    liability = round(outstanding * value["max_value_minor"] / value["stars_cost"]) if value else None
    return {"by_channel": by_channel, "members": members, **figures, "by_day": by_day, "outstanding": outstanding,
            "star": value, "liability_minor": liability}


# --- Everything at once ------------------------------------------------------------------------------------

@dataclass
class DashboardFigures:
    start: dt.date
    end: dt.date
    sales_by_channel: list = field(default_factory=list)
    sales_by_bucket: list = field(default_factory=list)
    promise: dict = field(default_factory=dict)
    stations: list = field(default_factory=list)
    items: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    late_now: int = 0
    shelf: DurationStats = field(default_factory=DurationStats)
    slot_load: list = field(default_factory=list)
    in_store_wait: dict = field(default_factory=dict)
    eighty_six: list = field(default_factory=list)
    loyalty: dict = field(default_factory=dict)


def dashboard_figures(*, stores, start: dt.date, end: dt.date, now: dt.datetime | None = None) -> DashboardFigures:
    stores = list(stores)
    now = now or timezone.now()
    return DashboardFigures(
        start=start, end=end,
        sales_by_channel=sales_by_channel(stores=stores, start=start, end=end),
        sales_by_bucket=sales_by_bucket(stores=stores, start=start, end=end),
        promise=promise_accuracy(stores=stores, start=start, end=end),
        stations=ticket_times_by_station(stores=stores, start=start, end=end),
        items=ticket_times_by_item(stores=stores, start=start, end=end),
        counts=order_counts(stores=stores, start=start, end=end),
        late_now=late_orders_now(stores=stores, now=now),
        shelf=shelf_times(stores=stores, start=start, end=end),
        slot_load=slot_load(stores=stores, start=start, end=end),
        in_store_wait=in_store_wait(stores=stores, start=start, end=end),
        eighty_six=eighty_six_periods(stores=stores, now=now,
                                      bounds={store.pk: local_day_bounds(store, start, end) for store in stores}),
        loyalty=loyalty_figures(stores=stores, start=start, end=end))


def orders_for_export(*, stores, start: dt.date, end: dt.date) -> QuerySet:
    """The orders of the range as plain value rows for the CSV export (no model instances)."""
    return (Order.objects.filter(_placed_in_range(list(stores), start, end)).order_by("created_at", "pk")
            .values_list("pk", "store__name", "channel", "status", "currency", "subtotal_minor", "tax_minor",
                         "total_minor", "created_at", "promised_ready_at", "ready_at", "picked_up_at",
                         "cancelled_at"))
