from django.db import migrations


def seed(apps, schema_editor):
    from accord.sharing.services.network_settings import DEFAULT_COMMON_VALUES

    CommonValue = apps.get_model("sharing", "CommonValue")
    CommonValue.objects.bulk_create(
        [CommonValue(kind=kind, value=value, note=note) for kind, value, note in DEFAULT_COMMON_VALUES],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
