"""The security log: `record()` appends one event; nothing updates or
deletes one (the table's triggers refuse it).

    from rapport.workspaces import audit
    audit.record(audit.Kind.EXPORT, workspace=ws, actor=request.user,
                 target=audit.target(contact), request=request)

Callers pass ids, never a person's name or address: the log must survive an
erasure with nothing personal in it. `email_hash()` gives a keyed hash for
the one place an address is the subject (a failed sign-in for an unknown
account), so attempts can be correlated without keeping the address.
"""

import hashlib
import hmac
import ipaddress
import logging

from django.conf import settings
from django.db import models

from rapport.workspaces.models import AuditEvent, AuditKind

Kind = AuditKind
log = logging.getLogger(__name__)

# Kinds an attacker can produce at will. The log cannot be pruned, so each
# client may add at most NOISY_PER_HOUR of each an hour; past that the event
# goes to the process log only.
NOISY = frozenset(
    {AuditKind.LOGIN_FAILED, AuditKind.LOCKED_OUT, AuditKind.THROTTLED, AuditKind.WEBHOOK_REJECTED}
)
NOISY_PER_HOUR = 100


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def email_hash(email: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()[:32]


def target(obj: models.Model) -> str:
    return f"{obj._meta.model_name}:{obj.pk}"


def _ip(request) -> str | None:
    if request is None:
        return None
    from rapport.workspaces.ratelimit import client_ip

    address = client_ip(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:  # a unix socket's peer, say: no address to keep
        return None


def record(
    kind: str,
    *,
    workspace=None,
    actor=None,
    target: str = "",
    detail: dict | None = None,
    request=None,
) -> AuditEvent | None:
    """Append one event (None when a noisy kind is over its hourly cap).
    `actor` defaults to the request's signed-in user."""
    if kind not in AuditKind.values:
        raise ValueError(f"unknown audit event kind {kind!r}")
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    ip = _ip(request)
    if kind in NOISY and not _room_for(kind, ip):
        log.warning("audit %s from %s not recorded: over %d an hour", kind, ip, NOISY_PER_HOUR)
        return None
    event = AuditEvent.objects.create(
        kind=kind,
        workspace_id=getattr(workspace, "pk", workspace),
        actor_id=getattr(actor, "pk", actor),
        target=target[:100],
        ip=ip,
        detail=detail or {},
    )
    log.info("audit %s workspace=%s actor=%s %s", kind, event.workspace_id, event.actor_id, target)
    return event


def _room_for(kind: str, ip: str | None) -> bool:
    from rapport.workspaces.ratelimit import take

    return take(f"audit:{kind}:{ip}", capacity=NOISY_PER_HOUR, per_second=NOISY_PER_HOUR / 3600)


def for_workspace(workspace):
    """What an owner sees: the workspace's events, and the sign-in events of
    its current members (those belong to no one workspace)."""
    from rapport.workspaces.models import Membership

    members = Membership.objects.filter(workspace=workspace).values("user_id")
    return AuditEvent.objects.filter(
        models.Q(workspace=workspace) | models.Q(workspace__isnull=True, actor_id__in=members)
    )
