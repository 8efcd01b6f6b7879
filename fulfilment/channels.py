"""What each sales channel means to the order's life: one row per channel, read by every check.

A new channel is a value in `fulfilment.models.Channel` (and its migration), a row in `CHANNEL_POLICIES`
and, for its badge colour on the kitchen screens, a `.ch-<value>` rule in
kitchen_display/static/kitchen_display/kds.css. Nothing else compares channel values.

Not in the table, because no channel differs in it: every order gets a pickup short code (shown on the
kitchen ticket), and the QR code belongs to the customer's account (only its signed-in owner can fetch
it), so an order placed by staff has none to show simply because it has no customer.
"""

from dataclasses import dataclass

from fulfilment.models import Channel


@dataclass(frozen=True)
class ChannelPolicy:
    # Paid by card in the app: the order waits for the card hold (pending payment) before the kitchen makes
    # it, the hold must last until the pickup, and the payment is captured at the handoff. Otherwise the
    # order is paid at the till (or by the delivery partner) and enters the queue confirmed.
    paid_in_app: bool
    # A scheduled order takes a place in its pickup slot (Order.slot_starts_at) and is held to the slot's
    # verdict: refused when the slot holds Store.slot_capacity orders already, or when the kitchen is booked
    # around it. Otherwise only its ready time is checked against the kitchen.
    counts_toward_slot_capacity: bool
    # Refused while the store has paused mobile ordering (Store.is_mobile_paused).
    pausable: bool
    # Staff place it for a customer in the store (the staff order API offers it); otherwise the customer
    # places it from their own account.
    placed_by_staff: bool
    # The customer is at the store from placing until the order is ready (in line at the counter or kiosk,
    # in the car at the drive-thru window), so created_at -> ready_at is their wait there: the dashboard's
    # in-store wait. A mobile customer arrives for a promised time; a delivery courier is not the customer.
    customer_waits_at_store: bool
    # The customer may pay when the order is handed over (the drive-thru window; a counter or kiosk order paid
    # when collected): the kitchen starts at once, and a member can be added until the till takes the money.
    may_pay_when_collected: bool
    # CSS class of the channel's badge on kitchen tickets; its colour is in kitchen_display's kds.css.
    badge: str


CHANNEL_POLICIES: dict[str, ChannelPolicy] = {
    Channel.MOBILE: ChannelPolicy(paid_in_app=True, counts_toward_slot_capacity=True, pausable=True,
                                  placed_by_staff=False, customer_waits_at_store=False,
                                  may_pay_when_collected=False, badge="ch-mobile"),
    Channel.COUNTER: ChannelPolicy(paid_in_app=False, counts_toward_slot_capacity=False, pausable=False,
                                   placed_by_staff=True, customer_waits_at_store=True,
                                   may_pay_when_collected=True, badge="ch-counter"),
    Channel.KIOSK: ChannelPolicy(paid_in_app=False, counts_toward_slot_capacity=False, pausable=False,
                                 placed_by_staff=True, customer_waits_at_store=True,
                                 may_pay_when_collected=True, badge="ch-kiosk"),
    Channel.DRIVE_THRU: ChannelPolicy(paid_in_app=False, counts_toward_slot_capacity=False, pausable=False,
                                      placed_by_staff=True, customer_waits_at_store=True,
                                      may_pay_when_collected=True, badge="ch-drive_thru"),
    Channel.DELIVERY: ChannelPolicy(paid_in_app=False, counts_toward_slot_capacity=False, pausable=False,
                                    placed_by_staff=True, customer_waits_at_store=False,
                                    may_pay_when_collected=False, badge="ch-delivery"),
}


def policy(channel: str) -> ChannelPolicy:
    """The policy of a channel value ("mobile" or Channel.MOBILE). KeyError for a value that is no channel:
    callers validate the channel first (order_place answers bad_channel)."""
    return CHANNEL_POLICIES[channel]


def staff_channel_choices() -> list[tuple[str, str]]:
    """The (value, label) choices of the channels staff place orders on."""
    return [(value, label) for value, label in Channel.choices if policy(value).placed_by_staff]
