from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "rapport.workspaces"
    default_auto_field = "django.db.models.BigAutoField"
