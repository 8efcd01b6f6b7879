"""Output shapes of stores and menus. Every field is read-only: clients never write stores."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from stores.models import MenuCategory, MenuItem, ModifierGroup, ModifierOption, OpeningHours, Store


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d+)?$", "example": "07:00:00",
                      "description": "Store-local time of day, without an offset"})
class LocalTimeField(serializers.TimeField):
    """A time of day in the store's zone. Not `format: time`, which in OpenAPI needs an offset."""


class OpeningHoursOut(serializers.ModelSerializer):
    weekday_name = serializers.CharField(source="get_weekday_display")
    opens = LocalTimeField(read_only=True)
    closes = LocalTimeField(read_only=True)

    class Meta:
        model = OpeningHours
        fields = ["weekday", "weekday_name", "opens", "closes"]
        read_only_fields = fields


class MobileOrderingOut(serializers.Serializer):
    paused = serializers.BooleanField()
    reason = serializers.CharField()
    resumes_at = serializers.DateTimeField(allow_null=True)


class StoreOut(serializers.ModelSerializer):
    opening_hours = OpeningHoursOut(many=True, read_only=True)
    mobile_ordering = serializers.SerializerMethodField()
    distance_m = serializers.SerializerMethodField()

    class Meta:
        model = Store
        fields = ["id", "name", "slug", "address", "latitude", "longitude", "timezone", "currency",
                  "slot_minutes", "slot_capacity", "min_lead_minutes", "max_days_ahead", "mobile_ordering",
                  "opening_hours", "distance_m"]
        read_only_fields = fields

    def get_mobile_ordering(self, store) -> MobileOrderingOut:
        paused = store.is_mobile_paused()
        return {"paused": paused, "reason": store.pause_reason if paused else "",
                "resumes_at": store.paused_until if paused else None}

    def get_distance_m(self, store) -> int | None:
        return getattr(store, "distance_m", None)


class ModifierOptionOut(serializers.ModelSerializer):
    available = serializers.BooleanField(source="is_available")

    class Meta:
        model = ModifierOption
        fields = ["id", "name", "price_delta_minor", "extra_prep_seconds", "is_default", "available"]
        read_only_fields = fields


class ModifierGroupOut(serializers.ModelSerializer):
    options = ModifierOptionOut(many=True, read_only=True)

    class Meta:
        model = ModifierGroup
        fields = ["id", "name", "min_choices", "max_choices", "options"]
        read_only_fields = fields


class MenuItemOut(serializers.ModelSerializer):
    station = serializers.CharField(source="station.name")
    available = serializers.BooleanField(source="is_available")
    unavailable_reason = serializers.CharField()
    modifier_groups = ModifierGroupOut(many=True, read_only=True)

    class Meta:
        model = MenuItem
        fields = ["id", "name", "description", "price_minor", "currency", "station", "prep_seconds",
                  "max_quantity", "available", "unavailable_reason", "stock_count", "modifier_groups"]
        read_only_fields = fields


class MenuCategoryOut(serializers.ModelSerializer):
    items = MenuItemOut(many=True, read_only=True)

    class Meta:
        model = MenuCategory
        fields = ["id", "name", "items"]
        read_only_fields = fields


class StoreMenuOut(serializers.Serializer):
    store = StoreOut()
    categories = MenuCategoryOut(many=True)
