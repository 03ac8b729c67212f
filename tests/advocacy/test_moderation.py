"""The moderation queue: approve only with consent, an edit published only
after the client approves it on their page, reject, tags, featured, the
material connection and its disclosure."""

import pytest
from django.urls import reverse

from rapport.advocacy import models, testimonials
from rapport.advocacy.actions import record_testimonial
from rapport.advocacy.models import MaterialConnection
from rapport.clients.models import ConsentRecord
from rapport.outreach.models import OutboundMessage
from tests import factories
from tests.advocacy.conftest import publish

pytestmark = pytest.mark.django_db


def feed_texts(client, workspace):
    response = client.get(reverse("advocacy:feed", args=[workspace.slug]))
    return [t["text"] for t in response.json()["testimonials"]]


def client_page(testimonial):
    link = testimonials.new_link(testimonial)
    return reverse("advocacy:client_testimonial", args=[link.token()])


def test_approval_needs_consent_to_publish_from_the_contact_page(alice_client, acme, ann, today):
    private = record_testimonial(ann, "Kind words", on=today, consent_publish=False)
    public = record_testimonial(ann, "Wonderful team", on=today, consent_publish=True)
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    assert page.count("Approve for showing") == 1
    url = reverse("advocacy:moderate", args=[private.pk])
    response = alice_client.post(url, {"action": "approve", "back": "contact"})
    assert response.url == reverse("clients:detail", args=[ann.pk])
    private.refresh_from_db()
    assert private.status == "pending"  # no consent: it cannot be approved
    alice_client.post(reverse("advocacy:moderate", args=[public.pk]), {"action": "approve"})
    alice_client.post(url, {"action": "reject"})
    public.refresh_from_db()
    private.refresh_from_db()
    assert (public.status, private.status) == ("approved", "rejected")
    assert public.moderated_at and public.published_at
    assert feed_texts(alice_client, acme) == ["Wonderful team"]


def test_the_queue_lists_what_waits_and_guards_its_queries(
    alice_client, acme, ann, today, django_assert_max_num_queries
):
    for n in range(12):
        person = factories.contact(acme, first_name=f"P{n}")
        t = record_testimonial(person, f"Words {n}", on=today, consent_publish=True)
        testimonials.set_tags(t, ["implants", f"t{n}"])
    publish(ann, "Already shown")
    with django_assert_max_num_queries(12):
        response = alice_client.get(reverse("advocacy:queue"))
    page = response.content.decode()
    assert page.count("Approve for showing") == 12
    assert "Already shown" not in page  # approved ones are not "to moderate"
    assert (
        "Already shown"
        in alice_client.get(reverse("advocacy:queue") + "?status=all").content.decode()
    )


def test_an_edit_is_published_only_after_the_client_approves_it(
    client, alice_client, acme, ann, today
):
    original = "The team were great, they fixd my tooth and i am so happy!!!"
    t = record_testimonial(ann, original, on=today, consent_publish=True, display_name="Ann J.")
    response = alice_client.post(
        reverse("advocacy:moderate", args=[t.pk]),
        {"action": "suggest", "text": "The team were great: they fixed my tooth."},
    )
    assert response.status_code == 302
    t.refresh_from_db()
    assert t.status == models.Testimonial.Status.EDIT_SUGGESTED
    # Staff cannot publish over the client's head.
    alice_client.post(reverse("advocacy:moderate", args=[t.pk]), {"action": "approve"})
    t.refresh_from_db()
    assert t.status == models.Testimonial.Status.EDIT_SUGGESTED
    assert feed_texts(client, acme) == []
    # The client was emailed a link to their page (the outbox holds a marker).
    message = OutboundMessage.objects.get(contact=ann, subject__startswith="May we shorten")
    assert "[[link:testimonial:" in message.body_text
    assert "/t/" not in message.body_text
    url = client_page(t)
    page = client.get(url)
    assert page.status_code == 200
    assert "they fixed my tooth" in page.content.decode()
    t.refresh_from_db()
    assert t.status == models.Testimonial.Status.EDIT_SUGGESTED  # a GET changes nothing
    response = client.post(url, {"action": "approve_edit"})
    assert response.status_code == 200
    t.refresh_from_db()
    assert t.status == models.Testimonial.Status.APPROVED
    assert t.text == original  # what they wrote is kept
    assert feed_texts(client, acme) == ["The team were great: they fixed my tooth."]


def test_a_declined_edit_goes_back_to_moderation_with_the_clients_words(client, acme, ann, today):
    t = record_testimonial(ann, "Lovely people", on=today, consent_publish=True)
    testimonials.suggest_edit(t, "Lovely, caring people")
    client.post(client_page(t), {"action": "decline_edit"})
    t.refresh_from_db()
    assert (t.status, t.suggested_text, t.edit_declined) == ("pending", "", True)
    testimonials.approve(t)
    assert feed_texts(client, acme) == ["Lovely people"]


def test_tags_featured_and_connection_shape_what_is_shown(client, alice_client, acme, ann, today):
    t = publish(ann, "Best dentist in town")
    other = publish(factories.contact(acme, first_name="Bo"), "Very kind")
    moderate = reverse("advocacy:moderate", args=[t.pk])
    alice_client.post(moderate, {"action": "tags", "tags": "Implants, kids, implants"})
    alice_client.post(moderate, {"action": "feature"})
    alice_client.post(
        moderate,
        {"action": "connection", "material_connection": "rewarded", "connection_note": ""},
    )
    t.refresh_from_db()
    assert sorted(t.tags.values_list("name", flat=True)) == ["Implants", "kids"]
    assert t.featured and t.material_connection == MaterialConnection.REWARDED
    feed = client.get(reverse("advocacy:feed", args=[acme.slug])).json()["testimonials"]
    assert [item["id"] for item in feed] == [t.pk, other.pk]  # featured first
    assert feed[0]["disclosure"] == "Acme Dental gave this client a reward (a gift or a discount)."
    assert feed[1]["disclosure"] is None
    only = client.get(reverse("advocacy:feed", args=[acme.slug]) + "?tag=implants").json()
    assert [item["id"] for item in only["testimonials"]] == [t.pk]
    # "Other" needs its words, shown as written.
    alice_client.post(
        moderate, {"action": "connection", "material_connection": "other", "connection_note": ""}
    )
    t.refresh_from_db()
    assert t.material_connection == "rewarded"
    alice_client.post(
        moderate,
        {
            "action": "connection",
            "material_connection": "other",
            "connection_note": "Our landlord.",
        },
    )
    t.refresh_from_db()
    assert testimonials.disclosure(t) == "Our landlord."


@pytest.mark.parametrize(
    ("connection", "words"),
    [
        ("none", None),
        ("rewarded", "Acme Dental gave this client a reward (a gift or a discount)."),
        ("employee", "Works for Acme Dental."),
        ("family", "A relative or friend of someone at Acme Dental."),
        ("other", "Has a connection to Acme Dental."),
    ],
)
def test_every_material_connection_is_disclosed_in_words(acme, ann, connection, words):
    t = publish(ann)
    testimonials.set_connection(t, connection)
    assert testimonials.disclosure(t) == words


def test_a_reward_to_the_giver_marks_their_testimonials(acme, ann):
    t = publish(ann)
    assert testimonials.mark_rewarded(ann) == 1
    t.refresh_from_db()
    assert testimonials.disclosure(t).startswith("Acme Dental gave this client a reward")


def test_only_a_published_testimonial_can_be_featured(acme, ann, today):
    t = record_testimonial(ann, "Nice", on=today, consent_publish=True)
    with pytest.raises(testimonials.ModerationError):
        testimonials.set_featured(t, True)


def test_withdrawal_on_the_client_page_unpublishes_at_once_and_is_recorded(client, acme, ann):
    t = publish(ann, "Wonderful team", consent_reference=True)
    testimonials.set_featured(t, True)
    assert feed_texts(client, acme) == ["Wonderful team"]
    url = client_page(t)
    page = client.get(url).content.decode()
    assert "Stop showing my words" in page
    assert client.post(url, {"action": "withdraw"}).status_code == 200
    t.refresh_from_db()
    assert (t.status, t.consent_publish, t.featured) == ("withdrawn", False, False)
    assert feed_texts(client, acme) == []
    assert (
        client.get(reverse("advocacy:wall", args=[acme.slug]))
        .content.decode()
        .count("Wonderful team")
        == 0
    )
    record = ConsentRecord.objects.filter(contact=ann, channel="publish").first()
    assert record.granted is False and "Withdrew" in record.text
    # Consent given again goes back through moderation before it is shown.
    client.post(url, {"action": "consents", "publish": "on", "display": "Ann J."})
    t.refresh_from_db()
    assert (t.status, t.consent_publish) == ("pending", True)
    assert feed_texts(client, acme) == []


def test_the_client_page_changes_the_name_and_photo_consent(client, acme, ann):
    from django.core.files.base import ContentFile

    t = publish(ann, display_name="Ann J.")
    t.photo.save("p.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    url = client_page(t)
    client.post(url, {"action": "consents", "publish": "on", "display": "Anonymous", "photo": "on"})
    t.refresh_from_db()
    assert (t.public_name, t.consent_photo, t.status) == (None, True, "approved")
    item = client.get(reverse("advocacy:feed", args=[acme.slug])).json()["testimonials"][0]
    assert item["name"] is None and item["photo"].endswith(f"/photos/{t.pk}.jpg")


def test_a_bad_or_expired_link_says_so(client, acme, ann):
    import datetime as dt

    from django.utils import timezone

    t = publish(ann)
    assert client.get(reverse("advocacy:client_testimonial", args=["x" * 32])).status_code == 404
    link = models.TestimonialLink(workspace=acme, testimonial=t)
    token = link.open_link(1, now=timezone.now() - dt.timedelta(days=2))
    response = client.get(reverse("advocacy:client_testimonial", args=[token]))
    assert response.status_code == 410
    assert link.token_hash != token and len(token) >= 32


def test_the_client_page_is_neither_framed_nor_referred_nor_cached(client, acme, ann):
    response = client.get(client_page(publish(ann)))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_a_thank_you_email_follows_a_testimonial_with_the_withdrawal_link(acme, ann):
    from rapport.outreach import actions, compose, sending

    ask = actions.start_ask(ann, kind="testimonial", channel="email")
    t = actions.answer_testimonial(
        ask,
        text="Great",
        rating=5,
        display_name="Ann J.",
        consent_publish=True,
        consent_reference=False,
    )
    message = OutboundMessage.objects.get(idempotency_key=f"testimonial-thanks:{t.pk}")
    email = sending.build_email(message)
    links = compose.LINK_MARKER.findall(message.body_text)
    assert links, "the outbox keeps a marker, not a live link"
    assert "/t/" in email.body and "withdraw consent" in email.body.lower()
    token = email.body.split("/t/")[1].split("/")[0]
    assert models.TestimonialLink.objects.by_token(token).testimonial == t


def test_a_contacts_export_holds_their_testimonials_and_reference_profile(alice_client, ann):
    import json

    from rapport.advocacy import references
    from rapport.clients.actions import record_consent

    t = publish(ann, "Exported words")
    testimonials.set_tags(t, ["implants"])
    record_consent(ann, "reference", True, "yes", "test")
    references.create_reference(ann, industry="Design")
    data = json.loads(alice_client.get(reverse("outreach:export", args=[ann.pk])).content)
    assert data["testimonials"][0]["text"] == "Exported words"
    assert data["references"][0]["industry"] == "Design"


def test_what_waits_for_the_team_is_counted_for_today(acme, ann, today):
    from rapport.advocacy import references
    from rapport.clients.actions import record_consent

    record_testimonial(ann, "Waiting", on=today, consent_publish=True)
    record_testimonial(ann, "Private", on=today, consent_publish=False)
    edited = record_testimonial(ann, "Long words", on=today, consent_publish=True)
    testimonials.suggest_edit(edited, "Short words")
    record_consent(ann, "reference", True, "yes", "test")
    ref = references.create_reference(ann)
    references.request_reference(ref, share=None, name="Pat", email="p@x.example")
    assert testimonials.waiting(acme) == {
        "to_moderate": 1,
        "edits_with_client": 1,
        "reference_requests": 1,
    }
