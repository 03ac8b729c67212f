from django.apps import AppConfig


class AdvocacyConfig(AppConfig):
    name = "rapport.advocacy"
    default_auto_field = "django.db.models.BigAutoField"
