from django.conf import settings
from django.core.paginator import Paginator
from django.template.response import TemplateResponse

from rapport.mailbox.middleware import SESSION_KEY
from rapport.mailbox.models import Message
from rapport.workspaces.access import audit_required
from rapport.workspaces.models import Membership

PAGE_SIZE = 25


def _render(request, messages, template_context):
    page = Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "active": settings.EMAIL_BACKEND == settings.MAILBOX_BACKEND,
        **template_context,
    }
    return TemplateResponse(request, "mailbox/mailbox.html", context)


# Owners only: the messages hold every client's secret links.
@audit_required
def workspace_mailbox(request):
    """Every message the workspace sent while mail goes to the mailbox."""
    workspace = request.workspace
    emails = (
        Membership.objects.filter(workspace=workspace)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    messages = Message.objects.for_workspace(workspace, list(emails))
    return _render(
        request, messages, {"nav": "settings", "section": "mailbox", "scope": "workspace"}
    )


def sent_here(request):
    """The mail this browser caused (a sign-up link, a password reset), for
    someone who has no account to read it with yet. Nothing else: the ids
    are in the session, which only this browser holds."""
    ids = request.session.get(SESSION_KEY, [])
    messages = Message.objects.filter(pk__in=ids)
    return _render(request, messages, {"scope": "browser"})
