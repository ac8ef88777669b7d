"""MISP core JSON: real events in, reports out, PyMISP loading what is exported."""

from __future__ import annotations

import copy
import io
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pymisp
import pytest
from django.core.management import CommandError, call_command
from django.urls import path
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ninja import NinjaAPI
from pymisp import MISPEvent

from accord import policy
from accord.accounts import services as accounts
from accord.api import api as accord_api
from accord.exchange.api_misp import router as misp_router
from accord.exchange.misp import summary
from accord.exchange.misp.event import MispError
from accord.exchange.misp.exporter import export_event
from accord.exchange.misp.importer import import_event, run_import
from accord.exchange.models import ReportOrigin
from accord.sharing.models import (
    Comment,
    Observable,
    Report,
    ReportObservable,
    ReportVersion,
    Sighting,
)
from accord.sharing.services import reports
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from tests import factories as f

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "misp"
JSON = "application/json"
API = "/api/v1"


# --- The API under test: accord.api mounts the router; until then a local URLconf does ------


def _mounted() -> bool:
    return any(router is misp_router for _prefix, router in accord_api._routers)


if _mounted():

    def api_urls(test: Any) -> Any:
        return test

else:
    _api = NinjaAPI(urls_namespace="misp-test-api", auth=accord_api.auth, docs_url=None)
    for _exc, _handler in accord_api._exception_handlers.items():
        _api.add_exception_handler(_exc, _handler)
    _api.add_router("/", misp_router)
    urlpatterns = [path("api/v1/", _api.urls)]
    api_urls = pytest.mark.urls(__name__)


# --- Helpers -------------------------------------------------------------------------------------


def event(name: str) -> dict[str, Any]:
    matches = list(DATA.glob(f"{name}*.json"))
    assert len(matches) == 1, name
    return json.loads(matches[0].read_text(encoding="utf-8"))


def describe_types() -> dict[str, Any]:
    path = Path(pymisp.__file__).parent / "data" / "describeTypes.json"
    return json.loads(path.read_text(encoding="utf-8"))["result"]


def load(data: dict[str, Any]) -> MISPEvent:
    """PyMISP's own reading of an exported event (from the JSON text, as MISP gets it)."""
    loaded = MISPEvent()
    loaded.load(json.dumps(data))
    return loaded


def pairs(report: Report) -> set[tuple[str, str]]:
    return set(report.observations.values_list("observable__kind", "observable__value").order_by())


def row_counts() -> tuple[int, ...]:
    return (
        Report.objects.count(),
        ReportVersion.objects.count(),
        ReportObservable.objects.count(),
        Observable.objects.count(),
        ReportOrigin.objects.count(),
    )


def bearer(user: Any) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=True, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def zebra(rules: list) -> Any:
    """An organisation with a name and slug that nothing else in an export could contain."""
    org = f.make_organisation("Zebra Power Ltd", sectors=["energy"], slug="zebra-power")
    f.accept_rules(org)
    return org


@pytest.fixture
def zed(zebra: Any) -> Any:
    user = f.make_user("zed", full_name="Zed Zebra")
    f.add_member(user, zebra)
    return user


@pytest.fixture
def olga(rules: list) -> Any:
    org = f.make_organisation("Grid Operator", sectors=["transport"], slug="grid-operator")
    f.accept_rules(org)
    user = f.make_user("olga", full_name="Olga Operator")
    f.add_member(user, org)
    return user


# --- Import of the real events -------------------------------------------------------------------

# file prefix: (title, kind, distinct observables, references)
REAL_EVENTS = {
    "56e12e66": ("Cerber Ransomware", "incident", 9, 0),
    "57153590": (
        "OSINT - ASERT Threat Intelligence Report 2016-03 The Four-Element Sword Engagement",
        "advisory",
        260,
        50,
    ),
    "57c4445b": ("Ransomware - Xorist", "incident", 3, 2),
    "5a0a9aa9": ("OSINT - New Malware with Ties to SunOrcal Discovered", "advisory", 50, 15),
    "5a0ac036": (
        "OSINT - Mitigating and eliminating info-stealing Qakbot and Emotet in corporate networks",
        "advisory",
        58,
        6,
    ),
    "5abf6421": ("OSINT - Crypter-as-a-Service Helps jRAT Fly Under The Radar", "advisory", 26, 10),
    "5acc88e9": (
        "OSINT - PUBG Ransomware Decrypts Your Files If You Play PlayerUnknown's Battlegrounds",
        "incident",  # no OSINT tag, whatever its title says
        3,
        2,
    ),
    "5c066053": ("MAR-10164494.r1.v1 (SamSam ransomware)", "incident", 17, 0),
}


def test_the_corpus_is_the_shared_one() -> None:
    names = sorted(p.name[:8] for p in DATA.glob("*.json"))
    assert names == sorted(REAL_EVENTS)


@pytest.mark.parametrize("name", sorted(REAL_EVENTS))
def test_every_real_event_imports(name: str, analyst: Any, member_org: Any) -> None:
    title, kind, observables, references = REAL_EVENTS[name]
    data = event(name)
    result = run_import(data, user=analyst, organisation=member_org)
    report = Report.objects.get(pk=result.report.pk)
    assert result.status == "created"
    assert report.title == title
    assert report.kind == kind
    assert report.marking == "clear"  # every one of them is tagged tlp:white
    assert report.observations.count() == observables
    assert len(report.references) == references
    assert report.reporter_organisation == member_org
    origin = report.origin
    assert origin.external_id == f"misp-event--{data['Event']['uuid']}"
    assert origin.source == "misp" and origin.origin_country == "" and origin.imported_by == analyst
    assert report.first_seen.date().isoformat() == data["Event"]["date"]
    # Nothing is lost unsaid: every live attribute is accounted for in the summary's counts.
    ev = result.event
    assert f"Attributes: {ev.attributes};" in report.summary
    assert ev.attributes == sum(
        1 for a in data["Event"].get("Attribute", []) if not a.get("deleted")
    ) + sum(len(o.get("Attribute", [])) for o in data["Event"].get("Object", []))
    # The real events are small enough for every other attribute to be listed by name.
    assert ev.others_listed == ev.others
    if ev.others:
        other = report.summary.split("## Other attributes", 1)[1]
        assert sum(line.startswith("- ") for line in other.splitlines()) == ev.others
    assert len(report.summary) <= 20000


def test_tags_and_galaxies_become_labels(analyst: Any) -> None:
    report = import_event(event("5acc88e9"), user=analyst)
    labels = summary.labels_of(report.summary)
    for cluster in (
        'misp-galaxy:mitre-intrusion-set="APT1 - G0006"',
        'misp-galaxy:mitre-intrusion-set="APT12 - G0005"',
        'misp-galaxy:mitre-malware="BACKSPACE - S0031"',
        'misp-galaxy:guidelines="Leak of confidential information"',
    ):
        assert cluster in labels
    assert 'circl:incident-classification="malware"' in labels
    assert not any(label.startswith("tlp:") for label in labels)  # the marking took it
    # A galaxy given as a tag and as a cluster is one label.
    assert len(labels) == len(set(labels))
    # Galaxy clusters given only as tags (misp-galaxy:…) are labels too.
    other = import_event(event("5abf6421"), user=analyst)
    assert 'misp-galaxy:rat="jRAT"' in summary.labels_of(other.summary)


def test_mapping_details_of_a_small_event(analyst: Any) -> None:
    report = import_event(event("57c4445b"), user=analyst)
    data = event("57c4445b")["Event"]
    hashes = {
        a["value"].lower() for a in data["Attribute"] if a["type"] in ("md5", "sha1", "sha256")
    }
    assert {value for _kind, value in pairs(report)} == hashes
    links = [a["value"] for a in data["Attribute"] if a["type"] == "link"]
    assert report.references == links
    # the regkey|value attribute is kept, with its type, in "Other attributes"
    regkey = next(a for a in data["Attribute"] if a["type"] == "regkey|value")
    other = report.summary.split("## Other attributes", 1)[1]
    assert "`regkey|value`" in other and regkey["value"].split("|")[0][:20] in other
    # the text and comment attributes are the summary's text
    text = next(a for a in data["Attribute"] if a["type"] == "text")
    assert " ".join(text["value"].split())[:60] in " ".join(report.summary.split())
    assert "Threat level: Low" in report.summary and "Analysis: Completed" in report.summary


def test_objects_join_file_names_and_ports(analyst: Any) -> None:
    report = import_event(event("5a0ac036"), user=analyst)
    data = event("5a0ac036")["Event"]
    ip_port = data["Object"][0]
    values = {a["object_relation"]: a["value"] for a in ip_port["Attribute"]}
    note = report.observations.get(observable__value=values["ip"]).note
    assert note.startswith("ip-dst · port ")
    # the port attributes became notes, not "other attributes"
    assert "`port`" not in report.summary


def test_reimport_is_a_no_op(analyst: Any, member_org: Any) -> None:
    for name in REAL_EVENTS:
        import_event(event(name), user=analyst, organisation=member_org)
    before = row_counts()
    assert before[0] == len(REAL_EVENTS)
    for name in REAL_EVENTS:
        result = run_import(event(name), user=analyst, organisation=member_org)
        assert result.status == "unchanged"
    assert row_counts() == before
    assert ReportVersion.objects.filter(number__gt=1).count() == 0


def test_a_newer_event_updates_an_older_one_does_not(analyst: Any) -> None:
    data = event("57c4445b")
    first = run_import(data, user=analyst).report
    newer = copy.deepcopy(data)
    newer["Event"]["timestamp"] = str(int(data["Event"]["timestamp"]) + 60)
    newer["Event"]["info"] = "Ransomware - Xorist (updated)"
    newer["Event"]["Attribute"].append(
        {"type": "ip-dst", "category": "Network activity", "value": "198.51.100.7", "to_ids": True}
    )
    result = run_import(newer, user=analyst)
    assert result.status == "updated" and result.report.pk == first.pk
    report = Report.objects.get(pk=first.pk)
    assert report.title == "Ransomware - Xorist (updated)" and report.version == 2
    assert ("ipv4", "198.51.100.7") in pairs(report)
    assert report.origin.external_modified.timestamp() == int(newer["Event"]["timestamp"])
    older = copy.deepcopy(data)
    older["Event"]["info"] = "An older copy"
    assert run_import(older, user=analyst).status == "unchanged"
    assert Report.objects.get(pk=first.pk).title == "Ransomware - Xorist (updated)"
    assert Report.objects.count() == 1


def test_only_the_importer_updates_and_others_get_the_same_report(analyst: Any, zed: Any) -> None:
    data = event("57c4445b")
    mine = import_event(data, user=analyst)
    newer = copy.deepcopy(data)
    newer["Event"]["timestamp"] = str(int(data["Event"]["timestamp"]) + 60)
    newer["Event"]["info"] = "Someone else's title"
    result = run_import(newer, user=zed)
    assert result.status == "exists" and result.report.pk == mine.pk
    assert Report.objects.get(pk=mine.pk).title == "Ransomware - Xorist"
    assert Report.objects.count() == 1


def test_an_invisible_duplicate_is_refused_without_storing(analyst: Any, zed: Any) -> None:
    data = set_tlp(event("57c4445b"), "tlp:amber")
    report = import_event(data, user=analyst, audience="coordination")
    assert report.marking == "amber"
    before = row_counts()
    with pytest.raises(MispError) as refused:
        import_event(data, user=zed)
    assert refused.value.status == 409
    assert row_counts() == before


def set_tlp(data: dict[str, Any], *tags: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    kept = [t for t in data["Event"].get("Tag", []) if not t["name"].startswith("tlp:")]
    data["Event"]["Tag"] = kept + [{"name": tag} for tag in tags]
    return data


@pytest.mark.parametrize(
    ("tags", "marking"),
    [
        ((), "green"),
        (("tlp:white",), "clear"),
        (("tlp:clear",), "clear"),
        (("tlp:green",), "green"),
        (("TLP:AMBER",), "amber"),
        (("tlp:amber+strict",), "amber+strict"),
        (("tlp:red",), "red"),
        (("tlp:green", "tlp:amber"), "amber"),  # the strictest tag wins
    ],
)
def test_marking_from_the_tlp_tag(analyst: Any, tags: tuple[str, ...], marking: str) -> None:
    report = import_event(set_tlp(event("57c4445b"), *tags), user=analyst)
    assert report.marking == marking
    if marking == "red":  # RED goes to named people: the importer, to start with
        assert list(report.recipients.values_list("username", flat=True)) == ["ana"]


def test_a_stricter_attribute_tag_marks_the_whole_report(analyst: Any) -> None:
    data = set_tlp(event("57c4445b"), "tlp:green")
    data["Event"]["Attribute"][0]["Tag"] = [{"name": "tlp:amber"}]
    assert import_event(data, user=analyst).marking == "amber"


def test_rsit_and_accord_tags(analyst: Any) -> None:
    data = set_tlp(event("57c4445b"), "tlp:green")
    data["Event"]["Tag"] += [
        {"name": 'rsit:malicious-code="infected-system"'},
        {"name": 'rsit:not-a-category="x"'},
        {"name": 'accord:kind="vulnerability"'},
        {"name": 'accord:sector="energy"'},
        {"name": 'accord:sector="no-such-sector"'},
    ]
    report = import_event(data, user=analyst)
    assert report.incident_type == "malicious-code:infected-system"
    assert report.kind == "vulnerability"
    assert list(report.sectors.values_list("code", flat=True)) == ["energy"]
    labels = summary.labels_of(report.summary)
    assert 'rsit:not-a-category="x"' in labels and 'accord:sector="no-such-sector"' in labels


def test_foreign_import(analyst: Any, coordinator: Any, olga: Any) -> None:
    data = set_tlp(event("5acc88e9"), "tlp:green")
    result = run_import(data, user=coordinator, foreign=True, origin_country="de")
    report = Report.objects.get(pk=result.report.pk)
    assert result.status == "created"
    assert report.reporter_organisation is None and report.attribution == "anonymous"
    assert report.authorship_tag == "" and report.created_by is None
    assert report.origin.origin_country == "DE" and report.origin.reporter_label == "CIRCL"
    assert report.origin.external_id == f"misp-event--{data['Event']['uuid']}"
    assert report.versions.count() == 1
    # members see it (GREEN, whole network); no local organisation claims it
    assert policy.reports_visible_to(olga).filter(pk=report.pk).exists()
    assert not policy.is_reporter(analyst, report)
    # the same event again is the same report; a newer one from the same origin updates it
    assert run_import(data, user=coordinator, foreign=True, origin_country="DE").status == (
        "unchanged"
    )
    newer = copy.deepcopy(data)
    newer["Event"]["timestamp"] = str(int(data["Event"]["timestamp"]) + 1)
    newer["Event"]["info"] = "PUBG ransomware, revised"
    assert run_import(newer, user=None, foreign=True, origin_country="DE").status == "updated"
    report.refresh_from_db()
    assert report.title == "PUBG ransomware, revised" and report.version == 2
    # another origin may not change it
    newest = copy.deepcopy(newer)
    newest["Event"]["timestamp"] = str(int(newer["Event"]["timestamp"]) + 1)
    with pytest.raises(MispError) as refused:
        run_import(newest, user=None, foreign=True, origin_country="FR")
    assert refused.value.status == 409
    assert run_import(newest, user=coordinator, foreign=True, origin_country="FR").status == (
        "exists"
    )
    # a local member importing it finds the foreign report, and cannot change it
    assert run_import(newest, user=analyst).status == "exists"
    report.refresh_from_db()
    assert report.title == "PUBG ransomware, revised" and Report.objects.count() == 1


def test_foreign_withdrawal_reaches_the_copy(coordinator: Any) -> None:
    data = set_tlp(event("57c4445b"), "tlp:green")
    report = import_event(data, user=coordinator, foreign=True, origin_country="BE")
    gone = copy.deepcopy(data)
    gone["Event"]["timestamp"] = str(int(data["Event"]["timestamp"]) + 1)
    gone["Event"]["Tag"].append({"name": 'accord:status="withdrawn"'})
    assert run_import(gone, user=coordinator, foreign=True, origin_country="BE").status == (
        "updated"
    )
    report.refresh_from_db()
    assert report.is_withdrawn


@pytest.mark.parametrize("tag", ["tlp:amber+strict", "tlp:red"])
def test_foreign_amber_strict_and_red_are_refused(coordinator: Any, tag: str) -> None:
    before = row_counts()
    with pytest.raises(MispError) as refused:
        import_event(
            set_tlp(event("57c4445b"), tag), user=coordinator, foreign=True, origin_country="DE"
        )
    assert refused.value.status == 422
    assert row_counts() == before


def test_foreign_imports_need_a_coordinator_and_a_country(analyst: Any, coordinator: Any) -> None:
    data = event("57c4445b")
    with pytest.raises(policy.PolicyDenied):
        import_event(data, user=analyst, foreign=True, origin_country="DE")
    with pytest.raises(MispError):
        import_event(data, user=coordinator, foreign=True, origin_country="")
    with pytest.raises(MispError):
        import_event(data, user=coordinator, foreign=True, origin_country="XX")
    assert Report.objects.count() == 0


def test_anonymous_local_import_records_no_importer(analyst: Any, member_org: Any) -> None:
    report = import_event(event("57c4445b"), user=analyst, attribution="anonymous")
    assert report.reporter_organisation is None and report.authorship_tag
    origin = report.origin
    assert origin.imported_by is None
    assert (origin.received_at.hour, origin.received_at.minute) == (0, 0)
    # the reporter still recognises it, and importing again finds it
    assert policy.is_reporter(analyst, report)
    assert run_import(event("57c4445b"), user=analyst).status == "unchanged"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("{not json", "Not valid JSON"),
        ("[1, 2]", "Not a MISP event"),
        ('{"Event": "x"}', "Not a MISP event"),
        ('{"Event": {"uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f"}}', "Event.info is missing"),
        ('{"Event": {"info": "No uuid here"}}', "Event.uuid is missing"),
        ('{"Event": {"info": "Bad uuid", "uuid": "nope"}}', "is not a UUID"),
        (
            '{"Event": {"info": "Bad attrs", "uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f",'
            ' "Attribute": {"type": "md5"}}}',
            "must be a list of objects",
        ),
        (
            '{"Event": {"info": "Bad date", "uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f",'
            ' "date": "yesterday"}}',
            "Event.date",
        ),
        (
            '{"Event": {"info": "Bad time", "uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f",'
            ' "timestamp": "soon"}}',
            "Event.timestamp",
        ),
        (
            '{"Event": {"info": "Nul \\u0000", "uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f"}}',
            "NUL",
        ),
        (
            '{"Event": {"info": "Lone \\ud800", "uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f"}}',
            "surrogate",
        ),
        ('{"Event": {"info": "x", "uuid": "5a0a9aa9-23a4-4607-b6df-41a9950d210f"}}', "title"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(analyst: Any, data: str, words: str) -> None:
    with pytest.raises(MispError) as refused:
        import_event(data, user=analyst)
    assert words in refused.value.message
    assert 400 <= refused.value.status < 500
    assert row_counts() == (0, 0, 0, 0, 0)


def test_values_that_are_not_observables_are_kept(analyst: Any) -> None:
    data = {
        "Event": {
            "info": "Odd values",
            "uuid": "0b0f5e1e-6d5e-4a1f-9a57-3c4e1f2d7a10",
            "Attribute": [
                {"type": "ip-dst", "category": "Network activity", "value": "999.1.1.1"},
                {"type": "domain", "category": "Network activity", "value": "evil.example"},
                {"type": "url", "category": "Network activity", "value": "evil.example/x.php"},
                {"type": "sha512", "category": "Payload delivery", "value": "ab" * 64},
                {"type": "link", "category": "External analysis", "value": "ftp://x.example/"},
                {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "deleted": True},
            ],
        }
    }
    result = run_import(data, user=analyst)
    report = result.report
    assert pairs(report) == {("domain", "evil.example"), ("url", "http://evil.example/x.php")}
    other = report.summary.split("## Other attributes", 1)[1]
    assert "999.1.1.1" in other and "not a valid IPv4" in other
    assert "`sha512`" in other and "ftp://x.example/" in other
    assert result.event.deleted == 1 and "1 deleted attributes skipped" in report.summary
    url_note = report.observations.get(observable__kind="url").note
    assert url_note == "url · http:// assumed"


def test_a_large_event_is_cut_and_counted(analyst: Any) -> None:
    addresses = [f"198.18.{i // 256}.{i % 256}" for i in range(5003)]
    attributes = [{"type": "ip-dst", "value": value} for value in addresses]
    attributes += [{"type": "regkey", "value": f"HKLM\\Software\\Key{i}"} for i in range(400)]
    attributes.append({"type": "text", "value": "{\n" + '"k": 1,\n' * 2000 + "}"})
    data = {"Event": {"info": "Big", "uuid": "8c4b9a50-3d1f-4e8b-9d2a-1b2c3d4e5f60"}}
    data["Event"]["Attribute"] = attributes
    result = run_import(data, user=analyst)
    report = result.report
    assert report.observations.count() == 5000
    assert result.event.others == 403  # 3 addresses over the limit, 400 registry keys
    assert result.event.others_listed < 403
    assert len(report.summary) <= 20000
    other = report.summary.split("## Other attributes", 1)[1]
    left = 403 - result.event.others_listed
    assert f"… and {left} more not listed" in other and "regkey" in other
    assert "over the limit of 5000 observables" in other or "ip-dst 3" in other
    assert "The event's text was cut here" in report.summary
    assert report.summary.split("(The event's text")[0].count("```") % 2 == 0


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["tlp:red", "tlp:white", "ip-dst", "1.2.3.4", "md5", "link", "2024-02-30"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_ATTRIBUTE = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["ip-dst", "url", "md5", "filename|sha1", "link", "text", "AS"])
        | _SCALARS,
        "value": _SCALARS,
        "to_ids": _SCALARS,
        "deleted": _SCALARS,
        "Tag": st.lists(st.fixed_dictionaries({"name": _SCALARS}), max_size=2) | _JSON,
        "first_seen": _SCALARS,
    },
)
_EVENTS = st.fixed_dictionaries(
    {"info": _SCALARS, "uuid": st.uuids().map(str) | _SCALARS},
    optional={
        "date": _SCALARS,
        "timestamp": _SCALARS,
        "Tag": st.lists(st.fixed_dictionaries({"name": _SCALARS}), max_size=3) | _JSON,
        "Attribute": st.lists(_ATTRIBUTE, max_size=4) | _JSON,
        "Object": st.lists(
            st.fixed_dictionaries(
                {"name": _SCALARS, "Attribute": st.lists(_ATTRIBUTE, max_size=3)}
            ),
            max_size=2,
        )
        | _JSON,
        "Galaxy": _JSON,
        "EventReport": _JSON,
        "Orgc": _JSON,
        "threat_level_id": _SCALARS,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_EVENTS)
def test_any_event_is_imported_or_refused_cleanly(analyst: Any, body: dict[str, Any]) -> None:
    before = row_counts()
    try:
        run_import(json.dumps({"Event": body}), user=analyst)
    except MispError as exc:
        assert 400 <= exc.status < 500 and exc.message
        assert row_counts() == before


# --- Export --------------------------------------------------------------------------------------

ALL_KINDS = [
    ObservableInput("192.0.2.10", note="C2 server"),
    ObservableInput("2001:db8::5"),
    ObservableInput("198.51.100.0/24"),
    ObservableInput("login-portal.example"),
    ObservableInput("https://login-portal.example/owa/"),
    ObservableInput("phish@mailer.example"),
    ObservableInput("d41d8cd98f00b204e9800998ecf8427e"),
    ObservableInput("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ObservableInput("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ObservableInput("CVE-2021-44228"),
    ObservableInput("AS64500"),
]
EXPECTED_TYPES = {
    "192.0.2.10": "ip-dst",
    "2001:db8::5": "ip-dst",
    "198.51.100.0/24": "ip-dst",
    "login-portal.example": "domain",
    "https://login-portal.example/owa/": "url",
    "phish@mailer.example": "email-src",
    "d41d8cd98f00b204e9800998ecf8427e": "md5",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709": "sha1",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "sha256",
    "CVE-2021-44228": "vulnerability",
    "AS64500": "AS",
}


def file_report(user: Any, **fields: Any) -> Report:
    draft = ReportDraft(
        kind=fields.pop("kind", "incident"),
        title=fields.pop("title", "Phishing wave against grid operators"),
        summary=fields.pop("summary", "Mails with a **fake** login page."),
        marking=fields.pop("marking", "green"),
        attribution=fields.pop("attribution", "named"),
        sectors=fields.pop("sectors", ["energy"]),
        observables=fields.pop("observables", list(ALL_KINDS)),
        references=fields.pop("references", ["https://cert.example/advisories/2024-17"]),
        **fields,
    )
    return reports.create_report(user, draft, notify=False)


def assert_valid_misp(data: dict[str, Any]) -> MISPEvent:
    types = describe_types()
    loaded = load(data)
    assert loaded.uuid == data["Event"]["uuid"] and loaded.info == data["Event"]["info"]
    for attribute in loaded.attributes:
        assert attribute.type in types["types"], attribute.type
        assert attribute.category in types["categories"], attribute.category
        assert attribute.type in types["category_type_mappings"][attribute.category], (
            attribute.type,
            attribute.category,
        )
    return loaded


@pytest.mark.parametrize("kind", ["incident", "vulnerability", "advisory", "measure"])
@pytest.mark.parametrize("marking", ["clear", "green", "amber", "amber+strict", "red"])
def test_exports_load_with_pymisp(analyst: Any, kind: str, marking: str) -> None:
    extra: dict[str, Any] = {"recipients": ["ana"]} if marking == "red" else {}
    if kind == "incident":
        extra |= {"effects": ["exploit-end-hosts"], "incident_type": "fraud:phishing"}
        extra |= {"severity": {"functional-impact": "significant", "actor": "criminal"}}
    report = file_report(analyst, kind=kind, marking=marking, **extra)
    data = export_event(report, viewer=analyst)
    loaded = assert_valid_misp(data)
    assert loaded.uuid == str(report.pk)
    tags = {tag.name for tag in loaded.tags}
    assert f"tlp:{marking}" in tags and f'accord:kind="{kind}"' in tags
    assert 'accord:sector="energy"' in tags
    assert int(loaded.distribution) == {"clear": 3, "green": 1}.get(marking, 0)
    values = {a.value: a.type for a in loaded.attributes if a.type not in ("link", "comment")}
    assert values == EXPECTED_TYPES
    assert [a.value for a in loaded.attributes if a.type == "link"] == report.references
    c2 = next(a for a in loaded.attributes if a.value == "192.0.2.10")
    assert c2.comment == "C2 server" and c2.to_ids is True
    assert next(a for a in loaded.attributes if a.type == "vulnerability").to_ids is False
    assert loaded.Orgc.name == "Energy Company"
    assert loaded.event_reports[0].content == report.summary
    if kind == "incident":
        assert 'rsit:fraud="phishing"' in tags and 'accord:effect="exploit-end-hosts"' in tags
        assert int(loaded.threat_level_id) in (1, 2, 3)
    else:
        assert int(loaded.threat_level_id) == 4


def test_pseudonymous_and_anonymous_exports_hide_the_reporter(zed: Any, olga: Any) -> None:
    pseudonymous = file_report(zed, attribution="pseudonymous", title="Pseudonymous report")
    data = export_event(pseudonymous, viewer=olga)
    loaded = assert_valid_misp(data)
    assert loaded.Orgc.name == "A member from the energy sector, private sector"
    text = json.dumps(data)
    assert "Zebra" not in text and "zebra-power" not in text

    anonymous = file_report(zed, attribution="anonymous", title="Anonymous report")
    Sighting.objects.create(
        report=anonymous,
        observable=anonymous.observations.first().observable,
        attribution="named",
        organisation=zed.memberships.first().organisation,
    )
    Comment.objects.create(
        report=anonymous,
        body="We see this too.",
        marking=anonymous.marking,
        organisation=zed.memberships.first().organisation,
        author=zed,
    )
    for viewer in (olga, zed):  # not even the reporter's own export names it
        data = export_event(anonymous, viewer=viewer)
        loaded = assert_valid_misp(data)
        text = json.dumps(data)
        assert "Zebra" not in text and "zebra-power" not in text and "Zed" not in text
        assert loaded.Orgc.name == loaded.Org.name == "Accord"
        assert [s.source for a in loaded.attributes for s in a.sightings] == [""]
        assert "We see this too." in [a.value for a in loaded.attributes if a.type == "comment"]


def test_export_follows_the_policy(analyst: Any, olga: Any, zed: Any) -> None:
    secret = file_report(analyst, marking="red", recipients=["zed"])
    assert export_event(secret, viewer=zed)["Event"]["info"] == secret.title
    with pytest.raises(policy.NotVisible):
        export_event(secret, viewer=olga)
    with pytest.raises(policy.NotVisible):
        export_event("not-a-uuid", viewer=olga)


def test_round_trip_keeps_title_marking_and_observables(analyst: Any, coordinator: Any) -> None:
    report = file_report(analyst, marking="amber", attribution="anonymous")
    data = export_event(report, viewer=analyst)
    # Our own report coming back is recognised as ours, not copied.
    assert run_import(data, user=analyst).status == "exists"
    assert Report.objects.count() == 1
    # As another installation would receive it (a new uuid there):
    data["Event"]["uuid"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    copied = import_event(json.dumps(data), user=coordinator, foreign=True, origin_country="FR")
    assert copied.title == report.title and copied.marking == "amber"
    assert pairs(copied) == pairs(report)
    assert copied.references == report.references
    assert list(copied.sectors.all()) == list(report.sectors.all())
    assert copied.kind == report.kind
    assert summary.without(copied.summary, summary.GENERATED) == report.summary


def test_imported_events_export_with_their_pairs_and_labels(analyst: Any) -> None:
    data = event("5a0ac036")
    report = import_event(data, user=analyst)
    exported = export_event(report, viewer=analyst)
    loaded = assert_valid_misp(exported)
    assert loaded.uuid == data["Event"]["uuid"]  # the event it came from
    tags = {tag.name for tag in loaded.tags}
    assert {'misp-galaxy:tool="Emotet"', 'misp-galaxy:banker="Qakbot"', "tlp:clear"} <= tags
    ip_port = {a["object_relation"]: a["value"] for a in data["Event"]["Object"][0]["Attribute"]}
    assert f"{ip_port['ip']}|{ip_port['dst-port']}" in [
        a.value for a in loaded.attributes if a.type == "ip-dst|port"
    ]
    # and a second hop keeps the observables
    exported["Event"]["uuid"] = "1d3c2a4e-0000-4000-8000-000000000001"
    again = import_event(exported, user=analyst)
    assert pairs(again) == pairs(report)
    assert summary.labels_of(again.summary) == summary.labels_of(report.summary)


# --- The API ---------------------------------------------------------------------------------


@api_urls
def test_api_imports_and_exports(client: Any, analyst: Any, olga: Any) -> None:
    auth = bearer(analyst)
    body = (DATA / "5acc88e9-265c-4f22-9d2b-b702950d210f.json").read_bytes()
    response = client.post(f"{API}/misp/events", body, content_type=JSON, **auth)
    assert response.status_code == 201, response.content
    out = response.json()
    assert out["status"] == "created" and out["marking"] == "clear" and out["observables"] == 3
    assert 'misp-galaxy:mitre-malware="BACKSPACE - S0031"' in out["labels"]
    again = client.post(f"{API}/misp/events", body, content_type=JSON, **auth)
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["report"] == out["report"]

    exported = client.get(f"{API}/misp/events/{out['report']}", **bearer(olga))
    assert exported.status_code == 200
    loaded = assert_valid_misp(exported.json())
    assert loaded.info == out["title"]


@api_urls
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{broken", JSON, 400),
        (b'{"not": "an event"}', JSON, 400),
        (b'{"Event": {"info": "No uuid"}}', JSON, 400),
        (b"\xff\xfe", JSON, 400),
        (b"info=x", "application/x-www-form-urlencoded", 415),
        (b'{"Event": {"info": "' + b"x" * (6 * 1024 * 1024) + b'"}}', JSON, 413),
    ],
)
def test_api_bad_input(
    client: Any, analyst: Any, body: bytes, content_type: str, status: int
) -> None:
    response = client.post(f"{API}/misp/events", body, content_type=content_type, **bearer(analyst))
    assert response.status_code == status
    assert response.json()["detail"]
    assert row_counts() == (0, 0, 0, 0, 0)


@api_urls
def test_api_permissions(client: Any, analyst: Any, coordinator: Any, member_org: Any) -> None:
    body = json.dumps(set_tlp(event("57c4445b"), "tlp:green"))
    outsider = f.make_user("outsider")
    assert client.post(f"{API}/misp/events", body, content_type=JSON).status_code == 401
    refused = client.post(f"{API}/misp/events", body, content_type=JSON, **bearer(outsider))
    assert refused.status_code == 403
    foreign = f"{API}/misp/events?foreign=true&country=DE"
    assert client.post(foreign, body, content_type=JSON, **bearer(analyst)).status_code == 403
    strict = json.dumps(set_tlp(event("57c4445b"), "tlp:red"))
    assert client.post(foreign, strict, content_type=JSON, **bearer(coordinator)).status_code == 422
    assert row_counts() == (0, 0, 0, 0, 0)
    created = client.post(foreign, body, content_type=JSON, **bearer(coordinator))
    assert created.status_code == 201 and created.json()["status"] == "created"
    report_id = created.json()["report"]
    assert client.get(f"{API}/misp/events/{report_id}", **bearer(outsider)).status_code == 404
    assert client.get(f"{API}/misp/events/nonsense", **bearer(analyst)).status_code == 404
    wrong_org = f"{API}/misp/events?organisation=nope"
    response = client.post(wrong_org, body, content_type=JSON, **bearer(analyst))
    assert response.status_code == 422 and "nope" in response.json()["detail"]


@api_urls
@pytest.mark.django_db(transaction=True)
def test_api_over_http(live_server: Any, rules: Any) -> None:
    org = f.make_organisation("Energy Company", slug="energy")
    f.accept_rules(org)
    user = f.make_user("ana")
    f.add_member(user, org)
    _, secret = accounts.create_token(user, name="http", can_write=True, expires_in_days=1)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": JSON}
    body = (DATA / "5c066053-0e94-46eb-9746-4b7d950d210f.json").read_bytes()
    request = urllib.request.Request(
        f"{live_server.url}{API}/misp/events", data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 201
        report_id = json.load(response)["report"]
    request = urllib.request.Request(
        f"{live_server.url}{API}/misp/events/{report_id}", headers=headers
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        loaded = assert_valid_misp(json.load(response))
    assert loaded.info == "MAR-10164494.r1.v1 (SamSam ransomware)"
    assert {t.name for t in loaded.tags} >= {"tlp:clear", 'misp-galaxy:malpedia="SamSam"'}
    broken = urllib.request.Request(
        f"{live_server.url}{API}/misp/events", data=b"{", headers=headers, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(broken, timeout=30)
    assert refused.value.code == 400 and json.load(refused.value)["detail"]
    assert Report.objects.count() == 1


# --- The commands -------------------------------------------------------------------------------


def test_import_command(analyst: Any, member_org: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_misp", str(DATA), organisation=member_org.slug, stdout=out, stderr=err)
    assert f"Imported {len(REAL_EVENTS)}, updated 0, unchanged 0, failed 0" in out.getvalue()
    assert Report.objects.filter(reporter_organisation=member_org).count() == len(REAL_EVENTS)
    out = io.StringIO()
    call_command("import_misp", str(DATA), organisation=member_org.slug, stdout=out)
    assert f"Imported 0, updated 0, unchanged {len(REAL_EVENTS)}" in out.getvalue()


def test_import_command_foreign_and_errors(tmp_path: Path, analyst: Any, member_org: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope", encoding="utf-8")
    good = DATA / "57c4445b-c548-4654-af0b-4be3950d210f.json"
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_misp",
            str(bad),
            str(good),
            foreign=True,
            country="DE",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "bad.json: not imported: Not valid JSON" in err.getvalue()
    report = Report.objects.get()
    assert report.origin.origin_country == "DE" and report.reporter_organisation is None
    with pytest.raises(CommandError, match="--country"):
        call_command("import_misp", str(good), foreign=True)
    with pytest.raises(CommandError, match="organisation"):
        call_command("import_misp", str(good))


def test_export_command(tmp_path: Path, analyst: Any, olga: Any) -> None:
    report = file_report(analyst)
    out = io.StringIO()
    call_command("export_misp", str(report.pk), user="olga", stdout=out)
    assert_valid_misp(json.loads(out.getvalue()))
    target = tmp_path / "event.json"
    call_command("export_misp", str(report.pk), user="ana", output=str(target))
    assert json.loads(target.read_text())["Event"]["info"] == report.title
    secret = file_report(analyst, marking="red", recipients=["ana"])
    with pytest.raises(CommandError, match="may see"):
        call_command("export_misp", str(secret.pk), user="olga")
