"""Input and output shapes of the ordering API.

Inputs only carry what a client may choose (items, quantities, modifiers, pickup); everything the
server owns (status, prices, totals, promised time) exists only on the output serializers.
"""

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from fulfilment.models import Channel, Order, OrderEvent, OrderLine
from fulfilment.services import LineRequest


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


class OrderIn(CartIn):
    store = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    customer_name = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)


class StaffOrderIn(CartIn):
    channel = serializers.ChoiceField(choices=[c for c in Channel.choices if c[0] != Channel.MOBILE])
    customer_name = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)


class SlotOut(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    taken = serializers.IntegerField()
    available = serializers.BooleanField()
    reason = serializers.CharField(help_text='Why not offered: "too soon" or "full"; empty when available')


class QuoteOut(serializers.Serializer):
    quoted_at = serializers.DateTimeField(source="now")
    asap_ready_at = serializers.DateTimeField(allow_null=True)
    asap_available = serializers.SerializerMethodField()
    asap_reason = serializers.CharField(help_text="Why ASAP is not offered; empty when it is")
    requested_ready_at = serializers.DateTimeField(allow_null=True, required=False)
    subtotal_minor = serializers.IntegerField()
    currency = serializers.CharField()
    slots = SlotOut(many=True)

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
    class Meta:
        model = OrderEvent
        fields = ["kind", "from_status", "to_status", "at"]
        read_only_fields = fields


class OrderOut(serializers.ModelSerializer):
    store_name = serializers.CharField(source="store.name")
    status_label = serializers.CharField(source="get_status_display")
    lines = OrderLineOut(many=True, read_only=True)
    events = OrderEventOut(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "store", "store_name", "channel", "status", "status_label", "customer_name", "pickup_kind",
                  "requested_pickup_at", "slot_starts_at", "promised_ready_at", "subtotal_minor", "total_minor",
                  "currency", "lines", "events", "created_at", "updated_at", "cancel_reason"]
        read_only_fields = fields


class RegisterIn(serializers.Serializer):
    username = serializers.CharField(min_length=3, max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)


class LoginIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True)


class TokenOut(serializers.Serializer):
    token = serializers.CharField()
    username = serializers.CharField()

