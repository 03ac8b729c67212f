"""The widget in headless Chromium, embedded in a page served from another
loopback origin (127.0.0.2): it shows only consented fields, escapes every
text, sets no cookie, falls back to the iframe, and a withdrawal made on the
client's page takes the words off the open third-party page at the widget's
next refresh — driven by Playwright's clock, not by waiting a minute."""

import contextlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.base import ContentFile

from rapport.advocacy import testimonials
from tests import factories
from tests.advocacy.conftest import publish
from tests.outreach.helpers import chromium, chromium_missing, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(chromium_missing()), reason=chromium_missing() or "-"),
]

TIMEOUT_MS = 15_000
PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"
THIRD_PARTY_HOST = "127.0.0.2"  # another loopback address: another site


@contextlib.contextmanager
def third_party_site(pages: dict[str, str]):
    """A plain HTTP server for someone else's website, on its own address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((THIRD_PARTY_HOST, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{THIRD_PARTY_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with chromium() as launched:
            yield launched
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def site(settings, live_server):
    # Nothing may be cached across the test's few real seconds: the bound
    # itself (max-age + refresh ≤ 60 s) is checked in test_public.py.
    settings.RAPPORT_PUBLIC_MAX_AGE = 0
    return serve(settings, live_server)


def embedding_page(site, slug, *, before="") -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Our practice</title></head>
<body><h1>Welcome to our practice</h1>{before}
<div data-rapport-testimonials data-limit="6"></div>
<script src="{site}/w/{slug}/widget.js" async></script>
</body></html>"""


def shown(page) -> list[dict]:
    return page.evaluate(
        """() => {
        const root = document.querySelector('[data-rapport-testimonials=""]').shadowRoot;
        if (!root) return null;
        return [...root.querySelectorAll('figure')].map(f => ({
            text: f.querySelector('blockquote').textContent,
            name: f.querySelector('b').textContent,
            img: f.querySelector('img') ? f.querySelector('img').src : null,
            disclosure: f.querySelector('.d') ? f.querySelector('.d').textContent : null,
            html: f.innerHTML,
        }));
    }"""
    )


def test_the_widget_on_another_site_shows_consented_fields_and_leaves_on_withdrawal(
    browser, site, acme, today
):
    ann = factories.contact(acme, first_name="Ann", last_name="Jones", email="ann@example.com")
    ann_t = publish(ann, "Ann's words", display_name="Ann J.")
    ann_t.photo.save("ann.jpg", ContentFile(b"\xff\xd8\xff"), save=True)  # no photo consent
    bo = factories.contact(acme, first_name="Bo", last_name="Li")
    bo_t = publish(bo, "Bo's words", display_name="Anonymous")
    testimonials.set_connection(bo_t, "rewarded")
    cy = factories.contact(acme, first_name="Cy")
    publish(cy, PAYLOAD, display_name=PAYLOAD)

    # A second widget on the page, named for another business's workspace.
    other = '<div id="other" data-rapport-testimonials="someone-else"></div>'
    with third_party_site({"/": embedding_page(site, acme.slug, before=other)}) as origin:
        context = browser.new_context()
        page = context.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        rapport_responses = []
        page.on(
            "response",
            lambda r: rapport_responses.append(r) if r.url.startswith(site) else None,
        )
        page.clock.install()
        page.goto(origin + "/", timeout=TIMEOUT_MS)
        page.wait_for_function(
            "() => document.querySelector('[data-rapport-testimonials=\"\"]').shadowRoot"
            "?.querySelectorAll('figure').length === 3",
            timeout=TIMEOUT_MS,
        )
        items = {item["text"]: item for item in shown(page)}
        assert set(items) == {"Ann's words", "Bo's words", PAYLOAD}
        assert page.evaluate("() => document.getElementById('other').shadowRoot") is None
        assert items["Ann's words"]["name"] == "Ann J."
        assert items["Ann's words"]["img"] is None  # a photo, but no consent to show it
        assert items["Bo's words"]["name"] == "A client"
        assert items["Bo's words"]["disclosure"].startswith("Acme Dental gave this client")
        # The payload is text: shown as written, never parsed, never run.
        assert items[PAYLOAD]["name"] == PAYLOAD
        assert "<img" not in items[PAYLOAD]["html"].replace("&lt;img", "")
        assert page.evaluate("() => document.images.length") == 0
        assert not dialogs
        # No cookie anywhere, for either site; none was offered.
        assert context.cookies() == []
        assert rapport_responses
        for response in rapport_responses:
            assert "set-cookie" not in response.all_headers(), response.url
        feed = [r for r in rapport_responses if "testimonials.json" in r.url]
        assert feed and feed[0].all_headers()["access-control-allow-origin"] == "*"
        assert feed[0].request.all_headers().get("cookie") is None

        # Ann withdraws on her own page, in another tab.
        client_page = context.new_page()
        link = testimonials.new_link(ann_t)
        client_page.goto(site + f"/t/{link.token()}/", timeout=TIMEOUT_MS)
        client_page.get_by_role("button", name="Stop showing my words").click()
        client_page.wait_for_selector("text=no longer shown anywhere", timeout=TIMEOUT_MS)
        ann_t.refresh_from_db()
        assert ann_t.status == "withdrawn"

        # The open widget refreshes within the minute and the words are gone.
        assert items  # still shown until the next refresh…
        page.clock.run_for((testimonials.WIDGET_REFRESH_SECONDS + 1) * 1000)
        page.wait_for_function(
            "() => document.querySelector('[data-rapport-testimonials=\"\"]').shadowRoot"
            ".querySelectorAll('figure').length === 2",
            timeout=TIMEOUT_MS,
        )
        assert "Ann's words" not in {item["text"] for item in shown(page)}
        # A fresh visit never sees them either.
        page.reload()
        page.wait_for_function(
            "() => document.querySelector('[data-rapport-testimonials=\"\"]').shadowRoot"
            "?.querySelectorAll('figure').length === 2",
            timeout=TIMEOUT_MS,
        )
        context.close()


def test_without_fetch_the_widget_falls_back_to_the_iframe(browser, site, acme):
    ann = factories.contact(acme, first_name="Ann", last_name="Jones")
    publish(ann, "Ann's words", display_name="Ann J.")
    before = "<script>window.fetch = undefined;</script>"
    with third_party_site({"/": embedding_page(site, acme.slug, before=before)}) as origin:
        context = browser.new_context()
        page = context.new_page()
        page.goto(origin + "/", timeout=TIMEOUT_MS)
        frame = page.frame_locator("iframe[title='What our clients say']")
        frame.locator("blockquote").first.wait_for(timeout=TIMEOUT_MS)
        assert frame.locator("blockquote").first.inner_text() == "Ann's words"
        assert frame.locator(".who").first.inner_text() == "Ann J."
        sandbox = page.locator("iframe").get_attribute("sandbox")
        assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
        assert context.cookies() == []
        context.close()
