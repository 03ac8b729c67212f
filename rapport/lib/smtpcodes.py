"""Whose fault an SMTP refusal is: the recipient's, this message's, or ours.

A mail server's reply has a basic code (RFC 5321: 2xx done, 4xx try again,
5xx refused) and, from any modern server, an enhanced status code (RFC 3463:
class.subject.detail, e.g. 5.1.1). The class says permanent or not; the
subject says what went wrong: 1 addressing, 2 the mailbox, 3 the mail
system, 4 network and routing, 5 the protocol, 6 the content, 7 security and
policy. Only a permanent failure that is the recipient's own — the mailbox
does not exist (5.1.x) or is disabled (5.2.1) — says the address is dead,
and only that suppresses it. An authentication failure (535), a relay or
policy refusal (5.7.x, "550 relaying denied"), a protocol or server error is
the sender's problem: the client is not to blame, nobody's consent is
touched, and sending pauses until someone fixes it. A full mailbox (5.2.2)
is treated as temporary, as most receivers mean it.
"""

import enum
import re


class Verdict(enum.StrEnum):
    TRANSIENT = "transient"  # try again later, with back-off
    RECIPIENT = "recipient"  # the address is dead: suppress it
    MESSAGE = "message"  # this message is refused for good; nothing else follows
    SENDER = "sender"  # our server, account or domain: pause and tell the owner


_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# The recipient-specific permanent ones (RFC 3463 and 7505): bad mailbox,
# bad system, bad address syntax, ambiguous, moved, null MX; disabled mailbox.
# 5.1.7 and 5.1.8 are the *sender's* address.
RECIPIENT_CODES = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 4), (1, 6), (1, 10), (2, 1)}
SENDER_ADDRESS_CODES = {(1, 7), (1, 8)}
# A plain reply with no enhanced code that names the sender's problem.
_SENDER_WORDS = re.compile(
    r"relay|authenticat|\bauth\b|credential|login|policy|not permitted|denied|spf|dkim|dmarc"
    r"|blocked|blacklist|blocklist|spam|reputation",
    re.I,
)
# Basic codes that are about the conversation itself, not any recipient:
# syntax errors, unknown commands, bad sequence, authentication.
SENDER_BASIC = {500, 501, 502, 503, 504, 530, 534, 535, 538, 554}


def enhanced(text: str) -> tuple[int, int, int] | None:
    """The first enhanced status code in a reply's text, e.g. (5, 1, 1)."""
    match = _ENHANCED.search(text or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def classify(code: int, text: str = "") -> Verdict:
    """The verdict on one SMTP reply (basic code and its text)."""
    status = enhanced(text)
    if code < 500 or (status and status[0] == 4):
        return Verdict.TRANSIENT
    if status:
        _, subject, detail = status
        if (subject, detail) in RECIPIENT_CODES:
            return Verdict.RECIPIENT
        if (subject, detail) == (2, 2):
            return Verdict.TRANSIENT  # mailbox full: it may empty
        if (subject, detail) in SENDER_ADDRESS_CODES or subject in (5, 7):
            return Verdict.SENDER
        if subject == 3 and detail != 4:  # the mail system; 5.3.4 is "message too big"
            return Verdict.SENDER
        return Verdict.MESSAGE
    # No enhanced code: never enough to call an address dead.
    if code in SENDER_BASIC or _SENDER_WORDS.search(text or ""):
        return Verdict.SENDER
    return Verdict.MESSAGE


def describe(code: int, text: str) -> str:
    return f"{code} {text}".strip()
