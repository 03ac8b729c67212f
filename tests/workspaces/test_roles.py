"""The role matrix: every route × every method × owner, admin, member,
viewer and a removed member, against the capabilities of DESIGN.md "Roles".

A role the matrix allows must not be refused; a role it does not allow gets
403 (a removed member: sent to make a workspace of their own) and the
database is exactly as it was. tests/workspaces/routes.py holds the table,
and test_every_route_is_in_the_table fails for a route missing from it.
"""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from rapport.workspaces.models import GRANTS, Capability, Membership, Role
from tests.workspaces.routes import (
    ACCOUNT,
    PUBLIC,
    ROUTES,
    database_checksum,
    site_routes,
    url_args,
)

pytestmark = pytest.mark.django_db

ROLE_OF = {"owner": Role.OWNER, "admin": Role.ADMIN, "member": Role.MEMBER, "viewer": Role.VIEWER}


def test_every_route_is_in_the_table():
    names = {name for name, _ in site_routes()}
    assert len(names) > 40, "the resolver walk found too few routes"
    missing = names - set(ROUTES)
    assert not missing, f"routes with no entry in tests/workspaces/routes.py: {sorted(missing)}"
    assert not set(ROUTES) - names, f"stale entries: {sorted(set(ROUTES) - names)}"
    for name, entry in ROUTES.items():
        for method in ("GET", "POST"):
            assert entry[method] in {None, PUBLIC, ACCOUNT, *Capability.values}, (name, method)


def test_the_grants_follow_the_design():
    assert GRANTS[Role.OWNER] == set(Capability.values)
    assert Capability.MANAGE_MEMBERS not in GRANTS[Role.ADMIN]
    assert Capability.ERASE not in GRANTS[Role.ADMIN]
    assert Capability.CONFIGURE in GRANTS[Role.ADMIN]
    assert GRANTS[Role.MEMBER] == {Capability.READ, Capability.WORK}
    assert GRANTS[Role.VIEWER] == {Capability.READ}


GUARDED = sorted(
    name
    for name, entry in ROUTES.items()
    if any(entry[m] in Capability.values for m in ("GET", "POST"))
)


@pytest.mark.parametrize("name", GUARDED)
def test_each_role_may_do_exactly_what_its_capabilities_allow(name, people, objects):
    entry = ROUTES[name]
    url = reverse(name, args=url_args(entry, objects))
    for method in ("GET", "POST"):
        need = entry[method]
        if need not in Capability.values:
            continue
        for role, user in people.items():
            allowed = role in ROLE_OF and need in GRANTS[ROLE_OF[role]]
            savepoint = transaction.savepoint()
            try:
                client = Client()
                client.force_login(user)
                before = database_checksum()
                call = client.get if method == "GET" else client.post
                response = call(url, entry.get("data", {}))
                where = f"{method} {name} as {role}"
                if allowed:
                    assert response.status_code != 403, where
                    location = response.get("Location", "")
                    assert not location.startswith(reverse("login")), where
                    assert location != reverse("workspaces:create"), where
                    assert response.status_code < 500, where
                else:
                    if role == "removed":
                        assert response.status_code == 302, where
                        assert response["Location"] == reverse("workspaces:create"), where
                    else:
                        assert response.status_code == 403, where
                    assert database_checksum() == before, f"{where} changed the database"
            finally:
                transaction.savepoint_rollback(savepoint)


def test_a_removed_member_is_out_on_their_next_request(alice_client, charlie, acme, ours):
    client = Client()
    client.force_login(charlie)
    contact = ours["contact"]
    assert client.get(reverse("clients:detail", args=[contact.pk])).status_code == 200
    membership = Membership.objects.get(user=charlie, workspace=acme)
    alice_client.post(reverse("workspaces:member_remove", args=[membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()

    response = client.get(reverse("clients:detail", args=[contact.pk]))
    assert response["Location"] == reverse("workspaces:create")
    response = client.post(
        reverse("clients:set_relationship", args=[contact.pk]), {"rel-relationship": "1"}
    )
    assert response["Location"] == reverse("workspaces:create")
    contact.refresh_from_db()
    assert contact.relationship != 1


def test_a_removed_member_with_another_workspace_reaches_nothing_of_the_old_one(
    alice_client, charlie, acme, ours
):
    from tests import factories

    factories.workspace(charlie, "Charlie's own")
    client = Client()
    client.force_login(charlie)
    session = client.session
    session["workspace_id"] = acme.pk
    session.save()
    membership = Membership.objects.get(user=charlie, workspace=acme)
    alice_client.post(reverse("workspaces:member_remove", args=[membership.pk]))
    assert client.get(reverse("clients:detail", args=[ours["contact"].pk])).status_code == 404


def test_a_member_demoted_to_viewer_can_no_longer_write(alice_client, charlie, acme, ours):
    client = Client()
    client.force_login(charlie)
    membership = Membership.objects.get(user=charlie, workspace=acme)
    alice_client.post(reverse("workspaces:member_role", args=[membership.pk]), {"role": "viewer"})
    contact = ours["contact"]
    response = client.post(
        reverse("clients:set_relationship", args=[contact.pk]), {"rel-relationship": "1"}
    )
    assert response.status_code == 403
    assert "viewer" in response.content.decode().lower()
    assert client.get(reverse("clients:detail", args=[contact.pk])).status_code == 200


def test_a_viewer_sees_the_read_only_banner_and_no_erase_link(people, ours):
    client = Client()
    client.force_login(people["viewer"])
    page = client.get(reverse("clients:detail", args=[ours["contact"].pk])).content.decode()
    assert "Read-only" in page and 'class="read-only"' in page
    assert reverse("outreach:erase", args=[ours["contact"].pk]) not in page
    member = Client()
    member.force_login(people["member"])
    page = member.get(reverse("clients:detail", args=[ours["contact"].pk])).content.decode()
    assert "Read-only" not in page and 'class="read-only"' not in page
