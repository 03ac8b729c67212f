import hashlib

from django.db import migrations


def sms_addresses_to_e164(apps, schema_editor):
    """Texts waiting in the outbox and SMS suppressions, in the same E.164
    form as the contacts' numbers, so a STOP stored as typed still stops.
    An entry left only as a hash (an erased contact) cannot be re-read and
    stays as it is."""
    from rapport.lib.phones import normalize

    regions = dict(
        apps.get_model("workspaces", "Workspace").objects.values_list("pk", "phone_region")
    )
    Message = apps.get_model("outreach", "OutboundMessage")
    for message in Message.objects.filter(channel="sms").only("pk", "to_address", "workspace_id"):
        e164 = normalize(message.to_address, regions.get(message.workspace_id, "US"))
        if e164 != message.to_address:
            Message.objects.filter(pk=message.pk).update(to_address=e164)
    Suppression = apps.get_model("outreach", "Suppression")
    for entry in Suppression.objects.filter(channel="sms").exclude(address=""):
        e164 = normalize(entry.address, regions.get(entry.workspace_id, "US"))
        digest = hashlib.sha256(e164.encode()).hexdigest()
        if digest == entry.address_hash:
            continue
        twin = Suppression.objects.filter(
            workspace_id=entry.workspace_id, channel="sms", address_hash=digest
        )
        if twin.exists():
            entry.delete()  # the same number, suppressed twice under two spellings
        else:
            Suppression.objects.filter(pk=entry.pk).update(address=e164, address_hash=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("outreach", "0002_delivery_pause_webhook_events_failure"),
        ("clients", "0003_phones_e164_and_text_consent_records"),
    ]

    operations = [migrations.RunPython(sms_addresses_to_e164, migrations.RunPython.noop)]
