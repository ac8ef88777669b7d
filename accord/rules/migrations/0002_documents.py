"""The three rule documents every network has; their versions are published by coordinators."""

from django.db import migrations

DOCUMENTS = [
    ("charter", "Charter"),
    ("sharing-policy", "Sharing policy"),
    ("code-of-conduct", "Code of conduct"),
]


def create(apps, schema_editor):
    RuleDocument = apps.get_model("rules", "RuleDocument")
    for kind, title in DOCUMENTS:
        RuleDocument.objects.get_or_create(kind=kind, defaults={"title": title})


class Migration(migrations.Migration):
    dependencies = [("rules", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
