from django.apps import AppConfig


class WinbackConfig(AppConfig):
    name = "rapport.winback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Service recovery and win-back join the agenda's rules and gates.
        from rapport.agenda import signals
        from rapport.winback import actions, rules  # noqa: F401

        signals.morning.connect(actions.morning, dispatch_uid="winback-morning", weak=False)
