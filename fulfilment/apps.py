from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "fulfilment"
    verbose_name = "Orders and fulfilment"

    def ready(self):
        from fulfilment import signals  # noqa: F401  (connects the staffing re-plan)

        # Modules that react to an order's moves register their after-commit effects with
        # fulfilment.services.lifecycle when imported; import them here so every process has them
        # before its first transition (the lifecycle never imports them itself).
        # payments releases or refunds a cancelled order's payment; notifications tells the customer a ready
        # order is ready; loyalty credits stars after pickup and gives spent ones back on a cancel.
        from fulfilment.services import loyalty, notifications, payments  # noqa: F401
