"""Input and output shapes of the ordering API.

Inputs only carry what a client may choose (items, quantities, modifiers, pickup); everything the
server owns (status, prices, totals, promised time) exists only on the output serializers.
"""

from django.contrib.auth import get_user_model
from django.core.validators import RegexValidator
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fulfilment.channels import staff_channel_choices
from fulfilment.models import Order, OrderEvent, OrderLine, OrderStatus
from fulfilment.presenters import payment_summary
from fulfilment.services import LineRequest
from fulfilment.services.pickup import pickup_code, pickup_token
from fulfilment.services.pickup_rules import fulfilment_settings_for
from fulfilment.services.pricing import order_tax_rule
from stores.serializers import StoreOut, TaxOut


class CartLineIn(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=99)
    modifiers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
                                      required=False, default=list, max_length=20)


@extend_schema_field({"type": "string", "example": "asap",
                      "description": '"asap", or an ISO 8601 pickup time (with an offset, or in the store\'s local time)'})
class PickupField(serializers.Field):
    """"asap" becomes None; an ISO 8601 date-time becomes a datetime (naive means store-local time)."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or len(data) > 64:
            raise serializers.ValidationError('Use "asap" or an ISO 8601 time such as 2026-11-23T08:15:00-08:00.')
        text = data.strip()
        if text.lower() == "asap":
            return None
        try:
            when = parse_datetime(text)
        except ValueError:
            when = None
        if when is None:
            raise serializers.ValidationError('Use "asap" or an ISO 8601 time such as 2026-11-23T08:15:00-08:00.')
        return when

    def to_representation(self, value):
        return value.isoformat() if value else "asap"


class CartIn(serializers.Serializer):
    items = CartLineIn(many=True, allow_empty=False, max_length=50)
    pickup = PickupField(default=None)

    def lines(self) -> list[LineRequest]:
        return [LineRequest(item_id=i["item"], quantity=i["quantity"], option_ids=tuple(i["modifiers"]))
                for i in self.validated_data["items"]]


def reward_field(**kwargs):
    """The reward a member spends stars on (issue 28): its id, or null for none."""
    return serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=2**31 - 1,
                                    **kwargs)


class QuoteIn(CartIn):
    reward = reward_field(help_text="A reward to price the cart with (signed in): the quote shows its discount "
                                    "line and the totals after it, or why it cannot be used")
    day = serializers.DateField(
        required=False, allow_null=True, default=None,
        error_messages={"invalid": 'Use a date such as 2026-12-07 (YYYY-MM-DD), in the store\'s calendar.'},
        help_text="The day to list pickup slots for (YYYY-MM-DD, the store's calendar), from today to today + "
                  "the store's max_days_ahead. Default: the pickup's day, else today when anything is on offer "
                  "today, else the first day with a free slot.")


class OrderIn(CartIn):
    store = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    customer_name = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    payment_method = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_]*$", "Not a payment method id (like pm_1Nx...).")],
        help_text="Stripe PaymentMethod id (from the Payment Element, or a test one such as pm_card_visa): the "
                  "card is authorised at once. Without it, confirm the payment with the client secret from "
                  "GET /api/orders/{id}/payment/.")


    fire_on_arrival = serializers.BooleanField(
        required=False, default=False,
        help_text='"Make it when I arrive": the kitchen starts it when you say you are on your way or here '
                  "(POST /api/orders/{id}/arrival/). Only where the store offers it (`offers_fire_on_arrival`).")
    reward = reward_field(help_text="A reward of yours to spend stars on (one of the quote's `rewards`): a "
                                    "discount line before tax; 409 not_enough_stars when you have too few")


class ArrivalIn(serializers.Serializer):
    here = serializers.BooleanField(required=False, default=False, help_text='"I\'m here"')
    eta_minutes = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0, max_value=60,
                                           help_text='"On my way": minutes until you arrive, 0 to 60')

    def validate(self, attrs):
        if attrs["here"] == (attrs["eta_minutes"] is not None):
            raise serializers.ValidationError('Send either {"here": true} or {"eta_minutes": N}.')
        return attrs


class StaffOrderIn(CartIn):
    channel = serializers.ChoiceField(choices=staff_channel_choices())
    customer_name = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    reward = reward_field(help_text="A reward the member being served spends stars on (needs the member)")
    member = serializers.CharField(
        max_length=512, required=False, default="", allow_blank=True,
        help_text="The serving token from POST /api/stores/{id}/members/identify/: the order becomes that "
                  "member's (it earns stars at pickup and shows in their app's history)")
    pay_when_collected = serializers.BooleanField(
        required=False, default=False,
        help_text="Paid when handed over (the drive-thru window, or a counter order paid when ready), not now: "
                  "the kitchen starts at once; the order cannot be picked up until POST .../paid/, and a member "
                  "can be added to it until then. Counter, kiosk and drive-thru only")


class StaffOrderMemberIn(serializers.Serializer):
    member = serializers.CharField(
        max_length=512, help_text="The serving token from POST /api/stores/{id}/members/identify/")
    reward = reward_field(help_text="A reward the member spends stars on, on this order (before it is paid)")


class SlotOut(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    taken = serializers.IntegerField()
    available = serializers.BooleanField()
    reason = serializers.CharField(help_text='Why not offered: "too soon", "full", "kitchen full" or "paused" (mobile ordering); '
                                               'empty when available')
    ready_at = serializers.DateTimeField(
        help_text="The ready time promised when the order is booked in this slot: its start, or a later "
                  "time inside it when the orders already booked for the slot would have this one made early")
    window_start = serializers.DateTimeField(
        allow_null=True, help_text='The window promised with ready_at ("ready 8:12-8:15", where about 90% of '
                                   "orders are ready; whole minutes); null for a slot the kitchen has not judged")
    window_end = serializers.DateTimeField(allow_null=True)

    def to_representation(self, slot):
        # A day lists up to 288 slots: written directly, in DRF's own ISO 8601 format for date-times (the
        # current time zone, "Z" for UTC), instead of through the per-field machinery that was most of a
        # quote's serialising time.
        if not hasattr(self, "_zone"):  # one look-up for the whole list (this child serves every slot)
            self._zone = timezone.get_current_timezone()
        zone = self._zone
        return {"starts_at": _iso(slot.starts_at, zone), "ends_at": _iso(slot.ends_at, zone),
                "capacity": slot.capacity, "taken": slot.taken, "available": slot.available, "reason": slot.reason,
                "ready_at": _iso(slot.ready_at, zone),
                "window_start": _iso(slot.window_start, zone) if slot.window_start else None,
                "window_end": _iso(slot.window_end, zone) if slot.window_end else None}


def _iso(value, zone) -> str:
    """A date-time as serializers.DateTimeField writes it with the default settings."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ModifierSnapshotOut(serializers.Serializer):
    group = serializers.CharField()
    option = serializers.CharField()
    option_id = serializers.IntegerField()
    price_delta_minor = serializers.IntegerField()


class QuoteLineOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the line in the request's items")
    item = serializers.IntegerField()
    item_name = serializers.CharField()
    quantity = serializers.IntegerField()
    modifiers = ModifierSnapshotOut(
        many=True, help_text="The options the line is priced with, the defaults the server filled in included")
    unit_price_minor = serializers.IntegerField()
    line_total_minor = serializers.IntegerField()


class DayOut(serializers.Serializer):
    date = serializers.DateField(help_text="In the store's calendar")
    label = serializers.CharField(help_text='"Today", "Tomorrow" or e.g. "Tue 8 Dec"')
    open = serializers.BooleanField(help_text="The store opens that day")
    opens_at = serializers.DateTimeField(allow_null=True)
    closes_at = serializers.DateTimeField(allow_null=True)
    has_available_slots = serializers.BooleanField()


class DiscountOut(serializers.Serializer):
    label = serializers.CharField(help_text='What the receipt says, e.g. "Free drink"')
    amount_minor = serializers.IntegerField(help_text="Taken off before tax")


class QuoteDiscountOut(DiscountOut):
    reward = serializers.IntegerField()
    line_index = serializers.IntegerField(help_text="The line of the request's items it takes one unit off")


class RewardOfferOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    stars_cost = serializers.IntegerField()
    is_birthday = serializers.BooleanField()
    discount_minor = serializers.IntegerField(help_text="What it would take off this cart, before tax")
    line_index = serializers.IntegerField(help_text="The line it would take one unit off")
    total_minor = serializers.IntegerField(help_text="What the order would cost with it, tax included")
    below_card_minimum = serializers.BooleanField(
        help_text="It would leave less to pay than a card can be charged (0.50 in USD): add to the order to use it")


class QuoteOut(serializers.Serializer):
    quoted_at = serializers.DateTimeField(source="now")
    asap_ready_at = serializers.DateTimeField(allow_null=True)
    asap_window_start = serializers.DateTimeField(
        allow_null=True, help_text='The window promised with asap_ready_at ("ready 8:12-8:15", where about 90% '
                                   "of orders are ready; whole minutes)")
    asap_window_end = serializers.DateTimeField(allow_null=True)
    asap_available = serializers.SerializerMethodField()
    asap_reason = serializers.CharField(help_text="Why ASAP is not offered; empty when it is")
    requested_ready_at = serializers.DateTimeField(allow_null=True, required=False)
    requested_window_start = serializers.DateTimeField(allow_null=True, required=False)
    requested_window_end = serializers.DateTimeField(allow_null=True, required=False)
    lines = QuoteLineOut(many=True)
    subtotal_minor = serializers.IntegerField()
    tax_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField(help_text="What placing the order charges: subtotal plus tax when "
                                                     "prices exclude it, the subtotal when they include it")
    currency = serializers.CharField()
    tax = TaxOut()
    days = DayOut(many=True, help_text="Every day from today to today + the store's max_days_ahead")
    day = serializers.DateField(help_text='The day "slots" are for')
    slots = SlotOut(many=True)
    next_available_at = serializers.DateTimeField(
        allow_null=True, help_text="The earlier of the ASAP ready time and the first free slot of any day")
    offers_fire_on_arrival = serializers.BooleanField(
        help_text='The store offers "make it when I arrive" (place the order with `fire_on_arrival`)')
    discount_minor = serializers.IntegerField(help_text="The chosen reward (`reward`), off before tax")
    discounts = QuoteDiscountOut(many=True)
    rewards = RewardOfferOut(many=True, help_text="Rewards the signed-in member can use on this cart now")

    def get_asap_available(self, quote) -> bool:
        return quote.asap_ready_at is not None


class OrderLineOut(serializers.ModelSerializer):
    station = serializers.CharField(source="station.name")

    class Meta:
        model = OrderLine
        fields = ["id", "item", "item_name", "quantity", "modifiers", "unit_price_minor", "line_total_minor",
                  "station", "planned_start_at", "planned_finish_at"]
        read_only_fields = fields


class OrderEventOut(serializers.ModelSerializer):
    # Blank where there is no state to name (no from_status on the "created" event), so the schema says so.
    from_status = serializers.ChoiceField(choices=OrderStatus.choices, allow_blank=True, read_only=True)
    to_status = serializers.ChoiceField(choices=OrderStatus.choices, allow_blank=True, read_only=True)

    class Meta:
        model = OrderEvent
        fields = ["kind", "from_status", "to_status", "at"]
        read_only_fields = fields


class PaymentSummaryOut(serializers.Serializer):
    provider = serializers.CharField(help_text='"stripe", "demo" (no card is charged) or "in_store" (paid at the till)')
    demo = serializers.BooleanField(help_text="True when the demo provider took this payment: no card was charged")
    status = serializers.CharField(help_text="pending, authorised, captured, cancelled, failed, paid_in_store, "
                                                "due_in_store (to be paid at the till when collected), or "
                                                "nothing_to_pay (a reward covered the order)")
    status_label = serializers.CharField()
    amount_minor = serializers.IntegerField(help_text="Authorised (held) amount")
    captured_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    currency = serializers.CharField()
    requires_action = serializers.BooleanField(help_text="The customer must complete a step (e.g. 3-D Secure)")
    message = serializers.CharField()


class PickupOut(serializers.Serializer):
    code = serializers.CharField(help_text="Short code to read out at the counter, with the customer's name")
    qr_png = serializers.CharField(help_text="URL of the QR code (PNG) holding the signed pickup token")
    qr_svg = serializers.CharField()
    valid_until = serializers.DateTimeField(help_text="End of the store's day")


class OrderOut(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name")
    store_timezone = serializers.CharField(source="store.timezone")
    status_label = serializers.CharField(source="get_status_display")
    lines = OrderLineOut(many=True, read_only=True)
    events = OrderEventOut(many=True, read_only=True)
    store_address = serializers.CharField(source="store.address")
    payment = serializers.SerializerMethodField()
    pickup = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()
    item_count = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    discounts = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["id", "store", "store_name", "store_timezone", "store_address", "channel", "status", "status_label",
                  "customer_name", "pickup_kind", "requested_pickup_at", "slot_starts_at", "promised_ready_at",
                  "promised_window_start", "promised_window_end",
                  "subtotal_minor", "discount_minor", "discounts", "tax_minor", "total_minor", "currency", "tax", "item_count", "summary", "lines",
                  "events", "created_at", "updated_at", "cancel_reason", "payment", "pickup",
                  "fire_on_arrival", "customer_eta_at", "arrived_at"]
        read_only_fields = fields

    @extend_schema_field(TaxOut)
    def get_tax(self, order: Order) -> dict:
        """The tax rule the order was charged under (its snapshot), not the store's current one."""
        return TaxOut(order_tax_rule(order)).data

    @extend_schema_field(DiscountOut(many=True))
    def get_discounts(self, order: Order) -> list[dict]:
        """The receipt's discount lines (rewards), before tax. Read only for an order that has one."""
        if not order.discount_minor:
            return []
        return [{"label": d.label, "amount_minor": d.amount_minor} for d in order.discounts.order_by("id")]

    def get_item_count(self, order: Order) -> int:
        return sum(line.quantity for line in order.lines.all())

    def get_summary(self, order: Order) -> str:
        """The lines in a few words: "2 × Latte, Croissant"."""
        return ", ".join(line.item_name if line.quantity == 1 else f"{line.quantity} × {line.item_name}"
                         for line in order.lines.all())

    @extend_schema_field(PaymentSummaryOut)
    def get_payment(self, order: Order) -> dict:
        return payment_summary(order)

    @extend_schema_field(PickupOut(allow_null=True))
    def get_pickup(self, order: Order) -> dict | None:
        """The codes to show at the shelf, once the order is ready."""
        if order.status != OrderStatus.READY:
            return None
        _, valid_until = pickup_token(order=order)
        return {"code": pickup_code(order=order),
                "qr_png": reverse("order-qr-png", kwargs={"order_id": order.pk}),
                "qr_svg": reverse("order-qr-svg", kwargs={"order_id": order.pk}),
                "valid_until": valid_until}


class StaffOrderOut(OrderOut):
    """An order as its store's staff see it: with the short pickup code from the moment it is placed, which the
    till tells the customer and the kitchen ticket shows. The customer's own OrderOut gives the code in `pickup`
    only once the order is ready."""

    pickup_code = serializers.SerializerMethodField(
        help_text="The short code on the kitchen ticket and the shelf, read out with the customer's name")
    has_member = serializers.SerializerMethodField(
        help_text="A member's order (who, staff see only while serving them)")

    class Meta(OrderOut.Meta):
        fields = [*OrderOut.Meta.fields, "pickup_code", "has_member"]
        read_only_fields = fields

    def get_has_member(self, order: Order) -> bool:
        return order.customer_id is not None

    def get_pickup_code(self, order: Order) -> str:
        return pickup_code(order=order)


class OrderPaymentOut(PaymentSummaryOut):
    """The payment as its customer's browser needs it to confirm the card with Stripe's Payment Element."""

    order = serializers.IntegerField()
    client_secret = serializers.CharField(help_text="Only while the payment waits for the customer")
    publishable_key = serializers.CharField()


class HandoffIn(serializers.Serializer):
    token = serializers.CharField(max_length=512, required=False, default="", allow_blank=True,
                                  help_text="What the scanner read from the customer's QR code")
    code = serializers.CharField(max_length=12, required=False, default="", allow_blank=True,
                                 help_text="The short code the customer reads out")
    name = serializers.CharField(max_length=80, required=False, default="", allow_blank=True,
                                 help_text="The customer's name (with the short code)")

    def validate(self, data):
        if bool(data["token"].strip()) == bool(data["code"].strip()):
            raise serializers.ValidationError("Give either the scanned token or the short code, not both.")
        if data["code"].strip() and not data["name"].strip():
            raise serializers.ValidationError({"name": "The customer's name is needed with the short code."})
        return data


def _username_max_length() -> int:
    User = get_user_model()
    return User._meta.get_field(User.USERNAME_FIELD).max_length


class RegisterIn(serializers.Serializer):
    # Which characters are allowed is the User model's rule, checked by customer_register.
    username = serializers.CharField(min_length=3, max_length=_username_max_length())
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)


class LoginIn(serializers.Serializer):
    username = serializers.CharField(max_length=_username_max_length())
    password = serializers.CharField(max_length=128, write_only=True)


class TokenOut(serializers.Serializer):
    token = serializers.CharField()
    username = serializers.CharField()



class StoreCardOut(StoreOut):
    """A store as the customer app lists it: the store, and how long an ASAP drink takes there now."""

    asap_wait_minutes = serializers.SerializerMethodField()

    offers_fire_on_arrival = serializers.SerializerMethodField()

    class Meta(StoreOut.Meta):
        fields = [*StoreOut.Meta.fields, "asap_wait_minutes", "offers_fire_on_arrival"]
        read_only_fields = fields

    def get_offers_fire_on_arrival(self, store) -> bool:
        """Checkout may offer "make it when I arrive" (the store's StoreFulfilmentSettings)."""
        return fulfilment_settings_for(store=store).offers_fire_on_arrival

    def get_asap_wait_minutes(self, store) -> int | None:
        """Minutes until an ASAP order of one typical drink would be ready (the scheduler's quote, at most
        30 s old); null while the store is closed or paused."""
        return self.context.get("asap_waits", {}).get(store.pk)
