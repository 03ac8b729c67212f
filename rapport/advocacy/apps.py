from django.apps import AppConfig


class AdvocacyConfig(AppConfig):
    name = "rapport.advocacy"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Thank-yous, referrals left waiting and gives join the agenda's rules.
        from rapport.advocacy import rules  # noqa: F401
