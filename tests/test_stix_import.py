"""Importing STIX 2.1: the real shared bundles, versions and origins, revocation,
references, bad input over the API (nothing stored), the round trip of our own
export, and a large bundle streamed in a separate process with flat memory."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import path
from ninja import NinjaAPI

from accord.accounts import services as accounts
from accord.api import api as accord_api
from accord.exchange.api_import import router as import_router
from accord.exchange.models import ReportOrigin, Scope, Source, StixObject, TaxiiStatus
from accord.exchange.stix import mapping, reader, validate, vocab
from accord.exchange.stix.export import bundle
from accord.exchange.stix.ingest import IngestContext, ingest
from accord.sharing.models import (
    Attribution,
    Kind,
    Marking,
    Observable,
    Report,
    ReportObservable,
)
from accord.sharing.services import reports as report_services
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from tests import factories as f

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "stix"
APT1 = DATA / "oasis-example-apt1.json"
ICS = DATA / "ics-attack-18.1.json"
API = "/api/v1"
GREEN = vocab.TLP2_MARKING_IDS[Marking.GREEN]
AMBER = vocab.TLP2_MARKING_IDS[Marking.AMBER]
EARLIER = "2025-01-01T00:00:00Z"


# --- The API under test: accord.api mounts the router; until then a local URLconf does ------


def _mounted() -> bool:
    return any(router is import_router for _prefix, router in accord_api._routers)


if _mounted():

    def api_urls(test: Any) -> Any:
        return test

else:
    _api = NinjaAPI(urls_namespace="stix-import-test-api", auth=accord_api.auth, docs_url=None)
    for _exc, _handler in accord_api._exception_handlers.items():
        _api.add_exception_handler(_exc, _handler)
    _api.add_router("/", import_router)
    urlpatterns = [path("api/v1/", _api.urls)]
    api_urls = pytest.mark.urls(__name__)


# --- Building STIX ---------------------------------------------------------------------------


def stamp(day: int = 1, second: int = 0) -> str:
    return f"2026-03-{day:02d}T10:00:{second:02d}.000Z"


def sdo(stix_type: str, *, version: int = 0, **properties: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": stix_type,
        "spec_version": "2.1",
        "id": properties.pop("id", f"{stix_type}--{uuid.uuid4()}"),
        "created": stamp(),
        "modified": stamp(1, version),
    }
    obj.update(properties)
    return obj


def indicator(value: str, **properties: Any) -> dict[str, Any]:
    kind = "domain-name" if value[0].isalpha() else "ipv4-addr"
    return sdo(
        "indicator",
        name=properties.pop("name", f"Bad {value}"),
        pattern=f"[{kind}:value = '{value}']",
        pattern_type="stix",
        valid_from=stamp(),
        **properties,
    )


def report_sdo(refs: list[str], **properties: Any) -> dict[str, Any]:
    properties.setdefault("name", "Phishing wave against grid operators")
    return sdo(
        "report",
        published=stamp(),
        object_refs=refs,
        report_types=["threat-report"],
        **properties,
    )


def bundle_of(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)}


def foreign(country: str = "DE", **extra: Any) -> IngestContext:
    extra.setdefault("source", Source.FILE)
    return IngestContext(origin_country=country, label="test", **extra)


def local(user: Any, organisation: Any, **extra: Any) -> IngestContext:
    extra.setdefault("source", Source.API)
    return IngestContext(user=user, organisation=organisation, **extra)


def observables_of(report: Report) -> list[str]:
    return [
        f"{kind}:{value}"
        for kind, value in report.observations.order_by("position").values_list(
            "observable__kind", "observable__value"
        )
    ]


def without(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key != name}


def counts() -> tuple[int, int, int, int]:
    return (
        Report.objects.count(),
        StixObject.objects.count(),
        Observable.objects.count(),
        ReportObservable.objects.count(),
    )


def fresh(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def member(analyst: Any, member_org: Any) -> dict[str, Any]:
    member_org.slug = "energy-company"
    member_org.save()
    return {"user": analyst, "org": member_org}


def command(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_stix", *args, stdout=out, stderr=err)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{err.getvalue()}") from exc
    return out.getvalue()


# --- The real shared bundles -----------------------------------------------------------------


def test_apt1_becomes_one_report_with_its_observables(member: dict[str, Any]) -> None:
    out = command(str(APT1), "--organisation", "energy-company")
    assert "76 objects: 76 stored, 0 already known, 0 failed" in out
    report = Report.objects.get()
    assert report.title == "APT1: Exposing One of China's Cyber Espionage Units"
    assert report.kind == Kind.ADVISORY
    assert report.marking == Marking.GREEN  # the bundle carries no marking: --marking's default
    assert report.reporter_organisation == member["org"]
    assert report.attribution == Attribution.NAMED
    assert "Mandiant" in report.summary
    # 4 networks, 3 domains and 3 MD5 hashes; the two certificate patterns name none.
    assert sorted(observables_of(report)) == sorted(
        [
            "cidr:223.166.0.0/15",
            "cidr:58.246.0.0/15",
            "cidr:112.64.0.0/15",
            "cidr:139.226.0.0/15",
            "domain:hugesoft.org",
            "domain:arrowservice.net",
            "domain:msnhome.org",
            "md5:001dd76872d80801692ff942308c64e6",
            "md5:002325a0a67fded0381b5648d7fe9b8e",
            "md5:00dbb9e1c09dbdafb360f3163ba5a3de",
        ]
    )
    assert report.observations.get(observable__value="hugesoft.org").note == "FQDN hugesoft.org"
    rows = StixObject.objects.filter(report=report)
    assert rows.count() == 76 and not rows.exclude(scope=Scope.REPORT).exists()
    assert rows.filter(is_latest=True).count() == 76
    body = json.loads(rows.get(stix_type="report").body)
    assert body["id"] == "report--e33ffe07-2f4c-48d8-b0af-ee2619d765cf"

    before = counts()
    again = command(str(APT1), "--organisation", "energy-company")
    assert "0 stored, 76 already known, 0 failed" in again
    assert counts() == before


def test_ics_attack_imports_from_abroad(member: dict[str, Any]) -> None:
    out = command(str(ICS), "--foreign", "--country", "US")
    assert "1826 objects: 1826 stored, 0 already known, 0 failed" in out
    assert StixObject.objects.count() == 1826
    reports = Report.objects.all()
    # Each mitigation (course-of-action) is a measure; everything else is one advisory.
    assert reports.filter(kind=Kind.MEASURE).count() == 52
    loose = reports.get(kind=Kind.ADVISORY)
    assert loose.title == "STIX objects imported from ics-attack-18.1.json"
    for report in reports:
        assert report.reporter_organisation is None
        assert report.attribution == Attribution.ANONYMOUS
        assert report.origin.origin_country == "US"
        assert report.origin.source == Source.FILE
    measure = reports.get(title="Network Segmentation")
    assert measure.origin.external_id.startswith("course-of-action--")
    assert measure.origin.reporter_label == "The MITRE Corporation"
    # A mitigation takes the techniques it mitigates along.
    assert StixObject.objects.filter(report=measure, stix_type="attack-pattern").exists()
    mitre = StixObject.objects.get(stix_id="identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5")
    assert mitre.scope == Scope.NAMED

    before = counts()
    assert "0 stored, 1826 already known" in command(str(ICS), "--foreign", "--country", "US")
    assert counts() == before


# --- Versions and origins ------------------------------------------------------------------


def test_newer_version_updates_older_is_ignored(member: dict[str, Any]) -> None:
    ind = indicator("198.51.100.7", object_marking_refs=[GREEN])
    v1 = report_sdo([ind["id"]], object_marking_refs=[GREEN], description="First look.")
    result = ingest([v1, ind], foreign())
    assert (result.stored, result.failed) == (2, 0)
    report = Report.objects.get()
    assert report.origin.external_modified.isoformat().startswith("2026-03-01T10:00:00")

    v2 = {**v1, "modified": stamp(1, 30), "name": "Phishing wave, now also banks"}
    v2["object_marking_refs"] = [AMBER]
    v2["description"] = "Second look."
    result = ingest([v2], foreign())
    assert result.reports_updated == [report.pk] and result.stored == 1
    report.refresh_from_db()
    assert report.title == "Phishing wave, now also banks"
    assert report.summary == "Second look."
    assert report.marking == Marking.AMBER
    assert report.version == 2
    assert report.origin.external_modified.second == 30
    assert observables_of(report) == ["ipv4:198.51.100.7"]  # the members stay
    latest = StixObject.objects.filter(stix_id=v1["id"], is_latest=True).get()
    assert json.loads(latest.body)["name"] == "Phishing wave, now also banks"

    older = {**v1, "modified": stamp(1, 10), "name": "An old draft"}
    result = ingest([older], foreign())
    assert result.failed == 0 and not result.reports_updated
    report.refresh_from_db()
    assert report.title == "Phishing wave, now also banks"
    assert StixObject.objects.filter(stix_id=v1["id"], is_latest=True).get().pk == latest.pk

    same = ingest([v2], foreign())
    assert (same.stored, same.unchanged, same.failed) == (0, 1, 0)
    assert StixObject.objects.filter(stix_id=v1["id"]).count() == 3


def test_another_origin_cannot_overwrite(member: dict[str, Any]) -> None:
    ind = indicator("evil.example")
    v1 = report_sdo([ind["id"]])
    ingest([v1, ind], foreign("DE"))
    report = Report.objects.get()

    v2 = {**v1, "modified": stamp(2), "name": "Taken over"}
    ind2 = {**ind, "modified": stamp(2), "name": "Taken over too"}
    for ctx in (foreign("FR"), local(member["user"], member["org"])):
        result = ingest([v2, ind2], ctx)
        assert result.failed == 2 and result.stored == 0
        assert all("belongs to another origin" in message for _i, _v, message in result.failures)
    report.refresh_from_db()
    assert report.title == "Phishing wave against grid operators"
    # The same version again is fine from anyone: it changes nothing.
    assert ingest([v1, ind], foreign("FR")).unchanged == 2

    # A report filed here cannot be changed by an import from abroad, nor by another member.
    mine = local(member["user"], member["org"])
    own = report_sdo([ind["id"]], name="Our own report")
    assert ingest([own], mine).reports_created
    bank = f.make_organisation("Bank", slug="bank", sectors=["banking"])
    f.accept_rules(bank)
    banker = f.make_user("banker")
    f.add_member(banker, bank)
    newer = {**own, "modified": stamp(3), "name": "Rewritten"}
    for ctx in (foreign("DE"), local(banker, bank)):
        assert "belongs to another origin" in ingest([newer], ctx).failures[0][2]
    assert ingest([newer], mine).reports_updated
    assert Report.objects.get(title="Rewritten").reporter_organisation == member["org"]


def test_revoked_report_is_withdrawn(member: dict[str, Any]) -> None:
    ind = indicator("198.51.100.9")
    v1 = report_sdo([ind["id"]])
    ingest([v1, ind], foreign())
    report = Report.objects.get()
    assert not report.is_withdrawn
    result = ingest([{**v1, "modified": stamp(2), "revoked": True}], foreign())
    assert result.reports_withdrawn == [report.pk]
    report.refresh_from_db()
    assert report.is_withdrawn
    assert StixObject.objects.get(stix_id=v1["id"], is_latest=True).revoked


def test_unknown_reference_fails_with_a_clear_message(member: dict[str, Any]) -> None:
    ghost = f"identity--{uuid.uuid4()}"
    bad = indicator("198.51.100.10", created_by_ref=ghost)
    good = indicator("198.51.100.11")
    result = ingest([bad, good], foreign())
    assert result.failures == [(bad["id"], bad["modified"], f"references unknown object {ghost}")]
    assert result.stored == 1
    # An object stored earlier may be referred to.
    identity = sdo("identity", name="CERT-DE", identity_class="organization")
    ingest([identity], foreign())
    later = indicator("198.51.100.12", created_by_ref=identity["id"])
    assert ingest([later], foreign()).failed == 0


def test_markings_from_peers_and_red(member: dict[str, Any]) -> None:
    strict = indicator(
        "198.51.100.20", object_marking_refs=[vocab.TLP2_MARKING_IDS["amber+strict"]]
    )
    red = indicator("198.51.100.21", object_marking_refs=[vocab.TLP2_MARKING_IDS[Marking.RED]])
    white = indicator("198.51.100.22", object_marking_refs=[next(iter(vocab.TLP1_MARKING_IDS))])
    peer_ctx = foreign()
    peer_ctx.peer = _peer()
    peer_ctx.source = Source.PEER
    result = ingest([strict, red, white], peer_ctx)
    messages = {stix_id: message for stix_id, _v, message in result.failures}
    assert "AMBER+STRICT" in messages[strict["id"]]
    assert "TLP:RED" in messages[red["id"]]
    assert result.stored == 1
    report = Report.objects.get()
    assert report.marking == Marking.CLEAR  # TLP 1.0 WHITE is CLEAR
    assert report.title == "Indicators received from Peerland CERT (DE)"
    assert report.origin.peer == peer_ctx.peer
    # Loose objects of each marking go to a report of that marking.
    mixed = [indicator("198.51.100.23", object_marking_refs=[AMBER]), indicator("198.51.100.24")]
    created = ingest(mixed, foreign("FR")).reports_created
    assert sorted(Report.objects.filter(pk__in=created).values_list("marking", flat=True)) == [
        Marking.AMBER,
        Marking.GREEN,
    ]


def _peer() -> Any:
    from accord.exchange.models import Peer

    return Peer.objects.create(
        name="Peerland CERT", slug="peerland", country="DE", api_root_url="https://peer.example/"
    )


def test_invalid_objects_fail_alone_with_reasons(member: dict[str, Any]) -> None:
    good = indicator("198.51.100.30")
    cases = {
        "no spec_version": {
            k: v for k, v in indicator("198.51.100.31").items() if k != "spec_version"
        },
        "stix 2.0": {**indicator("198.51.100.32"), "spec_version": "2.0"},
        "bad id": {**indicator("198.51.100.33"), "id": "indicator--not-a-uuid"},
        "wrong type in id": {**indicator("198.51.100.34"), "id": f"malware--{uuid.uuid4()}"},
        "modified before created": {**indicator("198.51.100.35"), "modified": EARLIER},
        "bad timestamp": {**indicator("198.51.100.36"), "created": "yesterday"},
        "no pattern": without(indicator("198.51.100.37"), "pattern"),
        "bad pattern": {**indicator("198.51.100.38"), "pattern": "[ipv4-addr:value = '1.2.3.4'"},
        "bad hash": {**indicator("x"), "pattern": "[file:hashes.MD5 = 'abc']"},
        "type not a string": {**indicator("198.51.100.39"), "type": ["indicator"]},
    }
    result = ingest([good, *cases.values(), "not an object"], foreign())
    assert result.stored == 1 and result.failed == len(cases) + 1
    messages = [message for _i, _v, message in result.failures]
    assert "spec_version is missing" in messages[0]
    assert "only STIX 2.1" in messages[1]
    assert "is not of the form" in messages[2]
    assert "does not start with its type" in messages[3]
    assert f"modified {EARLIER} is before created" in messages[4]
    assert "is not a STIX timestamp" in messages[5]
    assert "indicator requires the property pattern" in messages[6]
    assert "pattern does not parse" in messages[7]
    assert "not a valid MD5 hash" in messages[8]
    assert "is not a STIX type name" in messages[9]
    assert messages[10] == "not a JSON object"


def test_status_and_streamed_objects(member: dict[str, Any]) -> None:
    status = TaxiiStatus.objects.create(api_root="accord", collection_id="c", total_count=3)
    objects = [indicator("198.51.100.40"), indicator("198.51.100.41"), {"type": "indicator"}]
    ctx = local(member["user"], member["org"], status=status, source=Source.TAXII)
    result = ingest(iter(objects), ctx)  # read once: spooled to a file, not kept in memory
    assert (result.stored, result.failed) == (2, 1)
    status.refresh_from_db()
    assert status.status == TaxiiStatus.State.COMPLETE
    assert (status.success_count, status.failure_count, status.pending_count) == (2, 1, 0)
    assert {s["id"] for s in status.successes} == {objects[0]["id"], objects[1]["id"]}
    assert status.failures[0] == {"id": "", "version": "", "message": "id is missing."}
    report = Report.objects.get()
    assert report.title == "Indicators received over TAXII from Energy Company"
    assert report.reporter_organisation == member["org"]
    assert json.loads(StixObject.objects.get(stix_id=objects[0]["id"]).body) == objects[0]


# --- Reading bundles ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"type": "bundle", "objects": [{"a": 1},]}', "Malformed JSON at line 1, column"),
        (b'{"type": "bundle", "objects": [', "Malformed JSON"),
        (b"[1, 2]", "not a STIX bundle"),
        (b'{"type": "report", "objects": []}', '"type" is "report", not "bundle"'),
        (b'{"type": "bundle", "objects": {}}', '"objects" must be an array'),
        (b'{"type": "bundle", "objects": [{"id": "x"}, 3]}', "objects[1] is not a JSON object"),
        (b'{"type": "bundle", "spec_version": "2.0", "objects": []}', "STIX 2.0 bundle"),
        (b'{"type": "bundle", "id": "bundle--1", "objects": []}', 'is not "bundle--<UUID>"'),
        (b"\xff\xfe{}", "Malformed JSON"),
    ],
)
def test_reader_refuses_what_is_not_a_bundle(data: bytes, message: str) -> None:
    with pytest.raises(reader.BundleError) as refused:
        list(reader.iter_objects(data))
    assert message in str(refused.value)


def test_malformed_file_stores_nothing(member: dict[str, Any], tmp_path: Path) -> None:
    good = json.dumps(bundle_of(indicator("198.51.100.50")))
    broken = tmp_path / "broken.json"
    broken.write_text(good[:-30])
    with pytest.raises(CommandError) as failed:
        command(str(broken), "--organisation", "energy-company")
    assert "not imported: Malformed JSON" in str(failed.value)
    assert counts()[:2] == (0, 0)
    with pytest.raises(CommandError, match="Say where foreign material came from"):
        command(str(broken), "--foreign")
    with pytest.raises(CommandError, match="No organisation with the slug"):
        command(str(broken), "--organisation", "nobody")


# --- The JSON API -----------------------------------------------------------------------------


def bearer(user: Any, *, write: bool = True) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=write, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(
    client: Any, body: Any, auth: dict[str, str], media: str = "application/json", **q: str
) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    query = "&".join(f"{k}={v}" for k, v in q.items())
    return client.post(
        f"{API}/stix/import" + (f"?{query}" if query else ""), data, content_type=media, **auth
    )


@api_urls
def test_api_imports_a_bundle_atomically(client: Any, member: dict[str, Any]) -> None:
    auth = bearer(member["user"])
    ind = indicator("evil.example", object_marking_refs=[AMBER])
    document = bundle_of(report_sdo([ind["id"]], object_marking_refs=[AMBER]), ind)
    response = post(client, document, auth, media="application/stix+json;version=2.1")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert (answer["objects"], answer["stored"], answer["observables"]) == (2, 2, 1)
    report = Report.objects.get(pk=answer["reports_created"][0])
    assert report.marking == Marking.AMBER and report.reporter_organisation == member["org"]
    again = post(client, document, auth).json()
    assert (again["stored"], again["unchanged"], again["reports_created"]) == (0, 2, [])


@api_urls
def test_api_bad_input_is_4xx_and_stores_nothing(
    client: Any, member: dict[str, Any], settings: Any
) -> None:
    auth = bearer(member["user"])
    before = counts()
    malformed = post(client, b'{"type": "bundle", "objects": [', auth)
    assert malformed.status_code == 400
    assert malformed.json()["detail"].startswith("Malformed JSON at line 1")
    not_bundle = post(client, {"type": "indicator"}, auth)
    assert not_bundle.status_code == 400 and "not a STIX bundle" in not_bundle.json()["detail"]
    wrong_types = post(client, {"type": "bundle", "objects": ["indicator"]}, auth)
    assert wrong_types.status_code == 400
    assert wrong_types.json()["detail"] == "objects[0] is not a JSON object (found a string)."
    empty = post(client, b"  ", auth)
    assert empty.json()["detail"] == "The body is empty: send a STIX 2.1 bundle."
    assert post(client, bundle_of(), auth, media="text/plain").status_code == 415
    assert post(client, bundle_of(), auth, marking="red").status_code == 422
    assert post(client, bundle_of(), auth, organisation="nobody").status_code == 422
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    too_big = post(client, bundle_of(*[indicator(f"198.51.100.{n}") for n in range(9)]), auth)
    assert too_big.status_code == 413 and too_big.json()["detail"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

    ghost = f"identity--{uuid.uuid4()}"
    good = indicator("198.51.100.60")
    invalid = bundle_of(
        good,
        without(indicator("198.51.100.61"), "spec_version"),
        indicator("198.51.100.62", created_by_ref=ghost),
    )
    refused = post(client, invalid, auth)
    assert refused.status_code == 422
    body = refused.json()
    assert body["detail"] == "2 of 3 objects are invalid; nothing was stored."
    assert [failure["message"] for failure in body["failures"]] == [
        'spec_version is missing; STIX 2.1 objects carry "spec_version": "2.1".',
        f"references unknown object {ghost}",
    ]
    assert counts() == before

    assert post(client, bundle_of(good), {}).status_code == 401
    reader_only = f.make_user("reader")
    f.add_member(reader_only, member["org"], analyst=False)
    assert post(client, bundle_of(good), bearer(reader_only)).status_code == 403
    assert counts() == before


@api_urls
def test_api_over_http(live_server: Any, member: dict[str, Any], settings: Any) -> None:
    from django.urls import clear_url_caches

    if not _mounted():
        settings.ROOT_URLCONF = __name__
        clear_url_caches()
    _, token = accounts.create_token(member["user"], name="live", can_write=True)
    response = requests.post(
        f"{live_server.url}{API}/stix/import",
        data=APT1.read_bytes(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/stix+json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 76
    clear_url_caches()


# --- Our own export, imported again -----------------------------------------------------------

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OBSERVABLES = [
    ("198.51.100.7", "C2 server"),
    ("2001:db8::7", ""),
    ("203.0.113.0/24", "scanning range"),
    ("evil[.]example", "phishing domain"),
    ("hxxps://evil.example/it's/login?next=a'b", "landing page"),
    ("payroll@evil.example", ""),
    ("098f6bcd4621d373cade4e832627b4f6", ""),
    (SHA256, "dropper"),
    ("CVE-2024-3400", ""),
    ("AS64500", "bulletproof host"),
]


def file_report(user: Any, kind: str) -> Report:
    import datetime as dt

    return report_services.create_report(
        fresh(user),
        ReportDraft(
            kind=kind,
            title=f"A {kind} to travel",
            summary="Systems encrypted after a **VPN** compromise.",
            marking="amber",
            sectors=["energy", "banking"],
            country_of_origin="RU",
            references=["https://www.example.org/advisory/42"],
            effects=["data-attack", "exploit-end-hosts"] if kind == Kind.INCIDENT else [],
            incident_type="malicious-code:infected-system",
            task_areas=["incident-response"],
            core_components=["naming-numbering"],
            severity={"functional-impact": "significant", "observed-activity": "effect"},
            first_seen=dt.datetime(2026, 10, 1, 8, 30, tzinfo=dt.UTC),
            attribution=Attribution.PSEUDONYMOUS,
            observables=[ObservableInput(value=v, note=n) for v, n in OBSERVABLES],
        ),
    )


@pytest.mark.parametrize("kind", Kind.values)
@pytest.mark.parametrize("abroad", [False, True])
def test_our_export_round_trips(member: dict[str, Any], kind: str, abroad: bool) -> None:
    report = file_report(member["user"], kind)
    before = report_services.snapshot(report)
    notes = list(report.observations.order_by("position").values_list("note", flat=True))
    document = json.loads(json.dumps(bundle(mapping.report_objects(report))))
    report.delete()  # as if it arrived on another installation
    StixObject.objects.all().delete()

    ctx = foreign("NL") if abroad else local(member["user"], member["org"])
    result = ingest(document["objects"], ctx)
    assert result.failed == 0, result.failures
    assert len(result.reports_created) == 1  # everything belongs to the one report
    copy = Report.objects.get(pk=result.reports_created[0])
    after = report_services.snapshot(copy)
    assert after == before
    assert list(copy.observations.order_by("position").values_list("note", flat=True)) == notes
    if abroad:
        assert copy.attribution == Attribution.ANONYMOUS
        assert copy.origin.reporter_label == "Energy sector, NL"
    else:
        assert copy.attribution == Attribution.PSEUDONYMOUS
        assert copy.reporter_organisation is None or copy.reporter_organisation == member["org"]
        assert ReportOrigin.objects.count() == 0


# --- A large bundle, streamed ---------------------------------------------------------------

CHILD = """
import sys
import django
django.setup()
from django.core.management import call_command
from accord.exchange.stix import ingest  # everything the import needs, loaded before measuring


def rss_kb(field):
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith(field)).split()[1])


start = rss_kb("VmRSS:")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # from here VmHWM is the peak of the import alone
call_command("import_stix", sys.argv[1], organisation=sys.argv[2], verbosity=0)
print("RSS_KB", start, rss_kb("VmHWM:"))
"""


def write_bundle(target: Path, count: int, padding: int) -> int:
    """A pretty-printed bundle of ``count`` indicators, each with a long description."""
    with target.open("w") as fp:
        fp.write(f'{{"type": "bundle", "id": "bundle--{uuid.uuid4()}", "objects": [\n')
        for n in range(count):
            obj = indicator(f"h{n}.bulk.example", description="x" * padding)
            fp.write(("" if n == 0 else ",\n") + json.dumps(obj, indent=1))
        fp.write("\n]}\n")
    return target.stat().st_size


def import_in_child(bundle_path: Path, slug: str) -> int:
    """Import in a fresh process; how far its memory grew during the import (bytes)."""
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        url = f"postgres://{auth}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"
    else:
        url = f"sqlite:///{settings['NAME']}"
    # The production settings: follow-up work (publishing, notifying) is queued for
    # the task worker, as it is in a real import, and not done in the importing process.
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "accord.settings"}
    env.pop("ACCORD_TASK_BACKEND", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(bundle_path), slug],
        cwd=Path(__file__).parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    start_kb, peak_kb = map(int, done.stdout.split("RSS_KB")[1].split()[:2])
    return (peak_kb - start_kb) * 1024


@pytest.mark.django_db(transaction=True)
def test_large_bundle_streams_in_flat_memory(tmp_path: Path, rules: list) -> None:
    org = f.make_organisation("Bulk Importer", slug="bulk", sectors=["energy"])
    f.accept_rules(org)
    f.add_member(f.make_user("bulk"), org)
    small = write_bundle(tmp_path / "small.json", 10, 10)
    large = write_bundle(tmp_path / "large.json", 20_000, 2_400)
    assert large > 50 * 1024 * 1024 > 1000 * small

    small_growth = import_in_child(tmp_path / "small.json", "bulk")
    growth = import_in_child(tmp_path / "large.json", "bulk")
    # Loading the file whole would take several times its size; streaming costs a
    # couple of batches of objects, whatever the size of the file.
    assert growth < large / 2, (growth, small_growth, large)
    assert StixObject.objects.filter(stix_type="indicator").count() == 20_010
    assert ReportObservable.objects.count() == 20_010


def test_simple_patterns_agree_with_the_full_grammar() -> None:
    """The quick reading of feed patterns accepts nothing stix2-patterns refuses."""
    from stix2patterns.validator import run_validator

    patterns = [
        "[ipv4-addr:value = '198.51.100.1']",
        "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
        "[domain-name:value = 'a.example'] OR [url:value = 'http://a.example/x']",
        f"[file:hashes.'SHA-256' = '{SHA256}' OR file:hashes.MD5 = 'abc']",
        "[autonomous-system:number = 64500]",
        "[email-addr:value = 'it\\'s@a.example']",
        "[ipv4-addr:value = '1.2.3']",
    ]
    for pattern in patterns:
        try:
            validate.pattern_observables(pattern, validate=True)
            accepted = True
        except validate.Invalid:
            accepted = False
        assert accepted == (run_validator(pattern) == []), pattern
    assert validate.pattern_observables(patterns[1]) == [("cidr", "10.0.0.0/8")]
    assert validate.pattern_observables(patterns[4]) == [("asn", "AS64500")]
