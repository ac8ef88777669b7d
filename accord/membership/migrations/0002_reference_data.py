"""Load the fixed critical sectors and security tasks."""

from django.db import migrations


def load(apps, schema_editor):
    from accord.membership.taxonomy import sync_reference_data

    sync_reference_data(apps.get_model("membership", "Sector"), apps.get_model("membership", "Task"))


class Migration(migrations.Migration):
    dependencies = [("membership", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
