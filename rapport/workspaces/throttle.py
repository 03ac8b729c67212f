"""Throttling of the account doors: sign-in, password reset, sign-up.

Sign-in is django-axes (settings.AXES_*): failures are counted in the
database per normalised email and per client address, and the 11th attempt
within an hour is refused whatever the password. Password reset and sign-up
count every request the same way with `ratelimit.attempt`. The answer never
depends on whether an account exists: an unknown address is counted, and
refused, exactly like a known one.
"""

import datetime as dt
import functools

from django.conf import settings
from django.template.response import TemplateResponse

from rapport.workspaces import audit, ratelimit
from rapport.workspaces.forms import LoginForm

WINDOW = dt.timedelta(hours=1)
LOCKED_MESSAGE = (
    "Too many attempts. For your security, signing in is paused for an hour for this address "
    "and this connection. If you forgot your password, reset it below."
)


def login_username(request, credentials=None) -> str:
    """The username axes counts under: the address as typed, normalised, so
    `Alice@Example.com ` and `alice@example.com` share one count."""
    value = (credentials or {}).get("username")
    if value is None:
        value = request.POST.get("username", "")
    return audit.normalise_email(value)


def locked_out(request, original_response=None, credentials=None):
    """What a refused sign-in sees: the log-in form, with one message that
    says nothing about the account (429 Too Many Requests)."""
    username = login_username(request, credentials)
    audit.record(
        audit.Kind.LOCKED_OUT,
        detail={"email_hash": audit.email_hash(username)},
        actor=_known_user(username),
        request=request,
    )
    form = LoginForm(request, initial={"username": username})
    context = {"form": form, "next": request.POST.get("next", ""), "locked": LOCKED_MESSAGE}
    response = TemplateResponse(request, "workspaces/login.html", context, status=429)
    response["Retry-After"] = str(int(WINDOW.total_seconds()))
    # Axes' middleware swaps this in after the template responses were rendered.
    return response.render()


def _known_user(email: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=email).first() if email else None


def allowed(door: str, request, email: str, *, now: dt.datetime | None = None) -> bool:
    """One attempt at `door` ("reset", "signup") for this email and this
    client; False when either has used up its attempts in the last hour."""
    limit = settings.ACCOUNT_ATTEMPT_LIMIT
    keys = [
        f"{door}:ip:{ratelimit.client_ip(request)}",
        # A keyed hash: the limiter's table holds no address either.
        f"{door}:email:{audit.email_hash(email)}",
    ]
    # Both are counted even when the first refuses: an attacker rotating
    # addresses from one client still uses up that client's attempts.
    results = [ratelimit.attempt(key, limit=limit, window=WINDOW, now=now) for key in keys]
    if not all(results):
        audit.record(
            audit.Kind.THROTTLED,
            detail={"door": door, "email_hash": audit.email_hash(email)},
            request=request,
        )
    return all(results)


def throttled(door: str, field: str = "email"):
    """Decorator for a POST form keyed by an email field: over the limit,
    the page is shown again with a 429 and a message, and nothing is sent."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "POST" and not allowed(door, request, request.POST.get(field, "")):
                response = TemplateResponse(request, "workspaces/throttled.html", status=429)
                response["Retry-After"] = str(int(WINDOW.total_seconds()))
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
