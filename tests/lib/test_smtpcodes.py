import pytest

from rapport.lib.smtpcodes import Verdict, classify, enhanced


@pytest.mark.parametrize(
    "code, text, verdict",
    [
        (550, "5.1.1 <gone@example.com>: Recipient address rejected: User unknown", "recipient"),
        (550, "5.1.2 Bad destination system address", "recipient"),
        (553, "5.1.3 Bad destination mailbox address syntax", "recipient"),
        (550, "5.1.10 Recipient address has null MX", "recipient"),
        (550, "5.2.1 Mailbox disabled, not accepting messages", "recipient"),
        (552, "5.2.2 Mailbox full", "transient"),
        (451, "4.3.0 Mailbox busy", "transient"),
        (421, "Service not available", "transient"),
        (535, "5.7.8 Authentication credentials invalid", "sender"),
        (535, "Authentication failed", "sender"),
        (554, "5.7.1 Relaying denied", "sender"),
        (550, "5.7.26 Unauthenticated email is not accepted (DMARC)", "sender"),
        (550, "Relaying denied", "sender"),
        (550, "5.1.8 Bad sender's system address", "sender"),
        (500, "Syntax error, command unrecognized", "sender"),
        (554, "Transaction failed", "sender"),
        (550, "5.5.2 Syntax error", "sender"),
        (552, "5.3.4 Message too big for system", "message"),
        (550, "5.6.0 Content rejected", "message"),
        (550, "No such user here", "message"),  # no enhanced code: never enough to suppress
    ],
)
def test_the_verdict_follows_rfc_3463(code, text, verdict):
    assert classify(code, text) == Verdict(verdict)


def test_the_enhanced_code_is_read_from_the_text_not_from_an_address_or_a_version():
    assert enhanced("550 5.1.1 <a@b.c> no") == (5, 1, 1)
    assert enhanced("550 user 1.2.3.4 not found") is None
    assert enhanced("no code here") is None
