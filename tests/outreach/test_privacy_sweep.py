"""Erasure and export are complete: one person seeded into every table and
field that can hold them, then swept for.

The fields are found by walking the models (`privacy.text_fields()`): a
table or text field added later fails
`test_the_seed_reaches_every_text_field` until it is seeded here or named
in NOT_A_PLACE_FOR_PEOPLE with the reason — so nobody has to remember.
"""

import base64
import json

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models
from django.db.models.functions import Cast

from rapport.advocacy import models as advocacy
from rapport.advocacy.models import Referral, ReferralGiven
from rapport.agenda.models import AgendaItem, Script
from rapport.clients.actions import record_consent
from rapport.clients.models import (
    Activity,
    Contact,
    Deal,
    Issue,
    Permission,
    Purchase,
)
from rapport.outreach import actions, compose, privacy
from rapport.outreach.models import (
    DeliveryPause,
    OutboundMessage,
    Suppression,
    workspace_address_hash,
)
from tests import factories

pytestmark = pytest.mark.django_db

NAME = "Zelda Quartermaine"
EMAIL = "zelda.q@example.test"
PHONE = "+447700900999"
NATIONAL = "07700 900999"
MARKERS = [NAME, EMAIL, PHONE, NATIONAL, "Quartermaine"]
PHOTO = b"\xff\xd8\xff\xe0" + b"JFIF-zelda-photo" * 8

# Fields that hold keys, kinds and labels, never a person: (table, field): why.
NOT_A_PLACE_FOR_PEOPLE = {
    ("clients.organization", "name"): "a business's name (the person's own link to it goes)",
    ("clients.tag", "name"): "a label of the workspace's",
    ("clients.activity", "signals"): "moment kinds from a fixed list",
    ("clients.consentrecord", "source"): "the channel consent came by (a word)",
    ("agenda.agendaitem", "key"): "a derived key (kind:id)",
    ("agenda.agendaitem", "moments"): "moment kinds",
    ("agenda.agendaitem", "script_key"): "a script's name",
    ("agenda.agendadecision", "key"): "a derived key (kind:id)",
    ("agenda.script", "key"): "a script's name",
    ("outreach.ask", "automation_key"): "rule:fact:id",
    ("outreach.outboundmessage", "idempotency_key"): "kind:id",
    ("outreach.outboundmessage", "message_id"): "a random Message-ID",
    ("outreach.outboundmessage", "claimed_by"): "host:pid of a worker",
    ("outreach.outboundmessage", "provider_id"): "the provider's id",
    ("outreach.webhookevent", "event_id"): "the provider's event id",
    ("outreach.ask", "script_key"): "a script's name",
    ("outreach.ask", "moment"): "a moment kind",
    ("advocacy.testimonialtag", "name"): "a label of the workspace's",
    ("advocacy.reviewsite", "url"): "the business's own page on a review site",
    ("advocacy.reviewsite", "label"): "the button's words for that page",
    ("advocacy.referralprogram", "headline"): "the business's own pitch",
    ("advocacy.referralprogram", "pitch"): "the business's own pitch",
    ("advocacy.referralprogram", "currency"): "a currency code",
    ("advocacy.referralcode", "code"): "a random code",
    ("advocacy.introduction", "sealed"): "ciphertext, deleted with the referral when erased",
    ("advocacy.introduction", "sent_via"): "the way a note went (a word)",
    ("advocacy.rewardrule", "name"): "the business's name for a rule",
    ("advocacy.rewardrule", "wording"): "the business's offer",
    ("advocacy.rewardrule", "paused_reason"): "why a profile paused the rule",
    ("advocacy.reward", "code"): "a random code",
    ("advocacy.reward", "wording"): "the business's offer",
    ("advocacy.thankyou", "source_key"): "a derived key (kind:id)",
    ("advocacy.mergesuggestion", "reasons"): "why two records look alike, in fixed words",
    ("advocacy.contactmerge", "merged_external_id"): "an id",
    ("advocacy.contactmerge", "moved"): "ids of the rows that moved",
    ("advocacy.contactmerge", "dropped"): "ids of the rows set aside",
    ("advocacy.contactmerge", "tags_added"): "labels of the workspace's",
    ("agenda.readingquestion", "kind"): "a moment kind",
    ("agenda.permissionproposal", "kind"): "a permission kind",
    ("agenda.workspacereadingmodel", "model"): "hashed feature columns, weights, hashed sentences",
    # The win-back figures of one contact, in fixed words; they go with the contact.
    ("winback.lapsefigure", "status"): "a status word",
    ("winback.lapsefigure", "why"): "the figures' reasons, in fixed words",
    ("winback.lapsefigure", "interval_source"): "where the interval came from (a word)",
    ("winback.lapsefigure", "p_alive_note"): "the model's note, in fixed words",
    ("winback.lapsefigure", "holds"): "gate names",
    ("winback.lapsefigure", "call_outcome"): "an outcome word",
}


def label(model, field) -> tuple[str, str]:
    return model._meta.label_lower, field.name


@pytest.fixture
def seeded(acme, alice, bob, bright, today):
    """Zelda in every place a person can be, in Acme; and a namesake of hers
    in Bright Law, another workspace, that nothing here may touch."""
    zelda = factories.client_with_history(
        acme, today, first_name="Zelda", last_name="Quartermaine", email=EMAIL, phone=PHONE,
        email_ok=True, sms_ok=True, notes=f"Call {NAME} after 5", source="walk-in",
    )  # fmt: skip
    Purchase.objects.filter(contact=zelda).update(description=f"Crown for {NAME}")
    Activity.objects.create(
        workspace=acme, contact=zelda, occurred_on=today, kind="call",
        text=f"{NAME} said we saved her wedding", detected={"saved_us": f"{NAME} said we saved"},
    )  # fmt: skip
    Deal.objects.create(workspace=acme, contact=zelda, title=f"Implants for {NAME}")
    Issue.objects.create(
        workspace=acme, contact=zelda, opened_on=today, summary=f"{NAME}: crown loose",
        fix_plan=f"Refit for {NAME}", resolution=f"Refitted, {NAME} happy", status="resolved",
    )  # fmt: skip
    Permission.objects.create(
        workspace=acme, contact=zelda, granted_on=today, ask_after=today, note=f"{NAME} agreed"
    )
    record_consent(zelda, "publish", True, f"Said yes in person: {NAME}", "app")
    ask = actions.start_ask(zelda, kind="feedback", channel="email", script=f"Dear {NAME}")
    ask.note = f"Asked {NAME} at the desk"
    ask.save(update_fields=["note"])
    # A detractor answer: the owner's notice "<name> rated you 2/10".
    actions.answer_questionnaire(
        ask, nps=2, experience=f"{NAME} waited", improve=f"Call {NATIONAL}",
        would_refer=f"Write to {EMAIL}",
    )  # fmt: skip
    testimonial = advocacy.Testimonial.objects.create(
        workspace=acme, contact=zelda, received_on=today, text=f"Lovely — {NAME}",
        display_name=NAME,
    )  # fmt: skip
    testimonial.photo.save("zelda.jpg", ContentFile(PHOTO), save=True)
    advocacy.Testimonial.objects.filter(pk=testimonial.pk).update(
        edited_text=f"Lovely, says {NAME}",
        suggested_text=f"Lovely — {NAME}, Leeds",
        connection_note=f"{NAME} works here on Saturdays",
    )
    # She is a reference, and (under her own name) a prospect asking for one.
    from rapport.advocacy import references

    record_consent(zelda, "reference", True, f"May give {NAME}'s name", "app")
    reference = references.create_reference(
        zelda, industry=f"{NAME}'s trade", need=f"{NAME} needed implants", blurb=f"Ask {NAME}"
    )
    share, _ = references.new_share(acme, f"For {NAME}")
    references.request_reference(
        reference, share=share, name=NAME, email=EMAIL, phone=PHONE,
        company=f"{NAME} Ltd", message=f"Hello, {NAME} here",
    )  # fmt: skip
    ReferralGiven.objects.create(
        workspace=acme, contact=zelda, given_on=today, description=f"Plumber for {NAME}",
        introduced=f"Bob, {NAME}'s neighbour",
    )  # fmt: skip
    zelda.address = f"{NAME}, 1 High St, Leeds"
    zelda.save(update_fields=["address"])
    # Her thank-you card, and a duplicate of her merged into her record.
    from rapport.advocacy.models import ContactMerge, ThankYou

    ThankYou.objects.create(
        workspace=acme, contact=zelda, source_key="testimonial:1", what_for=f"{NAME}'s words",
        created_on=today,
        message=f"Dear {NAME}, thank you",
    )  # fmt: skip
    ContactMerge.objects.create(
        workspace=acme, kept=zelda, merged_pk=999, merged_name=NAME, merged_external_id="C-999",
        snapshot={"first_name": "Zelda", "email": EMAIL, "name": NAME},
        field_changes={"notes": f"also {NAME}"},
    )  # fmt: skip
    compose.ask_email(
        actions.start_ask(zelda, kind="referral", channel="email"),
        subject=f"A favour, {NAME}?", body=f"Dear {NAME},\n\nWho else?",
    )  # fmt: skip
    # Elsewhere: the people she referred, a colleague's note, the digest, the
    # agenda of others, a script, a server's refusal naming her address.
    referred = factories.contact(acme, first_name="Rita", source=f"referred by {NAME}")
    referral = Referral.objects.create(
        workspace=acme, referrer=zelda, referred=referred, date=today, note=f"{NAME}'s sister",
        lost_note=f"{NAME} said not now",
    )  # fmt: skip
    from rapport.advocacy.models import ReferralEvent

    ReferralEvent.objects.create(
        workspace=acme, referral=referral, to_status="new", on=today, note=f"Via {NAME}"
    )
    other = factories.contact(acme, first_name="Otto")
    note = factories.activity(other, today, text=f"Otto came because {NAME} told him")
    from rapport.agenda.models import PermissionProposal

    PermissionProposal.objects.create(
        workspace=acme, contact=other, activity=note, kind="referral", proposed_on=today,
        evidence=f"Ask again once {NAME} has told him about us", when_words=f"after {NAME}'s visit",
    )  # fmt: skip
    compose.team_email(
        acme, to="alice@example.com", subject="Today at Acme Dental",
        text=f"1. Thank {NAME}\n", html=f"<li>Thank {NAME}</li>", key="digest:test",
    )  # fmt: skip
    AgendaItem.objects.create(
        workspace=acme, contact=other, date=today, action="thank", key="referral:1",
        priority=0.5, readiness=50, why=f"came through {NAME}",
        fields={"referred_name": NAME},
    )  # fmt: skip
    Script.objects.create(workspace=acme, key="thank_you", body=f"Thank you, like {NAME} did")
    Suppression.objects.create(
        workspace=acme, channel="email", reason="manual", address=EMAIL,
        address_hash=workspace_address_hash(acme, "email", EMAIL),
    )  # fmt: skip
    failed = OutboundMessage.objects.get(subject__startswith="A favour")
    OutboundMessage.objects.filter(pk=failed.pk).update(last_error=f"554 5.7.1 <{EMAIL}> denied")
    DeliveryPause.objects.create(workspace=acme, channel="email", reason=f"554 <{EMAIL}> denied")
    namesake = factories.contact(
        bright, first_name="Zelda", last_name="Quartermaine", email=EMAIL, notes=f"{NAME} too"
    )
    # The development mailbox keeps messages as sent: one to her, as it
    # would be kept when no mail server is set.
    from django.core.mail import EmailMessage

    from rapport.mailbox.backend import MailboxBackend

    MailboxBackend().send_messages(
        [EmailMessage(f"For {NAME}", f"Dear {NAME}", f"{NAME} <x@example.com>", [EMAIL])]
    )
    from rapport.mailbox.models import Message

    Message.objects.update(workspace=acme, message_id=f"<{NAME}@example.com>", html=NAME)
    return zelda, namesake


def rows_mentioning(markers, exclude_workspace=None):
    """Every (table, field, pk) of any table whose text holds a marker."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField | models.JSONField):
                continue
            queryset = model._default_manager.all()
            if exclude_workspace is not None and "workspace" in {
                f.name for f in model._meta.concrete_fields
            }:
                queryset = queryset.exclude(workspace=exclude_workspace)
            column = field.name
            if isinstance(field, models.JSONField):
                queryset = queryset.annotate(_text=Cast(field.name, models.TextField()))
                column = "_text"
            query = models.Q()
            for marker in markers:
                query |= models.Q(**{f"{column}__icontains": marker})
            for pk in queryset.filter(query).values_list("pk", flat=True):
                found.append((model._meta.label_lower, field.name, pk))
    return found


def test_the_seed_reaches_every_text_field(seeded):
    zelda, namesake = seeded
    reached = {(table, field) for table, field, _ in rows_mentioning(MARKERS)}
    missing = [
        label(model, field)
        for model, field in privacy.text_fields()
        if label(model, field) not in reached and label(model, field) not in NOT_A_PLACE_FOR_PEOPLE
    ]
    assert not missing, f"seed these, or say why no person can be there: {missing}"
    stale = set(NOT_A_PLACE_FOR_PEOPLE) - {label(m, f) for m, f in privacy.text_fields()}
    assert not stale, f"no longer a text field: {stale}"


def test_erasure_leaves_nothing_of_the_person_but_a_hashed_suppression(
    seeded, acme, bright, settings
):
    zelda, namesake = seeded
    photo_path = zelda.testimonials.get().photo.path
    blanked = privacy.erase(zelda)

    assert blanked >= 7  # the referred contact, Otto's note, the digest, the agenda, …
    assert rows_mentioning(MARKERS, exclude_workspace=bright) == []
    entries = Suppression.objects.filter(workspace=acme)
    assert {(s.channel, s.address) for s in entries} == {("email", ""), ("sms", "")}
    assert {s.address_hash for s in entries} == {
        workspace_address_hash(acme, "email", EMAIL),
        workspace_address_hash(acme, "sms", PHONE),
    }
    assert not Contact.objects.filter(pk=zelda.pk).exists()
    import os

    assert not os.path.exists(photo_path)
    # What was around her stays, without her.
    rita = Contact.objects.get(first_name="Rita")
    assert rita.source == "referred by [erased]"
    assert OutboundMessage.objects.get(idempotency_key="digest:test").body_text == (
        "1. Thank [erased]\n"
    )
    # Her namesake in another workspace is untouched.
    namesake.refresh_from_db()
    assert (namesake.email, namesake.notes) == (EMAIL, f"{NAME} too")


def test_the_export_holds_all_of_it(seeded, acme):
    zelda, _ = seeded
    text = privacy.export(zelda)
    data = json.loads(text)
    # Every row with her in it, by the same walk, is in the export.
    for table, field, pk in rows_mentioning(MARKERS):
        model = apps.get_model(table)
        scoped = "workspace" in {f.name for f in model._meta.concrete_fields}
        if scoped and model._default_manager.filter(pk=pk, workspace=acme).exists():
            value = model._default_manager.filter(pk=pk).values_list(field, flat=True)[0]
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            encoded = json.dumps(shown, ensure_ascii=False)[1:-1]
            assert shown in text or encoded in text, (table, field, pk)
    # The photo itself, the suppression entries and the owner's notice.
    [testimonial] = data["testimonials"]
    assert base64.b64decode(testimonial["photo"]["data"].split(",", 1)[1]) == PHOTO
    assert {s["channel"] for s in data["suppressions"]} == {"email"}
    assert any("rated you 2/10" in m["subject"] for m in data["messages"])
    assert data["answers"][0]["improve"] == f"Call {NATIONAL}"
    assert {m["table"] for m in data["mentions"]} >= {
        "clients.contact",
        "clients.activity",
        "outreach.outboundmessage",
        "agenda.agendaitem",
    }
    # And no secret.
    assert "token_hash" not in text and "unsubscribe_salt" not in text and "token_salt" not in text
