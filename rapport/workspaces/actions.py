from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from rapport.lib import phones
from rapport.workspaces import audit
from rapport.workspaces.forms import unique_slug
from rapport.workspaces.models import Invitation, Membership, Role, Workspace

User = get_user_model()


def create_workspace(user, name: str, time_zone: str = "UTC", **fields) -> Workspace:
    # A business in Europe/London reads "07700 900123" as a British number.
    fields.setdefault("phone_region", phones.region_for_time_zone(time_zone))
    with transaction.atomic():
        workspace = Workspace.objects.create(
            name=name,
            slug=fields.pop("slug", None) or unique_slug(name),
            time_zone=time_zone,
            **fields,
        )
        Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    return workspace


def sign_up(
    *, email: str, password: str, first_name: str, workspace_name: str, time_zone: str, request=None
):
    with transaction.atomic():
        user = User.objects.create_user(
            username=email.lower(), email=email.lower(), password=password, first_name=first_name
        )
        workspace = create_workspace(user, workspace_name, time_zone)
        audit.record(
            audit.Kind.SIGNUP,
            workspace=workspace,
            actor=user,
            target=audit.target(user),
            request=request,
        )
    return user, workspace


def accept_invitation(invitation: Invitation, user, request=None) -> Membership:
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        if created:
            audit.record(
                audit.Kind.MEMBER_ADDED,
                workspace=invitation.workspace,
                actor=user,
                target=audit.target(membership),
                detail={"role": membership.role, "invitation": invitation.pk},
                request=request,
            )
    return membership


def invite(workspace, email: str, role: str, by, request=None) -> tuple[Invitation, str]:
    """An invitation and its one-time token (to be sent, never stored)."""
    invitation, token = Invitation.issue(workspace, email, role, by)
    audit.record(
        audit.Kind.MEMBER_INVITED,
        workspace=workspace,
        actor=by,
        target=audit.target(invitation),
        detail={"role": role},
        request=request,
    )
    return invitation, token


def revoke_invitation(invitation: Invitation, by=None, request=None) -> None:
    with transaction.atomic():
        audit.record(
            audit.Kind.INVITATION_REVOKED,
            workspace=invitation.workspace_id,
            actor=by,
            target=audit.target(invitation),
            request=request,
        )
        invitation.delete()


def remove_member(membership: Membership, by=None, request=None) -> None:
    """Owners may leave or remove others, but a workspace keeps one owner.
    The member is out on their next request: the membership is read afresh
    on every one (WorkspaceMiddleware)."""
    with transaction.atomic():
        owners = Membership.objects.select_for_update().filter(
            workspace=membership.workspace, role=Role.OWNER
        )
        if membership.is_owner and owners.count() == 1:
            raise ValueError("A workspace needs at least one owner.")
        audit.record(
            audit.Kind.MEMBER_REMOVED,
            workspace=membership.workspace_id,
            actor=by,
            target=audit.target(membership),
            detail={"user": membership.user_id, "role": membership.role},
            request=request,
        )
        membership.delete()


def change_role(membership: Membership, role: str, by=None, request=None) -> None:
    if role not in Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    with transaction.atomic():
        owners = Membership.objects.select_for_update().filter(
            workspace=membership.workspace, role=Role.OWNER
        )
        if membership.is_owner and role != Role.OWNER and owners.count() == 1:
            raise ValueError("A workspace needs at least one owner.")
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        if before != role:
            audit.record(
                audit.Kind.ROLE_CHANGED,
                workspace=membership.workspace_id,
                actor=by,
                target=audit.target(membership),
                detail={"user": membership.user_id, "from": before, "to": role},
                request=request,
            )
