"""The demo workspaces: built from today, the same on every run, and alive.

The demo is built once for the module (a smaller practice than `rapport demo` builds)
and removed afterwards; each test runs in its own transaction on top of it.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from rapport.agenda import engine, store
from rapport.agenda.models import AgendaItem
from rapport.agenda.text import detect
from rapport.clients.models import Activity, Permission
from rapport.dev import demo
from rapport.workspaces.models import Membership, Role, Workspace
from tests import factories

PATIENTS = 120
SLUGS = [demo.DENTAL_SLUG, demo.CONSULTING_SLUG]

DENTAL_ACTIONS = {
    "thank",
    "recover",
    "reactivate",
    "recall",
    "follow_up_permission",
    "upfront_contract",
}


def _forget_demo():
    Workspace.objects.filter(slug__in=SLUGS).delete()
    get_user_model().objects.filter(username__endswith="rapport.local").delete()


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        summaries = {s.slug: s for s in demo.build_all(patients=PATIENTS)}
    yield summaries
    with django_db_blocker.unblock():
        _forget_demo()


def _actions(slug: str) -> set[str]:
    workspace = Workspace.objects.get(slug=slug)
    return set(AgendaItem.objects.filter(workspace=workspace).values_list("action", flat=True))


@pytest.mark.django_db
def test_building_again_replaces_the_demo_without_duplicates(built):
    first = built[demo.DENTAL_SLUG]
    again = demo.build_dental(patients=PATIENTS)
    assert again.counts() == first.counts()
    assert Workspace.objects.filter(slug=demo.DENTAL_SLUG).count() == 1
    assert get_user_model().objects.filter(username=demo.DEMO_EMAIL).count() == 1
    workspace = Workspace.objects.get(slug=demo.DENTAL_SLUG)
    assert Membership.objects.filter(workspace=workspace).count() == 1 + len(demo.DENTAL_STAFF)


@pytest.mark.django_db
def test_the_dental_agenda_shows_every_kind_of_action_today(built):
    actions = _actions(demo.DENTAL_SLUG)
    assert DENTAL_ACTIONS - actions == set()
    assert actions & {"ask_referral", "ask_more_names"}
    assert built[demo.DENTAL_SLUG].agenda["recover"] >= 3


@pytest.mark.django_db
def test_the_stored_agenda_is_todays_and_matches_the_engine(built):
    workspace = Workspace.objects.get(slug=demo.DENTAL_SLUG)
    today = workspace.today()
    assert workspace.agenda_date == today
    items, _, _ = engine.build(workspace, today, render_scripts=False)
    stored = AgendaItem.objects.filter(workspace=workspace)
    assert sorted((i.contact_id, i.action, i.key) for i in items) == sorted(
        stored.values_list("contact_id", "action", "key")
    )


@pytest.mark.django_db
def test_the_consulting_agenda_asks_for_a_testimonial_after_a_project(built):
    actions = _actions(demo.CONSULTING_SLUG)
    assert "ask_testimonial" in actions
    assert {"ask_more_names", "recover", "reactivate", "upfront_contract"} - actions == set()
    workspace = Workspace.objects.get(slug=demo.CONSULTING_SLUG)
    item = AgendaItem.objects.filter(workspace=workspace, action="ask_testimonial").first()
    assert "project_completed" in item.moments


@pytest.mark.django_db
def test_the_demo_is_dated_from_today(built):
    workspace = Workspace.objects.get(slug=demo.DENTAL_SLUG)
    today = workspace.today()
    assert Permission.objects.filter(workspace=workspace, ask_after=today).exists()
    assert Permission.objects.filter(
        workspace=workspace,
        ask_after__range=(today + dt.timedelta(days=1), today + dt.timedelta(7)),
    ).exists()
    fortnight = Activity.objects.filter(
        workspace=workspace, occurred_on__gte=today - dt.timedelta(days=14)
    )
    praise = [a for a in fortnight if "praise" in a.detected]
    assert len(praise) >= 5
    assert not Activity.objects.filter(workspace=workspace, occurred_on__gt=today).exists()


@pytest.mark.django_db
def test_the_demo_login_owns_both_workspaces(built):
    user = demo.demo_user()  # resets the password under the test's hasher
    assert user.check_password(demo.DEMO_PASSWORD)
    owned = Membership.objects.filter(user=user, role=Role.OWNER)
    assert sorted(owned.values_list("workspace__slug", flat=True)) == sorted(SLUGS)


@pytest.mark.django_db
def test_a_real_workspace_with_the_demo_slug_is_left_alone(built, alice):
    Workspace.objects.filter(slug=demo.DENTAL_SLUG).delete()
    factories.workspace(alice, "Smile Dental", slug=demo.DENTAL_SLUG)
    with pytest.raises(demo.DemoError):
        demo.build_dental(patients=PATIENTS)
    assert Workspace.objects.get(slug=demo.DENTAL_SLUG).name == "Smile Dental"


@pytest.mark.django_db
def test_the_command_prints_the_summary_and_the_login(built, capsys):
    call_command("demo", patients=PATIENTS)
    out = capsys.readouterr().out
    assert "Smile Dental Studio" in out and "Northwind Advisory" in out
    assert "agenda today" in out
    assert f"{demo.DEMO_EMAIL} / {demo.DEMO_PASSWORD}" in out


@pytest.mark.parametrize(
    "kind, texts",
    [
        ("praise", demo.DENTAL_PRAISE + demo.CONSULTING_PRAISE),
        ("saved_us", demo.DENTAL_SAVED_US + demo.CONSULTING_SAVED_US),
        (
            "complaint",
            [note for note, _ in demo.DENTAL_COMPLAINTS + demo.CONSULTING_COMPLAINTS]
            + demo.DENTAL_LAPSE_COMPLAINTS,
        ),
        ("partner_association", demo.CONSULTING_ASSOCIATIONS),
        (
            None,
            demo.DENTAL_ROUTINE_NOTES
            + demo.DENTAL_CHILD_NOTES
            + list(demo.DENTAL_TREATMENT_NOTES.values())
            + [text for _, text in demo.DENTAL_REMINDERS]
            + [text for texts in demo.CONSULTING_PROJECT_NOTES.values() for text in texts],
        ),
    ],
)
def test_each_note_reads_as_the_moment_it_was_written_for(kind, texts):
    # The demo's stories depend on the detector reading its notes as intended: when the
    # detector changes, this names the note to reword.
    expected = {kind} if kind else set()
    for female in (True, False):
        misread = {
            text: sorted(found)
            for text in texts
            if set(found := detect(demo._say(text, female))) != expected
        }
        assert not misread


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_the_demo_wall_widget_references_and_insights_show_something(built, client, slug):
    from django.urls import reverse

    from rapport.advocacy import insights, references
    from rapport.advocacy.models import ReviewSite

    workspace = Workspace.objects.get(slug=slug)
    feed = client.get(reverse("advocacy:feed", args=[slug])).json()["testimonials"]
    assert len(feed) >= 3 and all(item["name"] for item in feed[:2])
    assert feed[0]["featured"]
    wall = client.get(reverse("advocacy:wall", args=[slug])).content.decode()
    assert "What our clients say" in wall and feed[0]["text"][:30] in wall
    assert ReviewSite.objects.filter(workspace=workspace, active=True).count() >= 2
    assert references.listed(workspace)
    report = insights.build(
        workspace, workspace.today() - dt.timedelta(days=364), workspace.today()
    )
    scripts = report.figure("asks_by_script").rows
    assert len(scripts) >= 3 and len({row[-1] for row in scripts}) > 1  # the words differ
    assert report.figure("by_moment").rows


@pytest.mark.django_db
def test_the_demos_past_asks_leave_todays_agenda_as_it_was(built):
    workspace = Workspace.objects.get(slug=demo.DENTAL_SLUG)
    before = sorted(AgendaItem.objects.filter(workspace=workspace).values_list("key", "action"))
    store.refresh(workspace)
    after = sorted(AgendaItem.objects.filter(workspace=workspace).values_list("key", "action"))
    assert after == before
