"""Orders, their lines and their history. Only fulfilment services write these rows."""

from django.conf import settings
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


# States in which an order still holds stock, a slot and a place in the kitchen queue.
OPEN_STATUSES = (OrderStatus.PENDING_PAYMENT, OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS, OrderStatus.READY)
# States whose items the kitchen still has to make.
KITCHEN_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.IN_PROGRESS)


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
    estimated_ready_at = models.DateTimeField(null=True, blank=True,
                                              help_text="When the current kitchen plan expects it ready.")

    subtotal_minor = models.PositiveIntegerField()
    total_minor = models.PositiveIntegerField()
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
        indexes = [models.Index(fields=["store", "status"])]

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
    KINDS = [(CREATED, "Created"), (STATUS_CHANGED, "Status changed"), (READY_TIME_CHANGED, "Ready time changed")]

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
