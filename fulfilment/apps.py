from django.apps import AppConfig


class FulfilmentConfig(AppConfig):
    name = "fulfilment"
    verbose_name = "Orders and fulfilment"

    def ready(self):
        from fulfilment import signals  # noqa: F401  (connects the staffing re-plan)
