"""Stores, their kitchens (stations, lanes over the day) and their menus with live stock.

This app knows nothing of orders or payments: fulfilment builds on it.
"""

import secrets
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core_native.learning import DAYPART_CHOICES


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/London)") from None


def new_config_version() -> int:
    """A random stamp rather than a counter: a store re-created with the same id (a test database, a
    restore) never meets a stamp that another copy of it had, so no process serves the other copy's data."""
    return secrets.randbits(62)


def validate_currency(value: str) -> None:
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValidationError("Currency must be a three-letter ISO 4217 code such as USD or EUR")


class Store(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    address = models.CharField(max_length=255, blank=True)
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])

    slot_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Width of a pickup slot.")
    slot_capacity = models.PositiveSmallIntegerField(
        default=10, help_text="Most mobile orders promised for one slot (orders awaiting payment count).")
    min_lead_minutes = models.PositiveSmallIntegerField(
        default=5, help_text="A scheduled pickup must be at least this far ahead.")
    max_days_ahead = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(0), MaxValueValidator(7)],
        help_text="How far ahead a scheduled order may be placed (a card authorisation lasts 7 days).")
    handoff_seconds = models.PositiveSmallIntegerField(
        default=20, help_text="From the last item done to the order on the pickup shelf.")

    # Tax is a rate, not money, so it is a decimal; the tax amount of an order is integer minor units,
    # rounded once per order (fulfilment.services.pricing).
    tax_rate_percent = models.DecimalField(
        max_digits=6, decimal_places=3, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Sales tax or VAT rate in percent, e.g. 8.875.")
    prices_include_tax = models.BooleanField(
        default=False, help_text="Menu prices already include the tax (VAT style); otherwise it is added at checkout.")
    tax_label = models.CharField(max_length=30, default="Tax", help_text='Shown on receipts, e.g. "Sales tax" or "VAT".')

    mobile_paused = models.BooleanField(default=False, help_text="Stop taking mobile orders.")
    pause_reason = models.CharField(max_length=200, blank=True, help_text="Shown to customers while paused.")
    paused_until = models.DateTimeField(
        null=True, blank=True, help_text="Mobile ordering resumes by itself at this time (empty: until switched off).")
    # Changes whenever the store, its stations, staffing, opening hours or payment policy change: the key
    # under which each process keeps its copy of them (stores.config_cache), read with the store's own row.
    config_version = models.BigIntegerField(default=new_config_version, editable=False)
    # Changes whenever what the kitchen learned of its prep times changes (a bump with a sample, a reset):
    # the key of each process's copy of them (stores.config_cache.store_learned_prep).
    learned_version = models.BigIntegerField(default=new_config_version, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def is_mobile_paused(self, now=None) -> bool:
        """Paused, unless the pause had an end time that has passed."""
        if not self.mobile_paused:
            return False
        now = now or timezone.now()
        return self.paused_until is None or now < self.paused_until


class OpeningHours(models.Model):
    """One opening period on one weekday, in the store's local time. Several per day are allowed."""

    MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
    WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"),
                (4, "Friday"), (5, "Saturday"), (6, "Sunday")]

    store = models.ForeignKey(Store, related_name="opening_hours", on_delete=models.CASCADE)
    weekday = models.PositiveSmallIntegerField(choices=WEEKDAYS)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["store", "weekday", "opens"]
        verbose_name_plural = "opening hours"
        constraints = [models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")),
                                              name="opening_hours_closes_after_opens")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    def clean(self):
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValidationError("Closing time must be after opening time (split a period that crosses midnight).")


class Station(models.Model):
    """A place in the kitchen that makes items; its lanes are the people/machines working in parallel."""

    KINDS = [("espresso", "Espresso bar"), ("cold", "Cold bar"), ("oven", "Oven / food"),
             ("handoff", "Handoff / expo"), ("other", "Other")]

    store = models.ForeignKey(Store, related_name="stations", on_delete=models.CASCADE)
    name = models.CharField(max_length=60)
    kind = models.CharField(max_length=20, choices=KINDS, default="other")
    default_lanes = models.PositiveSmallIntegerField(
        default=1, help_text="Lanes when no staffing period covers the time.")

    class Meta:
        ordering = ["store", "name"]
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="station_unique_name_per_store")]

    def __str__(self) -> str:
        return f"{self.store.name}: {self.name}"


class StaffingPeriod(models.Model):
    """From `starts` on `weekday` (store local time) the station runs `lanes` lanes, until the next period."""

    station = models.ForeignKey(Station, related_name="staffing", on_delete=models.CASCADE)
    weekday = models.PositiveSmallIntegerField(choices=OpeningHours.WEEKDAYS)
    starts = models.TimeField()
    lanes = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["station", "weekday", "starts"]
        constraints = [models.UniqueConstraint(fields=["station", "weekday", "starts"],
                                               name="staffing_unique_start")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} from {self.starts:%H:%M}: {self.lanes} lane{'' if self.lanes == 1 else 's'}"


class StoreMembership(models.Model):
    """A staff member's role at one store. Staff endpoints and screens check this, not is_staff."""

    BARISTA, MANAGER = "barista", "manager"
    ROLES = [(BARISTA, "Barista"), (MANAGER, "Manager")]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="store_memberships", on_delete=models.CASCADE)
    store = models.ForeignKey(Store, related_name="memberships", on_delete=models.CASCADE)
    role = models.CharField(max_length=20, choices=ROLES)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="membership_unique_user_store")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.store}"


class MenuCategory(models.Model):
    store = models.ForeignKey(Store, related_name="categories", on_delete=models.CASCADE)
    name = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["store", "position", "name"]
        verbose_name_plural = "menu categories"

    def __str__(self) -> str:
        return self.name


class ModifierGroup(models.Model):
    """A choice on an item (size, milk, syrup); shared by the items of one store that offer it."""

    store = models.ForeignKey(Store, related_name="modifier_groups", on_delete=models.CASCADE)
    name = models.CharField(max_length=80)
    min_choices = models.PositiveSmallIntegerField(default=0)
    max_choices = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["store", "position", "name"]
        constraints = [models.CheckConstraint(condition=models.Q(max_choices__gte=models.F("min_choices")),
                                              name="modifier_group_max_at_least_min")]

    def __str__(self) -> str:
        return f"{self.name} ({self.store.name})"

    def clean(self):
        if self.max_choices < self.min_choices:
            raise ValidationError("Max choices cannot be below min choices.")


class ModifierOption(models.Model):
    group = models.ForeignKey(ModifierGroup, related_name="options", on_delete=models.CASCADE)
    name = models.CharField(max_length=80)
    price_delta_minor = models.IntegerField(default=0, help_text="Added to the item price, in minor units (cents).")
    extra_prep_seconds = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    is_available = models.BooleanField("available", default=True, help_text="Untick to 86 it: it cannot be chosen.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["group", "position", "name"]

    def __str__(self) -> str:
        return f"{self.group.name}: {self.name}"


class MenuItem(models.Model):
    store = models.ForeignKey(Store, related_name="menu_items", on_delete=models.CASCADE)
    category = models.ForeignKey(MenuCategory, related_name="items", on_delete=models.PROTECT)
    station = models.ForeignKey(Station, related_name="menu_items", on_delete=models.PROTECT)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    price_minor = models.PositiveIntegerField(help_text="Price in minor units (cents).")
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    prep_seconds = models.PositiveIntegerField(help_text="Expected (mean) time to make one.")
    prep_sd_seconds = models.PositiveIntegerField(default=0, help_text="Spread (standard deviation) of the prep time.")
    max_quantity = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    modifier_groups = models.ManyToManyField(ModifierGroup, related_name="items", blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField("on the menu", default=True, help_text="Listed on the menu.")
    # Stock: None is unlimited. Reservation is a conditional UPDATE (see stores.services.stock_reserve).
    stock_count = models.IntegerField(null=True, blank=True, help_text="Units left; empty for unlimited.")
    eighty_sixed = models.BooleanField("86'd", default=False,
                                       help_text="86: temporarily unavailable on every channel.")

    class Meta:
        ordering = ["store", "category__position", "position", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock_count__isnull=True) | models.Q(stock_count__gte=0),
                                   name="menu_item_stock_never_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.store.name})"

    def clean(self):
        errors = {}
        if self.station_id and self.store_id and self.station.store_id != self.store_id:
            errors["station"] = "The station must belong to the same store."
        if self.category_id and self.store_id and self.category.store_id != self.store_id:
            errors["category"] = "The category must belong to the same store."
        if self.store_id and self.currency != self.store.currency:
            errors["currency"] = f"Prices at {self.store.name} are in {self.store.currency}."
        if errors:
            raise ValidationError(errors)

    @property
    def is_available(self) -> bool:
        return self.is_active and not self.eighty_sixed and (self.stock_count is None or self.stock_count > 0)

    @property
    def unavailable_reason(self) -> str:
        if not self.is_active:
            return "not on the menu"
        if self.eighty_sixed:
            return "temporarily unavailable"
        if self.stock_count is not None and self.stock_count <= 0:
            return "sold out"
        return ""


class AvailabilityChange(models.Model):
    """One item or modifier option going out (86) or coming back, and who did it: the record the dashboard
    reads to say what ran out today and for how long. Written only by `stores.services` (`item_set_86`,
    `options_set_available`), and only for a real change."""

    store = models.ForeignKey(Store, related_name="availability_changes", on_delete=models.CASCADE)
    item = models.ForeignKey(MenuItem, null=True, blank=True, related_name="availability_changes",
                             on_delete=models.CASCADE)
    option = models.ForeignKey(ModifierOption, null=True, blank=True, related_name="availability_changes",
                               on_delete=models.CASCADE)
    out = models.BooleanField(help_text="True: went out (86'd); False: came back.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+",
                              on_delete=models.SET_NULL)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["store", "at"], name="availability_store_at")]
        constraints = [models.CheckConstraint(
            condition=(models.Q(item__isnull=False, option__isnull=True)
                       | models.Q(item__isnull=True, option__isnull=False)),
            name="availability_item_xor_option")]

    def __str__(self) -> str:
        what = self.item or self.option
        return f"{what} {'out' if self.out else 'back'} at {self.at:%Y-%m-%d %H:%M}"


class LearnedPrepTime(models.Model):
    """What the kitchen really takes, learned from its bumps: the running state of `core_native.learning`
    (samples seen, their robust mean and variance). A row with an item: one unit of that item at a station in
    a daypart, in seconds. A row without: the station's pace in the daypart, the ratio of real to configured
    time over all its items (an item's learned time is shrunk toward configured x pace). Written only by
    `stores.services.learned_prep_record`, in the transaction of the bump that finished the item; read by
    `stores.selectors.item_prep_to_plan`. No row: nothing learned yet."""

    item = models.ForeignKey(MenuItem, null=True, blank=True, related_name="learned_prep_times",
                             on_delete=models.CASCADE)
    # The item's station when it was made: an item moved to another station starts learning afresh there.
    station = models.ForeignKey(Station, related_name="learned_prep_times", on_delete=models.CASCADE)
    daypart = models.PositiveSmallIntegerField(choices=DAYPART_CHOICES)
    samples = models.PositiveIntegerField(default=0)
    mean_seconds = models.FloatField(default=0.0, help_text="Seconds per unit; for a station's pace, the ratio.")
    variance_seconds2 = models.FloatField(default=0.0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["station", "item", "daypart"]
        constraints = [
            models.UniqueConstraint(fields=["item", "station", "daypart"], condition=models.Q(item__isnull=False),
                                    name="learned_prep_unique_item_station_daypart"),
            models.UniqueConstraint(fields=["station", "daypart"], condition=models.Q(item__isnull=True),
                                    name="learned_prep_unique_station_pace"),
        ]

    def __str__(self) -> str:
        if self.item_id is None:
            return f"{self.station.name} pace ({self.get_daypart_display()}): x{self.mean_seconds:.2f}"
        return f"{self.item.name} ({self.get_daypart_display()}): {self.mean_seconds:.0f} s over {self.samples}"
