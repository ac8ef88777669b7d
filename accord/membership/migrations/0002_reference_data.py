"""Load the fixed critical sectors and security tasks."""

from django.db import migrations


def load(apps, schema_editor):
    from accord.membership.taxonomy import SECTORS, TASKS

    Sector = apps.get_model("membership", "Sector")
    Task = apps.get_model("membership", "Task")
    for position, (code, name, description) in enumerate(SECTORS):
        Sector.objects.update_or_create(
            code=code, defaults={"name": str(name), "description": str(description), "position": position}
        )
    for position, (code, name, actor) in enumerate(TASKS):
        Task.objects.update_or_create(
            code=code, defaults={"name": str(name), "primary_actor": str(actor), "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("membership", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
