"""In headless Chromium: a viewer sees the records and none of the buttons
that would be refused; a member sees them; and the site's CSP blocks
nothing the pages need (no console errors, no CSP reports)."""

import os
import re

import pytest

from rapport.workspaces.models import Role
from tests import factories
from tests.outreach.helpers import chromium, chromium_missing, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(chromium_missing()), reason=chromium_missing() or "-"),
]

PASSWORD = "password-for-tests"


@pytest.fixture
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


def _signed_in(browser, site, email):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.goto(site + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/today/"))
    return context, page, problems


def _visible_post_forms(page) -> int:
    return page.locator("main form[method=post]").evaluate_all(
        "forms => forms.filter(f => f.offsetParent !== null).length"
    )


def test_a_viewer_sees_no_button_that_would_be_refused(settings, live_server, browser, acme, today):
    site = serve(settings, live_server)
    ann = factories.client_with_history(acme, today)
    viewer = factories.user("vera@example.com", "Vera")
    factories.member(viewer, acme, Role.VIEWER)
    context, page, problems = _signed_in(browser, site, "vera@example.com")
    try:
        page.goto(f"{site}/contacts/{ann.pk}/")
        assert page.get_by_text("Read-only").is_visible()
        assert page.get_by_role("heading", name=re.compile("Ann")).first.is_visible()
        assert _visible_post_forms(page) == 0
        page.goto(f"{site}/settings/me/")
        assert _visible_post_forms(page) >= 1, "a viewer keeps their own feed and digest"
        assert not [p for p in problems if "Content Security Policy" in p], problems
    finally:
        context.close()


def test_a_member_sees_the_forms_and_the_csp_blocks_nothing(
    settings, live_server, browser, acme, today, charlie
):
    site = serve(settings, live_server)
    ann = factories.client_with_history(acme, today)
    context, page, problems = _signed_in(browser, site, "charlie@example.com")
    try:
        page.goto(f"{site}/contacts/{ann.pk}/")
        assert _visible_post_forms(page) > 3
        page.goto(f"{site}/today/")
        # The filter applies on change (rapport.js, not an inline handler).
        page.select_option("#scope", "all")
        page.wait_for_url(re.compile(r".*scope=all.*"))
        assert not problems, problems
    finally:
        context.close()
