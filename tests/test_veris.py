"""``accord import-veris``: VERIS incidents (the VCDB sample) as incident reports."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accord.audit.models import AuditEntry
from accord.sharing import veris
from accord.sharing.classification import get_incident_type, validate_effects
from accord.sharing.models import Report
from tests import factories as f

# The VCDB sample shipped with the tests (tests/data/README.md says where it comes
# from). When it is missing the tests fail rather than skip.
VCDB = Path(__file__).resolve().parent / "data" / "vcdb"
ACCORD = Path(sys.executable).with_name("accord")


def _sample() -> list[Path]:
    assert VCDB.is_dir(), f"The VCDB sample is missing: {VCDB}"
    files = sorted(VCDB.glob("*.json"))
    assert files, f"No VERIS files in {VCDB}"
    return files


def _record(prefix: str) -> tuple[Path, dict[str, Any]]:
    (path,) = [p for p in _sample() if p.name.startswith(prefix)]
    return path, json.loads(path.read_text(encoding="utf-8"))


def _valid_incident_ids() -> set[str]:
    """Counted here without the importer: a JSON object with an incident id and actions."""
    ids = set()
    for path in _sample():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("incident_id") and data.get("action"):
            ids.add(data["incident_id"])
    return ids


def _run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_veris", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _report_for(organisation: Any, data: dict[str, Any]) -> Report:
    return Report.objects.get(
        reporter_organisation=organisation,
        summary__endswith=f"VERIS incident id: {data['incident_id']}",
    )


def test_imports_the_vcdb_sample_once(analyst: Any, member_org: Any) -> None:
    expected = _valid_incident_ids()
    assert len(expected) == len(_sample())  # the sample holds no broken files

    out, err = _run(str(VCDB), organisation=member_org.slug)

    reports = Report.objects.filter(reporter_organisation=member_org)
    assert reports.count() == len(expected)
    assert err == ""
    assert f"Imported {len(expected)}, skipped 0 as duplicates, failed 0" in out
    ids = {r.summary.rsplit("VERIS incident id: ", 1)[1] for r in reports}
    assert ids == expected
    for report in reports:
        assert report.kind == "incident"
        assert report.created_by == analyst
        assert report.marking == "green" and report.attribution == "named"
        assert 3 <= len(report.title) <= 120
        assert report.effects == validate_effects(report.effects)
        if report.incident_type:
            get_incident_type(report.incident_type)
        assert all(url.startswith(("http://", "https://")) for url in report.references)

    audit_entries = AuditEntry.objects.count()
    out, err = _run(str(VCDB), organisation=member_org.slug)
    assert f"Imported 0, skipped {len(expected)} as duplicates, failed 0" in out
    assert Report.objects.filter(reporter_organisation=member_org).count() == len(expected)
    assert AuditEntry.objects.count() == audit_entries


def test_moveit_ransomware_label_without_encryption(analyst: Any, member_org: Any) -> None:
    path, data = _record("E12ACA81")
    _run(str(path), organisation=member_org.slug)
    report = _report_for(member_org, data)

    # VERIS lists "Ransomware" among the malware, but records no availability
    # attribute: nothing was encrypted or lost, so there is no data attack. The
    # data were disclosed from servers ("S - …") the intruder got into.
    assert "Ransomware" in data["action"]["malware"]["variety"]
    assert "availability" not in data["attribute"]
    assert data["attribute"]["confidentiality"]["data_disclosure"] == "Yes"
    assert all(a["variety"].startswith("S - ") for a in data["asset"]["assets"])
    assert report.effects == ["exploit-application-servers"]
    # malware (a backdoor) was installed on those servers
    assert "Backdoor" in data["action"]["malware"]["variety"]
    assert report.incident_type == "malicious-code:infected-system"

    cves = sorted(c.strip() for c in data["action"]["hacking"]["cve"].split(";"))
    observed = report.observations.values_list("observable__kind", "observable__value")
    assert sorted(observed) == [("cve", c) for c in cves]
    assert data["actor"]["external"]["country"] == ["RU"]
    assert report.country_of_origin == "RU"
    assert data["victim"]["industry"].startswith("611")  # NAICS 611: educational services
    assert list(report.sectors.values_list("code", flat=True)) == ["education"]
    when = data["timeline"]["incident"]  # year and month only: the first of the month
    assert "day" not in when
    assert report.first_seen == dt.datetime(when["year"], when["month"], 1, tzinfo=dt.UTC)
    assert report.title == data["summary"].split(".")[0] + "."
    assert report.references == [data["reference"]]


def test_defacement_with_data_theft_has_both_families(analyst: Any, member_org: Any) -> None:
    path, data = _record("00EC558C")
    _run(str(path), organisation=member_org.slug)
    report = _report_for(member_org, data)

    integrity = set(data["attribute"]["integrity"]["variety"])
    availability = set(data["attribute"]["availability"]["variety"])
    expected = set()
    if "Defacement" in integrity:  # the public web site now said what the attacker wanted
        expected.add("message-manipulation")
    if "Destruction" in availability or "Modify data" in integrity:  # "rm -fr", changed data
        expected.add("data-attack")
    if data["attribute"]["confidentiality"]["data_disclosure"] == "Yes" and any(
        a["variety"].startswith("S - ") for a in data["asset"]["assets"]
    ):
        expected.add("exploit-application-servers")
    assert expected == {"message-manipulation", "data-attack", "exploit-application-servers"}
    assert set(report.effects) == expected
    # how the attacker got in is "Unknown", but the breach is confirmed
    assert data["action"]["hacking"]["variety"] == ["Unknown"]
    assert report.incident_type == "intrusions:system-compromise"

    assert data["victim"]["industry"] == "332993"  # NAICS: ammunition manufacturing
    assert list(report.sectors.values_list("code", flat=True)) == ["defence-industry"]
    assert report.country_of_origin == data["actor"]["external"]["country"][0]
    # an activist actor; personal and internal data disclosed: the worse of the two
    assert data["actor"]["external"]["variety"] == ["Activist"]
    assert report.severity_answers["actor"] == "hacktivist"
    assert report.severity_answers["information-impact"] == "proprietary-breach"
    assert report.severity_score is not None


def test_ransomware_that_encrypted_is_a_data_attack_only(analyst: Any, member_org: Any) -> None:
    path, data = _record("b884eea0")
    _run(str(path), organisation=member_org.slug)
    report = _report_for(member_org, data)

    # Obscuration is VERIS for data made unusable (encrypted); no confidentiality
    # attribute means nothing was taken, and the software installed is how the
    # ransomware got there, not an exploitive effect of its own.
    assert data["attribute"]["availability"]["variety"] == ["Obscuration"]
    assert "confidentiality" not in data["attribute"]
    assert report.effects == ["data-attack"]
    assert report.incident_type == (
        "information-content-security:unauthorised-information-modification"
    )
    assert data["victim"]["industry"].startswith("92")  # public administration
    assert list(report.sectors.values_list("code", flat=True)) == ["public-administration"]
    assert report.country_of_origin == ""  # the actor's country is "Unknown"
    # two addresses joined by a comma in one reference
    assert len(report.references) == 2
    assert report.title == data["summary"]  # a single short sentence


def test_a_stolen_computer_is_not_a_cissm_attack(analyst: Any, member_org: Any) -> None:
    path, data = _record("002599D4")
    _run(str(path), organisation=member_org.slug)
    report = _report_for(member_org, data)

    # A theft by hand: no computer was broken into, nothing was disrupted by a
    # cyber means, and the data were only "Potentially" disclosed.
    assert list(data["action"]) == ["physical"]
    assert report.effects == ["undetermined"]
    assert report.incident_type == "information-content-security:data-loss"
    assert report.severity_answers["information-impact"] == "suspected-but-not-identified"
    assert report.sectors.count() == 0  # NAICS 813410, civic organisations: no Accord sector
    assert len(report.title) <= 120 and report.title.endswith("…")
    assert report.references == [data["reference"].split()[0]]


def test_broken_files_are_reported_and_the_rest_imported(
    analyst: Any, member_org: Any, tmp_path: Path
) -> None:
    good = _sample()[:3]
    for path in good:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "broken.json").write_text('{"incident_id": "x", ', encoding="utf-8")
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    (tmp_path / "other.json").write_text('{"hello": "world"}', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not even considered", encoding="utf-8")

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="3 of 6 files could not be imported"):
        call_command(
            "import_veris", str(tmp_path), organisation=member_org.slug, stdout=out, stderr=err
        )

    assert Report.objects.filter(reporter_organisation=member_org).count() == 3
    lines = err.getvalue().splitlines()
    assert len(lines) == 3
    assert any("broken.json: not valid JSON" in line for line in lines)
    assert any("list.json: not a VERIS incident" in line for line in lines)
    assert any("other.json: not a VERIS incident: no incident_id" in line for line in lines)
    assert "Imported 3, skipped 0 as duplicates, failed 3 (of 6 files)" in out.getvalue()


def test_dry_run_stores_nothing(analyst: Any, member_org: Any) -> None:
    entries = AuditEntry.objects.count()
    out, _err = _run(str(VCDB), organisation=member_org.slug, dry_run=True)
    assert f"Would import {len(_sample())}, skipped 0 as duplicates, failed 0" in out
    assert Report.objects.count() == 0
    assert AuditEntry.objects.count() == entries


def test_the_organisation_and_the_person_are_checked(
    analyst: Any, member_org: Any, rules: Any
) -> None:
    path = str(_sample()[0])
    with pytest.raises(CommandError, match="--organisation"):
        _run(path)
    with pytest.raises(CommandError, match="No organisation"):
        _run(path, organisation="nobody")
    with pytest.raises(CommandError, match="No such file"):
        _run(str(VCDB / "missing.json"), organisation=member_org.slug)

    outsider = f.make_user("outsider")
    with pytest.raises(CommandError, match="not an active analyst or representative"):
        _run(path, organisation=member_org.slug, username=outsider.username)

    # an organisation without the current rules accepted cannot share
    pending = f.make_organisation("Not Accepted Yet")
    f.add_member(f.make_user("newbie"), pending, analyst=True)
    with pytest.raises(CommandError, match="not in good standing"):
        _run(path, organisation=pending.slug)

    # in good standing, but nobody there may file
    quiet = f.make_organisation("Quiet Org")
    f.accept_rules(quiet)
    f.add_member(f.make_user("admin-only"), quiet, analyst=False, admin=True)
    with pytest.raises(CommandError, match="no active analyst or representative"):
        _run(path, organisation=quiet.slug)
    assert Report.objects.count() == 0


def test_as_names_the_filer_and_duplicates_are_per_organisation(
    analyst: Any, representative: Any, member_org: Any
) -> None:
    path = str(_sample()[0])
    _run(path, organisation=member_org.slug, username=representative.username)
    report = Report.objects.get()
    assert report.created_by == representative

    other = f.make_organisation("Other Member")
    f.accept_rules(other)
    f.add_member(f.make_user("other-analyst"), other, analyst=True)
    out, _err = _run(path, organisation=other.slug)
    assert "Imported 1, skipped 0" in out
    assert Report.objects.count() == 2


def test_anonymous_imports_are_recognised_again(analyst: Any, member_org: Any) -> None:
    paths = [str(p) for p in _sample()[:2]]
    _run(*paths, organisation=member_org.slug, attribution="anonymous", marking="amber")
    reports = Report.objects.all()
    assert reports.count() == 2
    assert all(r.reporter_organisation_id is None and r.created_by_id is None for r in reports)
    assert all(r.marking == "amber" for r in reports)

    out, _err = _run(*paths, organisation=member_org.slug, attribution="anonymous")
    assert "Imported 0, skipped 2 as duplicates" in out
    assert Report.objects.count() == 2


def test_mapping_details_from_real_records() -> None:
    # a date before 1990 is refused by the platform: left out, still in the text
    _path, old = _record("A0C86E3B")
    assert old["timeline"]["incident"]["year"] == 1984
    assert veris.first_seen_for(old) is None
    assert "- Incident date: 1984" in veris.summary_for(old)
    # "URL (20140214)" and "URL(20140214)" keep only the address
    _path, chile = _record("8A77A133")
    refs = veris.references_for(chile)
    assert refs[0] == "http://news.bbc.co.uk/2/hi/americas/7395295.stm"
    assert len(refs) == 3
    # no scheme: not an http(s) address, dropped
    _path, eharmony = _record("DB2787A6")
    assert eharmony["reference"].startswith("arstechnica.com")
    assert veris.references_for(eharmony) == []
    # the victim's name never reaches the summary
    for prefix in ("E12ACA81", "002599D4", "b884eea0"):
        _path, data = _record(prefix)
        victim = data["victim"]["victim_id"]
        assert victim not in veris.summary_for(data).split("**From the VERIS record**")[1]


def test_title_falls_back_to_industry_country_and_year() -> None:
    _path, data = _record("b884eea0")
    data = {**data, "summary": ""}
    assert veris.title_for(data) == "VERIS incident Public Administration, ES 2019"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"incident_id": "a", "schema_version": "2.0"}, "schema_version"),
        ({"incident_id": "a b c", "schema_version": "1.3.7"}, "not an identifier"),
        ({"incident_id": "a", "schema_version": "1.3.7", "action": {}}, "no action"),
        (
            {"incident_id": "a", "schema_version": "1.3.7", "action": {"error": {}}},
            "timeline.incident.year",
        ),
    ],
)
def test_what_is_not_a_veris_incident(content: dict[str, Any], reason: str) -> None:
    with pytest.raises(veris.NotVeris, match=reason):
        veris.check_incident(content)


def _database_url() -> str:
    """The test database, for a process of its own."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = quote(settings.get("USER") or "")
    password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = f":{settings['PORT']}" if settings.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{settings['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_the_accord_command_line(tmp_path: Path) -> None:
    f.publish_rules()
    org = f.make_organisation("Command Line Org", slug="cli-org")
    f.accept_rules(org)
    f.add_member(f.make_user("cli-analyst"), org, analyst=True)
    for path in _sample()[:2]:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "zz-broken.json").write_text("{", encoding="utf-8")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "accord.settings",
        "DATABASE_URL": _database_url(),
    }

    result = subprocess.run(
        [ACCORD, "import-veris", str(tmp_path), "--organisation", "cli-org"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "zz-broken.json: not valid JSON" in result.stderr
    assert "Imported 2, skipped 0 as duplicates, failed 1" in result.stdout
    assert Report.objects.filter(reporter_organisation=org).count() == 2
