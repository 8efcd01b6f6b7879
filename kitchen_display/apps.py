from django.apps import AppConfig


class KitchenDisplayConfig(AppConfig):
    name = "kitchen_display"
    verbose_name = "Kitchen display"

    def ready(self):
        from fulfilment.services.outbox import store_events_committed
        from kitchen_display.relay import on_events_committed

        # After each commit that wrote outbox rows: push them to the screens (see relay.py).
        store_events_committed.connect(on_events_committed, dispatch_uid="kitchen_display.relay")
