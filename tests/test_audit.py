"""The audit trail: who sees which entries, the chain check, and append-only storage."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accord.audit.models import AppendOnlyError, AuditEntry
from accord.audit.services import record
from accord.workgroups import services as groups
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_org(rules: list) -> Any:
    org = f.make_organisation("Grid Operator")
    f.accept_rules(org)
    return org


@pytest.fixture
def olga(other_org: Any) -> Any:
    user = f.make_user("olga")
    f.add_member(user, other_org)
    return user


@pytest.fixture
def trail(analyst: Any, olga: Any) -> dict[str, Any]:
    """Real actions by people of two organisations, each leaving entries."""
    mine = groups.create_group(name="Energy Sharing", description="", visibility="open", by=analyst)
    theirs = groups.create_group(name="Grid Private", description="", visibility="open", by=olga)
    return {"mine": mine, "theirs": theirs}


def summaries(response: Any) -> str:
    html = response.content.decode()
    return (
        html.split('id="audit-entries"', 1)[1].split("</table>", 1)[0]
        if ('id="audit-entries"' in html)
        else ""
    )


def test_actions_create_entries(trail: dict, analyst: Any, member_org: Any) -> None:
    entry = AuditEntry.objects.get(action="group.created", actor=analyst)
    assert entry.organisation == member_org
    assert entry.actor_label == "ana"
    assert entry.target_type == "workgroups.workinggroup"
    assert entry.target_id == str(trail["mine"].pk)
    assert entry.entry_hash == entry.compute_hash()


def test_coordinator_sees_everything(client: Any, coordinator: Any, trail: dict) -> None:
    f.login(client, coordinator)
    response = client.get(reverse("audit:list"))
    assert response.status_code == 200
    table = summaries(response)
    assert "Working group Energy Sharing was created" in table
    assert "Working group Grid Private was created" in table
    assert "Verify the chain" in response.content.decode()
    assert 'name="organisation"' in response.content.decode()


def test_member_sees_own_organisation_and_own_actions(
    client: Any, analyst: Any, olga: Any, trail: dict
) -> None:
    # Olga acts in Ana's group: the entry is filed under Olga's organisation, and Ana
    # does not see it; Olga does, as it is her own action.
    groups.join_group(trail["mine"], by=olga)
    record("test.personal", "Ana did something personal", actor=analyst)

    f.login(client, analyst)
    response = client.get(reverse("audit:list"))
    table = summaries(response)
    assert "Working group Energy Sharing was created" in table
    assert "Ana did something personal" in table
    assert "Grid Private" not in table
    assert "olga joined" not in table
    html = response.content.decode()
    assert "Verify the chain" not in html
    assert 'name="organisation"' not in html

    f.login(client, olga)
    table = summaries(client.get(reverse("audit:list")))
    assert "Grid Private" in table
    assert "olga joined Energy Sharing" in table
    assert "Energy Sharing was created" not in table


def test_anonymous_is_sent_to_login(client: Any) -> None:
    response = client.get(reverse("audit:list"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_filters(
    client: Any, coordinator: Any, analyst: Any, olga: Any, trail: dict, other_org: Any
) -> None:
    groups.join_group(trail["mine"], by=olga)
    f.login(client, coordinator)
    table = summaries(client.get(reverse("audit:list"), {"action": "group.joined"}))
    assert "olga joined" in table and "was created" not in table
    table = summaries(client.get(reverse("audit:list"), {"actor": "ana"}))
    assert "Energy Sharing was created" in table and "Grid Private" not in table
    table = summaries(client.get(reverse("audit:list"), {"organisation": other_org.slug}))
    assert "Grid Private" in table and "Energy Sharing was created" not in table
    today = AuditEntry.objects.first().timestamp.date().isoformat()
    assert "Grid Private" in summaries(
        client.get(reverse("audit:list"), {"date_from": today, "date_to": today})
    )
    assert summaries(client.get(reverse("audit:list"), {"date_to": "2000-01-01"})) == ""
    response = client.get(
        reverse("audit:list"), {"date_from": "2030-01-02", "date_to": "2030-01-01", "action": "x"}
    )
    assert response.status_code == 200
    assert "The end date is before the start date." in response.content.decode()
    assert "Select a valid choice" in response.content.decode()


def test_verify_page(client: Any, coordinator: Any, analyst: Any, trail: dict) -> None:
    f.login(client, analyst)
    assert client.post(reverse("audit:verify")).status_code == 404
    f.login(client, coordinator)
    assert client.get(reverse("audit:verify")).status_code == 405
    response = client.post(reverse("audit:verify"))
    assert response.status_code == 200
    count = AuditEntry.objects.count()
    assert f"OK: {count} entries checked, the chain is intact." in response.content.decode()


def tamper(sequence: int) -> None:
    """Change an entry behind the application's back (the test's transaction undoes it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_entry_no_update")
        cursor.execute(
            "UPDATE audit_auditentry SET summary = %s WHERE sequence = %s",
            ["Nothing happened here", sequence],
        )


def test_verify_command_detects_tampering(trail: dict, client: Any, coordinator: Any) -> None:
    count = AuditEntry.objects.count()
    assert count >= 2
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert out.getvalue().strip() == f"OK: {count} entries, chain intact"

    victim = AuditEntry.objects.get(action="group.created", summary__contains="Energy Sharing")
    tamper(victim.sequence)
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify", stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().strip() == (
        f"BROKEN at entry #{victim.sequence}: its content does not match its digest"
    )
    # The page and the API say the same.
    f.login(client, coordinator)
    page = client.post(reverse("audit:verify")).content.decode()
    assert f"BROKEN at entry #{victim.sequence}" in page
    report = client.get("/api/v1/audit/verify").json()
    assert (report["ok"], report["first_broken_sequence"]) == (False, victim.sequence)


def test_database_refuses_updates(trail: dict) -> None:
    """Runs after the tampering test: its dropped trigger was rolled back with it."""
    entry = AuditEntry.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET summary = %s WHERE id = %s", ["rewritten", entry.pk]
        )
    assert AuditEntry.objects.get(pk=entry.pk).summary == entry.summary


def test_entries_are_append_only(trail: dict) -> None:
    entry = AuditEntry.objects.first()
    entry.summary = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary != "rewritten"


def test_admin_is_read_only(client: Any, trail: dict) -> None:
    admin = f.make_user("root", is_superuser=True, is_staff=True)
    f.login(client, admin)
    entry = AuditEntry.objects.first()
    assert client.get("/django-admin/audit/auditentry/").status_code == 200
    assert client.get(f"/django-admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert client.get("/django-admin/audit/auditentry/add/").status_code == 403
    assert (
        client.post(
            f"/django-admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
