"""Which email backend an install uses, from its environment.

Imported by settings (no Django needed): kept apart so tests can call it with
any environment.

- EMAIL_URL, when set, says it all: ``smtp://user:password@host:port``
  (STARTTLS with ``?tls=true``, which is the default on port 587),
  ``smtps://…`` (TLS from the first byte, port 465 by default),
  ``mailbox:`` (the development mailbox) or ``console:``.
- Otherwise EMAIL_BACKEND or EMAIL_HOST (the older separate variables) keep
  their meaning: SMTP to that host.
- Otherwise a production install (HTTPS) sends by SMTP to the local mail
  transfer agent on 127.0.0.1:25, as it always did;
- and a development install (no HTTPS) puts every message in the mailbox,
  where it can be read, instead of failing against a port-25 server that is
  not there.
"""

from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

SMTP = "django.core.mail.backends.smtp.EmailBackend"
MAILBOX = "rapport.mailbox.backend.MailboxBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class EmailConfigError(ValueError):
    pass


def _flag(query: dict, name: str, default: bool) -> bool:
    if name not in query:
        return default
    value = query[name][-1].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EmailConfigError(f"EMAIL_URL: {name} must be true or false, not {value!r}")


def parse_email_url(url: str) -> dict:
    """The Django email settings an EMAIL_URL stands for."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "mailbox":
        return {"EMAIL_BACKEND": MAILBOX}
    if scheme == "console":
        return {"EMAIL_BACKEND": CONSOLE}
    if scheme not in ("smtp", "smtps", "submission"):
        raise EmailConfigError(
            f"EMAIL_URL must start with smtp://, smtps://, mailbox: or console:, not {scheme!r}:"
        )
    if not parts.hostname:
        raise EmailConfigError("EMAIL_URL names no host (smtp://user:password@host:port)")
    query = parse_qs(parts.query, keep_blank_values=True)
    try:
        port = parts.port
    except ValueError:
        raise EmailConfigError("EMAIL_URL: the port is not a number") from None
    ssl = _flag(query, "ssl", scheme == "smtps" or port == 465)
    default_port = 465 if ssl else 587 if scheme == "submission" else 25
    port = port or default_port
    tls = _flag(query, "tls", not ssl and port == 587)
    if ssl and tls:
        raise EmailConfigError("EMAIL_URL: choose ssl (implicit TLS) or tls (STARTTLS), not both")
    settings = {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }
    if "timeout" in query:
        try:
            settings["EMAIL_TIMEOUT"] = int(query["timeout"][-1])
        except ValueError:
            raise EmailConfigError("EMAIL_URL: timeout must be a number of seconds") from None
    return settings


def email_settings(environ: Mapping[str, str], *, https: bool) -> dict:
    """EMAIL_BACKEND and the SMTP settings for this environment (see the
    module's docstring for the order)."""
    if environ.get("EMAIL_URL"):
        return {"EMAIL_BACKEND": SMTP, **parse_email_url(environ["EMAIL_URL"])}
    backend = environ.get("EMAIL_BACKEND") or (
        SMTP if environ.get("EMAIL_HOST") or https else MAILBOX
    )

    def flag(name):
        value = environ.get(name, "false").strip().lower()
        if value not in _TRUE + _FALSE:
            raise EmailConfigError(f"{name} must be true or false, not {value!r}")
        return value in _TRUE

    try:
        port = int(environ.get("EMAIL_PORT", "25"))
    except ValueError:
        raise EmailConfigError("EMAIL_PORT must be an integer") from None
    return {
        "EMAIL_BACKEND": backend,
        "EMAIL_HOST": environ.get("EMAIL_HOST", "127.0.0.1"),
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": environ.get("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": environ.get("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": flag("EMAIL_USE_TLS"),
        "EMAIL_USE_SSL": flag("EMAIL_USE_SSL"),
    }
