"""Over 200 XSS payloads stored in client names, notes, testimonials and the
business's name: the dashboard, the public wall and its iframe, and the
email as sent show no element, event handler or javascript: URL that the
same pages with harmless text do not have (checklist row 9)."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from rapport.advocacy import testimonials
from rapport.advocacy.actions import record_testimonial
from rapport.kinds import Channel
from rapport.outreach import actions, compose, sending
from rapport.outreach.models import AskKind
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<base href=//evil.example/>",
    '<meta http-equiv=refresh content="0;url=javascript:alert(1)">',
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<style>@import'//evil.example'</style>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<IMG SRC=JaVaScRiPt:alert(1)>",
    '<a href=" &#14; javascript:alert(1)">x</a>',
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<select><style></select><img src=x onerror=alert(1)>",
    "<x onclick=alert(1)>click</x>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    '<div style="background:url(javascript:alert(1))">',
    "javascript:alert(1)",
    "{{7*7}}${alert(1)}<%= 7*7 %>",
]
# Ways out of the context a value might be written into.
BREAKOUTS = ["", '">', "'>", "</textarea>", "</title>", "</script>", "--!><!--"]
PAYLOADS = [prefix + vector for prefix in BREAKOUTS for vector in VECTORS]
HARMLESS = "Ann Jones"


class Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.handlers, self.scripts, self.urls = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            cleaned = re.sub(r"[\s\x00-\x20]", "", value or "").lower()
            if cleaned.startswith(("javascript:", "//evil", "data:text/html")):
                self.urls.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            src = dict(attrs).get("src") or ""
            if not src.startswith("/static/"):
                self.scripts.append(src or "inline")


def _parse(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


def _pages(workspace, owner, texts) -> dict[str, str]:
    """Every surface, with each text stored in every field it can go to."""
    contacts = []
    for n, text in enumerate(texts):
        contact = factories.contact(
            workspace,
            first_name=text[:100],
            last_name=text[:100],
            notes=text,
            email=f"p{n}@example.com",
            email_ok=True,
        )
        testimonial = record_testimonial(
            contact,
            text,
            on=workspace.today(),
            consent_publish=True,
            display_name=text[:120],
            rating=5,
        )
        testimonials.approve(testimonial)
        contacts.append(contact)
    staff = Client()
    staff.force_login(owner)
    pages = {
        "contacts list": staff.get(reverse("clients:list")).content.decode(),
        "testimonial queue": staff.get(reverse("advocacy:queue")).content.decode(),
        "wall": Client().get(reverse("advocacy:wall", args=[workspace.slug])).content.decode(),
        "embed": Client().get(reverse("advocacy:embed", args=[workspace.slug])).content.decode(),
    }
    # One contact page per vector, each with another breakout (the lists above
    # hold them all): a page per payload took ten minutes on a loaded machine.
    for n, contact in enumerate(contacts[:: len(BREAKOUTS)]):
        detail = staff.get(reverse("clients:detail", args=[contact.pk])).content.decode()
        pages[f"contact {n}"] = detail
    for n, contact in enumerate(contacts[: len(VECTORS)]):
        ask = actions.start_ask(contact, kind=AskKind.REFERRAL, channel=Channel.EMAIL)
        message = compose.ask_email(ask, subject="A favour", body=f"Hello {texts[n]}")
        email = sending.build_email(message)
        html = next((c for c, kind in email.alternatives if kind == "text/html"), "")
        pages[f"email {n}"] = html
    return pages


def test_the_corpus_is_big_enough():
    assert len(set(PAYLOADS)) >= 200


def test_no_payload_adds_an_element_a_handler_or_a_script(alice, acme, bob, bright):
    # The business name is a payload too (it heads every page and email).
    acme.name = ('"><img src=x onerror=alert(1)><script>alert(1)</script>')[:120]
    acme.save(update_fields=["name"])
    baseline = _pages(bright, bob, [HARMLESS] * len(VECTORS))
    allowed = set().union(*(_parse(html).tags for html in baseline.values()))
    problems = []
    for name, html in _pages(acme, alice, PAYLOADS).items():
        found = _parse(html)
        new = found.tags - allowed
        if new or found.handlers or found.scripts or found.urls:
            problems.append(
                f"{name}: new tags {sorted(new)}, handlers {found.handlers[:3]}, "
                f"scripts {found.scripts[:3]}, urls {found.urls[:3]}"
            )
        assert "alert(1)" in html or name.startswith("email"), f"{name} shows no payload at all"
    assert not problems, "\n".join(problems[:20])
