"""The audit API: the same visibility and filters as the page, and the chain check."""

from __future__ import annotations

from typing import Any

import pytest

from accord.accounts import services as accounts
from accord.audit.models import AuditEntry
from accord.workgroups import services as groups
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(user: Any) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=False, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def olga(rules: list) -> Any:
    org = f.make_organisation("Grid Operator", slug="grid-operator")
    f.accept_rules(org)
    user = f.make_user("olga")
    f.add_member(user, org)
    return user


@pytest.fixture
def trail(analyst: Any, olga: Any) -> None:
    groups.create_group(name="Energy Sharing", description="", visibility="open", by=analyst)
    groups.create_group(name="Grid Private", description="", visibility="open", by=olga)


def test_unauthenticated_is_401(client: Any) -> None:
    assert client.get(f"{API}/audit").status_code == 401
    assert client.get(f"{API}/audit/verify").status_code == 401


def test_entries_and_visibility(
    client: Any, coordinator: Any, analyst: Any, member_org: Any, trail: None
) -> None:
    everything = client.get(f"{API}/audit?action=group.created", **bearer(coordinator)).json()
    assert everything["count"] == 2
    newest = everything["items"][0]
    assert set(newest) == {
        "sequence",
        "timestamp",
        "actor",
        "action",
        "organisation",
        "target_type",
        "target_id",
        "summary",
        "data",
        "entry_hash",
        "previous_hash",
    }
    assert (newest["actor"], newest["organisation"], newest["summary"]) == (
        "olga",
        "grid-operator",
        "Working group Grid Private was created",
    )
    entry = AuditEntry.objects.get(sequence=newest["sequence"])
    assert newest["entry_hash"] == entry.entry_hash
    assert newest["previous_hash"] == entry.previous_hash
    assert everything["items"][1]["sequence"] < newest["sequence"]

    mine = client.get(f"{API}/audit", **bearer(analyst)).json()
    assert {e["organisation"] for e in mine["items"]} <= {member_org.slug, None}
    assert not any("Grid Private" in e["summary"] for e in mine["items"])
    peek = client.get(f"{API}/audit?organisation=grid-operator", **bearer(analyst)).json()
    assert peek["count"] == 0

    by_org = client.get(f"{API}/audit?organisation=grid-operator", **bearer(coordinator)).json()
    assert {e["organisation"] for e in by_org["items"]} == {"grid-operator"}
    by_actor = client.get(f"{API}/audit?actor=ana&limit=1", **bearer(coordinator)).json()
    assert len(by_actor["items"]) == 1 and by_actor["items"][0]["actor"] == "ana"
    assert client.get(f"{API}/audit?date_to=2000-01-01", **bearer(coordinator)).json()["count"] == 0


def test_bad_filters_are_422(client: Any, analyst: Any) -> None:
    auth = bearer(analyst)
    for query in (
        "date_from=yesterday",
        "date_from=2030-01-02&date_to=2030-01-01",
        f"action={'x' * 65}",
        "limit=abc",
        "offset=-1",
    ):
        response = client.get(f"{API}/audit?{query}", **auth)
        assert response.status_code == 422, query
        assert "detail" in response.json()


def test_verify_is_for_coordinators(
    client: Any, coordinator: Any, analyst: Any, trail: None
) -> None:
    assert client.get(f"{API}/audit/verify", **bearer(analyst)).status_code == 403
    report = client.get(f"{API}/audit/verify", **bearer(coordinator)).json()
    assert report == {
        "ok": True,
        "checked": AuditEntry.objects.count(),
        "first_broken_sequence": None,
        "problem": "",
    }
