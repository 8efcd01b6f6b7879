"""Django admin for managers running their stores: hours, stations and staffing, menu, prices,
prep times, stock and 86, slot settings and mobile-ordering pauses.

Who sees what. Superusers see every store. Anyone else needs `is_staff` (Django's gate into
/admin/) and a manager StoreMembership; they then see and edit the objects of the stores they
manage and nothing else, whatever Django model permissions they hold. Memberships are the one
source of staff rights in this project (see StoreMembership), so admin follows them too: a
manager added to a store can run it at once, and one removed loses it at once.

Writes with business meaning (pause and resume mobile ordering, 86) go through stores.services,
also when they arrive as an edited form field, so admin, API and KDS change them the same way.
"""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets as admin_widgets
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import Prefetch
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core_native.learning import DAYPART_CHOICES, planned_prep
from stores import services as store_services
from stores.hours import staffing_week
from stores.models import (
    LearnedPrepTime,
    MenuCategory,
    MenuItem,
    ModifierGroup,
    ModifierOption,
    OpeningHours,
    StaffingPeriod,
    Station,
    Store,
    StoreMembership,
)
from stores.money import format_amount, format_money, format_price_change, parse_money
from stores.selectors import item_prep_to_plan, learned_state, store_daypart, store_ids_managed_by

DAYPART_NAMES = dict(DAYPART_CHOICES)

ADMIN_PAUSE_REASON = "Mobile ordering is paused for a moment; please order at the counter."
LANES_HELP = ("A lane is one pair of hands at the station: 3 lanes on the espresso bar make three drinks at once. "
              "The queue and customers' ready times are planned with these lanes.")

# A store manager signs in here, not a developer: say what the place is rather than "Django administration".
admin.site.site_header = "Back office"
admin.site.site_title = "Back office"
admin.site.index_title = "Your stores"
PAUSE_FIELDS = ("mobile_paused", "pause_reason", "paused_until")
WEEKDAY_NAMES = [name for _, name in OpeningHours.WEEKDAYS]


# --- Access: which stores a user runs ------------------------------------------------------------

def managed_store_ids(request: HttpRequest) -> frozenset[int]:
    """Ids of the stores the user manages, read once per request (an admin page asks for
    every registered model's permissions)."""
    ids = getattr(request, "_managed_store_ids", None)
    if ids is None:
        ids = store_ids_managed_by(user=request.user)
        request._managed_store_ids = ids
    return ids


def _store_id_of(obj, store_lookup: str) -> int:
    """Follow `store_lookup` ("store", "station__store", "" for a Store) from obj to a store id."""
    if not store_lookup:
        return obj.pk
    *path, last = store_lookup.split("__")
    for name in path:
        obj = getattr(obj, name)
    return getattr(obj, f"{last}_id")


class ManagerAccessMixin:
    """Admin rights from memberships: superusers keep Django's rules; anyone else may view, add,
    change and delete when they manage a store, and an object only when it belongs to one of
    their stores. Admins narrow this further (no adding stores, read-only orders)."""

    store_lookup = "store"  # path from the model to its Store; "" for Store itself

    def _manages(self, request, obj=None) -> bool:
        ids = managed_store_ids(request)
        if obj is None:
            return bool(ids)
        return _store_id_of(obj, self.store_lookup) in ids

    def has_module_permission(self, request):
        return super().has_module_permission(request) if request.user.is_superuser else self._manages(request)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_view_permission(request, obj)
        return self._manages(request, obj)

    def has_add_permission(self, request, *args):  # inlines also get the parent object
        if request.user.is_superuser:
            return super().has_add_permission(request, *args)
        return self._manages(request)

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_change_permission(request, obj)
        return self._manages(request, obj)

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._manages(request, obj)


class ManagedInlineMixin(ManagerAccessMixin):
    """Inlines live on a parent page that already checked the store; Django hands them the parent
    object, not their own, so they only ask whether the user manages any store."""

    def _manages(self, request, obj=None) -> bool:
        return bool(managed_store_ids(request))


class StoreScopedAdminMixin(ManagerAccessMixin):
    """Lists, pages and drop-downs show only the user's stores (superusers see all). An object of
    another store is simply not found, as if it did not exist."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        lookup = f"{self.store_lookup}__in" if self.store_lookup else "pk__in"
        return queryset.filter(**{lookup: managed_store_ids(request)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = _store_scoped_choices(db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        choices = _store_scoped_choices(db_field.related_model, request)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _store_scoped_choices(model, request):
    """Choices a non-superuser may pick for a relation to `model`, or None to leave it alone."""
    if request.user.is_superuser:
        return None
    if model is Store:
        return Store.objects.filter(pk__in=managed_store_ids(request))
    if any(field.name == "store" for field in model._meta.fields):
        return model._default_manager.filter(store__in=managed_store_ids(request))
    return None


class OneStoreColumnsMixin:
    """A manager of one store has no use for a column that says its name on every row, and at 1280 px it
    pushes the columns that matter (price, stock, 86) off the screen; superusers and managers of several
    stores keep it."""

    store_column = "store"

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if not request.user.is_superuser and len(managed_store_ids(request)) == 1:
            return tuple(column for column in columns if column != self.store_column)
        return columns


def titled_filter(base: type[admin.FieldListFilter], title: str) -> type[admin.FieldListFilter]:
    """`base` under a title a manager reads ("By available", not the field's "By is available")."""

    def __init__(self, *args, **kwargs):
        base.__init__(self, *args, **kwargs)
        self.title = title

    return type(f"{base.__name__}Titled", (base,), {"__init__": __init__})


class StoreQualifiedFilter(admin.RelatedOnlyFieldListFilter):
    """Filter by a per-store object (a menu category), labelled "Store: name": every store has its
    own "Espresso drinks", and a bare name would appear once per store."""

    def field_choices(self, field, request, model_admin):
        used = model_admin.get_queryset(request).values_list(f"{self.field_path}__pk", flat=True)
        related = (field.related_model._default_manager.filter(pk__in=used)
                   .select_related("store").order_by("store__name", "name"))
        return [(obj.pk, f"{obj.store.name}: {obj.name}") for obj in related]


class LiveFieldsMixin:
    """Fields that change while a manager has the page open: units sold, an item 86'd from the KDS,
    a pause lifted by a colleague. Their form fields carry the value shown at page load
    (show_hidden_initial), so `form.changed_data` holds only what this manager edited; without it
    Django compares with the row as it is at save time and takes every stale value for an edit."""

    live_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name in self.live_fields:
            formfield.show_hidden_initial = True
        return formfield


class CellLabelsMixin:
    """Rows of a table (a tabular inline, a list's editable columns) name each field once, in the column
    header, so each box in a row has no name of its own: a screen reader says "checkbox", and the manager
    using one hears nothing of "Available". Each such box gets its column's label as its accessible name."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        in_a_row = isinstance(self, admin.TabularInline) or db_field.name in getattr(self, "list_editable", ())
        # A list's editable columns are built without the admin's form: take its labels from there.
        label = getattr(getattr(self.form, "Meta", None), "labels", {}).get(db_field.name) or \
            (formfield.label if formfield is not None else None)
        if formfield is not None and in_a_row and label:
            formfield.widget.attrs.setdefault("aria-label", str(label))
        return formfield


def _save_changed_fields(obj, form, *, leave_to_services=frozenset()) -> None:
    """Write only the fields the user changed. A full save would also write back the values shown
    when the page was loaded, e.g. a stock count that sales have lowered since, and undo those
    sales (see LiveFieldsMixin)."""
    fields = [field.name for field in obj._meta.concrete_fields
              if field.name in form.changed_data and field.name not in leave_to_services]
    if fields:
        obj.save(update_fields=fields)


# --- Money: typed and shown as "4.50", stored as integer minor units ------------------------------

class MoneyField(forms.CharField):
    """An amount of `currency` as people write it ("4.50"), cleaned to integer minor units (450).
    The form sets `currency` once it knows the store; until then it is the model's default."""

    def __init__(self, *, currency: str = "USD", **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "size": 8}))
        super().__init__(**kwargs)
        self.currency = currency

    def prepare_value(self, value):
        # The stored int on a fresh page; the text the user typed when the page comes back with an error.
        return format_amount(value, self.currency) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_money(value, self.currency)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != initial
        except forms.ValidationError:
            return True



class ModifierOptionForm(forms.ModelForm):
    price_delta_minor = MoneyField(label="Price change", required=False,
                                   help_text="Added to the item's price, e.g. 0.70; negative for a discount.")

    class Meta:
        model = ModifierOption
        fields = "__all__"
        labels = {"is_available": "Available", "is_default": "Chosen by default",
                  "extra_prep_seconds": "Extra prep (seconds)"}
        help_texts = {"is_available": "Untick to 86 it (out of stock): customers cannot choose it until you "
                                      "tick it again."}

    def __init__(self, *args, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if "price_delta_minor" in self.fields:
            self.fields["price_delta_minor"].currency = currency or _option_currency(self.instance)

    def clean_price_delta_minor(self):
        return self.cleaned_data["price_delta_minor"] or 0  # empty means no change to the price


def _option_currency(option: ModifierOption) -> str:
    return option.group.store.currency if option.group_id else "USD"


class ModifierOptionFormSet(forms.BaseInlineFormSet):
    """Hands each option form its store's currency, also on a new group's page (the group has no id yet,
    but its store is chosen)."""

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if self.instance.store_id:
            kwargs["currency"] = self.instance.store.currency
        return kwargs

# --- Stores ---------------------------------------------------------------------------------------

class OpeningHoursInline(CellLabelsMixin, ManagedInlineMixin, admin.TabularInline):
    model = OpeningHours
    fields = ("weekday", "opens", "closes")
    extra = 0


class StationInline(CellLabelsMixin, ManagedInlineMixin, admin.TabularInline):
    model = Station
    fields = ("name", "kind", "default_lanes")
    extra = 0
    show_change_link = True  # staffing over the day is edited on the station's own page


class MenuCategoryInline(CellLabelsMixin, ManagedInlineMixin, admin.TabularInline):
    model = MenuCategory
    fields = ("name", "position")
    extra = 0


class StoreLocalDateTimeField(forms.DateTimeField):
    """A wall-clock time as typed ("2026-12-06 15:30"), naive: the caller reads it in each store's own
    time zone, not the server's."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(**kwargs)

    def to_python(self, value):
        with timezone.override(dt.UTC):  # parse without any zone, then drop the placeholder
            parsed = super().to_python(value)
        return parsed.replace(tzinfo=None) if parsed is not None else None


def at_store_time(store: Store, wall_clock: dt.datetime) -> dt.datetime:
    return wall_clock.replace(tzinfo=store.tz)


class PauseWithReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, initial=ADMIN_PAUSE_REASON,
                             help_text="Shown to customers in the app while paused.")
    until = StoreLocalDateTimeField(required=False, label="Until (each store's local time)",
                                    help_text="Mobile ordering resumes by itself then. Empty: until you resume it.")

    def __init__(self, *args, stores: list[Store], **kwargs):
        super().__init__(*args, **kwargs)
        self.stores = stores

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is not None:
            ended = [store.name for store in self.stores if at_store_time(store, until) <= timezone.now()]
            if ended:
                raise forms.ValidationError(f"That time has already passed at {', '.join(ended)}.")
        return until


class StoreAdminForm(forms.ModelForm):
    """paused_until is shown and typed in the store's own time zone (a manager in Portland types 15:00
    and means 15:00 in Portland), not the server's UTC."""

    class Meta:
        model = Store
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "paused_until" in self.fields and self.instance.pk:
            field = self.fields["paused_until"]
            field.help_text = f"{field.help_text} In the store's local time ({self.instance.timezone})."
            if self.instance.paused_until is not None:
                # Naive local wall-clock time: widgets move aware times to the server's zone, not naive ones.
                self.initial["paused_until"] = self.instance.paused_until.astimezone(self.instance.tz).replace(
                    tzinfo=None)

    def clean_paused_until(self):
        until = self.cleaned_data.get("paused_until")
        if until is None or not self.instance.pk:
            return until
        # The form read the wall-clock time in the server's zone; it meant the store's.
        wall_clock = timezone.make_naive(until, timezone.get_current_timezone())
        return at_store_time(self.instance, wall_clock)

    def clean(self):
        cleaned = super().clean()
        until = cleaned.get("paused_until")
        pause_edited = {"mobile_paused", "paused_until"} & set(self.changed_data)
        if pause_edited and cleaned.get("mobile_paused") and until is not None and until <= timezone.now():
            # A pause that has already ended would look on in admin and off to customers.
            self.add_error("paused_until", "The pause must end in the future (leave empty to pause until resumed).")
        return cleaned


@admin.register(Store)
class StoreAdmin(LiveFieldsMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    form = StoreAdminForm
    store_lookup = ""
    live_fields = PAUSE_FIELDS
    list_display = ("name", "slug", "timezone", "currency", "slot_minutes", "slot_capacity", "mobile_ordering")
    search_fields = ("name", "slug", "address")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (OpeningHoursInline, StationInline, MenuCategoryInline)
    fieldsets = (
        (None, {"fields": ("name", "slug", "timezone", "currency")}),
        ("Location", {"fields": ("address", "latitude", "longitude")}),
        ("Pickup slots", {"fields": ("slot_minutes", "slot_capacity", "min_lead_minutes", "max_days_ahead",
                                     "handoff_seconds")}),
        ("Tax", {"fields": ("tax_rate_percent", "prices_include_tax", "tax_label"),
                 "description": "Charged on every new order (each order keeps the rule it was placed under). "
                                "Rounded once per order, on its subtotal."}),
        ("Mobile ordering pause", {"fields": ("mobile_paused", "pause_reason", "paused_until")}),
    )
    actions = ("pause_mobile_ordering", "pause_with_reason", "resume_mobile_ordering")

    # Opening a store, or closing one for good, is a head-office job, not a store manager's.
    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_readonly_fields(self, request, obj=None):
        # Every menu price of a store is in its currency; changing it would leave them all wrong.
        return ("currency",) if obj is not None else ()

    @admin.display(description="Mobile ordering")
    def mobile_ordering(self, store: Store) -> str:
        # is_mobile_paused() ignores a pause whose end time has passed, so the list shows the truth
        # without writing anything on a page view.
        if not store.is_mobile_paused():
            return "Taking orders"
        until = f" until {store.paused_until.astimezone(store.tz):%a %H:%M}" if store.paused_until else ""
        return f"Paused{until}"

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        _save_changed_fields(obj, form, leave_to_services=PAUSE_FIELDS)
        if set(PAUSE_FIELDS) & set(form.changed_data):
            if obj.mobile_paused:
                # Customers always get a reason: a blank one would read as a broken app.
                store_services.store_pause_mobile(store=obj, reason=obj.pause_reason or ADMIN_PAUSE_REASON,
                                                  until=obj.paused_until)
            else:
                store_services.store_resume_mobile(store=obj)

    @admin.action(description="Pause mobile ordering at selected stores", permissions=["change"])
    def pause_mobile_ordering(self, request, queryset):
        stores = list(queryset)
        for store in stores:
            store_services.store_pause_mobile(store=store, reason=ADMIN_PAUSE_REASON)
        self.message_user(request, f"Mobile ordering paused at {_count(stores, 'store')}. Customers see: "
                                   f"“{ADMIN_PAUSE_REASON}” Open a store to change the message or set an end time.",
                          messages.SUCCESS)

    @admin.action(description="Pause mobile ordering at selected stores, with a reason and an end time…",
                  permissions=["change"])
    def pause_with_reason(self, request, queryset):
        stores = list(queryset)
        form = PauseWithReasonForm(request.POST if "apply" in request.POST else None, stores=stores)
        if form.is_valid():
            until = form.cleaned_data["until"]
            for store in stores:
                store_services.store_pause_mobile(store=store, reason=form.cleaned_data["reason"],
                                                  until=at_store_time(store, until) if until else None)
            ends = f" until {until:%a %d %b %H:%M} local time" if until else " until resumed"
            self.message_user(request, f"Mobile ordering paused at {_count(stores, 'store')}{ends}.",
                              messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/stores/store/pause_with_reason.html", {
            **self.admin_site.each_context(request), "title": "Pause mobile ordering", "form": form,
            "stores": stores, "opts": self.model._meta})

    @admin.action(description="Resume mobile ordering at selected stores", permissions=["change"])
    def resume_mobile_ordering(self, request, queryset):
        stores = list(queryset)
        for store in stores:
            store_services.store_resume_mobile(store=store)
        self.message_user(request, f"Mobile ordering resumed at {_count(stores, 'store')}.", messages.SUCCESS)


class StaffingPeriodInline(CellLabelsMixin, ManagedInlineMixin, admin.TabularInline):
    model = StaffingPeriod
    fields = ("weekday", "starts", "lanes")
    extra = 0
    verbose_name = "staffing change"
    verbose_name_plural = "Staffing by weekday (each start time, store's local time, runs until the next)"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "starts":
            kwargs.setdefault("label", "From (local time)")
            kwargs.setdefault("widget", admin_widgets.AdminTimeWidget(format="%H:%M"))  # a shift starts at 06:30
        elif db_field.name == "lanes":
            kwargs.setdefault("help_text", LANES_HELP)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Station)
class StationAdmin(OneStoreColumnsMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "store", "kind", "default_lanes")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), "kind")
    list_select_related = ("store",)
    search_fields = ("name", "store__name")
    inlines = (StaffingPeriodInline,)

    def get_readonly_fields(self, request, obj=None):
        # A station's menu items and tickets belong to its store; it cannot move to another.
        return ("store", "lanes_over_the_week") if obj is not None else ()

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return super().get_fieldsets(request, obj)
        return ((None, {"fields": ("store", "name", "kind", "default_lanes")}),
                ("Lanes over the week", {"fields": ("lanes_over_the_week",),
                                         "description": f"{LANES_HELP} As saved: change them in the staffing "
                                                        "rows below (a row runs from its start time until the "
                                                        "next row), then save."}))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "default_lanes":
            formfield.help_text = "Lanes at any time no staffing row below covers (e.g. before the first one)."
        return formfield

    @admin.display(description="Lanes")
    def lanes_over_the_week(self, station: Station) -> str:
        rows = format_html_join(
            "", "<tr><th scope='row'>{}</th><td>{}</td></tr>",
            ((day_name, " · ".join(f"{starts:%H:%M} {lanes} lane{'' if lanes == 1 else 's'}" for starts, lanes in day))
             for day_name, day in zip(WEEKDAY_NAMES, staffing_week(station), strict=True)))
        return format_html("<table><thead><tr><th>Day</th><th>From (local time): lanes</th></tr></thead>"
                           "<tbody>{}</tbody></table>", rows)


class BaristaMembershipForm(forms.ModelForm):
    """A manager's "add barista" page: a new account (username and password) or one of their own staff,
    made a barista at one of their stores. Naming any other existing account is refused: a manager
    should neither find out who has an account nor hand a stranger's account staff rights."""

    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="The name the barista signs in with, e.g. sam.k")
    password = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False, strip=False,
                               help_text="For a new account. Leave empty to add someone who already works at "
                                         "one of your stores.")

    class Meta:
        model = StoreMembership
        fields = ("store", "role")

    managed_ids: frozenset[int] = frozenset()  # the signed-in manager's stores, set by StoreMembershipAdmin

    def clean(self):
        cleaned = super().clean()
        username, password, store = cleaned.get("username"), cleaned.get("password", ""), cleaned.get("store")
        if not username:
            return cleaned
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            if not password:
                self.add_error("password", "A new account needs a password.")
            else:
                try:
                    password_validation.validate_password(password, User(username=username))
                except forms.ValidationError as error:
                    self.add_error("password", error)
            return cleaned
        if not StoreMembership.objects.filter(user=user, store__in=self.managed_ids).exists():
            self.add_error("username", "That username is taken. Pick another one for a new account.")
        elif password:
            self.add_error("password", "This person already has an account: leave the password empty.")
        elif store is not None and StoreMembership.objects.filter(user=user, store=store).exists():
            self.add_error("username", f"{username} already works at {store.name}.")
        return cleaned


@admin.register(StoreMembership)
class StoreMembershipAdmin(OneStoreColumnsMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    """Who works where. Superusers grant any role. A manager adds and removes baristas at their own
    stores and nothing else: a manager role is a right to run a store, so it stays with head office, and
    so do other stores' staff."""

    list_display = ("user", "store", "role")
    list_filter = ("role", ("store", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("user", "store")
    search_fields = ("user__username", "user__email", "store__name")
    autocomplete_fields = ("user",)

    def _may_handle(self, request, membership) -> bool:
        if request.user.is_superuser:
            return True
        if membership is None:
            return bool(managed_store_ids(request))
        return membership.role == StoreMembership.BARISTA and membership.store_id in managed_store_ids(request)

    def has_add_permission(self, request):
        return request.user.is_superuser or bool(managed_store_ids(request))

    # Titles in the manager's words: they come here to add a barista, not "a store membership".
    def changelist_view(self, request, extra_context=None):
        if not request.user.is_superuser:
            extra_context = {"title": "Staff at your stores (add or remove baristas)", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        managed = managed_store_ids(request)
        if not request.user.is_superuser and len(managed) == 1:
            initial.setdefault("store", next(iter(managed)))  # one store: nothing to choose
        return initial

    def add_view(self, request, form_url="", extra_context=None):
        if not request.user.is_superuser:
            extra_context = {"title": "Add a barista", **(extra_context or {})}
        return super().add_view(request, form_url, extra_context)

    def has_change_permission(self, request, obj=None):
        # A manager removes a barista and adds them again; editing a membership in place is head office's.
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        if request.user.is_superuser:
            return super().has_delete_permission(request, obj)
        return self._may_handle(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if request.user.is_superuser or obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        kwargs["form"] = BaristaMembershipForm
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"managed_ids": managed_store_ids(request)})

    def get_fields(self, request, obj=None):
        if request.user.is_superuser or obj is not None:
            return super().get_fields(request, obj)
        return ("username", "password", "store", "role")

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [(StoreMembership.BARISTA, "Barista")]
            kwargs["initial"] = StoreMembership.BARISTA
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not isinstance(form, BaristaMembershipForm):
            super().save_model(request, obj, form, change)
            return
        membership = store_services.staff_add_barista(
            store=form.cleaned_data["store"], username=form.cleaned_data["username"],
            password=form.cleaned_data["password"])
        obj.pk, obj.user, obj.role = membership.pk, membership.user, membership.role

    def delete_queryset(self, request, queryset):
        # The bulk delete too removes only what this user may remove, whatever ids were posted.
        if not request.user.is_superuser:
            queryset = queryset.filter(role=StoreMembership.BARISTA, store__in=managed_store_ids(request))
        super().delete_queryset(request, queryset)


# --- Menu -----------------------------------------------------------------------------------------

class ModifierOptionInline(CellLabelsMixin, LiveFieldsMixin, ManagedInlineMixin, admin.TabularInline):
    model = ModifierOption
    live_fields = ("is_available",)
    form = ModifierOptionForm
    formset = ModifierOptionFormSet
    fields = ("name", "price_delta_minor", "price_change", "extra_prep_seconds", "is_default", "is_available",
              "position")
    readonly_fields = ("price_change",)
    extra = 0

    @admin.display(description="Shown as")
    def price_change(self, option: ModifierOption) -> str:
        if option is None or option.pk is None:
            return "–"
        return format_price_change(option.price_delta_minor, option.group.store.currency)


@admin.register(ModifierGroup)
class ModifierGroupAdmin(OneStoreColumnsMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "store", "min_choices", "max_choices", "option_list")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("store",)
    search_fields = ("name", "options__name")
    inlines = (ModifierOptionInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("options")

    def save_formset(self, request, form, formset, change):
        """The options' rows are saved field by field, and an "Available" box ticked or unticked goes through
        `options_set_available`, which logs the 86 and tells the kitchen screens and the app."""
        if formset.model is not ModifierOption:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # sorts the rows into new, changed and deleted ones
        for option in formset.deleted_objects:
            option.delete()
        for option in formset.new_objects:
            option.save()
        toggled: dict[bool, list[ModifierOption]] = {True: [], False: []}
        deleted = set(formset.deleted_forms) if formset.can_delete else set()
        for option_form in formset.initial_forms:
            if option_form in deleted or not option_form.has_changed():
                continue
            _save_changed_fields(option_form.instance, option_form, leave_to_services={"is_available"})
            if "is_available" in option_form.changed_data:
                toggled[option_form.instance.is_available].append(option_form.instance)
        for available, options in toggled.items():
            if options:
                store_services.options_set_available(options=options, available=available, actor=request.user)

    def get_readonly_fields(self, request, obj=None):
        # Items of this store offer the group; moving it to another store would break them.
        return ("store",) if obj is not None else ()

    @admin.display(description="Options")
    def option_list(self, group: ModifierGroup) -> str:
        def shown(option: ModifierOption) -> str:
            notes = [format_price_change(option.price_delta_minor, group.store.currency)] \
                if option.price_delta_minor else []
            if not option.is_available:
                notes.append("86'd")
            return option.name + (f" ({', '.join(notes)})" if notes else "")

        return ", ".join(shown(option) for option in group.options.all())


@admin.register(ModifierOption)
class ModifierOptionAdmin(OneStoreColumnsMixin, CellLabelsMixin, LiveFieldsMixin, StoreScopedAdminMixin,
                          admin.ModelAdmin):
    """Every option of the manager's stores in one list, to 86 oat milk across drinks in two clicks."""

    form = ModifierOptionForm
    live_fields = ("is_available",)  # baristas 86 options too; a stale page must not undo theirs
    store_lookup = "group__store"
    list_display = ("name", "group_name", "store", "price_change", "is_available")
    list_editable = ("is_available",)
    list_filter = (("group__store", admin.RelatedOnlyFieldListFilter),
                   ("is_available", titled_filter(admin.BooleanFieldListFilter, "available")),
                   ("group__name", titled_filter(admin.AllValuesFieldListFilter, "group")))
    list_select_related = ("group__store",)
    search_fields = ("name", "group__name")
    actions = ("mark_unavailable", "mark_available")

    @admin.display(description="Store", ordering="group__store__name")
    def store(self, option: ModifierOption) -> str:
        return option.group.store.name

    @admin.display(description="Group", ordering="group__name")
    def group_name(self, option: ModifierOption) -> str:
        return option.group.name  # the store has its own column

    @admin.display(description="Price change", ordering="price_delta_minor")
    def price_change(self, option: ModifierOption) -> str:
        return format_price_change(option.price_delta_minor, option.group.store.currency)

    def get_readonly_fields(self, request, obj=None):
        # Orders name the option by its group; moving it to another store's group would mix stores.
        return ("group",) if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        group = form.base_fields.get("group")
        if group is not None:  # groups of every store are named alike: say whose
            group.queryset = group.queryset.select_related("store")
            group.label_from_instance = lambda g: f"{g.store.name}: {g.name}"
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "group" and not request.user.is_superuser:
            kwargs["queryset"] = ModifierGroup.objects.filter(store__in=managed_store_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Also used by the list's editable "Available" column.
        if not change:
            super().save_model(request, obj, form, change)
            return
        _save_changed_fields(obj, form, leave_to_services={"is_available"})
        if "is_available" in form.changed_data:
            store_services.options_set_available(options=[obj], available=obj.is_available, actor=request.user)

    @admin.action(description="86 (unavailable) selected options", permissions=["change"])
    def mark_unavailable(self, request, queryset):
        options = list(queryset)
        store_services.options_set_available(options=options, available=False, actor=request.user)
        self.message_user(request, f"86'd {_count(options, 'option')}: {_names(options)}.", messages.SUCCESS)

    @admin.action(description="Back on: selected options available again", permissions=["change"])
    def mark_available(self, request, queryset):
        options = list(queryset)
        store_services.options_set_available(options=options, available=True, actor=request.user)
        self.message_user(request, f"Back on: {_count(options, 'option')}: {_names(options)}.", messages.SUCCESS)


class MenuItemAdminForm(forms.ModelForm):
    price_minor = MoneyField(label="Price", help_text="In the store's currency, e.g. 4.50.")

    class Meta:
        model = MenuItem
        fields = "__all__"
        labels = {"is_active": "On the menu", "eighty_sixed": "86'd (out for now)",
                  "stock_count": "Stock left", "prep_seconds": "Prep time (seconds)",
                  "prep_sd_seconds": "Prep time spread (seconds)", "max_quantity": "Most per order"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "price_minor" in self.fields:
            # The price is read in the currency it is saved with: the one on the form (a new item's or a
            # changed one; the model refuses any but the store's), else the item's.
            typed = self.data.get(self.add_prefix("currency"), "") if self.is_bound else ""
            self.fields["price_minor"].currency = typed.strip().upper() or self.instance.currency

    def clean(self):
        cleaned = super().clean()
        store = cleaned.get("store") or (self.instance.store if self.instance.store_id else None)
        groups = cleaned.get("modifier_groups")
        if store is not None and groups:
            foreign = [group.name for group in groups if group.store_id != store.pk]
            if foreign:
                self.add_error("modifier_groups", f"Not modifiers of {store.name}: {', '.join(foreign)}.")
        return cleaned


@admin.register(MenuItem)
class MenuItemAdmin(OneStoreColumnsMixin, CellLabelsMixin, LiveFieldsMixin, StoreScopedAdminMixin,
                    admin.ModelAdmin):
    form = MenuItemAdminForm
    live_fields = ("stock_count", "eighty_sixed", "is_active")
    # Narrow enough for a 1280 px laptop with the menu sidebar and the filters open (stock and 86 on screen).
    list_display = ("name", "store", "category", "station_name", "price", "prep_time", "stock_count", "eighty_sixed",
                    "is_active")
    list_editable = ("stock_count", "eighty_sixed", "is_active")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), ("category", StoreQualifiedFilter),
                   ("station", admin.RelatedOnlyFieldListFilter),
                   ("eighty_sixed", titled_filter(admin.BooleanFieldListFilter, "86'd")),
                   ("is_active", titled_filter(admin.BooleanFieldListFilter, "on the menu")))
    list_select_related = ("store", "category", "station__store")
    search_fields = ("name", "description")
    filter_horizontal = ("modifier_groups",)
    fieldsets = (
        (None, {"fields": ("store", "name", "description", "category", "position", "is_active")}),
        ("Price", {"fields": ("price_minor", "currency")}),
        ("Kitchen", {"fields": ("station", "prep_seconds", "prep_sd_seconds", "learned_prep", "max_quantity")}),
        ("Stock", {"fields": ("stock_count", "eighty_sixed")}),
        ("Modifiers", {"fields": ("modifier_groups",)}),
    )
    actions = ("mark_86", "unmark_86", "reset_learned_prep")

    @admin.display(description="Price", ordering="price_minor")
    def price(self, item: MenuItem) -> str:
        return format_money(item.price_minor, item.currency)

    @admin.display(description="Station", ordering="station__name")
    def station_name(self, item: MenuItem) -> str:
        return item.station.name  # the store has its own column

    def get_queryset(self, request):
        # What the kitchen learned (the items' own rows, their stations' paces), for the prep column: two
        # queries for the page, not two per item.
        paces = Prefetch("station__learned_prep_times", to_attr="paces",
                         queryset=LearnedPrepTime.objects.filter(item__isnull=True))
        return super().get_queryset(request).prefetch_related("learned_prep_times", paces)

    def _learned(self, item: MenuItem) -> list[tuple[int, LearnedPrepTime | None, LearnedPrepTime | None]]:
        """(daypart, the item's row, its station's pace row) for each daypart with either, at the item's
        current station (a moved item learns afresh)."""
        own = {row.daypart: row for row in item.learned_prep_times.all() if row.station_id == item.station_id}
        paces = {row.daypart: row for row in getattr(item.station, "paces", [])}
        return [(part, own.get(part), paces.get(part)) for part in sorted(own.keys() | paces.keys())]

    @admin.display(description="Prep s (set → planned)")
    def prep_time(self, item: MenuItem) -> str:
        """Configured against what the quote plans with now (learned in this daypart, shrunk toward the
        configured time). Short, so 86 stays on a laptop screen; the spread and samples are on the item's page."""
        daypart = store_daypart(item.store, timezone.now())
        row, pace = next(((own, pace) for part, own, pace in self._learned(item) if part == daypart), (None, None))
        if row is None and pace is None:
            return f"{item.prep_seconds}"
        mean, _sd = item_prep_to_plan(item, learned=(learned_state(row), learned_state(pace)))
        return f"{item.prep_seconds} → {mean}"

    @admin.display(description="Learned prep time")
    def learned_prep(self, item: MenuItem):
        """Per daypart: samples, the learned mean and spread, and what the quote plans with (shrunk toward the
        configured time while samples are few)."""
        rows = self._learned(item) if item.pk else []
        if not rows:
            return "Nothing learned yet: orders are planned with the configured time."
        shown = []
        for part, own, pace in rows:
            state, pace_state = learned_state(own), learned_state(pace)
            shown.append((DAYPART_NAMES[part], state.n, f"{state.mean_s:.0f} s" if state.n else "-",
                          f"{state.var_s2 ** 0.5:.0f} s" if state.n else "-",
                          f"x{planned_prep(pace_state, 1.0, 0.0)[0]:.2f} ({pace_state.n})",
                          *item_prep_to_plan(item, learned=(state, pace_state))))
        return format_html(
            "<table><tr><th>Daypart</th><th>Made</th><th>Learned mean</th><th>Spread</th>"
            "<th>Station pace (samples)</th><th>Planned (mean ± sd)</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                 "<td>{} s ± {} s</td></tr>", shown))

    def get_readonly_fields(self, request, obj=None):
        # Past orders point at the item; moving it to another store would rewrite their history.
        return ("store", "learned_prep") if obj is not None else ("learned_prep",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            # The store is fixed now, so offer only its categories, stations and modifiers.
            for name in ("category", "station", "modifier_groups"):
                if name in form.base_fields:
                    field = form.base_fields[name]
                    field.queryset = field.queryset.filter(store_id=obj.store_id)
        else:
            category = form.base_fields.get("category")
            if category is not None:
                category.queryset = category.queryset.select_related("store")
                category.label_from_instance = lambda c: f"{c.store.name}: {c.name}"
        return form

    def save_model(self, request, obj, form, change):
        # Also used by the list's editable columns.
        if not change:
            super().save_model(request, obj, form, change)
            return
        _save_changed_fields(obj, form, leave_to_services={"eighty_sixed"})
        if "eighty_sixed" in form.changed_data:
            store_services.item_set_86(item=obj, eighty_sixed=obj.eighty_sixed, actor=request.user)

    @admin.action(description="86 selected items (unavailable on every channel)", permissions=["change"])
    def mark_86(self, request, queryset):
        items = list(queryset)
        for item in items:
            store_services.item_set_86(item=item, eighty_sixed=True, actor=request.user)
        self.message_user(request, f"86'd {_count(items, 'item')}: {_names(items)}.", messages.SUCCESS)

    @admin.action(description="Un-86 selected items (available again)", permissions=["change"])
    def unmark_86(self, request, queryset):
        items = list(queryset)
        for item in items:
            store_services.item_set_86(item=item, eighty_sixed=False, actor=request.user)
        self.message_user(request, f"Back on the menu: {_count(items, 'item')}: {_names(items)}.",
                          messages.SUCCESS)

    @admin.action(description="Reset learned prep time (plan with the configured time again; resets the "
                              "stations' pace too)", permissions=["change"])
    def reset_learned_prep(self, request, queryset):
        items = list(queryset)
        store_services.learned_prep_reset(items=items)
        self.message_user(request, f"Learned prep times reset for {_count(items, 'item')}: {_names(items)}; "
                                   "they are planned with their configured times until the kitchen bumps more.",
                          messages.SUCCESS)


def _count(objects: list, noun: str) -> str:
    return f"{len(objects)} {noun}{'' if len(objects) == 1 else 's'}"


def _names(objects: list, limit: int = 5) -> str:
    names = [getattr(obj, "name", str(obj)) for obj in objects[:limit]]
    more = len(objects) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")
