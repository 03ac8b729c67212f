"""In headless Chromium: a card moved on the board by htmx, and a friend on a
phone using a referral link — the page fits the screen, loads nothing from
elsewhere, works, and is attributed to the code's owner."""

import os
import re

import pytest

from rapport.advocacy import actions
from rapport.advocacy.models import Referral
from tests import factories
from tests.outreach.helpers import PHONE, chromium, chromium_missing, serve, traffic

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(chromium_missing()), reason=chromium_missing() or "-"),
]

TIMEOUT_MS = 15_000


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
    return serve(settings, live_server)


def test_a_card_moves_on_the_board_without_a_reload(browser, site, alice, acme):
    today = acme.today()
    ann = factories.client_with_history(acme, today, first_name="Ann")
    referral = factories.referral(
        ann, today, referred=factories.contact(acme, first_name="Bob", last_name="Stone")
    )
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(site + "/login/")
    page.fill("#id_username", alice.email)
    page.fill("#id_password", "password-for-tests")
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/today/"))
    page.goto(site + "/referrals/")
    page.evaluate("window.marker = 'same page'")
    page.select_option(f"#move-{referral.pk}", "meeting")
    page.click(f"#move-{referral.pk} ~ button")
    page.locator(".col-meeting", has_text="Bob Stone").wait_for()
    assert page.evaluate("window.marker") == "same page"  # swapped, not reloaded
    referral.refresh_from_db()
    assert referral.status == "meeting"
    context.close()


def test_a_friend_on_a_phone_uses_the_link(browser, site, acme):
    today = acme.today()
    ann = factories.client_with_history(acme, today, first_name="Ann")
    code = actions.issue_code(ann)
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    with traffic(page) as seen:
        page.goto(f"{site}/r/{code.code}")
    assert seen.hosts() == {site.split("//")[1]}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
    page.fill("#l-first", "Lee")
    page.fill("#l-email", "lee@example.com")
    page.click("button[type=submit]")
    page.get_by_text("Thank you, Lee").wait_for()
    referral = Referral.objects.get(referred__first_name="Lee")
    assert (referral.referrer, referral.code) == (ann, code)
    context.close()
