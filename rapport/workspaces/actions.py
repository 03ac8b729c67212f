from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from rapport.lib import phones
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


def sign_up(*, email: str, password: str, first_name: str, workspace_name: str, time_zone: str):
    with transaction.atomic():
        user = User.objects.create_user(
            username=email.lower(), email=email.lower(), password=password, first_name=first_name
        )
        workspace = create_workspace(user, workspace_name, time_zone)
    return user, workspace


def accept_invitation(invitation: Invitation, user) -> Membership:
    with transaction.atomic():
        membership, _ = Membership.objects.get_or_create(
            user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


def remove_member(membership: Membership) -> None:
    """Owners may leave or remove others, but a workspace keeps one owner."""
    owners = Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER)
    if membership.is_owner and owners.count() == 1:
        raise ValueError("A workspace needs at least one owner.")
    membership.delete()


def change_role(membership: Membership, role: str) -> None:
    owners = Membership.objects.filter(workspace=membership.workspace, role=Role.OWNER)
    if membership.is_owner and role != Role.OWNER and owners.count() == 1:
        raise ValueError("A workspace needs at least one owner.")
    membership.role = role
    membership.save(update_fields=["role"])
