"""The services of trusted sharing, exercised against the real database."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accord import policy
from accord.audit.models import AuditEntry
from accord.sharing.models import Observable, Report, ReportObservable, ReportVersion
from accord.sharing.services import SharingError, reports
from accord.sharing.services.attachments import add_attachment
from accord.sharing.services.correlation import correlations_for_report
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.network_settings import (
    CommonValues,
    add_common_value,
    update_severity_settings,
)
from accord.sharing.services.participation import add_comment, comment_threads, record_sighting
from accord.sharing.services.search import ReportFilters, search_reports
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db


def fresh(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def net(rules: list, coordinator: Any) -> dict[str, Any]:
    energy = f.make_organisation("Energy Co", slug="energy-co", sectors=["energy"])
    bank = f.make_organisation("Bank Co", slug="bank-co", sectors=["banking"])
    ministry = f.make_organisation(
        "Ministry", slug="ministry", sectors=[], stakeholder_group="government-civilian"
    )
    laggard = f.make_organisation("Laggard", slug="laggard", sectors=["health"])
    for org in (energy, bank, ministry):
        f.accept_rules(org)
    people = {}
    for name, org in (("e", energy), ("b", bank), ("m", ministry), ("l", laggard)):
        people[name] = f.make_user(f"user-{name}")
        f.add_member(people[name], org, analyst=True)
    group = WorkingGroup.objects.create(name="Grid ISAC", slug="grid-isac")
    GroupMembership.objects.create(group=group, user=people["e"], organisation=energy)
    return {"coordinator": coordinator, "group": group, **people}


def draft(**overrides: Any) -> ReportDraft:
    values: dict[str, Any] = {"kind": "incident", "title": "Phishing wave", "marking": "green"}
    values.update(overrides)
    return ReportDraft(**values)


def visible_ids(user: Any) -> set[Any]:
    return set(policy.reports_visible_to(fresh(user)).values_list("pk", flat=True))


def test_audiences_decide_who_sees(net: dict) -> None:
    e = net["e"]
    group = reports.create_report(e, draft(audience="groups", audience_groups=["grid-isac"]))
    orgs = reports.create_report(
        e, draft(marking="amber", audience="organisations", audience_organisations=["bank-co"])
    )
    gov = reports.create_report(e, draft(marking="amber+strict", audience="government"))
    coord = reports.create_report(e, draft(audience="coordination"))
    red = reports.create_report(e, draft(marking="red", recipients=["user-m"]))
    clear = reports.create_report(e, draft(marking="clear"))
    everything = {group.pk, orgs.pk, gov.pk, coord.pk, red.pk, clear.pk}

    assert visible_ids(net["e"]) == everything  # the reporter's organisation
    assert visible_ids(net["b"]) == {orgs.pk, clear.pk}
    assert visible_ids(net["m"]) == {gov.pk, red.pk, clear.pk}
    assert visible_ids(net["l"]) == {clear.pk}  # not in good standing
    assert visible_ids(net["coordinator"]) == everything - {red.pk}
    assert set(policy.reports_visible_to(None).values_list("pk", flat=True)) == {clear.pk}


def test_invalid_drafts_are_refused_whole_with_every_problem_named(net: dict) -> None:
    before = (Report.objects.count(), Observable.objects.count())
    with pytest.raises(SharingError) as refused:
        reports.create_report(
            net["e"],
            draft(
                title="x",
                marking="clear",
                audience="groups",
                audience_groups=["grid-isac"],
                effects=["teleportation"],
                severity={"functional-impact": "apocalyptic"},
                references=["javascript:alert(1)"],
                observables=[ObservableInput("198.51.100.7"), ObservableInput("999.1.1.1", "ipv4")],
            ),
        )
    errors = refused.value.errors
    assert {"title", "audience", "effects", "severity", "references", "observables"} <= set(errors)
    assert "Observable 2" in errors["observables"]
    assert (Report.objects.count(), Observable.objects.count()) == before


def test_red_needs_named_recipients_and_recipients_need_red(net: dict) -> None:
    with pytest.raises(SharingError) as refused:
        reports.create_report(net["e"], draft(marking="red"))
    assert "recipient" in refused.value.errors["recipients"]
    with pytest.raises(SharingError) as refused:
        reports.create_report(net["e"], draft(recipients=["user-b"]))
    assert "only for TLP:RED" in refused.value.errors["recipients"]
    with pytest.raises(SharingError):
        reports.create_report(net["e"], draft(marking="red", recipients=["nobody-here"]))


def test_people_who_may_not_share_are_refused(net: dict) -> None:
    with pytest.raises(policy.PolicyDenied):
        reports.create_report(net["l"], draft())
    reader = f.make_user("reader")
    f.add_member(reader, net["e"].memberships.first().organisation, analyst=False)
    with pytest.raises(policy.PolicyDenied):
        reports.create_report(reader, draft())


def test_observables_are_normalised_deduplicated_and_shared(net: dict) -> None:
    first = reports.create_report(
        net["e"],
        draft(
            observables=[
                ObservableInput("Evil.Example."),
                ObservableInput("evil[.]example"),
                ObservableInput("hxxps://evil[.]example:443/a"),
            ]
        ),
    )
    assert sorted(first.observations.values_list("observable__value", flat=True)) == [
        "evil.example",
        "https://evil.example/a",
    ]
    second = reports.create_report(net["b"], draft(observables=[ObservableInput("EVIL.example")]))
    assert Observable.objects.filter(value="evil.example").count() == 1
    assert ReportObservable.objects.filter(observable__value="evil.example").count() == 2
    assert second.observations.count() == 1


def test_correlation_counts_only_what_the_viewer_may_see(net: dict) -> None:
    shared = [ObservableInput("203.0.113.9")]
    mine = reports.create_report(net["b"], draft(observables=shared))
    reports.create_report(net["e"], draft(observables=shared))  # whole network
    reports.create_report(  # only the grid group: the bank may not see it
        fresh(net["e"]), draft(audience="groups", audience_groups=["grid-isac"], observables=shared)
    )
    [row] = correlations_for_report(fresh(net["b"]), mine)
    assert (row.reports, row.sectors) == (1, 1)
    [row] = correlations_for_report(fresh(net["coordinator"]), mine)
    assert row.reports == 2


def test_common_values_warn_instead_of_correlating(net: dict) -> None:
    add_common_value(net["coordinator"], kind="domain", value="*.cdn.example", note="CDN")
    assert CommonValues().match("url", "https://img.cdn.example/x.png") is not None
    first = reports.create_report(net["e"], draft(observables=[ObservableInput("a.cdn.example")]))
    reports.create_report(net["b"], draft(observables=[ObservableInput("a.cdn.example")]))
    [row] = correlations_for_report(fresh(net["e"]), first)
    assert row.common is not None and row.reports == 0
    with pytest.raises(policy.PolicyDenied):
        add_common_value(net["e"], kind="ipv4", value="192.0.2.1")


def test_editing_creates_versions_and_relaxing_is_recorded(net: dict) -> None:
    report = reports.create_report(net["e"], draft(marking="amber"))
    relaxed = reports.update_report(
        fresh(net["e"]), report, draft(marking="green", summary="More detail"), note="Can go wider"
    )
    assert relaxed.version == 2
    version = ReportVersion.objects.get(report=report, number=2)
    assert set(version.changed) == {"marking", "summary"}
    assert version.note == "Can go wider"
    assert AuditEntry.objects.filter(
        action="report.marking_relaxed", target_id=str(report.pk)
    ).exists()
    with pytest.raises(SharingError, match="Nothing changed"):
        reports.update_report(fresh(net["e"]), relaxed, reports.draft_from_report(relaxed))
    assert Report.objects.get(pk=report.pk).version == 2
    with pytest.raises(policy.NotVisible):
        reports.update_report(fresh(net["b"]), relaxed, draft(marking="clear"))
    with pytest.raises(SharingError):
        reports.update_report(fresh(net["e"]), relaxed, draft(attribution="anonymous"))


def test_comments_may_tighten_never_relax(net: dict) -> None:
    report = reports.create_report(net["e"], draft(marking="green"))
    with pytest.raises(SharingError) as refused:
        add_comment(fresh(net["b"]), report, body="hi", marking="clear")
    assert "marking" in refused.value.errors
    public = add_comment(
        fresh(net["b"]), report, body="Seen at our bank too", attribution="pseudonymous"
    )
    secret = add_comment(
        fresh(net["m"]), report, body="Attribution hint", marking="red", parent_id=public.pk
    )
    assert [c.pk for c, _depth in comment_threads(fresh(net["m"]), report)] == [
        public.pk,
        secret.pk,
    ]
    assert [c.pk for c, _depth in comment_threads(fresh(net["b"]), report)] == [public.pk]
    # The reporter sees RED comments on its own report.
    assert secret.pk in [c.pk for c, _depth in comment_threads(fresh(net["e"]), report)]


def test_sightings_validate_their_observable_and_count(net: dict) -> None:
    report = reports.create_report(net["e"], draft(observables=[ObservableInput("198.51.100.20")]))
    with pytest.raises(SharingError) as refused:
        record_sighting(fresh(net["b"]), report, observable="198.51.100.21", count=0)
    assert {"observable", "count"} <= set(refused.value.errors)
    sighting = record_sighting(fresh(net["b"]), report, observable="198.51.100[.]20", count=4)
    assert sighting.observable.value == "198.51.100.20"
    assert sighting.organisation == net["b"].memberships.first().organisation


def test_attachments_are_checked_by_content(net: dict) -> None:
    report = reports.create_report(net["e"], draft())
    with pytest.raises(SharingError):
        add_attachment(fresh(net["e"]), report, SimpleUploadedFile("x.pdf", b"\x89PNG\r\n\x1a\nxx"))
    with pytest.raises(SharingError):
        add_attachment(fresh(net["e"]), report, SimpleUploadedFile("tool.exe", b"MZ\x90\x00"))
    with pytest.raises(policy.NotVisible):
        add_attachment(fresh(net["b"]), report, SimpleUploadedFile("a.txt", b"text"))
    stored = add_attachment(
        fresh(net["e"]), report, SimpleUploadedFile("../../evil name.pdf", b"%PDF-1.7\n")
    )
    assert stored.name == "evil name.pdf"
    assert stored.content_type == "application/pdf"
    assert report.attachments.count() == 1


def test_search_by_text_observable_and_filters(net: dict) -> None:
    hit = reports.create_report(
        net["e"],
        draft(
            title="Ransomware at the grid",
            effects=["data-attack"],
            sectors=["energy"],
            severity={"functional-impact": "denial-of-critical"},
            observables=[ObservableInput("bad.example")],
        ),
    )
    reports.create_report(net["e"], draft(kind="measure", title="Patch quickly"))
    viewer = fresh(net["b"])
    assert list(search_reports(viewer, ReportFilters(q="ransomware"))) == [hit]
    assert list(search_reports(viewer, ReportFilters(q="bad[.]example"))) == [hit]
    assert list(search_reports(viewer, ReportFilters(effects=["data-attack"]))) == [hit]
    assert list(search_reports(viewer, ReportFilters(sectors=["energy"]))) == [hit]
    assert list(search_reports(viewer, ReportFilters(min_level=1))) == [hit]
    assert search_reports(viewer, ReportFilters(kinds=["measure"])).count() == 1


def test_changing_weights_rescores_stored_reports(
    net: dict, django_capture_on_commit_callbacks: Any
) -> None:
    report = reports.create_report(
        net["e"], draft(severity={"functional-impact": "denial-of-critical"})
    )
    before = report.severity_score
    weights = {
        "functional-impact": 100,
        "observed-activity": 0,
        "location": 0,
        "actor": 0,
        "information-impact": 0,
        "recoverability": 0,
        "cross-sector-dependency": 0,
        "potential-impact": 0,
    }
    with django_capture_on_commit_callbacks(execute=True):
        update_severity_settings(
            net["coordinator"], weights=weights, thresholds=[20, 40, 55, 70, 85]
        )
    report.refresh_from_db()
    assert before < report.severity_score == 100
    assert report.severity_level == 5
    with pytest.raises(SharingError):
        update_severity_settings(
            net["coordinator"], weights=weights, thresholds=[50, 40, 55, 70, 85]
        )
    with pytest.raises(policy.PolicyDenied):
        update_severity_settings(net["e"], weights=weights, thresholds=[20, 40, 55, 70, 85])


def test_a_coordinator_who_is_also_an_analyst_files_for_their_organisation(net: dict) -> None:
    coordinator = net["coordinator"]
    energy = net["e"].memberships.first().organisation
    f.add_member(coordinator, energy, analyst=True)
    report = reports.create_report(fresh(coordinator), draft(title="From the CERT desk"))
    assert report.reporter_organisation == energy
    assert policy.standing(fresh(coordinator)).organisations_in_good_standing == [energy]
