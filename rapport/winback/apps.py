from django.apps import AppConfig


class WinbackConfig(AppConfig):
    name = "rapport.winback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Service recovery and win-back join the agenda's rules and gates.
        from rapport.winback import rules  # noqa: F401
