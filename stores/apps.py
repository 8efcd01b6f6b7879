from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores and menus"

    def ready(self):
        from stores import signals  # noqa: F401  connects the receivers
