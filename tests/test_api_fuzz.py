"""The API under generated input: no request, valid or not, may make the server fail.

Schemathesis reads the OpenAPI document the running application serves and
generates requests for every operation in it (valid ones and deliberately
broken ones), so operations added later are covered without changing this file.
Requests go through the whole WSGI stack — middleware, authentication,
policy — on the test database with read-write tokens: the trusted-sharing
operations as an analyst who has filed a report (with observables, an attachment,
a comment, a sighting) and follows a subscription, everything else as a coordinator.
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
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from accord import policy
from accord.accounts.models import ApiToken
from accord.accounts.services import create_token
from accord.api import api
from accord.audit.models import AuditEntry
from accord.membership.models import Invitation, Membership, Organisation
from accord.rules.models import RuleAcceptance, RuleVersion
from accord.sharing import notifications
from accord.sharing.models import (
    Attachment,
    Comment,
    CommonValue,
    Notification,
    Report,
    Sighting,
    Subscription,
)
from accord.sharing.services import attachments, network_settings, participation, reports
from accord.sharing.services.drafts import ObservableInput, ReportDraft
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


# Operations under these prefixes run as the analyst, the others as the coordinator:
# a coordinator who is no member of an organisation cannot share or see the reports.
ANALYST_PREFIXES = (
    "/api/v1/reports",
    "/api/v1/observables",
    "/api/v1/subscriptions",
    "/api/v1/notifications",
)

# The indicators the fixture report mentions; the sighting is of the first one.
IP, DOMAIN = "198.51.100.23", "update-check.example"


@dataclass
class Network:
    coordinator: Any
    analyst: Any
    # Real values for path parameters, so that generated bodies reach the handlers.
    keys: dict[str, str]
    # Real values for a few body fields that refer to existing rows.
    fields: dict[str, Any] = field(default_factory=dict)
    tokens: dict[int, tuple[int, str]] = field(default_factory=dict)
    calls: Iterator[int] = field(default_factory=itertools.count)

    def caller(self, path: str) -> Any:
        return self.analyst if path.startswith(ANALYST_PREFIXES) else self.coordinator

    def bearer(self, path: str = "") -> str:
        """A usable read-write token of the caller; a generated request may have
        revoked the last one."""
        user = self.caller(path)
        known = self.tokens.get(user.pk)
        if known and ApiToken.objects.usable().filter(pk=known[0]).exists():
            return known[1]
        token, raw = create_token(user, name="fuzz", can_write=True, expires_in_days=1)
        self.tokens[user.pk] = (token.pk, raw)
        return raw


def _share(analyst: Any, representative: Any, coordinator: Any) -> dict[str, Any]:
    """Trusted-sharing rows through the services: the analyst's report with two
    observables, an attachment, a comment and a sighting; a common value; the
    analyst's subscription and a notification of a colleague's report."""
    report = reports.create_report(
        analyst,
        ReportDraft(
            kind="incident",
            title="Beaconing from substation gateways",
            summary="Gateways call out to **one** address every ten minutes.",
            sectors=["energy"],
            marking="amber",
            observables=[ObservableInput(IP), ObservableInput(DOMAIN, note="C2")],
        ),
    )
    upload = SimpleUploadedFile("gateway-log.txt", b"10:00 beacon\n10:10 beacon\n", "text/plain")
    attachment = attachments.add_attachment(analyst, report, upload)
    seen = policy.get_report(analyst, report.pk)
    comment = participation.add_comment(analyst, seen, body="Blocked at the edge since 10:20.")
    participation.record_sighting(analyst, seen, observable=IP, count=3)
    common = network_settings.add_common_value(
        coordinator, kind="domain", value="*.cdn-fuzz.example", note="a CDN"
    )
    subscription = notifications.create_subscription(
        analyst, name="Energy incidents", kinds=["incident"], sectors=["energy"]
    )
    # Filing does not notify inside the test transaction (it waits for a commit).
    other = reports.create_report(
        representative,
        ReportDraft(kind="incident", title="Phishing wave", sectors=["energy"], marking="green"),
    )
    notifications.notify_for_report(other.pk)
    notice = Notification.objects.get(user=analyst, report=other)
    return {
        "keys": {
            "report_id": str(report.pk),
            "attachment_id": str(attachment.pk),
            "entry_id": str(common.pk),
            "subscription_id": str(subscription.pk),
        },
        "fields": {"parent": str(comment.pk), "observable": IP, "ids": [str(notice.pk)]},
    }


@pytest.fixture
def network(
    db: Any, coordinator: Any, member_org: Any, representative: Any, analyst: Any
) -> Iterator[Network]:
    """A small network: a coordinator, a member in good standing with people, the
    rules, a pending applicant, a working group and shared reports."""
    files_before = set(attachments.storage_dir().iterdir())
    f.make_organisation("Applicant Ltd", status="pending")
    group = create_group(
        name="Energy sector", description="Grid operators", visibility="open", by=representative
    )
    shared = _share(analyst, representative, coordinator)
    keys = {
        "slug": member_org.slug,
        "group": group.slug,
        "username": analyst.username,
        "kind": "charter",
        "number": "1",
        **shared["keys"],
    }
    yield Network(coordinator, analyst, keys, shared["fields"])
    # The rows go with the test transaction, the files stay: uploads, and removals
    # whose unlink waits for a commit that never comes.
    for path in set(attachments.storage_dir().iterdir()) - files_before:
        path.unlink(missing_ok=True)


def _real_keys(path: str, keys: dict[str, str]) -> dict[str, str]:
    """Values of existing objects for the path parameters we know."""
    if path.startswith("/api/v1/groups/"):
        keys = {**keys, "slug": keys["group"]}
    return {name: keys[name] for name in re.findall(r"\{(\w+)\}", path) if name in keys}


def _aim_body(body: Any, fields: dict[str, Any]) -> Any:
    """The generated body with the fields that name existing rows pointed at them."""
    if not isinstance(body, dict):
        return body
    return {**body, **{name: value for name, value in fields.items() if name in body}}


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
    if next(network.calls) % 2 == 0:
        if case.path_parameters:
            case.path_parameters = {
                **case.path_parameters,
                **_real_keys(case.operation.path, network.keys),
            }
        case.body = _aim_body(case.body, network.fields)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {network.bearer(case.operation.path)}"},
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
        Report,
        Comment,
        Sighting,
        Attachment,
        CommonValue,
        Subscription,
        Notification,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_malformed_json_is_refused_and_changes_nothing(network: Network) -> None:
    operations = _writes_with_a_body()
    assert len(operations) >= 5, operations
    client = Client()
    tokens = {path: network.bearer(path) for _method, path in operations}
    before = _state()
    for method, path in operations:
        url = _fill(path, network.keys)
        auth = f"Bearer {tokens[path]}"
        for body in MALFORMED:
            response = getattr(client, method)(
                url, body, content_type="application/json", HTTP_AUTHORIZATION=auth
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
    for path in paths:
        url = _fill(path, network.keys)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {network.bearer(path)}"}
        for name in ("limit", "offset"):
            for value in EXTREMES:
                response = client.get(url, {name: value}, **auth)
                assert response.status_code < 500, (url, name, value)
                assert response.status_code in {200, 422}, (url, name, value, response.content)
