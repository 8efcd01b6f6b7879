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


@dataclass(frozen=True)
class ArrivalTiming:
    """What the planner is told about one order: due (ready by), made just in time for it or as soon as
    possible, not started before `release_at` (None: any time), and its weight (0: its lateness counts for
    nothing, so a held order never pulls the kitchen's sequence about)."""
    due_at: dt.datetime
    just_in_time: bool
    release_at: dt.datetime | None = None
    weight: float = 1.0


def arrival_timing(*, order: Order, now: dt.datetime, hold: dt.timedelta) -> ArrivalTiming:
    """How the kitchen plans `order`.

    An ordinary order: due at its promise, just in time when it is a scheduled pickup. A make-when-I-arrive
    order is planned by what its customer said last:
    - "I'm here": due when they said it and made as soon as possible;
    - "on my way, N minutes": due at that ETA and made just in time for it (ready as they walk in);
    - nothing yet: held. It may not start before its promised time plus the store's hold limit, and carries
      no weight, so it waits behind everything else without moving it. A customer who has said nothing by
      then is taken to have come at the promised time: from that moment it is due at its promise (already
      past) and made as soon as possible, so a customer who forgot to tap is served, a few minutes late,
      and the order is never left unmade.
    """
    promised = order.promised_ready_at
    scheduled = order.pickup_kind == PickupKind.SCHEDULED
    if not order.fire_on_arrival:
        return ArrivalTiming(due_at=promised, just_in_time=scheduled)
    if order.arrived_at is not None:
        return ArrivalTiming(due_at=order.arrived_at, just_in_time=False)
    if order.customer_eta_at is not None:
        return ArrivalTiming(due_at=order.customer_eta_at, just_in_time=True)
    give_up_at = promised + hold
    if now >= give_up_at:
        return ArrivalTiming(due_at=promised, just_in_time=False)
    return ArrivalTiming(due_at=promised, just_in_time=False, release_at=give_up_at, weight=0.0)


def order_is_held(*, order: Order, now: dt.datetime, hold: dt.timedelta) -> bool:
    """A make-when-I-arrive order waiting for its customer to say when they come."""
    return arrival_timing(order=order, now=now, hold=hold).release_at is not None
