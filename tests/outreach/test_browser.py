"""End to end in headless Chromium: the owner asks from Today, the email
crosses a real SMTP server, the client answers on a phone, and the answer is
back on Today. Then every client page is checked for accessibility (axe-core),
weight, third-party requests, working without JavaScript, and escaping.
"""

import datetime as dt
import os
import re
from urllib.parse import urlsplit

import pytest
import segno
from django.utils import timezone

from rapport.advocacy import models as advocacy
from rapport.advocacy.models import Referral
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients.models import Contact, Issue, Stage
from rapport.kinds import Channel
from rapport.outreach import actions, compose, sending
from rapport.outreach.models import Ask, AskKind, QuestionnaireAnswer, Suppression
from tests import factories
from tests.outreach.helpers import (
    PHONE,
    SMTPRecorder,
    chromium,
    chromium_missing,
    links_in,
    serve,
    traffic,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(bool(chromium_missing()), reason=chromium_missing() or "-"),
]

PASSWORD = "password-for-tests"
PAGE_BUDGET = 50 * 1024
TIMEOUT_MS = 15_000  # everything is on loopback
PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_ATTRIBUTE = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
RAW = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop on this thread; Django's
    # guard against ORM calls from async code would trip on it although
    # every call here is synchronous.
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
def smtp():
    with SMTPRecorder() as server:
        yield server


@pytest.fixture
def site(settings, live_server, smtp):
    return serve(settings, live_server, smtp)


@pytest.fixture
def acme(alice, charlie):
    workspace = factories.workspace(
        alice, "Acme Dental", "Europe/London", postal_address="12 Harley Street\nLondon W1G 9PF"
    )
    factories.member(charlie, workspace)
    return workspace


def askable(workspace, first_name, last_name="Jones", **fields):
    """A client with history who praised us today: an ask_referral on Today."""
    today = workspace.today()
    person = factories.client_with_history(
        workspace,
        today,
        first_name=first_name,
        last_name=last_name,
        email=fields.pop("email", f"{first_name.lower()}@example.com"),
        email_ok=True,
        **fields,
    )
    factories.activity(person, today, signals=["praise"], text="Loved the new crown")
    store.refresh(workspace, today)
    assert AgendaItem.objects.filter(contact=person, action=Action.ASK_REFERRAL).exists()
    return person


class Dialogs:
    """Every JavaScript dialog any page of a context opens (there must be none)."""

    def __init__(self, context):
        self.fired: list[str] = []
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page):
        def on_dialog(dialog):
            self.fired.append(f"{page.url}: {dialog.type} {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)


def staff_page(browser, site, user_email="alice@example.com"):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    dialogs = Dialogs(context)
    page = context.new_page()
    page.goto(site + "/login/")
    page.fill("#id_username", user_email)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/today/"))
    return context, page, dialogs


def phone_page(browser, **options):
    context = browser.new_context(**PHONE, **options)
    context.set_default_timeout(TIMEOUT_MS)
    dialogs = Dialogs(context)
    return context, context.new_page(), dialogs


def submit(page, button: str, status: int = 200, exact: bool = False):
    """Press a form's button; the page it leads to must come back with `status`."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=exact).click()
    response = navigation.value
    assert response.status == status, (
        f"{button!r} on {response.request.url} answered {response.status} "
        f"({page.title()}): {response.text()[:300]}"
    )
    return response


def item_row(page, contact, action):
    return page.locator(f"li.action-{action}").filter(has_text=contact.name)


def give_names(page, people):
    for n, (name, reach, how) in enumerate(people, start=1):
        page.fill(f"#id_name_{n}", name)
        page.fill(f"#id_reach_{n}", reach)
        page.fill(f"#id_how_{n}", how)
    page.check("#id_mention_1")
    page.check("#id_intro_2")


# -- the ask, from Today to the client's phone and back -------------------


def test_email_ask_from_today_to_names_given_on_a_phone(browser, site, smtp, acme):
    ann = askable(acme, "Ann")
    context, page, dialogs = staff_page(browser, site)

    page.goto(site + "/today/")
    item = item_row(page, ann, "ask_referral")
    item.get_by_role("link", name="Email", exact=True).click()
    page.wait_for_url(re.compile(rf".*/contacts/{ann.pk}/ask/email/"))
    assert "Who else" in page.input_value("#id_body")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(rf".*/contacts/{ann.pk}/$"))
    assert "The email to Ann is on its way." in page.content()

    # No worker runs here: the test process plays its part.
    assert [o.status for o in sending.send_due()] == ["sent"]
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == ["ann@example.com"]
    html = received.part("text/html")
    link = re.search(r'<a href="([^"]+/c/[^"]+)"', html).group(1)
    assert link.startswith(site + "/c/") and link in links_in(received.part("text/plain"))

    phone, client, client_dialogs = phone_page(browser)
    with traffic(client) as seen:
        client.goto(link)
    assert client.locator("h1").inner_text() == "Ann, who else could we help?"
    assert seen.hosts() == {urlsplit(site).netloc}
    # Made for the phone: nothing wider than the screen.
    assert client.evaluate("document.documentElement.scrollWidth") <= 390
    give_names(
        client,
        [
            ("Xavier Ng", "xavier@example.com", "my brother"),
            ("Yvonne Ortiz", "+44 7700 900123", "a colleague"),
            ("Zach Park", "", "tennis club"),
        ],
    )
    submit(client, "Send these names")
    assert "Thank you for thinking of 3 people." in client.locator("main").inner_text()

    referrals = Referral.objects.filter(referrer=ann).select_related("referred")
    people = {r.referred.name: r for r in referrals}
    assert set(people) == {"Xavier Ng", "Yvonne Ortiz", "Zach Park"}
    for referral in referrals:
        assert referral.referred.stage == Stage.PROSPECT
        assert referral.referred.referred_by_id == ann.pk
    assert people["Xavier Ng"].referred.email == "xavier@example.com"
    assert people["Xavier Ng"].may_mention and people["Yvonne Ortiz"].wants_intro
    # Yvonne is to be introduced (double opt-in): her number stays sealed until she says yes.
    assert people["Yvonne Ortiz"].referred.phone == ""
    assert people["Yvonne Ortiz"].introduction.state == "drafted"
    assert people["Zach Park"].note == "tennis club"
    assert Ask.objects.get(contact=ann).outcome == "gave_names"

    # Back on the staff side: the prospects, referred by Ann, and Today.
    page.goto(site + f"/contacts/{ann.pk}/")
    timeline = page.locator("#timeline-title + ol").inner_text()
    for name in people:
        assert f"Referred {name}" in timeline
    page.goto(site + f"/contacts/{people['Xavier Ng'].referred.pk}/")
    assert "Referred by Ann Jones" in page.locator("main").inner_text()
    page.goto(site + "/today/?scope=all&all=1")
    thanks = item_row(page, ann, "thank")
    assert thanks.count() >= 1
    for name in people:  # a thank-you names each person referred
        assert name in " ".join(thanks.all_inner_texts())
    # The names page asked for all of them: no "who else?" right after it.
    assert item_row(page, ann, "ask_more_names").count() == 0
    assert item_row(page, ann, "ask_referral").count() == 0
    assert dialogs.fired == [] and client_dialogs.fired == []
    phone.close()
    context.close()


def test_qr_code_at_the_desk_and_the_questionnaire_on_a_phone(browser, site, acme):
    bea = askable(acme, "Bea")
    context, page, _ = staff_page(browser, site)

    # From Today: the referral page, as a QR code.
    page.goto(site + "/today/")
    item_row(page, bea, "ask_referral").get_by_role("button", name="QR code", exact=True).click()
    page.wait_for_url(re.compile(r".*/asks/\d+/card/"))
    url = card_url(page)
    phone, client, dialogs = phone_page(browser)
    client.goto(url)
    assert client.locator("h1").inner_text() == "Bea, who else could we help?"
    ask = Ask.objects.get(contact=bea)
    assert (ask.kind, ask.channel) == (AskKind.REFERRAL, Channel.LINK)
    assert not AgendaItem.objects.filter(contact=bea, action=Action.ASK_REFERRAL).exists()

    # From the contact page: feedback, as a QR code; answered on the phone.
    page.goto(site + f"/contacts/{bea.pk}/")
    page.select_option("#ask-kind", "feedback")
    page.get_by_role("button", name="as a QR code", exact=True).click()
    page.wait_for_url(re.compile(r".*/asks/\d+/card/"))
    url = card_url(page)
    client.goto(url)
    assert client.locator("h1").inner_text() == "Bea, how are we doing?"
    client.click("label[for=id_nps_9]")
    client.fill("#id_experience", "Quick and painless.")
    client.fill("#id_improve", "Parking is hard.")
    client.fill("#id_would_refer", "Nothing more, I already do.")
    assert client.evaluate("document.documentElement.scrollWidth") <= 390
    submit(client, "Send my answers")
    assert "Thank you for taking the time" in client.locator("main").inner_text()
    answer = QuestionnaireAnswer.objects.get(contact=bea)
    assert (answer.nps, answer.improve, answer.band) == (9, "Parking is hard.", "promoter")
    # The page was used: opening it again says so.
    client.goto(url)
    assert "we already have your answer" in client.locator("h1").inner_text()
    assert dialogs.fired == []
    phone.close()
    context.close()


def card_url(page) -> str:
    """The URL a desk card shows, after checking its QR code encodes exactly it."""
    url = page.locator(".qr-card code").inner_text().strip()
    assert re.fullmatch(r"http://[^/]+/c/[\w-]{20,}/", url), url
    svg = page.locator("figure.qr svg")
    assert svg.count() == 1
    drawn = svg.locator("path").first.get_attribute("d")
    # segno draws one path for a given content; the same URL gives the same path.
    expected = segno.make(url, error="m").svg_inline(scale=6, dark="#1b2421", omitsize=True)
    assert f'd="{drawn}"' in expected
    return url


# -- every client page: axe, weight, no third party -----------------------


@pytest.fixture
def client_pages(site, acme):
    """One URL for each client page (and each way a link can fail)."""
    cleo = factories.client_with_history(
        acme, acme.today(), first_name="Cleo", email="cleo@example.com", email_ok=True
    )

    def ask(kind, **fields):
        made = actions.start_ask(cleo, kind=kind, channel=Channel.EMAIL)
        if fields:
            Ask.objects.filter(pk=made.pk).update(**fields)
        return compose.page_url(made)

    message = compose.ask_email(
        actions.start_ask(cleo, kind=AskKind.REFERRAL, channel=Channel.EMAIL),
        subject="A favour",
        body="Hello",
    )
    unsubscribe = compose.links_for(message)[compose.UNSUBSCRIBE_LINK]
    return {
        "names": ask(AskKind.REFERRAL),
        "testimonial": ask(AskKind.TESTIMONIAL),
        "questionnaire": ask(AskKind.FEEDBACK),
        "later": ask(AskKind.PERMISSION) + "later/",
        "unsubscribe": unsubscribe,
        "expired": ask(AskKind.REFERRAL, token_expires_at=timezone.now() - dt.timedelta(days=1)),
        "answered": ask(AskKind.REFERRAL, answered_at=timezone.now()),
        "invalid": site + "/c/this-is-not-a-token-at-all-000000/",
        "invalid_unsubscribe": site + "/u/this-is-not-a-token-at-all-000000/",
    }


def test_every_client_page_form_submits_from_a_real_browser(browser, site, client_pages):
    """A browser POSTs these forms with an Origin header; under the pages'
    referrer policy it must still pass Django's CSRF origin check."""
    phone, page, _ = phone_page(browser)
    answers = {
        "names": lambda: page.fill("#id_name_1", "Fay Gold"),
        "testimonial": lambda: page.fill("#id_text", "Wonderful care."),
        "questionnaire": lambda: page.click("label[for=id_nps_10]"),
        "later": lambda: page.fill(
            "#id_ask_after", (timezone.now() + dt.timedelta(days=30)).date().isoformat()
        ),
    }
    outcomes = {}
    for name, answer in answers.items():
        page.goto(client_pages[name])
        answer()
        with page.expect_navigation() as navigation:
            page.locator("main form button[type=submit]").click()
        outcomes[name] = (navigation.value.status, page.locator("h1").inner_text())
    assert outcomes == dict.fromkeys(answers, (200, "Thank you, Cleo!")), outcomes
    phone.close()


def audit(page, name, seen, site, report):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = results.response["violations"]
    grave = [v for v in violations if v["impact"] in ("serious", "critical")]
    minor = [f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes)" for v in violations]
    report.append(
        f"{name:20} {seen.total / 1024:5.1f} KB in {len(seen.requests)} request(s); "
        f"axe: {', '.join(minor) or 'no violations'}"
    )
    assert not grave, f"{name}: " + "; ".join(
        f"{v['id']} {v['impact']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in grave
    )
    assert seen.total < PAGE_BUDGET, f"{name} weighs {seen.total} bytes: {seen.requests}"
    assert seen.hosts() == {urlsplit(site).netloc}, f"{name} loads from {seen.hosts()}"


def test_client_pages_are_accessible_light_and_self_contained(browser, site, client_pages):
    from axe_playwright_python.sync_playwright import Axe

    phone, page, dialogs = phone_page(browser)
    # The audit itself works: it sees an image without a text alternative.
    page.set_content('<html lang="en"><title>t</title><main><img src="data:,"></main></html>')
    assert "image-alt" in {v["id"] for v in Axe().run(page).response["violations"]}
    report: list[str] = []
    expected_status = {"expired": 410, "answered": 409, "invalid": 404, "invalid_unsubscribe": 404}
    for name, url in client_pages.items():
        with traffic(page) as seen:
            response = page.goto(url)
        assert response.status == expected_status.get(name, 200), name
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        # The token in the URL never leaves the site in a Referer header.
        assert response.headers["referrer-policy"] in ("same-origin", "no-referrer")
        audit(page, name, seen, site, report)

    # The pages after an answer: thanks, and unsubscribed.
    page.goto(client_pages["later"])
    page.fill("#id_ask_after", (timezone.now() + dt.timedelta(days=60)).date().isoformat())
    with traffic(page) as seen:
        submit(page, "Save this date")
    assert page.locator("h1").inner_text().startswith("Thank you")
    audit(page, "thanks", seen, site, report)

    page.goto(client_pages["unsubscribe"])
    with traffic(page) as seen:
        submit(page, "Unsubscribe")
    assert page.locator("h1").inner_text() == "You are unsubscribed"
    assert Suppression.objects.filter(address="cleo@example.com").exists()
    audit(page, "unsubscribed", seen, site, report)

    print("\nclient pages (phone, 390x844):\n  " + "\n  ".join(report))
    assert dialogs.fired == []
    phone.close()


def test_give_names_works_without_javascript(browser, site, client_pages):
    phone, page, _ = phone_page(browser, java_script_enabled=False)
    page.goto(client_pages["names"])
    give_names(page, [("Dora Quinn", "dora@example.com", "neighbour"), ("Eli Roy", "", "")])
    submit(page, "Send these names")
    assert "Thank you for thinking of 2 people." in page.locator("main").inner_text()
    cleo = Contact.objects.get(first_name="Cleo")
    assert {r.referred.name for r in Referral.objects.filter(referrer=cleo)} == {
        "Dora Quinn",
        "Eli Roy",
    }
    # A mistake is explained without JavaScript too.
    page.goto(client_pages["testimonial"])
    submit(page, "Send", status=422, exact=True)
    assert page.locator(".error").count() >= 1
    phone.close()


# -- markup typed by a client or in a name is shown, never run -------------


def assert_escaped(response, page, where, shown=True):
    body = response.text() if response is not None else page.content()
    for raw in RAW:
        assert raw not in body, f"{where}: {raw} is in the page unescaped"
    if shown:
        assert ESCAPED in body or ESCAPED_ATTRIBUTE in body, f"{where}: the payload is not shown"
    assert page.locator("img[src=x]").count() == 0, where
    scripts = page.locator("script").evaluate_all("els => els.map(e => e.textContent)")
    assert not any("alert(1)" in s for s in scripts), where


def test_markup_in_names_and_answers_is_escaped_everywhere(browser, site, smtp, acme):
    mallory = askable(acme, PAYLOAD, last_name=PAYLOAD, email="mallory@example.com")
    context, page, dialogs = staff_page(browser, site)

    # The owner asks them by email from Today: Today, the compose page, the
    # contact page with its confirmation and the outbox all show the name.
    assert_escaped(page.goto(site + "/today/"), page, "today")
    item_row(page, mallory, "ask_referral").get_by_role("link", name="Email", exact=True).click()
    page.wait_for_url(re.compile(r".*/ask/email/"))
    assert_escaped(None, page, "compose page")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(rf".*/contacts/{mallory.pk}/$"))
    assert "is on its way" in page.locator("body").inner_text()
    assert_escaped(None, page, "contact page after sending")
    assert_escaped(page.goto(site + "/outbox/"), page, "outbox")
    assert [o.status for o in sending.send_due()] == ["sent"]
    [received] = smtp.wait_for(1)
    html = received.part("text/html")
    assert ESCAPED in html and not any(raw in html for raw in RAW)
    pages = {AskKind.REFERRAL: re.search(r'<a href="([^"]+/c/[^"]+)"', html).group(1)}
    for kind in (AskKind.TESTIMONIAL, AskKind.FEEDBACK, AskKind.PERMISSION):
        made = actions.start_ask(mallory, kind=kind, channel=Channel.EMAIL)
        pages[kind] = compose.page_url(made)
    pages[AskKind.PERMISSION] += "later/"

    phone, client, client_dialogs = phone_page(browser)

    # Give names: a wrong address first (the form comes back with the
    # payloads in it), then every field carries the payload.
    response = client.goto(pages[AskKind.REFERRAL])
    assert_escaped(response, client, "names page")
    client.fill("#id_name_1", PAYLOAD)
    client.fill("#id_reach_1", '"><img src=x onerror=alert(1)>@')
    client.fill("#id_how_1", PAYLOAD)
    response = submit(client, "Send these names", status=422)
    assert_escaped(response, client, "names page with errors")
    client.fill("#id_reach_1", '"><img src=x onerror=alert(1)>')
    client.fill("#id_name_2", f"Bob {PAYLOAD}")
    client.fill("#id_reach_2", "bob@example.com")
    client.fill("#id_how_2", PAYLOAD)
    submit(client, "Send these names")
    assert "Thank you for thinking of 2 people." in client.locator("main").inner_text()

    # Testimonial: the words, the name shown in full.
    assert_escaped(client.goto(pages[AskKind.TESTIMONIAL]), client, "testimonial page")
    client.fill("#id_text", PAYLOAD)
    client.check("input[name=display][value=full]")
    client.check("#id_consent_publish")
    submit(client, "Send", exact=True)
    assert "Thank you for your kind words" in client.locator("main").inner_text()
    testimonial = advocacy.Testimonial.objects.get(contact=mallory)
    assert testimonial.text == PAYLOAD and PAYLOAD in testimonial.display_name

    # Questionnaire: a detractor, so the words become an open issue.
    assert_escaped(client.goto(pages[AskKind.FEEDBACK]), client, "questionnaire page")
    client.click("label[for=id_nps_2]")
    for field in ("experience", "improve", "would_refer"):
        client.fill(f"#id_{field}", PAYLOAD)
    submit(client, "Send my answers")
    assert "We are sorry it was not better" in client.locator("main").inner_text()
    summary = Issue.objects.get(contact=mallory).summary
    assert summary == f"Rated us 2/10: {PAYLOAD} — would improve: {PAYLOAD}"

    # Ask me later: the date field is a date picker; typed into as text, the
    # payload comes back with the error.
    assert_escaped(client.goto(pages[AskKind.PERMISSION]), client, "later page", shown=False)
    client.evaluate("document.getElementById('id_ask_after').type = 'text'")
    client.fill("#id_ask_after", PAYLOAD)
    response = submit(client, "Save this date", status=422)
    assert_escaped(response, client, "later page with errors")

    # Back on the staff side: the contact, a prospect they gave, the list, Today.
    prospect = Referral.objects.filter(referrer=mallory).order_by("pk").first().referred
    assert prospect.first_name == '<script>alert(1)</script>"><img'
    assert prospect.phone == '"><img src=x onerror=alert(1)>'
    views = {
        "contact page": f"/contacts/{mallory.pk}/",
        "prospect page": f"/contacts/{prospect.pk}/",
        "contact list": "/contacts/",
        "today": "/today/?scope=all&all=1",
    }
    for where, path in views.items():
        assert_escaped(page.goto(site + path), page, where)
    page.goto(site + "/today/?scope=all&all=1")
    assert item_row(page, mallory, "recover").count() == 1  # the detractor's issue
    assert item_row(page, mallory, "thank").count() >= 1  # the names they gave

    assert dialogs.fired == [] and client_dialogs.fired == []
    phone.close()
    context.close()
