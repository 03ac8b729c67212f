"""The demo's testimonials that sell, review pages, references and past asks,
so the wall, the widget, the references page and the insights show
something on a first run. Called by rapport.dev.demo for each workspace,
after its facts are built."""

import datetime as dt
import random

from django.utils import timezone

from rapport.advocacy import references, testimonials
from rapport.advocacy.models import Referral, ReviewSite, Testimonial
from rapport.clients.actions import record_consent
from rapport.outreach.actions import CONSENT_REFERENCE_TEXT
from rapport.outreach.models import Ask, AskKind, Channel, Outcome

# Demo addresses: a real install lists its own review pages in Settings.
REVIEW_SITES = {
    "dental": [
        ("google", "https://reviews.example.com/google/smile-dental-studio"),
        ("trustpilot", "https://reviews.example.com/trustpilot/smile-dental-studio"),
        ("healthgrades", "https://reviews.example.com/healthgrades/smile-dental-studio"),
    ],
    "consulting": [
        ("google", "https://reviews.example.com/google/northwind-advisory"),
        ("g2", "https://reviews.example.com/g2/northwind-advisory"),
    ],
}
TAGS = {
    "dental": ["check-ups", "implants", "nervous patients", "family"],
    "consulting": ["operations", "strategy", "finance"],
}
NEEDS = {
    "dental": ["Implants", "Invisalign", "Nervous patient care", "Family check-ups"],
    "consulting": ["Supply-chain turnaround", "Board reporting", "Pricing strategy"],
}
INDUSTRIES = {
    "dental": [""],
    "consulting": ["Logistics", "Manufacturing", "Retail", "Healthcare"],
}
# Which words were used for which kind of referral ask, and how often they
# worked: the insights page tells these apart.
ASK_SCRIPTS = [
    ("point_of_sale", "point_of_sale", 0.30),
    ("moment_praise", "praise", 0.55),
    ("moment_saved_us", "saved_us", 0.60),
    ("moment_project_completed", "project_completed", 0.40),
]
CHANNELS = [Channel.IN_PERSON, Channel.PHONE, Channel.EMAIL, Channel.SMS]
OTHER_OUTCOMES = [Outcome.DECLINED, Outcome.LATER, Outcome.NO_ANSWER, Outcome.YES]


def showcase(workspace, *, kind: str, seed: int) -> None:
    rng = random.Random(seed)
    today = workspace.today()
    for position, (platform, url) in enumerate(REVIEW_SITES[kind]):
        ReviewSite.objects.create(
            workspace=workspace, platform=platform, url=url, position=position
        )
    _testimonials(workspace, kind, rng)
    _references(workspace, kind, rng)
    references.new_share(workspace, "Website visitors", days=180)
    _asks(workspace, rng, today)


def _testimonials(workspace, kind: str, rng: random.Random) -> None:
    shown = list(
        Testimonial.objects.filter(workspace=workspace, status="approved", consent_publish=True)
        .select_related("contact")
        .order_by("-received_on", "id")
    )
    now = timezone.now()
    Testimonial.objects.filter(pk__in=[t.pk for t in shown]).update(published_at=now)
    for index, testimonial in enumerate(shown):
        testimonials.set_tags(testimonial, rng.sample(TAGS[kind], k=rng.randint(1, 2)))
        if index < 2:
            testimonial.featured = True
            testimonial.save(update_fields=["featured"])
    if len(shown) > 3:
        # A patient who had a thank-you discount for a referral: disclosed.
        testimonials.set_connection(shown[3], "rewarded")


def _references(workspace, kind: str, rng: random.Random) -> None:
    business = workspace.name
    givers = (
        Testimonial.objects.filter(workspace=workspace, consent_reference=True)
        .select_related("contact")
        .order_by("contact_id")
        .distinct()
    )
    seen = set()
    for testimonial in givers:
        contact = testimonial.contact
        if contact.pk in seen:
            continue
        seen.add(contact.pk)
        record_consent(
            contact,
            "reference",
            True,
            CONSENT_REFERENCE_TEXT.format(business=business),
            "testimonial page",
        )
        references.create_reference(
            contact,
            industry=rng.choice(INDUSTRIES[kind]),
            need=rng.choice(NEEDS[kind]),
            blurb=contact.notes[:200] if kind == "consulting" else "",
            monthly_limit=2,
        )


def _asks(workspace, rng: random.Random, today: dt.date) -> None:
    """An ask before each referral of the past year, and asks that came to
    nothing, spread over the last 120 days — different words, channels and
    success."""
    rows = []
    quiet = workspace_contacts(workspace)
    referrals = Referral.objects.filter(
        workspace=workspace,
        date__gte=today - dt.timedelta(days=365),
        unsolicited=False,
        referrer__in=quiet,
    ).values_list("referrer_id", "date")
    for referrer_id, day in referrals:
        script, moment, _ = rng.choice(ASK_SCRIPTS)
        asked_on = day - dt.timedelta(days=rng.choice([0, 0, 1, 3, 6, 12, 25]))
        rows.append(_ask(workspace, referrer_id, asked_on, script, moment, Outcome.GAVE_NAMES, rng))
    contacts = list(quiet.values_list("pk", flat=True)[: max(20, len(rows) * 3)])
    for contact_id in contacts:
        script, moment, works = rng.choice(ASK_SCRIPTS)
        outcome = Outcome.YES if rng.random() < works / 2 else rng.choice(OTHER_OUTCOMES)
        asked_on = today - dt.timedelta(days=rng.randint(2, 120))
        rows.append(_ask(workspace, contact_id, asked_on, script, moment, outcome, rng))
    Ask.objects.bulk_create(rows)


def workspace_contacts(workspace):
    """Customers with nothing on today's agenda: a past ask to them changes
    no item the demo shows on Today (cooldowns read asks)."""
    from rapport.agenda.models import AgendaItem
    from rapport.clients.models import Contact, Stage

    return (
        Contact.objects.in_workspace(workspace)
        .active()
        .filter(stage__in=Stage.at_least(Stage.CUSTOMER))
        .exclude(pk__in=AgendaItem.objects.filter(workspace=workspace).values("contact"))
        .order_by("pk")
    )


def _ask(workspace, contact_id, asked_on, script, moment, outcome, rng) -> Ask:
    at = dt.datetime.combine(asked_on, dt.time(10, 0), tzinfo=workspace.tzinfo)
    return Ask(
        workspace=workspace,
        contact_id=contact_id,
        kind=AskKind.REFERRAL,
        channel=rng.choice(CHANNELS),
        asked_on=asked_on,
        asked_at=at,
        outcome=outcome,
        outcome_at=at,
        script_key=script,
        moment=moment,
    )
