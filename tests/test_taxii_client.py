"""The OASIS taxii2-client library, as a real client over HTTP on loopback, against
the real server: discovery, API root, collections, paging, posting and status,
single objects, versions and the manifest, and what another organisation sees."""

from __future__ import annotations

import datetime as dt
import gc
import json
import threading
import time
import uuid
from typing import Any

import pytest
import requests
from django.urls import include, path
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from accord import urls as project_urls
from accord.accounts import services as accounts
from accord.accounts.models import hash_token
from accord.exchange.models import Agreement, Peer, Scope, StixObject
from accord.exchange.taxii.collections import collection_id, peer_collection_id
from accord.sharing.services import reports
from accord.sharing.services.drafts import ReportDraft
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

# Until the project's urls include the TAXII server, this module serves it itself.
urlpatterns = list(project_urls.urlpatterns)
if not any(getattr(p, "namespace", None) == "taxii" for p in urlpatterns):
    urlpatterns.insert(0, path("taxii2/", include("accord.exchange.taxii.urls")))
handler404 = project_urls.handler404
handler500 = project_urls.handler500

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.test_taxii_client")]

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
BASE = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


def stix_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def indicator(n: int, *, version: int = 0) -> dict[str, Any]:
    created = stix_time(BASE)
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, f'taxii-client-{n}')}",
        "created": created,
        "modified": stix_time(BASE + dt.timedelta(hours=version)),
        "name": f"Command and control {n}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[domain-name:value = 'c2-{n}.example.net']",
        "pattern_type": "stix",
        "valid_from": created,
        "object_marking_refs": [GREEN],
    }


def store(report: Any, objects: list[dict[str, Any]]) -> None:
    """Objects already published for a report (as the publisher writes them)."""
    start = StixObject.objects.count()
    for offset, obj in enumerate(objects):
        StixObject.objects.create(
            stix_id=obj["id"],
            stix_type=obj["type"],
            modified=dt.datetime.fromisoformat(obj["modified"].replace("Z", "+00:00")),
            date_added=BASE + dt.timedelta(seconds=start + offset),
            report=report,
            scope=Scope.REPORT,
            body=json.dumps(obj, separators=(",", ":")),
        )


@pytest.fixture
def network(rules: Any) -> dict[str, Any]:
    energy = f.make_organisation("Energy Company", slug="energy", sectors=["energy"])
    bank = f.make_organisation("Bank Co", slug="bank", sectors=["banking"])
    for org in (energy, bank):
        f.accept_rules(org)
    ana, olga = f.make_user("ana"), f.make_user("olga")
    f.add_member(ana, energy)
    f.add_member(olga, bank)
    group = WorkingGroup.objects.create(name="Grid ISAC", slug="grid-isac")
    GroupMembership.objects.create(group=group, user=ana, organisation=energy)
    green = reports.create_report(
        ana, ReportDraft(kind="incident", title="Botnet C2 domains", marking="green")
    )
    amber = reports.create_report(
        ana,
        ReportDraft(
            kind="incident",
            title="Grid intrusion",
            marking="amber",
            audience="groups",
            audience_groups=["grid-isac"],
        ),
    )
    tokens = {
        user.username: accounts.create_token(user, name="c", can_write=True, expires_in_days=9)[1]
        for user in (ana, olga)
    }
    return {"ana": ana, "olga": olga, "green": green, "amber": amber, "tokens": tokens}


@pytest.fixture
def opened(live_server: Any) -> Any:
    """Endpoints to close after the test. A connection kept alive holds a server
    thread, and that thread's database connection, so the fixture also waits for
    the server's threads to finish: the test database must be free to drop."""
    baseline = threading.active_count()
    endpoints: list[Any] = []
    yield endpoints
    for endpoint in endpoints:
        for root in getattr(endpoint, "_api_roots", None) or []:
            root.close()
        endpoint.close()
    # A response kept by a caught HTTPError (a reference cycle through its
    # traceback) keeps its connection open until the cycle is collected.
    gc.collect()
    deadline = time.monotonic() + 10
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def server(live_server: Any, opened: list) -> Any:
    def connect(user: str, secret: str) -> Server:
        found = Server(f"{live_server.url}/taxii2/", user=user, password=secret)
        opened.append(found)
        return found

    return connect


def test_a_client_discovers_pages_posts_and_reads(
    server: Any, live_server: Any, network: dict
) -> None:
    stored = [indicator(n) for n in range(23)]
    store(network["green"], stored)
    found = server("ana", network["tokens"]["ana"])

    # Discovery and the API root.
    assert found.title == "Accord TAXII server"
    (root,) = found.api_roots
    assert found.default.url == root.url == f"{live_server.url}/taxii2/accord/"
    assert root.versions == ["application/taxii+json;version=2.1"]
    assert root.max_content_length == 100 * 1024 * 1024

    # Collections follow the audiences.
    by_alias = {c.alias: c for c in root.collections}
    assert set(by_alias) == {"all", "network", "group-grid-isac", "government", "coordination"}
    collection = by_alias["network"]
    assert collection.id == collection_id("network")
    assert collection.can_read and collection.can_write

    # Paging through more than one page with the library's own helper.
    pages = list(as_pages(collection.get_objects, per_request=10, type="indicator"))
    assert [len(p["objects"]) for p in pages] == [10, 10, 3]
    assert [o["id"] for p in pages for o in p["objects"]] == [o["id"] for o in stored]
    manifest_pages = list(as_pages(collection.get_manifest, per_request=9, type="indicator"))
    assert len(manifest_pages) == 3
    assert {r["id"] for p in manifest_pages for r in p["objects"]} == {o["id"] for o in stored}

    # Posting: 202 and a status resource, polled until complete.
    posted = [indicator(100 + n) for n in range(5)]
    status = collection.add_objects({"objects": posted}, wait_for_completion=False)
    status.wait_until_final(poll_interval=0.1, timeout=30)
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (5, 5, 0)
    assert {s["id"] for s in status.successes} == {o["id"] for o in posted}
    again = root.get_status(status.id)
    assert again.status == "complete" and again.success_count == 5

    # A new version of a posted object, then the object, its versions and its manifest entry.
    collection.add_objects({"objects": [indicator(100, version=1)]})
    newest = collection.get_object(posted[0]["id"])
    assert [o["modified"] for o in newest["objects"]] == [indicator(100, version=1)["modified"]]
    both = collection.get_object(posted[0]["id"], version="all")["objects"]
    assert [o["modified"] for o in both] == [
        posted[0]["modified"],
        newest["objects"][0]["modified"],
    ]
    versions = collection.object_versions(posted[0]["id"])
    assert versions["versions"] == [o["modified"] for o in both]
    manifest = collection.get_manifest(id=posted[0]["id"])
    assert [r["version"] for r in manifest["objects"]] == [newest["objects"][0]["modified"]]
    assert manifest["objects"][0]["media_type"] == "application/stix+json;version=2.1"

    # Deleting one's own object.
    collection.delete_object(posted[1]["id"])
    with pytest.raises(requests.HTTPError) as missing:
        collection.get_object(posted[1]["id"])
    assert missing.value.response.status_code == 404


def test_another_organisation_does_not_see_an_amber_group_report(
    server: Any, opened: list, network: dict
) -> None:
    public = [indicator(n) for n in range(3)]
    secret = [indicator(50 + n) for n in range(3)]
    store(network["green"], public)
    store(network["amber"], secret)
    secret_ids = {o["id"] for o in secret}

    # The report itself, as published when it was filed (its STIX id is its own).
    secret_ids.add(f"incident--{network['amber'].pk}")

    ana_root = server("ana", network["tokens"]["ana"]).api_roots[0]
    group = {c.alias: c for c in ana_root.collections}["group-grid-isac"]
    in_group = {o["id"] for o in group.get_objects()["objects"]}
    assert secret_ids <= in_group
    assert f"incident--{network['green'].pk}" not in in_group  # the network's, not the group's

    olga_root = server("olga", network["tokens"]["olga"]).api_roots[0]
    collections = {c.alias: c for c in olga_root.collections}
    assert "group-grid-isac" not in collections
    for collection in collections.values():
        envelope = collection.get_objects()
        assert not {o["id"] for o in envelope.get("objects", [])} & secret_ids
        manifest = collection.get_manifest()
        assert not {r["id"] for r in manifest.get("objects", [])} & secret_ids
    seen = {o["id"] for o in collections["all"].get_objects()["objects"]}
    assert {o["id"] for o in public} | {f"incident--{network['green'].pk}"} <= seen
    with pytest.raises(requests.HTTPError) as refused:
        collections["all"].get_object(secret[0]["id"])
    assert refused.value.response.status_code == 404

    # Knowing the group collection's id does not help either.
    direct = Collection(
        f"{olga_root.url}collections/{group.id}/",
        user="olga",
        password=network["tokens"]["olga"],
    )
    opened.append(direct)
    with pytest.raises(requests.HTTPError) as hidden:
        direct.refresh()
    assert hidden.value.response.status_code == 404


def test_wrong_credentials_are_refused(live_server: Any, opened: list, network: dict) -> None:
    root = ApiRoot(f"{live_server.url}/taxii2/accord/", user="ana", password="acc_wrong")
    opened.append(root)
    with pytest.raises(requests.HTTPError) as refused:
        root.refresh()
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_a_peer_installation_reads_its_collection(server: Any, network: dict) -> None:
    store(network["green"], [indicator(n) for n in range(4)])
    store(network["amber"], [indicator(60)])
    secret = "peer-" + uuid.uuid4().hex
    peer = Peer.objects.create(
        name="Neighbour CERT",
        slug="neighbour",
        country="BE",
        api_root_url="https://neighbour.example/taxii2/root/",
        inbound_token_hash=hash_token(secret),
    )
    Agreement.objects.create(peer=peer, direction=Agreement.Direction.OUTBOUND)
    root = server("neighbour", secret).api_roots[0]
    (collection,) = root.collections
    assert collection.id == peer_collection_id()
    assert not collection.can_write
    pages = list(as_pages(collection.get_objects, per_request=3, type="indicator"))
    ids = [o["id"] for p in pages for o in p["objects"]]
    assert ids == [indicator(n)["id"] for n in range(4)]
