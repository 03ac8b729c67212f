import datetime as dt

import pytest

from tests import factories


@pytest.fixture
def ours(acme, alice, today):
    """One of every kind of object, in Alice's workspace (Acme)."""
    from rapport.advocacy import models as advocacy
    from rapport.agenda import engine
    from rapport.agenda.models import AgendaItem
    from rapport.clients import actions
    from rapport.clients.models import Deal
    from rapport.outreach.actions import start_ask
    from rapport.outreach.models import OutboundMessage
    from rapport.workspaces.models import Invitation, Membership

    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"])
    lapsed = factories.contact(acme, first_name="Lapsed")
    factories.purchases(lapsed, [today - dt.timedelta(days=200 + 60 * k) for k in range(4)])
    engine.refresh(acme, today)
    return {
        "contact": ann,
        "issue": actions.open_issue(ann, "x", opened_on=today),
        "deal": actions.save_deal(Deal(workspace=acme, contact=ann, title="d", stage="won")),
        "item": AgendaItem.objects.filter(workspace=acme).first(),
        "membership": Membership.objects.get(workspace=acme, user=alice),
        "invitation": Invitation.issue(acme, "n@example.com", "member", alice)[0],
        "batch": "0" * 32,
        "workspace": acme,
        "ask": start_ask(ann, kind="referral", channel="link", by=alice),
        "recover_item": AgendaItem.objects.get(workspace=acme, action="recover"),
        "testimonial": advocacy.Testimonial.objects.create(
            workspace=acme, contact=ann, text="x", received_on=today, consent_publish=True
        ),
        "reactivate_item": AgendaItem.objects.get(workspace=acme, action="reactivate"),
        "message": OutboundMessage.objects.create(
            workspace=acme,
            kind="ask",
            contact=ann,
            to_address="a@example.com",
            body_text="x",
            idempotency_key="csrf-test",
            status="failed",
        ),
    }


@pytest.fixture
def people(acme, alice, charlie):
    """One user per role in Acme, and one whose membership was removed."""
    from rapport.workspaces.actions import remove_member
    from rapport.workspaces.models import Role

    admin = factories.user("adam@example.com", "Adam")
    factories.member(admin, acme, Role.ADMIN)
    viewer = factories.user("vera@example.com", "Vera")
    factories.member(viewer, acme, Role.VIEWER)
    removed = factories.user("rem@example.com", "Rem")
    remove_member(factories.member(removed, acme))
    return {"owner": alice, "admin": admin, "member": charlie, "viewer": viewer, "removed": removed}


@pytest.fixture
def objects(ours, people, acme, alice):
    """`ours` plus a live secret for every tokenized route."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core import signing
    from django.core.files.base import ContentFile
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from rapport.outreach import calendar, tokens
    from rapport.outreach.compose import queue
    from rapport.workspaces.models import Invitation, Membership, Workspace, hash_token
    from rapport.workspaces.views import SIGNUP_SALT

    contact = ours["contact"]
    message, _ = queue(
        acme,
        to="ann@example.com",
        subject="s",
        text="b",
        kind="ask",
        contact=contact,
        idempotency_key="routes-fixture",
    )
    hook_token = "hook-" + "h" * 30
    Workspace.objects.filter(pk=acme.pk).update(webhook_token_hash=hash_token(hook_token))
    photo = ours["testimonial"]
    photo.photo.save("p.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    return {
        **ours,
        "photo_testimonial": photo,
        "viewer_membership": Membership.objects.get(workspace=acme, user=people["viewer"]),
        "reset": (
            urlsafe_base64_encode(force_bytes(alice.pk)),
            default_token_generator.make_token(alice),
        ),
        "signup": signing.dumps(
            {
                "email": "newcomer@example.com",
                "first_name": "N",
                "workspace_name": "New",
                "time_zone": "UTC",
                "next": "/today/",
            },
            salt=SIGNUP_SALT,
            compress=True,
        ),
        "invitation_token": Invitation.issue(acme, "guest@example.com", "member", alice)[1],
        "ask_token": ours["ask"].token(),
        "unsubscribe_token": tokens.derive("unsubscribe", message.pk, message.unsubscribe_salt),
        "hook_token": hook_token,
        "feed_token": calendar.issue_token(Membership.objects.get(workspace=acme, user=alice)),
    }
