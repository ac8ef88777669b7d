"""The trusted-sharing API: same policy as the pages, anonymity kept, JSON errors, no 500s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accord.accounts import services as accounts
from accord.audit.models import AuditEntry
from accord.sharing.models import (
    Attachment,
    CommonValue,
    Observable,
    Report,
    ReportObservable,
    ReportVersion,
)
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"
JSON = "application/json"
BAD_HASH = "d41d8cd98f00b204e9800998ecf8427e"


def bearer(user: Any, *, write: bool = True) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=write, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def report_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "incident",
        "title": "Phishing wave against grid operators",
        "summary": "Mails with a **fake** login page.",
        "marking": "green",
        "audience": "network",
        "sectors": ["energy"],
        "effects": ["exploit-end-hosts"],
        "incident_type": "fraud:phishing",
        "severity": {"functional-impact": "minimal"},
    }
    body.update(fields)
    return body


def file_report(client: Any, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(f"{API}/reports", report_body(**fields), content_type=JSON, **auth)
    assert response.status_code == 201, response.content
    return response.json()


def counts() -> tuple[int, int, int, int]:
    return (
        Report.objects.count(),
        Observable.objects.count(),
        ReportObservable.objects.count(),
        ReportVersion.objects.count(),
    )


@pytest.fixture
def other_org(rules: list) -> Any:
    org = f.make_organisation("Grid Operator", sectors=["transport"], slug="grid-operator")
    f.accept_rules(org)
    return org


@pytest.fixture
def olga(other_org: Any) -> Any:
    user = f.make_user("olga", full_name="Olga Operator")
    f.add_member(user, other_org)
    return user


@pytest.fixture
def outsider(db: Any) -> Any:
    """Signed in, but no member organisation: sees TLP:CLEAR only."""
    return f.make_user("outsider")


@pytest.fixture
def ana_auth(analyst: Any) -> dict[str, str]:
    return bearer(analyst)


# --- Authentication and filing --------------------------------------------------------------------


def test_unauthenticated_is_401_with_json(client: Any) -> None:
    for method, path in [
        ("get", "/reports"),
        ("post", "/reports"),
        ("get", "/sharing/settings"),
        ("get", "/taxonomies/effects"),
        ("post", "/observables/extract"),
    ]:
        response = getattr(client, method)(f"{API}{path}")
        assert response.status_code == 401, path
        assert "detail" in response.json()


def test_file_a_report_with_three_observables_one_defanged(
    client: Any, analyst: Any, member_org: Any, ana_auth: dict[str, str]
) -> None:
    before = counts()
    data = file_report(
        client,
        ana_auth,
        observables=[
            {"value": "hxxps://login-grid[.]example/portal", "note": "the fake page"},
            {"value": "198.51.100.7"},
            {"value": BAD_HASH.upper(), "kind": "md5"},
        ],
    )
    assert counts()[0] == before[0] + 1
    assert counts()[2] == before[2] + 3
    assert [(o["kind"], o["value"]) for o in data["observables"]] == [
        ("url", "https://login-grid.example/portal"),
        ("ipv4", "198.51.100.7"),
        ("md5", BAD_HASH),
    ]
    assert data["observables"][0]["note"] == "the fake page"
    assert data["observables"][0]["other_reports"] == 0
    assert data["reporter"] == "Energy Company"
    assert data["reporter_organisation"] == member_org.slug
    assert data["is_mine"] is True and data["can_edit"] is True
    assert (data["marking"], data["marking_label"], data["version"]) == ("green", "TLP:GREEN", 1)
    assert data["audience_details"]["kind"] == "network"
    assert data["classification"]["incident_type"]["code"] == "fraud:phishing"
    assert data["classification"]["effects"][0]["code"] == "exploit-end-hosts"
    severity = data["severity"]
    assert severity["score"] > 0 and severity["level_label"]
    assert {row["factor"] for row in severity["breakdown"]} >= {"functional-impact"}
    assert "<strong>fake</strong>" in data["summary_html"]
    assert data["sightings"] == {"total": 0, "records": 0, "by_sector": [], "by_day": []}
    assert AuditEntry.objects.filter(action="report.shared", target_id=data["id"]).exists()


def test_one_bad_observable_refuses_the_whole_report(
    client: Any, analyst: Any, ana_auth: dict[str, str]
) -> None:
    before = counts()
    response = client.post(
        f"{API}/reports",
        report_body(
            observables=[
                {"value": "evil.example"},
                {"value": "999.1.1.1"},
                {"value": "198.51.100.9"},
            ]
        ),
        content_type=JSON,
        **ana_auth,
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "Observable 2" in detail and "999.1.1.1" in detail
    assert counts() == before
    # A wrong kind for a good value is refused the same way.
    response = client.post(
        f"{API}/reports",
        report_body(observables=[{"value": "evil.example", "kind": "sha256"}]),
        content_type=JSON,
        **ana_auth,
    )
    assert response.status_code == 422
    assert "Observable 1" in response.json()["detail"]
    assert counts() == before


def test_field_problems_are_named(client: Any, analyst: Any, ana_auth: dict[str, str]) -> None:
    for fields, needle in [
        ({"title": "x"}, "title:"),
        ({"sectors": ["no-such-sector"]}, "sectors:"),
        ({"marking": "clear", "audience": "government"}, "audience:"),
        ({"marking": "red"}, "recipients:"),
        ({"effects": ["teleportation"]}, "effects:"),
        ({"incident_type": "made:up"}, "incident_type:"),
        ({"severity": {"functional-impact": "apocalyptic"}}, "severity:"),
        ({"references": ["javascript:alert(1)"]}, "references:"),
        ({"first_seen": "1970-01-01T00:00:00Z"}, "first_seen:"),
        ({"organisation": "grid-operator"}, "organisation:"),
    ]:
        response = client.post(
            f"{API}/reports", report_body(**fields), content_type=JSON, **ana_auth
        )
        assert response.status_code == 422, (fields, response.content)
        assert needle in response.json()["detail"], (fields, response.json())
    assert Report.objects.count() == 0


def test_only_analysts_and_representatives_of_members_in_good_standing_file(
    client: Any, outsider: Any, coordinator: Any, olga: Any
) -> None:
    for user in (outsider, coordinator):
        response = client.post(f"{API}/reports", report_body(), content_type=JSON, **bearer(user))
        assert response.status_code == 403
        assert response.json()["detail"]
    assert Report.objects.count() == 0


def test_read_only_token_cannot_write(client: Any, analyst: Any) -> None:
    read_only = bearer(analyst, write=False)
    response = client.post(f"{API}/reports", report_body(), content_type=JSON, **read_only)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert Report.objects.count() == 0
    assert client.get(f"{API}/reports", **read_only).status_code == 200


def test_several_organisations_must_choose(
    client: Any, analyst: Any, other_org: Any, ana_auth: dict[str, str]
) -> None:
    f.add_member(analyst, other_org)
    response = client.post(f"{API}/reports", report_body(), content_type=JSON, **ana_auth)
    assert response.status_code == 422
    assert "organisation:" in response.json()["detail"]
    data = file_report(client, ana_auth, organisation=other_org.slug)
    assert data["reporter_organisation"] == other_org.slug


# --- Visibility -----------------------------------------------------------------------------------


def ids(client: Any, auth: dict[str, str], query: str = "") -> set[str]:
    response = client.get(f"{API}/reports{query}", **auth)
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_visibility_follows_marking_and_audience(
    client: Any,
    analyst: Any,
    member_org: Any,
    olga: Any,
    outsider: Any,
    coordinator: Any,
    ana_auth: dict[str, str],
) -> None:
    clear = file_report(client, ana_auth, marking="clear", title="Public advice")["id"]
    green = file_report(client, ana_auth, marking="green", title="Network only")["id"]
    amber_own = file_report(
        client,
        ana_auth,
        marking="amber",
        audience="organisations",
        audience_organisations=[member_org.slug],
        title="Only for us",
    )["id"]
    red = file_report(client, ana_auth, marking="red", recipients=["olga"], title="For Olga")["id"]
    coordination = file_report(
        client, ana_auth, marking="amber", audience="coordination", title="For the CERT"
    )["id"]
    government = file_report(
        client, ana_auth, marking="amber+strict", audience="government", title="For government"
    )["id"]

    everything = {clear, green, amber_own, red, coordination, government}
    olga_auth, outsider_auth, coordinator_auth = bearer(olga), bearer(outsider), bearer(coordinator)
    assert ids(client, ana_auth) == everything
    assert ids(client, olga_auth) == {clear, green, red}
    assert ids(client, outsider_auth) == {clear}
    assert ids(client, coordinator_auth) == {clear, green, amber_own, coordination, government}

    for report_id in everything - {clear, green, red}:
        response = client.get(f"{API}/reports/{report_id}", **olga_auth)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
        for tail in ("versions", "correlations", "comments", "sightings", "attachments"):
            assert client.get(f"{API}/reports/{report_id}/{tail}", **olga_auth).status_code == 404
    assert client.get(f"{API}/reports/{green}", **outsider_auth).status_code == 404
    assert client.get(f"{API}/reports/{red}", **coordinator_auth).status_code == 404
    assert client.get(f"{API}/reports/{clear}", **outsider_auth).status_code == 200

    # Audience details are for the reporter and coordinators; others see the kind only.
    red_for_olga = client.get(f"{API}/reports/{red}", **olga_auth).json()
    assert red_for_olga["audience_details"]["recipients"] is None
    assert client.get(f"{API}/reports/{red}", **ana_auth).json()["audience_details"][
        "recipients"
    ] == ["olga"]
    amber_for_coordinator = client.get(f"{API}/reports/{amber_own}", **coordinator_auth).json()
    assert amber_for_coordinator["audience_details"]["organisations"] == [member_org.slug]
    assert amber_for_coordinator["is_mine"] is False and amber_for_coordinator["can_edit"] is False


def test_list_filters_and_paging(client: Any, analyst: Any, ana_auth: dict[str, str]) -> None:
    phishing = file_report(client, ana_auth, observables=[{"value": "evil[.]example"}])["id"]
    advisory = file_report(
        client,
        ana_auth,
        kind="advisory",
        title="Patch your routers",
        summary="Firmware update available",
        marking="clear",
        effects=[],
        incident_type="",
        severity={},
    )["id"]
    assert ids(client, ana_auth, "?kind=advisory") == {advisory}
    assert ids(client, ana_auth, "?kind=advisory&kind=incident") == {phishing, advisory}
    assert ids(client, ana_auth, "?marking=green") == {phishing}
    assert ids(client, ana_auth, "?q=routers") == {advisory}
    assert ids(client, ana_auth, "?q=evil.example") == {phishing}
    assert ids(client, ana_auth, "?observable=hxxp://evil[.]example") == set()
    assert ids(client, ana_auth, "?observable=evil.example") == {phishing}
    assert ids(client, ana_auth, "?effect=exploit-end-hosts") == {phishing}
    assert ids(client, ana_auth, "?type=fraud") == {phishing}
    assert ids(client, ana_auth, "?min_level=5") == set()
    assert ids(client, ana_auth, "?sector=energy") == {phishing, advisory}
    assert ids(client, ana_auth, "?since=2000-01-01&until=2999-01-01") == {phishing, advisory}
    assert ids(client, ana_auth, "?attribution=anonymous") == set()
    listing = client.get(f"{API}/reports?limit=1", **ana_auth).json()
    assert listing["count"] == 2 and len(listing["items"]) == 1
    assert listing["count_is_lower_bound"] is False
    assert listing["items"][0]["id"] == advisory  # newest first
    for query in [
        "?kind=poem",
        "?effect=teleportation",
        "?min_level=6",
        "?since=yesterday",
        "?since=0001-01-01T00:00:00%2B23:00",
        "?until=9999-12-31T23:59:59-23:00",
        "?limit=501",
        "?offset=-1",
        f"?q={'x' * 600}",
    ]:
        response = client.get(f"{API}/reports{query}", **ana_auth)
        assert response.status_code == 422, (query, response.content)
        assert "detail" in response.json()


def test_mine_lists_own_organisation_reports_including_anonymous(
    client: Any, analyst: Any, olga: Any, ana_auth: dict[str, str]
) -> None:
    named = file_report(client, ana_auth)["id"]
    anonymous = file_report(client, ana_auth, attribution="anonymous")["id"]
    theirs = file_report(client, bearer(olga))["id"]
    mine = client.get(f"{API}/reports/mine", **ana_auth).json()
    assert {item["id"] for item in mine["items"]} == {named, anonymous}
    assert all(item["is_mine"] for item in mine["items"])
    olga_mine = client.get(f"{API}/reports/mine", **bearer(olga)).json()
    assert {item["id"] for item in olga_mine["items"]} == {theirs}
    # "mine" is a path of its own, not a report id.
    assert client.get(f"{API}/reports/not-a-uuid", **ana_auth).status_code == 404


# --- Correlation ----------------------------------------------------------------------------------


def test_correlation_counts_only_what_the_caller_may_see(
    client: Any,
    analyst: Any,
    member_org: Any,
    olga: Any,
    outsider: Any,
    ana_auth: dict[str, str],
) -> None:
    olga_auth = bearer(olga)
    shared = "hxxp://c2-grid[.]example/beacon"
    network = file_report(client, ana_auth, observables=[{"value": shared}])["id"]
    hidden = file_report(
        client,
        ana_auth,
        marking="amber",
        audience="organisations",
        audience_organisations=[member_org.slug],
        observables=[{"value": shared}],
    )["id"]
    public = file_report(client, ana_auth, marking="clear", observables=[{"value": shared}])["id"]
    theirs = file_report(
        client, olga_auth, observables=[{"value": "http://c2-grid.example/beacon"}]
    )

    def other_reports(auth: dict[str, str], report_id: str) -> tuple[int, set[str]]:
        rows = client.get(f"{API}/reports/{report_id}/correlations", **auth).json()
        url = next(row for row in rows if row["kind"] == "url")
        return url["other_reports"], set(url["reports"])

    # Olga may not see the AMBER report: it is neither counted nor linked.
    assert other_reports(olga_auth, theirs["id"]) == (2, {network, public})
    assert other_reports(ana_auth, theirs["id"]) == (3, {network, hidden, public})
    assert other_reports(bearer(outsider), public) == (0, set())
    detail = client.get(f"{API}/reports/{theirs['id']}", **olga_auth).json()
    url = next(row for row in detail["observables"] if row["kind"] == "url")
    assert url["other_reports"] == 2 and hidden not in url["reports"]
    assert url["sectors"] == 1
    assert hidden not in client.get(f"{API}/reports/{network}", **olga_auth).content.decode()

    lookup = client.get(
        f"{API}/observables/lookup", {"value": "hxxp://c2-grid[.]example/beacon"}, **olga_auth
    ).json()
    assert lookup["value"] == "http://c2-grid.example/beacon"
    assert lookup["reports"] == 3  # the two visible ones and Olga's own
    assert hidden not in lookup["report_ids"]
    assert (
        client.get(f"{API}/observables/lookup", {"value": shared}, **ana_auth).json()["reports"]
        == 4
    )
    bad = client.get(f"{API}/observables/lookup", {"value": "999.1.1.1"}, **olga_auth)
    assert bad.status_code == 422 and "999.1.1.1" in bad.json()["detail"]
    assert client.get(f"{API}/observables/lookup", **olga_auth).status_code == 422


def test_common_values_are_not_correlated(
    client: Any, analyst: Any, olga: Any, ana_auth: dict[str, str]
) -> None:
    CommonValue.objects.get_or_create(kind="ipv4", value="9.9.9.9", defaults={"note": "Quad9"})
    file_report(client, ana_auth, observables=[{"value": "9.9.9.9"}])
    second = file_report(client, bearer(olga), observables=[{"value": "9.9.9.9"}])
    row = second["observables"][0]
    assert row["too_common"] is True and row["other_reports"] == 0 and row["reports"] == []


# --- Anonymity ------------------------------------------------------------------------------------


def test_anonymous_report_names_nobody(client: Any, coordinator: Any, olga: Any) -> None:
    secret_org = f.make_organisation(
        "Hidden Waterworks", slug="hidden-waterworks", id=873_421, sectors=["energy"]
    )
    f.accept_rules(secret_org)
    reporter = f.make_user("whistle", full_name="Wanda Whistle")
    f.add_member(reporter, secret_org)
    reporter_auth = bearer(reporter)
    data = file_report(
        client,
        reporter_auth,
        attribution="anonymous",
        observables=[{"value": "203.0.113.5"}],
    )
    report_id = data["id"]
    assert data["is_mine"] is True
    assert data["reporter_organisation"] is None
    # Add something to every sub-resource so that each answer has content to leak from.
    client.post(
        f"{API}/reports/{report_id}/comments",
        {"body": "Seen here too", "attribution": "pseudonymous"},
        content_type=JSON,
        **bearer(olga),
    )
    client.post(
        f"{API}/reports/{report_id}/sightings",
        {"observable": "203.0.113.5", "count": 2},
        content_type=JSON,
        **bearer(olga),
    )
    upload = SimpleUploadedFile("notes.txt", b"timeline\n", content_type="text/plain")
    assert (
        client.post(
            f"{API}/reports/{report_id}/attachments", {"file": upload}, **reporter_auth
        ).status_code
        == 201
    )
    patched = client.patch(
        f"{API}/reports/{report_id}",
        {"summary": "More detail."},
        content_type=JSON,
        **reporter_auth,
    )
    assert patched.status_code == 200, patched.content

    forbidden = [
        "Hidden Waterworks",
        "hidden-waterworks",
        "873421",
        "whistle",
        "Wanda",
        Report.objects.get(pk=report_id).authorship_tag,
    ]
    for viewer in (olga, coordinator):
        auth = bearer(viewer)
        for path in [
            f"/reports/{report_id}",
            "/reports",
            f"/reports/{report_id}/versions",
            f"/reports/{report_id}/correlations",
            f"/reports/{report_id}/comments",
            f"/reports/{report_id}/sightings",
            f"/reports/{report_id}/attachments",
            "/observables/lookup?value=203.0.113.5",
        ]:
            response = client.get(f"{API}{path}", **auth)
            assert response.status_code == 200, (path, response.content)
            text = response.content.decode()
            for word in forbidden:
                assert word not in text, (viewer.username, path, word)
        detail = client.get(f"{API}/reports/{report_id}", **auth).json()
        assert detail["reporter"] == "An anonymous member"
        assert detail["reporter_organisation"] is None and detail["is_mine"] is False
        assert detail["created_at"].endswith("T00:00:00Z")
        assert detail["updated_at"].endswith("T00:00:00Z")
        assert detail["attachments"][0]["created_at"].endswith("T00:00:00Z")
        versions = client.get(f"{API}/reports/{report_id}/versions", **auth).json()
        assert [v["snapshot"]["summary"] for v in versions] == [
            "Mails with a **fake** login page.",
            "More detail.",
        ]
        assert all(v["author"] is None for v in versions)
        assert all(v["created_at"].endswith("T00:00:00Z") for v in versions)
    # Nobody, not even a coordinator, may look the reporter up.
    refused = client.post(f"{API}/reports/{report_id}/reporter", **bearer(coordinator))
    assert refused.status_code == 403
    assert not AuditEntry.objects.filter(action="report.reporter_looked_up").exists()
    # Anonymous filings are not in the audit trail either.
    assert not AuditEntry.objects.filter(target_id=report_id).exists()


def test_pseudonymous_reporter_is_shown_by_sector_and_looked_up_by_coordinator_only(
    client: Any,
    analyst: Any,
    member_org: Any,
    olga: Any,
    coordinator: Any,
    ana_auth: dict[str, str],
) -> None:
    report_id = file_report(client, ana_auth, attribution="pseudonymous")["id"]
    text = client.get(f"{API}/reports/{report_id}", **bearer(olga)).content.decode()
    assert member_org.name not in text and member_org.slug not in text
    detail = json.loads(text)
    assert "energy sector" in detail["reporter"] and detail["reporter_organisation"] is None
    assert detail["can_look_up_reporter"] is False
    assert client.post(f"{API}/reports/{report_id}/reporter", **bearer(olga)).status_code == 403

    coordinator_auth = bearer(coordinator)
    assert client.get(f"{API}/reports/{report_id}", **coordinator_auth).json()[
        "can_look_up_reporter"
    ]
    found = client.post(f"{API}/reports/{report_id}/reporter", **coordinator_auth)
    assert found.status_code == 200
    assert found.json() == {
        "organisation": {"slug": member_org.slug, "name": member_org.name},
        "person": {"username": "ana", "name": "Ana Analyst"},
    }
    entry = AuditEntry.objects.get(action="report.reporter_looked_up")
    assert entry.organisation_id == member_org.pk and entry.actor_id == coordinator.pk


def test_reveal_names_the_reporter(
    client: Any, analyst: Any, member_org: Any, olga: Any, ana_auth: dict[str, str]
) -> None:
    report_id = file_report(client, ana_auth, attribution="anonymous")["id"]
    assert client.post(f"{API}/reports/{report_id}/reveal", **bearer(olga)).status_code == 404
    revealed = client.post(f"{API}/reports/{report_id}/reveal", **ana_auth)
    assert revealed.status_code == 200
    assert revealed.json()["reporter_organisation"] == member_org.slug
    assert revealed.json()["attribution"] == "named"
    again = client.post(f"{API}/reports/{report_id}/reveal", **ana_auth)
    assert again.status_code == 400 and "already" in again.json()["detail"]
    assert AuditEntry.objects.filter(action="report.revealed", target_id=report_id).exists()


# --- Editing and withdrawing ----------------------------------------------------------------------


def test_patch_makes_a_version_and_relaxing_is_audited(
    client: Any, analyst: Any, member_org: Any, olga: Any, ana_auth: dict[str, str]
) -> None:
    olga_auth = bearer(olga)
    report_id = file_report(
        client,
        ana_auth,
        marking="amber",
        audience="organisations",
        audience_organisations=[member_org.slug],
        observables=[{"value": "evil.example"}],
    )["id"]
    assert client.get(f"{API}/reports/{report_id}", **olga_auth).status_code == 404
    assert (
        client.patch(
            f"{API}/reports/{report_id}", {"title": "Mine now"}, content_type=JSON, **olga_auth
        ).status_code
        == 404
    )

    response = client.patch(
        f"{API}/reports/{report_id}",
        {
            "title": "Phishing wave, update",
            "marking": "green",
            "audience": "network",
            "audience_organisations": [],
            "observables": [{"value": "evil.example"}, {"value": "hxxp://evil[.]example/a"}],
            "note": "Shared wider",
        },
        content_type=JSON,
        **ana_auth,
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["version"], data["title"], data["marking"]) == (
        2,
        "Phishing wave, update",
        "green",
    )
    assert [o["value"] for o in data["observables"]] == ["evil.example", "http://evil.example/a"]
    # Fields not sent are kept.
    assert data["classification"]["incident_type"]["code"] == "fraud:phishing"
    entry = AuditEntry.objects.get(action="report.marking_relaxed", target_id=report_id)
    assert "marking" in entry.data["changed"]
    assert client.get(f"{API}/reports/{report_id}", **olga_auth).status_code == 200

    versions = client.get(f"{API}/reports/{report_id}/versions", **ana_auth).json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["note"] == "Shared wider" and "marking" in versions[1]["changed"]
    assert versions[0]["snapshot"]["marking"] == "amber"
    assert versions[0]["snapshot"]["audience_organisations"] == [member_org.slug]
    assert versions[1]["author"] == "Ana Analyst"
    # A version that went to another audience keeps its contents to the reporter.
    theirs = client.get(f"{API}/reports/{report_id}/versions", **olga_auth).json()
    assert theirs[0]["snapshot"] is None
    assert theirs[1]["snapshot"]["title"] == "Phishing wave, update"
    assert "audience_organisations" not in theirs[1]["snapshot"]

    # Tightening is an ordinary edit; no change at all is refused; a bad value changes nothing.
    tightened = client.patch(
        f"{API}/reports/{report_id}", {"marking": "amber"}, content_type=JSON, **ana_auth
    )
    assert tightened.status_code == 200
    assert AuditEntry.objects.filter(action="report.edited", target_id=report_id).exists()
    same = client.patch(
        f"{API}/reports/{report_id}", {"marking": "amber"}, content_type=JSON, **ana_auth
    )
    assert same.status_code == 400 and same.json()["detail"] == "Nothing changed."
    bad = client.patch(
        f"{API}/reports/{report_id}",
        {"observables": [{"value": "not an observable at all"}]},
        content_type=JSON,
        **ana_auth,
    )
    assert bad.status_code == 422 and "Observable 1" in bad.json()["detail"]
    attribution = client.patch(
        f"{API}/reports/{report_id}", {"title": None}, content_type=JSON, **ana_auth
    )
    assert attribution.status_code == 422 and "title:" in attribution.json()["detail"]
    assert Report.objects.get(pk=report_id).version == 3
    assert ReportObservable.objects.filter(report_id=report_id).count() == 2


def test_withdrawn_report_disappears_for_others(
    client: Any, analyst: Any, olga: Any, ana_auth: dict[str, str]
) -> None:
    olga_auth = bearer(olga)
    report_id = file_report(client, ana_auth)["id"]
    assert (
        client.post(
            f"{API}/reports/{report_id}/withdraw", {"reason": "x"}, content_type=JSON, **olga_auth
        ).status_code
        == 404
    )
    response = client.post(
        f"{API}/reports/{report_id}/withdraw",
        {"reason": "Filed by mistake"},
        content_type=JSON,
        **ana_auth,
    )
    assert response.status_code == 200
    data = response.json()
    assert data["withdrawn"] is True and data["withdrawal_reason"] == "Filed by mistake"
    assert data["can_edit"] is False and data["can_participate"] is False
    assert client.get(f"{API}/reports/{report_id}", **olga_auth).status_code == 404
    assert report_id not in ids(client, olga_auth)
    assert client.get(f"{API}/reports/{report_id}", **ana_auth).status_code == 200
    again = client.post(
        f"{API}/reports/{report_id}/withdraw", {"reason": ""}, content_type=JSON, **ana_auth
    )
    assert again.status_code == 400 and "already withdrawn" in again.json()["detail"]
    edit = client.patch(
        f"{API}/reports/{report_id}", {"title": "Back"}, content_type=JSON, **ana_auth
    )
    assert edit.status_code == 400
    assert AuditEntry.objects.filter(action="report.withdrawn", target_id=report_id).exists()


# --- Comments and sightings -----------------------------------------------------------------------


def test_comments_round_trip(
    client: Any, analyst: Any, olga: Any, outsider: Any, other_org: Any, ana_auth: dict[str, str]
) -> None:
    olga_auth = bearer(olga)
    report_id = file_report(client, ana_auth)["id"]
    url = f"{API}/reports/{report_id}/comments"
    first = client.post(url, {"body": "We saw the *same* mails."}, content_type=JSON, **olga_auth)
    assert first.status_code == 201, first.content
    comment = first.json()
    assert comment["author"] == "Olga Operator, Grid Operator"
    assert comment["organisation"] == other_org.slug and comment["marking"] == "green"
    assert comment["depth"] == 0 and "<em>same</em>" in comment["body_html"]
    reply = client.post(
        url,
        {"body": "Thanks, blocking now.", "parent": comment["id"], "attribution": "pseudonymous"},
        content_type=JSON,
        **ana_auth,
    ).json()
    assert reply["depth"] == 1 and reply["parent"] == comment["id"]
    assert reply["organisation"] is None and "Energy Company" not in reply["author"]
    listing = client.get(url, **olga_auth).json()
    assert [c["id"] for c in listing] == [comment["id"], reply["id"]]
    assert [c["is_mine"] for c in listing] == [True, False]

    for body, needle in [
        ({"body": "   "}, "body:"),
        ({"body": "Looser", "marking": "clear"}, "marking:"),
        ({"body": "Orphan", "parent": "00000000-0000-4000-8000-000000000000"}, "parent:"),
        ({"body": "Elsewhere", "organisation": "energy-company-nope"}, "organisation:"),
    ]:
        response = client.post(url, body, content_type=JSON, **olga_auth)
        assert response.status_code == 422, (body, response.content)
        assert needle in response.json()["detail"]
    assert (
        client.post(url, {"body": "Hi"}, content_type=JSON, **bearer(outsider)).status_code == 404
    )
    assert (
        client.post(
            url, {"attribution": "anonymous", "body": "x"}, content_type=JSON, **olga_auth
        ).status_code
        == 422
    )


def test_sightings_round_trip(
    client: Any, analyst: Any, olga: Any, other_org: Any, ana_auth: dict[str, str]
) -> None:
    olga_auth = bearer(olga)
    report_id = file_report(
        client, ana_auth, observables=[{"value": "198.51.100.7"}, {"value": "evil.example"}]
    )["id"]
    url = f"{API}/reports/{report_id}/sightings"
    named = client.post(
        url,
        {
            "observable": "198.51.100[.]7",
            "count": 3,
            "seen_at": "2025-01-05T10:30:00Z",
            "note": "Firewall logs",
        },
        content_type=JSON,
        **olga_auth,
    )
    assert named.status_code == 201, named.content
    assert named.json()["label"] == "Grid Operator"
    assert named.json()["organisation"] == other_org.slug
    assert named.json()["observable"] == {"kind": "ipv4", "value": "198.51.100.7"}
    anonymous = client.post(
        url,
        {"count": 1, "attribution": "anonymous", "seen_at": "2025-01-06T17:45:12Z"},
        content_type=JSON,
        **olga_auth,
    ).json()
    assert anonymous["organisation"] is None and anonymous["label"] == "An anonymous member"
    assert anonymous["seen_at"] == "2025-01-06T00:00:00Z"

    data = client.get(url, **ana_auth).json()
    assert data["summary"]["total"] == 4 and data["summary"]["records"] == 2
    assert {row["day"] for row in data["summary"]["by_day"]} == {"2025-01-05", "2025-01-06"}
    assert len(data["sightings"]) == 2
    assert client.get(f"{API}/reports/{report_id}", **ana_auth).json()["sightings"]["total"] == 4

    for body, needle in [
        ({"observable": "203.0.113.99"}, "observable:"),
        ({"count": 0}, "count:"),
        ({"count": 10**30}, "count:"),
        ({"seen_at": "2999-01-01T00:00:00Z"}, "seen_at:"),
    ]:
        response = client.post(url, body, content_type=JSON, **olga_auth)
        assert response.status_code == 422, (body, response.content)
        assert needle in response.json()["detail"]
    assert len(client.get(url, **ana_auth).json()["sightings"]) == 2


# --- Attachments ----------------------------------------------------------------------------------


def test_attachments_upload_download_and_refusals(
    client: Any,
    analyst: Any,
    olga: Any,
    outsider: Any,
    settings: Any,
    tmp_path: Any,
    ana_auth: dict[str, str],
) -> None:
    settings.ATTACHMENT_DIR = tmp_path
    olga_auth = bearer(olga)
    report_id = file_report(client, ana_auth)["id"]
    url = f"{API}/reports/{report_id}/attachments"
    content = b"2025-01-05 10:30 mail from evil.example\n"
    response = client.post(url, {"file": SimpleUploadedFile("timeline.log", content)}, **ana_auth)
    assert response.status_code == 201, response.content
    attachment = response.json()
    assert (attachment["name"], attachment["size"], attachment["content_type"]) == (
        "timeline.log",
        len(content),
        "text/plain",
    )
    listing = client.get(url, **olga_auth).json()
    assert [a["id"] for a in listing] == [attachment["id"]]

    download = client.get(attachment["download"], **olga_auth)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Disposition"].startswith("attachment;")
    assert 'filename="timeline.log"' in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "sandbox"
    assert download["Cache-Control"] == "private, no-store"
    assert client.get(attachment["download"], **bearer(outsider)).status_code == 404

    for name, body, needle in [
        ("tool.exe", b"MZ\x90\x00", "file:"),
        ("picture.png", b"just text", "file:"),
        ("empty.txt", b"", "file:"),
    ]:
        refused = client.post(url, {"file": SimpleUploadedFile(name, body)}, **ana_auth)
        assert refused.status_code == 422, (name, refused.content)
        assert needle in refused.json()["detail"]
    assert (
        client.post(url, {"file": SimpleUploadedFile("x.txt", b"hi")}, **olga_auth).status_code
        == 404
    )
    missing = client.post(url, {}, **ana_auth)
    assert missing.status_code == 422 and "detail" in missing.json()
    assert Attachment.objects.count() == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [attachment["id"].replace("-", "")]

    assert client.delete(attachment["download"], **olga_auth).status_code == 404
    assert client.delete(attachment["download"], **ana_auth).status_code == 204
    assert client.get(attachment["download"], **ana_auth).status_code == 404
    assert Attachment.objects.count() == 0
    assert list(tmp_path.iterdir()) == []


# --- Observables, settings, vocabularies ----------------------------------------------------------


def test_extract_observables(client: Any, analyst: Any, ana_auth: dict[str, str]) -> None:
    text = (
        "Beacon to hxxps://c2[.]example[.]org/gate from 198.51.100.7; "
        f"dropper {BAD_HASH}; exploited CVE-2021-44228."
    )
    response = client.post(
        f"{API}/observables/extract", {"text": text}, content_type=JSON, **ana_auth
    )
    assert response.status_code == 200
    found = {(o["kind"], o["value"]) for o in response.json()["observables"]}
    assert {
        ("url", "https://c2.example.org/gate"),
        ("domain", "c2.example.org"),
        ("ipv4", "198.51.100.7"),
        ("md5", BAD_HASH),
        ("cve", "CVE-2021-44228"),
    } <= found
    assert response.json()["truncated"] is False
    too_big = client.post(
        f"{API}/observables/extract",
        {"text": "a" * (2 * 1024 * 1024 + 1)},
        content_type=JSON,
        **ana_auth,
    )
    assert too_big.status_code == 413 and "2 MB" in too_big.json()["detail"]


def test_settings_read_by_members_changed_by_coordinators(
    client: Any, analyst: Any, outsider: Any, coordinator: Any, ana_auth: dict[str, str]
) -> None:
    current = client.get(f"{API}/sharing/settings", **ana_auth)
    assert current.status_code == 200
    data = current.json()
    assert data["can_edit"] is False and len(data["thresholds"]) == 5
    assert [level["level"] for level in data["levels"]] == [0, 1, 2, 3, 4, 5]
    assert {factor["code"] for factor in data["factors"]} == set(data["weights"])
    assert client.get(f"{API}/sharing/settings", **bearer(outsider)).status_code == 403

    weights = {code: 10 for code in data["weights"]}
    weights["functional-impact"] = 50
    body = {"weights": weights, "thresholds": [10, 30, 50, 70, 90]}
    refused = client.put(f"{API}/sharing/settings", body, content_type=JSON, **ana_auth)
    assert refused.status_code == 403
    coordinator_auth = bearer(coordinator)
    changed = client.put(f"{API}/sharing/settings", body, content_type=JSON, **coordinator_auth)
    assert changed.status_code == 200, changed.content
    assert changed.json()["weights"]["functional-impact"] == 50
    assert client.get(f"{API}/sharing/settings", **ana_auth).json()["thresholds"] == [
        10,
        30,
        50,
        70,
        90,
    ]
    assert AuditEntry.objects.filter(action="sharing.severity_settings_changed").exists()
    for bad in [
        {"weights": weights, "thresholds": [50, 40, 60, 70, 80]},
        {"weights": {**weights, "made-up": 3}, "thresholds": [10, 30, 50, 70, 90]},
        {"weights": {code: 0 for code in weights}, "thresholds": [10, 30, 50, 70, 90]},
        {"weights": {**weights, "location": True}, "thresholds": [10, 30, 50, 70, 90]},
        {"weights": weights, "thresholds": "10,20"},
    ]:
        response = client.put(f"{API}/sharing/settings", bad, content_type=JSON, **coordinator_auth)
        assert response.status_code == 422, (bad, response.content)
        assert "detail" in response.json()


def test_common_values(
    client: Any, analyst: Any, coordinator: Any, ana_auth: dict[str, str]
) -> None:
    coordinator_auth = bearer(coordinator)
    url = f"{API}/sharing/common-values"
    before = client.get(url, **ana_auth).json()["count"]
    created = client.post(
        url,
        {"kind": "domain", "value": "*.CDN-Example[.]net", "note": "A CDN"},
        content_type=JSON,
        **coordinator_auth,
    )
    assert created.status_code == 201, created.content
    entry = created.json()
    assert entry["value"] == "*.cdn-example.net"
    assert client.get(url, **ana_auth).json()["count"] == before + 1
    duplicate = client.post(
        url, {"kind": "domain", "value": "*.cdn-example.net"}, content_type=JSON, **coordinator_auth
    )
    assert duplicate.status_code == 422
    for bad in [{"kind": "colour", "value": "red"}, {"kind": "ipv4", "value": "1.2.3"}]:
        assert client.post(url, bad, content_type=JSON, **coordinator_auth).status_code == 422
    assert (
        client.post(
            url, {"kind": "ipv4", "value": "192.0.2.1"}, content_type=JSON, **ana_auth
        ).status_code
        == 403
    )
    assert client.delete(f"{url}/{entry['id']}", **ana_auth).status_code == 403
    assert client.delete(f"{url}/{entry['id']}", **coordinator_auth).status_code == 204
    assert client.delete(f"{url}/{entry['id']}", **coordinator_auth).status_code == 404
    assert client.delete(f"{url}/{2**70}", **coordinator_auth).status_code in (404, 422)
    assert AuditEntry.objects.filter(action="sharing.common_value_removed").exists()


def test_vocabularies(client: Any, analyst: Any, ana_auth: dict[str, str]) -> None:
    effects = client.get(f"{API}/taxonomies/effects", **ana_auth).json()
    assert effects[0]["code"] == "message-manipulation" and effects[0]["family"] == "disruptive"
    types = client.get(f"{API}/taxonomies/incident-types", **ana_auth).json()
    assert any(t["code"] == "fraud:phishing" for t in types)
    components = client.get(f"{API}/taxonomies/core-components", **ana_auth).json()
    assert {c["code"] for c in components} >= {"routing-forwarding", "naming-numbering"}


# --- Hostile input --------------------------------------------------------------------------------


def test_hostile_input_is_refused_without_a_server_error(
    client: Any, analyst: Any, ana_auth: dict[str, str]
) -> None:
    report_id = file_report(client, ana_auth, observables=[{"value": "evil.example"}])["id"]
    before = counts()
    weird = "\u202e\u0301\U0001f4a3\ufeff\u200b" * 50
    bodies = [
        {"kind": 5, "title": []},
        {"kind": "incident", "title": "x" * 100_000},
        {"kind": "incident", "title": weird, "observables": [{"value": weird}]},
        {"kind": "incident", "title": "Fine title", "observables": [{"value": "a" * 5000}]},
        {"kind": "incident", "title": "Fine title", "observables": "evil.example"},
        {"kind": "incident", "title": "Fine title", "severity": ["a"]},
        {"kind": "incident", "title": "Fine title", "first_seen": "0001-01-01T00:00:00+23:00"},
        {"kind": "incident", "title": "Fine title", "last_seen": "9999-12-31T23:59:59-23:00"},
        {"kind": "incident", "title": "Fine title", "country_of_origin": "ZZ"},
        {"kind": "incident", "title": "Fine title", "references": ["http://[::1"]},
        {"kind": "incident", "title": "Fine title", "recipients": [weird]},
        {"kind": "incident", "title": "Fine title", "marking": "tlp:amber"},
        [],
        "text",
    ]
    for body in bodies:
        response = client.post(f"{API}/reports", body, content_type=JSON, **ana_auth)
        assert 400 <= response.status_code < 500, (body, response.status_code, response.content)
        assert "detail" in response.json()
    # A lone surrogate is valid JSON but not storable text.
    raw = b'{"kind": "incident", "title": "Bad \\ud800 title"}'
    response = client.post(f"{API}/reports", raw, content_type=JSON, **ana_auth)
    assert response.status_code == 400 and "surrogate" in response.json()["detail"]
    assert counts() == before

    for path in [
        "/reports/123",
        "/reports/00000000-0000-0000-0000-000000000000",
        f"/reports/{report_id}/attachments/not-a-uuid",
        f"/reports/{report_id}/attachments/00000000-0000-4000-8000-000000000000",
        "/reports/%F0%9F%92%A3",
        "/sharing/common-values/abc",
    ]:
        response = client.get(f"{API}{path}", **ana_auth)
        assert response.status_code in (404, 405), (path, response.status_code)
        assert "detail" in response.json()
    for query in [{"value": weird}, {"value": "x" * 5000}, {"value": "1.2.3.4", "kind": "nope"}]:
        response = client.get(f"{API}/observables/lookup", query, **ana_auth)
        assert response.status_code == 422, (query, response.content)
    response = client.get(f"{API}/reports", {"q": weird, "observable": weird}, **ana_auth)
    assert response.status_code == 200
    response = client.post(
        f"{API}/observables/extract", {"text": weird}, content_type=JSON, **ana_auth
    )
    assert response.status_code == 200 and response.json()["observables"] == []


@pytest.mark.django_db
def test_amber_reports_carry_the_reporters_consent_to_go_abroad(
    client: Any, analyst: Any, member_org: Any
) -> None:
    auth = bearer(analyst)
    body = {
        "kind": "advisory",
        "title": "Patch the VPN concentrators",
        "marking": "amber",
        "organisation": member_org.slug,
    }
    made = client.post(f"{API}/reports", body | {"abroad_consent": True}, JSON, **auth)
    assert made.status_code == 201, made.json()
    assert made.json()["abroad_consent"] is True
    report_id = made.json()["id"]
    patched = client.patch(
        f"{API}/reports/{report_id}", {"abroad_consent": False}, "application/json", **auth
    )
    assert patched.status_code == 200 and patched.json()["abroad_consent"] is False
    from accord.sharing.models import Report

    report = Report.objects.get(pk=report_id)
    assert report.abroad_consent is False and report.version == 2
    changed = report.versions.get(number=2).changed
    assert "abroad_consent" in changed
    f.login(client, analyst)
    page = client.get(f"/reports/{report_id}/").content.decode()
    assert "Stays in this country." in page
