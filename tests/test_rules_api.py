"""The rules API: reading is public; publishing, accepting and the history need a caller."""

from __future__ import annotations

from typing import Any

import pytest

from accord import policy
from accord.accounts import services as accounts
from accord.accounts.models import User
from accord.rules.models import RuleAcceptance, RuleDocument, RuleVersion
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(user: Any, *, write: bool = True) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=write, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_documents_are_public(client: Any, rules: list) -> None:
    listing = client.get(f"{API}/rules")
    assert listing.status_code == 200
    kinds = {d["kind"]: d for d in listing.json()}
    assert set(kinds) == {"charter", "sharing-policy", "code-of-conduct"}
    assert kinds["charter"]["current_version"]["number"] == 1

    doc = client.get(f"{API}/rules/charter").json()
    assert doc["title"] == "Charter"
    assert [v["number"] for v in doc["versions"]] == [1]

    version = client.get(f"{API}/rules/charter/versions/1").json()
    assert version["is_current"] is True
    assert version["body"].startswith("# Charter")
    assert "<h1>Charter</h1>" in version["html"]

    assert client.get(f"{API}/rules/bylaws").status_code == 404
    assert client.get(f"{API}/rules/charter/versions/9").status_code == 404
    assert client.get(f"{API}/rules/charter/versions/99999999999999999999").status_code == 404
    assert client.get(f"{API}/rules/charter/versions/one").status_code == 422


def test_publish_by_coordinator_only(client: Any, coordinator: Any, representative: Any) -> None:
    url = f"{API}/rules/charter/versions"
    payload = {"body": "# Charter\n\n<script>alert(1)</script> v2", "change_summary": "New"}
    assert client.post(url, payload, content_type="application/json").status_code == 401

    response = client.post(url, payload, content_type="application/json", **bearer(representative))
    assert response.status_code == 403
    assert "coordinators" in response.json()["detail"]

    response = client.post(url, payload, content_type="application/json", **bearer(coordinator))
    assert response.status_code == 201
    data = response.json()
    assert (data["number"], data["change_summary"], data["is_current"]) == (2, "New", True)
    assert "<script" not in data["html"]
    assert RuleVersion.objects.filter(document__kind="charter").count() == 2

    for bad in ({"body": ""}, {"body": "x", "change_summary": "y" * 501}, {"change_summary": "x"}):
        response = client.post(url, bad, content_type="application/json", **bearer(coordinator))
        assert response.status_code == 422, bad
    # A read-only token may not publish.
    response = client.post(
        url, payload, content_type="application/json", **bearer(coordinator, write=False)
    )
    assert response.status_code == 403
    assert RuleVersion.objects.filter(document__kind="charter").count() == 2


def test_accept_current_version(
    client: Any, coordinator: Any, member_org: Any, analyst: Any, representative: Any
) -> None:
    charter = RuleDocument.objects.get(kind="charter")
    new = RuleVersion.objects.create(document=charter, number=2, body="v2")
    assert not policy.can_read_restricted(User.objects.get(pk=analyst.pk))
    url = f"{API}/rules/charter/versions/2/accept"
    body = {"organisation": member_org.slug}

    assert client.post(url, body, content_type="application/json").status_code == 401
    response = client.post(url, body, content_type="application/json", **bearer(analyst))
    assert response.status_code == 403
    assert "Only a representative" in response.json()["detail"]

    rep = bearer(representative)
    # Only the current version can be accepted.
    old = client.post(
        f"{API}/rules/charter/versions/1/accept", body, content_type="application/json", **rep
    )
    assert old.status_code == 409
    response = client.post(url, body, content_type="application/json", **rep)
    assert response.status_code == 201
    assert response.json()["version"] == 2
    assert response.json()["accepted_by"] == "rep"
    again = client.post(url, body, content_type="application/json", **rep)
    assert again.status_code == 200
    assert RuleAcceptance.objects.filter(version=new).count() == 1
    assert policy.can_read_restricted(User.objects.get(pk=analyst.pk))

    # An organisation the caller cannot see does not exist; bad input is 422.
    hidden = f.make_organisation("Hidden", status="pending")
    response = client.post(
        url, {"organisation": hidden.slug}, content_type="application/json", **rep
    )
    assert response.status_code == 404
    assert client.post(url, {}, content_type="application/json", **rep).status_code == 422
    response = client.post(url, {"organisation": "x" * 200}, content_type="application/json", **rep)
    assert response.status_code == 422


def test_acceptance_history(client: Any, coordinator: Any, member_org: Any, analyst: Any) -> None:
    other = f.make_organisation("Other Org")
    f.accept_rules(other)
    assert client.get(f"{API}/acceptances").status_code == 401

    mine = client.get(f"{API}/acceptances", **bearer(analyst)).json()
    assert mine["count"] == 3
    assert {a["organisation"] for a in mine["items"]} == {member_org.slug}

    everyone = client.get(f"{API}/acceptances?limit=2", **bearer(coordinator)).json()
    assert everyone["count"] == 6
    assert len(everyone["items"]) == 2
    only = client.get(f"{API}/acceptances?organisation={other.slug}", **bearer(coordinator)).json()
    assert only["count"] == 3
    assert {a["organisation_name"] for a in only["items"]} == {"Other Org"}
    hidden = client.get(f"{API}/acceptances?organisation={other.slug}", **bearer(analyst)).json()
    assert hidden["count"] == 0
    assert client.get(f"{API}/acceptances?limit=-1", **bearer(analyst)).status_code == 422
