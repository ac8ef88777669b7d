"""Publishing reports into the STIX object store, and exporting what a person may
see as a bundle over HTTP (a real server on loopback)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from typing import Any

import pytest
import requests
import stix2
import stix2validator
from django.core.management import call_command
from django.urls import include, path
from django.utils import timezone
from ninja import NinjaAPI

from accord import policy
from accord.accounts.services import create_token
from accord.api import api as project_api
from accord.exchange.api_export import router as export_router
from accord.exchange.models import Scope, StixObject
from accord.exchange.stix import export, mapping, publish, vocab
from accord.sharing.models import Attribution, Marking, Report
from accord.sharing.services import reports
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.participation import add_comment, record_sighting
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db

DOCUMENTED_WARNINGS = ("has a URL but no hash", "not a suggested relationship target object")

# --- The export endpoint, mounted as the project mounts its routers --------------------------

_api = NinjaAPI(urls_namespace="stix-export-test", auth=project_api.auth)
_api._exception_handlers = dict(project_api._exception_handlers)
_api.add_router("/", export_router)
urlpatterns = [path("api/v1/", _api.urls), path("", include("accord.urls"))]


def fresh(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def net(rules: list, coordinator: Any) -> dict[str, Any]:
    energy = f.make_organisation("Energy Company", slug="energy-company", sectors=["energy"])
    bank = f.make_organisation("Bank of Avaloria", slug="bank-avaloria", sectors=["banking"])
    outsider = f.make_organisation("Water Works", slug="water-works", sectors=["drinking-water"])
    for org in (energy, bank, outsider):
        f.accept_rules(org)
    people = {}
    for key, org in (("e", energy), ("b", bank), ("w", outsider)):
        people[key] = f.make_user(f"user-{key}")
        f.add_member(people[key], org)
    group = WorkingGroup.objects.create(name="Grid ISAC", slug="grid-isac")
    for key, org in (("e", energy), ("b", bank)):
        GroupMembership.objects.create(group=group, user=people[key], organisation=org)
    return {"energy": energy, "bank": bank, "coordinator": coordinator, **people}


def file_report(user: Any, **overrides: Any) -> Report:
    values: dict[str, Any] = {
        "kind": "incident",
        "title": "DDoS on payment services",
        "summary": "Volumetric attack from a botnet.",
        "marking": "green",
        "effects": ["external-dos"],
        "incident_type": "availability:ddos",
        "severity": {"functional-impact": "significant"},
        "references": ["https://www.example.org/ddos"],
        "observables": [
            ObservableInput(value="198.51.100.7", note="botnet node"),
            ObservableInput(value="ddos.example"),
            ObservableInput(value="CVE-2024-3400"),
        ],
    }
    values.update(overrides)
    return reports.create_report(fresh(user), ReportDraft(**values))


def indicator_id(report: Report, value: str) -> str:
    return f"indicator--{report.observations.get(observable__value=value).pk}"


def latest(report: Report) -> dict[str, StixObject]:
    rows = StixObject.objects.filter(report=report, scope=Scope.REPORT, is_latest=True)
    return {row.stix_id: row for row in rows}


def check_bundle(text: str) -> dict[str, Any]:
    results = stix2validator.validate_string(text)
    assert results.is_valid, [str(e) for e in results.errors]
    for warning in results.warnings or []:
        assert any(reason in str(warning) for reason in DOCUMENTED_WARNINGS), warning
    document = json.loads(text)
    if "objects" not in document:  # an empty bundle has none, and stix2 cannot parse it
        return {**document, "objects": []}
    parsed = stix2.parse(text, allow_custom=True)
    assert len(parsed.objects) == len(document["objects"])
    return document


# --- Publishing ---------------------------------------------------------------------------------


def test_publish_writes_every_object_once_with_its_scope(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    result = publish.publish_report(report)
    objects = mapping.report_objects(report)
    sector_identity = mapping.sector_identity(net["energy"].sectors.first())["id"]
    assert result.written == len(objects) + 1  # and the sector that stands in for the name
    rows = {row.stix_id: row for row in StixObject.objects.all()}
    assert set(rows) == {o["id"] for o in objects} | {sector_identity}
    org_identity = mapping.organisation_identity_id(net["energy"].pk)
    assert rows[org_identity].scope == Scope.NAMED and rows[org_identity].report is None
    assert rows[sector_identity].scope == Scope.PUBLIC  # stands in for the name abroad
    for shared in (vocab.ACCORD_EXTENSION_ID, vocab.TLP2_MARKING_IDS[Marking.GREEN]):
        assert rows[shared].scope == Scope.PUBLIC and rows[shared].report is None
    main = rows[mapping.main_id(report)]
    assert main.scope == Scope.REPORT and main.report_id == report.pk and main.is_latest
    assert json.loads(main.body)["created_by_ref"] == org_identity
    assert json.loads(main.body_abroad)["created_by_ref"] == sector_identity
    assert main.modified == mapping.parse_timestamp(json.loads(main.body)["modified"])
    # Stored text is the object: parsing it gives back what the mapping said (as of now).
    stored = {stix_id: json.loads(row.body) for stix_id, row in rows.items()}
    for obj in objects:
        if "modified" not in obj:
            assert stored[obj["id"]] == obj
    marking = rows[vocab.TLP2_MARKING_IDS[Marking.GREEN]]
    assert marking.modified == dt.datetime(2022, 10, 1, tzinfo=dt.UTC)
    assert json.loads(marking.body) == vocab.TLP2_MARKING_OBJECTS[Marking.GREEN]


def test_publishing_twice_changes_nothing(
    net: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    report = file_report(net["e"])
    publish.publish_report(report)
    before = list(StixObject.objects.order_by("id").values_list("id", "modified", "is_latest"))
    with django_assert_max_num_queries(12):
        result = publish.publish_report(Report.objects.get(pk=report.pk))
    assert (result.written, result.retired) == (0, 0)
    after = list(StixObject.objects.order_by("id").values_list("id", "modified", "is_latest"))
    assert after == before


def test_an_edit_writes_new_versions_of_what_changed_only(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    publish.publish_report(report)
    before = latest(report)
    kept = indicator_id(report, "198.51.100.7")
    gone = indicator_id(report, "ddos.example")
    draft = reports.draft_from_report(report)
    draft.title = "DDoS on payment services (ongoing)"
    draft.observables = [o for o in draft.observables if o.value != "ddos.example"]
    draft.observables.append(ObservableInput(value="203.0.113.9"))
    report = reports.update_report(fresh(net["e"]), report, draft)
    result = publish.publish_report(report)
    after = latest(report)

    main_id = mapping.main_id(report)
    old, new = before[main_id], after[main_id]
    assert new.pk != old.pk and new.modified > old.modified
    assert json.loads(new.body)["name"] == "DDoS on payment services (ongoing)"
    assert json.loads(new.body)["created"] == json.loads(old.body)["created"]
    assert StixObject.objects.get(pk=old.pk).is_latest is False
    # The unchanged indicator keeps its one version.
    assert after[kept].pk == before[kept].pk
    # The removed observable's indicator is revoked; its cyber observable retired.
    assert after[gone].revoked and json.loads(after[gone].body)["revoked"] is True
    assert after[gone].modified > before[gone].modified
    domain = vocab.sco_id("domain-name", {"value": "ddos.example"})
    assert domain not in after and not StixObject.objects.get(pk=before[domain].pk).is_latest
    added = indicator_id(report, "203.0.113.9")
    assert added in after and added not in before
    assert result.written == len(set(after) - set(before)) + sum(
        1 for i in set(after) & set(before) if after[i].pk != before[i].pk
    )
    # Every version of an id differs in "modified"; one is the latest.
    for stix_id in after:
        versions = StixObject.objects.filter(stix_id=stix_id, report=report)
        assert versions.filter(is_latest=True).count() == 1
    assert publish.publish_report(report).written == 0


def test_withdrawn_report_is_revoked_and_stays_so(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    publish.publish_report(report)
    count = StixObject.objects.count()
    report = reports.withdraw_report(fresh(net["e"]), report, reason="Duplicate")
    publish.publish_report(report)
    rows = latest(report)
    main = rows[mapping.main_id(report)]
    assert main.revoked and json.loads(main.body)["revoked"] is True
    assert json.loads(main.body_abroad)["revoked"] is True
    for row in rows.values():
        if row.stix_type in ("indicator", "relationship", "vulnerability"):
            assert row.revoked, row.stix_id
    # The report's rows remain; policy hides the withdrawn report from readers.
    assert StixObject.objects.filter(report=report).count() > count - 4
    assert publish.publish_report(report).written == 0
    reader = fresh(net["b"])
    assert not export.stix_objects_exportable_to(reader).filter(report=report).exists()
    assert export.stix_objects_exportable_to(fresh(net["e"])).filter(report=report).exists()


def test_anonymous_material_waits_for_the_daily_pass(net: dict[str, Any]) -> None:
    report = file_report(
        net["e"],
        attribution="anonymous",
        observables=[ObservableInput(value="192.0.2.66"), ObservableInput(value="quiet.example")],
    )
    assert publish.publish_report(report).deferred
    assert not StixObject.objects.filter(report=report).exists()
    named = file_report(net["b"], title="Card skimming", attribution="named")
    seen = policy.get_report(fresh(net["e"]), named.pk)
    sighting = record_sighting(fresh(net["e"]), seen, attribution=Attribution.ANONYMOUS)
    publish.publish_report(named)
    assert not StixObject.objects.filter(stix_id=f"sighting--{sighting.pk}").exists()

    publish.publish_deferred()
    rows = latest(report)
    main = json.loads(rows[mapping.main_id(report)].body)
    assert "created_by_ref" not in main
    assert main["created"].endswith("T00:00:00.000Z") and main["modified"].endswith(
        "T00:00:00.000Z"
    )
    for row in rows.values():
        assert row.modified.time() < dt.time(0, 0, 1), row.stix_id  # the day, plus a version count
    assert StixObject.objects.filter(stix_id=f"sighting--{sighting.pk}").exists()
    energy = net["energy"]
    everything = "".join(StixObject.objects.filter(report=report).values_list("body", flat=True))
    assert energy.name not in everything and energy.slug not in everything
    assert mapping.organisation_identity_id(energy.pk) not in everything
    assert publish.publish_deferred().written == 0
    # A named edit of the report never dates it: versions stay within its day.
    draft = reports.draft_from_report(report)
    draft.summary = "More detail."
    report = reports.update_report(fresh(net["e"]), report, draft)
    publish.publish_deferred()
    main_row = latest(report)[mapping.main_id(report)]
    assert main_row.modified.time() < dt.time(0, 0, 1)
    assert json.loads(main_row.body)["description"] == "More detail."


def test_a_marking_change_revokes_comments_that_no_longer_match(net: dict[str, Any]) -> None:
    report = file_report(net["e"], marking="green")
    seen = policy.get_report(fresh(net["b"]), report.pk)
    comment = add_comment(fresh(net["b"]), seen, body="Same here.")
    publish.publish_report(report)
    green_note = vocab.derived_id("note", comment.pk, "green")
    assert green_note in latest(report)

    draft = reports.draft_from_report(report)
    draft.marking = "amber"
    report = reports.update_report(fresh(net["e"]), report, draft)
    publish.publish_report(report)
    rows = latest(report)
    assert rows[green_note].revoked  # the GREEN comment is no longer marked like the report
    main = json.loads(rows[mapping.main_id(report)].body)
    assert main["object_marking_refs"] == [vocab.TLP2_MARKING_IDS["amber"]]
    indicator = json.loads(rows[indicator_id(report, "198.51.100.7")].body)
    assert indicator["object_marking_refs"] == [vocab.TLP2_MARKING_IDS["amber"]]
    assert StixObject.objects.filter(stix_id=vocab.TLP2_MARKING_IDS["amber"]).count() == 1


def test_a_new_kind_revokes_the_old_main_object(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    publish.publish_report(report)
    draft = reports.draft_from_report(report)
    draft.kind, draft.effects = "advisory", []
    report = reports.update_report(fresh(net["e"]), report, draft)
    publish.publish_report(report)
    rows = latest(report)
    assert rows[f"incident--{report.pk}"].revoked
    advisory = json.loads(rows[f"report--{report.pk}"].body)
    assert indicator_id(report, "198.51.100.7") in advisory["object_refs"]


def test_reports_whose_objects_an_import_stored_are_left_alone(net: dict[str, Any]) -> None:
    # A member's own bundle, imported: the import keeps the objects as they arrived
    # (their senders' ids), and publishing must neither add ours nor revoke theirs.
    report = file_report(net["e"])
    received = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--5d0b4e8f-3c55-4f0f-9f4e-6f0e6d4c2b10",
        "created": "2026-09-01T00:00:00.000Z",
        "modified": "2026-09-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.7']",
        "pattern_type": "stix",
        "valid_from": "2026-09-01T00:00:00.000Z",
    }
    StixObject.objects.create(
        stix_id=received["id"],
        stix_type="indicator",
        modified=mapping.parse_timestamp(received["modified"]),
        report=report,
        body=publish.dumps(received),
    )
    assert publish.publish_report(report).written == 0
    assert list(StixObject.objects.values_list("stix_id", "revoked")) == [(received["id"], False)]


def test_one_cyber_observable_in_two_reports(net: dict[str, Any]) -> None:
    first = file_report(net["e"], marking="green")
    second = file_report(net["b"], marking="amber", title="Same botnet")
    publish.publish_report(first)
    publish.publish_report(second)
    sco = vocab.sco_id("ipv4-addr", {"value": "198.51.100.7"})
    rows = list(StixObject.objects.filter(stix_id=sco).order_by("modified"))
    assert [r.report_id for r in rows] == [first.pk, second.pk]
    assert all(r.is_latest for r in rows) and rows[0].modified < rows[1].modified
    markings = [json.loads(r.body)["object_marking_refs"] for r in rows]
    assert markings == [[vocab.TLP2_MARKING_IDS["green"]], [vocab.TLP2_MARKING_IDS["amber"]]]


def test_comments_and_sightings_are_published(net: dict[str, Any]) -> None:
    report = file_report(net["e"], marking="amber")
    seen = policy.get_report(fresh(net["b"]), report.pk)
    comment = add_comment(fresh(net["b"]), seen, body="Seen here too.")
    strict = add_comment(fresh(net["b"]), seen, body="Internal detail.", marking="amber+strict")
    sighting = record_sighting(fresh(net["b"]), seen, observable="198.51.100.7", count=12)
    publish.publish_report(report)
    rows = latest(report)
    notes = {json.loads(r.body)["content"] for r in rows.values() if r.stix_type == "note"}
    assert notes == {comment.body}  # not the one marked more strictly than the report
    assert vocab.derived_id("note", comment.pk, "amber") in rows
    assert strict.body not in "".join(r.body for r in StixObject.objects.all())
    body = json.loads(rows[f"sighting--{sighting.pk}"].body)
    assert body["count"] == 12
    assert body["where_sighted_refs"] == [mapping.organisation_identity_id(net["bank"].pk)]
    assert (
        StixObject.objects.get(stix_id=mapping.organisation_identity_id(net["bank"].pk)).scope
        == Scope.NAMED
    )


# --- Export ---------------------------------------------------------------------------------------


@pytest.fixture
def served(net: dict[str, Any], live_server: Any, settings: Any) -> dict[str, Any]:
    settings.ROOT_URLCONF = __name__
    from django.urls import clear_url_caches

    clear_url_caches()
    tokens = {}
    for key in ("e", "b", "w", "coordinator"):
        _token, raw = create_token(net[key], name="stix export")
        tokens[key] = raw
    yield {**net, "url": f"{live_server.url}/api/v1/stix/bundle", "tokens": tokens}
    clear_url_caches()


def get(served: dict[str, Any], who: str, **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {served['tokens'][who]}"} if who else {}
    return requests.get(served["url"], params=params, headers=headers, timeout=30)


def main_ids(document: dict[str, Any]) -> set[str]:
    """The reports in a bundle: the objects whose Accord properties give a kind."""
    return {
        o["id"]
        for o in document["objects"]
        if "kind" in o.get("extensions", {}).get(vocab.ACCORD_EXTENSION_ID, {})
    }


@pytest.mark.django_db(transaction=True)
def test_export_gives_exactly_what_the_person_may_see(served: dict[str, Any]) -> None:
    group_report = file_report(
        served["e"],
        title="Grid intrusion",
        marking="amber",
        audience="groups",
        audience_groups=["grid-isac"],
    )
    network_report = file_report(served["e"], title="Phishing wave", marking="green")
    clear_report = file_report(served["b"], title="Public advice", kind="advisory", marking="clear")
    anonymous = file_report(served["b"], title="Quietly reported", attribution="anonymous")
    for report in (group_report, network_report, clear_report):
        publish.publish_report(report)

    response = get(served, "b", report=[str(group_report.pk), str(network_report.pk)])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/stix+json;version=2.1"
    assert "attachment" in response.headers["Content-Disposition"]
    document = check_bundle(response.text)
    assert main_ids(document) == {mapping.main_id(group_report), mapping.main_id(network_report)}
    assert vocab.TLP2_MARKING_OBJECTS["amber"] in document["objects"]
    assert vocab.TLP2_MARKING_OBJECTS["green"] in document["objects"]
    identities = {o["id"]: o for o in document["objects"] if o["type"] == "identity"}
    assert mapping.organisation_identity_id(served["energy"].pk) in identities
    definition = next(o for o in document["objects"] if o["type"] == "extension-definition")
    assert definition["created_by_ref"] in identities

    # The outsider is not in the working group: none of the AMBER group report, and asking
    # for it by id is the same 404 as asking for a report that does not exist.
    everything = check_bundle(get(served, "w").text)
    assert mapping.main_id(group_report) not in main_ids(everything)
    assert mapping.main_id(network_report) in main_ids(everything)
    assert mapping.main_id(clear_report) in main_ids(everything)
    assert group_report.title not in json.dumps(everything)
    assert get(served, "w", report=str(group_report.pk)).status_code == 404
    missing = get(served, "w", report="8d0c6a39-7a8f-4a83-9bb5-5b1f7f3f7c11")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}

    # An anonymous report filed today is exported before the daily pass writes it, mapped
    # on the fly, naming nobody.
    document = check_bundle(get(served, "e", report=str(anonymous.pk)).text)
    main = next(o for o in document["objects"] if o["id"] == mapping.main_id(anonymous))
    assert "created_by_ref" not in main
    assert "Bank of Avaloria" not in json.dumps(document)
    assert not StixObject.objects.filter(report=anonymous).exists()

    # "since" keeps to reports changed at or after the time.
    later = timezone.now() + dt.timedelta(seconds=1)
    response = get(served, "b", since=later.isoformat())
    assert response.status_code == 200
    assert check_bundle(response.text)["objects"] == []


@pytest.mark.django_db(transaction=True)
def test_export_refuses_bad_requests_clearly(served: dict[str, Any]) -> None:
    unauthenticated = get(served, "")
    assert unauthenticated.status_code == 401 and "detail" in unauthenticated.json()
    bad = get(served, "b", report="not-a-uuid")
    assert bad.status_code == 422 and "detail" in bad.json()
    bad_time = get(served, "b", since="yesterday")
    assert bad_time.status_code == 422
    too_many = get(served, "b", report=[f"00000000-0000-4000-8000-{i:012d}" for i in range(501)])
    assert too_many.status_code == 422
    assert "at most 500" in too_many.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_sightings_and_comments_need_good_standing(served: dict[str, Any]) -> None:
    report = file_report(served["b"], title="Public advisory", kind="advisory", marking="clear")
    seen = policy.get_report(fresh(served["e"]), report.pk)
    add_comment(fresh(served["e"]), seen, body="Thanks, applied.")
    record_sighting(fresh(served["e"]), seen)
    publish.publish_report(report)
    laggard = f.make_organisation("Late Org", slug="late-org", sectors=["health"])  # no rules
    person = f.make_user("late")
    f.add_member(person, laggard)
    _token, raw = create_token(person, name="late")
    served["tokens"]["late"] = raw
    types = {o["type"] for o in check_bundle(get(served, "late").text)["objects"]}
    assert "report" in types and not types & {"sighting", "note"}
    types = {o["type"] for o in check_bundle(get(served, "w").text)["objects"]}
    assert {"sighting", "note"} <= types


@pytest.mark.django_db(transaction=True)
def test_the_extension_schema_is_public(served: dict[str, Any]) -> None:
    url = served["url"].replace("/bundle", "/extension")
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    schema = response.json()
    assert schema["$id"] == mapping.extension_definition()["schema"]
    assert {"kind", "attribution", "audience", "severity"} <= set(schema["properties"])


def test_bundle_adds_the_markings_it_references_and_streams(net: dict[str, Any]) -> None:
    report = file_report(net["e"], marking="amber+strict")
    objects = [o for o in mapping.report_objects(report) if o["type"] != "marking-definition"]
    document = export.bundle(objects)
    assert document["objects"][0] == vocab.TLP2_MARKING_OBJECTS["amber+strict"]
    publish.publish_report(report)
    out = StringIO()
    rows = StixObject.objects.filter(is_latest=True).order_by("id")
    count = export.write_bundle(rows, out, abroad=True)
    text = out.getvalue()
    assert count == rows.count() and json.loads(text)["objects"]
    check_bundle(text)
    assert "Energy Company" not in "".join(
        row.body_abroad or row.body for row in rows if row.scope != Scope.NAMED
    )


# --- The demo network ----------------------------------------------------------------------


def test_the_demo_network_publishes_and_exports_valid_bundles(db: Any) -> None:
    from django.contrib.auth import get_user_model

    call_command("demo", stdout=StringIO())  # publishes the whole demo network
    assert StixObject.objects.filter(scope=Scope.REPORT).exists()
    assert publish.publish_all().written == 0  # everything is there, once
    reports_by_attribution = {a: Report.objects.filter(attribution=a) for a in Attribution.values}
    assert all(qs.exists() for qs in reports_by_attribution.values())
    for report in Report.objects.all():
        for abroad in (False, True):
            check_bundle(json.dumps(export.bundle(mapping.report_objects(report, abroad=abroad))))
    for report in reports_by_attribution[Attribution.ANONYMOUS]:
        for row in StixObject.objects.filter(report=report):
            assert '"created_by_ref"' not in row.body or row.stix_type in ("note", "sighting")
    users = get_user_model().objects.filter(is_active=True).order_by("username")[:6]
    for user in users:
        visible = policy.reports_visible_to(user)
        out = StringIO()
        export.write_bundle(export.export_rows(user, visible), out)
        document = check_bundle(out.getvalue())
        shown = main_ids(document)
        assert shown == {mapping.main_id(r) for r in visible}, user.username


def test_the_report_page_links_to_its_stix_and_misp_downloads(
    client: Any, net: dict[str, Any]
) -> None:
    from tests import factories as f

    report = file_report(net["e"], marking="green")
    f.login(client, net["e"])
    page = client.get(f"/reports/{report.pk}/").content.decode()
    stix_url = f"/api/v1/stix/bundle?report={report.pk}"
    assert stix_url in page and f"/api/v1/misp/events/{report.pk}" in page
    bundle = client.get(stix_url)
    assert bundle.status_code == 200
    objects = json.loads(b"".join(bundle.streaming_content))["objects"]
    assert any(o["id"].endswith(str(report.pk)) for o in objects)
    misp = client.get(f"/api/v1/misp/events/{report.pk}")
    assert misp.status_code == 200 and misp.json()["Event"]["info"] == report.title
