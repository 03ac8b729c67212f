from django.apps import AppConfig


class OutreachConfig(AppConfig):
    name = "rapport.outreach"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rapport.clients import hooks
        from rapport.outreach import timeline

        hooks.add_timeline_source("outreach", timeline.asks)
