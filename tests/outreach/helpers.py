"""Real peers on loopback for the outreach tests: an SMTP server that records
every message it accepts (with the moment it accepted it), the settings that
point Django's SMTP backend at it, and headless Chromium.

Nothing here is mocked: the app talks SMTP to aiosmtpd over a socket, and
the browser talks HTTP to a live Django server.
"""

import contextlib
import email
import email.policy
import itertools
import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

# -- SMTP ------------------------------------------------------------------


@dataclass
class Received:
    """One message the server accepted (its 250 reply to DATA)."""

    message_id: str
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    accepted_at: float  # time.time() just before the 250 went out

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    def part(self, content_type: str) -> str:
        """The decoded body of the first part of this type (text/plain, text/html)."""
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part.get_content()
        raise AssertionError(f"no {content_type} part in {self.message_id}")


@dataclass
class Hooks:
    """Callbacks the kill test uses to act at exact points of a conversation.
    Each is called in the server's thread; each returns nothing."""

    before_accept: object = None  # (envelope) -> True to drop the message unaccepted
    after_accept: object = None  # (Received) -> None


class RecordingHandler:
    def __init__(self):
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        # Recipient (lowercase) -> the reply to its RCPT TO, e.g. "550 5.1.1 No such user".
        self.refuse_rcpt: dict[str, str] = {}
        # Recipient (lowercase) -> the reply to DATA instead of 250.
        self.refuse_data: dict[str, str] = {}
        self.delay = None  # () -> seconds to wait before answering DATA
        self.hooks = Hooks()
        # (time.time(), "mail" | "accept", connection number): when each SMTP
        # transaction began and when it was accepted.
        self.events: list[tuple[float, str, int]] = []
        self._connections = itertools.count(1)

    def _connection(self, session) -> int:
        if not hasattr(session, "rapport_number"):
            session.rapport_number = next(self._connections)
        return session.rapport_number

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.events.append((time.time(), "mail", self._connection(session)))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse_rcpt.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        if self.delay:
            await asyncio.sleep(self.delay())
        for rcpt in envelope.rcpt_tos:
            reply = self.refuse_data.get(rcpt.lower())
            if reply:
                return reply
        hook = self.hooks.before_accept
        if hook and hook(envelope):
            # The client is being killed mid-conversation: never accept.
            await asyncio.sleep(0.5)
            return "421 4.3.2 Shutting down"
        data = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        received = Received(
            message_id=str(parsed.get("Message-ID", "")).strip(),
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            accepted_at=time.time(),
        )
        with self.arrived:
            self.received.append(received)
            self.events.append((received.accepted_at, "accept", self._connection(session)))
            self.arrived.notify_all()
        hook = self.hooks.after_accept
        if hook:
            hook(received)
        return "250 2.0.0 Message accepted for delivery"


class _Controller(Controller):
    """aiosmtpd's controller on an ephemeral port (port 0): the port the
    system gave is read back before the server is poked awake."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPRecorder:
    """A loopback SMTP server; use as a context manager.

    `received` lists every accepted message in arrival order; `refuse_rcpt`
    and `refuse_data` make it answer a recipient with a chosen reply."""

    def __init__(self, password: str | None = None):
        """With `password`, the server asks for SMTP AUTH (over plain text, on
        loopback) and answers a wrong one 535 5.7.8, as a real relay does."""
        self.handler = RecordingHandler()
        self.password = password
        extra = {}
        if password is not None:
            extra = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.controller = _Controller(self.handler, hostname="127.0.0.1", port=0, **extra)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        password = getattr(auth_data, "password", b"")
        if isinstance(password, bytes):
            password = password.decode()
        # handled=False: aiosmtpd answers the failure itself (535 5.7.8).
        return AuthResult(success=password == self.password, handled=False)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def refuse_rcpt(self) -> dict[str, str]:
        return self.handler.refuse_rcpt

    @property
    def refuse_data(self) -> dict[str, str]:
        return self.handler.refuse_data

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.handler.arrived:
            while len(self.handler.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.handler.arrived.wait(left)
            return list(self.handler.received)

    @property
    def events(self) -> list[tuple[float, str, int]]:
        with self.handler.lock:
            return list(self.handler.events)

    def by_message_id(self) -> dict[str, list[Received]]:
        seen: dict[str, list[Received]] = {}
        for received in self.received:
            seen.setdefault(received.message_id, []).append(received)
        return seen

    def smtp_settings(self) -> dict:
        """Settings (or environment) that send through this server."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_TIMEOUT": 10,
        }

    def use(self, settings) -> None:
        """Point a pytest-django `settings` fixture at this server."""
        for name, value in self.smtp_settings().items():
            setattr(settings, name, value)


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def links_in(text: str) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", text)


def header_url(value: str) -> str:
    """The URL inside a List-Unsubscribe header: `<https://…>`."""
    match = re.fullmatch(r"\s*<(https?://[^>]+)>\s*", value)
    assert match, f"List-Unsubscribe should be one <http(s) URL>, not {value!r}"
    return match.group(1)


# -- the live server and the browser --------------------------------------

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}


def chromium_missing() -> str:
    """Why the browser tests cannot run here, or '' when they can."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return (
            f"Chromium is not installed at {CHROMIUM} "
            "(apt-get install chromium; .ci/run installs it)"
        )
    return ""


@contextlib.contextmanager
def chromium():
    """Headless Debian Chromium driven by Playwright (its own browser
    download does not work here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def serve(settings, live_server, smtp: SMTPRecorder | None = None) -> str:
    """Make the app build its links to the live server (and send through the
    loopback SMTP server); return the server's URL."""
    settings.SITE_URL = live_server.url
    host = urlsplit(live_server.url).hostname
    if host not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, host]
    if smtp is not None:
        smtp.use(settings)
    return live_server.url


@dataclass
class Traffic:
    """Every request a page made, with its size on the wire."""

    requests: list[tuple[str, int]] = field(default_factory=list)  # (url, bytes)

    @property
    def total(self) -> int:
        return sum(size for _, size in self.requests)

    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url, _ in self.requests if not url.startswith("data:")}


@contextlib.contextmanager
def traffic(page):
    """Record the requests a page makes while the block runs: the document
    and every resource, each counted as headers + body as transferred."""
    seen = Traffic()
    finished: list = []

    def on_finished(request):
        finished.append(request)

    page.on("requestfinished", on_finished)
    page.on("requestfailed", on_finished)
    try:
        yield seen
        page.wait_for_load_state("load")
    finally:
        page.remove_listener("requestfinished", on_finished)
        page.remove_listener("requestfailed", on_finished)
    for request in finished:
        size = 0
        with contextlib.suppress(Exception):
            sizes = request.sizes()
            size = sizes["responseBodySize"] + sizes["responseHeadersSize"]
        response = None
        with contextlib.suppress(Exception):
            response = request.response()
        if response is not None and size <= 0:
            size = len(response.body())
        seen.requests.append((request.url, size))
