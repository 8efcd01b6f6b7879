"""Shapes of what a customer's app shows of their habits: "order again"
and favourites. Kept apart from `serializers` (the ordering API's inputs and outputs)."""

from rest_framework import serializers

from fulfilment.services.reorder import CHANGE_KINDS


class ReorderLineOut(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    item_name = serializers.CharField()
    quantity = serializers.IntegerField()
    modifiers = serializers.ListField(child=serializers.IntegerField(), source="option_ids",
                                      help_text="Modifier option ids, the defaults filled in: ready for a cart line")
    modifier_names = serializers.ListField(child=serializers.CharField(), source="option_names")
    unit_price_minor = serializers.IntegerField(help_text="Today's price of one, modifiers included")
    was_unit_price_minor = serializers.IntegerField(help_text="What one cost in the past order")


class ReorderChangeOut(serializers.Serializer):
    index = serializers.IntegerField(help_text="Index of the line in the past order")
    item_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=CHANGE_KINDS)
    message = serializers.CharField(help_text="What changed, in words for the customer")


class ReorderOut(serializers.Serializer):
    store = serializers.IntegerField(source="store_id")
    store_name = serializers.CharField()
    currency = serializers.CharField()
    available = serializers.BooleanField(help_text="Something of the order can be ordered today")
    lines = ReorderLineOut(many=True, help_text="The lines that can be ordered today, re-priced")
    changes = ReorderChangeOut(many=True, help_text="Every difference from the past order, line by line")


class FavouriteIn(serializers.Serializer):
    item = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=99, default=1)
    modifiers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**31 - 1),
                                      required=False, default=list, max_length=20)


class FavouriteOut(serializers.Serializer):
    """A `services.favourites.FavouriteView`: the saved line, priced and checked today."""

    id = serializers.IntegerField(source="favourite.pk")
    store = serializers.IntegerField(source="favourite.item.store_id")
    store_name = serializers.CharField(source="favourite.item.store.name")
    item = serializers.IntegerField(source="favourite.item_id")
    item_name = serializers.CharField(source="favourite.item.name")
    quantity = serializers.IntegerField(source="favourite.quantity")
    modifiers = serializers.ListField(child=serializers.IntegerField(), source="option_ids",
                                      help_text="Modifier option ids, ready for a cart line")
    modifier_names = serializers.ListField(child=serializers.CharField(), source="option_names")
    unit_price_minor = serializers.IntegerField(help_text="Today's price of one, modifiers included")
    currency = serializers.CharField(source="favourite.item.store.currency")
    available = serializers.BooleanField(help_text="Can be ordered now")
    unavailable_reason = serializers.CharField(help_text='Why not ("Sold out", "Temporarily unavailable", ...); '
                                                         "empty when available")
