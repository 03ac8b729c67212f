"""SMS: what a reply means, and the providers that carry texts.

Replies. The FCC's 2024 order and CTIA's guidelines make some words a
revocation when they are the reply (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END,
QUIT, REVOKE, OPT OUT), and any other wording that reasonably expresses the
wish ("please stop texting me", "remove me from your list") one too. A word
inside an unrelated sentence is not: "see you at the end of the week",
"don't stop", "can I cancel my 3pm appointment?". So a reply opts out when

- the whole reply, or a sentence of it for the words that mean nothing else
  (STOP, STOPALL, UNSUBSCRIBE, REVOKE, OPT OUT), is the keyword, give or take
  politeness ("Stop please", "STOP!!", "unsubscribe me, thanks"); or
- a clause asks, without a negation before it, to stop the texts, the
  texting, or to be taken off the list: an opt-out verb with a messaging
  object ("stop texting me", "no more messages", "stop these texts",
  "remove me from your list", "don't text me again").

START, UNSTOP and YES rejoin, and HELP (or INFO) asks who is writing and
how to stop; each only as the whole reply.

Providers. Rapport talks to an SMS provider over its HTTP API; that API is
the one true boundary of this module, so tests replace it (and only it).
Two adapters: a plain JSON API (`HttpProvider`: POST {to, from, body} with a
bearer token and an Idempotency-Key header, which most providers offer or a
small relay can translate to), and Twilio's Messages API (`TwilioProvider`).
"""

import enum
import json
import re
import urllib.error
import urllib.request
from typing import Protocol

from django.conf import settings


class Reply(enum.StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"


# Keywords that are a request only when they are the reply: "cancel" and
# "end" alone are clear, inside a sentence they are about appointments.
WHOLE_REPLY_OPT_OUT = {
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
}
# These mean nothing else, so a sentence of their own is enough
# ("STOP. Who is this?").
SENTENCE_OPT_OUT = {"stop", "stopall", "unsubscribe", "revoke", "optout"}
OPT_IN = {"start", "unstop", "yes", "optin"}
HELP = {"help", "info"}

# Words that only soften a keyword: "Stop please", "unsubscribe me, thanks".
_POLITE = {
    "please", "pls", "plz", "plse", "kindly", "thanks", "thank", "you", "thx", "ty",
    "ok", "okay", "now", "all", "me", "hi", "hello", "hey", "sorry", "just", "asap",
    "already", "immediately", "right", "away", "the", "texts", "messages",
}  # fmt: skip
_NEGATION = r"(?:don'?t|do\s+not|never|not|won'?t|wouldn'?t|shouldn'?t|no\s+need\s+to|can'?t)"
_MESSAGES = (
    r"(?:texts?|text\s+messages?|txts?|messages?|msgs?|sms(?:es)?|notifications?|alerts?"
    r"|reminders?|marketing|promotions?|offers|ads|spam)"
)
_CONTACTING = (
    r"(?:texting|txting|messaging|msging|contacting|spamming|bothering|pestering|sms(?:ing)?)"
)
_THESE = r"(?:(?:all|the|these|those|this|your|ur|any|further|more|my|of)\s+)*"
_REQUEST = re.compile(
    "|".join(
        [
            # "stop texting me", "please quit messaging us"
            rf"\b(?:stop|quit|cease|halt|end)\s+{_CONTACTING}\b",
            # "stop sending me these", "stop sending texts"
            rf"\b(?:stop|quit|cease|halt)\s+sending(?:\s+(?:me|us))?"
            rf"(?:\s*$|\s+{_THESE}(?:{_MESSAGES}|them|these|those|this|stuff|things|anything)\b)",
            # "stop these texts", "no more messages", "cancel my texts"
            rf"\b(?:stop|quit|cease|halt|end|cancel|no\s+more)\s+{_THESE}{_MESSAGES}\b",
            # "remove me from your list", "take me off the mailing list"
            r"\b(?:remove|delete|take|drop|unsubscribe)\s+(?:me|my\s+(?:number|details))\s+"
            r"(?:off|from|out\s+of)\s+(?:of\s+)?" + _THESE + r"(?:\w+\s+)?"
            r"(?:list|lists|texts|messages|database|system|contacts)\b",
            # "unsubscribe me", "opt me out", "I want to opt out": these words
            # mean nothing else.
            r"\b(?:unsubscribe|opt\s*out|opt\s+me\s+out|stopall|revoke\s+(?:my\s+)?consent)\b",
        ]
    )
)
# "don't text me again", "do not contact me", "never message me"
_DONT_TEXT = re.compile(
    r"\b(?:don'?t|do\s+not|never|stop)\s+(?:ever\s+)?(?:text|txt|message|msg|sms|contact)\s+(?:me|us)\b"
)
_NEGATED = re.compile(rf"\b{_NEGATION}\s+(?:\w+\s+)?$")


def _normalise(text: str) -> str:
    text = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    # "opt-out", "opt_out" → "opt out"; "o p t o u t" is not a thing.
    text = re.sub(r"[-_]", " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z']+", text)
    # "opt out" is one keyword.
    joined = " ".join(words).replace("opt out", "optout").replace("opt in", "optin")
    return joined.split()


def _keyword(text: str) -> set[str]:
    """The keyword a piece of text is, politeness aside: {"stop"} for "Stop
    please!!", set() for "stop by tomorrow"."""
    words = [w for w in _words(text) if w not in _POLITE]
    if not words:
        # "Stop all" and "stop the texts" leave the keyword itself.
        keep = [w for w in _words(text) if w in WHOLE_REPLY_OPT_OUT | OPT_IN | HELP]
        return set(keep[:1])
    return {words[0]} if len(set(words)) == 1 else set()


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"[.!?;,\n]+", text) if part.strip()]


def read_reply(text: str) -> Reply:
    """What an inbound text asks for."""
    normal = _normalise(text)
    whole = _keyword(normal)
    if whole & WHOLE_REPLY_OPT_OUT:
        return Reply.OPT_OUT
    for sentence in _sentences(normal):
        if _keyword(sentence) & SENTENCE_OPT_OUT:
            return Reply.OPT_OUT
        if _DONT_TEXT.search(sentence):
            return Reply.OPT_OUT
        for match in _REQUEST.finditer(sentence):
            if not _NEGATED.search(sentence[: match.start()]):
                return Reply.OPT_OUT
    if whole & OPT_IN:
        return Reply.OPT_IN
    if whole & HELP:
        return Reply.HELP
    return Reply.OTHER


def is_opt_out(text: str) -> bool:
    return read_reply(text) == Reply.OPT_OUT


# -- providers ---------------------------------------------------------------


class SmsError(Exception):
    """A send that failed for now: it is tried again later."""


class SmsRefused(Exception):
    """The provider refused for good. `failure` says whose fault it was, as
    OutboundMessage.Failure: "recipient" (the number opted out with the
    carrier: suppressed), "message" (this text only) or "sender" (our account
    or number: texts to clients pause until someone fixes it)."""

    def __init__(self, text: str, failure: str):
        super().__init__(text)
        self.failure = failure


class Provider(Protocol):
    def send(self, to: str, body: str, idempotency_key: str, *, since=None) -> str: ...


def _http_failure(status: int) -> str | None:
    """A provider's HTTP status: None when worth retrying."""
    if status in (408, 425, 429) or status >= 500:
        return None
    if status in (401, 402, 403):
        return "sender"
    return "message"


class HttpProvider:
    def __init__(self, url: str, token: str, sender: str):
        self.url, self.token, self.sender = url, token, sender

    def send(self, to: str, body: str, idempotency_key: str, *, since=None) -> str:
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
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            failure = _http_failure(error.code)
            text = f"the SMS provider answered {error.code} {error.reason}"
            if failure:
                raise SmsRefused(text, failure) from error
            raise SmsError(text) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsError(f"the SMS provider could not be reached: {error}") from error
        return str(answer.get("id", ""))


# Twilio's error codes (https://www.twilio.com/docs/api/errors), by whose
# fault they are. Unlisted 4xx answers fail the message alone; 429 and 5xx
# are retried.
TWILIO_OPTED_OUT = {21610}  # "Attempt to send to unsubscribed recipient"
TWILIO_SENDER = {
    20003,  # authentication failed
    20005,  # account not active
    20404,  # account or resource not found (wrong SID)
    21212,  # invalid From number
    21266,  # From and To are the same
    21408,  # permission to send to this region not enabled
    21606,  # From number cannot send SMS
    21659,  # From is not a Twilio number
    21703,  # messaging service has no sender
    30034,  # US A2P 10DLC: the number is not registered
}
TWILIO_RETRY = {20429, 21611, 30001, 30008}  # rate limit, queue full, queue overflow, unknown


class TwilioProvider:
    """Twilio's Messages API through its own client library, whose HTTP client
    is the boundary tests replace.

    Twilio takes no idempotency key for a new message, so a retry (a send
    whose earlier attempt may have reached Twilio before the worker died)
    first looks among the latest messages to the number for this very text
    — its client-page link makes it unique — sent since it was queued, and
    returns that message's SID instead of sending again."""

    def __init__(
        self, account_sid: str, auth_token: str, sender: str = "", service: str = "", http=None
    ):
        from twilio.rest import Client

        self.sender, self.service = sender, service
        self.client = Client(account_sid, auth_token, http_client=http)

    def send(self, to: str, body: str, idempotency_key: str, *, since=None) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            if since is not None:
                found = self._already_sent(to, body, since)
                if found:
                    return found
            fields = {"to": to, "body": body}
            if self.service:
                fields["messaging_service_sid"] = self.service
            else:
                fields["from_"] = self.sender
            return self.client.messages.create(**fields).sid
        except TwilioRestException as error:
            text = f"Twilio answered {error.status}, error {error.code}: {error.msg}"
            if error.code in TWILIO_OPTED_OUT:
                raise SmsRefused(text, "recipient") from error
            if error.code in TWILIO_SENDER:
                raise SmsRefused(text, "sender") from error
            if error.code in TWILIO_RETRY:
                raise SmsError(text) from error
            failure = _http_failure(error.status)
            if failure:
                raise SmsRefused(text, failure) from error
            raise SmsError(text) from error
        except (TwilioException, OSError) as error:
            raise SmsError(f"Twilio could not be reached: {error}") from error
        except Exception as error:  # requests' connection errors and the like
            raise SmsError(f"Twilio could not be reached: {error}") from error

    def _already_sent(self, to: str, body: str, since) -> str:
        fields = {"to": to, "limit": 20}
        if not self.service:
            fields["from_"] = self.sender
        for message in self.client.messages.list(**fields):
            created = message.date_created
            if message.body == body and (created is None or created >= since):
                return message.sid
        return ""


class NotConfigured:
    def send(self, to: str, body: str, idempotency_key: str, *, since=None) -> str:
        raise SmsError("no SMS provider is configured (TWILIO_ACCOUNT_SID or SMS_PROVIDER_URL)")


def provider() -> Provider:
    kind = settings.SMS_PROVIDER or (
        "twilio" if settings.TWILIO_ACCOUNT_SID else "http" if settings.SMS_PROVIDER_URL else ""
    )
    if kind == "twilio":
        return TwilioProvider(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            sender=settings.SMS_FROM,
            service=settings.TWILIO_MESSAGING_SERVICE_SID,
        )
    if kind == "http" and settings.SMS_PROVIDER_URL:
        return HttpProvider(
            settings.SMS_PROVIDER_URL, settings.SMS_PROVIDER_TOKEN, settings.SMS_FROM
        )
    return NotConfigured()
