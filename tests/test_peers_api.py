"""The JSON API for peer installations: coordinators only, the same rules as the
pages, clear 4xx answers for bad input, and never a secret in an answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import path
from ninja import NinjaAPI

from accord import urls as project_urls
from accord.accounts import services as accounts
from accord.accounts.models import hash_token
from accord.api import api
from accord.exchange.api_peers import router
from accord.exchange.models import Agreement, Peer, PeerPullRun

# Until accord.api mounts the peers router, this module serves it from an API with
# the same authentication and error handling, in front of the project's urls.
urlpatterns = list(project_urls.urlpatterns)
if not any(mounted is router for _prefix, mounted in api._routers):
    _api = NinjaAPI(title="Accord API (peers)", urls_namespace="peers-test-api", auth=api.auth)
    _api._exception_handlers.update(api._exception_handlers)
    _api.add_router("/", router)
    urlpatterns.insert(0, path("api/v1/", _api.urls))
handler404 = project_urls.handler404
handler500 = project_urls.handler500

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.test_peers_api")]

PEER = {
    "name": "Peer Land",
    "slug": "peer-land",
    "country": "DE",
    # Nothing answers there: a pull fails at once, without leaving the machine.
    "api_root_url": "http://127.0.0.1:9/taxii2/accord/",
    "remote_username": "nl-network",
    "remote_secret": "s3cret-at-the-peer",
}


def bearer(user: Any) -> dict[str, str]:
    _token, raw = accounts.create_token(user, name="peers", can_write=True, by=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def call(client: Any, method: str, url: str, auth: dict[str, str], body: Any = None) -> Any:
    kwargs: dict[str, Any] = dict(auth)
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs["content_type"] = "application/json"
    return getattr(client, method)(f"/api/v1{url}", **kwargs)


@pytest.fixture
def coord(coordinator: Any) -> dict[str, str]:
    return bearer(coordinator)


def test_peers_api_is_for_coordinators_only(client, coordinator, analyst):
    assert client.get("/api/v1/peers").status_code == 401
    member = bearer(analyst)
    answer = call(client, "get", "/peers", member)
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Only coordinators can manage peer installations."}
    assert call(client, "post", "/peers", member, PEER).status_code == 403
    assert not Peer.objects.exists()


def test_a_coordinator_manages_a_peer_end_to_end(client, coord, coordinator):
    answer = call(client, "post", "/peers", coord, PEER)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["slug"] == "peer-land" and body["has_remote_secret"] is True
    assert body["has_token"] is False and body["active"] is True
    assert "s3cret" not in answer.content.decode()

    answer = call(client, "post", "/peers/peer-land/token", coord)
    token = answer.json()["token"]
    assert answer.json()["username"] == "peer-land"
    assert Peer.objects.get().inbound_token_hash == hash_token(token)

    agreement = {"kinds": ["incident"], "highest_marking": "amber", "name_reporters": True}
    answer = call(client, "put", "/peers/peer-land/agreements/outbound", coord, agreement)
    assert answer.status_code == 200, answer.content
    assert answer.json()["highest_marking"] == "amber" and answer.json()["kinds"] == ["incident"]
    assert call(client, "get", "/peers/peer-land/agreements/inbound", coord).status_code == 404
    call(client, "put", "/peers/peer-land/agreements/inbound", coord, {})
    inbound = Agreement.objects.get(direction="inbound")
    assert inbound.highest_marking == "green" and inbound.name_reporters is False

    detail = call(client, "get", "/peers/peer-land", coord).json()
    assert detail["outbound"]["name_reporters"] is True and detail["inbound"]["kinds"] == [
        "incident",
        "vulnerability",
        "advisory",
        "measure",
    ]
    assert detail["reports_allowed"] == 0 and detail["recent_pulls"] == []
    assert token not in json.dumps(detail) and "s3cret" not in json.dumps(detail)

    answer = call(client, "patch", "/peers/peer-land", coord, {"pull_every_minutes": 60})
    assert answer.json()["pull_every_minutes"] == 60
    assert Peer.objects.get().remote_secret == "s3cret-at-the-peer"

    Peer.objects.update(cursor="2026-05-04T08:00:00.000000Z")
    assert call(client, "post", "/peers/peer-land/reset-cursor", coord).json()["cursor"] == ""
    assert call(client, "post", "/peers/peer-land/pause", coord).json()["active"] is False
    answer = call(client, "post", "/peers/peer-land/pull", coord)
    assert answer.status_code == 400 and "paused" in answer.json()["detail"]
    assert call(client, "post", "/peers/peer-land/resume", coord).json()["active"] is True

    # The test settings run the queued pull at once; nothing answers at the address.
    answer = call(client, "post", "/peers/peer-land/pull", coord)
    assert answer.status_code == 202
    [run] = call(client, "get", "/peers/peer-land/pulls", coord).json()
    assert run["ok"] is False and "Cannot connect to http://127.0.0.1:9/" in run["error"]
    assert PeerPullRun.objects.count() == 1

    assert call(client, "delete", "/peers/peer-land/agreements/outbound", coord).status_code == 204
    assert call(client, "delete", "/peers/peer-land/agreements/outbound", coord).status_code == 400
    assert [p["slug"] for p in call(client, "get", "/peers", coord).json()] == ["peer-land"]


def test_bad_input_is_a_clear_4xx_and_stores_nothing(client, coord):
    cases = [
        ({**PEER, "country": "XX"}, 422, "country"),
        ({**PEER, "api_root_url": "ftp://peer.example/"}, 422, "api_root_url"),
        ({**PEER, "slug": "Not A Slug"}, 422, "slug"),
        ({**PEER, "pull_every_minutes": "15"}, 422, "pull_every_minutes"),
        ({**PEER, "name": "x" * 200}, 422, "name"),
    ]
    for body, status, word in cases:
        answer = call(client, "post", "/peers", coord, body)
        assert answer.status_code == status, (body, answer.content)
        assert word in json.dumps(answer.json()["detail"])
    answer = client.post(
        "/api/v1/peers", data="{not json", content_type="application/json", **coord
    )
    assert 400 <= answer.status_code < 500
    assert not Peer.objects.exists()

    call(client, "post", "/peers", coord, PEER)
    assert call(client, "post", "/peers", coord, PEER).status_code == 422  # same name
    for marking in ("amber+strict", "red"):
        answer = call(
            client,
            "put",
            "/peers/peer-land/agreements/outbound",
            coord,
            {"highest_marking": marking},
        )
        assert answer.status_code == 422 and "never cross" in answer.json()["detail"]
    answer = call(
        client, "put", "/peers/peer-land/agreements/outbound", coord, {"kinds": ["rumour"]}
    )
    assert answer.status_code == 422
    answer = call(
        client,
        "put",
        "/peers/peer-land/agreements/outbound",
        coord,
        {"working_groups": ["no-such-group"]},
    )
    assert answer.status_code == 422 and "no-such-group" in answer.json()["detail"]
    assert call(client, "put", "/peers/peer-land/agreements/sideways", coord, {}).status_code == 422
    assert call(client, "patch", "/peers/peer-land", coord, {"name": None}).status_code == 422
    assert call(client, "get", "/peers/nobody", coord).status_code == 404
    assert not Agreement.objects.exists()
