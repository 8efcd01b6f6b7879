"""Output shapes of stores and menus. Every field is read-only: clients never write stores."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from stores import hours, selectors
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


class TaxOut(serializers.Serializer):
    rate_percent = serializers.DecimalField(max_digits=6, decimal_places=3, coerce_to_string=True,
                                            help_text='The rate in percent, as a decimal string: "8.900"')
    prices_include_tax = serializers.BooleanField(
        help_text="Menu prices include the tax (VAT style); otherwise it is added to the subtotal")
    label = serializers.CharField(help_text='What the receipt calls it, e.g. "Sales tax" or "VAT"')


def store_tax(store: Store) -> dict:
    """The store's tax rule as `TaxOut` shows it."""
    return TaxOut({"rate_percent": store.tax_rate_percent, "prices_include_tax": store.prices_include_tax,
                   "label": store.tax_label}).data


class LocalPeriodOut(serializers.Serializer):
    opens = serializers.CharField(help_text='Store-local "HH:MM"')
    closes = serializers.CharField(help_text='Store-local "HH:MM"')


class StoreOut(serializers.ModelSerializer):
    opening_hours = OpeningHoursOut(many=True, read_only=True)
    mobile_ordering = serializers.SerializerMethodField()
    distance_m = serializers.SerializerMethodField()
    open_now = serializers.SerializerMethodField()
    opens_at = serializers.SerializerMethodField()
    closes_at = serializers.SerializerMethodField()
    today_hours = serializers.SerializerMethodField()
    tax = serializers.SerializerMethodField()

    class Meta:
        model = Store
        fields = ["id", "name", "slug", "address", "latitude", "longitude", "timezone", "currency",
                  "slot_minutes", "slot_capacity", "min_lead_minutes", "max_days_ahead", "mobile_ordering",
                  "opening_hours", "distance_m", "open_now", "opens_at", "closes_at", "today_hours", "tax"]
        read_only_fields = fields

    def _open_state(self, store: Store) -> hours.OpenState:
        """Worked out once per store and response, at one moment for every store of the list."""
        states = self.context.setdefault("open_states", {})
        if store.pk not in states:
            now = self.context.setdefault("now", timezone.now())
            states[store.pk] = hours.open_state(store, now, list(store.opening_hours.all()))
        return states[store.pk]

    def get_open_now(self, store) -> bool:
        return self._open_state(store).open_now

    @extend_schema_field(serializers.DateTimeField(allow_null=True, help_text="When it next opens, while closed"))
    def get_opens_at(self, store):
        return self._open_state(store).opens_at

    @extend_schema_field(serializers.DateTimeField(allow_null=True,
                                                   help_text="When the current opening ends, while open"))
    def get_closes_at(self, store):
        return self._open_state(store).closes_at

    @extend_schema_field(LocalPeriodOut(many=True))
    def get_today_hours(self, store) -> list[dict]:
        return [{"opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"}
                for opens, closes in self._open_state(store).today_hours]

    @extend_schema_field(TaxOut)
    def get_tax(self, store) -> dict:
        return store_tax(store)

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
    from_price_minor = serializers.SerializerMethodField()

    class Meta:
        model = MenuItem
        fields = ["id", "name", "description", "price_minor", "from_price_minor", "currency", "station",
                  "prep_seconds", "max_quantity", "available", "unavailable_reason", "stock_count", "modifier_groups"]
        read_only_fields = fields

    def get_from_price_minor(self, item: MenuItem) -> int:
        return selectors.menu_item_from_price_minor(item=item)


class MenuCategoryOut(serializers.ModelSerializer):
    items = MenuItemOut(many=True, read_only=True)

    class Meta:
        model = MenuCategory
        fields = ["id", "name", "items"]
        read_only_fields = fields


class StoreMenuOut(serializers.Serializer):
    store = StoreOut()
    categories = MenuCategoryOut(many=True)
