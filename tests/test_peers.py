"""Peer installations: the outbound policy, deliveries and retractions, the
pages and services a coordinator uses, and pulling from a peer.

The pulls run against ``StubTaxii``: a stand-in for another country's TAXII 2.1
server (not Accord — a few dozen lines of ``http.server`` serving a list of STIX
objects from one collection the way the standard says, with HTTP Basic, paging,
``added_after`` and the date-added headers). The three-node test with real
installations is tests/test_federation.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import include, path
from django.utils import timezone

from accord import policy
from accord import urls as project_urls
from accord.accounts.models import hash_token
from accord.audit.models import AuditEntry
from accord.exchange.models import (
    Agreement,
    Peer,
    PeerDelivery,
    PeerPullRun,
    ReportOrigin,
    Scope,
    Source,
    StixObject,
)
from accord.exchange.peers import inbound, services
from accord.exchange.peers.services import AgreementData, PeerData, PeerError
from accord.exchange.peers.tasks import PullScheduler, queue_due_pulls
from accord.exchange.stix import ingest, publish
from accord.exchange.stix.mapping import organisation_identity_id
from accord.sharing.models import Report
from accord.sharing.services import reports
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.workgroups import services as workgroups
from tests import factories as f

# Until the project's urls include the peer pages and the TAXII server, this module
# serves them itself.
urlpatterns = list(project_urls.urlpatterns)
_namespaces = {getattr(p, "namespace", None) for p in urlpatterns}
if "taxii" not in _namespaces:
    urlpatterns.insert(0, path("taxii2/", include("accord.exchange.taxii.urls")))
if "peers" not in _namespaces:
    urlpatterns.insert(0, path("exchange/peers/", include("accord.exchange.peers.urls")))
handler404 = project_urls.handler404
handler500 = project_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_peers")]


# --- A stand-in for another country's TAXII server --------------------------------------

TAXII = "application/taxii+json;version=2.1"
COLLECTION = "2f1c8f77-4a5e-4d38-9a67-1c0e5b9f0a11"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
START = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def added_stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def sid(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(uuid.NAMESPACE_URL, 'peer-stub:' + name)}"


def common(kind: str, name: str, *, marking: str = "green", version: int = 0) -> dict[str, Any]:
    return {
        "type": kind,
        "spec_version": "2.1",
        "id": sid(kind, name),
        "created": stamp(START),
        "modified": stamp(START + dt.timedelta(minutes=version)),
        "object_marking_refs": [TLP[marking]],
    }


def incident(name: str, *, marking: str = "green", version: int = 0, **extra: Any) -> dict:
    return {**common("incident", name, marking=marking, version=version), "name": name, **extra}


def indicator(name: str, ip: str, *, marking: str = "green") -> dict[str, Any]:
    return {
        **common("indicator", name, marking=marking),
        "name": ip,
        "pattern": f"[ipv4-addr:value = '{ip}']",
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stamp(START),
    }


def advisory(name: str, refs: list[str], *, marking: str = "green", **extra: Any) -> dict:
    return {
        **common("report", name, marking=marking),
        "name": name,
        "published": stamp(START),
        "report_types": ["threat-report"],
        "object_refs": refs,
        **extra,
    }


def identity(name: str) -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": sid("identity", name),
        "created": stamp(START),
        "modified": stamp(START),
        "name": name,
        "identity_class": "organization",
    }


@dataclass
class StubTaxii:
    username: str = "us-at-peer"
    password: str = "stub-token"
    # Like real servers, it may give fewer objects than asked for.
    page_size: int = 1000
    # (date_added, object) in the order they were added.
    objects: list[tuple[dt.datetime, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    fail_with: int | None = None
    server: ThreadingHTTPServer | None = None
    clock: dt.datetime = START

    def add(self, *objs: dict[str, Any]) -> dt.datetime:
        """Add objects, each a millisecond after the last; returns the last date_added."""
        for obj in objs:
            self.clock += dt.timedelta(milliseconds=1)
            self.objects.append((self.clock, obj))
        return self.clock

    @property
    def root(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api1/"

    @property
    def discovery(self) -> str:
        return self.root.replace("/api1/", "/taxii2/")

    def object_requests(self) -> list[dict[str, list[str]]]:
        return [query for path, query in self.requests if path.endswith("/objects/")]

    def start(self) -> StubTaxii:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                stub.requests.append((parts.path, query))
                expected = base64.b64encode(f"{stub.username}:{stub.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    return self.send(401, {"title": "Authentication required"})
                if stub.fail_with:
                    return self.send(stub.fail_with, {"title": "Broken on purpose"})
                self.route(parts.path, query)

            def route(self, path: str, query: dict[str, list[str]]) -> None:
                collection = f"/api1/collections/{COLLECTION}/"
                if path == "/taxii2/":
                    return self.send(
                        200, {"title": "Stub", "default": stub.root, "api_roots": [stub.root]}
                    )
                if path == "/api1/":
                    return self.send(
                        200,
                        {"title": "Stub root", "versions": [TAXII], "max_content_length": 10**6},
                    )
                if path == "/api1/collections/":
                    return self.send(200, {"collections": [self.collection()]})
                if path == collection:
                    return self.send(200, self.collection())
                if path == collection + "objects/":
                    return self.objects(query)
                if path.startswith(collection + "objects/"):
                    wanted = path[len(collection + "objects/") :].strip("/")
                    found = [obj for _, obj in stub.objects if obj["id"] == wanted]
                    if not found:
                        return self.send(404, {"title": "Not found"})
                    return self.send(200, {"more": False, "objects": found})
                return self.send(404, {"title": "Not found"})

            def collection(self) -> dict[str, Any]:
                return {
                    "id": COLLECTION,
                    "title": "For you",
                    "can_read": True,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                }

            def objects(self, query: dict[str, list[str]]) -> None:
                rows = list(enumerate(stub.objects))
                if "added_after" in query:
                    after = dt.datetime.fromisoformat(
                        query["added_after"][0].replace("Z", "+00:00")
                    )
                    rows = [r for r in rows if r[1][0] > after]
                start = int(query.get("next", ["0"])[0])
                rows = [r for r in rows if r[0] >= start]
                limit = min(int(query.get("limit", ["100"])[0]), stub.page_size)
                page, rest = rows[:limit], rows[limit:]
                body: dict[str, Any] = {"more": bool(rest)}
                if rest:
                    body["next"] = str(rest[0][0])
                headers = {}
                if page:
                    body["objects"] = [obj for _, (_, obj) in page]
                    headers = {
                        "X-TAXII-Date-Added-First": added_stamp(page[0][1][0]),
                        "X-TAXII-Date-Added-Last": added_stamp(page[-1][1][0]),
                    }
                self.send(200, body, headers)

            def send(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", TAXII)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def stub() -> Any:
    server = StubTaxii().start()
    yield server
    server.stop()


# --- A small network ------------------------------------------------------------------------


def fresh(user: Any) -> Any:
    """A new object per action: the policy caches what a person may see on it."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def net(rules: Any, coordinator: Any) -> SimpleNamespace:
    n = SimpleNamespace(coordinator=coordinator)
    specs = {
        "grid": ("Grid Co", ["energy"], "private-sector"),
        "bank": ("Bank Co", ["banking"], "private-sector"),
        "care": ("Care Co", ["health"], "private-sector"),
        "ministry": ("Ministry Co", ["public-administration"], "government-civilian"),
    }
    for key, (name, sectors, group) in specs.items():
        org = f.make_organisation(name, sectors=sectors, slug=f"{key}-co", stakeholder_group=group)
        f.accept_rules(org)
        user = f.make_user(f"{key}-analyst")
        f.add_member(user, org, analyst=True)
        setattr(n, key, org)
        setattr(n, f"{key}_user", user)
    n.finance = workgroups.create_group(
        name="Finance ISAC", description="", visibility="open", by=fresh(n.bank_user)
    )
    n.other = workgroups.create_group(
        name="Other group", description="", visibility="open", by=fresh(n.grid_user)
    )
    return n


def file(user: Any, title: str, **kw: Any) -> Report:
    draft = ReportDraft(
        kind=kw.pop("kind", "incident"),
        title=title,
        summary=kw.pop("summary", f"What happened: {title}."),
        marking=kw.pop("marking", "green"),
        audience=kw.pop("audience", "network"),
        audience_groups=list(kw.pop("groups", [])),
        audience_organisations=list(kw.pop("orgs", [])),
        recipients=list(kw.pop("recipients", [])),
        attribution=kw.pop("attribution", "named"),
        abroad_consent=kw.pop("consent", False),
        observables=[ObservableInput(value=v) for v in kw.pop("observables", [])],
    )
    assert not kw, kw
    return reports.create_report(fresh(user), draft)


def make_peer(
    by: Any,
    name: str = "Peer Land",
    country: str = "DE",
    *,
    url: str = "http://127.0.0.1:9/taxii2/accord/",
    outbound: AgreementData | None = None,
    inbound_agreement: AgreementData | None = None,
    token: bool = True,
    **extra: Any,
) -> Peer:
    peer = services.create_peer(by, PeerData(name=name, country=country, api_root_url=url, **extra))
    if outbound is not None:
        services.set_agreement(by, peer, "outbound", outbound)
    if inbound_agreement is not None:
        services.set_agreement(by, peer, "inbound", inbound_agreement)
    if token:
        services.issue_token(by, peer)
    peer.refresh_from_db()
    return peer


def titles(qs: Any) -> set[str]:
    return set(qs.values_list("title", flat=True))


def publish_all(*items: Report) -> None:
    for report in items:
        publish.publish_report(Report.objects.get(pk=report.pk), deferred=True)


# --- The outbound policy --------------------------------------------------------------------


@pytest.fixture
def matrix(net: SimpleNamespace) -> SimpleNamespace:
    """One report for every marking, audience, kind and attribution that matters."""
    g, b, c, m = net.grid_user, net.bank_user, net.care_user, net.ministry_user
    r = SimpleNamespace()
    r.clear = file(g, "Clear named incident", marking="clear")
    r.green_pseudo = file(b, "Green pseudonymous incident", attribution="pseudonymous")
    r.green_anon = file(
        c, "Green anonymous vulnerability", kind="vulnerability", attribution="anonymous"
    )
    r.amber_consent = file(g, "Amber with consent", marking="amber", consent=True)
    r.amber_plain = file(g, "Amber without consent", marking="amber")
    r.strict = file(g, "Amber strict incident", marking="amber+strict")
    r.red = file(g, "Red incident", marking="red", recipients=["bank-analyst"])
    r.finance = file(
        b,
        "Finance group advisory",
        kind="advisory",
        audience="groups",
        groups=[net.finance.slug],
        attribution="pseudonymous",
    )
    r.other = file(
        g, "Other group advisory", kind="advisory", audience="groups", groups=[net.other.slug]
    )
    r.government = file(m, "Government only", audience="government")
    r.orgs = file(g, "Chosen organisations", audience="organisations", orgs=["bank-co"])
    r.coordination = file(g, "Coordination only", audience="coordination")
    r.measure = file(g, "Green measure", kind="measure")
    r.withdrawn = file(g, "Withdrawn green")
    reports.withdraw_report(fresh(g), r.withdrawn, reason="mistake")
    return r


def test_reports_for_a_peer_follow_its_outbound_agreement(net, matrix):
    peer = make_peer(
        net.coordinator,
        outbound=AgreementData(
            kinds=["incident", "vulnerability", "advisory"],
            highest_marking="amber",
            working_groups=[net.finance.slug],
        ),
    )
    assert titles(policy.reports_for_peer(peer)) == {
        "Clear named incident",
        "Green pseudonymous incident",
        "Green anonymous vulnerability",
        "Amber with consent",
        "Finance group advisory",
    }


def test_the_highest_marking_caps_what_crosses(net, matrix):
    green = make_peer(net.coordinator, "Green Land", outbound=AgreementData())
    clear = make_peer(
        net.coordinator, "Clear Land", "FR", outbound=AgreementData(highest_marking="clear")
    )
    assert titles(policy.reports_for_peer(green)) == {
        "Clear named incident",
        "Green pseudonymous incident",
        "Green anonymous vulnerability",
        "Green measure",
    }
    assert titles(policy.reports_for_peer(clear)) == {"Clear named incident"}


def test_without_an_agreement_nothing_crosses(net, matrix):
    peer = make_peer(net.coordinator, inbound_agreement=AgreementData())
    assert not policy.reports_for_peer(peer).exists()
    assert not policy.stix_objects_visible_to_peer(peer).exists()


def test_agreements_refuse_amber_strict_and_red(net):
    peer = make_peer(net.coordinator)
    for marking in ("amber+strict", "red"):
        with pytest.raises(PeerError) as caught:
            services.set_agreement(
                net.coordinator, peer, "outbound", AgreementData(highest_marking=marking)
            )
        assert "never cross" in caught.value.errors["highest_marking"]
    with pytest.raises(PeerError) as caught:
        services.set_agreement(net.coordinator, peer, "inbound", AgreementData(kinds=[]))
    assert "kinds" in caught.value.errors
    with pytest.raises(PeerError) as caught:
        services.set_agreement(
            net.coordinator, peer, "outbound", AgreementData(working_groups=["no-such-group"])
        )
    assert "no-such-group" in caught.value.errors["working_groups"]
    assert not Agreement.objects.filter(peer=peer).exists()


def foreign_incident(peer: Peer, name: str) -> Report:
    """A report that arrived from ``peer``, through the real ingest."""
    obj = incident(name)
    result = ingest.ingest(
        [obj],
        ingest.IngestContext(peer=peer, source=Source.PEER, origin_country=peer.country.code),
    )
    assert result.failed == 0, result.failures
    return Report.objects.get(origin__external_id=obj["id"])


def test_material_from_abroad_is_passed_on_only_by_agreement_and_never_home(net):
    de = make_peer(
        net.coordinator, "Germany peer", "DE", outbound=AgreementData(pass_on_third_party=True)
    )
    fr_closed = make_peer(net.coordinator, "France peer", "FR", outbound=AgreementData())
    it_open = make_peer(
        net.coordinator, "Italy peer", "IT", outbound=AgreementData(pass_on_third_party=True)
    )
    de_two = make_peer(
        net.coordinator,
        "Second German peer",
        "DE",
        outbound=AgreementData(pass_on_third_party=True),
    )
    from_de = foreign_incident(de, "Incident from Germany")
    ours = file(net.grid_user, "Our own incident")
    assert from_de.reporter_organisation is None
    assert set(policy.reports_for_peer(it_open)) == {from_de, ours}
    assert set(policy.reports_for_peer(fr_closed)) == {ours}
    # Never back to the peer it came from, nor to its country through another peer.
    assert set(policy.reports_for_peer(de)) == {ours}
    assert set(policy.reports_for_peer(de_two)) == {ours}


# --- What a peer may pull ------------------------------------------------------------------


def test_a_peer_pulls_the_latest_objects_of_its_reports_and_names_only_by_agreement(net, matrix):
    publish_all(*[getattr(matrix, k) for k in vars(matrix)])
    plain = make_peer(
        net.coordinator, "Plain Land", outbound=AgreementData(highest_marking="amber")
    )
    naming = make_peer(
        net.coordinator,
        "Naming Land",
        "FR",
        outbound=AgreementData(highest_marking="amber", name_reporters=True),
    )
    assert policy.peer_may_see_names(naming) and not policy.peer_may_see_names(plain)
    for peer in (plain, naming):
        rows = policy.stix_objects_visible_to_peer(peer)
        assert set(
            rows.filter(scope=Scope.REPORT).values_list("report__title", flat=True).distinct()
        ) == titles(policy.reports_for_peer(peer))
        assert not rows.filter(scope=Scope.REPORT, is_latest=False).exists()
        assert rows.filter(scope=Scope.PUBLIC).exists()
    grid_identity = organisation_identity_id(net.grid.pk)
    ministry_identity = organisation_identity_id(net.ministry.pk)
    # The Ministry files named material too, but none of it may cross.
    assert StixObject.objects.filter(stix_id=ministry_identity, scope=Scope.NAMED).exists()
    named = set(
        policy.stix_objects_visible_to_peer(naming)
        .filter(scope=Scope.NAMED)
        .values_list("stix_id", flat=True)
    )
    assert named == {grid_identity}
    assert not policy.stix_objects_visible_to_peer(plain).filter(scope=Scope.NAMED).exists()
    # The variant served where names may not cross carries no organisation name.
    main = StixObject.objects.get(stix_id=f"incident--{matrix.clear.pk}", is_latest=True)
    assert "Grid Co" in main.body or grid_identity in main.body
    assert main.body_abroad and grid_identity not in main.body_abroad


def test_a_paused_peer_is_served_nothing(net, matrix):
    publish_all(matrix.clear)
    peer = make_peer(net.coordinator, outbound=AgreementData())
    assert policy.stix_objects_visible_to_peer(peer).exists()
    services.set_active(net.coordinator, peer, False)
    assert not policy.stix_objects_visible_to_peer(peer).exists()


# --- Deliveries and retraction ---------------------------------------------------------------


def tombstones(peer: Peer) -> list[dict[str, Any]]:
    rows = policy.stix_objects_visible_to_peer(peer).filter(scope=Scope.PEER)
    return [json.loads(row.body) for row in rows]


def test_a_withdrawn_report_reaches_the_peer_as_a_revoked_version_for_it_alone(net):
    report = file(net.grid_user, "Soon withdrawn", observables=["198.51.100.20"])
    publish_all(report)
    peer = make_peer(net.coordinator, outbound=AgreementData())
    other = make_peer(net.coordinator, "Other Land", "FR", outbound=AgreementData())
    assert services.sync_peer(peer) == 0
    assert PeerDelivery.objects.filter(peer=peer, report=report, retracted_at=None).exists()
    held = StixObject.objects.get(stix_id=f"incident--{report.pk}", is_latest=True)

    reports.withdraw_report(fresh(net.grid_user), Report.objects.get(pk=report.pk), reason="wrong")
    publish_all(report)
    assert services.sync_peer(peer) == 1
    assert services.sync_peer(peer) == 0  # written once
    [tomb] = tombstones(peer)
    assert tomb["id"] == held.stix_id and tomb["revoked"] is True
    assert tomb["modified"] > json.loads(held.body)["modified"]
    assert tomb["object_marking_refs"] == json.loads(held.body)["object_marking_refs"]
    # Names do not cross to this peer: the revocation repeats the variant it held.
    assert organisation_identity_id(net.grid.pk) not in json.dumps(tomb)
    # Nobody else reads it: not people here, not the other peer (which never held it).
    assert (
        not policy.stix_objects_visible_to(fresh(net.coordinator)).filter(scope=Scope.PEER).exists()
    )
    assert tombstones(other) == []
    assert not policy.reports_for_peer(peer).filter(pk=report.pk).exists()


def test_an_anonymous_report_is_retracted_by_the_daily_pass_dated_to_the_day(net):
    report = file(net.care_user, "Anonymous, then withdrawn", attribution="anonymous")
    publish_all(report)
    peer = make_peer(net.coordinator, outbound=AgreementData())
    services.sync_peer(peer)
    delivery = PeerDelivery.objects.get(peer=peer, report=report)
    midnight = {"hour": 0, "minute": 0, "second": 0, "microsecond": 0}
    assert delivery.first_served_at == delivery.first_served_at.replace(**midnight)
    assert delivery.last_served_at == delivery.last_served_at.replace(**midnight)

    reports.withdraw_report(fresh(net.care_user), Report.objects.get(pk=report.pk))
    publish.publish_deferred()
    assert services.sync_peer(peer) == 0  # not now: the time would date the withdrawal
    assert services.retract_for_all(deferred=True) == 1
    delivery.refresh_from_db()
    assert delivery.retracted_at == delivery.retracted_at.replace(**midnight)
    [tomb] = tombstones(peer)
    stored = StixObject.objects.filter(stix_id=tomb["id"], scope=Scope.REPORT)
    modified = inbound.parse_time(tomb["modified"])
    assert tomb["revoked"] is True and all(modified > row.modified for row in stored)
    # Its version says the day, not the time of day.
    assert modified - modified.replace(**midnight) < dt.timedelta(seconds=1)


def test_a_tightened_marking_retracts_the_version_the_peer_held(net):
    report = file(net.grid_user, "Amber with consent, later strict", marking="amber", consent=True)
    publish_all(report)
    peer = make_peer(net.coordinator, outbound=AgreementData(highest_marking="amber"))
    services.record_deliveries(peer, list(policy.stix_objects_visible_to_peer(peer)))
    delivery = PeerDelivery.objects.get(peer=peer, report=report)
    assert delivery.main_object.stix_id == f"incident--{report.pk}"

    draft = reports.draft_from_report(Report.objects.get(pk=report.pk))
    draft.marking, draft.title = "amber+strict", "STRICTLY SECRET NEW TITLE"
    reports.update_report(fresh(net.grid_user), Report.objects.get(pk=report.pk), draft)
    publish_all(report)
    assert services.sync_peer(peer) == 1
    [tomb] = tombstones(peer)
    assert tomb["name"] == "Amber with consent, later strict"
    assert "STRICTLY SECRET" not in json.dumps(tomb)
    assert tomb["object_marking_refs"] == [TLP["amber"]]


def test_narrowing_an_agreement_retracts_at_once(net):
    vulnerability = file(net.grid_user, "A vulnerability", kind="vulnerability")
    kept = file(net.grid_user, "An incident")
    publish_all(vulnerability, kept)
    peer = make_peer(net.coordinator, outbound=AgreementData())
    services.set_agreement(net.coordinator, peer, "outbound", AgreementData(kinds=["incident"]))
    assert [t["id"] for t in tombstones(peer)] == [f"vulnerability--{vulnerability.pk}"]
    assert PeerDelivery.objects.get(peer=peer, report=kept).retracted_at is None
    entry = AuditEntry.objects.filter(action="peer.agreement_set").latest("sequence")
    assert entry.data["before"]["kinds"] == ["incident", "vulnerability", "advisory", "measure"]
    assert entry.data["after"]["kinds"] == ["incident"]


def test_the_taxii_server_serves_the_peer_its_retraction(net, client):
    report = file(net.grid_user, "Served then withdrawn")
    publish_all(report)
    peer = make_peer(net.coordinator, slug="peer-land", outbound=AgreementData())
    token = services.issue_token(net.coordinator, peer)
    auth = "Basic " + base64.b64encode(f"peer-land:{token}".encode()).decode()
    from accord.exchange.taxii.collections import peer_collection_id

    url = f"/taxii2/accord/collections/{peer_collection_id()}/objects/?match[version]=all"

    def pull() -> list[dict[str, Any]]:
        services.retract_for_all()  # what the scheduler does every minute
        answer = client.get(url, HTTP_AUTHORIZATION=auth, HTTP_ACCEPT=TAXII)
        assert answer.status_code == 200, answer.content
        return json.loads(answer.content).get("objects", [])

    assert f"incident--{report.pk}" in {o["id"] for o in pull()}
    reports.withdraw_report(fresh(net.grid_user), Report.objects.get(pk=report.pk))
    objects = [o for o in pull() if o["id"] == f"incident--{report.pk}"]
    assert [o.get("revoked") for o in objects] == [True]


# --- Managing peers ---------------------------------------------------------------------------


def test_creating_and_changing_a_peer_is_validated_and_audited(net):
    with pytest.raises(PeerError) as caught:
        services.create_peer(
            net.coordinator,
            PeerData(name=" ", country="XX", api_root_url="ftp://x", pull_every_minutes=0),
        )
    assert set(caught.value.errors) == {"name", "country", "api_root_url", "pull_every_minutes"}
    peer = services.create_peer(
        net.coordinator,
        PeerData(
            name="Federal Republic peer",
            country="de",
            api_root_url="https://peer.example/taxii2/accord",
            remote_username="nl-network",
            remote_secret="s3cret-at-peer",
        ),
    )
    assert peer.slug == "federal-republic-peer" and peer.country.code == "DE"
    assert peer.api_root_url == "https://peer.example/taxii2/accord/"
    with pytest.raises(PeerError) as caught:
        services.create_peer(
            net.coordinator,
            PeerData(name="federal republic peer", country="DE", api_root_url="https://x.example/"),
        )
    assert "name" in caught.value.errors
    peer.cursor = "2026-01-01T00:00:00.000000Z"
    peer.save()
    services.update_peer(
        net.coordinator,
        peer,
        PeerData(
            name=peer.name,
            country="DE",
            api_root_url="https://elsewhere.example/taxii2/r/",
            remote_username="nl-network",
        ),
    )
    peer.refresh_from_db()
    assert peer.remote_secret == "s3cret-at-peer"  # kept when not given
    assert peer.cursor == ""  # another server: from its beginning
    actions = list(
        AuditEntry.objects.filter(target_type="exchange.peer", target_id=str(peer.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["peer.created", "peer.updated"]
    assert "s3cret" not in json.dumps(list(AuditEntry.objects.values_list("data", flat=True)))


def test_only_coordinators_manage_peers(net):
    with pytest.raises(policy.PolicyDenied):
        services.create_peer(
            net.grid_user, PeerData(name="X", country="DE", api_root_url="https://x.example/")
        )
    peer = make_peer(net.coordinator)
    for action in (
        lambda: services.issue_token(net.grid_user, peer),
        lambda: services.set_agreement(net.grid_user, peer, "outbound", AgreementData()),
        lambda: services.set_active(net.grid_user, peer, False),
        lambda: services.request_pull(net.grid_user, peer),
    ):
        with pytest.raises(policy.PolicyDenied):
            action()


def test_the_inbound_token_is_shown_once_and_signs_the_peer_in(net, client):
    peer = make_peer(net.coordinator, slug="peer-land", token=False)
    first = services.issue_token(net.coordinator, peer)
    second = services.issue_token(net.coordinator, peer)
    peer.refresh_from_db()
    assert first != second and peer.inbound_token_hash == hash_token(second)
    assert first not in json.dumps(list(AuditEntry.objects.values_list("summary", "data")))
    actions = list(
        AuditEntry.objects.filter(target_type="exchange.peer", target_id=str(peer.pk))
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["peer.token_issued", "peer.token_rotated"]

    def discovery(secret: str) -> int:
        auth = "Basic " + base64.b64encode(f"peer-land:{secret}".encode()).decode()
        return client.get(
            "/taxii2/accord/collections/", HTTP_AUTHORIZATION=auth, HTTP_ACCEPT=TAXII
        ).status_code

    assert discovery(second) == 200
    assert discovery(first) == 401
    services.set_active(net.coordinator, peer, False)
    assert discovery(second) == 401


# --- Pulling from a peer ---------------------------------------------------------------------


def stub_peer(net: SimpleNamespace, stub: StubTaxii, **kw: Any) -> Peer:
    return make_peer(
        net.coordinator,
        kw.pop("name", "Stub Land"),
        kw.pop("country", "DE"),
        url=kw.pop("url", stub.root),
        remote_username=stub.username,
        remote_secret=kw.pop("remote_secret", stub.password),
        inbound_agreement=kw.pop("inbound_agreement", AgreementData()),
        **kw,
    )


def test_a_pull_pages_through_the_peer_and_moves_the_cursor(net, stub):
    stub.page_size = 2
    ioc = [indicator(f"ioc {n}", f"203.0.113.{n}") for n in range(1, 4)]
    last = stub.add(
        *ioc, advisory("Phishing wave", [o["id"] for o in ioc]), incident("Grid outage")
    )
    peer = stub_peer(net, stub)
    run = inbound.pull(peer)
    assert run.ok, run.error
    assert (run.pages, run.objects_received, run.objects_accepted, run.reports_created) == (
        3,
        5,
        5,
        2,
    )
    peer.refresh_from_db()
    assert peer.cursor == added_stamp(last)
    assert peer.last_success_at and peer.consecutive_failures == 0 and peer.last_error == ""
    assert peer.next_pull_at > timezone.now() + dt.timedelta(minutes=14)
    assert (peer.objects_received, peer.reports_received) == (5, 2)
    wave = Report.objects.get(title="Phishing wave")
    assert wave.origin.peer == peer and wave.origin.origin_country == "DE"
    assert wave.reporter_organisation is None and wave.withdrawn_at is None
    assert wave.observations.count() == 3
    nexts = [q.get("next") for q in stub.object_requests()]
    assert nexts == [None, ["2"], ["4"]]

    # The next pull asks from the cursor, less the overlap; the repeats change nothing.
    stub.requests.clear()
    run = inbound.pull(peer)
    assert run.ok and run.reports_created == 0
    query = stub.object_requests()[0]
    asked = inbound.parse_time(query["added_after"][0])
    assert asked == last - inbound.OVERLAP
    assert query["match[version]"] == ["all"]
    assert Report.objects.filter(title="Phishing wave").count() == 1


def test_the_inbound_agreement_decides_what_is_taken(net, stub):
    vuln = {**common("vulnerability", "A flaw"), "name": "A flaw"}
    members = [indicator("ioc amber", "203.0.113.50")]
    stub.add(
        incident("Green incident"),
        incident("Amber incident", marking="amber"),
        incident("Strict incident", marking="amber+strict"),
        incident("Red incident", marking="red"),
        vuln,
        *members,
        advisory("Amber advisory", [m["id"] for m in members], marking="amber"),
    )
    peer = stub_peer(
        net,
        stub,
        inbound_agreement=AgreementData(kinds=["incident", "advisory"], highest_marking="green"),
    )
    run = inbound.pull(peer)
    assert run.ok, run.error
    assert titles(Report.objects.filter(origin__peer=peer)) == {"Green incident"}
    assert run.objects_refused == 6 and run.objects_failed == 0
    # Nothing of what was left out is stored, not even its observables.
    assert not StixObject.objects.filter(body__contains="203.0.113.50").exists()
    assert not StixObject.objects.filter(body__contains="Strict incident").exists()


def test_a_revocation_from_the_peer_withdraws_our_copy(net, stub):
    stub.add(incident("Soon revoked"), incident("Never held", marking="green"))
    peer = stub_peer(net, stub)
    assert inbound.pull(peer).ok
    stub.add(
        {**incident("Soon revoked", version=5), "revoked": True},
        {**incident("Unknown here", version=5), "revoked": True},
    )
    run = inbound.pull(peer)
    assert run.ok, run.error
    assert run.reports_withdrawn == 1
    assert Report.objects.get(title="Soon revoked").withdrawn_at is not None
    # A revocation of something we never held creates nothing.
    assert not Report.objects.filter(title__in=["Unknown here", "Incident Unknown here"]).exists()
    assert not ReportOrigin.objects.filter(external_id=sid("incident", "Unknown here")).exists()


def test_a_marking_tightened_at_the_origin_withdraws_our_copy(net, stub):
    stub.add(incident("Tightened later"))
    peer = stub_peer(net, stub)
    assert inbound.pull(peer).ok
    stub.add(
        incident("Tightened later", marking="amber", version=3, description="AMBER ONLY DETAIL")
    )
    run = inbound.pull(peer)
    assert run.ok, run.error
    copy = Report.objects.get(title="Tightened later")
    assert copy.withdrawn_at is not None and copy.marking == "green"
    assert not StixObject.objects.filter(body__contains="AMBER ONLY DETAIL").exists()


def test_one_report_from_two_peers_and_only_its_origin_changes_it(net, stub):
    second = StubTaxii(username=stub.username, password=stub.password).start()
    try:
        stub.add(incident("Shared incident"))
        second.add(incident("Shared incident", version=9, description="Rewritten by another peer"))
        first_peer = stub_peer(net, stub)
        other_peer = stub_peer(net, second, name="Second Land", country="FR")
        assert inbound.pull(first_peer).ok
        run = inbound.pull(other_peer)
        assert run.ok and run.objects_failed == 1 and "another origin" in run.error
        [copy] = Report.objects.filter(title="Shared incident")
        assert copy.origin.peer == first_peer and "Rewritten" not in copy.summary
        # Its origin may change it.
        stub.add(incident("Shared incident", version=10, description="Updated at the origin"))
        assert inbound.pull(first_peer).ok
        copy.refresh_from_db()
        assert copy.summary == "Updated at the origin"
    finally:
        second.stop()


def test_a_reference_added_before_the_cursor_is_fetched(net, stub):
    reporter = identity("Peer reporter org")
    stub.add(reporter)
    peer = stub_peer(net, stub, inbound_agreement=AgreementData(kinds=["advisory"]))
    # We pulled up to an hour after the identity was added, and kept nothing.
    peer.cursor = added_stamp(START + dt.timedelta(hours=1))
    peer.save()
    stub.clock = START + dt.timedelta(hours=2)
    stub.add(
        incident("Ignored kind"),
        advisory("Later advisory", [reporter["id"]], created_by_ref=reporter["id"]),
    )
    run = inbound.pull(peer)
    assert run.ok and run.objects_failed == 0, run.error
    assert any(path.endswith(f"/objects/{reporter['id']}/") for path, _ in stub.requests)
    assert Report.objects.get(title="Later advisory").origin.reporter_label == "Peer reporter org"


def test_failed_pulls_back_off_and_recover(net, stub):
    stub.add(incident("After the outage"))
    peer = stub_peer(net, stub)
    stub.fail_with = 503
    delays = []
    for _ in range(3):
        before = timezone.now()
        run = inbound.pull(peer)
        assert run.ok is False and "HTTP 503" in run.error and "Broken on purpose" in run.error
        peer.refresh_from_db()
        delays.append(round((peer.next_pull_at - before).total_seconds() / 60))
    assert delays == [1, 2, 4]
    assert peer.consecutive_failures == 3 and "HTTP 503" in peer.last_error
    assert peer.cursor == ""
    stub.fail_with = None
    assert inbound.pull(peer).ok
    peer.refresh_from_db()
    assert peer.consecutive_failures == 0 and peer.last_error == ""
    assert inbound.retry_delay(30) == dt.timedelta(hours=6)


def test_bad_credentials_and_missing_agreements_are_clear_failures(net, stub):
    peer = stub_peer(net, stub, remote_secret="wrong")
    run = inbound.pull(peer)
    assert run.ok is False and "HTTP 401" in run.error
    unreachable = make_peer(
        net.coordinator,
        "Nowhere",
        "FR",
        url="http://127.0.0.1:9/taxii2/",
        inbound_agreement=AgreementData(),
    )
    assert "Cannot connect" in inbound.pull(unreachable).error
    no_agreement = stub_peer(net, stub, name="No agreement", country="IT", inbound_agreement=None)
    Agreement.objects.filter(peer=no_agreement).delete()
    assert "no inbound agreement" in inbound.pull(no_agreement).error
    assert PeerPullRun.objects.filter(ok=False).count() == 3


def test_the_discovery_address_works_as_well(net, stub):
    stub.add(incident("Found through discovery"))
    peer = stub_peer(net, stub, url=stub.discovery)
    assert inbound.pull(peer).ok
    assert Report.objects.filter(title="Found through discovery").exists()


def test_due_pulls_are_queued_once_and_run(net, stub):
    stub.add(incident("Scheduled"))
    peer = stub_peer(net, stub)
    paused = stub_peer(net, stub, name="Paused Land", country="FR")
    services.set_active(net.coordinator, paused, False)
    # The test settings run tasks at once: queueing is pulling.
    assert queue_due_pulls() == 1
    peer.refresh_from_db()
    assert peer.last_success_at is not None
    assert Report.objects.filter(title="Scheduled").count() == 1
    assert queue_due_pulls() == 0  # not due again before its interval
    assert queue_due_pulls(now=timezone.now() + dt.timedelta(minutes=16)) == 1


def test_the_scheduler_thread_queues_until_stopped():
    calls = threading.Event()
    scheduler = PullScheduler(interval=0.01, queue=calls.set)
    scheduler.start()
    assert calls.wait(5)
    scheduler.stop()
    scheduler.join(5)
    assert not scheduler.is_alive()


def test_the_pull_peers_command(net, stub):
    stub.add(incident("From the command line"))
    peer = stub_peer(net, stub, slug="stub-land")
    out = StringIO()
    call_command("pull_peers", "--peer", "stub-land", stdout=out)
    assert "Stub Land: 1 objects received" in out.getvalue()
    assert PeerPullRun.objects.get(peer=peer).trigger == "command"
    stub.fail_with = 500
    with pytest.raises(CommandError, match="1 of 1 pulls failed"):
        call_command("pull_peers", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="No peer"):
        call_command("pull_peers", "--peer", "nobody", stdout=StringIO())


# --- Pages ------------------------------------------------------------------------------------


def test_peer_pages_are_for_coordinators_only(net, client):
    peer = make_peer(net.coordinator, slug="peer-land")
    pages = [
        "/exchange/peers/",
        "/exchange/peers/new/",
        "/exchange/peers/peer-land/",
        "/exchange/peers/peer-land/agreements/outbound/",
    ]
    for url in pages:
        assert client.get(url).status_code == 302  # to the sign-in page
    f.login(client, net.grid_user)
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 403 and b"Only coordinators" in answer.content
    assert client.post("/exchange/peers/peer-land/token/").status_code == 403
    peer.refresh_from_db()
    assert peer.inbound_token_hash  # unchanged


def test_a_coordinator_sets_up_a_peer_through_the_pages(net, client, stub):
    f.login(client, net.coordinator)
    answer = client.post(
        "/exchange/peers/new/",
        {
            "name": "Stub Land",
            "slug": "stub-land",
            "country": "DE",
            "api_root_url": stub.root,
            "remote_username": stub.username,
            "remote_secret": stub.password,
            "pull_every_minutes": "30",
        },
    )
    assert answer.status_code == 302 and answer["Location"] == "/exchange/peers/stub-land/"
    peer = Peer.objects.get(slug="stub-land")
    assert peer.remote_secret == stub.password and peer.pull_every_minutes == 30

    page = client.get("/exchange/peers/stub-land/agreements/inbound/")
    assert b"name_reporters" not in page.content  # only for what goes out
    answer = client.post(
        "/exchange/peers/stub-land/agreements/outbound/",
        {"kinds": ["incident"], "highest_marking": "red"},
    )
    assert answer.status_code == 400 and b"never cross" in answer.content
    assert not Agreement.objects.filter(peer=peer).exists()
    for direction in ("outbound", "inbound"):
        answer = client.post(
            f"/exchange/peers/stub-land/agreements/{direction}/",
            {
                "kinds": ["incident", "advisory"],
                "highest_marking": "green",
                "working_groups": [net.finance.slug],
            },
        )
        assert answer.status_code == 302
    outbound = Agreement.objects.get(peer=peer, direction="outbound")
    assert list(outbound.working_groups.all()) == [net.finance]
    assert list(Agreement.objects.get(peer=peer, direction="inbound").working_groups.all()) == []

    answer = client.post("/exchange/peers/stub-land/token/")
    token = answer.context["token"]
    assert token.startswith("acp_") and token.encode() in answer.content
    assert answer["Cache-Control"] == "no-store"
    peer.refresh_from_db()
    assert peer.inbound_token_hash == hash_token(token)
    assert token.encode() not in client.get("/exchange/peers/stub-land/").content

    stub.add(incident("Pulled from the page"))
    answer = client.post("/exchange/peers/stub-land/pull/", follow=True)
    assert b"A pull from Stub Land was queued" in answer.content
    assert Report.objects.filter(title="Pulled from the page").exists()
    detail = client.get("/exchange/peers/stub-land/")
    assert detail.context["runs"][0].ok and detail.context["reports_from_peer"] == 1
    assert b"pull now" in detail.content.lower()

    peer.refresh_from_db()
    assert peer.cursor
    client.post("/exchange/peers/stub-land/reset/")
    peer.refresh_from_db()
    assert peer.cursor == "" and peer.next_pull_at <= timezone.now()
    assert AuditEntry.objects.filter(action="peer.cursor_reset").exists()

    client.post("/exchange/peers/stub-land/pause/")
    peer.refresh_from_db()
    assert not peer.active
    answer = client.post("/exchange/peers/stub-land/pull/", follow=True)
    assert b"paused" in answer.content
    client.post("/exchange/peers/stub-land/resume/")
    peer.refresh_from_db()
    assert peer.active
    listing = client.get("/exchange/peers/")
    assert b"Stub Land" in listing.content
    client.post("/exchange/peers/stub-land/agreements/outbound/remove/")
    assert not Agreement.objects.filter(peer=peer, direction="outbound").exists()
    assert client.get("/exchange/peers/stub-land/agreements/sideways/").status_code == 404


def test_bad_peer_input_on_the_pages_stores_nothing(net, client):
    f.login(client, net.coordinator)
    answer = client.post(
        "/exchange/peers/new/",
        {
            "name": "New",
            "slug": "new",
            "country": "DE",
            "api_root_url": "https://x.example/",
            "pull_every_minutes": "15",
        },
    )
    assert answer.status_code == 400 and b"reserved" in answer.content
    answer = client.post(
        "/exchange/peers/new/",
        {"name": "Z", "country": "ZZ", "api_root_url": "not a url", "pull_every_minutes": "0"},
    )
    assert answer.status_code == 400
    assert not Peer.objects.exists()
