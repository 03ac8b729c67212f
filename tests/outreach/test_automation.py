"""Automation rules: off by default, each fact acts once, and every email to a
client passes every gate the agenda applies."""

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rapport.clients import actions
from rapport.clients.models import Deal, DealStage, Organization, PermissionKind, Stage
from rapport.outreach import automation, compose, sending
from rapport.outreach.actions import record_outcome, start_ask, suppress
from rapport.outreach.models import (
    Ask,
    AskKind,
    OutboundMessage,
    Outcome,
    Suppression,
    address_hash,
)
from rapport.workspaces.models import Membership, Workspace
from tests import factories

pytestmark = pytest.mark.django_db


def turn_on(workspace, **rules):
    automation.save_settings(
        workspace,
        {
            name: automation.Setting(True, days or automation.RULES_BY_NAME[name].default_days)
            for name, days in rules.items()
        },
    )
    workspace.refresh_from_db()


def client(workspace, today, first_name="Ann", **fields):
    """A ready customer who agreed to email: askable by every gate."""
    fields.setdefault("email", f"{first_name.lower()}@example.com")
    fields.setdefault("email_ok", True)
    return factories.client_with_history(workspace, today, first_name=first_name, **fields)


def complete_deal(contact, on):
    return actions.save_deal(
        Deal(
            workspace=contact.workspace,
            contact=contact,
            title="New website",
            stage=DealStage.COMPLETED,
            won_on=on - dt.timedelta(days=30),
            completed_on=on,
        )
    )


def asks_by(rule_key_prefix):
    return Ask.objects.filter(automation_key__startswith=rule_key_prefix)


def test_every_rule_is_off_by_default(acme, today):
    ann = client(acme, today)
    complete_deal(ann, today - dt.timedelta(days=2))
    assert not automation.any_enabled(acme)
    assert automation.run(acme).total == 0
    assert automation.schedule() == 0
    assert not OutboundMessage.objects.exists()


def test_testimonial_after_a_project_asks_once(acme, today):
    ann = client(acme, today)
    deal = complete_deal(ann, today - dt.timedelta(days=2))
    turn_on(acme, testimonial_after_project=2)
    report = automation.run(acme)
    assert report.sent["testimonial_after_project"] == 1, report.held
    ask = Ask.objects.get(automation_key=f"auto:testimonial:deal:{deal.pk}")
    assert (ask.kind, ask.channel, ask.contact) == (AskKind.TESTIMONIAL, "email", ann)
    message = OutboundMessage.objects.get(ask=ask)
    assert message.kind == OutboundMessage.Kind.ASK and message.to_address == ann.email
    # Idempotent: again, and again, nothing more.
    assert automation.run(acme).total == 0
    assert automation.run(acme).total == 0
    assert Ask.objects.count() == 1 and OutboundMessage.objects.count() == 1
    # It leaves like every ask: consent checked again, one-click unsubscribe.
    assert sending.deliver(message.pk).status == "sent"
    sent = mail.outbox[-1]
    assert "List-Unsubscribe-Post" in sent.extra_headers
    assert "Ann" in sent.body and "/c/" in sent.body


def test_a_project_completed_too_recently_or_too_long_ago_waits_or_is_left(acme, today):
    ann = client(acme, today)
    complete_deal(ann, today - dt.timedelta(days=1))
    bea = client(acme, today, "Bea")
    complete_deal(bea, today - dt.timedelta(days=2 + automation.CATCH_UP_DAYS + 1))
    turn_on(acme, testimonial_after_project=2)
    assert automation.run(acme).total == 0


def _open_issue(contact, today):
    actions.open_issue(contact, "Crown feels loose", opened_on=today - dt.timedelta(days=1))


def _colleague_issue(contact, today):
    org = Organization.objects.create(workspace=contact.workspace, name="Big Co")
    contact.organization = org
    contact.save()
    colleague = factories.contact(contact.workspace, first_name="Col", organization=org)
    actions.open_issue(colleague, "Invoice wrong", opened_on=today - dt.timedelta(days=1))


def _complaint(contact, today):
    factories.activity(
        contact, today - dt.timedelta(days=1), text="Very disappointed, the crown broke again"
    )


def _no_consent(contact, today):
    actions.record_consent(contact, "email", False, "withdrawn by phone", "phone")


def _suppressed(contact, today):
    Suppression.objects.create(
        workspace=contact.workspace,
        channel="email",
        address_hash=address_hash("email", contact.email),
        reason=Suppression.Reason.HARD_BOUNCE,
    )


def _prospect(contact, today):
    actions.change_stage(contact, Stage.PROSPECT)


def _low_readiness(contact, today):
    Workspace.objects.filter(pk=contact.workspace_id).update(readiness_threshold=100)


def _cooldown(contact, today):
    ask = start_ask(contact, kind=AskKind.TESTIMONIAL, channel="phone", page=False)
    Ask.objects.filter(pk=ask.pk).update(asked_on=today - dt.timedelta(days=30))


def _declined(contact, today):
    ask = start_ask(contact, kind=AskKind.REFERRAL, channel="phone", page=False)
    record_outcome(ask, Outcome.DECLINED)
    Ask.objects.filter(pk=ask.pk).update(asked_on=today - dt.timedelta(days=100))


def _not_before(contact, today):
    actions.record_permission(
        contact,
        kind=PermissionKind.TESTIMONIAL,
        ask_after=today + dt.timedelta(days=20),
        granted_on=today - dt.timedelta(days=10),
    )


def _asked_today(contact, today):
    start_ask(contact, kind=AskKind.REFERRAL, channel="in_person", page=False)


GATES = {
    "open issue": (_open_issue, "open issue"),
    "issue at their organization": (_colleague_issue, "organization"),
    "unhandled complaint": (_complaint, "complained"),
    "no consent": (_no_consent, "consent"),
    "suppressed": (_suppressed, "suppression"),
    "prospect": (_prospect, "prospect"),
    "readiness": (_low_readiness, "readiness"),
    "cooldown": (_cooldown, "already asked for a testimonial"),
    "decline": (_declined, "declined"),
    "permission date": (_not_before, "asked to be asked after"),
    "asked today": (_asked_today, "today"),
}


@pytest.mark.parametrize("gate", sorted(GATES))
def test_every_gate_holds_the_automated_ask(gate, acme, today):
    ann = client(acme, today)
    deal = complete_deal(ann, today - dt.timedelta(days=2))
    setup, words = GATES[gate]
    setup(ann, today)
    acme.refresh_from_db()
    turn_on(acme, testimonial_after_project=2)
    report = automation.run(acme)
    assert report.total == 0
    assert [(rule, pk) for rule, pk, _ in report.held] == [("testimonial_after_project", ann.pk)]
    assert words in report.held[0][2], report.held
    assert not Ask.objects.filter(automation_key=f"auto:testimonial:deal:{deal.pk}").exists()
    assert not OutboundMessage.objects.filter(contact=ann, to_client=True).exists()


def test_a_questionnaire_after_a_purchase_once_per_client(acme, today):
    ann = client(acme, today)
    first = actions.record_purchase(ann, today - dt.timedelta(days=7))
    actions.record_purchase(ann, today - dt.timedelta(days=8))
    turn_on(acme, questionnaire_after_purchase=7)
    report = automation.run(acme)
    assert report.sent["questionnaire_after_purchase"] == 1
    asks = list(asks_by("auto:questionnaire:purchase:"))
    assert len(asks) == 1 and asks[0].kind == AskKind.FEEDBACK
    assert asks[0].automation_key in {
        f"auto:questionnaire:purchase:{first.pk}",
        f"auto:questionnaire:purchase:{first.pk + 1}",
    }
    assert asks[0].page == "questionnaire"
    # The other purchase: held today, and by the feedback cooldown tomorrow.
    assert "today" in automation.run(acme).held[0][2]
    report = automation.run(acme, on=today + dt.timedelta(days=1))
    assert report.total == 0 and "already asked for a feedback" in report.held[0][2]


def test_one_automated_email_per_client_per_run(acme, today):
    ann = client(acme, today)
    complete_deal(ann, today - dt.timedelta(days=2))
    actions.record_purchase(ann, today - dt.timedelta(days=7))
    turn_on(acme, testimonial_after_project=2, questionnaire_after_purchase=7)
    report = automation.run(acme)
    assert report.total == 1
    assert automation.run(acme).total == 0  # and not a second one the same day
    assert OutboundMessage.objects.filter(contact=ann).count() == 1


def test_permission_reminders_go_to_the_owner_or_the_workspace_owners(
    acme, alice, charlie, bob, today
):
    mine = factories.contact(acme, first_name="Carla", owner=charlie)
    nobody = factories.contact(acme, first_name="Nora")
    gone = factories.contact(acme, first_name="Gina", owner=bob)  # bob is not a member
    later = factories.contact(acme, first_name="Lars", owner=charlie)
    for person in (mine, nobody, gone):
        actions.record_permission(
            person, kind="both", ask_after=today + dt.timedelta(days=7), granted_on=today
        )
    actions.record_permission(
        later, kind="both", ask_after=today + dt.timedelta(days=8), granted_on=today
    )
    turn_on(acme, permission_reminder=7)
    assert automation.run(acme).sent["permission_reminder"] == 3
    reminders = OutboundMessage.objects.filter(kind=OutboundMessage.Kind.REMINDER)
    by_contact = {m.subject.split("ask ")[-1]: m.to_address for m in reminders}
    assert by_contact == {
        "Carla Jones": "charlie@example.com",
        "Nora Jones": "alice@example.com",
        "Gina Jones": "alice@example.com",
    }
    assert all(not m.to_client and m.subject.startswith("In 7 days") for m in reminders)
    assert automation.run(acme).total == 0
    assert "Lars" not in " ".join(m.subject for m in reminders)


def _emailed_ask(contact, days_ago, kind=AskKind.REFERRAL):
    ask = start_ask(contact, kind=kind, channel="email", script="Who else should we help?")
    message = compose.ask_email(ask, subject="A small favour, Ann?", body="Who else?")
    assert sending.deliver(message.pk).status == "sent"
    then = timezone.now() - dt.timedelta(days=days_ago)
    OutboundMessage.objects.filter(pk=message.pk).update(sent_at=then, created_at=then)
    Ask.objects.filter(pk=ask.pk).update(
        asked_on=contact.workspace.today() - dt.timedelta(days=days_ago), asked_at=then
    )
    ask.refresh_from_db()
    return ask


def test_one_follow_up_to_a_client_who_did_not_answer_never_a_second(acme, today):
    ann = client(acme, today)
    ask = _emailed_ask(ann, 5)
    turn_on(acme, follow_up_non_responders=5)
    report = automation.run(acme)
    assert report.sent["follow_up_non_responders"] == 1, report.held
    follow_up = OutboundMessage.objects.get(idempotency_key=f"auto:follow_up:ask:{ask.pk}")
    assert follow_up.ask == ask and follow_up.to_client
    assert follow_up.subject == "Re: A small favour, Ann?"
    assert Ask.objects.count() == 1  # the same ask, not a new one
    assert sending.deliver(follow_up.pk).status == "sent"
    sent = mail.outbox[-1]
    assert compose.page_url(ask) in sent.body and "only reminder" in sent.body
    # Never a second, however often the rule runs, and days later too.
    assert automation.run(acme).total == 0
    later = today + dt.timedelta(days=2)
    assert automation.run(acme, on=later).total == 0
    assert OutboundMessage.objects.filter(ask=ask).count() == 2


def test_no_follow_up_after_an_answer_or_too_soon(acme, today):
    ann = client(acme, today)
    answered = _emailed_ask(ann, 5)
    record_outcome(answered, Outcome.DECLINED)
    bea = client(acme, today, "Bea")
    _emailed_ask(bea, 3)
    turn_on(acme, follow_up_non_responders=5)
    assert automation.run(acme).total == 0


def test_no_follow_up_once_they_unsubscribed(acme, today):
    ann = client(acme, today)
    _emailed_ask(ann, 5)
    suppress(acme, "email", ann.email, Suppression.Reason.UNSUBSCRIBED)
    turn_on(acme, follow_up_non_responders=5)
    report = automation.run(acme)
    assert report.total == 0 and report.held


def test_the_rules_are_set_based(acme, today):
    """The number of queries does not grow with the number of candidates."""
    turn_on(
        acme,
        testimonial_after_project=2,
        questionnaire_after_purchase=7,
        follow_up_non_responders=5,
        permission_reminder=7,
    )

    def candidates(n, offset):
        for k in range(n):
            person = client(acme, today, f"P{offset + k}", email_ok=False)
            complete_deal(person, today - dt.timedelta(days=2))
            actions.record_purchase(person, today - dt.timedelta(days=7))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            report = automation.run(acme)
        assert report.total == 0 and report.held
        return len(captured)

    candidates(1, 0)
    one = queries()
    candidates(6, 10)
    assert queries() == one


def test_the_scheduler_enqueues_workspaces_with_a_rule_on(acme, bright):
    from django_tasks import default_task_backend

    before = len(default_task_backend.results)
    turn_on(bright, questionnaire_after_purchase=7)
    assert automation.schedule() == 1
    assert len(default_task_backend.results) == before + 1
    assert automation.run_rules.call(acme.pk) == 0


def test_malformed_settings_read_as_off_or_default(acme):
    acme.automation = {
        "testimonial_after_project": {"enabled": "yes", "days": "x"},
        "questionnaire_after_purchase": [1, 2],
        "follow_up_non_responders": {"enabled": True, "days": 999},
    }
    found = automation.rule_settings(acme)
    assert found["testimonial_after_project"] == automation.Setting(False, 2)
    assert found["questionnaire_after_purchase"] == automation.Setting(False, 7)
    assert found["follow_up_non_responders"] == automation.Setting(True, 5)


def test_owners_set_the_rules_members_only_read_them(alice_client, charlie_client, acme):
    page = alice_client.get(reverse("outreach:automation")).content.decode()
    for rule in automation.RULES:
        assert rule.title in page
    assert "2 days after a deal is marked completed" in page
    data = {
        "testimonial_after_project_enabled": "on",
        "testimonial_after_project_days": "3",
        "questionnaire_after_purchase_days": "7",
        "permission_reminder_days": "7",
        "follow_up_non_responders_days": "5",
    }
    assert alice_client.post(reverse("outreach:automation"), data).status_code == 302
    acme.refresh_from_db()
    assert acme.automation["testimonial_after_project"] == {"enabled": True, "days": 3}
    assert acme.automation["questionnaire_after_purchase"] == {"enabled": False, "days": 7}

    bad = alice_client.post(reverse("outreach:automation"), {**data, "permission_reminder_days": 0})
    assert bad.status_code == 200 and "permission_reminder_days" in bad.context["form"].errors

    charlie_client.post(
        reverse("outreach:automation"), {**data, "testimonial_after_project_days": 9}
    )
    acme.refresh_from_db()
    assert acme.automation["testimonial_after_project"]["days"] == 3
    assert "disabled" in charlie_client.get(reverse("outreach:automation")).content.decode()
    assert Membership.objects.filter(workspace=acme).count() == 2
