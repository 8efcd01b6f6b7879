"""A store's pickup rules (StoreFulfilmentSettings) and how the kitchen plan sees a make-when-I-arrive order.

Kept apart from `arrival` (the service that records what the customer says) because the scheduling bridge
reads these rules on every re-plan and `arrival` itself re-plans: this module imports neither.
"""

import datetime as dt
from dataclasses import dataclass

from fulfilment.models import Order, PickupKind, StoreFulfilmentSettings
from stores.config_cache import store_config_cached
from stores.models import Store


def fulfilment_settings_for(*, store: Store) -> StoreFulfilmentSettings:
    """The store's pickup settings, or the defaults when it has none (an unsaved row); read once per change
    of the store's configuration (stores.config_cache, told by fulfilment.signals)."""
    return store_config_cached(store, "fulfilment_settings",
                               lambda s: StoreFulfilmentSettings.objects.filter(store=s).first()
                               or StoreFulfilmentSettings(store=s))


# The make-when-I-arrive rule's two constants (arrival_timing); core_native.tools.simulate mirrors them.
# A silent customer is expected this long after their promise (the simulator's arrival-firing scenario
# draws walk-ins a mean 2 min after it; aiming later traded on-time for shelf time, docs/SCENARIOS.md).
ARRIVAL_AIM_AFTER_PROMISE = dt.timedelta(seconds=120)
# An "on my way" order is not started earlier than this before the ETA (make time plus the queue of a rush).
ETA_LEAD = dt.timedelta(seconds=300)


@dataclass(frozen=True)
class ArrivalTiming:
    """What the planner is told about one order: due (ready by), made just in time for it or as soon as
    possible, not started before `release_at` (None: any time), and its weight (0: its lateness counts for
    nothing; arrival_timing gives 1 throughout since a silent customer's order is planned for the promise)."""
    due_at: dt.datetime
    just_in_time: bool
    release_at: dt.datetime | None = None
    weight: float = 1.0


def arrival_timing(*, order: Order, now: dt.datetime, hold: dt.timedelta) -> ArrivalTiming:
    """How the kitchen plans `order`.

    An ordinary order: due at its promise, just in time when it is a scheduled pickup. A make-when-I-arrive
    order is planned by what its customer said last:
    - "I'm here": due when they said it and made as soon as possible;
    - "on my way, N minutes": due at that ETA and made as soon as possible, but not started before
      ETA_LEAD ahead of it: a short notice (the usual few minutes, often in a rush) goes straight to the
      queue, where just in time for the ETA came too late; a long one is not made early to sit on the shelf;
    - nothing yet: expected a little after the promise, so made just in time for the promise plus
      ARRIVAL_AIM_AFTER_PROMISE (never beyond the hold limit). It is in the plan and on the screens like a
      scheduled pickup, so it is under way when the customer's "on my way" comes, which holding it off the
      plan until then was not. A customer who has said nothing by the promise plus the store's hold limit is
      taken to have come at the promised time: due then (already past) and made as soon as possible.
    Measured in the simulator (docs/SCENARIOS.md, fire by arrival). core_native.tools.simulate's planner
    (StoreSim._plan_timing) mirrors this rule, with the same two constants: change both together.
    """
    promised = order.promised_ready_at
    scheduled = order.pickup_kind == PickupKind.SCHEDULED
    if not order.fire_on_arrival:
        return ArrivalTiming(due_at=promised, just_in_time=scheduled)
    if order.arrived_at is not None:
        return ArrivalTiming(due_at=order.arrived_at, just_in_time=False)
    if order.customer_eta_at is not None:
        return ArrivalTiming(due_at=order.customer_eta_at, just_in_time=False,
                             release_at=order.customer_eta_at - ETA_LEAD)
    if now >= promised + hold:
        return ArrivalTiming(due_at=promised, just_in_time=False)
    return ArrivalTiming(due_at=promised + min(ARRIVAL_AIM_AFTER_PROMISE, hold), just_in_time=True)


def order_is_held(*, order: Order, now: dt.datetime, hold: dt.timedelta) -> bool:
    """A make-when-I-arrive order waiting for its customer to say when they come (before its hold limit)."""
    return (order.fire_on_arrival and order.arrived_at is None and order.customer_eta_at is None
            and now < order.promised_ready_at + hold)
