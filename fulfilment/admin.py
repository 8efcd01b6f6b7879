"""Orders in Django admin: managers look orders up and cancel them; nothing is edited here.

Only fulfilment services write orders (see fulfilment.models), so every order page is read-only,
orders cannot be added (they come from the API and the counter) or deleted (they are the record of
sales and payments), and the one write, cancelling, is an action that calls order_cancel.
Managers see the orders of the stores they manage; superusers see all (stores.admin explains).
"""

from django.contrib import admin, messages

from fulfilment import services as fulfilment_services
from fulfilment.models import Order, OrderEvent, OrderLine
from orderahead.errors import DomainError
from stores.admin import ManagedInlineMixin, StoreScopedAdminMixin
from stores.money import format_money

ADMIN_CANCEL_REASON = "Cancelled by manager in admin"


class ReadOnlyInlineMixin(ManagedInlineMixin):
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    fields = ("item_name", "quantity", "modifier_list", "unit_price", "line_total", "station", "planned_lane",
              "planned_start_at", "planned_finish_at", "started_at", "done_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "station__store")

    @admin.display(description="Modifiers")
    def modifier_list(self, line: OrderLine) -> str:
        return ", ".join(f"{m.get('group')}: {m.get('option')}" for m in line.modifiers) or "–"

    @admin.display(description="Unit price")
    def unit_price(self, line: OrderLine) -> str:
        return format_money(line.unit_price_minor, line.order.currency)

    @admin.display(description="Line total")
    def line_total(self, line: OrderLine) -> str:
        return format_money(line.line_total_minor, line.order.currency)


class OrderEventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderEvent
    fields = ("at", "kind", "from_status", "to_status", "actor", "data")
    readonly_fields = fields
    ordering = ("at", "id")  # history reads top to bottom, newest last
    verbose_name_plural = "history"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Order)
class OrderAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("id", "store", "channel", "status", "customer_display", "pickup_kind", "promised_ready_at",
                    "total", "created_at")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), "status", "channel",
                   ("created_at", admin.DateFieldListFilter))
    # "id__exact" (not "=id") so a search for a name does not fail on the number column.
    search_fields = ("id__exact", "customer__username", "customer__email", "customer_name")
    list_select_related = ("store", "customer")
    fieldsets = (
        (None, {"fields": ("id", "store", "channel", "status", "customer", "customer_name", "placed_by")}),
        ("Pickup", {"fields": ("pickup_kind", "requested_pickup_at", "slot_starts_at", "promised_ready_at")}),
        ("Money", {"fields": ("subtotal", "total")}),
        ("Timeline", {"fields": ("created_at", "updated_at", "confirmed_at", "ready_at", "picked_up_at",
                                 "cancelled_at", "cancel_reason")}),
        ("Idempotency", {"fields": ("idempotency_scope", "idempotency_key", "request_fingerprint"),
                         "classes": ("collapse",)}),
    )
    readonly_fields = tuple(name for _, options in fieldsets for name in options["fields"])
    inlines = (OrderLineInline, OrderEventInline)
    actions = ("cancel_orders",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request) -> bool:
        """Who may run the cancel action: anyone who may see orders (the list is already scoped to
        their stores); order_cancel decides whether each order can still be cancelled."""
        return self.has_view_permission(request)

    @admin.display(description="Customer", ordering="customer__username")
    def customer_display(self, order: Order) -> str:
        if order.customer is None:
            return order.customer_name or "Walk-in"
        if order.customer_name:
            return f"{order.customer_name} ({order.customer.get_username()})"
        return order.customer.get_username()

    @admin.display(description="Subtotal", ordering="subtotal_minor")
    def subtotal(self, order: Order) -> str:
        return format_money(order.subtotal_minor, order.currency)

    @admin.display(description="Total", ordering="total_minor")
    def total(self, order: Order) -> str:
        return format_money(order.total_minor, order.currency)

    @admin.action(description="Cancel selected orders (refund if paid)", permissions=["cancel"])
    def cancel_orders(self, request, queryset):
        # One service call per order: each commits or fails on its own, so one order that is
        # already picked up does not stop the others from being cancelled.
        cancelled = []
        for order in queryset.order_by("pk"):
            try:
                fulfilment_services.order_cancel(order=order, actor=request.user, reason=ADMIN_CANCEL_REASON)
            except DomainError as error:
                self.message_user(request, f"Order {order.pk} was not cancelled: {error.message}", messages.ERROR)
            else:
                cancelled.append(order.pk)
        if cancelled:
            noun = "order" if len(cancelled) == 1 else "orders"
            self.message_user(request, f"Cancelled {len(cancelled)} {noun}: {', '.join(map(str, cancelled))}.",
                              messages.SUCCESS)
