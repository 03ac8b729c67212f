from django.apps import AppConfig


class WinbackConfig(AppConfig):
    name = "rapport.winback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Service recovery and win-back join the agenda's rules and gates.
        from rapport.agenda import signals
        from rapport.winback import actions, rules  # noqa: F401

        signals.morning.connect(actions.morning, dispatch_uid="winback-morning", weak=False)
        # The stored lapse figures follow every change of the record and of
        # the workspace's settings, as the agenda does.
        from rapport.clients.signals import facts_changed
        from rapport.workspaces.signals import settings_changed

        facts_changed.connect(
            actions.follow_the_record, dispatch_uid="winback-follows-the-record", weak=False
        )
        settings_changed.connect(
            actions.follow_the_record, dispatch_uid="winback-follows-settings", weak=False
        )
