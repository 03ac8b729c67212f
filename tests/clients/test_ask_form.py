"""No token in any URL built by a form: a GET form must carry no CSRF token
(it would land in the URL, the history, the logs and a Referer)."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


class Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.current = {"method": (attrs.get("method") or "get").lower(), "fields": []}
            self.forms.append(self.current)
        elif tag in ("input", "button", "select", "textarea") and self.current is not None:
            self.current["fields"].append(attrs.get("name"))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def get_forms(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return parser.forms


def test_no_get_form_on_the_staff_pages_carries_the_csrf_token(alice_client, acme, today):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    pages = [
        reverse("clients:detail", args=[ann.pk]),
        reverse("clients:list"),
        reverse("agenda:today"),
        reverse("outreach:outbox"),
        reverse("outreach:delivery"),
        reverse("outreach:compose", args=[ann.pk, "email"]),
    ]
    for url in pages:
        for form in get_forms(alice_client.get(url).content.decode()):
            if form["method"] == "get":
                assert "csrfmiddlewaretoken" not in form["fields"], url


def test_the_ask_form_posts_and_leads_to_a_compose_url_without_a_token(alice_client, acme, today):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    action = reverse("outreach:qr", args=[ann.pk])
    assert re.search(rf'<form method="post" action="{action}"', page)
    assert f'method="get" action="{reverse("outreach:compose", args=[ann.pk, "email"])}' not in page
    for channel in ("email", "sms"):
        response = alice_client.post(action, {"kind": "testimonial", "channel": channel})
        assert response.status_code == 302
        location = response["Location"]
        assert location == reverse("outreach:compose", args=[ann.pk, channel]) + (
            "?kind=testimonial"
        )
        assert "csrf" not in location
    # The same form still makes the QR code at the desk.
    response = alice_client.post(action, {"kind": "referral", "channel": "link"})
    assert response.status_code == 302 and "/card/" in response["Location"]
