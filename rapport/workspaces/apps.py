from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "rapport.workspaces"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Sign-in, sign-out and failures go to the security log.
        from rapport.workspaces import auth  # noqa: F401
