from django.apps import AppConfig


class AgendaConfig(AppConfig):
    name = "rapport.agenda"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rapport.agenda.actions import refresh_after_change
        from rapport.clients import signals

        def follow(sender, workspace, contact_ids, **kwargs):
            refresh_after_change(workspace, contact_ids)

        # The record tells the agenda that facts changed; the agenda follows.
        signals.facts_changed.connect(follow, dispatch_uid="agenda-follows-the-record", weak=False)
