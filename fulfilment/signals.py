"""Staffing changes re-plan the store: fewer lanes can move ready times, more can bring them forward.

`stores` cannot call `fulfilment` (dependencies run one way), so fulfilment listens to its models.
The re-plan runs after the commit, so an admin save never waits on the store lock mid-transaction.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from stores.models import StaffingPeriod, Station, Store


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


@receiver([post_save, post_delete], sender=Station)
def station_changed(sender, instance: Station, **kwargs):
    _replan_after_commit(instance.store_id)
