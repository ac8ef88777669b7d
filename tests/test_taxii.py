"""The TAXII 2.1 server through Django's test client (middleware included) and
over raw HTTP: every endpoint, every error code, the headers, paging and filters,
and that a collection never holds more than its reader may see."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.urls import include, path

from accord import urls as project_urls
from accord.accounts import services as accounts
from accord.accounts.models import hash_token
from accord.audit.models import AuditEntry
from accord.exchange.models import Agreement, Peer, Scope, StixObject, TaxiiStatus
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

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_taxii")]

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/accord/"
BASE = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
ALL = collection_id("all")
NETWORK = collection_id("network")


# --- Data ----------------------------------------------------------------------------


def stix_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def indicator(n: int, modified: dt.datetime) -> dict[str, Any]:
    created = stix_time(BASE)
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, f'taxii-test-{n}')}",
        "created": created,
        "modified": stix_time(modified),
        "name": f"Beacon host {n}",
        "indicator_types": ["malicious-activity"],
        "pattern": f"[ipv4-addr:value = '198.51.100.{n % 250}']",
        "pattern_type": "stix",
        "valid_from": created,
    }


_added = iter(range(1, 10**6))


def store(
    report: Any,
    first: int,
    count: int = 1,
    *,
    versions: int = 1,
    scope: str = Scope.REPORT,
    body_abroad: bool = False,
) -> list[str]:
    """Store indicators ``first``..``first+count-1`` (each in ``versions`` versions,
    added one millisecond apart) anchored to ``report``; return their ids."""
    ids = []
    for n in range(first, first + count):
        for v in range(versions):
            obj = indicator(n, BASE + dt.timedelta(days=v))
            abroad = dict(obj, name=f"Beacon host {n} (abroad)") if body_abroad else None
            StixObject.objects.create(
                stix_id=obj["id"],
                stix_type="indicator",
                modified=BASE + dt.timedelta(days=v),
                date_added=BASE + dt.timedelta(milliseconds=next(_added)),
                report=report if scope == Scope.REPORT else None,
                scope=scope,
                body=json.dumps(obj, separators=(",", ":")),
                body_abroad=json.dumps(abroad, separators=(",", ":")) if abroad else "",
                is_latest=v == versions - 1,
            )
        ids.append(obj["id"])
    return ids


def draft(**overrides: Any) -> ReportDraft:
    values: dict[str, Any] = {"kind": "incident", "title": "Beacons seen", "marking": "green"}
    values.update(overrides)
    return ReportDraft(**values)


def token(user: Any, *, write: bool = True) -> str:
    return accounts.create_token(user, name="taxii", can_write=write, expires_in_days=30)[1]


def basic(username: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


@pytest.fixture
def net(analyst: Any, member_org: Any) -> dict[str, Any]:
    """Ana (Energy Company, in the working group Grid ISAC) and Olga (Bank Co, not in
    it), each with a read-write token; a network report, an AMBER report for the
    group and a CLEAR report, all Ana's."""
    bank = f.make_organisation("Bank Co", slug="bank-co", sectors=["banking"])
    f.accept_rules(bank)
    olga = f.make_user("olga")
    f.add_member(olga, bank)
    group = WorkingGroup.objects.create(name="Grid ISAC", slug="grid-isac")
    GroupMembership.objects.create(group=group, user=analyst, organisation=member_org)
    network = reports.create_report(analyst, draft(audience="network"))
    grouped = reports.create_report(
        analyst, draft(marking="amber", audience="groups", audience_groups=["grid-isac"])
    )
    clear = reports.create_report(analyst, draft(marking="clear", title="Public advice"))
    ana_token, olga_token = token(analyst), token(olga)
    return {
        "ana": analyst,
        "olga": olga,
        "group": group,
        "network": network,
        "grouped": grouped,
        "clear": clear,
        "ana_auth": basic("ana", ana_token),
        "olga_auth": basic("olga", olga_token),
        "ana_token": ana_token,
    }


def get(client: Any, url: str, auth: dict[str, str] | None = None, **params: Any) -> Any:
    query = f"?{urlencode(params)}" if params else ""
    return client.get(url + query, HTTP_ACCEPT=TAXII, **(auth or {}))


def objects_url(collection: str) -> str:
    return f"{ROOT}collections/{collection}/objects/"


def ids_of(response: Any) -> list[str]:
    return [obj["id"] for obj in response.json().get("objects", [])]


def assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == TAXII
    body = response.json()
    assert body["http_status"] == str(status)
    assert body["title"]
    assert body["description"]
    return body


def walk(client: Any, url: str, auth: dict[str, str], **params: Any) -> list[Any]:
    """Every page of an objects/manifest/versions listing, following ``next``."""
    pages = [get(client, url, auth, **params)]
    while pages[-1].json()["more"]:
        assert pages[-1].status_code == 200
        pages.append(get(client, url, auth, next=pages[-1].json()["next"], **params))
        assert len(pages) < 100
    return pages


# --- Discovery and API root ---------------------------------------------------------------


def test_discovery_is_open_and_names_the_api_root(client: Any, db: Any) -> None:
    response = get(client, "/taxii2/")
    assert response.status_code == 200
    assert response["Content-Type"] == TAXII
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["title"].endswith("TAXII server")
    assert body["api_roots"] == ["http://testserver/taxii2/accord/"]
    assert body["default"] == body["api_roots"][0]
    assert client.head("/taxii2/", HTTP_ACCEPT=TAXII).status_code == 200


def test_discovery_refuses_credentials_that_do_not_work(client: Any, db: Any) -> None:
    response = get(client, "/taxii2/", basic("nobody", "acc_not-a-token"))
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith('Basic realm="')


def test_api_root_needs_a_token_and_describes_itself(client: Any, net: dict) -> None:
    response = get(client, ROOT)
    assert_error(response, 401)
    assert response["WWW-Authenticate"] == 'Basic realm="Accord TAXII", charset="UTF-8"'
    response = get(client, ROOT, net["ana_auth"])
    assert response.status_code == 200
    assert response.json() == {
        "title": "Accord",
        "description": "Collections follow the network's sharing audiences.",
        "versions": [TAXII],
        "max_content_length": 100 * 1024 * 1024,
    }
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {net['ana_token']}"}
    assert get(client, ROOT, bearer).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode(b"olga:acc_whatever").decode(),  # not a token
        "Basic not base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Digest username=ana",
        "Bearer acc_nope",
    ],
)
def test_bad_credentials_get_401(client: Any, net: dict, header: str) -> None:
    response = client.get(ROOT, HTTP_ACCEPT=TAXII, HTTP_AUTHORIZATION=header)
    assert_error(response, 401)
    assert "WWW-Authenticate" in response


def test_a_token_only_works_with_its_owners_name(client: Any, net: dict) -> None:
    assert_error(get(client, ROOT, basic("olga", net["ana_token"])), 401)
    token_row = net["ana"].api_tokens.get()
    accounts.revoke_token(token_row, by=net["ana"])
    assert_error(get(client, ROOT, net["ana_auth"]), 401)


def test_sessions_are_ignored(client: Any, net: dict) -> None:
    f.login(client, net["ana"])
    assert_error(get(client, ROOT), 401)


def test_unknown_api_root_and_paths_are_taxii_404s(client: Any, net: dict) -> None:
    assert_error(get(client, "/taxii2/elsewhere/", net["ana_auth"]), 404)
    assert_error(get(client, "/taxii2/accord/nothing/here/", net["ana_auth"]), 404)


@pytest.mark.parametrize(
    "accept",
    [
        "application/taxii+json;version=2.1",
        "application/taxii+json",
        "application/taxii+json; version=2.1",
        "*/*",
        "application/*",
        "text/html;q=0.9, application/taxii+json;version=2.1;q=0.8",
    ],
)
def test_acceptable_media_types(client: Any, net: dict, accept: str) -> None:
    response = client.get(ROOT, HTTP_ACCEPT=accept, **net["ana_auth"])
    assert response.status_code == 200
    assert response["Content-Type"] == TAXII


@pytest.mark.parametrize(
    "accept",
    [
        "application/taxii+json;version=2.0",
        "application/json",
        "application/stix+json;version=2.1",
        "text/html",
        "application/taxii+json;version=2.1;q=0",
    ],
)
def test_other_media_types_get_406(client: Any, net: dict, accept: str) -> None:
    assert_error(client.get(ROOT, HTTP_ACCEPT=accept, **net["ana_auth"]), 406)


def test_methods_a_path_does_not_take_get_405(client: Any, net: dict) -> None:
    response = client.put(objects_url(NETWORK), b"{}", content_type=TAXII, **net["ana_auth"])
    assert_error(response, 405)
    assert response["Allow"] == "GET, HEAD, POST"
    assert_error(client.post(ROOT, b"{}", content_type=TAXII, **net["ana_auth"]), 405)


# --- Collections ---------------------------------------------------------------------------


def test_collections_follow_the_audiences(client: Any, net: dict) -> None:
    body = get(client, f"{ROOT}collections/", net["ana_auth"]).json()
    found = {c["alias"]: c for c in body["collections"]}
    assert list(found) == ["all", "network", "group-grid-isac", "government", "coordination"]
    assert found["all"]["id"] == ALL == str(uuid.UUID(ALL))
    assert found["group-grid-isac"]["id"] == collection_id(f"group:{net['group'].pk}")
    assert found["all"]["can_write"] is False
    assert all(c["can_read"] for c in found.values())
    assert all(found[alias]["can_write"] for alias in list(found)[1:])
    assert found["network"]["media_types"] == ["application/stix+json;version=2.1"]

    olga = {
        c["alias"]
        for c in get(client, f"{ROOT}collections/", net["olga_auth"]).json()["collections"]
    }
    assert olga == {"all", "network", "government", "coordination"}


def test_read_only_tokens_see_collections_they_cannot_write(client: Any, net: dict) -> None:
    auth = basic("ana", token(net["ana"], write=False))
    body = get(client, f"{ROOT}collections/", auth).json()
    assert not any(c["can_write"] for c in body["collections"])


def test_people_not_in_good_standing_only_read(client: Any, net: dict) -> None:
    laggard_org = f.make_organisation("Laggard", slug="laggard")  # never accepted the rules
    lou = f.make_user("lou")
    f.add_member(lou, laggard_org)
    auth = basic("lou", token(lou))
    body = get(client, f"{ROOT}collections/", auth).json()
    assert [(c["alias"], c["can_write"]) for c in body["collections"]] == [("all", False)]
    public = store(net["clear"], 1)
    store(net["network"], 2)
    assert ids_of(get(client, objects_url(ALL), auth)) == public


def test_one_collection_and_its_404s(client: Any, net: dict) -> None:
    response = get(client, f"{ROOT}collections/{NETWORK}/", net["ana_auth"])
    assert response.status_code == 200
    assert response.json()["title"] == "Whole network"
    group = collection_id(f"group:{net['group'].pk}")
    assert_error(get(client, f"{ROOT}collections/{group}/", net["olga_auth"]), 404)
    assert_error(get(client, f"{ROOT}collections/{uuid.uuid4()}/", net["ana_auth"]), 404)
    assert_error(get(client, objects_url(group), net["olga_auth"]), 404)


# --- The visibility rule in its paging shape ---------------------------------------------


def test_the_joined_visibility_rule_equals_the_policy(net: dict, coordinator: Any) -> None:
    """policy.stix_objects_visible_to tests each object's own report (for speed):
    for every kind of reader and report it must give exactly the objects of the
    reports policy.reports_visible_to gives, plus the context scopes."""
    from django.contrib.auth.models import AnonymousUser

    from accord import policy
    from accord.sharing.models import Report

    ana, olga = net["ana"], net["olga"]
    ministry = f.make_organisation(
        "Ministry", slug="ministry", sectors=[], stakeholder_group="government-civilian"
    )
    f.accept_rules(ministry)
    mia = f.make_user("mia")
    f.add_member(mia, ministry)
    lou = f.make_user("lou")
    f.add_member(lou, f.make_organisation("Laggard", slug="laggard"))
    filed = [
        reports.create_report(
            ana,
            draft(marking="amber", audience="organisations", audience_organisations=["bank-co"]),
        ),
        reports.create_report(ana, draft(marking="amber+strict", audience="government")),
        reports.create_report(ana, draft(audience="coordination")),
        reports.create_report(ana, draft(marking="red", recipients=["olga"])),
        reports.create_report(olga, draft(attribution="anonymous")),
        reports.create_report(olga, draft(attribution="pseudonymous", marking="amber")),
        reports.create_report(
            mia, draft(marking="amber", audience="groups", audience_groups=["grid-isac"])
        ),
    ]
    withdrawn = reports.create_report(olga, draft(title="Withdrawn one"))
    reports.withdraw_report(olga, withdrawn, reason="Duplicate")
    for n, report in enumerate([*Report.objects.all()]):
        store(report, 100 + n)
    for n, scope in enumerate([Scope.PUBLIC, Scope.NAMED, Scope.CONTACT]):
        store(None, 200 + n, scope=scope)
    assert len(filed) + 4 == Report.objects.count()

    for reader in (ana, olga, mia, lou, coordinator, AnonymousUser()):
        fresh = type(reader).objects.get(pk=reader.pk) if reader.pk else reader
        expected = set(policy.reports_visible_to(fresh).values_list("pk", flat=True))
        rows = policy.stix_objects_visible_to(fresh)
        of_reports = set(rows.filter(scope=Scope.REPORT).values_list("report_id", flat=True))
        assert of_reports == expected, reader
        scopes = set(rows.exclude(scope=Scope.REPORT).values_list("scope", flat=True))
        assert scopes == set(policy.readable_context_scopes(fresh)), reader
    assert len(expected) == 1  # the anonymous reader: the CLEAR report only


# --- Reading objects ------------------------------------------------------------------------


def test_objects_are_served_as_stored_with_the_date_headers(client: Any, net: dict) -> None:
    ids = store(net["network"], 1, 3)
    response = get(client, objects_url(NETWORK), net["ana_auth"])
    assert response.status_code == 200
    assert response["Content-Type"] == TAXII
    body = response.json()
    assert body["more"] is False and "next" not in body
    assert [o["id"] for o in body["objects"]] == ids
    rows = list(StixObject.objects.filter(stix_id__in=ids).order_by("date_added"))
    assert body["objects"][0] == json.loads(rows[0].body)
    first, last = rows[0].date_added, rows[-1].date_added
    assert response["X-TAXII-Date-Added-First"] == first.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert response["X-TAXII-Date-Added-Last"] == last.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_an_empty_page_has_no_objects_and_no_date_headers(client: Any, net: dict) -> None:
    response = get(client, objects_url("coordination"), net["ana_auth"])
    assert response.status_code == 200
    assert response.json() == {"more": False}
    assert "X-TAXII-Date-Added-First" not in response


def test_paging_walks_every_object_once_in_order(client: Any, net: dict) -> None:
    ids = store(net["network"], 1, 25)
    pages = walk(
        client, objects_url(NETWORK), net["ana_auth"], limit=10, **{"match[type]": "indicator"}
    )
    assert [len(p.json()["objects"]) for p in pages] == [10, 10, 5]
    assert [p.json()["more"] for p in pages] == [True, True, False]
    assert [i for p in pages for i in ids_of(p)] == ids
    lasts = [p["X-TAXII-Date-Added-Last"] for p in pages]
    firsts = [p["X-TAXII-Date-Added-First"] for p in pages]
    assert lasts == sorted(lasts) and all(a < b for a, b in zip(lasts, firsts[1:], strict=False))


def test_a_page_read_along_the_index_equals_a_sorted_one(net: dict) -> None:
    """The large collections are read in index order (sorting ruled out on
    PostgreSQL for that query): the rows and cursors must be those of the plain
    sorted query, and the planner setting must be back afterwards."""
    from django.db import connection

    from accord.exchange.taxii import paging
    from accord.exchange.taxii.auth import Principal
    from accord.exchange.taxii.collections import collections_for, objects_of

    store(net["network"], 1, 12)
    store(None, 50, scope=Scope.PUBLIC)
    principal = Principal(user=net["ana"])
    for collection in collections_for(principal):
        query = paging.Query(limit=5)
        while True:
            rows = objects_of(principal, collection)
            sorted_page = paging.page(rows, query, "stix_id")
            walked_page = paging.page(rows, query, "stix_id", walk=True)
            assert walked_page == sorted_page, collection.key
            if not sorted_page.more:
                break
            query.after = paging.decode_cursor(sorted_page.next)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_sort")
            assert cursor.fetchone()[0] == "on"


def test_paging_continues_with_added_after_from_the_last_header(client: Any, net: dict) -> None:
    ids = store(net["network"], 1, 7)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3, "match[type]": "indicator"}
    while True:
        response = get(client, objects_url(NETWORK), net["ana_auth"], **params)
        seen += ids_of(response)
        if not response.json()["more"]:
            break
        params["added_after"] = response["X-TAXII-Date-Added-Last"]
    assert seen == ids


def test_the_server_caps_the_page_size(client: Any, net: dict, settings: Any) -> None:
    settings.TAXII_MAX_PAGE_SIZE = 4
    store(net["network"], 1, 6)
    response = get(client, objects_url(NETWORK), net["ana_auth"], limit=1000)
    assert len(response.json()["objects"]) == 4
    assert response.json()["more"] is True
    assert len(get(client, objects_url(NETWORK), net["ana_auth"]).json()["objects"]) == 4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": -5},
        {"limit": "ten"},
        {"next": "not-a-cursor"},
        {"added_after": "yesterday"},
        {"added_after": "2026-02-30T00:00:00Z"},
        {"added_after": "0001-01-01T00:00:00+01:00"},
        {"match[version]": "9999-12-31T23:59:59-01:00"},
        {"match[version]": "newest"},
        {"match[type]": "Indicator!"},
        {"match[id]": "indicator--nope"},
        {"match[spec_version]": "two"},
    ],
)
def test_filters_that_cannot_be_understood_get_400(client: Any, net: dict, params: dict) -> None:
    assert_error(get(client, objects_url(NETWORK), net["ana_auth"], **params), 400)


NASTY = [
    "limit=99999999999999999999999",
    "limit=%EF%BC%91",  # a full-width digit one
    "next=" + "A" * 5000,
    "next=MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAuMQ",
    "next=LTEuLTE",
    "next=MC45OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ",  # a row id past any integer column
    "next=MTc2NzIyNTYwMDAwMDAwMC4tOTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk",
    "match[id]=" + "x" * 1000,
    "match[id]=indicator--" + "0" * 36,
    "match[type]=%C3%A9t%C3%A9",
    "match[version]=2026-01-01T00:00:00.1234567890123Z",
    "match[version]=,,,",
    "added_after=%2B2026-01-01T00:00:00Z",
    "match[spec_version]=9.9&match[spec_version]=2.1",
]


@pytest.mark.parametrize("query", NASTY)
def test_odd_parameters_never_break_an_endpoint(client: Any, net: dict, query: str) -> None:
    (obj,) = store(net["network"], 1)
    base = f"{ROOT}collections/{NETWORK}/"
    for url in (
        f"{base}objects/",
        f"{base}manifest/",
        f"{base}objects/{obj}/",
        f"{base}objects/{obj}/versions/",
    ):
        response = client.get(f"{url}?{query}", HTTP_ACCEPT=TAXII, **net["ana_auth"])
        assert response.status_code in (200, 400), (url, query, response.content)
        assert response["Content-Type"] == TAXII


def test_match_filters(client: Any, net: dict) -> None:
    one, two, three = store(net["network"], 1, 3, versions=3)
    url, auth = objects_url(NETWORK), net["ana_auth"]

    def versions_of(**params: Any) -> list[tuple[str, str]]:
        body = get(client, url, auth, **{"match[type]": "indicator", **params}).json()
        return [(o["id"], o["modified"]) for o in body.get("objects", [])]

    v = [stix_time(BASE + dt.timedelta(days=d)) for d in range(3)]
    assert versions_of() == [(one, v[2]), (two, v[2]), (three, v[2])]  # "last" by default
    assert versions_of(**{"match[version]": "first"}) == [(one, v[0]), (two, v[0]), (three, v[0])]
    assert len(versions_of(**{"match[version]": "all"})) == 9
    assert versions_of(**{"match[version]": f"first,{v[1]}", "match[id]": two}) == [
        (two, v[0]),
        (two, v[1]),
    ]
    assert versions_of(**{"match[id]": f"{one},{three}"}) == [(one, v[2]), (three, v[2])]
    assert versions_of(**{"match[type]": "malware"}) == []
    assert len(versions_of(**{"match[spec_version]": "2.1"})) == 3
    assert versions_of(**{"match[spec_version]": "2.0"}) == []


def test_added_after(client: Any, net: dict) -> None:
    ids = store(net["network"], 1, 4)
    middle = StixObject.objects.get(stix_id=ids[1]).date_added
    after = middle.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    response = get(client, objects_url(NETWORK), net["ana_auth"], added_after=after)
    assert ids_of(response) == ids[2:]
    offset = middle.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
    assert ids_of(get(client, objects_url(NETWORK), net["ana_auth"], added_after=offset)) == ids[2:]


def test_collections_hold_only_what_their_reader_may_see(client: Any, net: dict) -> None:
    network = store(net["network"], 1, 2)
    grouped = store(net["grouped"], 10, 2)
    public = store(net["clear"], 20, 1)
    context = store(None, 30, 1, scope=Scope.PUBLIC)
    group = collection_id(f"group:{net['group'].pk}")
    ana, olga = net["ana_auth"], net["olga_auth"]

    assert set(ids_of(get(client, objects_url(ALL), ana))) == {
        *network,
        *grouped,
        *public,
        *context,
    }
    assert set(ids_of(get(client, objects_url(NETWORK), ana))) == {*network, *public, *context}
    assert set(ids_of(get(client, objects_url(group), ana))) == {*grouped, *context}
    assert set(ids_of(get(client, objects_url(ALL), olga))) == {*network, *public, *context}

    # The AMBER group report's objects do not exist for Olga, whichever way she asks.
    for collection in (ALL, NETWORK):
        for suffix in ("", "versions/"):
            url = f"{objects_url(collection)}{grouped[0]}/{suffix}"
            assert_error(get(client, url, olga), 404)
        manifest = get(client, f"{ROOT}collections/{collection}/manifest/", olga).json()
        assert not {r["id"] for r in manifest["objects"]} & set(grouped)
        assert ids_of(get(client, objects_url(collection), olga, **{"match[id]": grouped[0]})) == []


def test_withdrawn_reports_leave_the_collections(client: Any, net: dict) -> None:
    ids = store(net["network"], 1, 2)
    reports.withdraw_report(net["ana"], net["network"], reason="Mistaken")
    assert not set(ids) & set(ids_of(get(client, objects_url(NETWORK), net["olga_auth"])))


def test_get_an_object_and_its_versions(client: Any, net: dict) -> None:
    (obj,) = store(net["network"], 1, versions=3)
    url = f"{objects_url(NETWORK)}{obj}/"
    v = [stix_time(BASE + dt.timedelta(days=d)) for d in range(3)]
    response = get(client, url, net["ana_auth"])
    assert response.status_code == 200
    assert [o["modified"] for o in response.json()["objects"]] == [v[2]]
    assert "X-TAXII-Date-Added-Last" in response
    every = get(client, url, net["ana_auth"], **{"match[version]": "all"}).json()["objects"]
    assert [o["modified"] for o in every] == v
    first = get(client, url, net["ana_auth"], **{"match[version]": "first"}).json()
    assert [o["modified"] for o in first["objects"]] == [v[0]]
    assert get(
        client, url, net["ana_auth"], **{"match[version]": "2020-01-01T00:00:00.000Z"}
    ).json() == {"more": False}
    assert_error(
        get(client, f"{objects_url(NETWORK)}indicator--{uuid.uuid4()}/", net["ana_auth"]), 404
    )

    pages = walk(client, f"{url}versions/", net["ana_auth"], limit=2)
    assert [p.json().get("versions") for p in pages] == [v[:2], v[2:]]
    assert pages[0]["X-TAXII-Date-Added-First"] < pages[1]["X-TAXII-Date-Added-First"]
    assert get(
        client, f"{url}versions/", net["ana_auth"], **{"match[spec_version]": "2.0"}
    ).json() == {"more": False}


def test_manifest(client: Any, net: dict) -> None:
    ids = store(net["network"], 1, 5, versions=2)
    url = f"{ROOT}collections/{NETWORK}/manifest/"
    pages = walk(client, url, net["ana_auth"], limit=2, **{"match[type]": "indicator"})
    records = [r for p in pages for r in p.json()["objects"]]
    assert [r["id"] for r in records] == ids
    row = StixObject.objects.get(stix_id=ids[0], is_latest=True)
    assert records[0] == {
        "id": ids[0],
        "date_added": row.date_added.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "version": stix_time(BASE + dt.timedelta(days=1)),
        "media_type": "application/stix+json;version=2.1",
    }
    assert pages[0]["X-TAXII-Date-Added-First"] == records[0]["date_added"]
    every = get(
        client, url, net["ana_auth"], **{"match[version]": "all", "match[type]": "indicator"}
    )
    assert len(every.json()["objects"]) == 10


# --- Posting: the checks that come before anything is stored ---------------------------------


def envelope(*objects: dict[str, Any]) -> bytes:
    return json.dumps({"objects": list(objects)}).encode()


def post(client: Any, collection: str, body: bytes, auth: dict, **extra: Any) -> Any:
    extra.setdefault("content_type", TAXII)
    return client.post(objects_url(collection), body, HTTP_ACCEPT=TAXII, **auth, **extra)


def nothing_stored(before: int) -> bool:
    return StixObject.objects.count() == before and not TaxiiStatus.objects.exists()


def test_posting_needs_a_writer(client: Any, net: dict) -> None:
    body, before = envelope(indicator(1, BASE)), StixObject.objects.count()
    assert_error(client.post(objects_url(NETWORK), body, content_type=TAXII), 401)
    read_only = basic("ana", token(net["ana"], write=False))
    assert assert_error(post(client, NETWORK, body, read_only), 403)["error_code"] == (
        "read-only-token"
    )
    assert_error(post(client, ALL, body, net["ana_auth"]), 403)
    group = collection_id(f"group:{net['group'].pk}")
    assert_error(post(client, group, body, net["olga_auth"]), 404)
    assert nothing_stored(before)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/taxii+json;version=2.0",
        "application/stix+json;version=2.1",
        "text/plain",
    ],
)
def test_posting_the_wrong_media_type_gets_415(client: Any, net: dict, content_type: str) -> None:
    before = StixObject.objects.count()
    response = post(
        client, NETWORK, envelope(indicator(1, BASE)), net["ana_auth"], content_type=content_type
    )
    assert_error(response, 415)
    assert nothing_stored(before)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"objects": [', 400),
        (b"not json at all", 400),
        (b'{"objects": []} trailing', 400),
        (b"  ", 400),
        (b"[]", 422),
        (b'"objects"', 422),
        (b"{}", 422),
        (b'{"objects": []}', 422),
        (b'{"objects": {"type": "indicator"}}', 422),
        (b'{"objects": [1, 2]}', 422),
        (b'{"objects": [{"type": "indicator", "name": "a\\u0000b"}]}', 400),
        (b'{"objects": [{"type": "indicator", "name": "\\ud800"}]}', 400),
        (b'{"objects": [{"type": "indicator", "confidence": NaN}]}', 400),
        (b'{"objects": [{"type": "indicator", "confidence": -Infinity}]}', 400),
    ],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["parsed-whole", "streamed"])
def test_bad_envelopes_are_refused_and_store_nothing(
    client: Any, net: dict, body: bytes, status: int, streamed: bool, monkeypatch: Any
) -> None:
    from accord.exchange.taxii import posting

    if streamed:  # as if the body were too large to parse whole
        monkeypatch.setattr(posting, "SPOOL_IN_MEMORY", 0)
    before = StixObject.objects.count()
    assert_error(post(client, NETWORK, body, net["ana_auth"]), status)
    assert nothing_stored(before)


def test_a_body_over_max_content_length_gets_413(client: Any, net: dict, settings: Any) -> None:
    before = StixObject.objects.count()
    body = envelope(*(indicator(n, BASE) for n in range(20)))
    # Declared too large: refused before reading.
    response = post(client, NETWORK, b"{}", net["ana_auth"], CONTENT_LENGTH=str(200 * 1024**2))
    assert assert_error(response, 413)["error_code"] == "too-large"
    # Actually too large for a smaller limit, and above Django's own 5 MB limit for
    # form and JSON bodies, which does not apply to TAXII bodies.
    settings.TAXII_MAX_CONTENT_LENGTH = len(body) - 1
    assert_error(post(client, NETWORK, body, net["ana_auth"]), 413)
    settings.TAXII_MAX_CONTENT_LENGTH = 6 * 1024 * 1024
    big = b'{"objects": [' + b" " * (5 * 1024 * 1024 + 10) + b"]}"
    assert_error(post(client, NETWORK, big, net["ana_auth"]), 422)
    assert nothing_stored(before)


def test_max_content_length_is_advertised(client: Any, net: dict, settings: Any) -> None:
    settings.TAXII_MAX_CONTENT_LENGTH = 12345
    assert get(client, ROOT, net["ana_auth"]).json()["max_content_length"] == 12345


# --- Posting: objects that arrive ----------------------------------------------------------------

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def marked(n: int) -> dict[str, Any]:
    return dict(indicator(1000 + n, BASE), object_marking_refs=[GREEN])


def test_posting_an_envelope_creates_a_report_for_the_collections_audience(
    client: Any, net: dict
) -> None:
    objects = [marked(n) for n in range(3)]
    bad = dict(marked(3), pattern="[ipv4-addr:value = ")
    response = post(client, NETWORK, envelope(*objects, bad), net["ana_auth"])
    assert response.status_code == 202, response.content
    assert response["Content-Type"] == TAXII
    status = response.json()
    assert status["status"] == "complete"
    assert (status["total_count"], status["success_count"], status["failure_count"]) == (4, 3, 1)
    assert status["pending_count"] == 0
    assert {s["id"] for s in status["successes"]} == {o["id"] for o in objects}
    assert status["failures"][0]["id"] == bad["id"] and status["failures"][0]["message"]

    # The status can be read again; the objects are in the collection, as received.
    again = get(client, f"{ROOT}status/{status['id']}/", net["ana_auth"]).json()
    assert again == status
    served = get(client, objects_url(NETWORK), net["ana_auth"], **{"match[id]": objects[0]["id"]})
    assert served.json()["objects"] == [objects[0]]
    row = StixObject.objects.get(stix_id=objects[0]["id"])
    assert row.report.reporter_organisation == net["ana"].memberships.get().organisation
    assert row.report.audience == "network"
    # Another organisation sees it too (GREEN, whole network); nobody sees the failed one.
    assert ids_of(
        get(client, objects_url(ALL), net["olga_auth"], **{"match[id]": objects[1]["id"]})
    )
    assert not StixObject.objects.filter(stix_id=bad["id"]).exists()

    # The same envelope again stores nothing new and still succeeds.
    repeat = post(client, NETWORK, envelope(*objects), net["ana_auth"]).json()
    assert repeat["success_count"] == 3
    assert StixObject.objects.filter(stix_id__in=[o["id"] for o in objects]).count() == 3


def test_posting_to_a_group_collection_shares_with_the_group_only(client: Any, net: dict) -> None:
    group = collection_id(f"group:{net['group'].pk}")
    amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
    obj = dict(indicator(2000, BASE), object_marking_refs=[amber])
    status = post(client, group, envelope(obj), net["ana_auth"]).json()
    assert status["success_count"] == 1
    report = StixObject.objects.get(stix_id=obj["id"]).report
    assert report.audience == "groups"
    assert list(report.audience_groups.all()) == [net["group"]]
    assert ids_of(get(client, objects_url(group), net["ana_auth"], **{"match[id]": obj["id"]}))
    assert not ids_of(get(client, objects_url(ALL), net["olga_auth"], **{"match[id]": obj["id"]}))


def test_a_bundle_posted_as_an_envelope_is_accepted(client: Any, net: dict) -> None:
    obj = marked(50)
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [obj], "more": True}
    status = post(client, NETWORK, json.dumps(bundle).encode(), net["ana_auth"]).json()
    assert (status["success_count"], status["failure_count"]) == (1, 0)


# --- Status ------------------------------------------------------------------------------------


def make_status(user: Any, **fields: Any) -> TaxiiStatus:
    values: dict[str, Any] = {
        "api_root": "accord",
        "collection_id": NETWORK,
        "status": TaxiiStatus.State.COMPLETE,
        "total_count": 3,
        "success_count": 2,
        "failure_count": 1,
        "successes": [
            {
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "version": "2026-03-01T09:00:00.000Z",
            },
            {
                "id": "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "version": "2026-03-01T09:00:00.000Z",
            },
        ],
        "failures": [
            {
                "id": "indicator--2e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "version": "2026-03-01T09:00:00.000Z",
                "message": "The pattern is not a valid STIX pattern.",
            }
        ],
    }
    values.update(fields)
    return TaxiiStatus.objects.create(user=user, **values)


def test_status_is_for_its_sender_only(client: Any, net: dict) -> None:
    status = make_status(net["ana"])
    url = f"{ROOT}status/{status.id}/"
    response = get(client, url, net["ana_auth"])
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(status.id)
    assert body["status"] == "complete"
    assert (body["total_count"], body["success_count"], body["failure_count"]) == (3, 2, 1)
    assert body["pending_count"] == 0
    assert body["failures"][0]["message"] == "The pattern is not a valid STIX pattern."
    assert body["request_timestamp"].endswith("Z")
    assert_error(get(client, url, net["olga_auth"]), 404)
    assert_error(get(client, f"{ROOT}status/{uuid.uuid4()}/", net["ana_auth"]), 404)
    assert_error(get(client, f"{ROOT}status/not-a-uuid/", net["ana_auth"]), 404)


def test_a_pending_status_counts_what_is_left(client: Any, net: dict) -> None:
    status = make_status(
        net["ana"], status=TaxiiStatus.State.PENDING, total_count=10, failures=[], success_count=0
    )
    body = get(client, f"{ROOT}status/{status.id}/", net["ana_auth"]).json()
    assert body["status"] == "pending"
    assert (body["success_count"], body["failure_count"], body["pending_count"]) == (2, 0, 8)
    assert body["total_count"] == 10


def test_status_is_kept_for_the_retention_period_then_gone(
    client: Any, net: dict, settings: Any
) -> None:
    settings.TAXII_STATUS_RETENTION_HOURS = 24
    now = dt.datetime.now(dt.UTC)
    kept = make_status(net["ana"], request_timestamp=now - dt.timedelta(hours=23, minutes=59))
    expired = make_status(net["ana"], request_timestamp=now - dt.timedelta(hours=24, minutes=1))
    assert get(client, f"{ROOT}status/{kept.id}/", net["ana_auth"]).status_code == 200
    assert_error(get(client, f"{ROOT}status/{expired.id}/", net["ana_auth"]), 404)
    assert not TaxiiStatus.objects.filter(pk=expired.pk).exists()  # purged on the way


# --- Deleting -----------------------------------------------------------------------------------


def test_only_the_reporting_organisation_deletes(client: Any, net: dict) -> None:
    (obj,) = store(net["network"], 1, versions=3)
    url = f"{objects_url(NETWORK)}{obj}/"
    assert_error(client.delete(url, HTTP_ACCEPT=TAXII, **net["olga_auth"]), 403)
    read_only = basic("ana", token(net["ana"], write=False))
    assert_error(client.delete(url, HTTP_ACCEPT=TAXII, **read_only), 403)
    assert_error(
        client.delete(f"{objects_url(ALL)}{obj}/", HTTP_ACCEPT=TAXII, **net["ana_auth"]), 403
    )
    assert StixObject.objects.filter(stix_id=obj).count() == 3

    newest = stix_time(BASE + dt.timedelta(days=2))
    response = client.delete(
        f"{url}?{urlencode({'match[version]': newest})}", HTTP_ACCEPT=TAXII, **net["ana_auth"]
    )
    assert response.status_code == 200
    left = StixObject.objects.filter(stix_id=obj).order_by("modified")
    assert [row.is_latest for row in left] == [False, True]
    assert get(client, url, net["ana_auth"]).json()["objects"][0]["modified"] == stix_time(
        BASE + dt.timedelta(days=1)
    )
    entry = AuditEntry.objects.get(action="taxii.object_deleted")
    assert entry.data == {"stix_id": obj, "versions": [newest]}

    assert client.delete(url, HTTP_ACCEPT=TAXII, **net["ana_auth"]).status_code == 200
    assert not StixObject.objects.filter(stix_id=obj).exists()
    assert_error(client.delete(url, HTTP_ACCEPT=TAXII, **net["ana_auth"]), 404)


def test_deleting_keeps_other_reports_latest_and_anonymous_reporters_unnamed(
    client: Any, net: dict
) -> None:
    anonymous = reports.create_report(net["ana"], draft(attribution="anonymous"))
    obj = indicator(7, BASE)
    for report, day, latest in (
        (anonymous, 0, False),
        (net["network"], 1, True),
        (anonymous, 2, True),
    ):
        StixObject.objects.create(
            stix_id=obj["id"],
            stix_type="indicator",
            modified=BASE + dt.timedelta(days=day),
            date_added=BASE + dt.timedelta(milliseconds=next(_added)),
            report=report,
            body=json.dumps(dict(obj, modified=stix_time(BASE + dt.timedelta(days=day)))),
            is_latest=latest,
        )
    entries = AuditEntry.objects.count()
    newest = stix_time(BASE + dt.timedelta(days=2))
    url = f"{objects_url(NETWORK)}{obj['id']}/?{urlencode({'match[version]': newest})}"
    assert client.delete(url, HTTP_ACCEPT=TAXII, **net["ana_auth"]).status_code == 200
    latest = dict(
        StixObject.objects.filter(stix_id=obj["id"]).values_list("report_id", "is_latest")
    )
    assert latest == {anonymous.pk: True, net["network"].pk: True}
    assert AuditEntry.objects.count() == entries  # nothing ties Ana to the anonymous report


def test_objects_others_cannot_see_cannot_be_deleted(client: Any, net: dict) -> None:
    (obj,) = store(net["grouped"], 1)
    response = client.delete(f"{objects_url(NETWORK)}{obj}/", HTTP_ACCEPT=TAXII, **net["olga_auth"])
    assert_error(response, 404)
    (shared,) = store(None, 2, scope=Scope.PUBLIC)
    response = client.delete(
        f"{objects_url(NETWORK)}{shared}/", HTTP_ACCEPT=TAXII, **net["ana_auth"]
    )
    assert_error(response, 403)
    assert StixObject.objects.filter(stix_id__in=[obj, shared]).count() == 2


# --- Peer installations -------------------------------------------------------------------------


@pytest.fixture
def peer(net: dict) -> tuple[Peer, dict[str, str]]:
    secret = "peer-secret-" + uuid.uuid4().hex
    found = Peer.objects.create(
        name="Neighbour CERT",
        slug="neighbour",
        country="DE",
        api_root_url="https://taxii.neighbour.example/taxii2/root/",
        inbound_token_hash=hash_token(secret),
    )
    Agreement.objects.create(peer=found, direction=Agreement.Direction.OUTBOUND)
    return found, basic("neighbour", secret)


def test_a_peer_reads_its_one_collection(client: Any, net: dict, peer: tuple) -> None:
    found, auth = peer
    network = store(net["network"], 1, 2, body_abroad=True)
    store(net["grouped"], 10)
    body = get(client, f"{ROOT}collections/", auth).json()
    assert [c["id"] for c in body["collections"]] == [peer_collection_id()]
    assert body["collections"][0]["can_write"] is False
    served = get(client, objects_url(peer_collection_id()), auth, **{"match[type]": "indicator"})
    assert ids_of(served) == network
    # Named reporters do not cross unless the agreement says so: the abroad variant is served.
    assert served.json()["objects"][0]["name"].endswith("(abroad)")
    assert_error(get(client, objects_url(ALL), auth), 404)
    assert_error(post(client, peer_collection_id(), envelope(indicator(5, BASE)), auth), 403)


def test_a_peer_named_by_its_agreement_gets_the_full_objects(
    client: Any, net: dict, peer: tuple
) -> None:
    found, auth = peer
    Agreement.objects.filter(peer=found).update(name_reporters=True)
    store(net["network"], 1, body_abroad=True)
    served = get(client, objects_url(peer_collection_id()), auth, **{"match[type]": "indicator"})
    assert served.json()["objects"][0]["name"] == "Beacon host 1"


def test_a_peer_with_a_wrong_secret_or_inactive_gets_401(
    client: Any, net: dict, peer: tuple
) -> None:
    found, auth = peer
    assert_error(get(client, ROOT, basic("neighbour", "wrong")), 401)
    Peer.objects.filter(pk=found.pk).update(active=False)
    assert_error(get(client, ROOT, auth), 401)


# --- Raw HTTP ------------------------------------------------------------------------------------


def raw(server: str, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Any:
    parts = urlsplit(server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, target)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_every_endpoint_over_raw_http(live_server: Any, rules: Any) -> None:
    org = f.make_organisation("Energy Company", slug="energy")
    f.accept_rules(org)
    ana = f.make_user("ana")
    f.add_member(ana, org)
    report = reports.create_report(ana, draft())
    (obj,) = store(report, 1, versions=2)
    status = make_status(ana)
    secret = token(ana)
    auth = {
        "Authorization": "Basic " + base64.b64encode(f"ana:{secret}".encode()).decode(),
        "Accept": TAXII,
    }
    collection = f"{ROOT}collections/{NETWORK}/"
    for target in (
        "/taxii2/",
        ROOT,
        f"{ROOT}collections/",
        collection,
        f"{collection}objects/",
        f"{collection}objects/{obj}/",
        f"{collection}objects/{obj}/versions/",
        f"{collection}manifest/",
        f"{ROOT}status/{status.id}/",
    ):
        code, headers, body = raw(live_server.url, "GET", target, auth)
        assert code == 200, (target, body)
        assert headers["Content-Type"] == TAXII
        json.loads(body)
        if "objects/" in target or "manifest/" in target:
            assert headers["X-TAXII-Date-Added-First"] <= headers["X-TAXII-Date-Added-Last"]
        code, headers, _ = raw(live_server.url, "GET", target, {"Accept": "application/xml"})
        assert code == (406 if target == "/taxii2/" else 401)

    code, headers, body = raw(live_server.url, "GET", ROOT, {"Accept": TAXII})
    assert code == 401 and headers["WWW-Authenticate"].startswith("Basic realm=")
    assert json.loads(body)["http_status"] == "401"

    # A declared body above max_content_length is refused before it is sent.
    code, headers, body = raw(
        live_server.url,
        "POST",
        f"{collection}objects/",
        {**auth, "Content-Type": TAXII, "Content-Length": str(500 * 1024 * 1024)},
    )
    assert code == 413
    assert json.loads(body)["http_status"] == "413"

    # Malformed JSON and wrong media type, over the wire.
    code, _, body = raw(
        live_server.url,
        "POST",
        f"{collection}objects/",
        {**auth, "Content-Type": TAXII, "Content-Length": "9"},
        b'{"objects',
    )
    assert code == 400
    code, _, _ = raw(
        live_server.url,
        "POST",
        f"{collection}objects/",
        {**auth, "Content-Type": "application/json", "Content-Length": "2"},
        b"{}",
    )
    assert code == 415
    assert not TaxiiStatus.objects.exclude(pk=status.pk).exists()
