"""The client pages: tokens, answers flowing back into the record, safety."""

import datetime as dt
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.advocacy import models as advocacy
from rapport.advocacy.models import Referral
from rapport.agenda import engine
from rapport.agenda.models import AgendaItem
from rapport.clients.models import ConsentRecord, Contact, Issue, Permission
from rapport.outreach import actions
from rapport.outreach.models import Ask, OutboundMessage, QuestionnaireAnswer
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)


def open_ask(contact, kind="referral"):
    ask = actions.start_ask(contact, kind=kind, channel="email")
    return ask, reverse("outreach:page", args=[ask.token()])


def snapshot():
    return (
        Contact.objects.count(),
        Referral.objects.count(),
        advocacy.Testimonial.objects.count(),
        Permission.objects.count(),
        QuestionnaireAnswer.objects.count(),
        Ask.objects.exclude(answered_at=None).count(),
    )


NAMES = {
    "name_1": "Bea Smith",
    "reach_1": "bea@example.com",
    "how_1": "my sister",
    "mention_1": "on",
    "name_2": "Cal Ng",
    "reach_2": "+44 7700 900111",
    "intro_2": "on",
    "name_3": "Dee",
    "reach_3": "",
}


def test_tokens_are_long_random_and_stored_hashed(ann):
    ask, url = open_ask(ann)
    token = ask.token()
    assert len(token) >= 32  # 192 bits, base64
    assert token not in (ask.token_hash or "") and ask.token_hash and len(ask.token_hash) == 64
    assert Ask.objects.by_token(token) == ask
    assert ask.token_expires_at - timezone.now() > dt.timedelta(days=29)


def test_a_get_changes_nothing(ann):
    ask, url = open_ask(ann)
    before = snapshot()
    response = Client().get(url)
    assert response.status_code == 200
    assert "who else could we help?" in response.content.decode()
    assert snapshot() == before


def test_client_pages_send_no_referrer_and_load_nothing_from_elsewhere(ann):
    _, url = open_ask(ann)
    response = Client().get(url)
    assert response["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert "<script" not in page and "http://" not in page.replace("http://testserver", "")


def test_names_become_prospects_referred_by_the_client(ann, today):
    ask, url = open_ask(ann)
    response = Client().post(url, NAMES)
    assert response.status_code == 200, response.content.decode()[:500]
    assert "3 people" in response.content.decode()
    people = {c.first_name: c for c in Contact.objects.filter(referred_by=ann)}
    assert set(people) == {"Bea", "Cal", "Dee"}
    # Cal is to be introduced (double opt-in): the business has no number yet.
    assert (people["Bea"].email, people["Cal"].phone, people["Dee"].stage) == (
        "bea@example.com",
        "",
        "prospect",
    )
    bea = Referral.objects.get(referred=people["Bea"])
    assert (bea.how, bea.note, bea.may_mention, bea.wants_intro) == (
        "names_given",
        "my sister",
        True,
        False,
    )
    cal = Referral.objects.get(referred=people["Cal"])
    assert cal.wants_intro and cal.how == "intro" and cal.introduction.state == "drafted"
    actions_now = set(AgendaItem.objects.filter(contact=ann).values_list("action", flat=True))
    # Thanked; not asked for the other names: the page just asked for them all.
    assert "thank" in actions_now and "ask_more_names" not in actions_now
    ask.refresh_from_db()
    assert ask.outcome == "gave_names" and ask.answered_at


def test_a_token_is_single_use(ann):
    _, url = open_ask(ann)
    Client().post(url, NAMES)
    before = snapshot()
    again = Client().post(url, NAMES)
    assert again.status_code == 409
    assert "already have your answer" in again.content.decode()
    assert snapshot() == before


def test_expired_and_forged_tokens_get_a_clear_page_and_change_nothing(ann):
    ask, url = open_ask(ann)
    Ask.objects.filter(pk=ask.pk).update(token_expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = snapshot()
    for method in ("get", "post"):
        response = getattr(Client(), method)(url, NAMES)
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
    forged = reverse("outreach:page", args=[ask.token()[:-2] + "xx"])
    response = Client().post(forged, NAMES)
    assert response.status_code == 404 and "not valid" in response.content.decode()
    assert snapshot() == before


def test_a_bad_form_rerenders_with_messages_and_saves_nothing(ann):
    _, url = open_ask(ann)
    before = snapshot()
    response = Client().post(
        url, {"name_1": "", "reach_1": "bea@example.com", "reach_2": "not@mail"}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Please add their name." in page
    assert snapshot() == before


def test_testimonial_waits_for_moderation_with_its_consents(ann, today):
    ask, url = open_ask(ann, "testimonial")
    response = Client().post(
        url,
        {
            "text": "Wonderful care from the whole team.",
            "rating": "5",
            "display": "first_initial",
            "consent_publish": "on",
        },
    )
    assert response.status_code == 200
    testimonial = advocacy.Testimonial.objects.get()
    assert (testimonial.status, testimonial.rating, testimonial.display_name) == (
        "pending",
        5,
        "Ann J.",
    )
    assert (testimonial.consent_publish, testimonial.consent_reference) == (True, False)
    consents = {
        c.channel: c
        for c in ConsentRecord.objects.filter(contact=ann, channel__in=["publish", "reference"])
    }
    assert consents["publish"].granted and "may publish my words" in consents["publish"].text
    assert "Acme Dental" in consents["publish"].text
    assert not consents["reference"].granted
    moments = engine.explain(ann, today).moments
    assert "testimonial" in {m.kind for m in moments}


def _image(fmt="PNG", size=(2400, 1600)):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 100, 50)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_a_photo_is_validated_resized_and_reencoded(ann):
    ask, url = open_ask(ann, "testimonial")
    photo = SimpleUploadedFile("me.png", _image(), content_type="image/png")
    Client().post(url, {"text": "Great", "display": "full", "photo": photo})
    testimonial = advocacy.Testimonial.objects.get()
    from PIL import Image

    with Image.open(testimonial.photo.open("rb")) as stored:
        assert stored.format == "JPEG" and max(stored.size) == 1200


def test_a_file_that_is_not_a_photo_is_refused(ann):
    _, url = open_ask(ann, "testimonial")
    fake = SimpleUploadedFile("me.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")
    response = Client().post(url, {"text": "Great", "display": "full", "photo": fake})
    assert response.status_code == 422
    assert "not a photo we can read" in response.content.decode()
    assert not advocacy.Testimonial.objects.exists()


@pytest.mark.parametrize("score,expect", [(10, "promoter"), (8, "passive"), (3, "detractor")])
def test_questionnaire_answers_flow_back(ann, alice, acme, today, score, expect):
    ann.owner = alice
    ann.save()
    ask, url = open_ask(ann, "feedback")
    Client().post(url, {"nps": str(score), "experience": "Fine", "improve": "Shorter waits"})
    answer = QuestionnaireAnswer.objects.get()
    assert answer.band == expect
    moments = {m.kind for m in engine.explain(ann, today).moments}
    items = set(AgendaItem.objects.filter(contact=ann).values_list("action", flat=True))
    if expect == "promoter":
        # Asked for feedback today: the referral ask comes tomorrow (one ask a day).
        tomorrow = {i.action for i in engine.build(acme, today + dt.timedelta(days=1))[0]}
        assert "promoter" in moments and "ask_referral" not in items
        assert "ask_referral" in tomorrow
    elif expect == "passive":
        assert "touch" in items and "ask_referral" not in items
    else:
        issue = Issue.objects.get(contact=ann)
        assert issue.is_open and "Shorter waits" in issue.summary
        assert items == {"recover"}
        notice = OutboundMessage.objects.get(to_address=alice.email)
        assert not notice.to_client and "3/10" in notice.subject


def test_not_now_records_a_permission_due_on_the_date(ann, today):
    ask, _ = open_ask(ann)
    url = reverse("outreach:later", args=[ask.token()])
    later = today + dt.timedelta(days=90)
    response = Client().post(url, {"ask_after": later.isoformat()})
    assert response.status_code == 200
    permission = Permission.objects.get()
    assert (permission.ask_after, permission.source, permission.kind) == (
        later,
        "client_page",
        "referral",
    )
    assert Client().post(url, {"ask_after": today.isoformat()}).status_code == 409


def test_not_now_refuses_a_past_date(ann, today):
    ask, _ = open_ask(ann)
    url = reverse("outreach:later", args=[ask.token()])
    response = Client().post(url, {"ask_after": today.isoformat()})
    assert response.status_code == 422 and "after today" in response.content.decode()
    assert not Permission.objects.exists()


@pytest.fixture
def still_clock(monkeypatch):
    # The buckets refill with time: held still, a slow machine cannot refill
    # them in the middle of the test.
    from django.utils import timezone

    from rapport.workspaces import ratelimit

    now = timezone.now()
    monkeypatch.setattr(ratelimit, "clock", lambda: now)


def test_posts_are_rate_limited_per_token(ann, still_clock):
    _, url = open_ask(ann)
    statuses = [Client().post(url, {"name_1": ""}).status_code for _ in range(8)]
    assert statuses[:5] == [422] * 5
    assert statuses[5:] == [429] * 3


def test_posts_are_rate_limited_per_ip(ann, still_clock):
    statuses = []
    for _ in range(25):
        _, url = open_ask(ann)
        statuses.append(Client().post(url, {"name_1": ""}).status_code)
    assert 429 in statuses and statuses.index(429) == 20


def test_user_text_is_escaped_on_client_pages(acme, today):
    payload = '"><script>alert(1)</script>'
    evil = factories.client_with_history(acme, today, first_name=payload)
    acme.name = payload
    acme.postal_address = payload
    acme.save()
    _, url = open_ask(evil)
    page = Client().get(url).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submits_of_one_token_make_one_record(acme):
    today = acme.today()
    ann = factories.client_with_history(acme, today)
    ask, url = open_ask(ann)
    start = threading.Barrier(20)
    statuses = []

    def submit():
        client = Client()
        start.wait()
        try:
            response = client.post(url, {"name_1": "Bea Smith", "reach_1": "bea@example.com"})
            statuses.append(response.status_code)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Contact.objects.filter(referred_by=ann).count() == 1
    assert Referral.objects.count() == 1
    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 409, 429}


def test_client_page_forms_need_their_csrf_token_even_with_a_null_origin(ann):
    # Regression: Referrer-Policy no-referrer makes browsers send Origin: null,
    # which Django's origin check refused; the token check must still hold.
    _, url = open_ask(ann)
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    token = page.cookies["csrftoken"].value
    assert client.post(url, NAMES, HTTP_ORIGIN="null").status_code == 403
    response = client.post(url, {**NAMES, "csrfmiddlewaretoken": token}, HTTP_ORIGIN="null")
    assert response.status_code == 200
    assert Contact.objects.filter(referred_by=ann).count() == 3


def test_a_client_with_a_very_long_name_can_still_give_names(acme, today):
    # Regression: "referred by <name>" overflowed Contact.source (100) on PostgreSQL.
    long = factories.client_with_history(acme, today, first_name="A" * 100, last_name="B" * 100)
    _, url = open_ask(long)
    assert Client().post(url, NAMES).status_code == 200
    assert {len(c.source) for c in Contact.objects.filter(referred_by=long)} == {100}
