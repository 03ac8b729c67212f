import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.workspaces import actions, signals
from rapport.workspaces.access import get_in_workspace, owner_required, workspace_required
from rapport.workspaces.forms import (
    InviteForm,
    RoleForm,
    SignupForm,
    WorkspaceFields,
    WorkspaceSettingsForm,
)
from rapport.workspaces.middleware import SESSION_KEY
from rapport.workspaces.models import Invitation, Membership, hash_token

log = logging.getLogger(__name__)


def home(request):
    if request.user.is_authenticated:
        return redirect("agenda:today")
    return redirect("login")


def signup(request):
    if not settings.SIGNUP_OPEN:
        raise Http404("Sign-up is closed on this server.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user, workspace = actions.sign_up(
            email=data["email"],
            password=data["password"],
            first_name=data["first_name"],
            workspace_name=data["workspace_name"],
            time_zone=data["time_zone"],
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_KEY] = workspace.pk
        messages.success(
            request, f"Welcome to Rapport. {workspace.name} is ready: add or import your clients."
        )
        return redirect(next_url(request, "agenda:today"))
    return TemplateResponse(request, "workspaces/signup.html", {"form": form})


def next_url(request, default: str) -> str:
    # Only local paths: never an open redirect to another site.
    target = request.GET.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return reverse(default)


@login_required
def create_workspace(request):
    form = WorkspaceFields(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = actions.create_workspace(
            request.user, form.cleaned_data["workspace_name"], form.cleaned_data["time_zone"]
        )
        request.session[SESSION_KEY] = workspace.pk
        messages.success(request, f"{workspace.name} created.")
        return redirect("agenda:today")
    return TemplateResponse(request, "workspaces/create.html", {"form": form})


@login_required
@require_POST
def switch_workspace(request, pk):
    membership = get_object_or_404(Membership, user=request.user, workspace_id=pk)
    request.session[SESSION_KEY] = membership.workspace_id
    return redirect("agenda:today")


@workspace_required
def workspace_settings(request):
    workspace = request.workspace
    form = WorkspaceSettingsForm(request.POST or None, request.FILES or None, instance=workspace)
    if request.method == "POST":
        if not request.membership.is_owner:
            messages.error(request, "Only an owner can change the workspace settings.")
            return redirect("workspaces:settings")
        if form.is_valid():
            form.save()
            signals.settings_changed.send(sender=type(workspace), workspace=workspace)
            messages.success(request, "Settings saved; the agenda was rebuilt with them.")
            return redirect("workspaces:settings")
    return TemplateResponse(request, "workspaces/settings.html", {"form": form})


@workspace_required
def members(request):
    workspace = request.workspace
    form = InviteForm(request.POST or None, workspace=workspace)
    invite_link = None
    if request.method == "POST":
        if not request.membership.is_owner:
            messages.error(request, "Only an owner can invite members.")
            return redirect("workspaces:members")
        if form.is_valid():
            invitation, token = Invitation.issue(
                workspace, form.cleaned_data["email"], form.cleaned_data["role"], request.user
            )
            invite_link = request.build_absolute_uri(reverse("workspaces:invitation", args=[token]))
            try:
                send_mail(
                    f"{request.user.first_name or request.user.email} invited you to "
                    f"{workspace.name}",
                    f"Join {workspace.name} on Rapport: {invite_link}\n\n"
                    f"This link works once and expires in {Invitation.INVITATION_DAYS} days.",
                    None,
                    [invitation.email],
                )
                messages.success(request, f"Invitation sent to {invitation.email}.")
            except OSError as error:
                log.warning("invitation email to %s failed: %s", invitation.email, error)
                messages.warning(
                    request, "The email could not be sent; share the link below instead."
                )
            form = InviteForm(workspace=workspace)
    context = {
        "form": form,
        "invite_link": invite_link,
        "memberships": Membership.objects.filter(workspace=workspace).select_related("user"),
        "invitations": Invitation.objects.filter(workspace=workspace).pending(),
        "role_form": RoleForm(),
    }
    return TemplateResponse(request, "workspaces/members.html", context)


@owner_required
@require_POST
def member_role(request, pk):
    membership = get_in_workspace(Membership, request.workspace, pk=pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            actions.change_role(membership, form.cleaned_data["role"])
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
            )
        except ValueError as error:
            messages.error(request, str(error))
    return redirect("workspaces:members")


@owner_required
@require_POST
def member_remove(request, pk):
    membership = get_in_workspace(Membership, request.workspace, pk=pk)
    try:
        actions.remove_member(membership)
        messages.success(request, f"{membership.user.email} no longer has access.")
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("workspaces:members")


@owner_required
@require_POST
def invitation_revoke(request, pk):
    invitation = get_in_workspace(Invitation.objects.pending(), request.workspace, pk=pk)
    invitation.delete()
    messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect("workspaces:members")


def invitation(request, token):
    invitation = Invitation.objects.pending().filter(token_hash=hash_token(token)).first()
    if invitation is None:
        return TemplateResponse(request, "workspaces/invitation_invalid.html", status=404)
    if request.method == "POST" and request.user.is_authenticated:
        actions.accept_invitation(invitation, request.user)
        request.session[SESSION_KEY] = invitation.workspace_id
        messages.success(request, f"You joined {invitation.workspace.name}.")
        return redirect("agenda:today")
    return TemplateResponse(request, "workspaces/invitation.html", {"invitation": invitation})
