"""Every staff page of the demo workspace, in headless Chromium: no serious
or critical axe-core violation (contrast included: the active tab, the
banners), and no form that puts a token in a URL (a GET form carrying
csrfmiddlewaretoken, as the contact page's Ask form once did).

The pages are found by walking the links from Today, as a person would, one
page per route; the walk must reach every HTML staff route of the role
table (tests/workspaces/routes.py) but those listed in NOT_LINKED.
"""

import os
import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve, reverse

from rapport.clients.models import Contact
from rapport.dev import demo
from rapport.kinds import Channel
from rapport.outreach import actions
from rapport.outreach.models import AskKind
from rapport.workspaces.models import Workspace
from tests.outreach.helpers import chromium, chromium_missing, serve
from tests.workspaces.routes import PUBLIC, ROUTES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(chromium_missing()), reason=chromium_missing() or "-"),
]

# Files, not pages: nothing for axe to read.
NOT_HTML = {
    "outreach:export",
    "advocacy:insights_csv",
    "winback:export",
    "outreach:calendar_feed",
    "advocacy:testimonial_photo",
}
# Staff routes no link leads to in the demo, and why (each still has its
# role and isolation tests).
NOT_LINKED = {
    "workspaces:create": "the account menu links it; a first workspace is made at sign-up",
    "password_change": "in the account menu, which is a <details> the walk does not open",
    "mailbox:workspace": "linked only while mail goes to the development mailbox",
    "advocacy:merge_record": "the demo has merged nobody (tests/advocacy/test_merge.py shows it)",
    "clients:import_status": "a large import's page, reached by redirect when it starts "
    "(tests/clients/test_imports_bulk.py shows it)",
}
# Pages reached by a form rather than a link: visited directly.
DIRECT = ["/settings/referrals/rules/new/"]
PAGES_MAX = 120


def _staff_get_routes() -> set[str]:
    return {
        name
        for name, entry in ROUTES.items()
        if entry["GET"] not in (None, PUBLIC) and name not in NOT_HTML
    }


def _route(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


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


GET_FORMS_WITH_A_TOKEN = """
() => [...document.querySelectorAll("form")]
  .filter((f) => (f.getAttribute("method") || "get").toLowerCase() === "get")
  .filter((f) => f.querySelector("[name=csrfmiddlewaretoken]"))
  .map((f) => f.getAttribute("action") || location.pathname)
"""


def test_every_staff_page_is_accessible_and_builds_no_token_into_a_url(
    settings, live_server, browser
):
    from axe_playwright_python.sync_playwright import Axe

    site = serve(settings, live_server)
    demo.build_all(patients=120, clients=40)
    context = browser.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto(site + "/login/")
    page.fill("#id_username", demo.DEMO_EMAIL)
    page.fill("#id_password", demo.DEMO_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/today/"))

    staff = _staff_get_routes()
    axe = Axe()
    seen: dict[str, str] = {}
    # The import preview: the examples button posts to a batch of its own.
    page.goto(site + "/contacts/import/")
    with page.expect_navigation():
        page.click("button[name=examples]")
    # A client's printed card (QR code): shown after an in-person ask, made
    # here in each demo workspace; the one of the workspace shown is visited.
    card = []
    for workspace in Workspace.objects.filter(slug__in=[demo.DENTAL_SLUG, demo.CONSULTING_SLUG]):
        contact = Contact.objects.filter(workspace=workspace).first()
        ask = actions.start_ask(contact, kind=AskKind.REFERRAL, channel=Channel.IN_PERSON)
        url = reverse("outreach:card", args=[ask.pk])
        if page.request.get(site + url).status == 200:
            card.append(url)
    queue = deque(["/today/", urlsplit(page.url).path, *DIRECT, *card])
    problems, tokens = [], []
    while queue and len(seen) < PAGES_MAX:
        path = queue.popleft()
        name = _route(path)
        if name is None or name in seen or name not in staff:
            continue
        seen[name] = path
        response = page.goto(site + path)
        assert response.status < 400, f"{path}: {response.status}"
        violations = axe.run(page).response["violations"]
        problems += [
            f"{name} ({path}): {v['id']} {v['impact']}: {v['help']} at "
            f"{[n['target'] for n in v['nodes']][:3]}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        tokens += [f"{name}: GET form to {a}" for a in page.evaluate(GET_FORMS_WITH_A_TOKEN)]
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            parts = urlsplit(href)
            if parts.netloc == urlsplit(site).netloc and not parts.path.startswith("/admin/"):
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    # The time-zone picker's filter (rapport.js): typing narrows and picks.
    page.goto(site + "/settings/")
    page.fill("input.tz-filter", "kolkata")
    assert page.input_value("#id_time_zone") == "Asia/Kolkata"
    shown = page.eval_on_selector_all(
        "#id_time_zone option", "options => options.filter(o => !o.hidden).map(o => o.value)"
    )
    assert shown == ["Asia/Kolkata"]
    context.close()

    assert not problems, "\n".join(problems)
    assert not tokens, "\n".join(tokens)
    missing = staff - set(seen) - set(NOT_LINKED)
    assert not missing, f"no link reaches: {sorted(missing)}"
    assert len(seen) >= 40
