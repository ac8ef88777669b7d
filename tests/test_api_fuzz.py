"""The API under generated input: no request, valid or not, may make the server fail.

Schemathesis reads the OpenAPI document the running application serves and
generates requests for every operation in it (valid ones and deliberately
broken ones), so operations added later are covered without changing this file.
Requests go through the whole WSGI stack — middleware, authentication,
policy — on the test database, as a coordinator with a read-write token.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from accord.accounts.models import ApiToken
from accord.accounts.services import create_token
from accord.api import api
from accord.audit.models import AuditEntry
from accord.membership.models import Invitation, Membership, Organisation
from accord.rules.models import RuleAcceptance, RuleVersion
from accord.workgroups.models import GroupMembership, WorkingGroup
from accord.workgroups.services import create_group
from accord.wsgi import application
from tests import factories as f


@pytest.fixture
def wsgi_requests_share_the_test_transaction() -> Iterator[None]:
    """What Django's test client does: a request's end must not close the database
    connection, or everything after it would leave the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@dataclass
class Network:
    coordinator: Any
    # Real values for path parameters, so that generated bodies reach the handlers.
    keys: dict[str, str]
    token: tuple[int, str] | None = None
    calls: Iterator[int] = field(default_factory=itertools.count)

    def bearer(self) -> str:
        """A usable read-write token; a generated request may have revoked the last one."""
        if self.token and ApiToken.objects.usable().filter(pk=self.token[0]).exists():
            return self.token[1]
        token, raw = create_token(self.coordinator, name="fuzz", can_write=True, expires_in_days=1)
        self.token = (token.pk, raw)
        return raw


@pytest.fixture
def network(
    db: Any, coordinator: Any, member_org: Any, representative: Any, analyst: Any
) -> Network:
    """A small network: a coordinator, a member in good standing with people, the
    rules, a pending applicant and a working group."""
    f.make_organisation("Applicant Ltd", status="pending")
    group = create_group(
        name="Energy sector", description="Grid operators", visibility="open", by=representative
    )
    keys = {
        "slug": member_org.slug,
        "group": group.slug,
        "username": analyst.username,
        "kind": "charter",
        "number": "1",
    }
    return Network(coordinator, keys)


def _real_keys(path: str, keys: dict[str, str]) -> dict[str, str]:
    """Values of existing objects for the path parameters we know."""
    if path.startswith("/api/v1/groups/"):
        keys = {**keys, "slug": keys["group"]}
    return {name: keys[name] for name in re.findall(r"\{(\w+)\}", path) if name in keys}


def _fill(path: str, keys: dict[str, str]) -> str:
    known = _real_keys(path, keys)
    return re.sub(r"\{(\w+)\}", lambda m: known.get(m.group(1), "1"), path)


# Loaded from the application object, so it needs no database; the requests
# themselves go through the WSGI application.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1"))
schema.app = application


def errors_are_json_with_detail(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx answer is ``{"detail": ...}``, as the API promises."""
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert isinstance(body, dict) and "detail" in body, response.content[:200]
    return None


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_a_server_error(
    case: Any, network: Network, wsgi_requests_share_the_test_transaction: None
) -> None:
    # Every other example addresses existing objects instead of random keys.
    if case.path_parameters and next(network.calls) % 2 == 0:
        case.path_parameters = {
            **case.path_parameters,
            **_real_keys(case.operation.path, network.keys),
        }
    case.call_and_validate(
        headers={"Authorization": f"Bearer {network.bearer()}"},
        checks=[not_a_server_error, errors_are_json_with_detail],
    )


# --- Malformed bodies -------------------------------------------------------------

MALFORMED = [b'{"name": ', b"[1, 2", b"not json at all", b"\xff\xfe\x00"]


def _writes_with_a_body() -> list[tuple[str, str]]:
    """Every POST/PUT/PATCH operation that takes a JSON body."""
    document = api.get_openapi_schema(path_prefix="/api/v1")
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch"} and "requestBody" in operation:
                found.append((method, path))
    return found


def _state() -> dict[str, int]:
    models = [
        AuditEntry,
        Organisation,
        Membership,
        Invitation,
        RuleVersion,
        RuleAcceptance,
        WorkingGroup,
        GroupMembership,
        ApiToken,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_malformed_json_is_refused_and_changes_nothing(network: Network) -> None:
    operations = _writes_with_a_body()
    assert len(operations) >= 5, operations
    client = Client()
    token = network.bearer()
    before = _state()
    for method, path in operations:
        url = _fill(path, network.keys)
        for body in MALFORMED:
            response = getattr(client, method)(
                url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            assert 400 <= response.status_code < 500, (method, url, body, response.status_code)
            assert response["Content-Type"].startswith("application/json"), (method, url)
            assert "detail" in response.json(), (method, url, response.content)
    assert _state() == before


# --- Paging at the extremes ---------------------------------------------------------

EXTREMES = ["-1", "0", "1", str(2**63), "9" * 30, "1.5", "ten"]


def _paged_lists() -> list[str]:
    """Every GET operation that takes limit/offset."""
    document = api.get_openapi_schema(path_prefix="/api/v1")
    return [
        path
        for path, operations in document["paths"].items()
        if {"limit", "offset"}
        <= {p["name"] for p in operations.get("get", {}).get("parameters", [])}
    ]


def test_paging_values_out_of_range_are_refused_not_crashed(network: Network) -> None:
    paths = _paged_lists()
    assert len(paths) >= 5, paths
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {network.bearer()}"}
    for path in paths:
        url = _fill(path, network.keys)
        for name in ("limit", "offset"):
            for value in EXTREMES:
                response = client.get(url, {name: value}, **auth)
                assert response.status_code < 500, (url, name, value)
                assert response.status_code in {200, 422}, (url, name, value, response.content)
