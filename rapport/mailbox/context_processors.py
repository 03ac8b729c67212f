from django.conf import settings


def mailbox(request):
    """`dev_mailbox`: mail is kept here, not delivered (for the banner)."""
    return {"dev_mailbox": settings.EMAIL_BACKEND == settings.MAILBOX_BACKEND}
