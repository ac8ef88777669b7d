"""An anonymous report leaves no trace of its reporter: not in a database dump,
not in the audit trail, not in times, not to the coordinator."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings

from accord import policy
from accord.audit.models import AuditEntry
from accord.sharing.models import Attribution, Report
from accord.sharing.services import reports
from accord.sharing.services.attachments import add_attachment, stored_path
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.participation import record_sighting
from tests import factories as f

pytestmark = pytest.mark.django_db

IDENTITY_COLUMNS = (
    "organisation_id",
    "reporter_organisation_id",
    "created_by_id",
    "author_id",
    "uploaded_by_id",
    "actor_id",
    "user_id",
)


def dump() -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table, as a database dump would hold it."""
    tables: dict[str, set[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from introspection
            columns = [c[0] for c in cursor.description]
            tables[table] = {tuple(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    return tables


def new_rows(before: dict[str, set], after: dict[str, set]) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for table, content in after.items():
        for row in content - before.get(table, set()):
            rows.append((table, dict(row)))
    return rows


@pytest.fixture
def network(rules: list, coordinator: Any) -> dict[str, Any]:
    reporter_org = f.make_organisation(
        "Nordwind Gridco", slug="nordwind-gridco", sectors=["energy"]
    )
    other_org = f.make_organisation("Kestrel Bank", slug="kestrel-bank", sectors=["banking"])
    for org in (reporter_org, other_org):
        f.accept_rules(org)
    reporter = f.make_user("hidden.analyst", full_name="Hidden Analyst")
    f.add_member(reporter, reporter_org, analyst=True)
    colleague = f.make_user("colleague", full_name="Co League")
    f.add_member(colleague, reporter_org, analyst=True)
    outsider = f.make_user("outsider", full_name="Out Sider")
    f.add_member(outsider, other_org, analyst=True)
    return {
        "reporter_org": reporter_org,
        "reporter": reporter,
        "colleague": colleague,
        "outsider": outsider,
        "other_org": other_org,
        "coordinator": coordinator,
    }


def fresh(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)


def file_anonymous(reporter: Any, title: str = "Wiper on historian servers") -> Report:
    draft = ReportDraft(
        kind="incident",
        title=title,
        summary="Seen beaconing to hxxp://update-check[.]example/ping",
        marking="green",
        attribution="anonymous",
        effects=["data-attack"],
        observables=[ObservableInput("203.0.113.77"), ObservableInput("update-check.example")],
    )
    return reports.create_report(reporter, draft)


def test_database_dump_and_audit_trail_hold_no_trace_of_the_reporter(network: dict) -> None:
    reporter, org = network["reporter"], network["reporter_org"]
    audit_before = AuditEntry.objects.count()
    before = dump()

    report = file_anonymous(reporter)
    add_attachment(reporter, report, SimpleUploadedFile("capture.txt", b"beacon every 300 s\n"))
    report = Report.objects.get(pk=report.pk)
    reports.update_report(
        fresh(reporter),
        report,
        ReportDraft(
            **{**reports.draft_from_report(report).__dict__, "title": "Wiper on historians"}
        ),
        note="Sharper title",
    )
    record_sighting(
        fresh(network["colleague"]), report, count=2, attribution="anonymous", note="us too"
    )

    rows = new_rows(before, dump())
    assert rows, "filing must have written rows"
    assert AuditEntry.objects.count() == audit_before, "anonymous actions are not audited"
    # The one row that may change besides the report's own: the network settings'
    # random "anonymous reports changed" value. Nothing else in it may move.
    settings_rows = [row for table, row in rows if table == "sharing_networksettings"]
    rows = [(table, row) for table, row in rows if table != "sharing_networksettings"]
    for row in settings_rows:
        (old,) = [dict(r) for r in before["sharing_networksettings"] if dict(r)["id"] == row["id"]]
        assert {k for k in row if row[k] != old[k]} == {"anonymity_generation"}
    identities = {org.pk, reporter.pk, network["colleague"].pk}
    names = {org.name.lower(), org.slug, reporter.username, reporter.full_name.lower()}
    for table, row in rows:
        for column, value in row.items():
            if column in IDENTITY_COLUMNS:
                assert value is None or value not in identities, (table, column, value)
            if isinstance(value, str):
                assert not any(name in value.lower() for name in names), (table, column)
            if isinstance(value, dt.datetime) or (
                isinstance(value, str) and column.endswith(("_at", "seen_at"))
            ):
                moment = (
                    value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
                )
                assert (moment.hour, moment.minute, moment.second, moment.microsecond) == (
                    0,
                    0,
                    0,
                    0,
                ), (table, column, value)

    stored = stored_path(report.attachments.get())
    assert dt.datetime.fromtimestamp(stored.stat().st_mtime, dt.UTC).time() == dt.time(0, 0)


def test_two_anonymous_reports_of_one_organisation_cannot_be_linked(network: dict) -> None:
    first = file_anonymous(network["reporter"], "First anonymous report")
    second = file_anonymous(fresh(network["reporter"]), "Second anonymous report")
    assert first.authorship_tag != second.authorship_tag
    assert len(first.authorship_tag) == len(second.authorship_tag) == 64


def test_the_tag_means_nothing_without_the_key(network: dict) -> None:
    report = file_anonymous(network["reporter"])
    assert policy.is_reporter(fresh(network["colleague"]), report)
    with override_settings(ANONYMITY_KEY=b"a different installation's key"):
        assert not policy.is_reporter(fresh(network["colleague"]), report)
        assert report.pk not in policy.reports_of_my_organisations(
            fresh(network["reporter"])
        ).values_list("pk", flat=True)


def test_the_reporting_organisation_lists_edits_withdraws_and_reveals(network: dict) -> None:
    report = file_anonymous(network["reporter"])
    colleague = fresh(network["colleague"])
    assert list(policy.reports_of_my_organisations(colleague)) == [report]
    assert policy.can_edit_report(colleague, report)
    outsider = fresh(network["outsider"])
    assert not policy.can_edit_report(outsider, report)
    assert not policy.is_reporter(fresh(network["coordinator"]), report)

    revealed = reports.reveal_report(colleague, report)
    assert revealed.attribution == Attribution.NAMED
    assert revealed.reporter_organisation == network["reporter_org"]
    assert revealed.authorship_tag == ""
    assert AuditEntry.objects.filter(action="report.revealed", target_id=str(report.pk)).exists()
    assert reports.public_reporter_label(revealed) == "Nordwind Gridco"


def test_nobody_else_can_act_on_it_and_errors_do_not_tell(network: dict) -> None:
    report = file_anonymous(network["reporter"])
    for person in ("outsider", "coordinator"):
        viewer = fresh(network[person])
        with pytest.raises(policy.NotVisible):
            reports.withdraw_report(viewer, report)
        with pytest.raises(policy.NotVisible):
            reports.reveal_report(viewer, report)
    with pytest.raises(policy.PolicyDenied) as refused:
        reports.look_up_reporter(fresh(network["coordinator"]), report)
    assert "anonymous" in refused.value.message


def test_withdrawn_anonymous_report_stays_with_its_reporter(network: dict) -> None:
    report = file_anonymous(network["reporter"])
    reports.withdraw_report(fresh(network["colleague"]), report, reason="Shared too early")
    assert policy.reports_visible_to(fresh(network["outsider"])).filter(pk=report.pk).count() == 0
    assert (
        policy.reports_visible_to(fresh(network["coordinator"])).filter(pk=report.pk).count() == 0
    )
    assert policy.reports_visible_to(fresh(network["reporter"])).filter(pk=report.pk).count() == 1
    report.refresh_from_db()
    assert report.withdrawn_at.time() == dt.time(0, 0)


def test_pseudonymous_reporter_is_shown_by_sector_and_looked_up_with_an_audit_entry(
    network: dict,
) -> None:
    draft = ReportDraft(
        kind="incident", title="Credential stuffing", marking="amber", attribution="pseudonymous"
    )
    report = reports.create_report(network["reporter"], draft)
    assert (
        reports.public_reporter_label(report) == "A member from the energy sector, private sector"
    )
    with pytest.raises(policy.PolicyDenied):
        reports.look_up_reporter(fresh(network["outsider"]), report)
    found = reports.look_up_reporter(fresh(network["coordinator"]), report)
    assert found["organisation"] == network["reporter_org"]
    entry = AuditEntry.objects.get(action="report.reporter_looked_up")
    assert entry.actor == network["coordinator"]
    assert entry.organisation_id == network["reporter_org"].pk
    # The reporting organisation can see, in its own audit trail, that it was looked up.
    assert policy.audit_entries_visible_to(fresh(network["colleague"])).filter(pk=entry.pk).exists()
    assert (
        not policy.audit_entries_visible_to(fresh(network["outsider"])).filter(pk=entry.pk).exists()
    )


def test_pseudonymous_actions_leave_no_audit_entry_that_names_the_actor(network: dict) -> None:
    before = AuditEntry.objects.count()
    draft = ReportDraft(
        kind="incident",
        title="Quiet intrusion",
        marking="green",
        attribution="pseudonymous",
        observables=[ObservableInput("198.51.100.44")],
    )
    report = reports.create_report(network["reporter"], draft)
    add_attachment(fresh(network["reporter"]), report, SimpleUploadedFile("n.txt", b"note\n"))
    from accord.sharing.services.participation import add_comment

    add_comment(fresh(network["colleague"]), report, body="More soon", attribution="pseudonymous")
    record_sighting(fresh(network["colleague"]), report, attribution="pseudonymous")
    # The coordinator reads the whole trail: nothing in it may lift the pseudonym.
    assert AuditEntry.objects.count() == before
    reports.look_up_reporter(fresh(network["coordinator"]), report)
    assert AuditEntry.objects.count() == before + 1
