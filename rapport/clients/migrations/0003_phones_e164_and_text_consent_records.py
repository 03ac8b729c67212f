from django.db import migrations


def phones_to_e164(apps, schema_editor):
    """Numbers as typed become E.164, read in their workspace's region; one
    that cannot be read as a number is kept as typed (and is never texted).
    Contacts who had "agreed to texts" ticked before ticking wrote a consent
    record get one now, saying just that, so their texts go on; the record
    is honest about what is known of that consent."""
    from rapport.lib.phones import normalize

    Contact = apps.get_model("clients", "Contact")
    ConsentRecord = apps.get_model("clients", "ConsentRecord")
    regions = dict(
        apps.get_model("workspaces", "Workspace").objects.values_list("pk", "phone_region")
    )
    changed = []
    for contact in Contact.objects.exclude(phone="").only("pk", "phone", "workspace_id").iterator():
        e164 = normalize(contact.phone, regions.get(contact.workspace_id, "US"))
        if e164 != contact.phone:
            contact.phone = e164
            changed.append(contact)
        if len(changed) >= 1000:
            Contact.objects.bulk_update(changed, ["phone"])
            changed = []
    Contact.objects.bulk_update(changed, ["phone"])

    recorded = set(ConsentRecord.objects.filter(channel="sms").values_list("contact_id", flat=True))
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                workspace_id=workspace_id,
                contact_id=pk,
                channel="sms",
                granted=True,
                text="Agreed to receive text messages from us: ticked before Rapport kept a "
                "record of text consent (recorded by the upgrade; how it was given is not known)",
                source="upgrade",
            )
            for pk, workspace_id in Contact.objects.filter(sms_ok=True, erased_at=None)
            .exclude(pk__in=recorded)
            .values_list("pk", "workspace_id")
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0002_consent_lookup_index"),
        ("workspaces", "0003_phone_region_from_time_zone"),
    ]

    operations = [migrations.RunPython(phones_to_e164, migrations.RunPython.noop)]
