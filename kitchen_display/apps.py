from django.apps import AppConfig


class KitchenDisplayConfig(AppConfig):
    name = "kitchen_display"
    verbose_name = "Kitchen display"
