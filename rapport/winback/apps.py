from django.apps import AppConfig


class WinbackConfig(AppConfig):
    name = "rapport.winback"
    default_auto_field = "django.db.models.BigAutoField"
