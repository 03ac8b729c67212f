import datetime as dt
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.mail import send_mail
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from rapport.workspaces import actions, audit, signals, throttle
from rapport.workspaces.access import (
    audit_required,
    configure_required,
    get_in_workspace,
    members_required,
)
from rapport.workspaces.forms import (
    AuditFilterForm,
    ChoosePasswordForm,
    InviteForm,
    RoleForm,
    SignupForm,
    WorkspaceFields,
    WorkspaceSettingsForm,
)
from rapport.workspaces.middleware import SESSION_KEY
from rapport.workspaces.models import Invitation, Membership, hash_token

log = logging.getLogger(__name__)
User = get_user_model()


def home(request):
    if request.user.is_authenticated:
        return redirect("agenda:today")
    return redirect("login")


SIGNUP_SALT = "rapport.workspaces.signup"
SIGNUP_LINK_DAYS = 3


@throttle.throttled("signup")
def signup(request):
    """Sign-up, step one. Whether or not the address has an account, the
    page says the same ("check your inbox") and one email goes out: a link to
    finish for a new address, a reminder to sign in or reset the password for
    a known one. Nobody learns from this page who uses Rapport."""
    if not settings.SIGNUP_OPEN:
        raise Http404("Sign-up is closed on this server.")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        email = data["email"]
        if User.objects.filter(username__iexact=email).exists():
            subject, body = _signup_known_email(request)
        else:
            token = signing.dumps(
                {
                    "email": email,
                    "first_name": data["first_name"],
                    "workspace_name": data["workspace_name"],
                    "time_zone": data["time_zone"],
                    "next": next_url(request, "agenda:today"),
                },
                salt=SIGNUP_SALT,
                compress=True,
            )
            link = compose_link(request, "workspaces:signup_confirm", token)
            subject = "Finish creating your Rapport account"
            body = (
                f"Hello {data['first_name']},\n\nTo create {data['workspace_name']} on Rapport, "
                f"choose your password here:\n\n{link}\n\nThe link works for "
                f"{SIGNUP_LINK_DAYS} days. If you did not ask for this, ignore this email."
            )
        sent = _send(subject, body, email)
        return TemplateResponse(
            request, "workspaces/signup_sent.html", {"email": email, "sent": sent}
        )
    return TemplateResponse(request, "workspaces/signup.html", {"form": form})


def _signup_known_email(request) -> tuple[str, str]:
    login_link = request.build_absolute_uri(reverse("login"))
    reset_link = request.build_absolute_uri(reverse("password_reset"))
    return (
        "Your Rapport account",
        "Someone, perhaps you, tried to create a Rapport account with this address. "
        f"You already have one: sign in at {login_link}\n\nForgot your password? Reset it at "
        f"{reset_link}\n\nIf it was not you, you can ignore this email; nothing was changed.",
    )


def compose_link(request, name: str, token: str) -> str:
    return request.build_absolute_uri(reverse(name, args=[token]))


def _send(subject: str, body: str, to: str) -> bool:
    try:
        send_mail(subject, body, None, [to])
    except OSError as error:
        # The same for both kinds of address: the page then says to retry.
        log.warning("account email failed: %s", error)
        return False
    return True


def signup_confirm(request, token):
    """Sign-up, step two: the link from the email. A GET shows the form and
    changes nothing; the POST creates the account and the workspace."""
    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=dt.timedelta(days=SIGNUP_LINK_DAYS))
    except signing.BadSignature:
        data = None
    if data is None or User.objects.filter(username__iexact=data["email"]).exists():
        return TemplateResponse(request, "workspaces/signup_invalid.html", status=404)
    form = ChoosePasswordForm(
        request.POST or None, email=data["email"], first_name=data["first_name"]
    )
    if request.method == "POST" and form.is_valid():
        try:
            user, workspace = actions.sign_up(
                email=data["email"],
                password=form.cleaned_data["password"],
                first_name=data["first_name"],
                workspace_name=data["workspace_name"],
                time_zone=data["time_zone"],
                request=request,
            )
        except IntegrityError:  # the same link used twice at once
            return TemplateResponse(request, "workspaces/signup_invalid.html", status=404)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SESSION_KEY] = workspace.pk
        messages.success(
            request, f"Welcome to Rapport. {workspace.name} is ready: add or import your clients."
        )
        target = data.get("next") or ""
        return redirect(target if is_local_path(target) else reverse("agenda:today"))
    context = {"form": form, "signup": data}
    return TemplateResponse(request, "workspaces/signup_confirm.html", context)


def is_local_path(target: str) -> bool:
    return target.startswith("/") and not target.startswith("//") and "\\" not in target


def next_url(request, default: str) -> str:
    # Only local paths: never an open redirect to another site.
    target = request.GET.get("next", "")
    return target if is_local_path(target) else reverse(default)


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


@configure_required
def workspace_settings(request):
    workspace = request.workspace
    form = WorkspaceSettingsForm(request.POST or None, request.FILES or None, instance=workspace)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit.record(
            audit.Kind.SETTINGS_CHANGED,
            workspace=workspace,
            target="settings:workspace",
            detail={"fields": sorted(form.changed_data)},
            request=request,
        )
        signals.settings_changed.send(sender=type(workspace), workspace=workspace)
        messages.success(request, "Settings saved; the agenda was rebuilt with them.")
        return redirect("workspaces:settings")
    return TemplateResponse(request, "workspaces/settings.html", {"form": form})


@members_required
def members(request):
    workspace = request.workspace
    form = InviteForm(request.POST or None, workspace=workspace)
    invite_link = None
    if request.method == "POST" and form.is_valid():
        invitation, token = actions.invite(
            workspace,
            form.cleaned_data["email"],
            form.cleaned_data["role"],
            request.user,
            request=request,
        )
        invite_link = request.build_absolute_uri(reverse("workspaces:invitation", args=[token]))
        try:
            send_mail(
                f"{request.user.first_name or request.user.email} invited you to {workspace.name}",
                f"Join {workspace.name} on Rapport: {invite_link}\n\n"
                f"This link works once and expires in {Invitation.INVITATION_DAYS} days.",
                None,
                [invitation.email],
            )
            messages.success(request, f"Invitation sent to {invitation.email}.")
        except OSError as error:
            log.warning("invitation email to %s failed: %s", invitation.email, error)
            messages.warning(request, "The email could not be sent; share the link below instead.")
        form = InviteForm(workspace=workspace)
    context = {
        "form": form,
        "invite_link": invite_link,
        "memberships": Membership.objects.filter(workspace=workspace).select_related("user"),
        "invitations": Invitation.objects.filter(workspace=workspace).pending(),
        "role_form": RoleForm(),
    }
    return TemplateResponse(request, "workspaces/members.html", context)


@members_required
@require_POST
def member_role(request, pk):
    membership = get_in_workspace(Membership, request.workspace, pk=pk)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            actions.change_role(
                membership, form.cleaned_data["role"], by=request.user, request=request
            )
            messages.success(
                request, f"{membership.user.email} is now {membership.get_role_display().lower()}."
            )
        except ValueError as error:
            messages.error(request, str(error))
    return redirect("workspaces:members")


@members_required
@require_POST
def member_remove(request, pk):
    membership = get_in_workspace(Membership, request.workspace, pk=pk)
    try:
        actions.remove_member(membership, by=request.user, request=request)
        messages.success(request, f"{membership.user.email} no longer has access.")
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("workspaces:members")


@members_required
@require_POST
def invitation_revoke(request, pk):
    invitation = get_in_workspace(Invitation.objects.pending(), request.workspace, pk=pk)
    actions.revoke_invitation(invitation, by=request.user, request=request)
    messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect("workspaces:members")


def invitation(request, token):
    invitation = Invitation.objects.pending().filter(token_hash=hash_token(token)).first()
    if invitation is None:
        return TemplateResponse(request, "workspaces/invitation_invalid.html", status=404)
    if request.method == "POST" and request.user.is_authenticated:
        actions.accept_invitation(invitation, request.user, request=request)
        request.session[SESSION_KEY] = invitation.workspace_id
        messages.success(request, f"You joined {invitation.workspace.name}.")
        return redirect("agenda:today")
    return TemplateResponse(request, "workspaces/invitation.html", {"invitation": invitation})


AUDIT_PAGE_SIZE = 50


@audit_required
def security_log(request):
    """The security log, for owners: filter by kind, person and dates."""
    workspace = request.workspace
    form = AuditFilterForm(request.GET or None, workspace=workspace)
    events = audit.for_workspace(workspace)
    if form.is_valid():
        events = form.filter(events)
    page = Paginator(events.order_by("-at", "-id"), AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    people = {u.pk: u for u in User.objects.filter(pk__in={e.actor_id for e in page})}
    for event in page:
        event.person = people.get(event.actor_id)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "nav": "settings",
        "section": "security",
    }
    return TemplateResponse(request, "workspaces/security_log.html", context)
