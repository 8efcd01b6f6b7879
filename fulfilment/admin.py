"""Orders in Django admin: managers look orders up and cancel them; nothing is edited here.

Only fulfilment services write orders (see fulfilment.models), so every order page is read-only,
orders cannot be added (they come from the API and the counter) or deleted (they are the record of
sales and payments), and the one write, cancelling, is an action that calls order_cancel.
Managers see the orders of the stores they manage; superusers see all (stores.admin explains).

Money: every order page shows what was authorised (held), captured (charged) and refunded, and
the refunds made. Refunds are actions too: the whole order from the list, or chosen lines from the
order's "Refund lines" page; both call payment_refund.

For a manager who has never seen Django: every time is on the store's own clock with its zone ("12:28 PST"),
the list keeps to what an order is looked up by (number and pickup code, name, status, times, total), the
Day filter follows each store's calendar, and the history is a timeline in words rather than event rows.
"""

import datetime as dt
import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from fulfilment import services as fulfilment_services
from fulfilment.channels import policy
from fulfilment.dashboard import chain_currency
from fulfilment.models import (
    PAID_OPEN_STATUSES,
    LoyaltyEntry,
    LoyaltyProgram,
    Order,
    OrderEvent,
    OrderLine,
    OrderNotification,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    Reward,
    StoreFulfilmentSettings,
    StorePaymentPolicy,
)
from fulfilment.pickup_codes import CODE_ALPHABET, CODE_LENGTH, pickup_code
from fulfilment.presenters import payment_summary
from fulfilment.services import loyalty as loyalty_services
from fulfilment.services import payments as payment_services
from orderahead.errors import DomainError
from stores.admin import (
    ManagedInlineMixin,
    MoneyField,
    OneStoreColumnsMixin,
    StoreScopedAdminMixin,
    managed_store_ids,
    titled_filter,
)
from stores.money import format_money, format_price_change

ADMIN_CANCEL_REASON = "Cancelled by manager in admin"


# --- Times: always the store's own clock -----------------------------------------------------------------
# A manager reads "12:28" as the time on the shop's wall clock, whatever zone the server or their laptop is
# in, so every time on these pages is converted to the order's store zone and carries the zone's
# abbreviation once ("12:28 PST"), which also makes a time in the hour a DST change repeats unambiguous.

def store_local(order: Order, value) -> str:
    """ "Mar 8, 12:28 PST" in the order's store zone; "–" for no time."""
    if value is None:
        return "–"
    local = timezone.localtime(value, order.store.tz)
    return f"{local:%b} {local.day}, {local:%H:%M %Z}"


def _local_time(field: str, description: str, *, of=lambda obj: obj):
    """An admin column showing `field` of an object in its order's store time; `of` finds the order."""
    @admin.display(description=description, ordering=field)
    def show(self, obj) -> str:
        return store_local(of(obj), getattr(obj, field))
    show.__name__ = f"{field}_local"
    return show


def _clock(order: Order, value, *, day: dt.date, zone: bool = True) -> str:
    """ "12:28 PST" on the order's own day, "Mar 9, 12:28 PST" on another (a scheduled or late order)."""
    local = timezone.localtime(value, order.store.tz)
    shown = f"{local:%H:%M}" if local.date() == day else f"{local:%b} {local.day}, {local:%H:%M}"
    return f"{shown} {local:%Z}" if zone else shown


def _parse_time(value: str | None):
    return dt.datetime.fromisoformat(value) if value else None


def history_lines(order: Order, events) -> list[str]:
    """The order's events as a manager reads them, in store time:
    "12:28 PST — Confirmed (from Awaiting payment) by barista1",
    "12:30 PST — Ready time moved 12:38 → 12:45 PST"."""
    statuses = dict(OrderStatus.choices)
    day = timezone.localtime(order.created_at, order.store.tz).date()
    lines = []
    for event in events:
        by = f" by {event.actor.get_username()}" if event.actor else ""
        if event.kind == OrderEvent.CREATED:
            what = f"Placed ({statuses.get(event.to_status, event.to_status)}){by}"
            promised = _parse_time(event.data.get("promised_ready_at"))
            if promised:
                what += f", promised for {_clock(order, promised, day=day)}"
        elif event.kind == OrderEvent.READY_TIME_CHANGED:
            old, new = _parse_time(event.data.get("from")), _parse_time(event.data.get("to"))
            if old and new:
                same_zone = timezone.localtime(old, order.store.tz).tzname() == \
                    timezone.localtime(new, order.store.tz).tzname()
                what = f"Ready time moved {_clock(order, old, day=day, zone=not same_zone)} → " \
                       f"{_clock(order, new, day=day)}"
            else:
                what = "Ready time no longer estimated" if old else "Ready time estimated"
        elif event.kind in (OrderEvent.MEMBER_ADDED, OrderEvent.PAID_AT_TILL):
            what = f"{event.get_kind_display()}{by}"
        else:
            what = f"{statuses.get(event.to_status, event.to_status)}"
            if event.from_status:
                what += f" (from {statuses.get(event.from_status, event.from_status)})"
            what += by
            if event.data.get("reason"):
                what += f": {event.data['reason']}"
        lines.append(f"{_clock(order, event.at, day=day)} — {what}")
    return lines


class PlacedDayFilter(admin.SimpleListFilter):
    """Orders placed today, yesterday or in the last 7 days, by each store's own calendar.

    "Today" in Los Angeles starts eight hours after "today" in UTC, so the day is worked out per store
    zone: one condition per zone among the stores listed (a chain has a handful), each a plain range on
    created_at that its index serves."""

    title = "day"
    parameter_name = "day"
    # value -> (label, first day back, days covered)
    DAYS = {"today": ("Today", 0, 1), "yesterday": ("Yesterday", 1, 1), "7d": ("Last 7 days", 6, 7)}

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _, _) in self.DAYS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.DAYS:
            return queryset
        _, back, days = self.DAYS[self.value()]
        now = timezone.now()
        placed_in_local_days = Q(pk__in=[])
        for zone_name in queryset.values_list("store__timezone", flat=True).distinct().order_by():
            store_tz = zoneinfo.ZoneInfo(zone_name)
            first_day = now.astimezone(store_tz).date() - dt.timedelta(days=back)
            start = dt.datetime.combine(first_day, dt.time(0, 0), tzinfo=store_tz)
            end = dt.datetime.combine(first_day + dt.timedelta(days=days), dt.time(0, 0), tzinfo=store_tz)
            placed_in_local_days |= Q(store__timezone=zone_name, created_at__gte=start, created_at__lt=end)
        return queryset.filter(placed_in_local_days)


class NoEditsMixin:
    """Rows only services write (orders and their lines, the loyalty ledger): admin shows them and adds,
    changes or deletes none. Fits a model admin and an inline alike (an inline's checks also get the parent)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInlineMixin(NoEditsMixin, ManagedInlineMixin):
    can_delete = False
    extra = 0


class OrderLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = OrderLine
    # The scheduler's plan (lane, planned start and finish) is left out: it is for the kitchen screens and
    # changes every re-plan; a manager reading an order wants what was sold, for how much, and when it was made.
    fields = ("item_name", "quantity", "modifier_list", "unit_price", "line_total", "station", "started", "done")
    readonly_fields = fields

    started = _local_time("started_at", "Started", of=lambda line: line.order)
    done = _local_time("done_at", "Done", of=lambda line: line.order)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order__store", "station__store")

    @admin.display(description="Modifiers")
    def modifier_list(self, line: OrderLine) -> str:
        """ "Size: Large (+$0.90 USD), Milk: Oat (+$0.70 USD)"; a free choice has no price."""
        shown = []
        for modifier in line.modifiers:
            delta = modifier.get("price_delta_minor") or 0
            price = f" ({format_price_change(delta, line.order.currency)})" if delta else ""
            shown.append(f"{modifier.get('group')}: {modifier.get('option')}{price}")
        return ", ".join(shown) or "–"

    @admin.display(description="Unit price")
    def unit_price(self, line: OrderLine) -> str:
        return format_money(line.unit_price_minor, line.order.currency)

    @admin.display(description="Line total")
    def line_total(self, line: OrderLine) -> str:
        return format_money(line.line_total_minor, line.order.currency)


class OrderNotificationInline(ReadOnlyInlineMixin, admin.TabularInline):
    """What the customer was told and how it went ("why did I get no email?")."""

    model = OrderNotification
    fields = ("created", "kind", "channel", "status", "detail")
    readonly_fields = fields
    ordering = ("created_at", "id")

    created = _local_time("created_at", "At", of=lambda notification: notification.order)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order__store")
    verbose_name_plural = "notifications to the customer"


@admin.register(Order)
class OrderAdmin(NoEditsMixin, OneStoreColumnsMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    # What a manager looks an order up by, narrow enough for a 1280 px laptop; money detail is on the page.
    # Measured at 1280 px with Django's nav sidebar and the filter panel open: the store column goes for
    # a manager of one store, promised and ready drop the date of the day the order was placed.
    list_display = ("order_number", "customer_short", "store", "channel", "status", "placed", "promised_short",
                    "ready_short", "total")
    list_display_links = ("order_number",)
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), "status", "channel", PlacedDayFilter,
                   ("awaiting_till_payment", titled_filter(admin.BooleanFieldListFilter, "to pay when collected")))
    # "id__exact" (not "=id") so a search for a name does not fail on the number column. The pickup code
    # is not stored (an HMAC of the order), so get_search_results matches it against the open orders.
    search_fields = ("id__exact", "customer__username", "customer__email", "customer_name")
    search_help_text = "Order number, pickup code (open orders), customer name, username or email."
    list_select_related = ("store", "customer", "payment")
    fieldsets = (
        # People as text: a link to their account page would be a "403 Forbidden" for a store manager.
        (None, {"fields": ("id", "store", "channel", "status", "customer_display", "placed_by_name")}),
        ("Pickup", {"fields": ("pickup_kind", "requested_pickup", "slot_starts", "promised")}),
        ("Money", {"fields": ("subtotal", "tax", "total", "payment_provider", "payment_state", "authorised", "captured",
                              "refunded", "payment_intent", "capture_deadline", "payment_error", "refund_list",
                              "refund_link")}),
        ("Timeline", {"fields": ("placed", "updated", "confirmed", "ready", "picked_up", "cancelled",
                                 "cancel_reason")}),
        ("History", {"fields": ("history",)}),
        ("Idempotency", {"fields": ("idempotency_scope", "idempotency_key", "request_fingerprint"),
                         "classes": ("collapse",)}),
    )
    readonly_fields = tuple(name for _, options in fieldsets for name in options["fields"])
    inlines = (OrderLineInline, OrderNotificationInline)

    class Media:
        css = {"all": ("fulfilment/admin_orders.css",)}
    actions = ("cancel_orders", "refund_orders")

    # Times in the store's zone (see store_local).
    placed = _local_time("created_at", "Placed")
    updated = _local_time("updated_at", "Updated")
    requested_pickup = _local_time("requested_pickup_at", "Requested pickup")
    slot_starts = _local_time("slot_starts_at", "Slot starts")
    promised = _local_time("promised_ready_at", "Promised")
    confirmed = _local_time("confirmed_at", "Confirmed")
    ready = _local_time("ready_at", "Ready")
    picked_up = _local_time("picked_up_at", "Picked up")
    cancelled = _local_time("cancelled_at", "Cancelled")

    def has_cancel_permission(self, request) -> bool:
        """Who may run the cancel action: anyone who may see orders (the list is already scoped to
        their stores); order_cancel decides whether each order can still be cancelled."""
        return self.has_view_permission(request)

    @admin.display(description="Customer", ordering="customer_name")
    def customer_short(self, order: Order) -> str:
        """The name called out at the counter; the username only when there is no name (search finds both)."""
        return order.customer_name or (order.customer.get_username() if order.customer else "Walk-in")

    @admin.display(description="Promised", ordering="promised_ready_at")
    def promised_short(self, order: Order) -> str:
        return self._same_day_time(order, order.promised_ready_at)

    @admin.display(description="Ready", ordering="ready_at")
    def ready_short(self, order: Order) -> str:
        return self._same_day_time(order, order.ready_at)

    @staticmethod
    def _same_day_time(order: Order, value) -> str:
        if value is None:
            return "–"
        return _clock(order, value, day=timezone.localtime(order.created_at, order.store.tz).date())

    @admin.display(description="Order", ordering="id")
    def order_number(self, order: Order) -> str:
        """The number and the code the customer reads out at the counter ("1042 · K7QX")."""
        return f"{order.pk} · {pickup_code(order=order)}"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        code = search_term.strip().upper()
        if len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET):
            # A code is only shown and accepted while the order is paid and open, so only those are worth
            # matching: a few dozen per store, each one HMAC, instead of a stored column and a migration.
            open_orders = queryset.filter(status__in=PAID_OPEN_STATUSES).values_list("pk", "store_id")
            matched = [pk for pk, store_id in open_orders
                       if pickup_code(order=Order(pk=pk, store_id=store_id)) == code]
            if matched:
                results = results | queryset.filter(pk__in=matched)
        return results, may_have_duplicates

    @admin.display(description="Customer", ordering="customer__username")
    def customer_display(self, order: Order) -> str:
        if order.customer is None:
            return order.customer_name or "Walk-in"
        if order.customer_name:
            return f"{order.customer_name} ({order.customer.get_username()})"
        return order.customer.get_username()

    @admin.display(description="Placed by")
    def placed_by_name(self, order: Order) -> str:
        """The staff member who keyed in an in-store order; "–" for one the customer placed."""
        return order.placed_by.get_username() if order.placed_by_id else "–"

    @admin.display(description="History")
    def history(self, order: Order) -> str:
        """Every event of the order, oldest first, one readable line each (see history_lines)."""
        events = order.events.select_related("actor").order_by("at", "id")
        lines = history_lines(order, events)
        if not lines:
            return "–"
        return format_html('<ol class="order-history">{}</ol>', format_html_join("", "<li>{}</li>",
                                                                                 ((line,) for line in lines)))

    @admin.display(description="Subtotal", ordering="subtotal_minor")
    def subtotal(self, order: Order) -> str:
        return format_money(order.subtotal_minor, order.currency)

    @admin.display(description="Tax", ordering="tax_minor")
    def tax(self, order: Order) -> str:
        """The amount and the rule it was charged under (the order's snapshot of the store's)."""
        if not order.tax_minor and not order.tax_rate_percent:
            return format_money(0, order.currency)
        how = "included" if order.prices_include_tax else "added"
        return (f"{format_money(order.tax_minor, order.currency)} ({order.tax_label or 'Tax'} "
                f"{order.tax_rate_percent.normalize():f}%, {how})")

    @admin.display(description="Total", ordering="total_minor")
    def total(self, order: Order) -> str:
        return format_money(order.total_minor, order.currency)

    has_refund_permission = has_cancel_permission

    # --- Money ----------------------------------------------------------------------------------------

    @staticmethod
    def _payment(order: Order) -> Payment | None:
        try:
            return order.payment
        except ObjectDoesNotExist:
            return None

    def _money(self, order: Order, field: str) -> str:
        payment = self._payment(order)
        return format_money(getattr(payment, field), payment.currency) if payment else "–"

    @admin.display(description="Payment provider")
    def payment_provider(self, order: Order) -> str:
        payment = self._payment(order)
        if payment is None:  # in store: paid at the till, now or when collected, or nothing to pay (a reward)
            return "–" if policy(order.channel).paid_in_app else payment_summary(order)["status_label"]
        return payment.get_provider_display()

    @admin.display(description="Payment", ordering="payment__status")
    def payment_state(self, order: Order) -> str:
        payment = self._payment(order)
        return payment.get_status_display() if payment else "–"

    @admin.display(description="Authorised (held)")
    def authorised(self, order: Order) -> str:
        return self._money(order, "amount_minor")

    @admin.display(description="Captured (charged)", ordering="payment__captured_minor")
    def captured(self, order: Order) -> str:
        return self._money(order, "captured_minor")

    @admin.display(description="Refunded", ordering="payment__refunded_minor")
    def refunded(self, order: Order) -> str:
        return self._money(order, "refunded_minor")

    @admin.display(description="Payment intent")
    def payment_intent(self, order: Order) -> str:
        payment = self._payment(order)
        return (payment.intent_id or "–") if payment else "–"

    @admin.display(description="Capture deadline")
    def capture_deadline(self, order: Order):
        payment = self._payment(order)
        return store_local(order, payment.capture_deadline) if payment else "–"

    @admin.display(description="Last payment error")
    def payment_error(self, order: Order) -> str:
        payment = self._payment(order)
        return (payment.last_error or "–") if payment else "–"

    @admin.display(description="Refunds")
    def refund_list(self, order: Order) -> str:
        payment = self._payment(order)
        refunds = list(payment.refunds.select_related("created_by")) if payment else []
        if not refunds:
            return "–"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} {} ({}) by {}: {}</li>", (
            (store_local(order, r.created_at), format_money(r.amount_minor, payment.currency), r.status,
             r.created_by or "system", r.reason or "–") for r in refunds)))

    @admin.display(description="Refund")
    def refund_link(self, order: Order) -> str:
        payment = self._payment(order)
        if (payment is None or payment.status != PaymentStatus.CAPTURED
                or payment.refunded_minor >= payment.captured_minor):
            return "Nothing to refund (cancel an order that was not charged to release its hold)."
        return format_html('<a class="button" href="{}">Refund lines…</a>',
                           reverse("admin:fulfilment_order_refund", args=[order.pk]))

    def get_urls(self):
        return [path("<int:order_id>/refund/", self.admin_site.admin_view(self.refund_view),
                     name="fulfilment_order_refund"), *super().get_urls()]

    def refund_view(self, request, order_id: int):
        """Refund chosen lines (or what is left) of one order, after capture."""
        order = self.get_queryset(request).filter(pk=order_id).first()
        if order is None:
            raise Http404
        if not self.has_refund_permission(request):
            raise PermissionDenied
        form = RefundLinesForm(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                refund = payment_services.payment_refund(order=order, actor=request.user, lines=form.lines() or None,
                                                         reason=form.cleaned_data["reason"])
            except DomainError as error:
                self.message_user(request, f"Not refunded: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Refunded {format_money(refund.amount_minor, order.currency)} of order "
                                           f"{order.pk}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:fulfilment_order_change", args=[order.pk]))
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "order": order, "form": form,
                   "title": f"Refund order {order.pk}", "payment": self._payment(order),
                   "captured": self.captured(order), "refunded": self.refunded(order)}
        return TemplateResponse(request, "admin/fulfilment/order/refund.html", context)

    @admin.action(description="Refund selected orders in full (after capture)", permissions=["refund"])
    def refund_orders(self, request, queryset):
        refunded = []
        for order in queryset.order_by("pk"):
            try:
                payment_services.payment_refund(order=order, actor=request.user, reason="Refunded in admin")
            except DomainError as error:
                self.message_user(request, f"Order {order.pk} was not refunded: {error.message}", messages.ERROR)
            else:
                refunded.append(order.pk)
        if refunded:
            self.message_user(request, f"Refunded {len(refunded)} order(s): {', '.join(map(str, refunded))}.",
                              messages.SUCCESS)

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


class RefundLinesForm(forms.Form):
    """One quantity per order line (0: keep), or nothing chosen to refund everything that is left."""

    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        done: dict[int, int] = {}
        for refund in Refund.objects.filter(payment__order=order).exclude(status=Refund.FAILED):
            for entry in refund.lines:
                done[entry["line"]] = done.get(entry["line"], 0) + entry["quantity"]
        self.order_lines = list(order.lines.all())
        adds_tax = order.tax_minor and not order.prices_include_tax
        tax_note = f" plus its share of {order.tax_label or 'tax'}" if adds_tax else ""
        # A reward on a line keeps back its share of each unit refunded (payment_refund): say so beside the
        # unit price, or the manager expects the full price back.
        line_discounts = order.discounts.filter(line__isnull=False).order_by("pk") if order.discount_minor else []
        reward_notes: dict[int, list[str]] = {}
        for discount in line_discounts:
            reward_notes.setdefault(discount.line_id, []).append(
                f"{discount.label}: {format_money(discount.amount_minor, order.currency)} off")
        for line in self.order_lines:
            left = line.quantity - done.get(line.pk, 0)
            reward_note = (f"; reward {', '.join(reward_notes[line.pk])}, its share kept back"
                           if line.pk in reward_notes else "")
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                min_value=0, max_value=left, initial=0, required=False,
                label=f"{line.item_name} ({format_money(line.unit_price_minor, order.currency)} each{tax_note}, "
                      f"{left} of {line.quantity} refundable{reward_note})")

    def lines(self) -> dict[int, int]:
        return {line.pk: self.cleaned_data[f"line_{line.pk}"] for line in self.order_lines
                if self.cleaned_data.get(f"line_{line.pk}")}


@admin.register(StoreFulfilmentSettings)
class StoreFulfilmentSettingsAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("store", "offers_fire_on_arrival", "shelf_hold_minutes")
    list_select_related = ("store",)


@admin.register(StorePaymentPolicy)
class StorePaymentPolicyAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("store", "no_show_after_minutes", "no_show_action")
    list_select_related = ("store",)


# --- Loyalty (issue 28): the chain's rules, the ledger, stars adjusted by hand -------------------------------
# The rules (earn rate, rewards, expiry) are the chain's, one set for every store: superusers (head office)
# change them; a store manager may read them, to answer a customer. The ledger is append-only: every change of
# a member's stars is a row written by fulfilment.services.loyalty, so admin shows it and never edits or
# deletes it; the one write, adjusting a member's stars, calls loyalty_adjust.

class ChainRulesAccessMixin:
    """Superusers keep Django's rules; anyone who manages a store may view, and nothing more."""

    def has_module_permission(self, request):
        return super().has_module_permission(request) if request.user.is_superuser else bool(
            managed_store_ids(request))

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) if request.user.is_superuser else bool(
            managed_store_ids(request))

    def has_add_permission(self, request, *args):  # inlines also get the parent object
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class StoreItemChoiceField(forms.ModelMultipleChoiceField):
    """Menu items belong to a store, so each store has its own "Latte": the choice says which."""

    def label_from_instance(self, item) -> str:
        return f"{item.store.name}: {item.name}"


class RewardForm(forms.ModelForm):
    max_value_minor = MoneyField(label="Takes off up to",
                                 help_text="The most the reward takes off one item, e.g. 4.50; the item's price "
                                           "when that is less.")

    class Meta:
        model = Reward
        fields = ("name", "stars_cost", "max_value_minor", "items", "is_birthday", "is_active")
        labels = {"name": "Name", "stars_cost": "Stars it takes", "items": "Items it covers",
                  "is_birthday": "Birthday reward", "is_active": "On offer"}
        help_texts = {"items": "None chosen: any item. Hold Ctrl (Cmd on a Mac) to choose several.",
                      "is_active": "Untick to stop offering it; stars already spent on it stay spent."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Rewards are chain-wide and have no currency of their own: amounts are in the stores' currency.
        self.fields["max_value_minor"].currency = chain_currency()


class RewardInline(ChainRulesAccessMixin, admin.StackedInline):
    model = Reward
    form = RewardForm
    extra = 0
    verbose_name = "reward"
    verbose_name_plural = "rewards members can spend stars on"

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "items":
            from stores.models import MenuItem

            return StoreItemChoiceField(
                queryset=MenuItem.objects.select_related("store").order_by("store__name", "name"), required=False,
                label="Items it covers", help_text=RewardForm.Meta.help_texts["items"])
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class LoyaltyProgramForm(forms.ModelForm):
    class Meta:
        model = LoyaltyProgram
        fields = ("name", "is_active", "earn_basis", "earn_rate", "star_expiry_days")
        labels = {"name": "Name", "is_active": "In use", "earn_basis": "Stars are earned",
                  "earn_rate": "Stars earned", "star_expiry_days": "Stars expire after (days)"}
        help_texts = {"is_active": "The newest program in use is the one members earn and spend under; with none "
                                   "in use nobody earns or redeems."}


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(ChainRulesAccessMixin, admin.ModelAdmin):
    form = LoyaltyProgramForm
    list_display = ("name", "is_active", "earn_basis", "earn_rate", "expiry", "reward_list")
    inlines = (RewardInline,)

    @admin.display(description="Stars expire")
    def expiry(self, program: LoyaltyProgram) -> str:
        return f"after {program.star_expiry_days} days" if program.star_expiry_days else "never"

    @admin.display(description="Rewards")
    def reward_list(self, program: LoyaltyProgram) -> str:
        currency = chain_currency()
        return ", ".join(
            f"{reward.name}: {reward.stars_cost} stars, up to {format_money(reward.max_value_minor, currency)}"
            for reward in program.rewards.all() if reward.is_active) or "–"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("rewards")


class AdjustStarsForm(forms.Form):
    # A username, not a drop-down: a chain has far too many members to list.
    member = forms.CharField(max_length=150, label="Member's username")
    stars = forms.IntegerField(label="Stars", help_text="Positive adds stars, negative takes them away.")
    reason = forms.CharField(max_length=200, label="Reason",  # stripped: spaces alone are no reason
                             error_messages={"required": "Say why: the member's ledger shows it."},
                             help_text="Required: the member's ledger shows it (\"goodwill: wrong drink\").")

    def clean_member(self):
        member = get_user_model().objects.filter(username=self.cleaned_data["member"].strip()).first()
        if member is None:
            raise forms.ValidationError("No member has that username.")
        return member

    def clean_stars(self):
        if not self.cleaned_data["stars"]:
            raise forms.ValidationError("Type a number of stars other than 0.")
        return self.cleaned_data["stars"]


@admin.register(LoyaltyEntry)
class LoyaltyEntryAdmin(NoEditsMixin, admin.ModelAdmin):
    """Superusers see every member's ledger; a store manager sees the rows of their stores' orders (earned,
    reversed by a refund, redeemed, given back), not members' other stores or head office's adjustments."""

    list_display = ("member_name", "kind", "stars", "order_number", "reason", "who", "when")
    list_filter = (("kind", titled_filter(admin.ChoicesFieldListFilter, "what happened")),
                   ("created_at", titled_filter(admin.DateFieldListFilter, "day")))
    search_fields = ("member__username",)
    search_help_text = "Member's username."
    list_select_related = ("member", "actor")
    fields = ("member_name", "kind", "stars", "order_number", "refund", "reward", "reason", "who", "when",
              "expires", "change_key")
    readonly_fields = fields
    actions = ("adjust_member_stars",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(order__store__in=managed_store_ids(request))

    def has_module_permission(self, request):
        return request.user.is_superuser or bool(managed_store_ids(request))

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return bool(managed_store_ids(request)) and (obj is None or obj.order_id is not None)

    def has_adjust_permission(self, request) -> bool:
        return request.user.is_superuser

    @admin.display(description="Member", ordering="member__username")
    def member_name(self, entry: LoyaltyEntry) -> str:
        return entry.member.get_username() if entry.member else "(account deleted)"

    @admin.display(description="Order", ordering="order")
    def order_number(self, entry: LoyaltyEntry) -> str:
        return str(entry.order_id) if entry.order_id else "–"

    @admin.display(description="When", ordering="created_at")
    def when(self, entry: LoyaltyEntry):
        return entry.created_at

    @admin.display(description="Stars expire")
    def expires(self, entry: LoyaltyEntry):
        return entry.expires_at or "–"

    @admin.display(description="Change key (the same change is never made twice)")
    def change_key(self, entry: LoyaltyEntry) -> str:
        return entry.key

    @admin.display(description="Who", ordering="actor__username")
    def who(self, entry: LoyaltyEntry) -> str:
        return entry.actor.get_username() if entry.actor else "automatic"

    def get_urls(self):
        return [path("adjust/", self.admin_site.admin_view(self.adjust_view), name="fulfilment_loyaltyentry_adjust"),
                *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_adjust": self.has_adjust_permission(request)}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Adjust stars of the selected rows' member…", permissions=["adjust"])
    def adjust_member_stars(self, request, queryset):
        members = set(queryset.exclude(member__isnull=True).values_list("member_id", flat=True))
        if len(members) != 1:
            self.message_user(request, "Choose rows of one member to adjust their stars.", messages.ERROR)
            return None
        return HttpResponseRedirect(f"{reverse('admin:fulfilment_loyaltyentry_adjust')}?member={members.pop()}")

    def adjust_view(self, request):
        """Add or take a member's stars with a reason, through loyalty_adjust (head office only)."""
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        member_id = request.GET.get("member", "")
        chosen = get_user_model().objects.filter(pk=member_id).first() if member_id.isdigit() else None
        form = AdjustStarsForm(request.POST or None, initial={"member": chosen.get_username() if chosen else ""})
        if request.method == "POST" and form.is_valid():
            member = form.cleaned_data["member"]
            try:
                loyalty_services.loyalty_adjust(member=member, stars=form.cleaned_data["stars"], actor=request.user,
                                                reason=form.cleaned_data["reason"])
            except DomainError as error:
                form.add_error("stars", error.message)
            else:
                balance = loyalty_services.member_balance(member=member)
                self.message_user(request, f"{member.get_username()} now has {balance} stars.", messages.SUCCESS)
                return HttpResponseRedirect(
                    f"{reverse('admin:fulfilment_loyaltyentry_changelist')}?q={member.get_username()}")
        if form.is_bound and isinstance(getattr(form, "cleaned_data", {}).get("member"), get_user_model()):
            chosen = form.cleaned_data["member"]
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "title": "Adjust a member's stars", "member": chosen,
                   "balance": loyalty_services.member_balance(member=chosen) if chosen else None}
        return TemplateResponse(request, "admin/fulfilment/loyaltyentry/adjust.html", context)
