"""API tokens: the page, bearer authentication, the API and the command."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accord.accounts import services
from accord.accounts.models import ApiToken, hash_token
from accord.audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def token_for(user: Any, *, write: bool = False, days: int = 30) -> tuple[ApiToken, str]:
    return services.create_token(user, name="test", can_write=write, expires_in_days=days)


# --- The tokens page ------------------------------------------------------------------------


def test_create_token_in_the_page_shows_it_once(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    url = reverse("accounts:tokens")
    response = client.post(url, {"name": "SIEM export", "expires_in_days": "30"})
    assert response.status_code == 201
    html = response.content.decode()
    raw = re.search(r'<pre class="secret" id="new-token">(acc_[^<]+)</pre>', html).group(1)

    token = ApiToken.objects.get(user=analyst)
    assert (token.name, token.can_write) == ("SIEM export", False)
    assert token.secret_hash == hash_token(raw)
    assert raw not in {token.key_id, token.secret_hash, token.name}
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    assert AuditEntry.objects.filter(action="token.created", actor=analyst).exists()

    # Never again: not on the next page view, not in the session.
    again = client.get(url).content.decode()
    assert raw not in again
    assert token.key_id in again
    assert raw not in str(dict(client.session))
    # And it works.
    assert client.get(f"{API}/me", **bearer(raw)).status_code == 200


def test_token_form_errors_change_nothing(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    url = reverse("accounts:tokens")
    for data in (
        {"name": "", "expires_in_days": "30"},
        {"name": "x", "expires_in_days": "1000"},
        {"name": "x" * 101, "expires_in_days": "30"},
    ):
        response = client.post(url, data)
        assert response.status_code == 200
        assert 'id="new-token"' not in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_in_the_page(client: Any, analyst: Any, coordinator: Any) -> None:
    token, raw = token_for(analyst)
    other, _ = token_for(coordinator)
    f.login(client, analyst)
    page = client.get(reverse("accounts:tokens")).content.decode()
    assert reverse("accounts:token_revoke", args=[token.pk]) in page
    assert "Revoke" in page

    assert client.get(reverse("accounts:token_revoke", args=[token.pk])).status_code == 405
    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response["Location"] == reverse("accounts:tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "revoked" in client.get(reverse("accounts:tokens")).content.decode()
    # Someone else's token does not exist for you.
    assert client.post(reverse("accounts:token_revoke", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_token_times_in_viewers_zone(client: Any, analyst: Any) -> None:
    token, _ = token_for(analyst)
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)
    )
    analyst.timezone = "Asia/Tokyo"
    analyst.save()
    f.login(client, analyst)
    html = client.get(reverse("accounts:tokens")).content.decode()
    assert "2026-01-01 09:00" in html
    assert "Times are shown in Asia/Tokyo" in html


# --- Bearer authentication ---------------------------------------------------------------------


def test_bearer_me(client: Any, representative: Any, member_org: Any) -> None:
    _, raw = token_for(representative)
    response = client.get(f"{API}/me", **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "rep"
    assert body["full_name"] == "Rita Representative"
    assert body["is_coordinator"] is False
    assert body["memberships"] == [
        {
            "organisation": member_org.slug,
            "name": member_org.name,
            "roles": ["representative", "org_admin"],
        }
    ]
    assert body["standing"] == {"good": True, "reason": ""}


def test_read_only_token_cannot_write(client: Any, analyst: Any) -> None:
    _, raw = token_for(analyst, write=False)
    response = client.post(
        f"{API}/tokens", {"name": "x"}, content_type="application/json", **bearer(raw)
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize("state", ["revoked", "expired", "garbage"])
def test_unusable_token_is_401(client: Any, analyst: Any, state: str) -> None:
    token, raw = token_for(analyst)
    if state == "revoked":
        services.revoke_token(token, by=analyst)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    else:
        raw = raw[:-2] + "xx"
    response = client.get(f"{API}/me", **bearer(raw))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


def test_token_of_deactivated_person_is_401(client: Any, analyst: Any) -> None:
    _, raw = token_for(analyst)
    analyst.is_active = False
    analyst.save()
    assert client.get(f"{API}/me", **bearer(raw)).status_code == 401


# --- The tokens API -------------------------------------------------------------------------


def test_api_create_list_revoke(client: Any, analyst: Any) -> None:
    _, raw = token_for(analyst, write=True)
    response = client.post(
        f"{API}/tokens",
        {"name": "Script", "can_write": False, "expires_in_days": 7},
        content_type="application/json",
        **bearer(raw),
    )
    assert response.status_code == 201
    created = response.json()
    assert created["token"].startswith("acc_")
    assert created["scope"] == "read-only"
    assert created["state"] == "active"
    assert created["user"] == "ana"
    assert client.get(f"{API}/me", **bearer(created["token"])).status_code == 200

    listing = client.get(f"{API}/tokens", **bearer(raw)).json()
    assert listing["count"] == 2
    assert {item["name"] for item in listing["items"]} == {"Script", "test"}
    assert all("token" not in item and "secret_hash" not in item for item in listing["items"])
    assert client.get(f"{API}/tokens?limit=1", **bearer(raw)).json()["items"][0]["name"]

    revoked = client.delete(f"{API}/tokens/{created['key_id']}", **bearer(raw))
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked"
    again = client.delete(f"{API}/tokens/{created['key_id']}", **bearer(raw))
    assert again.status_code == 409
    assert client.get(f"{API}/me", **bearer(created["token"])).status_code == 401


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "", "expires_in_days": 7},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 366},
        {"name": "x" * 101},
        {"name": "x", "expires_in_days": 10**30},
        {"name": "x", "can_write": "maybe"},
        {},
    ],
)
def test_api_create_rejects_bad_input(client: Any, analyst: Any, payload: dict) -> None:
    _, raw = token_for(analyst, write=True)
    response = client.post(f"{API}/tokens", payload, content_type="application/json", **bearer(raw))
    assert response.status_code in (400, 422)
    assert "detail" in response.json()
    assert ApiToken.objects.count() == 1


def test_api_revoke_others(
    client: Any, analyst: Any, representative: Any, coordinator: Any
) -> None:
    theirs, _ = token_for(representative)
    _, mine = token_for(analyst, write=True)
    _, coord = token_for(coordinator, write=True)
    assert client.delete(f"{API}/tokens/{theirs.key_id}", **bearer(mine)).status_code == 404
    assert client.delete(f"{API}/tokens/not-a-key", **bearer(mine)).status_code == 404
    assert client.delete(f"{API}/tokens/{'a' * 300}", **bearer(mine)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert client.delete(f"{API}/tokens/{theirs.key_id}", **bearer(coord)).status_code == 200
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None


def test_api_session_auth_needs_second_factor(client: Any, analyst: Any) -> None:
    f.confirmed_device(analyst)
    f.login(client, analyst, verified=False)
    assert client.get(f"{API}/me").status_code == 403
    f.login(client, analyst)
    assert client.get(f"{API}/me").json()["username"] == "ana"


# --- People (coordinators) --------------------------------------------------------------------


def test_people_for_coordinators_only(
    client: Any, analyst: Any, coordinator: Any, member_org: Any
) -> None:
    _, ana = token_for(analyst, write=True)
    _, coord = token_for(coordinator, write=True)

    refused = client.get(f"{API}/people", **bearer(ana))
    assert refused.status_code == 403
    assert refused.json()["detail"]

    people = client.get(f"{API}/people", **bearer(coord)).json()
    assert people["count"] == 2
    by_name = {p["username"]: p for p in people["items"]}
    assert by_name["ana"]["memberships"][0]["organisation"] == member_org.slug
    assert by_name["coord"]["is_coordinator"] is True


def test_people_patch(client: Any, analyst: Any, coordinator: Any) -> None:
    _, ana = token_for(analyst, write=True)
    _, coord = token_for(coordinator, write=True)
    url = f"{API}/people/ana"
    body = {"is_coordinator": True}

    assert (
        client.patch(url, body, content_type="application/json", **bearer(ana)).status_code == 403
    )
    analyst.refresh_from_db()
    assert not analyst.is_coordinator

    response = client.patch(url, body, content_type="application/json", **bearer(coord))
    assert response.status_code == 200
    assert response.json()["is_coordinator"] is True
    analyst.refresh_from_db()
    assert analyst.is_coordinator
    assert AuditEntry.objects.filter(action="account.coordinator_changed").exists()

    assert (
        client.patch(
            f"{API}/people/nobody", body, content_type="application/json", **bearer(coord)
        ).status_code
        == 404
    )
    own = client.patch(
        f"{API}/people/coord",
        {"is_coordinator": False},
        content_type="application/json",
        **bearer(coord),
    )
    assert own.status_code == 409
    assert (
        client.patch(
            url, {"is_coordinator": "perhaps"}, content_type="application/json", **bearer(coord)
        ).status_code
        == 422
    )


# --- The command -------------------------------------------------------------------------------


def test_token_command_prints_a_working_token(client: Any, analyst: Any) -> None:
    out = StringIO()
    call_command("token", "ana", stdout=out)
    raw = out.getvalue().strip()
    assert re.fullmatch(r"acc_[0-9a-f]+_\S+", raw)
    assert client.get(f"{API}/me", **bearer(raw)).json()["username"] == "ana"
    token = ApiToken.objects.get(user=analyst)
    assert not token.can_write
    assert token.name == "Command line"


def test_token_command_options(client: Any, analyst: Any) -> None:
    out = StringIO()
    call_command("token", "ana", "--write", "--name", "Backup", "--days", "7", stdout=out)
    token = ApiToken.objects.get(user=analyst)
    assert (token.can_write, token.name) == (True, "Backup")
    assert (token.expires_at - timezone.now()).days in (6, 7)


def test_token_command_errors(analyst: Any) -> None:
    with pytest.raises(CommandError):
        call_command("token", "nobody", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("token", "ana", "--days", "0", stdout=StringIO())
    assert not ApiToken.objects.exists()
