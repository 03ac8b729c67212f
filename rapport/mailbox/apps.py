from django.apps import AppConfig


class MailboxConfig(AppConfig):
    name = "rapport.mailbox"
    verbose_name = "Development mailbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rapport.mailbox import receivers  # noqa: F401
