"""The demo workspaces: a dental practice and a consulting firm, alive on any day.

`rapport demo` builds them (and `rapport up` does on an empty database), so a new user
opens Rapport and finds a living agenda: patients who praised the practice this week, a
referral to thank for, a complaint still open, a permission that falls due today, regulars
who drifted away.

Everything is dated from the workspace's today and drawn from seeded generators, so the
story is the same on every run, whatever the day it is built. Facts go in through the
app's own write functions (`rapport.clients.actions`, `rapport.advocacy.actions`), so
ladder promotions and the moments read from notes are real. Each workspace is written
inside one `changing()` block: the agenda is rebuilt once, at the end, not after each fact.
"""

import datetime as dt
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from faker import Faker

from rapport.advocacy.actions import (
    record_referral,
    record_referral_given,
    record_testimonial,
)
from rapport.advocacy.models import Referral, Reward, Testimonial
from rapport.agenda import engine, store
from rapport.agenda.models import AgendaItem
from rapport.clients.actions import (
    PurchaseRow,
    build_activity,
    changing,
    create_contact,
    facts_changed,
    log_activity,
    open_issue,
    promote,
    record_permission,
    record_purchases,
    resolve_issue,
    save_deal,
)
from rapport.clients.models import (
    Activity,
    ConsentRecord,
    Contact,
    Deal,
    DealStage,
    Issue,
    Organization,
    Permission,
    Purchase,
    Stage,
    StageChange,
    Tag,
)
from rapport.dev.demo_advocacy import showcase
from rapport.workspaces.actions import create_workspace
from rapport.workspaces.models import Membership, Role, Workspace

DEMO_EMAIL = "demo@rapport.local"
DEMO_PASSWORD = "rapport-demo"
DENTAL_SLUG = "smile-dental"
CONSULTING_SLUG = "northwind-advisory"

# Three years of history: what a practice that switched to Rapport would import.
HISTORY_DAYS = 1095

Reason = StageChange.Reason
Source = Permission.Source


class DemoError(Exception):
    """The demo would overwrite something that is not the demo."""


@dataclass
class Summary:
    """What one demo workspace holds once built, and how long it took."""

    slug: str
    name: str
    contacts: int
    organizations: int
    purchases: int
    activities: int
    deals: int
    referrals: int
    testimonials: int
    open_issues: int
    resolved_issues: int
    permissions: int
    agenda: dict[str, int]
    seconds: float = 0.0

    def counts(self) -> dict:
        """Everything but the timing: equal on every build of the same day."""
        values = dict(self.__dict__)
        values.pop("seconds")
        return values

    def lines(self) -> list[str]:
        agenda = ", ".join(f"{action} {n}" for action, n in self.agenda.items())
        return [
            f"{self.name} ({self.slug}) — built in {self.seconds:.1f} s",
            f"  {self.contacts} contacts, {self.organizations} organizations, "
            f"{self.purchases} purchases, {self.activities} activities, {self.deals} deals",
            f"  {self.referrals} referrals, {self.testimonials} testimonials, "
            f"{self.open_issues} open issues ({self.resolved_issues} resolved), "
            f"{self.permissions} permissions",
            f"  agenda today: {sum(self.agenda.values())} items — {agenda}",
        ]


# -- people of the business ---------------------------------------------------

_hashes: dict[tuple, str] = {}


def _password_hash() -> str:
    # Hashing is slow on purpose (PBKDF2); every demo account shares one hash.
    key = tuple(settings.PASSWORD_HASHERS)
    if key not in _hashes:
        _hashes[key] = make_password(DEMO_PASSWORD)
    return _hashes[key]


def _account(email: str, first_name: str, last_name: str):
    """Create or reset a demo login (the password is always DEMO_PASSWORD)."""
    user, _ = get_user_model().objects.get_or_create(username=email, defaults={"email": email})
    user.email = email
    user.first_name = first_name
    user.last_name = last_name
    user.is_active = True
    user.password = _password_hash()
    user.save()
    return user


def demo_user():
    """The demo login, owner of both demo workspaces. Its surname says what it is."""
    return _account(DEMO_EMAIL, "Sam", "Demo")


def _fresh_workspace(slug: str, owner, name: str, time_zone: str, **fields) -> Workspace:
    """Delete the previous demo workspace of that slug, then make it anew.

    A workspace with the slug that the demo owner does not own is somebody's real
    business: it is left alone and the demo refuses to build.
    """
    existing = Workspace.objects.filter(slug=slug).first()
    if existing is not None:
        ours = Membership.objects.filter(workspace=existing, user=owner, role=Role.OWNER)
        if not ours.exists():
            raise DemoError(
                f"A workspace {slug!r} exists and is not a demo workspace; "
                "rename it or build the demo in another database."
            )
        existing.delete()
    return create_workspace(owner, name, time_zone, slug=slug, **fields)


def _staff(workspace, people: list[tuple[str, str, str, str]]) -> list:
    """Colleagues of the demo owner: (email, first name, last name, role)."""
    users = []
    for email, first_name, last_name, role in people:
        user = _account(email, first_name, last_name)
        Membership.objects.create(user=user, workspace=workspace, role=role)
        users.append(user)
    return users


# -- words ----------------------------------------------------------------------
# Notes are written the way staff write them; the app reads them for moments. Each bank
# holds texts of one kind only (tests/clients/test_demo.py checks them against the
# detector), with {he}/{his}/{him} filled for the person.

PRONOUNS = {
    True: {"he": "she", "his": "her", "him": "her", "He": "She", "His": "Her"},
    False: {"he": "he", "his": "his", "him": "him", "He": "He", "His": "His"},
}

DENTAL_PRAISE = [
    "Said the new crown feels perfect — best dentist {he}'s ever had.",
    "Told the hygienist it was the most thorough clean {he}'s ever had.",
    "Loves how {his} teeth look after the whitening and says {he} smiles in photos again.",
    "Said the team were brilliant with {his} nervous little boy today.",
    "Said {he} has never felt so at ease in a dentist's chair.",
    "Said the filling was completely painless and {he} was really pleased with how quick it was.",
    "Thanked us so much for fitting {him} in at short notice before {his} interview, said "
    "we were wonderful.",
    "Said the hygienist is a star and {he} actually looks forward to coming now.",
    "Over the moon with the veneers; said they look amazing and wishes {he}'d had them done "
    "years ago.",
    "Said the new bridge looks so natural that nobody can tell.",
    "Said {he} couldn't be happier with the Invisalign result and it looks amazing.",
    "Said the whole team made {his} mum feel really well looked after.",
    "Said {he} was blown away by how gentle the extraction was.",
    "Said our reception team are lovely and always make {him} feel welcome.",
    "Said {he} can't recommend the practice highly enough.",
    "Said the hygiene visit was brilliant as always.",
    "Said {he} was really impressed with how clearly the treatment options were explained.",
    "Brought in chocolates to thank the team for all the wonderful care over the years.",
    "Said the implant feels amazing and {he} can finally eat steak again.",
    "Thrilled with the result of the bonding; said {his} smile looks fantastic.",
]

DENTAL_SAVED_US = [
    "Came in on Sunday with a broken front tooth two days before {his} daughter's wedding, "
    "and said we saved the day.",
    "Opened up on the bank holiday for {his} abscess. {He} said we saved {his} holiday.",
    "Re-cemented {his} crown at 8am before {his} flight. Said: \u201cI don't know what I'd "
    "have done without you.\u201d",
    "Said we were a lifesaver for seeing {him} the same evening with a cracked tooth before a "
    "big presentation.",
]

# (note, issue summary): what the patient said, and the problem as staff would log it.
DENTAL_COMPLAINTS = [
    (
        "Rang upset: {he} was charged twice for {his} last hygiene appointment.",
        "the double charge for the hygiene appointment",
    ),
    (
        "Waited 45 minutes past {his} appointment time and had to leave for work without "
        "being seen.",
        "the 45-minute wait past the appointment time",
    ),
    (
        "Tooth has been sensitive since the crown was fitted and {he}'s not happy.",
        "the sensitivity since the new crown was fitted",
    ),
    (
        "Says the invoice for {his} crown was higher than the estimate {he} was given.",
        "the crown invoice coming in above the estimate",
    ),
    (
        "Felt rushed during the check-up and said nobody explained the treatment plan.",
        "the rushed check-up and the unexplained treatment plan",
    ),
    (
        "Still sore since the filling last week and wants it looked at.",
        "the pain after the filling",
    ),
    (
        "Complained that the receptionist was rude when {he} rang to rebook.",
        "the receptionist's manner on the phone",
    ),
]

# Why some lapsed patients stopped coming: said at the time, never followed up.
DENTAL_LAPSE_COMPLAINTS = [
    "Said {he}'s going elsewhere because the appointments keep running late.",
    "Unhappy about the price of the hygiene visits since the last increase.",
    "Complained that {he} had to chase us three times for a copy of {his} invoice.",
]

DENTAL_ROUTINE_NOTES = [
    "Routine check-up. Gums healthy, no new decay. Next check-up in six months.",
    "Check-up and scale & polish. Some calculus behind the lower front teeth; showed {him} "
    "interdental brushes.",
    "Hygiene visit. Gums much improved, keep up the flossing.",
    "Check-up. Small cavity on the upper left molar, filling booked.",
    "Bitewing X-rays taken; all clear.",
    "Check-up. Talked through whitening options; {he} will think about it.",
    "Scale and polish. Suggested an electric toothbrush and a lighter brushing technique.",
    "Check-up. Night guard suggested for grinding; impressions booked.",
    "Check-up, all fine. Mentioned the hygiene plan again.",
    "Routine examination and oral cancer screening, nothing of concern.",
]

DENTAL_CHILD_NOTES = [
    "Child check-up. Fluoride varnish applied; brushing chart given.",
    "Child check-up, no decay. Talked about sugary drinks with the parent.",
    "First visit for the little one: counted teeth and gave a sticker.",
]

DENTAL_TREATMENT_NOTES = {
    "Filling": "Filling on the lower right molar. Numb for a couple of hours; soft food today.",
    "Crown preparation": "Crown preparation on the upper left premolar, temporary fitted.",
    "Crown fitted": "Permanent crown fitted.",
    "Root canal treatment": "Root canal treatment completed on the lower left molar.",
    "Home whitening": "Whitening trays fitted; instructions and gel given. Review in two weeks.",
    "Extraction": "Upper right wisdom tooth extracted; aftercare sheet given.",
    "Emergency appointment": "Emergency appointment: temporary filling placed, follow-up booked.",
    "New patient examination": "New patient examination and X-rays. Treatment plan discussed.",
}

DENTAL_REMINDERS = [
    ("note", "Sent a recall reminder by letter."),
    ("call", "Rang about booking {his} check-up; no answer."),
    ("note", "Texted a reminder to book {his} check-up."),
]

DENTAL_TESTIMONIALS = [
    "I had avoided dentists for nearly ten years. The team at Smile Dental Studio were "
    "patient, explained every step and never made me feel judged. My new crown feels like "
    "my own tooth.",
    "Both my children actually ask when they can go back to the dentist. That says it all.",
    "Booked in on a Saturday with a cracked tooth and was treated within the hour. Calm, "
    "kind and very professional.",
    "The whitening result is natural and exactly what I hoped for. Lovely people too.",
    "Best hygienist I have ever been to — gentle, thorough and full of good advice.",
    "From the first phone call to the final fitting, everything about my implant was "
    "handled with care. Worth every penny.",
    "Friendly reception, no waiting, and a dentist who listens. I have recommended them to "
    "my whole office.",
    "I came in terrified and left smiling. Thank you for your patience with me.",
    "Clear prices, honest advice and no pressure to buy treatment I did not need.",
]

NEWSLETTER_TOPICS = [
    "Quarterly newsletter: late opening on Thursdays and a guide to night guards.",
    "Quarterly newsletter: children's dental health week and our new hygienist.",
    "Quarterly newsletter: what to do in a dental emergency, and holiday opening hours.",
    "Quarterly newsletter: whitening myths, and how our hygiene plan works.",
]

CONSULTING_PRAISE = [
    "Said the board review was spot on and landed really well with the directors.",
    "Said our team was a pleasure to work with and the offsite was superb.",
    "Told me {he} was really impressed with the rigour of the pricing model.",
    "Said it was the best strategy document {he}'s seen in twenty years.",
    "Thanked us for getting the integration plan over the line so quickly, said the team "
    "were superb.",
    "Loved the way the workshop got the whole leadership team pulling in one direction.",
    "Said the steering committee was delighted with the progress.",
    "Said the market sizing report was brilliant and the board loved it.",
    "Said the new operating model is exactly what they needed.",
    "Said the implementation roadmap looks great and the team is already using it.",
]

CONSULTING_SAVED_US = [
    "Said they'd have gone under without our cash-flow plan when the bank pulled its credit line.",
    "Said: \u201cyou got us out of a real hole with that supplier renegotiation.\u201d",
    "Said the due diligence we ran saved them from a very expensive acquisition.",
]

CONSULTING_COMPLAINTS = [
    (
        "Annoyed that the offsite invoice was billed twice.",
        "the offsite invoice billed twice",
    ),
    (
        "Felt the last two workshops were rushed and not what they signed up for.",
        "the rushed workshops and the drift from the agreed scope",
    ),
    (
        "Unhappy that the final report arrived two weeks late.",
        "the final report arriving two weeks late",
    ),
]

CONSULTING_ASSOCIATIONS = [
    "Told me {he} has just joined the board of the Riverside Chamber of Commerce.",
    "{He} is now a member of the regional CFO network.",
]

CONSULTING_TESTIMONIALS = [
    "Northwind helped us see our own business clearly. The pricing work paid for itself "
    "within two quarters.",
    "A rare consultancy that stays for the implementation. Our leadership team still uses "
    "the operating model they built with us.",
    "Sharp, practical and honest about what would not work. I would hire them again tomorrow.",
    "They ran our integration planning in six weeks without losing a single key customer.",
    "I have worked with the big firms. Northwind gave us senior attention on every call.",
]

# Neutral notes along a project, in the order they happen.
CONSULTING_PROJECT_NOTES = {
    "kickoff": [
        "Kick-off with the leadership team; agreed scope, timeline and success measures.",
        "Kick-off meeting. Interviews with the department heads scheduled.",
    ],
    "progress": [
        "Steering committee: reviewed interim findings and next steps.",
        "Weekly check-in call; data request mostly complete.",
        "Workshop with the management team on the long list of options.",
        "Call to go through the draft recommendations.",
        "Interim report sent to the directors.",
    ],
    "closeout": [
        "Close-out meeting: handed over the final report and implementation roadmap.",
        "Final presentation to the board; agreed a three-month check-in.",
    ],
    "pipeline": [
        "Discovery call about their growth plans.",
        "First meeting; they are also seeing two other firms.",
        "Proposal sent with the team's CVs.",
        "Follow-up call on scope and fees.",
    ],
    "lost": [
        "They chose another firm; budget moved to next year.",
        "Decided to run the project in-house for now.",
    ],
    "won": [
        "Proposal accepted; kick-off booked for next week.",
    ],
    "partner": [
        "Quarterly catch-up over lunch; swapped notes on our clients' plans.",
        "Coffee to compare notes on the mid-market deal flow.",
    ],
    "retainer": [
        "Monthly advisory session with the leadership team.",
        "Quarterly review of the retainer priorities.",
    ],
}

CONSULTING_DEALS = [
    "Pricing strategy review",
    "Operating model redesign",
    "Market entry study",
    "Post-merger integration planning",
    "Cost reduction programme",
    "Sales process redesign",
    "Supply chain diagnostic",
    "Board strategy offsite",
    "Growth strategy refresh",
    "Finance function review",
    "Customer retention programme",
    "ERP vendor selection",
]


def _say(template: str, female: bool, **extra) -> str:
    return template.format(**PRONOUNS[female], **extra)


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _at(workspace, day: dt.date) -> dt.datetime:
    """A plausible moment on that day, never in the future."""
    moment = dt.datetime.combine(day, dt.time(9, 30), tzinfo=workspace.tzinfo)
    return min(moment, timezone.now())


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# -- the building blocks shared by both workspaces ------------------------------


class _Builder:
    """Collects one workspace's facts, then writes them through the app's actions."""

    def __init__(self, workspace, owner, staff, seed: int, locale: str):
        self.workspace = workspace
        self.owner = owner
        self.staff = staff
        self.team = [owner, *staff]
        self.rng = random.Random(seed)
        self.fake = Faker(locale)
        self.fake.seed_instance(seed)
        self.today = workspace.today()
        self.activities: list[Activity] = []
        self.purchases: list[PurchaseRow] = []
        self.tags: dict[str, list[int]] = defaultdict(list)
        self.serial = 0

    def ago(self, days: int) -> dt.date:
        return self.today - dt.timedelta(days=days)

    def days_ago(self, day: dt.date) -> int:
        return (self.today - day).days

    def pick_owner(self, weights: list[int]):
        return self.rng.choices(self.team, weights=weights)[0]

    def contact(self, prefix: str, *, first: str, last: str, created: dt.date, **fields):
        self.serial += 1
        return create_contact(
            self.workspace,
            external_id=f"{prefix}-{self.serial:04d}",
            first_name=first,
            last_name=last,
            created_at=_at(self.workspace, created),
            **fields,
        )

    def note(self, contact, day: dt.date, text: str, *, kind="note", direction="in", **extra):
        """A staff note, read for moments like any other."""
        self.activities.append(
            build_activity(
                self.workspace,
                contact.pk,
                occurred_on=day,
                kind=kind,
                direction=direction,
                text=text,
                created_by_id=contact.owner_id,
                created_at=_at(self.workspace, day),
                **extra,
            )
        )

    def write_activities(self) -> None:
        Activity.objects.bulk_create(self.activities, batch_size=1000)
        ids = {activity.contact_id for activity in self.activities}
        promote(self.workspace, ids)
        facts_changed(self.workspace, ids)

    def write_tags(self) -> None:
        tags = Tag.objects.bulk_create(
            [Tag(workspace=self.workspace, name=name) for name in sorted(self.tags)]
        )
        through = Contact.tags.through
        through.objects.bulk_create(
            [
                through(contact_id=pk, tag_id=tag.pk)
                for tag in tags
                for pk in sorted(set(self.tags[tag.name]))
            ]
        )

    def date_the_history(self) -> None:
        """Put ladder steps and consents on the days they happened.

        The write functions stamp them with the time of writing; for a history built in
        one go that would make every patient climb the ladder today.
        """
        ws = self.workspace
        created = dict(Contact.objects.filter(workspace=ws).values_list("pk", "created_at"))
        days: dict[int, list[dt.date]] = defaultdict(list)
        for pk, day in Purchase.objects.filter(workspace=ws).values_list("contact_id", "date"):
            days[pk].append(day)
        deals: dict[int, list[dt.date]] = defaultdict(list)
        for pk, day in Deal.objects.filter(workspace=ws, won_on__isnull=False).values_list(
            "contact_id", "won_on"
        ):
            deals[pk].append(day)
        referrals: dict[int, list[tuple[dt.date, bool]]] = defaultdict(list)
        for pk, day, unsolicited in Referral.objects.filter(workspace=ws).values_list(
            "referrer_id", "date", "unsolicited"
        ):
            referrals[pk].append((day, unsolicited))
        testimonials: dict[int, list[dt.date]] = defaultdict(list)
        for pk, day in Testimonial.objects.filter(workspace=ws).values_list(
            "contact_id", "received_on"
        ):
            testimonials[pk].append(day)

        def nth(values, n):
            values = sorted(values)
            return values[n - 1] if len(values) >= n else None

        when = {
            Reason.FIRST_PURCHASE: lambda pk: nth(days[pk], 1),
            Reason.REPEAT_PURCHASE: lambda pk: nth(days[pk], 2),
            Reason.FIRST_DEAL: lambda pk: nth(deals[pk], 1),
            Reason.SECOND_DEAL: lambda pk: nth(deals[pk], 2),
            Reason.REFERRAL_GIVEN: lambda pk: nth([d for d, _ in referrals[pk]], 1),
            Reason.SECOND_REFERRAL: lambda pk: nth([d for d, _ in referrals[pk]], 2),
            Reason.UNSOLICITED_REFERRAL: lambda pk: nth([d for d, u in referrals[pk] if u], 1),
            Reason.TESTIMONIAL_GIVEN: lambda pk: nth(testimonials[pk], 1),
        }
        changes = list(StageChange.objects.filter(workspace=ws))
        for change in changes:
            day = when[change.reason](change.contact_id) if change.reason in when else None
            change.changed_at = _at(ws, day) if day else created[change.contact_id]
        StageChange.objects.bulk_update(changes, ["changed_at"], batch_size=1000)
        consents = list(ConsentRecord.objects.filter(workspace=ws))
        for consent in consents:
            consent.recorded_at = created[consent.contact_id]
        ConsentRecord.objects.bulk_update(consents, ["recorded_at"], batch_size=1000)


def _summary(workspace, started: float) -> Summary:
    ws = workspace
    agenda = Counter(AgendaItem.objects.filter(workspace=ws).values_list("action", flat=True))
    order = list(engine.BASE_PRIORITY)
    return Summary(
        slug=ws.slug,
        name=ws.name,
        contacts=Contact.objects.filter(workspace=ws).count(),
        organizations=Organization.objects.filter(workspace=ws).count(),
        purchases=Purchase.objects.filter(workspace=ws).count(),
        activities=Activity.objects.filter(workspace=ws).count(),
        deals=Deal.objects.filter(workspace=ws).count(),
        referrals=Referral.objects.filter(workspace=ws).count(),
        testimonials=Testimonial.objects.filter(workspace=ws).count(),
        open_issues=Issue.objects.filter(workspace=ws).blocking().count(),
        resolved_issues=Issue.objects.filter(workspace=ws)
        .exclude(status__in=Issue.BLOCKING_STATUSES)
        .count(),
        permissions=Permission.objects.filter(workspace=ws).count(),
        agenda={action: agenda[action] for action in order if agenda[action]},
        seconds=time.perf_counter() - started,
    )


# -- the dental practice ----------------------------------------------------------

DENTAL_STAFF = [
    ("priya@smile-dental.rapport.local", "Priya", "Shah", Role.OWNER),
    ("tom@smile-dental.rapport.local", "Tom", "Baker", Role.MEMBER),
    ("jess@smile-dental.rapport.local", "Jess", "Okafor", Role.MEMBER),
]
# Who looks after a household: the demo owner, the other dentist, the hygienist and the
# practice manager, in these shares.
DENTAL_OWNER_WEIGHTS = [38, 32, 20, 10]

# Share of patients by what their history looks like. A third or more drift away: more
# than half of dental patients never come back unprompted.
DENTAL_COHORTS = {"regular": 0.55, "lapsed": 0.27, "one_time": 0.12, "new": 0.06}

ROUTINE_VISITS = [("Check-up and hygiene", 95, 6), ("Check-up", 55, 3), ("Check-up, X-rays", 85, 1)]
CHILD_VISIT = "Child check-up"


@dataclass
class _Patient:
    first: str
    last: str
    female: bool
    cohort: str  # regular, lapsed, one_time, new, prospect
    owner: object
    household: int
    family: bool = False
    child: bool = False
    last_ago: int = 0  # days since the last routine visit
    joined_ago: int = 0  # days since the first visit
    cadence: int = 183
    story: str = ""
    relationship: int | None = None
    email_ok: bool = False
    sms_ok: bool = False
    tags: list[str] = field(default_factory=list)
    checkups: list[dt.date] = field(default_factory=list)
    visits: list[tuple[dt.date, str, int | None]] = field(default_factory=list)
    extra_visits: list[tuple[dt.date, str, int | None]] = field(default_factory=list)
    referred_by: "_Patient | None" = None
    contact: Contact | None = None

    def say(self, template: str, **extra) -> str:
        return _say(template, self.female, **extra)


class _Dental(_Builder):
    def __init__(self, workspace, owner, staff, seed: int, patients: int):
        super().__init__(workspace, owner, staff, seed, "en_GB")
        self.size = patients
        self.people: list[_Patient] = []
        self.households: dict[int, list[_Patient]] = defaultdict(list)
        self.praise = list(DENTAL_PRAISE)
        self.rng.shuffle(self.praise)
        self.stories: list[tuple] = []

    # -- who the patients are ------------------------------------------------------

    def build(self) -> None:
        self.plan_population()
        self.cast_stories()
        for household in self.households.values():
            self.plan_checkups(household)
        for person in self.people:
            self.plan_visits(person)
        self.write_contacts()
        record_purchases(
            self.workspace,
            [
                PurchaseRow(p.contact.pk, day, None if amount is None else _money(amount), what)
                for p in self.people
                for day, what, amount in p.visits
            ],
        )
        self.visit_notes()
        self.newsletters()
        self.write_activities()
        self.write_tags()
        self.tell_stories()
        self.date_the_history()

    def plan_population(self) -> None:
        n = self.size
        quotas = {cohort: round(n * share) for cohort, share in DENTAL_COHORTS.items()}
        quotas["new"] = max(quotas["new"], 6)
        quotas["regular"] = n - sum(v for k, v in quotas.items() if k != "regular")
        household = 0
        while any(quotas.values()):
            cohorts = [c for c, left in quotas.items() if left > 0]
            cohort = self.rng.choices(cohorts, weights=[quotas[c] for c in cohorts])[0]
            limit = {"one_time": 1, "new": 2}.get(cohort, 5)
            size = self.rng.choices([1, 2, 3, 4, 5], weights=[62, 14, 13, 8, 3])[0]
            size = min(size, limit, quotas[cohort])
            quotas[cohort] -= size
            household += 1
            self.plan_household(household, cohort, size)

    def plan_household(self, household: int, cohort: str, size: int) -> None:
        rng, fake = self.rng, self.fake
        last = fake.last_name()
        owner = self.pick_owner(DENTAL_OWNER_WEIGHTS)
        lead_female = rng.random() < 0.55
        for k in range(size):
            # Two adults (a couple, or a parent and an older child), then children.
            female = lead_female if k == 0 else (not lead_female if k == 1 else rng.random() < 0.5)
            child = k >= 2 or (k == 1 and rng.random() < 0.3)
            first = fake.first_name_female() if female else fake.first_name_male()
            person = _Patient(first, last, female, cohort, owner, household, size > 1, child)
            self.households[household].append(person)
            self.people.append(person)
        lead = self.households[household][0]
        if cohort == "regular":
            lead.last_ago = rng.randint(0, 212)
            lead.joined_ago = (
                HISTORY_DAYS
                if rng.random() < 0.7
                else min(HISTORY_DAYS, rng.randint(lead.last_ago + 200, HISTORY_DAYS))
            )
            lead.cadence = rng.choice([183] * 8 + [160, 200, 120, 120])
        elif cohort == "lapsed":
            lead.last_ago = rng.randint(244, 913)
            lead.joined_ago = (
                HISTORY_DAYS
                if rng.random() < 0.5
                else rng.randint(min(lead.last_ago + 150, HISTORY_DAYS), HISTORY_DAYS)
            )
            lead.cadence = rng.choice([183] * 6 + [160, 200, 240])
        elif cohort == "one_time":
            lead.last_ago = lead.joined_ago = rng.randint(250, HISTORY_DAYS - 10)
        else:
            lead.last_ago = lead.joined_ago = rng.randint(0, 56)
        for person in self.households[household]:
            person.last_ago, person.joined_ago = lead.last_ago, lead.joined_ago
            person.cadence = lead.cadence
            self.describe(person)

    def describe(self, p: _Patient) -> None:
        rng = self.rng
        rated = {"regular": 0.7, "lapsed": 0.45, "one_time": 0.2, "new": 0.5}.get(p.cohort, 0)
        scale = {
            "regular": [5, 6, 7, 7, 8, 8, 8, 9, 9, 10],
            "lapsed": [3, 4, 5, 5, 6, 6, 7],
            "one_time": [4, 5, 6, 7],
        }.get(p.cohort, [6, 7, 8, 8, 9])
        p.relationship = rng.choice(scale) if rng.random() < rated else None
        if p.child:
            p.relationship = None  # the practice rates its relationship with the parents
        else:
            p.email_ok = rng.random() < 0.82
            p.sms_ok = rng.random() < 0.55
        if p.family:
            p.tags.append("family")
        if p.child:
            p.tags.append("child")
        elif rng.random() < 0.06:
            p.tags.append("nervous patient")
        if p.cadence == 120:
            p.tags.append("hygiene plan")

    # -- the stories the agenda will tell today -----------------------------------

    def cast(self, story: str, relationship: int | None = None, cohort="regular") -> _Patient:
        """A long-standing adult patient, not yet in a story, to play one.

        Singles and couples first (a story moves their visits, and a family's follow the
        lead's); in a small demo, anyone of the cohort who has been coming a while.
        """
        free = [p for p in self.people if p.cohort == cohort and not p.story and not p.child]
        pool = [
            p
            for p in free
            if (cohort != "regular" or p.joined_ago >= 500)
            and len(self.households[p.household]) <= 2
        ] or [p for p in free if cohort != "regular" or p.joined_ago >= 250]
        if not pool:
            raise DemoError("Too few patients for the demo's stories; build a larger one.")
        person = self.rng.choice(pool)
        person.story = story
        if relationship is not None or cohort == "regular":
            person.relationship = relationship
        return person

    def newcomer(self, referrer: _Patient, visited_ago: int | None, known_ago: int) -> _Patient:
        """A friend a patient referred: been in `visited_ago` days ago, or not yet (None)."""
        female = self.rng.random() < 0.5
        first = self.fake.first_name_female() if female else self.fake.first_name_male()
        cohort = "prospect" if visited_ago is None else "new"
        household = len(self.households) + 1
        person = _Patient(first, self.fake.last_name(), female, cohort, referrer.owner, household)
        person.story, person.referred_by = "referred", referrer
        person.last_ago = person.joined_ago = known_ago if visited_ago is None else visited_ago
        person.email_ok = True
        self.households[household].append(person)
        self.people.append(person)
        return person

    def cast_stories(self) -> None:
        rng = self.rng
        # Praise this fortnight: most from patients the practice knows well (asks), one
        # from a patient nobody rated yet (earn it first), one who asked to wait.
        for offset, relationship in zip(
            [0, 1, 4, 5, 7, 10, 12], [9, 8, 10, None, 9, 7, 8], strict=True
        ):
            p = self.cast("praise", relationship)
            # Calls and emails come a few days after the visit; visit notes on the day.
            p.last_ago = offset + rng.randint(4, 9) if offset <= 2 else offset
            self.stories.append(("praise", p, offset))
        p = self.cast("praise_waiting", 9)
        p.last_ago = 6
        self.stories.append(("praise", p, 6))
        self.stories.append(("permission", p, -24, "both", Source.ASK_ME_LATER, 30))

        # "You saved us": a Sunday emergency last week.
        sunday = (self.today.weekday() + 1) % 7
        sunday += 7 if sunday < 4 else 0
        p = self.cast("saved", 9)
        p.last_ago = rng.randint(60, 150)
        p.extra_visits.append((self.ago(sunday), "Emergency appointment (Sunday)", 120))
        self.stories.append(("saved", p, sunday, DENTAL_SAVED_US[0]))

        # Referrals this fortnight: thank the referrer, ask for the other names.
        for offset, relationship, visited in ((2, 9, None), (6, 8, 2), (11, 9, 5)):
            referrer = self.cast("referrer", relationship)
            friend = self.newcomer(referrer, visited, offset)
            self.stories.append(("referral", referrer, friend, offset))

        # Unsolicited testimonials this fortnight.
        for offset, relationship, publish in ((3, 9, True), (9, 8, False)):
            p = self.cast("testimonial", relationship)
            self.stories.append(("testimonial", p, offset, publish))

        # Complaints: three still open (recover), two only in a note so far (the agenda
        # proposes opening an issue), several put right.
        billing, waiting, crown, estimate, rushed, sore, rude = DENTAL_COMPLAINTS
        p = self.cast("issue", 7)
        self.stories.append(("issue", p, 4, billing, "call", None))
        p = self.cast("issue", 6)
        self.stories.append(("issue", p, 12, waiting, "visit", None))
        p = self.cast("issue", 8)
        p.last_ago = rng.randint(150, 175)
        p.extra_visits += [
            (self.ago(50), "Crown preparation", 450),
            (self.ago(35), "Crown fitted", 395),
        ]
        self.stories.append(("issue", p, 26, crown, "call", None))
        p = self.cast("complaint", 6)
        p.last_ago = 1
        self.stories.append(("complaint", p, 1, rushed, "visit"))
        p = self.cast("complaint", None)
        p.last_ago = rng.randint(40, 80)
        p.extra_visits.append((self.ago(16), "Filling", 165))
        self.stories.append(("complaint", p, 9, sore, "call"))
        p = self.cast("resolved", 7)
        p.extra_visits += [(self.ago(40), "Crown fitted", 395)]
        self.stories.append(("issue", p, 20, estimate, "call", 6))
        for offset, complaint in ((400, rude), (700, waiting), (250, billing)):
            p = self.cast("resolved", rng.choice([6, 7, 8]))
            self.stories.append(("issue", p, offset, complaint, "call", offset - 9))

        # Permissions ("ask me after …"): one due today, one left two days ago, a few due
        # in the coming days, more further out.
        for ask_after, kind, source in (
            (0, "both", Source.ASK_ME_LATER),
            (-2, "referral", Source.UPFRONT_CONTRACT),
            (1, "testimonial", Source.ASK_ME_LATER),
            (3, "both", Source.UPFRONT_CONTRACT),
            (6, "referral", Source.ASK_ME_LATER),
            (10, "both", Source.UPFRONT_CONTRACT),
            (45, "both", Source.ASK_ME_LATER),
            (80, "referral", Source.UPFRONT_CONTRACT),
            (130, "both", Source.UPFRONT_CONTRACT),
        ):
            p = self.cast("permission", rng.choice([7, 8, 8, 9]))
            granted = rng.randint(60, 120) if ask_after <= 10 else rng.randint(10, 60)
            self.stories.append(("permission", p, -ask_after, kind, source, granted))

        # Why some of the lapsed stopped coming, said at their last visit.
        for template in DENTAL_LAPSE_COMPLAINTS:
            p = self.cast("lapse_complaint", rng.choice([None, 3, 4]), cohort="lapsed")
            self.stories.append(("lapse_complaint", p, template))

    # -- visits -------------------------------------------------------------------

    def plan_checkups(self, household: list[_Patient]) -> None:
        rng = self.rng
        lead = household[0]
        if lead.cohort in ("regular", "lapsed"):
            days, ago = [], lead.last_ago
            while ago <= lead.joined_ago:
                days.append(self.ago(ago))
                ago += lead.cadence + rng.randint(-21, 35)
        elif lead.cohort in ("one_time", "new"):
            days = [self.ago(lead.last_ago)]
        else:
            days = []
        lead.checkups = sorted(days)
        for member in household[1:]:
            # Families book together, mostly on the same day.
            moved = []
            for k, day in enumerate(lead.checkups):
                if k < len(lead.checkups) - 1 and rng.random() < 0.08:
                    continue
                if rng.random() < 0.35:
                    day = min(self.today, day + dt.timedelta(days=rng.randint(-12, 12)))
                moved.append(day)
            member.checkups = sorted(moved)

    def plan_visits(self, p: _Patient) -> None:
        rng = self.rng
        visits = []
        if p.cohort in ("one_time", "new"):
            first = p.checkups[0]
            if p.cohort == "one_time" and rng.random() < 0.45:
                visits.append((first, "Emergency appointment", 95))
            else:
                visits.append((first, "New patient examination", 85))
            follow = first + dt.timedelta(days=rng.randint(7, 21))
            if not p.story and rng.random() < 0.45 and follow <= self.today:
                visits.append(
                    rng.choice([(follow, "Hygiene appointment", 70), (follow, "Filling", 165)])
                )
        else:
            what, price, _ = rng.choices(ROUTINE_VISITS, weights=[w for *_, w in ROUTINE_VISITS])[0]
            for k, day in enumerate(p.checkups):
                if p.child:
                    visits.append((day, CHILD_VISIT, None))
                    continue
                if p.cadence == 120 and k % 2:
                    visits.append((day, "Hygiene appointment", 70))
                else:
                    visits.append((day, what, price))
                following = p.checkups[k + 1] if k + 1 < len(p.checkups) else self.today
                if p.story and k == len(p.checkups) - 1:
                    continue  # a story fixes the day of the last visit
                visits += self.treatments(day, following)
            if p.checkups and not p.child and rng.random() < 0.05:
                day = rng.choice(p.checkups) + dt.timedelta(days=14)
                if day < self.ago(30):
                    visits.append((day, "Home whitening", 350))
                    p.tags.append("cosmetic")
            if len(p.checkups) >= 3 and not p.child and rng.random() < 0.1:
                a, b = sorted(rng.sample(p.checkups[:-1], 1) + [p.checkups[-1]])[:2]
                gap = (b - a).days
                if gap > 20:
                    visits.append(
                        (
                            a + dt.timedelta(days=rng.randint(5, gap - 5)),
                            "Emergency appointment",
                            95,
                        )
                    )
        p.visits = sorted(visits + p.extra_visits)

    def treatments(self, day: dt.date, before: dt.date) -> list[tuple]:
        """What a check-up may lead to, booked a week or three later."""
        rng = self.rng
        later = day + dt.timedelta(days=rng.randint(7, 24))
        if later >= before or later > self.today:
            return []
        roll = rng.random()
        if roll < 0.11:
            return [(later, "Filling", rng.choice([125, 145, 165, 190]))]
        if roll < 0.135:
            fitted = later + dt.timedelta(days=rng.randint(14, 21))
            if fitted >= before or fitted > self.today:
                return []
            return [(later, "Crown preparation", 450), (fitted, "Crown fitted", 395)]
        if roll < 0.15:
            return [(later, "Root canal treatment", rng.choice([560, 640, 720]))]
        if roll < 0.16:
            return [(later, "Extraction", 150)]
        return []

    # -- writing ------------------------------------------------------------------

    def write_contacts(self) -> None:
        phone = 0
        for p in self.people:
            first_day = p.visits[0][0] if p.visits else self.ago(p.joined_ago)
            email = phone_number = ""
            if not p.child:
                email = f"{_ascii(p.first)}.{_ascii(p.last)}{self.rng.randint(1, 99)}@example.com"
                phone_number = f"07700 900{phone % 1000:03d}"
                phone += 1
            last_seen = p.visits[-1][0] if p.visits else self.today
            source = "walk-in" if p.cohort == "one_time" else ""
            if p.referred_by:
                source = f"referred by {p.referred_by.first} {p.referred_by.last}"
            p.contact = self.contact(
                "P",
                first=p.first,
                last=p.last,
                created=first_day,
                email=email,
                phone=phone_number,
                email_ok=p.email_ok,
                sms_ok=p.sms_ok,
                owner=p.owner,
                relationship=p.relationship,
                relationship_on=last_seen if p.relationship else None,
                source=source,
                referred_by=p.referred_by.contact if p.referred_by else None,
            )
            for tag in p.tags:
                self.tags[tag].append(p.contact.pk)

    def visit_notes(self) -> None:
        """Clinical notes on a share of visits; praise on a few of the older ones."""
        rng = self.rng
        older = self.ago(20)
        for p in self.people:
            if p.story in ("praise", "praise_waiting", "saved", "complaint", "issue"):
                skip_after = self.ago(30)
            else:
                skip_after = self.today + dt.timedelta(days=1)
            for day, what, _ in p.visits:
                if day >= skip_after:
                    continue
                if p.child:
                    if rng.random() < 0.25:
                        self.note(p.contact, day, rng.choice(DENTAL_CHILD_NOTES), kind="visit")
                    continue
                if day < older and rng.random() < 0.035:
                    text = p.say(rng.choice(self.praise))
                elif what in DENTAL_TREATMENT_NOTES:
                    if rng.random() > 0.55:
                        continue
                    text = DENTAL_TREATMENT_NOTES[what]
                elif rng.random() < 0.3:
                    text = p.say(rng.choice(DENTAL_ROUTINE_NOTES))
                else:
                    continue
                self.note(p.contact, day, text, kind="visit")
            if p.cohort == "lapsed" and p.visits and rng.random() < 0.6:
                day = p.visits[-1][0] + dt.timedelta(days=rng.randint(190, 230))
                if day <= self.today:
                    channel, template = rng.choice(DENTAL_REMINDERS)
                    self.note(p.contact, day, p.say(template), kind=channel, direction="out")
        # A few old "you saved us" moments, long gone from the agenda but in the history.
        for template in DENTAL_SAVED_US[1:]:
            p = self.cast("old_saved", rng.choice([8, 9, 10]))
            day = self.ago(rng.randint(120, 900))
            self.note(p.contact, day, p.say(template), kind="visit")

    def newsletters(self) -> None:
        """The practice's quarterly email: the touch plan of most patients."""
        for k, topic in enumerate(NEWSLETTER_TOPICS):
            sent = self.ago(25 + 91 * k)
            for p in self.people:
                if not (p.email_ok and p.visits) or p.visits[0][0] > sent:
                    continue
                if (sent - p.visits[-1][0]).days > 730:
                    continue
                self.activities.append(
                    build_activity(
                        self.workspace,
                        p.contact.pk,
                        read_text=False,
                        occurred_on=sent,
                        kind="email",
                        direction="out",
                        text=topic,
                        created_at=_at(self.workspace, sent),
                    )
                )

    def tell_stories(self) -> None:
        rng = self.rng
        praise = iter(self.praise)
        for story in self.stories:
            kind, p = story[0], story[1]
            contact = p.contact
            if kind == "praise":
                offset = story[2]
                day = self.ago(offset)
                channel = "visit" if offset > 2 else rng.choice(["call", "email"])
                log_activity(contact, occurred_on=day, kind=channel, text=p.say(next(praise)))
            elif kind == "saved":
                _, _, offset, template = story
                log_activity(
                    contact, occurred_on=self.ago(offset), kind="visit", text=p.say(template)
                )
            elif kind == "referral":
                _, _, friend, offset = story
                day = self.ago(offset)
                how = Referral.How.NAMES_GIVEN if offset < 5 else Referral.How.INTRO
                sibling = "sister" if friend.female else "brother"
                relation = rng.choice([sibling, "colleague", "neighbour", "friend from work"])
                record_referral(
                    contact,
                    friend.contact,
                    on=day,
                    how=how,
                    status=Referral.Status.NEW
                    if friend.cohort == "prospect"
                    else Referral.Status.WON,
                    note=f"{p.first}'s {relation}.",
                )
            elif kind == "testimonial":
                _, _, offset, publish = story
                record_testimonial(
                    contact,
                    rng.choice(DENTAL_TESTIMONIALS[:4]),
                    on=self.ago(offset),
                    rating=5,
                    unsolicited=True,
                    consent_publish=publish,
                    display_name=f"{p.first} {p.last[0]}." if publish else "",
                )
            elif kind in ("issue", "complaint"):
                offset, (template, summary), channel = story[2], story[3], story[4]
                day = self.ago(offset)
                note = log_activity(contact, occurred_on=day, kind=channel, text=p.say(template))
                if kind == "issue":
                    issue = open_issue(
                        contact, summary, opened_on=day, by=p.owner, source_activity=note
                    )
                    if story[5] is not None:
                        resolve_issue(
                            issue,
                            on=self.ago(story[5]),
                            resolution="Apologised, put it right and confirmed with the patient.",
                        )
            elif kind == "permission":
                _, _, ask_after_ago, what, source, granted = story
                ask_after = self.ago(ask_after_ago)
                notes = {
                    Source.ASK_ME_LATER: p.say(
                        "Asked us to come back to {him} once the treatment has settled."
                    ),
                    Source.UPFRONT_CONTRACT: "Agreed at the start: ask once we've earned it.",
                }
                record_permission(
                    contact,
                    kind=what,
                    ask_after=ask_after,
                    granted_on=min(self.today, ask_after - dt.timedelta(days=granted)),
                    source=source,
                    note=notes[source],
                    by=p.owner,
                )
            elif kind == "lapse_complaint":
                template = story[2]
                log_activity(
                    contact, occurred_on=p.visits[-1][0], kind="visit", text=p.say(template)
                )
        self.old_referrals()
        self.old_testimonials()
        self.upfront_contracts()

    def old_referrals(self) -> None:
        """Referrals over the years: the advocates and raving fans of the practice."""
        rng = self.rng
        referred = [
            p
            for p in self.people
            if p.cohort in ("regular", "lapsed")
            and not p.story
            and not p.child
            and p.visits
            and self.days_ago(p.visits[0][0]) < HISTORY_DAYS - 60
            and self.days_ago(p.visits[0][0]) > 60
        ]
        rng.shuffle(referred)
        referrers = [
            p
            for p in self.people
            if p.cohort == "regular" and not p.story and not p.child and p.joined_ago >= 900
        ]
        rng.shuffle(referrers)
        count = max(4, self.size // 50)
        pairs = []
        for k, friend in enumerate(referred[:count]):
            # The first two referrers sent two people each: raving fans.
            referrer = referrers[k if k >= 4 else k // 2]
            pairs.append((referrer, friend))
        for k, (referrer, friend) in enumerate(pairs):
            day = friend.visits[0][0] - dt.timedelta(days=rng.randint(3, 20))
            referrer.story = referrer.story or "old_referrer"
            record_referral(
                referrer.contact,
                friend.contact,
                on=day,
                how=rng.choice([Referral.How.NAMES_GIVEN, Referral.How.INTRO]),
                status=Referral.Status.WON,
                unsolicited=k == 4,
            )
            log_activity(
                referrer.contact,
                read_text=False,
                occurred_on=day + dt.timedelta(days=rng.randint(1, 3)),
                kind="card",
                direction="out",
                text=f"Sent a handwritten thank-you card for recommending us to {friend.first}.",
            )

    def old_testimonials(self) -> None:
        rng = self.rng
        writers = [
            p
            for p in self.people
            if p.cohort == "regular" and not p.child and p.story in ("", "old_referrer")
        ]
        for text in DENTAL_TESTIMONIALS[4:]:
            p = rng.choice(writers)
            writers.remove(p)
            record_testimonial(
                p.contact,
                text,
                on=self.ago(rng.randint(60, 900)),
                rating=rng.choice([5, 5, 5, 4]),
                status=Testimonial.Status.APPROVED,
                unsolicited=rng.random() < 0.4,
                consent_publish=True,
                consent_reference=rng.random() < 0.5,
                display_name=f"{p.first} {p.last[0]}.",
            )

    def upfront_contracts(self) -> None:
        """Some new patients agreed the upfront contract at their first visit."""
        for p in self.people:
            if p.cohort != "new" or p.story or not p.visits or self.rng.random() > 0.55:
                continue
            first = p.visits[0][0]
            record_permission(
                p.contact,
                kind="both",
                ask_after=first + dt.timedelta(days=90),
                granted_on=first,
                source=Source.UPFRONT_CONTRACT,
                note="Agreed at the first visit: ask once we've earned it.",
                by=p.owner,
            )


def build_dental(*, patients: int = 500, seed: int = 1183) -> Summary:
    """Create or refresh the dental practice demo (about `patients` patients)."""
    started = time.perf_counter()
    with transaction.atomic():
        owner = demo_user()
        workspace = _fresh_workspace(
            DENTAL_SLUG,
            owner,
            "Smile Dental Studio",
            "Europe/London",
            recall_interval_days=183,
            postal_address="Smile Dental Studio, 14 Orchard Row, Kingsbridge KB1 4DS",
            brand_colour="#1f6f8b",
        )
        staff = _staff(workspace, DENTAL_STAFF)
        # One change for the whole build: the facts' agenda refreshes are gathered and run
        # once as it ends. The explicit rebuild after it (35 ms at full size) makes the
        # stored agenda today's whatever that mechanism does.
        with changing():
            _Dental(workspace, owner, staff, seed, patients).build()
            _referral_story(workspace, staff[0], DENTAL_PROGRAM, seed)
        store.refresh(workspace)
        showcase(workspace, kind="dental", seed=seed)
    return _summary(workspace, started)


# -- the consulting firm --------------------------------------------------------

CONSULTING_STAFF = [
    ("elena@northwind.rapport.local", "Elena", "Park", Role.OWNER),
    ("marcus@northwind.rapport.local", "Marcus", "Reid", Role.MEMBER),
]
CONSULTING_OWNER_WEIGHTS = [45, 35, 20]

# (kind of relationship, organizations, contacts each before extra colleagues)
CONSULTING_ORGS = [
    ("retainer", 7, 2),
    ("completed", 10, 2),
    ("active", 6, 2),
    ("pipeline", 7, 1),
    ("lost", 3, 1),
    ("lapsed", 1, 2),
    ("new_win", 1, 1),
    ("partner", 5, 1),
]
LEAD_TITLES = ["Chief Executive", "Chief Operating Officer", "Chief Financial Officer", "Founder"]
COLLEAGUE_TITLES = [
    "Head of Finance",
    "VP Operations",
    "Strategy Director",
    "HR Director",
    "Chief Revenue Officer",
    "Head of Transformation",
]
PARTNER_FIRMS = [
    ("{a} & {b} LLP", "Corporate lawyer"),
    ("{a} {b} CPAs", "Audit partner"),
    ("{a} Bank & Trust", "Commercial banker"),
    ("{a} Capital Partners", "Private equity partner"),
    ("{a} Executive Search", "Executive recruiter"),
]


@dataclass
class _Org:
    kind: str
    name: str
    owner: object
    since: dt.date  # when the relationship began: first call, first introduction
    size: int
    people: list = field(default_factory=list)  # contacts, the lead first
    deals: list = field(default_factory=list)

    @property
    def lead(self) -> Contact:
        return self.people[0]


class _Consulting(_Builder):
    def __init__(self, workspace, owner, staff, seed: int, clients: int):
        super().__init__(workspace, owner, staff, seed, "en_US")
        self.size = clients
        self.orgs: dict[str, list[_Org]] = defaultdict(list)
        self.female: dict[int, bool] = {}
        self.phone = 0
        self.titles = list(CONSULTING_DEALS)
        self.rng.shuffle(self.titles)

    def build(self) -> None:
        self.plan_organizations()
        self.write_people()
        self.projects()
        self.retainers()
        record_purchases(self.workspace, self.purchases)
        self.stories()
        self.write_activities()
        self.write_tags()
        self.date_the_history()

    # -- who the clients are ------------------------------------------------------

    def plan_organizations(self) -> None:
        rng, fake = self.rng, self.fake
        # Days since each kind of relationship began; the first organizations of some
        # kinds play a story below and get a fixed start.
        since = {
            "retainer": lambda k: rng.randint(620, 1060),
            # The first three finished a project this fortnight; the last three wrote
            # testimonials long ago.
            "completed": lambda k: (
                (650, 200, 190)[k] if k < 3 else rng.randint(150 if k < 7 else 400, 1060)
            ),
            "active": lambda k: 120 if k == 0 else 50 if k == 4 else rng.randint(60, 190),
            "pipeline": lambda k: (6, 10)[k] if k < 2 else rng.randint(5, 70),
            "lost": lambda k: rng.randint(120, 600),
            "lapsed": lambda k: 840,
            "new_win": lambda k: 30,
            "partner": lambda k: rng.randint(700, HISTORY_DAYS),
        }
        names = set()
        for kind, count, size in CONSULTING_ORGS:
            for k in range(count):
                if kind == "partner":
                    template, _ = PARTNER_FIRMS[k % len(PARTNER_FIRMS)]
                    name = template.format(a=fake.last_name(), b=fake.last_name())
                else:
                    name = fake.company()
                while name in names:
                    name += " Group" if kind != "partner" else " II"
                names.add(name)
                owner = self.pick_owner(CONSULTING_OWNER_WEIGHTS)
                self.orgs[kind].append(_Org(kind, name, owner, self.ago(since[kind](k)), size))
        growing = [o for k in ("retainer", "completed", "active", "pipeline") for o in self.orgs[k]]
        planned = sum(org.size for orgs in self.orgs.values() for org in orgs)
        for _ in range(max(0, self.size - planned)):
            rng.choice(growing).size += 1

    def person(self, org: _Org, organization, title: str, *, lead: bool):
        rng, fake = self.rng, self.fake
        female = rng.random() < 0.5
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        rated, scale = {
            "partner": (1.0, [7, 8, 8, 9]),
            "pipeline": (0.3, [5, 6, 7]),
            "lost": (0.3, [4, 5, 6]),
        }.get(org.kind, (0.8, [6, 7, 7, 8, 8, 8, 9, 9, 10]) if lead else (0.4, [5, 6, 7, 8]))
        relationship = rng.choice(scale) if rng.random() < rated else None
        # Colleagues at a client are part of the client; prospects and partners are not.
        client = org.kind not in ("pipeline", "lost", "partner")
        self.phone += 1
        contact = self.contact(
            "N",
            first=first,
            last=last,
            created=org.since,
            email=f"{_ascii(first)}.{_ascii(last)}@{_ascii(org.name)[:20]}.example.com",
            phone=f"+1 617 555 01{self.phone % 100:02d}",
            organization=organization,
            email_ok=rng.random() < 0.9,
            owner=org.owner,
            relationship=relationship,
            relationship_on=self.ago(rng.randint(5, 120)) if relationship else None,
            stage=Stage.CUSTOMER if client and not lead else Stage.PROSPECT,
            notes=title,
        )
        self.female[contact.pk] = female
        return contact

    def write_people(self) -> None:
        rng = self.rng
        for kind, _, _ in CONSULTING_ORGS:
            for k, org in enumerate(self.orgs[kind]):
                organization = Organization.objects.create(
                    workspace=self.workspace,
                    name=org.name,
                    created_at=_at(self.workspace, org.since),
                )
                if kind == "partner":
                    title = PARTNER_FIRMS[k % len(PARTNER_FIRMS)][1]
                else:
                    title = rng.choice(LEAD_TITLES)
                org.people.append(self.person(org, organization, title, lead=True))
                for _ in range(org.size - 1):
                    org.people.append(
                        self.person(org, organization, rng.choice(COLLEAGUE_TITLES), lead=False)
                    )
                if kind == "partner":
                    self.tags["partner"].append(org.lead.pk)
                elif kind in ("retainer", "lapsed"):
                    self.tags["key account"].append(org.lead.pk)

    def say(self, contact, template: str) -> str:
        return _say(template, self.female[contact.pk])

    # -- the work -----------------------------------------------------------------

    def deal(self, org: _Org, title: str, stage: str, *, created: dt.date, won=None, done=None):
        value = self.rng.choice([18, 24, 35, 48, 60, 75, 90, 120, 150, 240]) * 1000
        deal = save_deal(
            Deal(
                workspace=self.workspace,
                contact=org.lead,
                title=title,
                stage=stage,
                won_on=won,
                completed_on=done,
                value=_money(value),
                created_at=_at(self.workspace, created),
            )
        )
        org.deals.append(deal)
        return deal

    def title(self) -> str:
        """Project names in turn, so that neighbouring projects differ."""
        self.titles.append(self.titles.pop(0))
        return self.titles[-1]

    def project(self, org: _Org, *, won: dt.date, done: dt.date | None, title: str = "") -> None:
        """A won project, completed on `done` (None: still running), with its notes."""
        rng = self.rng
        notes = CONSULTING_PROJECT_NOTES
        title = title or self.title()
        created = max(org.since, won - dt.timedelta(days=rng.randint(20, 60)))
        stage = DealStage.COMPLETED if done else DealStage.WON
        self.deal(org, title, stage, created=created, won=won, done=done)
        self.note(org.lead, created, rng.choice(notes["pipeline"]), kind="call", direction="out")
        self.note(org.lead, won, rng.choice(notes["kickoff"]), kind="meeting", direction="out")
        end = done or self.ago(rng.randint(2, 12))
        steps = max(1, min(5, (end - won).days // 25))
        for k in range(1, steps + 1):
            day = won + dt.timedelta(days=(end - won).days * k // (steps + 1))
            who = rng.choice(org.people)
            self.note(who, day, rng.choice(notes["progress"]), kind="meeting", direction="out")
        if done:
            self.note(
                org.lead, done, rng.choice(notes["closeout"]), kind="meeting", direction="out"
            )

    def projects(self) -> None:
        rng = self.rng
        notes = CONSULTING_PROJECT_NOTES
        for k, org in enumerate(self.orgs["completed"]):
            if k == 0:  # a client who came back for a second project, just finished
                first = org.since + dt.timedelta(days=30)
                self.project(org, won=first, done=first + dt.timedelta(days=90))
            if k < 3:  # projects finished this fortnight: time to ask for a testimonial
                won = self.ago(self.days_ago(org.since) - 30) if k else self.ago(120)
                self.project(org, won=won, done=self.ago((2, 6, 11)[k]))
                continue
            won = org.since + dt.timedelta(days=rng.randint(20, 60))
            done = min(won + dt.timedelta(days=rng.randint(45, 150)), self.ago(20))
            self.project(org, won=won, done=done)
        for org in self.orgs["active"]:
            won = min(org.since + dt.timedelta(days=rng.randint(20, 40)), self.ago(20))
            self.project(org, won=won, done=None)
        for org in self.orgs["pipeline"]:
            stage = rng.choice([DealStage.LEAD, DealStage.MEETING, DealStage.PROPOSAL])
            self.deal(org, self.title(), stage, created=org.since)
            steps = {DealStage.LEAD: 1, DealStage.MEETING: 2, DealStage.PROPOSAL: 3}[stage]
            for k in range(steps):
                day = org.since + dt.timedelta(days=self.days_ago(org.since) * k // steps)
                self.note(org.lead, day, notes["pipeline"][k], kind="call", direction="out")
        for org in self.orgs["lost"]:
            self.deal(org, self.title(), DealStage.LOST, created=org.since)
            self.note(org.lead, org.since, notes["pipeline"][0], kind="call", direction="out")
            self.note(
                org.lead,
                org.since + dt.timedelta(days=rng.randint(20, 50)),
                rng.choice(notes["lost"]),
                kind="call",
            )
        for org in self.orgs["new_win"]:
            won = self.ago(1)
            self.deal(org, "Growth strategy refresh", DealStage.WON, created=org.since, won=won)
            self.note(org.lead, org.since, notes["pipeline"][0], kind="call", direction="out")
            self.note(org.lead, won, notes["won"][0], kind="call")
        for org in self.orgs["partner"]:
            day = self.ago(rng.randint(20, 80))
            while day > org.since:
                self.note(org.lead, day, rng.choice(notes["partner"]), kind="meeting")
                day -= dt.timedelta(days=rng.randint(80, 130))

    def monthly(self, contact, first: dt.date, last: dt.date, what: str, amount: int) -> None:
        """Invoices on the same day of every month from `first` to `last` (a day no later
        than the 28th, which every month has)."""
        day = first.replace(day=min(first.day, 28))
        while day <= last:
            self.purchases.append(PurchaseRow(contact.pk, day, _money(amount), what))
            day = _next_month(day)

    def retainers(self) -> None:
        """Advisory retainers billed monthly, and the client whose orders stopped."""
        rng = self.rng
        notes = CONSULTING_PROJECT_NOTES
        for org in self.orgs["retainer"]:
            won = org.since + dt.timedelta(days=rng.randint(20, 60))
            done = won + dt.timedelta(days=rng.randint(60, 120))
            self.project(org, won=won, done=done)
            start = done + dt.timedelta(days=rng.randint(10, 40))
            fee = rng.choice([4500, 6000, 7500, 9000, 12000])
            self.deal(org, "Advisory retainer", DealStage.WON, created=done, won=start)
            first = start.replace(day=rng.randint(1, 28))
            first = first if first >= start else _next_month(first)
            self.monthly(org.lead, first, self.today, "Monthly advisory retainer", fee)
            day = start
            while day <= self.today:
                self.note(
                    rng.choice(org.people), day, rng.choice(notes["retainer"]), kind="meeting"
                )
                day += dt.timedelta(days=rng.randint(45, 75))
        for org in self.orgs["lapsed"]:
            # Nearly two years of monthly training days, then nothing for five months.
            won = org.since + dt.timedelta(days=40)
            self.project(
                org, won=won, done=won + dt.timedelta(days=75), title="Sales process redesign"
            )
            first, last = self.ago(700), self.ago(140)
            self.monthly(org.lead, first, last, "Sales training day", 3200)
            day = first
            while day <= last:
                self.note(org.lead, day, "Monthly sales training day delivered.", kind="event")
                day += dt.timedelta(days=rng.randint(80, 100))

    # -- the stories the agenda will tell today -----------------------------------

    def stories(self) -> None:
        retainer, completed, active = (self.orgs[k] for k in ("retainer", "completed", "active"))
        # The testimonial asks: two clients the firm knows well, one it does not yet.
        for org, relationship in zip(completed[:3], (8, 9, 6), strict=True):
            self.set_relationship(org.lead, relationship)
        self.moments(retainer, completed, active)
        self.partners(retainer, completed, active)
        self.testimonials(completed)
        self.permissions(retainer, active)
        self.complaints(retainer, completed)

    def moments(self, retainer, completed, active) -> None:
        """Praise and "you saved us" this fortnight, and some long ago."""
        rng = self.rng
        for org, relationship, offset, kind, text in (
            (retainer[0], 9, 2, "meeting", CONSULTING_PRAISE[6]),
            (completed[3], 10, 7, "call", CONSULTING_PRAISE[8]),
            (active[2], 7, 4, "meeting", CONSULTING_PRAISE[0]),
            (retainer[1], 9, 8, "call", CONSULTING_SAVED_US[0]),
        ):
            self.set_relationship(org.lead, relationship)
            self.note(org.lead, self.ago(offset), self.say(org.lead, text), kind=kind)
        for org in completed[4:7] + retainer[4:6]:
            deal = org.deals[0]
            day = (deal.completed_on or self.ago(60)) - dt.timedelta(days=rng.randint(0, 10))
            text = rng.choice(CONSULTING_PRAISE[1:6] + CONSULTING_SAVED_US[1:])
            self.note(org.lead, day, self.say(org.lead, text), kind="meeting")

    def partners(self, retainer, completed, active) -> None:
        """Introductions partners made over the years, what the firm gave back, one
        partner's news, and this fortnight's referrals."""
        rng = self.rng
        partners, pipeline = self.orgs["partner"], self.orgs["pipeline"]
        referred = retainer[2:] + completed[3:] + active[:2]
        rng.shuffle(referred)
        for k, org in enumerate(referred[:9]):
            day = org.since - dt.timedelta(days=rng.randint(5, 30))
            record_referral(
                partners[k % 4].lead,
                org.lead,
                on=day,
                how=Referral.How.INTRO,
                status=Referral.Status.WON,
            )
        for org in partners[:3]:
            record_referral_given(
                org.lead,
                "Introduced one of our clients to them",
                on=self.ago(rng.randint(30, 300)),
                by=org.owner,
            )
        partner = partners[1].lead
        self.note(
            partner,
            self.ago(6),
            self.say(partner, CONSULTING_ASSOCIATIONS[0]),
            kind="call",
            signals=["partner_association"],
        )
        partner = partners[2].lead
        self.note(partner, self.ago(200), self.say(partner, CONSULTING_ASSOCIATIONS[1]))
        for referrer, org, how in (
            (partners[0].lead, pipeline[0], Referral.How.INTRO),
            (retainer[2].lead, pipeline[1], Referral.How.NAMES_GIVEN),
        ):
            day = org.since - dt.timedelta(days=1)
            record_referral(referrer, org.lead, on=day, how=how)
            Contact.objects.filter(pk=org.lead.pk).update(source=f"referred by {referrer.name}")

    def testimonials(self, completed) -> None:
        """A few published testimonials, and one that arrived unasked this week."""
        rng = self.rng
        for org, text in zip(completed[7:10], CONSULTING_TESTIMONIALS[1:4], strict=True):
            contact = org.lead
            record_testimonial(
                contact,
                text,
                on=org.deals[-1].completed_on + dt.timedelta(days=rng.randint(5, 30)),
                rating=5,
                status=Testimonial.Status.APPROVED,
                consent_publish=True,
                consent_reference=True,
                display_name=f"{contact.first_name} {contact.last_name}, {contact.notes}",
            )
        contact = completed[4].lead
        self.set_relationship(contact, 8)
        record_testimonial(
            contact,
            CONSULTING_TESTIMONIALS[0],
            on=self.ago(4),
            rating=5,
            unsolicited=True,
            consent_publish=True,
            display_name=f"{contact.first_name} {contact.last_name[0]}.",
        )

    def permissions(self, retainer, active) -> None:
        """Upfront contracts agreed at kick-off: one falls due today, others soon."""
        for org, ask_after in ((active[0], 0), (active[1], 4), (active[3], 60), (active[5], 75)):
            won = org.deals[0].won_on
            record_permission(
                org.lead,
                kind="both",
                ask_after=self.ago(-ask_after),
                granted_on=min(won, self.ago(30 - ask_after)),
                source=Source.UPFRONT_CONTRACT,
                note="Agreed at kick-off: ask once the first results are in.",
                by=org.owner,
            )
        record_permission(
            retainer[3].lead,
            kind="referral",
            ask_after=self.ago(3),
            granted_on=self.ago(40),
            source=Source.ASK_ME_LATER,
            note="Asked us to come back after their board meeting.",
            by=retainer[3].owner,
        )

    def complaints(self, retainer, completed) -> None:
        """An open issue (it holds back asks to the whole organization), a complaint
        still only in a note, and one put right long ago."""
        org = retainer[5]
        template, summary = CONSULTING_COMPLAINTS[0]
        note = log_activity(
            org.lead, occurred_on=self.ago(6), kind="email", text=self.say(org.lead, template)
        )
        open_issue(org.lead, summary, opened_on=self.ago(6), by=org.owner, source_activity=note)
        org = completed[5]
        template, _ = CONSULTING_COMPLAINTS[1]
        self.note(org.lead, self.ago(3), self.say(org.lead, template), kind="call")
        org = completed[6]
        template, summary = CONSULTING_COMPLAINTS[2]
        day = org.deals[-1].completed_on + dt.timedelta(days=5)
        note = log_activity(
            org.lead, occurred_on=day, kind="call", text=self.say(org.lead, template)
        )
        issue = open_issue(org.lead, summary, opened_on=day, by=org.owner, source_activity=note)
        resolve_issue(
            issue,
            on=day + dt.timedelta(days=12),
            resolution="Apologised and waived the last milestone fee; the client confirmed.",
        )

    def set_relationship(self, contact, value: int) -> None:
        contact.relationship, contact.relationship_on = value, self.ago(self.rng.randint(5, 40))
        contact.save(update_fields=["relationship", "relationship_on", "updated_at"])


# -- referrals carried to won (issue 7) -------------------------------------------

DENTAL_PROGRAM = {
    "profile": "healthcare",
    "currency": "GBP",
    "headline": "Welcome — a friend thought of you",
    "pitch": "Gentle, unhurried dentistry in the middle of Kingsbridge. New patients are seen "
    "within a week, and nervous patients are our speciality.",
    "rules": [
        # A nominal thank-you, whatever the friend decides: what the profile allows.
        {
            "name": "Thank-you flowers",
            "wording": "a bunch of flowers from the studio",
            "recipient": "referrer",
            "trigger": "arrival",
            "kind": "gift",
            "amount": Decimal("12"),
            "cap_count": 4,
            "cap_period": "year",
        },
        {
            "name": "Welcome offer",
            "wording": "15% off your first hygiene visit",
            "recipient": "friend",
            "trigger": "arrival",
            "kind": "percentage",
            "percent": 15,
            "valid_days": 90,
        },
    ],
}
CONSULTING_PROGRAM = {
    "profile": "general",
    "currency": "USD",
    "headline": "Introduced by someone who knows us",
    "pitch": "Northwind Advisory helps leadership teams fix operations that have outgrown "
    "them. A first conversation costs nothing.",
    "rules": [
        {
            "name": "Dinner for two",
            "wording": "dinner for two at Harbor House",
            "recipient": "referrer",
            "trigger": "won",
            "kind": "gift",
            "amount": Decimal("150"),
            "valid_days": 180,
        },
        {
            "name": "First engagement",
            "wording": "10% off your first engagement",
            "recipient": "friend",
            "trigger": "arrival",
            "kind": "percentage",
            "percent": 10,
            "valid_days": 120,
        },
    ],
}


def _referral_story(workspace, staff_member, program: dict, seed: int) -> None:
    """Referrals in every state, so the board is alive on a first run: names
    given today, a double-opt-in introduction at each step, a lead through a
    referral link, one met, one won (its referrer rewarded and thanked), one
    lost, one untouched for ten days; codes for everyone who may refer,
    rewards issued and one redeemed, thank-you cards to write, referrals given."""
    from rapport.advocacy import actions as referrals
    from rapport.advocacy import rewards
    from rapport.advocacy.models import ReferralProgram, RewardRule

    fake = Faker("en_GB" if program["currency"] == "GBP" else "en_US")
    fake.seed_instance(seed + 7)
    today = workspace.today()
    ReferralProgram.objects.update_or_create(
        workspace=workspace,
        defaults={k: program[k] for k in ("profile", "currency", "headline", "pitch")},
    )
    for rule in program["rules"]:
        rewards.save_rule(RewardRule(workspace=workspace, **rule))
    blocked = Issue.objects.blocking().filter(workspace=workspace).values("contact_id")
    referrers = list(
        Contact.objects.filter(workspace=workspace, stage__in=Stage.at_least(Stage.MEMBER))
        .exclude(pk__in=blocked)
        .exclude(referrals_made__isnull=False)
        .order_by("-relationship", "pk")[:12]
    )
    if len(referrers) < 8:
        return

    def person(**extra):
        first, last = fake.first_name(), fake.last_name()
        return {"first_name": first, "last_name": last, **extra}

    def given(referrer, days_ago, **extra):
        (contact,) = referrals.receive_names(
            referrer, [person(**extra)], on=today - dt.timedelta(days=days_ago)
        )
        return contact.referrals_received.get(referrer=referrer)

    # Names given this week; one of them to be introduced (the note is drafted).
    given(referrers[0], 1, email=f"{_ascii(fake.user_name())}@example.com", note="my sister")
    given(referrers[0], 1, phone=fake.phone_number(), wants_intro=True)
    # Introductions further along: sent, accepted, declined.
    sent = given(referrers[1], 4, email="friend.sent@example.com", wants_intro=True)
    referrals.mark_introduction_sent(
        sent.introduction, on=today - dt.timedelta(days=3), via="by the referrer"
    )
    accepted = given(referrers[2], 6, email="friend.yes@example.com", wants_intro=True)
    referrals.accept_introduction(
        accepted.introduction, email="", phone="", use_sealed=True, on=today - dt.timedelta(days=2)
    )
    declined = given(referrers[3], 9, wants_intro=True)
    referrals.decline_introduction(declined.introduction, on=today - dt.timedelta(days=5))
    # Contacted, then a meeting booked.
    contacted = given(referrers[4], 5, email="call.back@example.com")
    referrals.move_referral(
        contacted, "contacted", on=today - dt.timedelta(days=3), by=staff_member
    )
    meeting = given(referrers[5], 12, phone=fake.phone_number())
    referrals.move_referral(meeting, "contacted", on=today - dt.timedelta(days=10))
    referrals.move_referral(meeting, "meeting", on=today - dt.timedelta(days=2))
    # Won: the friend's first visit makes them a client; the referrer is owed the news.
    won = given(referrers[6], 20, email="now.a.client@example.com")
    record_purchases(
        workspace,
        [PurchaseRow(won.referred_id, today - dt.timedelta(days=2), _money(240), "First visit")],
    )
    # Lost, with its reason; and one nobody has touched for ten days.
    lost = given(referrers[7], 25)
    referrals.move_referral(
        lost, "lost", on=today - dt.timedelta(days=8), lost_reason="chose_another"
    )
    given(referrers[1], 10, phone=fake.phone_number())
    # Codes for everyone who may refer; a lead through one of them, today.
    referrals.issue_codes(workspace)
    code = referrers[8].referral_codes.get() if len(referrers) > 8 else None
    if code:
        referrals.record_lead(
            code,
            first_name=fake.first_name(),
            last_name=fake.last_name(),
            email="came.by.link@example.com",
            email_ok=True,
            note="My neighbour recommended you.",
            on=today,
        )
    # A reward redeemed at the desk already; the others wait to be shown.
    first_reward = Reward.objects.filter(workspace=workspace).order_by("pk").first()
    if first_reward:
        rewards.redeem(first_reward, by=staff_member, on=today)
    # A name that turns out to be someone we know, under another email: a merge to offer.
    known = Contact.objects.filter(workspace=workspace).exclude(last_name="").order_by("pk")[5]
    referrals.receive_names(
        referrers[9] if len(referrers) > 9 else referrers[0],
        [
            {
                "first_name": known.first_name,
                "last_name": known.last_name,
                "email": f"{_ascii(known.first_name).lower()}.home@example.com",
            }
        ],
        on=today,
    )
    # Give to get: referrals the business gave, with what came of them.
    for n, (what, whom, outcome) in enumerate(
        [
            ("A reliable plumber for their new house", "Hale & Sons", "business"),
            ("An accountant for their shop", "Priya at Ledgerline", "waiting"),
            ("A physiotherapist after their fall", "Kingsbridge Physio", "nothing"),
        ]
    ):
        gift = referrals.record_referral_given(
            referrers[-1 - n],
            what,
            on=today - dt.timedelta(days=30 + 20 * n),
            introduced=whom,
            by=staff_member,
        )
        if outcome != "waiting":
            referrals.set_give_outcome(gift, outcome, on=today - dt.timedelta(days=10 + 10 * n))


def _next_month(day: dt.date) -> dt.date:
    return day.replace(year=day.year + (day.month == 12), month=day.month % 12 + 1)


def build_consulting(*, clients: int = 80, seed: int = 2090) -> Summary:
    """Create or refresh the consulting firm demo (about `clients` contacts)."""
    started = time.perf_counter()
    with transaction.atomic():
        owner = demo_user()
        workspace = _fresh_workspace(
            CONSULTING_SLUG,
            owner,
            "Northwind Advisory",
            "America/New_York",
            postal_address="Northwind Advisory, 210 Harbor Street, Suite 900, Boston, MA 02110",
            brand_colour="#2b4c7e",
        )
        staff = _staff(workspace, CONSULTING_STAFF)
        # One change for the whole build: the facts' agenda refreshes are gathered and run
        # once as it ends. The explicit rebuild after it (35 ms at full size) makes the
        # stored agenda today's whatever that mechanism does.
        with changing():
            _Consulting(workspace, owner, staff, seed, clients).build()
            _referral_story(workspace, staff[0], CONSULTING_PROGRAM, seed)
        store.refresh(workspace)
        showcase(workspace, kind="consulting", seed=seed)
    return _summary(workspace, started)


def build_all(*, patients: int = 500, clients: int = 80) -> list[Summary]:
    """Both demo workspaces, full size by default."""
    return [build_dental(patients=patients), build_consulting(clients=clients)]
