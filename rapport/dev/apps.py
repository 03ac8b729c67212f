from django.apps import AppConfig


class DevConfig(AppConfig):
    """The demo and the benchmarks: built on every other app, used by none."""

    name = "rapport.dev"
    label = "dev"
    default_auto_field = "django.db.models.BigAutoField"
