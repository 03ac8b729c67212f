"""No secret in a log line.

Rapport's secret links carry their secret in the path: client pages
`/c/<token>/`, unsubscribe `/u/<token>/`, webhooks `/hooks/<token>/…`,
calendar feeds `/calendar/<token>.ics`, invitations, password resets, sign-up
confirmations, and referral codes `/r/<code>`. The rule that finds them is
the URL configuration itself: a route parameter named in SECRET_PARAMETERS is
a secret, wherever the route is and whatever it is called, so a new
tokenized route is redacted without anyone remembering to list it.
tests/test_redaction.py fails when a route takes a text parameter that is
neither secret nor declared harmless.

`redact()` rewrites a line; `RedactSecrets` is the logging filter every
Django handler uses (settings.LOGGING), and `GunicornLogger` puts the same
filter on gunicorn's access and error logs (`rapport up` starts gunicorn
with it).
"""

import logging
import re
import traceback
from functools import lru_cache

from gunicorn.glogging import Logger as _GunicornBaseLogger

# Route parameter names that hold a secret.
SECRET_PARAMETERS = frozenset({"token", "code", "uidb64", "secret", "signature"})
# Query-string parameters that hold one, in whatever URL they appear.
SECRET_QUERY = re.compile(
    r"(?P<name>[?&](?:token|code|key|secret|signature|sig|password)=)[^&\s\"'#]+", re.IGNORECASE
)
# Before Django is set up (gunicorn's master process logs before any app is
# loaded), and as a floor afterwards: the public prefixes DESIGN.md promises.
FALLBACK_PREFIXES = ("c/", "u/", "hooks/", "calendar/", "invitations/", "r/", "reset/")
MASK = "[redacted]"
_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _route_regex(route: str) -> re.Pattern | None:
    """A pattern that finds this route's secrets inside any text.

    The route is matched up to its last secret parameter; each secret is
    captured as anything up to the next character the route itself has after
    it (a slash, a dot before `.ics`), so a tampered or malformed token is
    hidden as well as a good one.
    """
    parts, last_secret, position = [], None, 0
    pieces = list(_PARAMETER.finditer(route))
    for index, match in enumerate(pieces):
        parts.append(re.escape(route[position : match.start()]))
        following = route[match.end() : match.end() + 1] or "/"
        stop = re.escape(following) if following != "/" else ""
        if match["name"] in SECRET_PARAMETERS:
            parts.append(f"(?P<s{index}>[^/?#\\s\"'<>{stop}]+)")
            last_secret = len(parts)
        else:
            parts.append(f"[^/?#\\s\"'<>{stop}]+")
        position = match.end()
    if last_secret is None:
        return None
    return re.compile("/" + "".join(parts[:last_secret]))


def _walk(resolver, prefix=""):
    from django.urls import URLPattern, URLResolver

    for pattern in resolver.url_patterns:
        route = getattr(pattern.pattern, "_route", None)
        if route is None:
            continue  # a regex pattern (none of Rapport's own): not ours to guess
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + route)
        elif isinstance(pattern, URLPattern):
            yield prefix + route


@lru_cache(maxsize=1)
def _django_patterns() -> tuple[re.Pattern, ...]:
    from django.urls import get_resolver

    found = {_route_regex(route) for route in _walk(get_resolver())}
    return tuple(sorted((p for p in found if p), key=lambda p: -len(p.pattern)))


def _fallback_patterns() -> tuple[re.Pattern, ...]:
    return tuple(
        re.compile(f"/{re.escape(prefix)}(?P<s0>[^/?#\\s\"'<>.]+)") for prefix in FALLBACK_PREFIXES
    )


def patterns() -> tuple[re.Pattern, ...]:
    from django.apps import apps

    fallback = _fallback_patterns()
    if not apps.ready:
        return fallback
    return _django_patterns() + fallback


def _mask(match: re.Match) -> str:
    text, start = match.group(0), match.start()
    pieces, position = [], 0
    for name, value in match.groupdict().items():
        if value is None or not name.startswith("s"):
            continue
        begin, end = match.start(name) - start, match.end(name) - start
        pieces.append(text[position:begin] + MASK)
        position = end
    return "".join(pieces) + text[position:]


def redact(text: str) -> str:
    if not text or "/" not in text and "=" not in text:
        return text
    for pattern in patterns():
        text = pattern.sub(_mask, text)
    return SECRET_QUERY.sub(lambda m: m["name"] + MASK, text)


class RedactSecrets(logging.Filter):
    """Rewrites each record before any handler formats it: the message with
    its arguments merged, and the traceback, which a handler would otherwise
    format afresh from the exception."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class GunicornLogger(_GunicornBaseLogger):
    """gunicorn's logger with the redaction filter on every handler, so the
    access log's request line, path, query and referrer never show a token."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                    handler.addFilter(RedactSecrets())
