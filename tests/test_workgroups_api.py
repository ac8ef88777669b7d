"""The working-groups API: same policy as the pages, JSON errors, no 500s."""

from __future__ import annotations

from typing import Any

import pytest

from accord.accounts import services as accounts
from accord.workgroups import services
from accord.workgroups.models import WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"
JSON = "application/json"


def bearer(user: Any, *, write: bool = True) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=write, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def make_group(owner: Any, name: str, visibility: str) -> WorkingGroup:
    return services.create_group(name=name, description="", visibility=visibility, by=owner)


@pytest.fixture
def other_org(rules: list) -> Any:
    org = f.make_organisation("Grid Operator")
    f.accept_rules(org)
    return org


@pytest.fixture
def olga(other_org: Any) -> Any:
    user = f.make_user("olga")
    f.add_member(user, other_org)
    return user


def test_unauthenticated_is_401(client: Any, analyst: Any) -> None:
    group = services.create_group(name="Grid", description="", visibility="open", by=analyst)
    assert client.get(f"{API}/groups").status_code == 401
    assert client.get(f"{API}/groups/{group.slug}").status_code == 401
    assert client.post(f"{API}/groups", {"name": "X"}, content_type=JSON).status_code == 401
    assert client.post(f"{API}/groups/{group.slug}/join").status_code == 401


def test_create_list_and_read(client: Any, analyst: Any, member_org: Any) -> None:
    auth = bearer(analyst)
    response = client.post(
        f"{API}/groups",
        {
            "name": "Grid Security",
            "description": "Why",
            "visibility": "invite-only",
            "sector": "energy",
            "organisation": member_org.slug,
        },
        content_type=JSON,
        **auth,
    )
    assert response.status_code == 201
    data = response.json()
    assert (data["slug"], data["visibility"], data["sector"], data["member_count"]) == (
        "grid-security",
        "invite-only",
        "energy",
        1,
    )
    assert data["members"][0]["username"] == "ana"
    assert data["members"][0]["is_owner"] is True

    listing = client.get(f"{API}/groups?visibility=invite-only", **auth).json()
    assert listing["count"] == 1
    assert listing["items"][0]["my_state"] == "active"
    assert client.get(f"{API}/groups?q=nothing", **auth).json()["count"] == 0
    assert client.get(f"{API}/groups/grid-security", **auth).json()["name"] == "Grid Security"

    # Conflicts and bad input.
    again = client.post(f"{API}/groups", {"name": "grid security"}, content_type=JSON, **auth)
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    for bad, status in [
        ({"name": ""}, 422),
        ({"name": "x" * 121}, 422),
        ({"name": "Fine", "visibility": "secret"}, 422),
        ({"name": "Fine", "sector": "nope"}, 400),
        ({"name": "New"}, 400),
        ({"name": "Fine", "organisation": "someone-else"}, 400),
    ]:
        response = client.post(f"{API}/groups", bad, content_type=JSON, **auth)
        assert response.status_code == status, bad
        assert "detail" in response.json()
    assert client.get(f"{API}/groups?visibility=secret", **auth).status_code == 422
    assert WorkingGroup.objects.count() == 1


def test_join_request_approve_and_leave(client: Any, analyst: Any, olga: Any) -> None:
    group = make_group(analyst, "Intel", "invite-only")
    base = f"{API}/groups/{group.slug}"
    response = client.post(f"{base}/join", content_type=JSON, **bearer(olga))
    assert response.status_code == 200
    assert response.json()["state"] == "requested"
    assert client.post(f"{base}/join", content_type=JSON, **bearer(olga)).status_code == 409
    # Only owners decide.
    response = client.patch(
        f"{base}/members/olga", {"approve": True}, content_type=JSON, **bearer(olga)
    )
    assert response.status_code == 404

    owner = bearer(analyst)
    response = client.patch(f"{base}/members/olga", {"approve": True}, content_type=JSON, **owner)
    assert response.status_code == 200
    assert response.json()["state"] == "active"
    response = client.patch(f"{base}/members/olga", {"approve": True}, content_type=JSON, **owner)
    assert response.status_code == 409
    assert client.patch(f"{base}/members/olga", {}, content_type=JSON, **owner).status_code == 400
    assert (
        client.patch(
            f"{base}/members/nobody", {"is_owner": True}, content_type=JSON, **owner
        ).status_code
        == 404
    )

    # The last owner cannot leave; after handing over, they can.
    response = client.post(f"{base}/leave", **owner)
    assert response.status_code == 409
    assert "at least one owner" in response.json()["detail"]
    client.patch(f"{base}/members/olga", {"is_owner": True}, content_type=JSON, **owner)
    assert client.post(f"{base}/leave", **owner).status_code == 204
    assert not group.memberships.filter(user=analyst).exists()


def test_invite_remove_and_update(
    client: Any, analyst: Any, olga: Any, other_org: Any, member_org: Any
) -> None:
    group = make_group(analyst, "Intel", "invite-only")
    base = f"{API}/groups/{group.slug}"
    owner = bearer(analyst)
    response = client.post(
        f"{base}/members",
        {"username": "olga", "organisation": other_org.slug},
        content_type=JSON,
        **owner,
    )
    assert response.status_code == 201
    assert response.json()["state"] == "invited"
    response = client.post(
        f"{base}/members",
        {"username": "olga", "organisation": other_org.slug},
        content_type=JSON,
        **owner,
    )
    assert response.status_code == 409
    response = client.post(
        f"{base}/members",
        {"username": "olga", "organisation": member_org.slug},
        content_type=JSON,
        **owner,
    )
    assert response.status_code == 400
    assert (
        client.post(f"{base}/members", {"username": "olga"}, content_type=JSON, **owner).status_code
        == 422
    )
    # A member who does not own the group cannot invite or change it.
    response = client.post(
        f"{base}/members",
        {"username": "ana", "organisation": member_org.slug},
        content_type=JSON,
        **bearer(olga),
    )
    assert response.status_code == 404

    response = client.patch(
        base, {"description": "Shared purpose", "sector": "energy"}, content_type=JSON, **owner
    )
    assert response.status_code == 200
    assert (response.json()["description"], response.json()["sector"]) == (
        "Shared purpose",
        "energy",
    )
    response = client.patch(base, {"visibility": "secret"}, content_type=JSON, **owner)
    assert response.status_code == 422
    assert (
        client.patch(base, {"description": "x"}, content_type=JSON, **bearer(olga)).status_code
        == 404
    )

    assert client.delete(f"{base}/members/olga", **owner).status_code == 204
    assert not group.memberships.filter(user=olga).exists()
    # Read-only tokens read, but do not write.
    assert client.get(base, **bearer(analyst, write=False)).status_code == 200
    assert (
        client.patch(
            base, {"description": "y"}, content_type=JSON, **bearer(analyst, write=False)
        ).status_code
        == 403
    )


def test_confidential_group_in_the_api(
    client: Any, analyst: Any, olga: Any, other_org: Any, member_org: Any
) -> None:
    group = services.create_group(name="Red", description="", visibility="confidential", by=analyst)
    base = f"{API}/groups/{group.slug}"
    carl = f.make_user("carl")
    f.add_member(carl, member_org)

    # Not a member: the group does not exist.
    assert client.get(base, **bearer(olga)).status_code == 404
    assert client.post(f"{base}/join", content_type=JSON, **bearer(olga)).status_code == 404
    assert client.get(f"{API}/groups", **bearer(olga)).json()["count"] == 0

    services.invite_to_group(group, user=olga, organisation=other_org, by=analyst)
    services.invite_to_group(group, user=carl, organisation=member_org, by=analyst)
    # A bare POST with no body at all joins for the caller's first organisation.
    assert client.generic("POST", f"{base}/join", **bearer(olga)).json()["state"] == "active"
    services.join_group(group, by=carl)

    data = client.get(base, **bearer(olga)).json()
    assert [m["username"] for m in data["members"]] == ["olga"]
    assert data["member_count"] == 3
    assert client.delete(f"{base}/members/carl", **bearer(olga)).status_code == 404

    owner_view = client.get(base, **bearer(analyst)).json()
    assert {m["username"] for m in owner_view["members"]} == {"ana", "olga", "carl"}


def test_not_in_good_standing_is_refused(client: Any, analyst: Any) -> None:
    group = services.create_group(name="Grid", description="", visibility="open", by=analyst)
    late_org = f.make_organisation("Late Company")
    late = f.make_user("late")
    f.add_member(late, late_org)
    auth = bearer(late)
    for response in (
        client.get(f"{API}/groups", **auth),
        client.get(f"{API}/groups/{group.slug}", **auth),
        client.post(f"{API}/groups/{group.slug}/join", content_type=JSON, **auth),
        client.post(f"{API}/groups", {"name": "Mine"}, content_type=JSON, **auth),
    ):
        assert response.status_code == 403
        assert "has not accepted the current version" in response.json()["detail"]
    assert not group.memberships.filter(user=late).exists()
