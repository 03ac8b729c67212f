"""The seven CSV kinds of DESIGN.md and how each is written into the record.

Validation comes first and is complete (every cell, every reference to a
contact), streamed over the file; a file with any error writes nothing. A
valid file is written in one transaction, in bulk: contacts and purchases
(the large files) through staging tables and set-based SQL (clients.bulk),
the small kinds by a natural-key upsert. Re-importing updates rows by their
key instead of duplicating them: contacts by `external_id`, the other kinds
by their natural key (see the writers).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from os import PathLike

from django.db import transaction

from rapport.advocacy.models import Referral
from rapport.clients import actions, bulk
from rapport.clients.models import (
    Activity,
    ActivityKind,
    Contact,
    Deal,
    DealStage,
    Direction,
    Issue,
    Organization,
    Permission,
    PermissionKind,
    Purchase,
    Signal,
    Stage,
    StageChange,
    Tag,
)
from rapport.lib import csvimport as c
from rapport.lib import phones
from rapport.lib.progress import Callback
from rapport.lib.progress import Progress as Progress_

KINDS = {
    "contacts": c.Kind(
        "contacts",
        (
            c.Column("external_id", c.text(64), required=True),
            c.Column("first_name", c.text(100), required=True),
            c.Column("last_name", c.text(100)),
            c.Column("email", c.email),
            c.Column("phone", c.text(40)),
            c.Column("organization", c.text(200)),
            c.Column("stage", c.choice(Stage.values)),
            c.Column("relationship", c.integer(1, 10)),
            c.Column("source", c.text(100)),
            c.Column("referred_by", c.text(64)),
            c.Column("tags", c.semicolon_list(c.text(60))),
            c.Column("email_ok", c.boolean),
            c.Column("sms_ok", c.boolean),
            c.Column("address", c.text(300)),
            c.Column("notes", str),
        ),
    ),
    "purchases": c.Kind(
        "purchases",
        (
            c.Column("contact", c.text(64), required=True),
            c.Column("date", c.iso_date, required=True),
            c.Column("amount", c.decimal),
            c.Column("description", c.text(200)),
        ),
    ),
    "activities": c.Kind(
        "activities",
        (
            c.Column("contact", c.text(64), required=True),
            c.Column("date", c.iso_date, required=True),
            c.Column("kind", c.choice(ActivityKind.values), required=True),
            c.Column("direction", c.choice(Direction.values)),
            c.Column("text", str),
            c.Column("signals", c.semicolon_list(c.choice(Signal.values))),
        ),
    ),
    "deals": c.Kind(
        "deals",
        (
            c.Column("contact", c.text(64), required=True),
            c.Column("title", c.text(200), required=True),
            c.Column("stage", c.choice(DealStage.values)),
            c.Column("won_on", c.iso_date),
            c.Column("completed_on", c.iso_date),
            c.Column("value", c.decimal),
        ),
    ),
    "issues": c.Kind(
        "issues",
        (
            c.Column("contact", c.text(64), required=True),
            c.Column("opened_on", c.iso_date, required=True),
            c.Column("summary", str, required=True),
            c.Column("resolved_on", c.iso_date),
        ),
    ),
    "permissions": c.Kind(
        "permissions",
        (
            c.Column("contact", c.text(64), required=True),
            c.Column("granted_on", c.iso_date, required=True),
            c.Column("kind", c.choice(PermissionKind.values), required=True),
            c.Column("ask_after", c.iso_date, required=True),
        ),
    ),
    "referrals": c.Kind(
        "referrals",
        (
            c.Column("referrer", c.text(64), required=True),
            c.Column("referred", c.text(64), required=True),
            c.Column("date", c.iso_date, required=True),
            c.Column("status", c.choice(Referral.Status.values)),
        ),
    ),
}

# Contacts first: the other kinds refer to them.
ORDER = list(KINDS)
# Which columns name a contact (by external_id), per kind.
CONTACT_COLUMNS = {
    "purchases": ["contact"],
    "activities": ["contact"],
    "deals": ["contact"],
    "issues": ["contact"],
    "permissions": ["contact"],
    "referrals": ["referrer", "referred"],
}

Progress = Callable[[int], None]
Source = bytes | str | PathLike  # a file's content, or the path to it (streamed)

# Kinds written through the bulk path (clients.bulk): the large files of a
# practice's history. The others are small and keep their row-by-row upsert.
BULK_KINDS = {"contacts", "purchases"}
PROMOTED_CHUNK = 5000  # contacts per `promoted` signal (receivers use IN (...))


@dataclass
class FileReport:
    name: str
    kind: str
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[c.RowError] = field(default_factory=list)
    imported: bool = False


@dataclass
class CheckedFile:
    """One file after the validating pass: its header, errors and row count;
    the rows themselves only for the small kinds (the bulk kinds' rows are
    in their staging table by then)."""

    name: str
    source: Source
    parsed: c.ParsedFile
    rows: int = 0
    preview: list[c.Row] = field(default_factory=list)
    staging: "bulk.Staging | None" = None
    tags: "bulk.Staging | None" = None

    @property
    def kind(self) -> str:
        return self.parsed.kind.name if self.parsed.kind else "?"

    @property
    def errors(self) -> list[c.RowError]:
        return self.parsed.errors

    def drop_staging(self) -> None:
        for staging in (self.staging, self.tags):
            if staging is not None:
                staging.drop()
        self.staging = self.tags = None


def parse_file(data: bytes | str, name: str) -> c.ParsedFile:
    return c.parse(data, name, KINDS)


def sort_files(parsed: list[c.ParsedFile]) -> list[c.ParsedFile]:
    return sorted(parsed, key=lambda p: ORDER.index(p.kind.name) if p.kind else -1)


def _as_progress(progress) -> Progress_:
    if progress is None:
        return Progress_()
    if isinstance(progress, Progress_):
        return progress
    return Callback(progress)


def check(
    workspace,
    files: list[tuple[str, Source]],
    *,
    stage: bool = False,
    progress=None,
    preview_rows: int = 0,
) -> list[CheckedFile]:
    """The validating pass over every file, streamed: every error with file
    and line, and (stage=True) the bulk kinds' rows staged for the write.
    Cross-file checks hold: a row may name a contact of the workspace or of
    a valid contacts file of the same import."""
    progress = _as_progress(progress)
    checked = [
        CheckedFile(name, source, c.read_header(source, name, KINDS)) for name, source in files
    ]
    checked.sort(key=lambda f: ORDER.index(f.kind) if f.parsed.kind else -1)
    known = set(
        Contact.objects.filter(workspace=workspace).active().values_list("external_id", flat=True)
    )
    # A referrals file checks self-referrals against a contacts file's details.
    details: dict[str, tuple[str, str]] | None = (
        {} if any(f.kind == "referrals" for f in checked) else None
    )
    for file in checked:
        if not file.parsed.kind or file.parsed.errors:
            continue
        progress.phase(f"parse+validate {file.name}", c.count_lines(file.source))
        if file.kind == "contacts":
            _check_contacts(workspace, file, known, details, stage, progress, preview_rows)
        elif file.kind == "purchases":
            _check_purchases(file, known, stage, progress, preview_rows)
        else:
            file.parsed.rows = []
            for row in c.iter_rows(file.source, file.parsed):
                file.parsed.rows.append(row)
                if len(file.parsed.rows) % 1000 == 0:
                    progress.advance(1000)
            file.rows = len(file.parsed.rows)
            file.preview = file.parsed.rows[:preview_rows]
            _check_small(workspace, file.parsed, known, details)
        file.parsed.errors.sort(key=lambda e: e.line)
        if file.parsed.errors:
            file.drop_staging()
        else:
            for staging in (file.staging, file.tags):  # the COPY ends first
                if staging is not None:
                    staging.finish()
    return checked


def _check_contacts(workspace, file, known, details, stage, progress, preview_rows) -> None:
    parsed = file.parsed
    header = set(parsed.header)
    if stage:
        if "tags" in header:
            # PostgreSQL runs one COPY at a time on a connection: the tags
            # wait for the contacts' COPY to end (created first, for the same reason).
            file.tags = bulk.Staging("contact_tags", bulk.TAG_STAGING, copy=False)
        file.staging = bulk.Staging("contacts", bulk.CONTACT_STAGING, bulk.CONTACT_EXTRA)
    seen: dict[str, int] = {}
    references = []  # (line, referrer): checked once every id of the file is known
    region = workspace.phone_region
    n = 0
    for row in c.iter_rows(file.source, parsed):
        n += 1
        if n % 1000 == 0:
            progress.advance(1000)
        v = row.values
        external_id = v["external_id"]
        if external_id in seen:
            parsed.error(
                row.line, f"external_id {external_id!r} already on line {seen[external_id]}"
            )
        seen[external_id] = row.line
        referrer = v.get("referred_by")
        if referrer == external_id:
            parsed.error(row.line, "a contact cannot refer itself", "referred_by")
        elif referrer:
            references.append((row.line, referrer))
        if v.get("phone"):
            # Stored as E.164: a number that cannot be read in the
            # workspace's country is named now, not texted wrongly later.
            try:
                v["phone"] = phones.to_e164(v["phone"], region)
            except phones.InvalidPhone as error:
                parsed.error(row.line, str(error), "phone")
        if details is not None:
            details[external_id] = (v.get("email") or "", v.get("phone") or "")
        if len(file.preview) < preview_rows:
            file.preview.append(row)
        if file.staging is not None and not parsed.errors:
            file.staging.add(
                tuple(v.get(col) if col != "line" else row.line for col in _CONTACT_COLUMNS)
            )
            if file.tags is not None:
                for tag in dict.fromkeys(v.get("tags") or []):
                    file.tags.add((external_id, tag))
    progress.advance(n % 1000)
    for line, referrer in references:
        if referrer not in known and referrer not in seen:
            parsed.error(line, f"no contact with external_id {referrer!r}", "referred_by")
    file.rows = n
    if not parsed.errors:
        known.update(seen)


_CONTACT_COLUMNS = [name for name, _ in bulk.CONTACT_STAGING]


def _check_purchases(file, known, stage, progress, preview_rows) -> None:
    parsed = file.parsed
    if stage:
        file.staging = bulk.Staging("purchases", bulk.PURCHASE_STAGING)
    staging = file.staging
    n = 0
    for row in c.iter_rows(file.source, parsed):
        n += 1
        if n % 1000 == 0:
            progress.advance(1000)
        v = row.values
        if v["contact"] not in known:
            parsed.error(row.line, f"no contact with external_id {v['contact']!r}", "contact")
        elif staging is not None and not parsed.errors:
            staging.add((v["contact"], v["date"], v.get("amount"), v.get("description") or ""))
        if len(file.preview) < preview_rows:
            file.preview.append(row)
    progress.advance(n % 1000)
    file.rows = n


def _check_small(workspace, file, known, details) -> None:
    """The small kinds' cross-row checks, on their rows in memory."""
    for row in file.rows:
        for column in CONTACT_COLUMNS[file.kind.name]:
            value = row.values.get(column)
            if value and value not in known:
                file.error(row.line, f"no contact with external_id {value!r}", column)
    if file.kind.name == "referrals":
        _validate_referrals(workspace, file, details or {})
    if file.kind.name == "deals":
        for row in file.rows:
            won, completed = row.values.get("won_on"), row.values.get("completed_on")
            if won and completed and completed < won:
                file.error(row.line, "completed before it was won", "completed_on")
    if file.kind.name == "issues":
        for row in file.rows:
            resolved = row.values.get("resolved_on")
            if resolved and resolved < row.values["opened_on"]:
                file.error(row.line, "resolved before it was opened", "resolved_on")
    if file.kind.name == "permissions":
        for row in file.rows:
            if row.values["ask_after"] < row.values["granted_on"]:
                file.error(row.line, "ask_after is before granted_on", "ask_after")


def _validate_referrals(workspace, file, file_details: dict[str, tuple[str, str]]) -> None:
    """A self-referral is refused: the same contact, or the referred person's
    email or phone is the referrer's (advocacy's matching rules)."""
    from rapport.advocacy.matching import is_self_referral

    details = {
        c.external_id: c
        for c in Contact.objects.filter(workspace=workspace).only(
            "external_id", "email", "phone", "workspace"
        )
    }
    for external_id, (email, phone) in file_details.items():  # a contacts file, not written yet
        details[external_id] = Contact(workspace=workspace, email=email, phone=phone)
    for row in file.rows:
        referrer, referred = row.values["referrer"], row.values["referred"]
        if referrer == referred:
            file.error(row.line, "a contact cannot refer itself", "referred")
            continue
        a, b = details.get(referrer), details.get(referred)
        if a and b and is_self_referral(a, email=b.email, phone=b.phone):
            file.error(row.line, "a self-referral: the referred email or phone is the referrer's")


# Tables an import writes to: their statistics are refreshed afterwards.
TOUCHED_MODELS = [
    Contact,
    Organization,
    Tag,
    Contact.tags.through,
    StageChange,
    Purchase,
    Activity,
    Deal,
    Issue,
    Permission,
    Referral,
]


def import_files(
    workspace,
    files: list[tuple[str, Source]],
    *,
    dry_run: bool = False,
    progress=None,
) -> list[FileReport]:
    """Validate every file (streamed), then write each valid one
    all-or-nothing through the bulk path; then the derived facts, set-based;
    ANALYZE, the derived facts, and the one agenda refresh (clients.signals.facts_changed).

    A file is its content (bytes or str) or a path: a path is read as it
    goes, twice at most, never whole into memory."""
    progress = _as_progress(progress)
    temp_store = bulk.begin() if not dry_run else None
    checked = []
    reports = []
    try:
        checked = check(workspace, files, stage=not dry_run, progress=progress)
        if not dry_run:
            bulk.start_touched()
        for file in checked:
            report = FileReport(file.name, file.kind, file.rows)
            report.errors = list(file.errors)
            reports.append(report)
            if file.errors or dry_run:
                continue
            progress.phase(f"write {file.name}", file.rows)
            with transaction.atomic():
                if file.kind in BULK_KINDS:
                    _write_bulk(workspace, file, report)
                else:
                    ids = WRITERS[file.kind](workspace, file.parsed, report, lambda n: None)
                    bulk.add_touched_ids(ids)
            progress.advance(file.rows)
            report.imported = True
            file.drop_staging()
            file.parsed.rows = []
        if any(r.imported for r in reports):
            _derive(workspace, progress)
    finally:
        for file in checked:
            file.drop_staging()
        if not dry_run:
            bulk.drop_touched()
            bulk.end(temp_store)
    progress.phase("done")
    return reports


def _write_bulk(workspace, file: CheckedFile, report: FileReport) -> None:
    if file.kind == "contacts":
        report.created, report.updated = bulk.write_contacts(
            workspace, file.staging, file.tags, set(file.parsed.header), file.name
        )
    else:
        report.created = bulk.write_purchases(workspace, file.staging)
    report.unchanged = file.rows - report.created - report.updated


def _derive(workspace, progress) -> None:
    """Fresh statistics, then the derived facts for every touched contact as
    statements over the set, then the one agenda refresh (as the change
    ends)."""
    from rapport.clients import rhythm
    from rapport.clients.signals import promoted

    touched = bulk.touched_count()
    with actions.changing():
        # Statistics first: the derived facts' own statements are planned on
        # them (and the touched set, a temporary table, is never analysed by
        # PostgreSQL's autovacuum).
        progress.phase("analyze")
        bulk.analyze(TOUCHED_MODELS, temporary=[bulk.TOUCHED])
        progress.phase("derive: ladder promotions", touched)
        changes = bulk.promote_touched(workspace)
        for start in range(0, len(changes), PROMOTED_CHUNK):
            promoted.send(sender=workspace, changes=changes[start : start + PROMOTED_CHUNK])
        progress.advance(touched)
        progress.phase("derive: rhythms and usual spend", touched)
        rhythm.update(workspace, scope_table=bulk.TOUCHED)
        progress.advance(touched)
        progress.phase("refresh agenda")
        # The agenda listens for this and refreshes once, as the change ends.
        actions.facts_changed(workspace)


# -- writers: one per kind; each returns the ids of the contacts it touched ---


def _contact_ids(workspace) -> dict[str, int]:
    return dict(Contact.objects.filter(workspace=workspace).values_list("external_id", "pk"))


def _set_referred_by(workspace, referrer_of: dict[int, int], overwrite: bool = False) -> None:
    contacts = Contact.objects.filter(workspace=workspace, pk__in=list(referrer_of))
    if not overwrite:
        contacts = contacts.filter(referred_by=None)
    changed = []
    for contact in contacts.only("pk", "referred_by_id"):
        if contact.referred_by_id != referrer_of[contact.pk]:
            contact.referred_by_id = referrer_of[contact.pk]
            changed.append(contact)
    Contact.objects.bulk_update(changed, ["referred_by"], batch_size=500)


def _upsert(model, workspace, file, report, progress, *, key, build, update_fields) -> set[int]:
    """Generic natural-key upsert: existing rows are updated, others created."""
    ids = _contact_ids(workspace)
    objects = [build(row.values, ids) for row in file.rows]
    contact_field = "referrer_id" if model is Referral else "contact_id"
    contact_ids = {getattr(o, contact_field) for o in objects}
    existing = {}
    for start in range(0, len(contact_ids), 2000):
        chunk = list(contact_ids)[start : start + 2000]
        for obj in model.objects.filter(workspace=workspace, **{f"{contact_field}__in": chunk}):
            existing.setdefault(key(obj), obj)
    new, changed, seen = [], [], set()
    for obj in objects:
        k = key(obj)
        if k in seen:
            report.unchanged += 1  # the same row twice in one file
            continue
        seen.add(k)
        old = existing.get(k)
        if old is None:
            new.append(obj)
            continue
        if any(getattr(old, f) != getattr(obj, f) for f in update_fields):
            for f in update_fields:
                setattr(old, f, getattr(obj, f))
            changed.append(old)
        else:
            report.unchanged += 1
    model.objects.bulk_create(new, batch_size=1000)
    if changed and update_fields:
        model.objects.bulk_update(changed, update_fields, batch_size=500)
    report.created, report.updated = len(new), len(changed)
    progress(len(file.rows))
    touched = set(contact_ids)
    if model is Referral:
        touched |= {o.referred_id for o in objects}
    return touched


def write_activities(workspace, file, report, progress):
    def build(v, ids):
        return actions.build_activity(
            workspace,
            ids[v["contact"]],
            occurred_on=v["date"],
            kind=v["kind"],
            direction=v.get("direction") or Direction.OUT,
            text=v.get("text") or "",
            signals=v.get("signals") or [],
        )

    return _upsert(
        Activity,
        workspace,
        file,
        report,
        progress,
        key=lambda a: (a.contact_id, a.occurred_on, a.kind, a.text),
        build=build,
        update_fields=["direction", "signals", "carries_moment"],
    )


def write_deals(workspace, file, report, progress):
    def build(v, ids):
        stage = v.get("stage") or (
            DealStage.COMPLETED
            if v.get("completed_on")
            else DealStage.WON
            if v.get("won_on")
            else DealStage.LEAD
        )
        won_on = v.get("won_on") or (
            v.get("completed_on") if stage in (DealStage.WON, DealStage.COMPLETED) else None
        )
        return Deal(
            workspace=workspace,
            contact_id=ids[v["contact"]],
            title=v["title"],
            stage=stage,
            won_on=won_on,
            completed_on=v.get("completed_on"),
            value=v.get("value"),
        )

    return _upsert(
        Deal,
        workspace,
        file,
        report,
        progress,
        key=lambda d: (d.contact_id, d.title),
        build=build,
        update_fields=["stage", "won_on", "completed_on", "value"],
    )


def write_issues(workspace, file, report, progress):
    def build(v, ids):
        resolved = v.get("resolved_on")
        return Issue(
            workspace=workspace,
            contact_id=ids[v["contact"]],
            opened_on=v["opened_on"],
            summary=v["summary"],
            resolved_on=resolved,
            status=Issue.Status.RESOLVED if resolved else Issue.Status.OPEN,
        )

    return _upsert(
        Issue,
        workspace,
        file,
        report,
        progress,
        key=lambda i: (i.contact_id, i.opened_on, i.summary),
        build=build,
        update_fields=["resolved_on", "status"],
    )


def write_permissions(workspace, file, report, progress):
    def build(v, ids):
        return Permission(
            workspace=workspace,
            contact_id=ids[v["contact"]],
            granted_on=v["granted_on"],
            kind=v["kind"],
            ask_after=v["ask_after"],
            source=Permission.Source.IMPORT,
        )

    return _upsert(
        Permission,
        workspace,
        file,
        report,
        progress,
        key=lambda p: (p.contact_id, p.granted_on, p.kind),
        build=build,
        update_fields=["ask_after"],
    )


def write_referrals(workspace, file, report, progress):
    """New referrals are written in bulk, with their first step on the pipeline
    and (when recent) a thank-you; every status change goes through the
    board's own action (`advocacy.actions.move_referral`)."""
    from rapport.advocacy import actions as advocacy
    from rapport.advocacy.matching import duplicates_of
    from rapport.advocacy.models import ReferralEvent

    ids = _contact_ids(workspace)
    rows = {}
    for row in file.rows:  # the same pair twice: the last row wins
        rows[(ids[row.values["referrer"]], ids[row.values["referred"]])] = row.values
    existing = {}
    referrer_ids = list({pair[0] for pair in rows})
    for start in range(0, len(referrer_ids), 2000):
        for referral in Referral.objects.filter(
            workspace=workspace, referrer_id__in=referrer_ids[start : start + 2000]
        ):
            existing[(referral.referrer_id, referral.referred_id)] = referral
    report.unchanged += len(file.rows) - len(rows)
    new = [
        Referral(
            workspace=workspace,
            referrer_id=a,
            referred_id=b,
            date=v["date"],
            touched_on=v["date"],
            how=Referral.How.IMPORTED,
            status=Referral.Status.NEW,
        )
        for (a, b), v in rows.items()
        if (a, b) not in existing
    ]
    Referral.objects.bulk_create(new, batch_size=1000)
    created = {
        (r.referrer_id, r.referred_id): r
        for r in Referral.objects.filter(
            workspace=workspace,
            referrer_id__in=referrer_ids,
            how=Referral.How.IMPORTED,
            events=None,
        )
    }
    ReferralEvent.objects.bulk_create(
        [
            ReferralEvent(
                workspace=workspace,
                referral=r,
                to_status=Referral.Status.NEW,
                on=r.date,
                via=ReferralEvent.Via.IMPORT,
            )
            for r in created.values()
        ],
        batch_size=1000,
    )
    with actions.changing():
        for pair, v in rows.items():
            referral = existing.get(pair) or created[pair]
            status = v.get("status") or (
                Referral.Status.NEW if pair in created else referral.status
            )
            changed = False
            if pair in existing and v["date"] != referral.date:
                Referral.objects.filter(pk=referral.pk).update(date=v["date"])
                referral.date = v["date"]
                changed = True
            if status != referral.status:
                advocacy.move_referral(
                    referral,
                    status,
                    on=v["date"] if pair in created else workspace.today(),
                    via=ReferralEvent.Via.IMPORT,
                    lost_reason=Referral.LostReason.OTHER if status == Referral.Status.LOST else "",
                    lost_note="Marked lost in an import" if status == Referral.Status.LOST else "",
                )
                changed = True
            if pair in created:
                advocacy.thank_for_referral(referral)
                report.created += 1
            elif changed:
                report.updated += 1
            else:
                report.unchanged += 1
    progress(len(file.rows))
    # A referred person who looks like someone we know is offered for merge.
    for contact in Contact.objects.filter(pk__in=[b for _, b in created]):
        advocacy.offer_merges(contact, duplicates_of(contact))
    # The referred contact remembers who sent them, unless it already does.
    _set_referred_by(workspace, {b: a for a, b in rows})
    return {pk for pair in rows for pk in pair}


# The small kinds' writers (contacts and purchases: clients.bulk).
WRITERS = {
    "activities": write_activities,
    "deals": write_deals,
    "issues": write_issues,
    "permissions": write_permissions,
    "referrals": write_referrals,
}
