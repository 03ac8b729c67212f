"""Rate limits kept in the database, so they hold across every web process
without a cache server: a token bucket for public endpoints (`take`,
`limited`) and an exact sliding window for sign-in, password reset and
sign-up (`attempt`).

Each call is one short transaction on one row: SQLite serialises writers
with IMMEDIATE transactions; PostgreSQL locks the row FOR UPDATE.
"""

import datetime as dt
import ipaddress
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from rapport.workspaces.models import AttemptWindow, RateBucket, hash_token


def clock() -> dt.datetime:
    """The time the limits count by (tests hold it still)."""
    return timezone.now()


def take(key: str, *, capacity: float, per_second: float, now: dt.datetime | None = None) -> bool:
    """Take one token from bucket `key`; False when it is empty."""
    now = now or clock()
    for _ in range(2):  # a second try if two processes created the row at once
        try:
            with transaction.atomic():
                bucket = RateBucket.objects.select_for_update().filter(key=key).first()
                if bucket is None:
                    RateBucket.objects.create(key=key, tokens=capacity - 1, updated_at=now)
                    return True
                elapsed = max((now - bucket.updated_at).total_seconds(), 0.0)
                tokens = min(capacity, bucket.tokens + elapsed * per_second)
                allowed = tokens >= 1
                bucket.tokens = tokens - 1 if allowed else tokens
                bucket.updated_at = now
                bucket.save(update_fields=["tokens", "updated_at"])
                return allowed
        except IntegrityError:
            continue
    return False


def attempt(key: str, *, limit: int, window: dt.timedelta, now: dt.datetime | None = None) -> bool:
    """Count one attempt under `key`; False once `limit` attempts were
    allowed inside the last `window` (the attempt is then not counted)."""
    now = now or clock()
    since = now - window
    for _ in range(2):
        try:
            with transaction.atomic():
                row = AttemptWindow.objects.select_for_update().filter(key=key).first()
                if row is None:
                    AttemptWindow.objects.create(key=key, times=[now.isoformat()])
                    return True
                times = [t for t in row.times if dt.datetime.fromisoformat(t) > since]
                allowed = len(times) < limit
                if allowed:
                    times.append(now.isoformat())
                row.times = times
                row.save(update_fields=["times"])
                return allowed
        except IntegrityError:
            continue
    return False


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXY_NETWORKS)


def client_ip(request) -> str | None:
    """The client's address. X-Forwarded-For counts only when the request
    came from a configured proxy (TRUSTED_PROXIES), and then only the
    right-most address that is not itself a trusted proxy: everything to its
    left was written by the client and may be anything."""
    remote = request.META.get("REMOTE_ADDR") or None  # None: not a network request
    if remote is None or not _trusted(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage from the proxy chain: fall back to the peer
    return remote


def too_many(text: str = "Too many requests. Please wait a minute and try again.", retry=60):
    response = HttpResponse(text, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(retry)
    return response


def limited(
    *, per_ip: tuple[float, float], per_token: tuple[float, float] | None = None, methods=("POST",)
):
    """Decorator: (capacity, refill per second) per client IP and per token."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method in methods:
                keys = [(f"ip:{view.__name__}:{client_ip(request)}", per_ip)]
                token = kwargs.get("token")
                if per_token and token:
                    # Only a hash of the token: the buckets hold no live link.
                    keys.append((f"token:{view.__name__}:{hash_token(token)[:32]}", per_token))
                for key, (capacity, rate) in keys:
                    if not take(key, capacity=capacity, per_second=rate):
                        return too_many()
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
