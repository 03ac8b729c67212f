"""Merging two contacts who are one person, and undoing it for 30 days.

Every fact of both is kept. The relations to a contact are found by walking
Django's model registry (every foreign key and many-to-many to Contact, in
every app), so a model added later is carried over too. One transaction:

- each row pointing at the merged contact is re-pointed to the kept one, and
  its primary key recorded under "app.model.field";
- a row that would break a uniqueness rule (the same fact twice, e.g. both
  referred by the same client) is removed and kept, serialised, in the record;
- an empty field of the kept contact takes the merged one's value; values
  that differ are written into the notes, so nothing is lost;
- the merged contact is removed, its row serialised in the record.

Undo puts the merged contact back with its id, moves back exactly the rows
that moved (rows added since stay where they are), restores removed rows, and
resets each field the merge changed — unless someone changed it since.
"""

import datetime as dt
import json

from django.core import serializers
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from rapport.advocacy.models import ContactMerge, MergeSuggestion, Referral
from rapport.clients.actions import changing, facts_changed, promote
from rapport.clients.models import Contact, Stage

# Derived or bookkeeping columns: recomputed, never merged.
SKIP_FIELDS = {
    "id",
    "workspace",
    "external_id",
    "created_at",
    "updated_at",
    "erased_at",
    "readiness",
    "rhythm_days",
    "typical_amount",
}
# Consent follows the address it was given for.
CONSENT_OF = {"email_ok": "email", "sms_ok": "phone"}


class MergeRefused(ValueError):
    pass


def _relations():
    """(model, field name) for every FK to Contact, across all apps."""
    for rel in Contact._meta.related_objects:
        if rel.many_to_many or rel.related_model is MergeSuggestion:
            continue
        yield rel.related_model, rel.field.name


def _dump(obj) -> dict:
    # JSON-safe (dates and decimals as text); the deserializer reads them back.
    return json.loads(serializers.serialize("json", [obj]))[0]


def _label(model, field: str) -> str:
    return f"{model._meta.label_lower}.{field}"


def _model(label: str):
    from django.apps import apps

    app_model, field = label.rsplit(".", 1)
    return apps.get_model(app_model), field


def _empty(value) -> bool:
    return value in (None, "", False)


def merge_contacts(kept: Contact, merged: Contact, *, by=None) -> ContactMerge:
    if kept.pk == merged.pk or kept.workspace_id != merged.workspace_id:
        raise MergeRefused("Choose two different contacts of this workspace.")
    if Referral.objects.filter(
        models.Q(referrer=kept, referred=merged) | models.Q(referrer=merged, referred=kept)
    ).exists():
        raise MergeRefused(
            "One of them referred the other: merged, they would have referred themselves. "
            "Mark that referral lost as a duplicate first, or keep them apart."
        )
    workspace = kept.workspace
    with changing():
        kept = Contact.objects.select_for_update().get(pk=kept.pk)
        merged = Contact.objects.select_for_update().get(pk=merged.pk)
        record = ContactMerge(
            workspace=workspace,
            kept=kept,
            merged_pk=merged.pk,
            merged_name=merged.name,
            merged_external_id=merged.external_id,
            snapshot=_dump(merged),
            merged_by=by,
        )
        MergeSuggestion.objects.filter(
            models.Q(contact=merged) | models.Q(candidate=merged)
        ).delete()
        record.field_changes = _merge_fields(kept, merged)
        record.moved, record.dropped = _move_rows(merged, kept)
        kept_tags = set(kept.tags.values_list("pk", flat=True))
        added = [pk for pk in merged.tags.values_list("pk", flat=True) if pk not in kept_tags]
        kept.tags.add(*added)
        record.tags_added = added
        record.snapshot["tags"] = list(merged.tags.values_list("pk", flat=True))
        record.save()
        merged.delete()
        promote(workspace, [kept.pk])
        facts_changed(workspace, [kept.pk])
    return record


def _merge_fields(kept: Contact, merged: Contact) -> dict:
    changes = {}
    extra = []
    for field in Contact._meta.concrete_fields:
        name = field.attname
        if field.name in SKIP_FIELDS or name in CONSENT_OF:
            continue
        mine, theirs = getattr(kept, name), getattr(merged, name)
        if name == "stage":
            if Stage.rank(theirs) > Stage.rank(mine):
                changes[name] = [mine, theirs]
            continue
        if _empty(mine) and not _empty(theirs):
            changes[name] = [mine, theirs]
            follows = {v: k for k, v in CONSENT_OF.items()}.get(name)
            if follows and getattr(merged, follows) != getattr(kept, follows):
                changes[follows] = [getattr(kept, follows), getattr(merged, follows)]
        elif not _empty(theirs) and theirs != mine and name not in ("notes", "referred_by_id"):
            extra.append(f"{field.verbose_name}: {theirs}")
    if merged.notes:
        extra.append(merged.notes)
    if extra:
        when = timezone.localdate()
        note = f"From {merged.name} ({merged.external_id}), merged on {when}: " + "; ".join(extra)
        changes["notes"] = [kept.notes, f"{kept.notes}\n\n{note}".strip()]
    if kept.referred_by_id == merged.pk:
        changes["referred_by_id"] = [merged.pk, None]
    elif kept.referred_by_id is None and merged.referred_by_id not in (None, kept.pk):
        changes["referred_by_id"] = [None, merged.referred_by_id]
    for name, (_, after) in changes.items():
        setattr(kept, name, after)
    if changes:
        kept.save()
    # JSON-safe: dates and decimals as text (the serializer reads them back).
    return {k: [_plain(a), _plain(b)] for k, (a, b) in changes.items()}


def _plain(value):
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def _move_rows(merged: Contact, kept: Contact) -> tuple[dict, list]:
    moved: dict[str, list[int]] = {}
    dropped: list = []
    for model, field in _relations():
        queryset = model._default_manager.filter(**{field: merged})
        if model is Contact:
            queryset = queryset.exclude(pk=kept.pk)
        rows = list(queryset.values_list("pk", flat=True))
        if not rows:
            continue
        label = _label(model, field)
        try:
            with transaction.atomic():
                model._default_manager.filter(pk__in=rows).update(**{field: kept})
            moved[label] = rows
            continue
        except IntegrityError:
            pass
        # Row by row: those that would repeat a fact the kept contact has.
        moved[label] = []
        for pk in rows:
            try:
                with transaction.atomic():
                    model._default_manager.filter(pk=pk).update(**{field: kept})
                moved[label].append(pk)
            except IntegrityError:
                obj = model._default_manager.get(pk=pk)
                dropped.append(_dump(obj))
                obj.delete()
    return moved, dropped


def undo_merge(record: ContactMerge, *, by=None, now: dt.datetime | None = None) -> Contact:
    now = now or timezone.now()
    if not record.can_undo(now):
        raise MergeRefused(
            "This merge was undone already."
            if record.undone_at
            else f"A merge can be undone for {ContactMerge.UNDO_DAYS} days; this one is older."
        )
    workspace = record.workspace
    with changing():
        if not ContactMerge.objects.filter(pk=record.pk, undone_at=None).update(
            undone_at=now, undone_by=by
        ):
            raise MergeRefused("This merge was undone already.")
        snapshot = dict(record.snapshot)
        tags = snapshot.pop("tags", [])
        restored = next(serializers.deserialize("python", [snapshot])).object
        if Contact.objects.filter(workspace=workspace, external_id=restored.external_id).exists():
            raise MergeRefused(f"Another contact now has the id {restored.external_id}.")
        restored.save(force_insert=True)
        restored.tags.set(tags)
        kept = Contact.objects.select_for_update().get(pk=record.kept_id)
        for label, pks in record.moved.items():
            model, field = _model(label)
            model._default_manager.filter(pk__in=pks, **{field: kept}).update(**{field: restored})
        for row in record.dropped:
            obj = next(serializers.deserialize("python", [row])).object
            obj.save(force_insert=True)
        changed = []
        current = _dump(kept)["fields"]
        for name, (before, after) in record.field_changes.items():
            field = Contact._meta.get_field(name.removesuffix("_id"))
            now_value = current.get(field.name)
            if now_value == after:
                setattr(kept, field.attname, field.to_python(before))
                changed.append(field.attname)
        if changed:
            kept.save(update_fields=[*changed, "updated_at"])
        kept.tags.remove(*record.tags_added)
        promote(workspace, [kept.pk, restored.pk])
        facts_changed(workspace, [kept.pk, restored.pk])
    return restored
