"""A store's stations, staffing and opening hours are kept by every process (stores.config_cache) under the
store's `config_version`: any save or delete of them, or of the store itself, gives it a new one."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from stores.config_cache import config_changed, store_row_saved
from stores.models import OpeningHours, StaffingPeriod, Station, Store

# Sent by `stores.services.options_set_available`, inside its transaction, with `options=[ModifierOption, ...]`
# that went out or came back (their `is_available` is the new value). Options change in one UPDATE, which
# sends no post_save, so fulfilment listens here to tell the screens and the customer app after the commit.
options_availability_changed = Signal()


@receiver(post_save, sender=Store)
def store_saved(sender, instance: Store, **kwargs):
    store_row_saved(instance.pk)


@receiver([post_save, post_delete], sender=Station)
@receiver([post_save, post_delete], sender=OpeningHours)
def store_row_changed(sender, instance, **kwargs):
    config_changed(instance.store_id)


@receiver([post_save, post_delete], sender=StaffingPeriod)
def staffing_changed(sender, instance: StaffingPeriod, **kwargs):
    config_changed(Station.objects.filter(pk=instance.station_id).values_list("store_id", flat=True).first() or 0)
