"""Workspace isolation: a member of workspace A reaching any object of
workspace B, by any URL, gets 404 and changes nothing.

`test_every_route_with_an_object_id_is_covered` walks the URL resolver and
fails when a route that takes an id is neither in CASES nor explained in
EXEMPT — so a new view cannot forget its isolation test.
"""

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from rapport.advocacy import models as advocacy
from rapport.agenda import store
from rapport.agenda.models import AgendaItem, PermissionProposal, ReadingQuestion
from rapport.clients import actions
from rapport.clients.models import Activity, Deal, Issue, Permission, Purchase
from rapport.workspaces.models import Invitation, Membership
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(bright, bob):
    """One of every kind of object, in Bob's workspace."""
    # Bright Law's own date: the `today` fixture is Acme's (London), a day ahead of New York
    # between midnight and 5am UTC, when an issue opened "today" would be in Bright's future.
    today = bright.today()
    ann = factories.client_with_history(bright, today)
    factories.activity(ann, today, signals=["praise"])
    issue = actions.open_issue(ann, "Late filing", opened_on=today)
    deal = actions.save_deal(Deal(workspace=bright, contact=ann, title="Estate plan", stage="won"))
    other = factories.contact(bright, first_name="Zed", relationship=9)
    factories.purchases(other, [today - dt.timedelta(days=1)])
    lapsed = factories.contact(bright, first_name="Lapsed")
    factories.purchases(lapsed, [today - dt.timedelta(days=200 + 60 * k) for k in range(4)])
    store.refresh(bright, today)
    invitation, _ = Invitation.issue(bright, "new@example.com", "member", bob)
    from django.core.files.base import ContentFile

    from rapport.advocacy.actions import record_testimonial
    from rapport.outreach import actions as outreach
    from rapport.outreach.models import OutboundMessage

    ask = outreach.start_ask(ann, kind="referral", channel="link", by=bob)
    message = OutboundMessage.objects.create(
        workspace=bright,
        kind="ask",
        contact=ann,
        to_address="ann@example.com",
        body_text="x",
        idempotency_key="iso-test",
        status="failed",
    )
    testimonial = record_testimonial(
        ann, "Bright words", on=today, consent_publish=True, display_name="Ann J."
    )
    testimonial.photo.save("p.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    from rapport.advocacy import references, testimonials
    from rapport.clients.actions import record_consent

    testimonials.approve(testimonial)
    advocacy.Testimonial.objects.filter(pk=testimonial.pk).update(consent_photo=True)
    testimonial.refresh_from_db()
    site = advocacy.ReviewSite.objects.create(
        workspace=bright, platform="avvo", url="https://www.avvo.com/bright"
    )
    record_consent(ann, "reference", True, "may give my name", "test")
    reference = references.create_reference(ann, industry="Law")
    share, _ = references.new_share(bright, "Prospect")
    with actions.changing():  # one agenda refresh for all of them
        advocacy_objects = _advocacy_objects(bright, ann, today)
    return {
        **advocacy_objects,
        "contact": ann,
        "issue": issue,
        "deal": deal,
        "item": AgendaItem.objects.filter(workspace=bright).first(),
        "membership": Membership.objects.get(workspace=bright, user=bob),
        "invitation": invitation,
        "batch": "0123456789abcdef0123456789abcdef",
        "ask": ask,
        "recover_item": AgendaItem.objects.get(workspace=bright, action="recover"),
        "reactivate_item": AgendaItem.objects.get(workspace=bright, action="reactivate"),
        "message": message,
        "testimonial": testimonial,
        "review_site": site,
        "reference": reference,
        "share": share,
    }


def _advocacy_objects(bright, ann, today):
    """Referrals and everything around them, in Bob's workspace."""
    from decimal import Decimal

    from rapport.advocacy import actions as referrals
    from rapport.advocacy import rewards
    from rapport.advocacy.merge import merge_contacts

    rule = rewards.save_rule(
        advocacy.RewardRule(
            workspace=bright,
            name="Thanks",
            wording="A coffee",
            recipient="both",
            trigger="arrival",
            kind="gift",
            amount=Decimal("5"),
        )
    )
    (dana,) = referrals.receive_names(
        ann, [{"first_name": "Dana", "email": "dana@example.com", "wants_intro": True}], on=today
    )
    referral = dana.referrals_received.get()
    won = referrals.receive_names(ann, [{"first_name": "Eli", "last_name": "Won"}], on=today)[0]
    won_referral = referrals.move_referral(won.referrals_received.get(), "won", on=today)
    update = referrals.tell_referrer(won_referral, channel="call", friend_agreed=True)
    code = referrals.issue_code(factories.client_with_history(bright, today, first_name="Coder"))
    twin_a = factories.contact(bright, first_name="Tw", last_name="In", email="a@x.example")
    twin_b = factories.contact(bright, first_name="Tw", last_name="In", email="b@x.example")
    suggestion = advocacy.MergeSuggestion.objects.create(
        workspace=bright, contact=twin_b, candidate=twin_a, reasons=["the same full name"]
    )
    merged_a = factories.contact(bright, first_name="Mer", last_name="Ged")
    merged_b = factories.contact(bright, first_name="Mer", last_name="Ged")
    record = merge_contacts(merged_a, merged_b)
    given = referrals.record_referral_given(ann, "An accountant", on=today)
    note = factories.activity(ann, today, text="Ask me again in three months")
    question = ReadingQuestion.objects.create(
        workspace=bright,
        contact=ann,
        activity=note,
        kind="praise",
        evidence="Ask me again",
        confidence=0.5,
        asked_on=today,
    )
    proposal = PermissionProposal.objects.get_or_create(
        activity=note,
        defaults={
            "workspace": bright,
            "contact": ann,
            "kind": "both",
            "ask_after": today,
            "evidence": "Ask me again in three months",
            "proposed_on": today,
        },
    )[0]
    return {
        "question": question,
        "proposal": proposal,
        "referral": referral,
        "update": update,
        "code": code,
        "reward": advocacy.Reward.objects.filter(rule=rule).first(),
        "rule": rule,
        "thank_you": advocacy.ThankYou.objects.filter(workspace=bright).first(),
        "given": given,
        "suggestion": suggestion,
        "merge_record": record,
    }


C = "contact"
R = "referral"
CASES = {
    # name: (method, object key, data)
    "clients:detail": ("get", C, {}),
    "clients:edit": ("post", C, {"first_name": "Hacked"}),
    "clients:log_activity": (
        "post",
        C,
        {
            "activity-kind": "call",
            "activity-direction": "in",
            "activity-occurred_on": "2026-01-01",
            "activity-text": "x",
        },
    ),
    "clients:add_purchase": ("post", C, {"purchase-date": "2026-01-01"}),
    "clients:open_issue": ("post", C, {"issue-summary": "x", "issue-opened_on": "2026-01-01"}),
    "clients:add_permission": (
        "post",
        C,
        {"permission-kind": "both", "permission-ask_after": "2030-01-01"},
    ),
    "clients:change_stage": ("post", C, {"stage-stage": "suspect"}),
    "clients:set_relationship": ("post", C, {"rel-relationship": "1"}),
    "clients:add_deal": ("post", C, {"deal-title": "x", "deal-stage": "lead"}),
    "advocacy:add_referral": (
        "post",
        C,
        {"referral-first_name": "x", "referral-date": "2026-01-01", "referral-how": "intro"},
    ),
    "advocacy:add_give": (
        "post",
        C,
        {"given-description": "x", "given-given_on": "2026-01-01"},
    ),
    "advocacy:issue_code": ("post", C, {}),
    "advocacy:referral": ("get", R, {}),
    "advocacy:move": ("post", R, {"status": "lost", "lost_reason": "price"}),
    "advocacy:intro_sent": ("post", R, {}),
    "advocacy:intro_email": ("post", R, {}),
    "advocacy:tell_referrer": ("post", R, {"channel": "call", "friend_agreed": "on"}),
    "advocacy:call_done": ("post", "update", {}),
    "advocacy:revoke_code": ("post", "code", {}),
    "advocacy:code_card": ("get", "code", {}),
    "advocacy:desk_lead": ("post", "code", {"first_name": "x", "email": "x@example.com"}),
    "advocacy:redeem": ("post", "reward", {}),
    "advocacy:rule_edit": ("post", "rule", {"name": "x"}),
    "advocacy:card_sent": ("post", "thank_you", {}),
    "advocacy:thank_you_email": ("post", "thank_you", {"subject": "x", "body": "x"}),
    "advocacy:thank_you_kind": ("post", "thank_you", {"kind": "email"}),
    "advocacy:give_outcome": ("post", "given", {"outcome": "business"}),
    "advocacy:merge": ("post", "suggestion", {}),
    "advocacy:dismiss_merge": ("post", "suggestion", {}),
    "advocacy:merge_record": ("get", "merge_record", {}),
    "advocacy:undo_merge": ("post", "merge_record", {}),
    "advocacy:add_testimonial": (
        "post",
        C,
        {"testimonial-text": "x", "testimonial-received_on": "2026-01-01"},
    ),
    "clients:resolve_issue": ("post", "issue", {}),
    "clients:update_deal": ("post", "deal", {"title": "x", "stage": "lost"}),
    "clients:import_preview": ("post", "batch", {}),
    "clients:import_status": ("get", "batch", {}),
    "outreach:item_outcome": ("post", "item", {"outcome": "declined", "channel": "phone"}),
    "agenda:done": ("post", "item", {}),
    "agenda:snooze": ("post", "item", {"days": "7"}),
    "agenda:answer_reading": ("post", "question", {"answer": "yes"}),
    "agenda:decide_permission": ("post", "proposal", {"decision": "dismiss"}),
    "winback:recover": ("post", "recover_item", {"step": "acknowledge"}),
    "winback:reactivation": (
        "post",
        "reactivate_item",
        {"outcome": "problem", "words": "x", "channel": "phone"},
    ),
    "workspaces:switch": ("post", "workspace", {}),
    "workspaces:member_role": ("post", "membership", {"role": "member"}),
    "workspaces:member_remove": ("post", "membership", {}),
    "workspaces:invitation_revoke": ("post", "invitation", {}),
    "outreach:compose": ("post", C, {"kind": "referral", "subject": "x", "body": "x"}, "email"),
    "outreach:qr": ("post", C, {"kind": "referral"}),
    "outreach:export": ("get", C, {}),
    "outreach:erase": ("post", C, {"confirm": "Ann Jones"}),
    "outreach:card": ("get", "ask", {}),
    "outreach:retry": ("post", "message", {}),
    "advocacy:testimonial_photo": ("get", "testimonial", {}),
    "advocacy:moderate": ("post", "testimonial", {"action": "reject"}),
    "advocacy:review_site_edit": ("post", "review_site", {"delete": "1"}),
    "advocacy:reference_edit": ("post", "reference", {"delete": "1"}),
    "advocacy:share_revoke": ("post", "share", {}),
}

# Public pages of a workspace, reached by its slug: a slug shows that
# workspace's published words and nothing of another's
# (test_a_workspaces_public_pages_show_nothing_of_another).
PUBLIC_BY_SLUG = {
    "advocacy:wall": None,
    "advocacy:feed": None,
    "advocacy:widget": None,
    "advocacy:embed": None,
    "advocacy:public_photo": "testimonial",
    "advocacy:review_go": "review_site",
}

EXEMPT = {
    "workspaces:invitation": "public page reached by an unguessable token, tested in test_members",
    "workspaces:signup_confirm": "public: a signed sign-up link, no workspace yet (test_signup)",
    "password_reset_confirm": "public: Django's password-reset token (test_password_reset)",
    "agenda:script_edit": "takes a script name, not an id; rows are looked up in the request's "
    "workspace (test_script_edits_stay_in_their_workspace)",
    "outreach:page": "the client's page: public, by unguessable token (tests/outreach)",
    "outreach:later": "the client's page: public, by unguessable token (tests/outreach)",
    "outreach:unsubscribe": "public by design (RFC 8058), by unguessable token (tests/outreach)",
    "outreach:email_events": "provider webhook, authenticated by its token (tests/outreach)",
    "outreach:sms_inbound": "provider webhook, authenticated by its token (tests/outreach)",
    "outreach:postmark_events": "provider webhook: its token names the workspace, Basic "
    "credentials authenticate it (tests/outreach/test_webhooks.py)",
    "outreach:twilio_inbound": "provider webhook: its token names the workspace, "
    "X-Twilio-Signature authenticates it (tests/outreach/test_twilio.py)",
    "outreach:logo": "public by design: a workspace's logo brands its client pages",
    "outreach:calendar_feed": "private calendar feed, no login, by unguessable token; isolation "
    "and revocation tested in tests/outreach/test_calendar.py",
    "advocacy:client_testimonial": "the client's testimonial page, by unguessable token "
    "(tests/advocacy/test_moderation.py)",
    "advocacy:references_public": "the prospects' page, by unguessable share token "
    "(tests/advocacy/test_references.py)",
    "advocacy:reference_answer": "the reference's answer page, by unguessable token "
    "(tests/advocacy/test_references.py)",
    "advocacy:landing": "public by design: a referral code's landing page, one plain 404 for "
    "every unknown or revoked code, misses rate-limited (tests/advocacy/test_landing.py)",
    "advocacy:introduction": "the referred friend's page: public, by unguessable hashed token "
    "(tests/advocacy/test_introductions.py)",
}


def _routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = pattern.namespace or ""
            if namespace == "admin":
                continue  # staff only, Django's own permission checks
            yield from _routes(pattern, f"{prefix}{namespace}:" if namespace else prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}", pattern


def test_every_route_with_an_object_id_is_covered():
    with_params = {name for name, p in _routes() if p.pattern.converters}
    assert with_params, "the resolver walk found no routes"
    covered = set(CASES) | set(EXEMPT) | set(PUBLIC_BY_SLUG)
    missing = with_params - covered
    assert not missing, f"routes taking an id without an isolation case: {sorted(missing)}"
    assert not covered - with_params, "stale names in CASES/EXEMPT/PUBLIC_BY_SLUG"


def _snapshot(workspace):
    return {
        "contacts": sorted(workspace_contacts(workspace)),
        "issues": list(Issue.objects.filter(workspace=workspace).values_list("status", "summary")),
        "activities": Activity.objects.filter(workspace=workspace).count(),
        "purchases": Purchase.objects.filter(workspace=workspace).count(),
        "deals": list(Deal.objects.filter(workspace=workspace).values_list("title", "stage")),
        "permissions": Permission.objects.filter(workspace=workspace).count(),
        "memberships": list(
            Membership.objects.filter(workspace=workspace).values_list("user", "role")
        ),
        "invitations": Invitation.objects.filter(workspace=workspace).count(),
        "items": AgendaItem.objects.filter(workspace=workspace).count(),
        "testimonials": list(
            advocacy.Testimonial.objects.filter(workspace=workspace).values_list(
                "status", "featured", "material_connection"
            )
        ),
        "review_sites": advocacy.ReviewSite.objects.filter(workspace=workspace).count(),
        "review_clicks": advocacy.ReviewClick.objects.filter(workspace=workspace).count(),
        "references": advocacy.Reference.objects.filter(workspace=workspace).count(),
        "shares": list(
            advocacy.ReferenceShare.objects.filter(workspace=workspace).values_list("revoked_at")
        ),
        "referrals": sorted(
            advocacy.Referral.objects.filter(workspace=workspace).values_list(
                "status", "lost_reason", "referred_id"
            )
        ),
        "introductions": list(
            advocacy.Introduction.objects.filter(workspace=workspace).values_list(
                "state", flat=True
            )
        ),
        "codes": list(
            advocacy.ReferralCode.objects.filter(workspace=workspace).values_list(
                "code", "revoked_at"
            )
        ),
        "rewards": list(
            advocacy.Reward.objects.filter(workspace=workspace).values_list("redeemed_at")
        ),
        "rules": list(advocacy.RewardRule.objects.filter(workspace=workspace).values_list("name")),
        "thank_yous": list(
            advocacy.ThankYou.objects.filter(workspace=workspace).values_list("done_at", "kind")
        ),
        "gives": list(
            advocacy.ReferralGiven.objects.filter(workspace=workspace).values_list("outcome")
        ),
        "suggestions": list(
            advocacy.MergeSuggestion.objects.filter(workspace=workspace).values_list("status")
        ),
        "merges": list(
            advocacy.ContactMerge.objects.filter(workspace=workspace).values_list("undone_at")
        ),
        "updates": list(
            advocacy.ReferrerUpdate.objects.filter(workspace=workspace).values_list("done_at")
        ),
    }


def workspace_contacts(workspace):
    from rapport.clients.models import Contact

    return Contact.objects.filter(workspace=workspace).values_list(
        "first_name", "stage", "relationship"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_member_of_another_workspace_gets_404(name, alice_client, bright, theirs):
    method, key, data, *extra = CASES[name]
    obj = bright if key == "workspace" else theirs[key]
    url = reverse(name, args=[obj if isinstance(obj, str) else obj.pk, *extra])
    before = _snapshot(bright)
    response = getattr(alice_client, method)(url, data)
    assert response.status_code == 404, (name, response.status_code)
    assert _snapshot(bright) == before
    # And the same request with htmx headers learns nothing more.
    response = getattr(alice_client, method)(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 404


@pytest.mark.parametrize("name", sorted(PUBLIC_BY_SLUG))
def test_a_workspaces_public_pages_show_nothing_of_another(name, client, acme, bright, theirs):
    key = PUBLIC_BY_SLUG[name]
    args = [acme.slug] + ([theirs[key].pk] if key else [])
    before = _snapshot(bright)
    response = client.get(reverse(name, args=args))
    if key:
        # Another workspace's photo or review link under this slug: not found.
        assert response.status_code == 404, name
    else:
        assert response.status_code == 200, name
        assert b"Bright" not in response.content, name
    assert _snapshot(bright) == before
    if key:  # while under its own slug it is there
        own = client.get(reverse(name, args=[bright.slug, theirs[key].pk]))
        assert own.status_code in (200, 302), name


def test_the_owner_reaches_their_own_objects(bob_client, theirs):
    assert bob_client.get(reverse("clients:detail", args=[theirs["contact"].pk])).status_code == 200


def test_script_edits_stay_in_their_workspace(alice_client, bright, acme):
    from rapport.agenda.models import Script

    response = alice_client.post(
        reverse("agenda:script_edit", args=["apology"]), {"body": "Sorry, {first_name}."}
    )
    assert response.status_code == 302
    assert Script.objects.get(key="apology").workspace == acme
    assert not Script.objects.filter(workspace=bright).exists()


def test_a_forged_session_workspace_is_ignored(alice_client, acme, bright, theirs):
    session = alice_client.session
    session["workspace_id"] = bright.pk
    session.save()
    response = alice_client.get(reverse("clients:list"))
    assert theirs["contact"].name not in response.content.decode()
    assert response.context["workspace"] == acme


def test_import_of_a_contact_id_from_another_workspace_is_refused(alice_client, theirs):
    # Form fields naming another workspace's object are refused too.
    contact = factories.contact(theirs["contact"].workspace, first_name="Other")
    item = theirs["item"]
    response = alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]), {"outcome": "yes", "channel": "phone"}
    )
    assert response.status_code == 404
    assert contact.asks.count() == 0


def test_form_fields_cannot_move_a_record_or_point_it_at_another_workspace(
    alice_client, acme, bright, bob, today
):
    """Mass assignment: extra fields naming another workspace, or a foreign
    key into it, are ignored or refused, and nothing moves."""
    mine = factories.contact(acme, first_name="Mine")
    theirs_contact = factories.contact(bright, first_name="Theirs")
    response = alice_client.post(
        reverse("clients:edit", args=[mine.pk]),
        {
            "first_name": "Mine",
            "last_name": "Jones",
            "stage": "prospect",
            "workspace": bright.pk,
            "workspace_id": bright.pk,
            "owner": bob.pk,
            "referred_by": theirs_contact.pk,
        },
    )
    mine.refresh_from_db()
    assert mine.workspace_id == acme.pk
    assert mine.owner_id != bob.pk
    assert mine.referred_by_id != theirs_contact.pk
    if response.status_code == 200:
        assert "owner" in response.context["form"].errors
