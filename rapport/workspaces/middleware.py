from django.utils.functional import SimpleLazyObject

from rapport.workspaces.models import Membership

SESSION_KEY = "workspace_id"


def _membership(request) -> Membership | None:
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("workspace").filter(user=request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen is not None:
        membership = memberships.filter(workspace_id=chosen).first()
        if membership:
            return membership
    return memberships.order_by("created_at", "id").first()


class WorkspaceMiddleware:
    """Sets request.membership and request.workspace (None when signed out).

    The workspace comes from the session but only through one of the user's
    own memberships, so a forged session value can never reach another tenant.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership(request))
        request.workspace = SimpleLazyObject(
            lambda: request.membership.workspace if request.membership else None
        )
        return self.get_response(request)
