"""The one way views reach a domain object: scoped to the request's
workspace, 404 otherwise. A user of workspace A asking for an object of
workspace B learns nothing, not even that it exists."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404, redirect


def get_in_workspace(model_or_queryset: type[Model] | QuerySet, workspace, **lookup):
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return get_object_or_404(queryset.filter(workspace=workspace), **lookup)


def workspace_required(view):
    """Signed in and a member of a workspace; else to log-in or to sign-up."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership:
            return redirect("workspaces:create")
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view):
    @workspace_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.membership.is_owner:
            raise PermissionDenied("Only an owner of this workspace can do that.")
        return view(request, *args, **kwargs)

    return wrapper
