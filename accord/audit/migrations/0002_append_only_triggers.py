"""Refuse UPDATE (and, on PostgreSQL, DELETE) of audit entries in the database itself.

On SQLite only UPDATE is refused: Django's test flush empties tables with
DELETE. A deleted entry still breaks the hash chain, which `accord audit verify`
reports.
"""

from django.db import migrations

SQLITE_FORWARD = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS audit_entry_no_update;"

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit entries are append-only'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_auditentry
FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
