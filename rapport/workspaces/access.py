"""The one way views reach a domain object, and the one way they check a role.

Objects: scoped to the request's workspace, 404 otherwise. A user of
workspace A asking for an object of workspace B learns nothing, not even that
it exists.

Roles: a view asks for a capability (models.Capability), never for a role, and
the role → capability table lives in one place (models.GRANTS). The membership
is read afresh on every request (WorkspaceMiddleware), so a member removed or
demoted is out on their next request.
"""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404, redirect

from rapport.workspaces.models import Capability

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_in_workspace(model_or_queryset: type[Model] | QuerySet, workspace, **lookup):
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return get_object_or_404(queryset.filter(workspace=workspace), **lookup)


def requires(capability: str, *, reading: str = Capability.READ):
    """Decorator: signed in, a member of a workspace, and allowed to do this.

    `capability` guards the methods that change something (POST and the
    rest); `reading` guards GET and HEAD, so one view can show a settings page
    to every member and save it only for those who may. Signed out → log in;
    no workspace → create one; not allowed → 403.
    """

    def decorate(view):
        @login_required
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = request.membership
            if not membership:
                return redirect("workspaces:create")
            needed = reading if request.method in SAFE_METHODS else capability
            if not membership.can(needed):
                raise PermissionDenied(
                    f"Your role ({membership.get_role_display().lower()}) cannot do that here."
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# One decorator per capability. Reading (GET) is open to every role unless
# the page itself is the privileged thing (erasure, export, the security log).
work_required = requires(Capability.WORK)
configure_required = requires(Capability.CONFIGURE)
import_required = requires(Capability.CONFIGURE, reading=Capability.CONFIGURE)
export_required = requires(Capability.EXPORT, reading=Capability.EXPORT)
members_required = requires(Capability.MANAGE_MEMBERS)
erase_required = requires(Capability.ERASE, reading=Capability.ERASE)
# A member's own preferences (their calendar feed, their digest) are theirs to
# change, whatever their role: they change nothing of the workspace's.
personal_required = requires(Capability.READ)
# A form to do some work (an outcome, a step): even showing it needs the work.
work_form_required = requires(Capability.WORK, reading=Capability.WORK)
audit_required = requires(Capability.AUDIT, reading=Capability.AUDIT)

# The names views used before roles were finer: any view that only asked for
# a workspace now lets viewers read and everyone else do the daily work.
workspace_required = work_required
owner_required = requires(Capability.MANAGE_MEMBERS, reading=Capability.MANAGE_MEMBERS)
