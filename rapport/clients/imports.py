"""The seven CSV kinds of DESIGN.md and how each is written into the record.

Validation comes first and is complete (every cell, every reference to a
contact); a file with any error writes nothing. A valid file is written in
one transaction, in bulk. Re-importing updates rows by their key instead of
duplicating them: contacts by `external_id`, the other kinds by their natural
key (see KEYS below).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from rapport.advocacy.models import Referral
from rapport.clients import actions
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


def parse_file(data: bytes | str, name: str) -> c.ParsedFile:
    return c.parse(data, name, KINDS)


def sort_files(parsed: list[c.ParsedFile]) -> list[c.ParsedFile]:
    return sorted(parsed, key=lambda p: ORDER.index(p.kind.name) if p.kind else -1)


def validate(workspace, parsed: list[c.ParsedFile]) -> None:
    """Cross-row checks that need the database: every contact a row names
    must exist, in the workspace or in a valid contacts file of this import."""
    known = set(
        Contact.objects.filter(workspace=workspace).active().values_list("external_id", flat=True)
    )
    for file in sort_files(parsed):
        if not file.kind or file.errors:
            continue
        if file.kind.name == "contacts":
            seen: dict[str, int] = {}
            ids_in_file = {row.values["external_id"] for row in file.rows}
            for row in file.rows:
                external_id = row.values["external_id"]
                if external_id in seen:
                    file.error(
                        row.line, f"external_id {external_id!r} already on line {seen[external_id]}"
                    )
                seen[external_id] = row.line
                referrer = row.values.get("referred_by")
                if referrer and referrer not in known and referrer not in ids_in_file:
                    file.error(row.line, f"no contact with external_id {referrer!r}", "referred_by")
                if referrer and referrer == external_id:
                    file.error(row.line, "a contact cannot refer itself", "referred_by")
                if row.values.get("phone"):
                    # Stored as E.164: a number that cannot be read in the
                    # workspace's country is named now, not texted wrongly later.
                    try:
                        row.values["phone"] = phones.to_e164(
                            row.values["phone"], workspace.phone_region
                        )
                    except phones.InvalidPhone as error:
                        file.error(row.line, str(error), "phone")
            if not file.errors:
                known |= ids_in_file
            continue
        for row in file.rows:
            for column in CONTACT_COLUMNS[file.kind.name]:
                value = row.values.get(column)
                if value and value not in known:
                    file.error(row.line, f"no contact with external_id {value!r}", column)
        if file.kind.name == "referrals":
            _validate_referrals(workspace, file, parsed)
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


def _validate_referrals(workspace, file, parsed) -> None:
    """A self-referral is refused: the same contact, or the referred person's
    email or phone is the referrer's (advocacy's matching rules)."""
    from rapport.advocacy.matching import is_self_referral

    details = {
        c.external_id: c
        for c in Contact.objects.filter(workspace=workspace).only(
            "external_id", "email", "phone", "workspace"
        )
    }
    for other in parsed:  # a contacts file of the same import, not written yet
        if other.kind and other.kind.name == "contacts" and not other.errors:
            for row in other.rows:
                v = row.values
                details[v["external_id"]] = Contact(
                    workspace=workspace, email=v.get("email") or "", phone=v.get("phone") or ""
                )
    for row in file.rows:
        referrer, referred = row.values["referrer"], row.values["referred"]
        if referrer == referred:
            file.error(row.line, "a contact cannot refer itself", "referred")
            continue
        a, b = details.get(referrer), details.get(referred)
        if a and b and is_self_referral(a, email=b.email, phone=b.phone):
            file.error(row.line, "a self-referral: the referred email or phone is the referrer's")


def import_files(
    workspace,
    files: list[tuple[str, bytes | str]],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[FileReport]:
    """Validate every file, then write each valid one all-or-nothing."""
    parsed = sort_files([parse_file(data, name) for name, data in files])
    validate(workspace, parsed)
    reports = []
    touched: set[int] = set()
    for file in parsed:
        report = FileReport(file.name, file.kind.name if file.kind else "?", len(file.rows))
        report.errors = list(file.errors)
        reports.append(report)
        if file.errors or dry_run:
            if progress:
                progress(len(file.rows))
            continue
        writer = WRITERS[file.kind.name]
        with transaction.atomic():
            ids = writer(workspace, file, report, progress or (lambda n: None))
        touched |= ids
        report.imported = True
    if touched and not dry_run:
        from rapport.clients import rhythm

        with actions.changing():
            actions.promote(workspace, touched)
            rhythm.update(workspace, touched)
            actions.facts_changed(workspace)
    return reports


# -- writers: one per kind; each returns the ids of the contacts it touched ---


def _contact_ids(workspace) -> dict[str, int]:
    return dict(Contact.objects.filter(workspace=workspace).values_list("external_id", "pk"))


def _present(row: c.Row, column: str) -> bool:
    return column in row.values


def write_contacts(workspace, file, report, progress) -> set[int]:
    existing = {
        contact.external_id: contact
        for contact in Contact.objects.filter(
            workspace=workspace, external_id__in=[r.values["external_id"] for r in file.rows]
        )
    }
    org_names = {r.values["organization"] for r in file.rows if r.values.get("organization")}
    orgs = dict(
        Organization.objects.filter(workspace=workspace, name__in=org_names).values_list(
            "name", "pk"
        )
    )
    for name in org_names - set(orgs):
        orgs[name] = Organization.objects.create(workspace=workspace, name=name).pk

    plain = ["first_name", "last_name", "email", "phone", "source", "notes", "address"]
    new, changed, consent, stage_changes = [], [], [], []
    today = workspace.today()
    for row in file.rows:
        v = row.values
        contact = existing.get(v["external_id"])
        is_new = contact is None
        if is_new:
            contact = Contact(
                workspace=workspace,
                external_id=v["external_id"],
                stage=v.get("stage") or Stage.PROSPECT,
            )
        before = {
            f: getattr(contact, f)
            for f in [*plain, "organization_id", "relationship", "email_ok", "sms_ok", "stage"]
        }
        for name in plain:
            if _present(row, name):
                setattr(contact, name, v[name] or "")
        if _present(row, "organization"):
            contact.organization_id = orgs.get(v["organization"]) if v["organization"] else None
        if _present(row, "relationship") and v["relationship"] != contact.relationship:
            contact.relationship = v["relationship"]
            contact.relationship_on = today if v["relationship"] else None
        for flag in ("email_ok", "sms_ok"):
            # Every consent the file changes goes into the consent log.
            if _present(row, flag) and v[flag] is not None and v[flag] != getattr(contact, flag):
                setattr(contact, flag, v[flag])
                consent.append((contact, flag, v[flag]))
            elif is_new and v.get(flag):
                consent.append((contact, flag, True))
        # An imported stage only raises the ladder: a re-imported old export
        # must not undo promotions Rapport made since (lowering is by hand).
        raises = v.get("stage") and Stage.rank(v["stage"]) > Stage.rank(contact.stage)
        if _present(row, "stage") and raises:
            stage_changes.append((contact, contact.stage, v["stage"]))
            contact.stage = v["stage"]
        if is_new:
            new.append(contact)
            stage_changes.append((contact, "", contact.stage))
        elif before != {f: getattr(contact, f) for f in before}:
            changed.append(contact)
        else:
            report.unchanged += 1
    Contact.objects.bulk_create(new, batch_size=1000)
    fields = [
        *plain,
        "organization",
        "relationship",
        "relationship_on",
        "email_ok",
        "sms_ok",
        "stage",
    ]
    Contact.objects.bulk_update(changed, fields, batch_size=500)
    report.created, report.updated = len(new), len(changed)
    progress(len(file.rows) // 2)

    # Second pass: references, tags, consents, ladder history.
    ids = _contact_ids(workspace)
    _set_referred_by(
        workspace,
        {
            ids[r.values["external_id"]]: ids[r.values["referred_by"]]
            for r in file.rows
            if _present(r, "referred_by") and r.values["referred_by"]
        },
        overwrite=True,
    )
    tag_rows = [r for r in file.rows if _present(r, "tags")]
    if tag_rows:
        names = {t for r in tag_rows for t in (r.values["tags"] or [])}
        tags = dict(
            Tag.objects.filter(workspace=workspace, name__in=names).values_list("name", "pk")
        )
        for name in names - set(tags):
            tags[name] = Tag.objects.create(workspace=workspace, name=name).pk
        through = Contact.tags.through
        contact_pks = [ids[r.values["external_id"]] for r in tag_rows]
        through.objects.filter(contact_id__in=contact_pks).delete()
        through.objects.bulk_create(
            [
                through(contact_id=ids[r.values["external_id"]], tag_id=tags[name])
                for r in tag_rows
                for name in dict.fromkeys(r.values["tags"] or [])
            ],
            batch_size=1000,
        )
    from rapport.clients.models import ConsentRecord

    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                workspace=workspace,
                contact_id=contact.pk,
                channel=flag.removesuffix("_ok"),
                granted=granted,
                text=f"{flag}={'true' if granted else 'false'} in {file.name}",
                source="import",
            )
            for contact, flag, granted in consent
        ]
    )
    StageChange.objects.bulk_create(
        [
            StageChange(
                workspace=workspace,
                contact_id=contact.pk,
                from_stage=old,
                to_stage=new_stage,
                reason=StageChange.Reason.IMPORT,
            )
            for contact, old, new_stage in stage_changes
        ]
    )
    progress(len(file.rows) - len(file.rows) // 2)
    return {ids[r.values["external_id"]] for r in file.rows}


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


def write_purchases(workspace, file, report, progress):
    def build(v, ids):
        return Purchase(
            workspace=workspace,
            contact_id=ids[v["contact"]],
            date=v["date"],
            amount=v.get("amount"),
            description=v.get("description") or "",
        )

    return _upsert(
        Purchase,
        workspace,
        file,
        report,
        progress,
        key=lambda p: (p.contact_id, p.date, p.amount, p.description),
        build=build,
        update_fields=[],
    )


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


WRITERS = {
    "contacts": write_contacts,
    "purchases": write_purchases,
    "activities": write_activities,
    "deals": write_deals,
    "issues": write_issues,
    "permissions": write_permissions,
    "referrals": write_referrals,
}
