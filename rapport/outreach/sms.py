"""SMS behind a small provider interface.

Rapport talks to an SMS provider over its HTTP API; the provider is the one
true boundary of this module, so tests replace it (and only it). The adapter
here speaks a plain JSON API (POST {to, from, body} with a bearer token and
an Idempotency-Key header, answer {"id": ...}), which most providers offer or
which a small relay can translate to.
"""

import json
import re
import urllib.request
from typing import Protocol

from django.conf import settings

# The opt-out words carriers and regulators recognise (CTIA, TCPA guidance).
STOP_WORDS = (
    "stop",
    "quit",
    "end",
    "revoke",
    "opt out",
    "optout",
    "cancel",
    "unsubscribe",
    "stopall",
)
_STOP = re.compile(r"\b(" + "|".join(w.replace(" ", r"\s*") for w in STOP_WORDS) + r")\b", re.I)


def is_opt_out(text: str) -> bool:
    """A reply that ends all texts: STOP, QUIT, END, REVOKE, OPT OUT, CANCEL
    or UNSUBSCRIBE, in any case, alone or inside a sentence ("please stop
    texting me")."""
    return bool(_STOP.search(text or ""))


class SmsError(Exception):
    pass


class Provider(Protocol):
    def send(self, to: str, body: str, idempotency_key: str) -> str: ...


class HttpProvider:
    def __init__(self, url: str, token: str, sender: str):
        self.url, self.token, self.sender = url, token, sender

    def send(self, to: str, body: str, idempotency_key: str) -> str:
        payload = json.dumps({"to": to, "from": self.sender, "body": body}).encode()
        request = urllib.request.Request(
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
                # The provider drops a repeat: even a send retried after a
                # crash reaches the phone once.
                "Idempotency-Key": idempotency_key,
            },
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            answer = json.loads(response.read() or b"{}")
        return str(answer.get("id", ""))


class NotConfigured:
    def send(self, to: str, body: str, idempotency_key: str) -> str:
        raise SmsError("no SMS provider is configured (SMS_PROVIDER_URL)")


def provider() -> Provider:
    if not settings.SMS_PROVIDER_URL:
        return NotConfigured()
    return HttpProvider(settings.SMS_PROVIDER_URL, settings.SMS_PROVIDER_TOKEN, settings.SMS_FROM)
