from django.db import migrations


def region_from_time_zone(apps, schema_editor):
    # An existing business in Europe/London reads "07700 900123" as British:
    # the region follows the time zone it chose (UTC and the like keep US).
    from rapport.lib.phones import region_for_time_zone

    Workspace = apps.get_model("workspaces", "Workspace")
    for workspace in Workspace.objects.only("pk", "time_zone"):
        region = region_for_time_zone(workspace.time_zone)
        Workspace.objects.filter(pk=workspace.pk).update(phone_region=region)


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0002_phone_region_and_webhook_signing")]

    operations = [migrations.RunPython(region_from_time_zone, migrations.RunPython.noop)]
