"""The STIX 2.1 mapping of shared reports: every kind, marking and attribution, every
kind of observable, comments and sightings — checked with the OASIS validator and
parsed with the OASIS stix2 library, and read for what it must never say."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
import stix2
import stix2validator
from django.test import override_settings
from stix2patterns.validator import run_validator

from accord.exchange.stix import mapping, vocab
from accord.exchange.stix.export import bundle
from accord.sharing.models import Attribution, Kind, Marking, Report
from accord.sharing.services import reports
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.participation import add_comment, record_sighting
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db

# Warnings the validator gives on purpose-built output, and why (docs/stix-mapping.md):
# a reference links to a web page whose content we do not hold, so it has no hash;
# an indicator is "based-on" its cyber observable (the convention of OpenCTI and
# others), where STIX suggests "based-on" only towards observed-data.
DOCUMENTED_WARNINGS = ("has a URL but no hash", "not a suggested relationship target object")

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
MD5 = "098f6bcd4621d373cade4e832627b4f6"
# One of every kind of observable, some written the way people paste them.
OBSERVABLES = [
    ("198.51.100.7", "C2 server"),
    ("2001:db8::7", ""),
    ("203.0.113.0/24", "scanning range"),
    ("2001:db8:42::/48", ""),
    ("evil[.]example", "phishing domain"),
    ("hxxps://evil.example/it's/login?next=a'b", "landing page"),
    ("payroll@evil.example", ""),
    (MD5, ""),
    (SHA1, ""),
    (SHA256, "dropper"),
    ("CVE-2024-3400", "exploited"),
    ("AS64500", "bulletproof host"),
]


def fresh(user: Any) -> Any:
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def net(rules: list, coordinator: Any) -> dict[str, Any]:
    energy = f.make_organisation("Energy Company", slug="energy-company", sectors=["energy"])
    bank = f.make_organisation("Bank of Avaloria", slug="bank-avaloria", sectors=["banking"])
    for org in (energy, bank):
        f.accept_rules(org)
    e = f.make_user("erin", full_name="Erin Energy")
    b = f.make_user("bert", full_name="Bert Bank")
    f.add_member(e, energy)
    f.add_member(b, bank)
    group = WorkingGroup.objects.create(name="Grid ISAC", slug="grid-isac")
    GroupMembership.objects.create(group=group, user=e, organisation=energy)
    GroupMembership.objects.create(group=group, user=b, organisation=bank)
    return {"energy": energy, "bank": bank, "e": e, "b": b, "coordinator": coordinator}


# The types of the objects that belong to a report and carry its marking.
BOUND_TYPES = ("incident", "vulnerability", "report", "course-of-action", "indicator")
BOUND_TYPES += ("relationship", "note", "sighting")


def file_report(user: Any, **overrides: Any) -> Report:
    values: dict[str, Any] = {
        "kind": "incident",
        "title": "Ransomware at a grid operator",
        "summary": "Systems encrypted after a **VPN** compromise.",
        "marking": "amber",
        "sectors": ["energy", "banking"],
        "country_of_origin": "RU",
        "references": ["https://www.example.org/advisory/42"],
        "effects": ["data-attack", "exploit-end-hosts"],
        "incident_type": "malicious-code:infected-system",
        "task_areas": ["incident-response"],
        "core_components": ["naming-numbering"],
        "severity": {
            "functional-impact": "significant",
            "observed-activity": "effect",
            "recoverability": "supplemented",
        },
        "first_seen": dt.datetime(2026, 10, 1, 8, 30, tzinfo=dt.UTC),
        "last_seen": dt.datetime(2026, 10, 2, 17, 0, tzinfo=dt.UTC),
        "observables": [ObservableInput(value=v, note=n) for v, n in OBSERVABLES],
    }
    values.update(overrides)
    if values["marking"] == Marking.RED:
        values.setdefault("recipients", ["bert"])
    if values["marking"] == Marking.CLEAR:
        values["audience"] = "network"
    return reports.create_report(fresh(user), ReportDraft(**values))


def participate(report: Report, net: dict[str, Any]) -> None:
    """A comment marked like the report, a stricter one, a reply, and a sighting of
    each attribution."""
    b = fresh(net["b"])
    from accord import policy

    seen = policy.get_report(b, report.pk)
    first = add_comment(b, seen, body="We see the same VPN exploit.")
    add_comment(
        fresh(net["b"]),
        seen,
        body="Replying under a pseudonym.",
        parent_id=first.pk,
        attribution=Attribution.PSEUDONYMOUS,
    )
    if report.marking != Marking.RED:
        add_comment(fresh(net["b"]), seen, body="Stricter detail.", marking=Marking.RED)
    for attribution in Attribution.values:
        record_sighting(
            fresh(net["b"]),
            seen,
            observable="198.51.100.7",
            count=3,
            attribution=attribution,
            note=f"{attribution} sighting",
        )
    record_sighting(fresh(net["b"]), seen, count=1, note="the whole report")


def validate(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A bundle of the objects that validates without errors and parses."""
    document = bundle(objects)
    text = json.dumps(document)
    results = stix2validator.validate_string(text)
    assert results.is_valid, [str(e) for e in results.errors]
    for warning in results.warnings or []:
        assert any(reason in str(warning) for reason in DOCUMENTED_WARNINGS), warning
    parsed = stix2.parse(text, allow_custom=True)
    assert len(parsed.objects) == len(document["objects"])
    return document["objects"]


def by_type(objects: list[dict[str, Any]], stix_type: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["type"] == stix_type]


def one(objects: list[dict[str, Any]], stix_id: str) -> dict[str, Any]:
    return next(o for o in objects if o["id"] == stix_id)


@pytest.mark.parametrize("kind", Kind.values)
@pytest.mark.parametrize("attribution", Attribution.values)
def test_every_kind_and_attribution_validates_and_parses(
    net: dict[str, Any], kind: str, attribution: str
) -> None:
    marking = [m for m in Marking.values][(Kind.values.index(kind) + 2) % len(Marking.values)]
    report = file_report(net["e"], kind=kind, attribution=attribution, marking=marking)
    participate(report, net)
    for abroad in (False, True):
        objects = validate(mapping.report_objects(report, abroad=abroad))
        main = one(objects, mapping.main_id(report))
        assert main["type"] == mapping.MAIN_TYPES[kind]
        assert main["object_marking_refs"] == [vocab.TLP2_MARKING_IDS[marking]]
        assert main["extensions"][vocab.ACCORD_EXTENSION_ID]["kind"] == kind
        assert len(by_type(objects, "indicator")) == len(OBSERVABLES) - 1  # the CVE is none
        assert len(by_type(objects, "sighting")) == 4


@pytest.mark.parametrize("marking", Marking.values)
def test_every_marking_uses_the_official_tlp2_definition(net: dict[str, Any], marking: str) -> None:
    report = file_report(net["e"], kind="advisory", marking=marking)
    objects = validate(mapping.report_objects(report))
    definitions = by_type(objects, "marking-definition")
    assert definitions == [vocab.TLP2_MARKING_OBJECTS[marking]]
    tlp_id = vocab.TLP2_MARKING_IDS[marking]
    for obj in objects:
        if obj["type"] in ("marking-definition", "extension-definition", "identity"):
            continue
        assert obj["object_marking_refs"] == [tlp_id], obj["id"]


def test_tlp2_objects_are_exactly_as_oasis_published_them() -> None:
    # cti-stix-common-objects, objects/marking-definition/marking-definition--e828b379….json
    assert vocab.TLP2_MARKING_OBJECTS[Marking.RED] == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:RED",
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": "red",
            }
        },
    }
    names = {m: o["name"] for m, o in vocab.TLP2_MARKING_OBJECTS.items()}
    assert names == {
        "clear": "TLP:CLEAR",
        "green": "TLP:GREEN",
        "amber": "TLP:AMBER",
        "amber+strict": "TLP:AMBER+STRICT",
        "red": "TLP:RED",
    }


def test_observables_become_indicators_with_patterns_and_cyber_observables(
    net: dict[str, Any],
) -> None:
    report = file_report(net["e"])
    objects = validate(mapping.report_objects(report))
    patterns = {o["name"]: o["pattern"] for o in by_type(objects, "indicator")}
    assert patterns == {
        "198.51.100.7": "[ipv4-addr:value = '198.51.100.7']",
        "2001:db8::7": "[ipv6-addr:value = '2001:db8::7']",
        "203.0.113.0/24": "[ipv4-addr:value ISSUBSET '203.0.113.0/24']",
        "2001:db8:42::/48": "[ipv6-addr:value ISSUBSET '2001:db8:42::/48']",
        "evil.example": "[domain-name:value = 'evil.example']",
        "https://evil.example/it's/login?next=a'b": (
            "[url:value = 'https://evil.example/it\\'s/login?next=a\\'b']"
        ),
        "payroll@evil.example": "[email-addr:value = 'payroll@evil.example']",
        MD5: f"[file:hashes.MD5 = '{MD5}']",
        SHA1: f"[file:hashes.'SHA-1' = '{SHA1}']",
        SHA256: f"[file:hashes.'SHA-256' = '{SHA256}']",
        "AS64500": "[autonomous-system:number = 64500]",
    }
    for pattern in patterns.values():
        assert run_validator(pattern) == [], pattern
    # Cyber observables carry the ids STIX prescribes, as the OASIS library computes them.
    expected = {
        stix2.IPv4Address(value="198.51.100.7").id,
        stix2.IPv6Address(value="2001:db8::7").id,
        stix2.IPv4Address(value="203.0.113.0/24").id,
        stix2.IPv6Address(value="2001:db8:42::/48").id,
        stix2.DomainName(value="evil.example").id,
        stix2.URL(value="https://evil.example/it's/login?next=a'b").id,
        stix2.EmailAddress(value="payroll@evil.example").id,
        stix2.File(hashes={"MD5": MD5}).id,
        stix2.File(hashes={"SHA-1": SHA1}).id,
        stix2.File(hashes={"SHA-256": SHA256}).id,
        stix2.AutonomousSystem(number=64500).id,
    }
    scos = {o["id"] for o in objects if o["type"] in expected_types(expected)}
    assert scos == expected
    # Each indicator is based on its observable and tied to the incident.
    relationships = by_type(objects, "relationship")
    based_on = {
        (r["source_ref"], r["target_ref"])
        for r in relationships
        if r["relationship_type"] == "based-on"
    }
    assert len(based_on) == 11 and {target for _s, target in based_on} == expected
    main = mapping.main_id(report)
    related = {r["target_ref"] for r in relationships if r["source_ref"] == main}
    indicators = {o["id"] for o in by_type(objects, "indicator")}
    (cve,) = by_type(objects, "vulnerability")
    assert related == indicators | {cve["id"]}
    assert cve["name"] == "CVE-2024-3400"
    assert cve["external_references"] == [{"source_name": "cve", "external_id": "CVE-2024-3400"}]
    notes = {o["name"]: o["description"] for o in by_type(objects, "indicator")}
    assert notes["198.51.100.7"] == "C2 server"


def expected_types(ids: set[str]) -> set[str]:
    return {i.split("--")[0] for i in ids}


def test_kinds_link_their_observables_as_stix_suggests(net: dict[str, Any]) -> None:
    measure = file_report(net["e"], kind="measure", title="Block the C2 range")
    objects = mapping.report_objects(measure)
    links = {
        r["relationship_type"]
        for r in by_type(objects, "relationship")
        if r["source_ref"] == mapping.main_id(measure)
    }
    assert links == {"mitigates"}
    advisory = file_report(net["e"], kind="advisory", title="Patch your firewalls")
    objects = mapping.report_objects(advisory)
    main = one(objects, mapping.main_id(advisory))
    assert main["type"] == "report" and main["report_types"] == ["threat-report"]
    contained = {o["id"] for o in objects if "created" not in o or o["type"] in BOUND_TYPES}
    contained -= {o["id"] for o in by_type(objects, "marking-definition")} | {main["id"]}
    assert contained == set(main["object_refs"])  # everything of the report but itself
    assert not [r for r in by_type(objects, "relationship") if r["source_ref"] == main["id"]]
    empty = file_report(net["e"], kind="advisory", title="Nothing attached", observables=[])
    main = one(validate(mapping.report_objects(empty)), mapping.main_id(empty))
    assert main["object_refs"] == [mapping.installation_identity()["id"]]
    vulnerability = file_report(net["e"], kind="vulnerability", title="Hole in a PLC")
    main = one(mapping.report_objects(vulnerability), mapping.main_id(vulnerability))
    assert {"source_name": "cve", "external_id": "CVE-2024-3400"} in main["external_references"]


def test_classification_severity_and_incident_core(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    main = one(validate(mapping.report_objects(report)), mapping.main_id(report))
    assert main["name"] == "Ransomware at a grid operator"
    assert main["description"].startswith("Systems encrypted")
    assert main["labels"] == [
        "cissm:data-attack",
        "cissm:exploit-end-hosts",
        "rsit:malicious-code:infected-system",
        "task-area:incident-response",
        "public-core:naming-numbering",
        "sector:banking",
        "sector:energy",
    ]
    rsit = next(r for r in main["external_references"] if r["source_name"] == "rsit")
    assert rsit["external_id"] == "malicious-code:infected-system"
    assert rsit["url"] == vocab.RSIT_URL and "TF-CSIRT" in rsit["description"]
    assert {"source_name": "www.example.org", "url": "https://www.example.org/advisory/42"} in main[
        "external_references"
    ]
    core = main["extensions"][vocab.INCIDENT_CORE_EXTENSION_ID]
    report.refresh_from_db()
    assert core == {
        "extension_type": "property-extension",
        "determination": "successful-attempt",
        "investigation_status": "open",
        "criticality": report.severity_score,
        "incident_types": ["compromised-system", "destruction"],
        "recoverability": "supplemented",
        "scores": [core["scores"][0]],
    }
    assert core["scores"][0]["value"] == report.severity_score
    accord = main["extensions"][vocab.ACCORD_EXTENSION_ID]
    assert accord == {
        "extension_type": "property-extension",
        "kind": "incident",
        "attribution": "named",
        "audience": "network",
        "first_seen": "2026-10-01T08:30:00.000Z",
        "last_seen": "2026-10-02T17:00:00.000Z",
        "country_of_origin": "RU",
        "sectors": ["banking", "energy"],
        "effects": ["data-attack", "exploit-end-hosts"],
        "incident_type": "malicious-code:infected-system",
        "task_areas": ["incident-response"],
        "core_components": ["naming-numbering"],
        "severity": {
            "score": report.severity_score,
            "level": report.severity_level,
            "level_code": accord["severity"]["level_code"],
            "answers": report.severity_answers,
        },
    }


def test_extension_definition_is_created_by_the_installation(net: dict[str, Any]) -> None:
    with override_settings(
        ACCORD_COUNTRY="de", NETWORK_NAME="Cyber-Netz", SITE_URL="https://x.example"
    ):
        report = file_report(net["e"])
        objects = validate(mapping.report_objects(report))
        (definition,) = by_type(objects, "extension-definition")
        installation = one(objects, definition["created_by_ref"])
    assert definition["id"] == vocab.ACCORD_EXTENSION_ID
    assert definition["extension_types"] == ["property-extension"]
    assert definition["schema"] == "https://x.example/api/v1/stix/extension"
    assert installation["name"] == "Cyber-Netz"
    assert installation["extensions"][vocab.ACCORD_EXTENSION_ID]["country"] == "DE"
    assert definition["id"] == vocab.derived_id(
        "extension-definition", "accord", "report-properties", "1"
    )


def test_named_reporter_is_its_organisation_and_abroad_only_its_sector(net: dict[str, Any]) -> None:
    report = file_report(net["e"], attribution="named")
    objects = mapping.report_objects(report)
    main = one(objects, mapping.main_id(report))
    org_id = mapping.organisation_identity_id(net["energy"].pk)
    assert main["created_by_ref"] == org_id
    identity = one(objects, org_id)
    assert identity["name"] == "Energy Company"
    assert identity["identity_class"] == "organization"
    assert identity["sectors"] == ["energy"]
    for indicator in by_type(objects, "indicator"):
        assert indicator["created_by_ref"] == org_id

    abroad = validate(mapping.report_objects(report, abroad=True))
    text = json.dumps(abroad)
    assert "Energy Company" not in text and "energy-company" not in text and org_id not in text
    main = one(abroad, mapping.main_id(report))
    sector = one(abroad, main["created_by_ref"])
    assert sector["identity_class"] == "class"
    assert sector["name"] == "Energy sector, NL"
    assert main["extensions"][vocab.ACCORD_EXTENSION_ID]["attribution"] == "pseudonymous"


def test_pseudonymous_reporter_is_only_a_sector_class(net: dict[str, Any]) -> None:
    report = file_report(net["e"], attribution="pseudonymous", marking="green")
    objects = validate(mapping.report_objects(report))
    text = json.dumps(objects)
    assert "Energy Company" not in text and "energy-company" not in text
    assert mapping.organisation_identity_id(net["energy"].pk) not in text
    identities = {o["id"] for o in by_type(objects, "identity")}
    main = one(objects, mapping.main_id(report))
    sector = one(objects, main["created_by_ref"])
    assert identities == {sector["id"], mapping.installation_identity()["id"]}
    assert sector["name"] == "Energy sector, NL" and sector["identity_class"] == "class"
    assert sector["sectors"] == ["energy"]
    assert main["extensions"][vocab.ACCORD_EXTENSION_ID]["attribution"] == "pseudonymous"
    assert mapping.report_objects(report, abroad=True) == objects


def test_anonymous_report_names_nobody_and_keeps_only_the_day(net: dict[str, Any]) -> None:
    report = file_report(net["e"], attribution="anonymous", marking="green")
    objects = validate(mapping.report_objects(report))
    text = json.dumps(objects)
    energy = net["energy"]
    assert energy.name not in text and energy.slug not in text
    assert mapping.organisation_identity_id(energy.pk) not in text
    assert report.authorship_tag not in text
    assert [o["id"] for o in by_type(objects, "identity")] == [
        mapping.installation_identity()["id"]
    ]
    for obj in objects:
        if obj["type"] in ("identity", "extension-definition", "marking-definition"):
            continue
        assert "created_by_ref" not in obj, obj["id"]
        if "created" in obj:
            assert obj["created"].endswith("T00:00:00.000Z"), obj["id"]
            assert obj["modified"].endswith("T00:00:00.000Z"), obj["id"]
    main = one(objects, mapping.main_id(report))
    assert main["extensions"][vocab.ACCORD_EXTENSION_ID]["attribution"] == "anonymous"
    assert mapping.report_objects(report, abroad=True) == objects


def test_comments_and_sightings(net: dict[str, Any]) -> None:
    report = file_report(net["e"], marking="amber")
    participate(report, net)
    objects = validate(mapping.report_objects(report))
    main_id = mapping.main_id(report)
    notes = by_type(objects, "note")
    assert [n["content"] for n in notes] == [
        "We see the same VPN exploit.",
        "Replying under a pseudonym.",
    ]  # the RED comment is stricter than the AMBER report: not exported
    first, reply = notes
    bank_id = mapping.organisation_identity_id(net["bank"].pk)
    assert first["created_by_ref"] == bank_id and first["object_refs"] == [main_id]
    assert reply["object_refs"] == [main_id, first["id"]]
    assert one(objects, reply["created_by_ref"])["name"] == "Banking sector, NL"
    assert reply["extensions"][vocab.ACCORD_EXTENSION_ID]["attribution"] == "pseudonymous"

    sightings = {s["description"]: s for s in by_type(objects, "sighting")}
    indicator = next(o["id"] for o in by_type(objects, "indicator") if o["name"] == "198.51.100.7")
    named = sightings["named sighting"]
    assert named["sighting_of_ref"] == indicator and named["count"] == 3
    assert named["where_sighted_refs"] == [bank_id] == [named["created_by_ref"]]
    assert named["first_seen"] == named["last_seen"]
    pseudonymous = sightings["pseudonymous sighting"]
    assert one(objects, pseudonymous["where_sighted_refs"][0])["identity_class"] == "class"
    anonymous = sightings["anonymous sighting"]
    assert "where_sighted_refs" not in anonymous and "created_by_ref" not in anonymous
    assert anonymous["created"].endswith("T00:00:00.000Z")
    assert anonymous["first_seen"].endswith("T00:00:00.000Z")
    assert sightings["the whole report"]["sighting_of_ref"] == main_id

    abroad = validate(mapping.report_objects(report, abroad=True))
    assert "Bank of Avaloria" not in json.dumps(abroad)
    named_abroad = one(abroad, named["id"])
    assert one(abroad, named_abroad["where_sighted_refs"][0])["name"] == "Banking sector, NL"


def test_ids_are_deterministic_and_survive_edits(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    before = mapping.report_objects(report)
    assert mapping.report_objects(Report.objects.get(pk=report.pk)) == before
    draft = reports.draft_from_report(report)
    draft.title = "Ransomware at a grid operator (update)"
    draft.observables = [*draft.observables, ObservableInput(value="192.0.2.99")]
    report = reports.update_report(fresh(net["e"]), report, draft)
    after = mapping.report_objects(report)
    assert {o["id"] for o in before} < {o["id"] for o in after}
    main_before, main_after = (
        one(before, mapping.main_id(report)),
        one(after, mapping.main_id(report)),
    )
    assert main_after["created"] == main_before["created"]
    assert main_after["modified"] > main_before["modified"]
    for obj in after:  # STIX wants UUIDv4 in the ids of domain and relationship objects
        if obj["type"] in BOUND_TYPES or obj["type"] == "identity":
            assert uuid.UUID(obj["id"].split("--")[1]).version == 4, obj["id"]


def test_withdrawn_report_is_revoked(net: dict[str, Any]) -> None:
    report = file_report(net["e"])
    report = reports.withdraw_report(fresh(net["e"]), report, reason="Duplicate")
    objects = validate(mapping.report_objects(report))
    for obj in objects:
        if obj["type"] in ("incident", "indicator", "relationship", "vulnerability"):
            assert obj["revoked"] is True, obj["id"]
