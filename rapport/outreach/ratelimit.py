"""Rate limits for public endpoints: a token bucket kept in the database.

Several web processes share it without a cache server: each take is one
short transaction that reads and writes the bucket row (SQLite serialises
writers with IMMEDIATE transactions; PostgreSQL locks the row FOR UPDATE).
"""

import datetime as dt
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from rapport.outreach.models import RateBucket
from rapport.workspaces.models import hash_token


def take(key: str, *, capacity: float, per_second: float, now: dt.datetime | None = None) -> bool:
    """Take one token from bucket `key`; False when it is empty."""
    now = now or timezone.now()
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


def client_ip(request) -> str:
    # Behind a proxy, the proxy sets REMOTE_ADDR correctly (gunicorn with
    # --forwarded-allow-ips); X-Forwarded-For is not trusted blindly.
    return request.META.get("REMOTE_ADDR", "unknown")


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
                        response = HttpResponse(
                            "Too many requests. Please wait a minute and try again.",
                            status=429,
                            content_type="text/plain; charset=utf-8",
                        )
                        response["Retry-After"] = "60"
                        return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
