"""Staffing changes re-plan the store: fewer lanes can move ready times, more can bring them forward.
An item or a modifier option marked 86 (or back) from Django admin reaches the screens and the app like one
marked on a screen.

`stores` cannot call `fulfilment` (dependencies run one way), so fulfilment listens to its models.
The re-plan runs after the commit, so an admin save never waits on the store lock mid-transaction.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from fulfilment.models import StoreFulfilmentSettings, StorePaymentPolicy
from stores.config_cache import config_changed
from stores.models import MenuItem, ModifierOption, StaffingPeriod, Station, Store
from stores.signals import options_availability_changed


def _replan_after_commit(store_id: int) -> None:
    def replan():
        from fulfilment.services.scheduling import store_replan

        with transaction.atomic():
            store = Store.objects.select_for_update().filter(pk=store_id).first()
            if store is not None:
                store_replan(store=store, now=timezone.now())

    transaction.on_commit(replan)


@receiver([post_save, post_delete], sender=StaffingPeriod)
def staffing_changed(sender, instance: StaffingPeriod, **kwargs):
    _replan_after_commit(instance.station.store_id)


@receiver([post_save, post_delete], sender=StorePaymentPolicy)
def payment_policy_changed(sender, instance: StorePaymentPolicy, **kwargs):
    config_changed(instance.store_id)  # every process reads the policy again (stores.config_cache)


@receiver([post_save, post_delete], sender=StoreFulfilmentSettings)
def fulfilment_settings_changed(sender, instance: StoreFulfilmentSettings, **kwargs):
    config_changed(instance.store_id)  # every process reads the settings again (stores.config_cache)
    _replan_after_commit(instance.store_id)  # a new hold limit moves when held orders start


@receiver([post_save, post_delete], sender=Station)
def station_changed(sender, instance: Station, **kwargs):
    _replan_after_commit(instance.store_id)


@receiver(post_save, sender=MenuItem)
def menu_item_changed(sender, instance: MenuItem, update_fields=None, **kwargs):
    # The kitchen's own 86 action writes its event in its transaction and marks the instance.
    if getattr(instance, "_announced", False):
        return
    if update_fields is not None and not {"eighty_sixed", "is_active", "stock_count"} & set(update_fields):
        return
    store_id, item_id = instance.store_id, instance.pk

    def announce():
        from fulfilment.services.outbox import outbox_menu_item

        with transaction.atomic():
            store = Store.objects.select_for_update().filter(pk=store_id).first()
            item = MenuItem.objects.filter(pk=item_id).first()
            if store is not None and item is not None:
                outbox_menu_item(store=store, item=item)

    transaction.on_commit(announce)


@receiver(options_availability_changed)
def options_availability_announce(sender, options: list[ModifierOption], **kwargs):
    # The kitchen's own option 86 writes its event in its transaction and marks the options.
    by_store: dict[int, list[int]] = {}
    for option in options:
        if not getattr(option, "_announced", False):
            by_store.setdefault(option.group.store_id, []).append(option.pk)
    for store_id, option_ids in by_store.items():
        transaction.on_commit(lambda store_id=store_id, option_ids=option_ids: _announce_options(store_id, option_ids))


def _announce_options(store_id: int, option_ids: list[int]) -> None:
    """The options as they are now (a later change may have followed), one event each, store row locked."""
    from fulfilment.services.outbox import outbox_menu_option

    with transaction.atomic():
        store = Store.objects.select_for_update().filter(pk=store_id).first()
        if store is None:
            return
        for option in ModifierOption.objects.filter(pk__in=option_ids).select_related("group").order_by("pk"):
            outbox_menu_option(store=store, option=option)
