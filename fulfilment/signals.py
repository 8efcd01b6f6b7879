"""Staffing changes re-plan the store: fewer lanes can move ready times, more can bring them forward.
An item marked 86 (or back) from Django admin reaches the screens and the app like one marked on a screen.

`stores` cannot call `fulfilment` (dependencies run one way), so fulfilment listens to its models.
The re-plan runs after the commit, so an admin save never waits on the store lock mid-transaction.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from fulfilment.models import StorePaymentPolicy
from stores.config_cache import config_changed
from stores.models import MenuItem, StaffingPeriod, Station, Store


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
