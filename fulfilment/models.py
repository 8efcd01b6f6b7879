"""Orders, their lines and their history. Only fulfilment services write these rows."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from stores.models import MenuItem, Station, Store


class Channel(models.TextChoices):
    MOBILE = "mobile", "Mobile app"
    COUNTER = "counter", "Counter"
    KIOSK = "kiosk", "Kiosk"
    DRIVE_THRU = "drive_thru", "Drive-thru"
    DELIVERY = "delivery", "Delivery"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Awaiting payment"
    CONFIRMED = "confirmed", "Confirmed"
    IN_PROGRESS = "in_progress", "Being made"
    READY = "ready", "Ready for pickup"
    PICKED_UP = "picked_up", "Picked up"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "Not collected"


# The status sets, defined here once; every other module imports them (the moves between the states
# are in fulfilment.services.lifecycle).
# States in which an order still holds stock, a slot and a place in the kitchen queue.
OPEN_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS, OrderStatus.READY)
# States whose items the kitchen still has to make.
KITCHEN_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)
# States the kitchen plan places: being made, or awaiting payment (the plan holds their place).
PLAN_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)
# Paid and not handed over yet: the kitchen screens show these, and the customer has a pickup code to show.
PAID_OPEN_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS, OrderStatus.READY)
# States an order never leaves.
FINISHED_STATUSES = (OrderStatus.PICKED_UP, OrderStatus.NO_SHOW, OrderStatus.CANCELLED)
# Orders that count as sold (the dashboard's sales): paid and not cancelled. A no-show stays a sale (the
# store made it and, by policy, may capture the payment); awaiting payment is not one yet.
SOLD_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS, OrderStatus.READY, OrderStatus.PICKED_UP,
                 OrderStatus.NO_SHOW)
# A customer may cancel until the kitchen starts on the order.
CUSTOMER_CANCELLABLE_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED)


class PickupKind(models.TextChoices):
    ASAP = "asap", "As soon as possible"
    SCHEDULED = "scheduled", "Scheduled slot"


class Order(models.Model):
    store = models.ForeignKey(Store, related_name="orders", on_delete=models.PROTECT)
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="orders", null=True, blank=True,
                                 on_delete=models.PROTECT)
    customer_name = models.CharField(max_length=80, blank=True, help_text="Called out at handoff.")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, db_index=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="orders_placed_as_staff", null=True,
                                  blank=True, on_delete=models.PROTECT, help_text="Staff member for in-store orders.")

    pickup_kind = models.CharField(max_length=10, choices=PickupKind.choices)
    requested_pickup_at = models.DateTimeField(null=True, blank=True)
    slot_starts_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                          help_text="Pickup slot the order counts against (mobile orders).")
    promised_ready_at = models.DateTimeField(null=True, blank=True, help_text="What the customer was promised.")
    # The promised window ("ready 8:12-8:15"): where about 90% of orders are ready (core_native's
    # promise_window). Set when the order is placed, like promised_ready_at, and never moved by a re-plan:
    # the promise is a promise. None: placed before windows were promised.
    promised_window_start = models.DateTimeField(null=True, blank=True)
    promised_window_end = models.DateTimeField(null=True, blank=True)
    estimated_ready_at = models.DateTimeField(null=True, blank=True,
                                              help_text="When the current kitchen plan expects it ready.")
    # The store's held kitchen plan: the order's place in the sequence of the last plan (set from the
    # quote when placed, rewritten by every re-plan); the next plan starts from it and breaks no promise
    # it keeps. None: not in it (placed outside the plan's look-ahead); it then joins the end, by due.
    plan_rank = models.FloatField(null=True, blank=True, editable=False,
                                  help_text="Place in the store's held kitchen plan.")
    # Fire by arrival (issue 27): the customer chose "make it when I arrive" at checkout (offered where the
    # store's StoreFulfilmentSettings allows it). The kitchen holds it until the customer says when they come
    # (customer_eta_at, "on my way, N minutes") or that they are here (arrived_at); see services/arrival.py.
    fire_on_arrival = models.BooleanField(default=False, help_text="Made when the customer says they are coming.")
    customer_eta_at = models.DateTimeField(null=True, blank=True, help_text="When the customer said they arrive.")
    arrived_at = models.DateTimeField(null=True, blank=True, help_text="When the customer said they are here.")
    # Paid when handed over (issue 28): a drive-thru order taken at the speaker and paid at the window, or a
    # counter order the customer pays for when it is ready. The kitchen makes it at once (it is confirmed);
    # until the till takes the money it cannot be handed over, and a member can still be added to it.
    awaiting_till_payment = models.BooleanField(
        default=False, help_text="Placed to be paid at the window or counter when collected; not paid yet.")

    subtotal_minor = models.PositiveIntegerField(help_text="Sum of the lines at menu prices.")
    discount_minor = models.PositiveIntegerField(
        default=0, help_text="Rewards taken off the subtotal (OrderDiscount rows); tax is worked out after it.")
    # The store's tax rule when the order was placed (a receipt keeps the rate it was charged at).
    tax_minor = models.PositiveIntegerField(default=0, help_text="Tax of the whole order, rounded once.")
    tax_rate_percent = models.DecimalField(max_digits=6, decimal_places=3, default=0)
    prices_include_tax = models.BooleanField(default=False)
    tax_label = models.CharField(max_length=30, blank=True)
    total_minor = models.PositiveIntegerField(help_text="What the customer pays: the subtotal, plus tax "
                                                        "when prices exclude it.")
    currency = models.CharField(max_length=3)

    # Idempotency: the same key from the same client returns the same order.
    idempotency_scope = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_scope", "idempotency_key"],
                                    condition=models.Q(idempotency_key__isnull=False),
                                    name="order_unique_idempotency_key"),
        ]
        # (store, created_at): the dashboard reads a store's orders by the day they were placed.
        indexes = [models.Index(fields=["store", "status"]), models.Index(fields=["store", "created_at"])]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.get_status_display()})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, related_name="lines", on_delete=models.CASCADE)
    item = models.ForeignKey(MenuItem, related_name="order_lines", on_delete=models.PROTECT)
    # Snapshots: the order keeps what was sold at what price even if the menu changes later.
    item_name = models.CharField(max_length=120)
    quantity = models.PositiveSmallIntegerField()
    modifiers = models.JSONField(default=list, blank=True,
                                 help_text='[{"group": "Milk", "option": "Oat", "option_id": 3, "price_delta_minor": 60}]')
    unit_price_minor = models.PositiveIntegerField(help_text="Item price plus modifiers, per unit.")
    line_total_minor = models.PositiveIntegerField()
    prep_seconds = models.PositiveIntegerField(help_text="Expected prep time of one unit, modifiers included.")
    prep_sd_seconds = models.PositiveIntegerField(default=0)

    # The scheduler's plan for this line (set by fulfilment.services.scheduling).
    station = models.ForeignKey(Station, related_name="order_lines", on_delete=models.PROTECT)
    planned_lane = models.SmallIntegerField(null=True, blank=True)
    planned_start_at = models.DateTimeField(null=True, blank=True)
    planned_finish_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.item_name}"


class OrderEvent(models.Model):
    """The history of an order: every transition, who made it and when. Never updated, only added."""

    CREATED, STATUS_CHANGED, READY_TIME_CHANGED = "created", "status_changed", "ready_time_changed"
    ARRIVAL = "arrival"  # the customer said "on my way, N minutes" or "I'm here"; data: eta / here
    # Issue 28: a member added to an order before it was paid (data: member); the till took the payment of an
    # order placed to be paid when collected.
    MEMBER_ADDED, PAID_AT_TILL = "member_added", "paid_at_till"
    KINDS = [(CREATED, "Created"), (STATUS_CHANGED, "Status changed"), (READY_TIME_CHANGED, "Ready time changed"),
             (ARRIVAL, "Customer arrival"), (MEMBER_ADDED, "Member added"), (PAID_AT_TILL, "Paid at the till")]

    order = models.ForeignKey(Order, related_name="events", on_delete=models.CASCADE)
    kind = models.CharField(max_length=30, choices=KINDS)
    from_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=OrderStatus.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"


# --- Payments and pickup (issue 5) -------------------------------------------------------------------------
# Only fulfilment.services.payments and fulfilment.services.pickup write these rows. Amounts are integer
# minor units of the payment's currency, like the order's.

class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    AUTHORISED = "authorised", "Authorised (held on the card)"
    CAPTURED = "captured", "Captured (charged)"
    CANCELLED = "cancelled", "Released (not charged)"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """The card payment of one mobile order: one PaymentIntent with manual capture at the provider.

    Authorised when the order is placed, captured at handoff (or at a no-show, by store policy),
    released when the order is cancelled before capture, refunded (in whole or by lines) after.
    """

    DEMO, STRIPE = "demo", "stripe"
    PROVIDERS = [(DEMO, "Demo (no card is charged)"), (STRIPE, "Stripe")]

    order = models.OneToOneField(Order, related_name="payment", on_delete=models.PROTECT)
    provider = models.CharField(max_length=20, choices=PROVIDERS)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING,
                              db_index=True)
    intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True,
                                 help_text="The provider's PaymentIntent id.")
    intent_status = models.CharField(max_length=40, blank=True, help_text="The intent's status at the provider.")
    client_secret = models.CharField(max_length=255, blank=True,
                                     help_text="Lets the customer's browser confirm the intent (Payment Element).")
    payment_method = models.CharField(max_length=255, blank=True,
                                      help_text="Payment method given at placement; a retry sends the same one.")
    amount_minor = models.PositiveIntegerField(help_text="Authorised (held) amount.")
    currency = models.CharField(max_length=3)
    captured_minor = models.PositiveIntegerField(default=0)
    refunded_minor = models.PositiveIntegerField(default=0)
    authorised_at = models.DateTimeField(null=True, blank=True)
    capture_deadline = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="Never captured after this: the order is cancelled and the hold released before it expires.")
    captured_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    busy_since = models.DateTimeField(null=True, blank=True,
                                      help_text="A capture or release at the provider is in flight since then.")
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(captured_minor__lte=models.F("amount_minor")),
                                   name="payment_captured_at_most_authorised"),
            models.CheckConstraint(condition=models.Q(refunded_minor__lte=models.F("captured_minor")),
                                   name="payment_refunded_at_most_captured"),
        ]

    def __str__(self) -> str:
        return f"Payment of order {self.order_id} ({self.get_status_display()})"

    @property
    def is_demo(self) -> bool:
        return self.provider == self.DEMO


class Refund(models.Model):
    """Money given back after capture: the whole remaining amount, or chosen order lines."""

    PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
    STATUSES = [(PENDING, "Pending"), (SUCCEEDED, "Succeeded"), (FAILED, "Failed")]

    payment = models.ForeignKey(Payment, related_name="refunds", on_delete=models.PROTECT)
    amount_minor = models.PositiveIntegerField()
    lines = models.JSONField(default=list, blank=True,
                             help_text='[{"line": 12, "quantity": 1, "amount_minor": 450}]; empty for a whole refund.')
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=STATUSES, default=PENDING)
    provider_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payment", "created_at", "id"]

    def __str__(self) -> str:
        return f"Refund {self.pk} of order {self.payment.order_id} ({self.status})"


class PaymentWebhookEvent(models.Model):
    """One row per provider event. The unique event id makes each event take effect once, also when
    several workers receive the same delivery at the same moment: the row and the state change it
    causes commit together, and every other copy fails on the constraint."""

    provider = models.CharField(max_length=20, choices=Payment.PROVIDERS)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    order = models.ForeignKey(Order, null=True, blank=True, related_name="payment_webhook_events",
                              on_delete=models.SET_NULL)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


class NoShowAction(models.TextChoices):
    CAPTURE = "capture", "Charge the customer"
    RELEASE = "release", "Release the card hold"


class StorePaymentPolicy(models.Model):
    """A store's payment rules. Kept in fulfilment because the stores app knows nothing of payments;
    a store without a row uses the field defaults (see services.payments.payment_policy_for)."""

    store = models.OneToOneField(Store, related_name="payment_policy", on_delete=models.CASCADE)
    no_show_after_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="An order still on the shelf this long after it was ready (or promised, if later) is a no-show.")
    no_show_action = models.CharField(max_length=10, choices=NoShowAction.choices, default=NoShowAction.CAPTURE,
                                      help_text="What happens to the card hold of a no-show.")

    class Meta:
        verbose_name_plural = "store payment policies"

    def __str__(self) -> str:
        return f"Payment policy of {self.store}"


class StoreFulfilmentSettings(models.Model):
    """A store's pickup rules (issue 27): whether it offers "make it when I arrive", and how long a made
    order may sit on the shelf. Its own model rather than fields on StorePaymentPolicy, which is about the
    card hold (and admin lists it as such), or on stores.Store, which knows nothing of orders. A store
    without a row uses the field defaults (see services.arrival.fulfilment_settings_for)."""

    store = models.OneToOneField(Store, related_name="fulfilment_settings", on_delete=models.CASCADE)
    offers_fire_on_arrival = models.BooleanField(
        default=False, help_text='Offer "make it when I arrive" at checkout: the kitchen starts such an order '
                                 'when the customer says they are on their way or here.')
    shelf_hold_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="A ready order on the shelf longer than this turns red on the expo screen. A make-when-I-arrive "
                  "order whose customer has said nothing this long after its promised time is made anyway.")

    class Meta:
        verbose_name = verbose_name_plural = "store pickup settings"

    def __str__(self) -> str:
        return f"Pickup settings of {self.store}"


# --- Store event outbox (issue 6) ----------------------------------------------------------------------------
# Written only by fulfilment.services.outbox, in the same transaction as the change it describes, with the
# store row locked; kitchen_display relays the rows to the screens after the commit.

class StoreEvent(models.Model):
    """One change a store's screens must see, numbered per store (`seq` 1, 2, 3 ... with no gaps).

    Screens treat every push as a hint and these numbers as the truth: one that sees a gap, or
    reconnects, asks for the rows after the last number it has. Never updated; old rows are pruned
    (the newest row of each store is always kept, so numbering never starts again).
    """

    store = models.ForeignKey(Store, related_name="store_events", on_delete=models.CASCADE)
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=40)
    order = models.ForeignKey(Order, null=True, blank=True, related_name="store_events", on_delete=models.CASCADE,
                              help_text="The order the event is about (empty for re-plans and menu changes).")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["store", "seq"]
        constraints = [models.UniqueConstraint(fields=["store", "seq"], name="store_event_unique_seq")]

    def __str__(self) -> str:
        return f"{self.store_id}#{self.seq} {self.kind}"


# --- The customer's own things: notifications and favourites (issue 25) -----------------------------------

class CustomerProfile(models.Model):
    """What a customer has agreed to. Created on first use; a missing row means no consent to anything."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, related_name="customer_profile", on_delete=models.CASCADE)
    email_when_ready = models.BooleanField(default=False, help_text="Send an email when an order is ready.")
    # Loyalty (issue 28). The phone staff may type at the till instead of scanning the member code: digits
    # only, unique among members who gave one. The birthday (month and day are what count) for the
    # birthday reward. Optional both.
    phone = models.CharField(max_length=20, null=True, blank=True, unique=True,
                             help_text="Digits only; staff can find the member by it at the till.")
    birthday = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class PushSubscription(models.Model):
    """A browser's Web Push subscription (its consent to be told when an order is ready)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="push_subscriptions", on_delete=models.CASCADE)
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"Push subscription {self.pk} of {self.user}"


class OrderNotification(models.Model):
    """One message about one order on one channel. The unique row makes each one go out at most once,
    also when the ready transition's effect runs again (a retry, a replayed event)."""

    EMAIL, PUSH = "email", "push"
    CHANNELS = [(EMAIL, "Email"), (PUSH, "Web Push")]
    SENT, FAILED, SKIPPED = "sent", "failed", "skipped"
    STATUSES = [(SENT, "Sent"), (FAILED, "Failed"), (SKIPPED, "Skipped")]

    order = models.ForeignKey(Order, related_name="notifications", on_delete=models.CASCADE)
    channel = models.CharField(max_length=10, choices=CHANNELS)
    kind = models.CharField(max_length=30, default="ready")
    status = models.CharField(max_length=10, choices=STATUSES)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "channel", "kind"], name="notification_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} for order {self.order_id}: {self.status}"


class Favourite(models.Model):
    """An item the way a customer likes it (modifier option ids), to add to a cart in one tap."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="favourites", on_delete=models.CASCADE)
    item = models.ForeignKey(MenuItem, related_name="favourites", on_delete=models.CASCADE)
    option_ids = models.JSONField(default=list, blank=True, help_text="Chosen modifier option ids.")
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(99)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user}: {self.item.name}"


# --- Loyalty: one customer across channels (issue 28) -------------------------------------------------------
# Written only by fulfilment.services.loyalty (the ledger) and fulfilment.services.members (member codes).

class LoyaltyProgram(models.Model):
    """The chain's loyalty rules, set in admin. The active program is the newest active row (one chain per
    deployment); with none, nobody earns and nothing can be redeemed."""

    PER_AMOUNT, PER_ITEM = "per_amount", "per_item"
    EARN_BASES = [(PER_AMOUNT, "Stars per whole currency unit paid"), (PER_ITEM, "Stars (stamps) per item bought")]

    name = models.CharField(max_length=60, default="Rewards")
    is_active = models.BooleanField(default=True)
    earn_basis = models.CharField(max_length=12, choices=EARN_BASES, default=PER_AMOUNT)
    earn_rate = models.PositiveSmallIntegerField(
        default=2, validators=[MaxValueValidator(1000)],
        help_text="Stars per whole unit of the currency paid (before tax, after rewards), or per item bought.")
    star_expiry_days = models.PositiveSmallIntegerField(
        default=0, help_text="Stars not spent this many days after they were earned expire; 0: never.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Reward(models.Model):
    """What members can spend stars on: one item of the order, taken off up to `max_value_minor` (in the
    order's currency), as a discount line before tax. `items` empty: any item. A birthday reward costs no
    stars and can be used once a year, in the week of the member's birthday."""

    program = models.ForeignKey(LoyaltyProgram, related_name="rewards", on_delete=models.CASCADE)
    name = models.CharField(max_length=60, help_text='What the customer sees, e.g. "Free drink".')
    stars_cost = models.PositiveIntegerField(help_text="Stars it takes (0 for a birthday reward).")
    max_value_minor = models.PositiveIntegerField(help_text="The most it takes off, in minor units (cents).")
    items = models.ManyToManyField(MenuItem, blank=True, related_name="rewards",
                                   help_text="Items it can be used on; none chosen: any item.")
    is_birthday = models.BooleanField(default=False, help_text="Free once a year in the member's birthday week.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["stars_cost", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.stars_cost} stars)"


class LoyaltyEntry(models.Model):
    """One change of a member's stars: the ledger. A balance is the sum of a member's rows, never stored.
    `key` makes each change happen once: a retried request, a replayed webhook or a second run of an
    effect finds its row already there (the unique constraint) and changes nothing."""

    EARN, EARN_REVERSED = "earn", "earn_reversed"
    REDEEM, REDEEM_REVERSED = "redeem", "redeem_reversed"
    EXPIRE, ADJUST, CLOSE = "expire", "adjust", "close"
    KINDS = [(EARN, "Earned"), (EARN_REVERSED, "Earning reversed (refund)"), (REDEEM, "Redeemed"),
             (REDEEM_REVERSED, "Redemption given back (cancelled)"), (EXPIRE, "Expired"),
             (ADJUST, "Adjusted by staff"), (CLOSE, "Account closed")]

    member = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="loyalty_entries", null=True,
                               on_delete=models.SET_NULL, help_text="Empty once the member deleted their account.")
    kind = models.CharField(max_length=20, choices=KINDS)
    stars = models.IntegerField(help_text="Positive: added; negative: taken.")
    order = models.ForeignKey(Order, related_name="loyalty_entries", null=True, blank=True,
                              on_delete=models.PROTECT)
    refund = models.ForeignKey("Refund", related_name="loyalty_entries", null=True, blank=True,
                               on_delete=models.PROTECT)
    reward = models.ForeignKey(Reward, related_name="loyalty_entries", null=True, blank=True,
                               on_delete=models.PROTECT)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="loyalty_entries_made", null=True,
                              blank=True, on_delete=models.SET_NULL, help_text="Who made the change (staff).")
    reason = models.CharField(max_length=200, blank=True)
    key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Earned stars: when they expire.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "loyalty entries"
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.stars:+d}"


class OrderDiscount(models.Model):
    """A reward taken off an order: one unit of `line`, by `amount_minor`, before tax (Order.discount_minor
    is the sum of an order's rows)."""

    order = models.ForeignKey(Order, related_name="discounts", on_delete=models.CASCADE)
    line = models.ForeignKey(OrderLine, related_name="discounts", null=True, blank=True, on_delete=models.CASCADE)
    reward = models.ForeignKey(Reward, related_name="discounts", on_delete=models.PROTECT)
    label = models.CharField(max_length=80)
    amount_minor = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.label} on order {self.order_id}"


class MemberCodeUse(models.Model):
    """A scanned member code: each code (its nonce) is used once, at one store. A second scan of the same
    code (a replay, a screenshot passed on) finds this row and is refused."""

    nonce = models.CharField(max_length=40, unique=True)
    member = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="member_code_uses", on_delete=models.CASCADE)
    store = models.ForeignKey(Store, related_name="member_code_uses", on_delete=models.CASCADE)
    scanned_by = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="member_codes_scanned", null=True,
                                   on_delete=models.SET_NULL)
    order = models.ForeignKey(Order, related_name="member_code_uses", null=True, blank=True,
                              on_delete=models.SET_NULL)
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Member code {self.nonce[:8]} at {self.store_id}"
