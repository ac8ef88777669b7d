"""The points-of-contact API: the same rules as the pages, JSON errors, nothing half-stored."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from accord.accounts import services as accounts
from accord.contacts import checks, services, stix
from accord.contacts.models import CheckRecipient, Contact, ContactCheck
from accord.exchange.models import Peer
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"
JSON = "application/json"
TOKEN = re.compile(r"/contacts/ack/([A-Za-z0-9_-]+)/")


def bearer(user: Any, *, write: bool = True) -> dict[str, str]:
    _, raw = accounts.create_token(user, name="test", can_write=write, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def contact_json(**fields: Any) -> dict[str, Any]:
    return {
        "role": "technical",
        "name": "Katarina Ek",
        "function": "Team lead",
        "organisation_name": "CERT-AV",
        "email": "katarina@cert-av.example",
        "phone": "+31 70 555 0199",
        "languages": ["en", "sv"],
        "channels": [{"kind": "secure-messaging", "value": "@ek:matrix.cert-av.example"}],
        "hours": "Mon–Fri 08:00–18:00 CET",
        "country": "NL",
        **fields,
    }


def in_future(hours: float = 2) -> str:
    return (timezone.now() + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


@pytest.fixture
def coord_auth(coordinator: Any) -> dict[str, str]:
    return bearer(coordinator)


@pytest.fixture
def outsider(db: Any) -> Any:
    return f.make_user("otto")


def test_unauthenticated_is_401(client: Any) -> None:
    assert client.get(f"{API}/contacts").status_code == 401
    assert client.post(f"{API}/contacts", contact_json(), content_type=JSON).status_code == 401
    assert client.get(f"{API}/contact-checks").status_code == 401
    response = client.get(f"{API}/contact-checks/stats")
    assert response.status_code == 401 and "detail" in response.json()


def test_create_read_update_delete(
    client: Any, coordinator: Any, coord_auth: dict, member_org: Any, analyst: Any
) -> None:
    response = client.post(
        f"{API}/contacts",
        contact_json(organisation=member_org.slug, organisation_name="", user=analyst.username),
        content_type=JSON,
        **coord_auth,
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["organisation"] == member_org.name
    assert body["member_organisation"] == member_org.slug
    assert body["source"] == "local" and body["stix_id"] == f"identity--{body['id']}"
    assert body["user"] == analyst.username  # coordinators see the linked account
    contact_id = body["id"]

    # A member in good standing reads it, without the linked account.
    member = bearer(analyst)
    listed = client.get(f"{API}/contacts", **member).json()
    assert listed["count"] == 1 and listed["items"][0]["email"] == "katarina@cert-av.example"
    one = client.get(f"{API}/contacts/{contact_id}", **member).json()
    assert one["user"] is None and one["languages"] == ["en", "sv"]

    response = client.patch(
        f"{API}/contacts/{contact_id}",
        {"always_available": True, "languages": ["EN", "de"], "organisation": ""},
        content_type=JSON,
        **coord_auth,
    )
    assert response.status_code == 422  # unlinked without a name of its own
    assert "organisation" in response.json()["detail"]
    response = client.patch(
        f"{API}/contacts/{contact_id}",
        {"always_available": True, "languages": ["EN", "de"], "user": ""},
        content_type=JSON,
        **coord_auth,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["languages"] == ["en", "de"] and response.json()["user"] is None
    assert Contact.objects.get().always_available

    assert client.delete(f"{API}/contacts/{contact_id}", **coord_auth).status_code == 204
    assert Contact.objects.count() == 0
    assert client.get(f"{API}/contacts/{contact_id}", **coord_auth).status_code == 404


def test_filters(client: Any, coordinator: Any, coord_auth: dict) -> None:
    for name, role, langs, country in [
        ("Ann", "policy", ["fr"], "FR"),
        ("Ben", "technical", ["en", "fr"], "NL"),
        ("Cas", "technical", ["en"], "NL"),
    ]:
        services.create_contact(
            by=coordinator,
            **{
                **contact_json(),
                "name": name,
                "role": role,
                "languages": langs,
                "country": country,
                "email": f"{name}@x.example",
            },
        )

    def names(query: str) -> list[str]:
        response = client.get(f"{API}/contacts?{query}", **coord_auth)
        assert response.status_code == 200
        return [c["name"] for c in response.json()["items"]]

    assert names("language=fr") == ["Ann", "Ben"]
    assert names("role=technical&language=EN") == ["Ben", "Cas"]
    assert names("country=nl") == ["Ben", "Cas"]
    assert names("q=cas") == ["Cas"]
    assert names("source=local&limit=1&offset=1") == ["Ben"]
    assert client.get(f"{API}/contacts?role=boss", **coord_auth).status_code == 422
    assert client.get(f"{API}/contacts?limit=100000", **coord_auth).status_code == 422


def test_permissions(
    client: Any, coordinator: Any, coord_auth: dict, analyst: Any, outsider: Any
) -> None:
    contact = services.create_contact(by=coordinator, **contact_json())
    member, other = bearer(analyst), bearer(outsider)
    # Not in good standing: nothing to read.
    response = client.get(f"{API}/contacts", **other)
    assert response.status_code == 403 and "organisation" in response.json()["detail"]
    assert client.get(f"{API}/contacts/{contact.pk}", **other).status_code == 403
    # A member reads but does not manage or run checks.
    for method, url, data in [
        (client.post, f"{API}/contacts", contact_json(email="new@x.example")),
        (client.patch, f"{API}/contacts/{contact.pk}", {"hours": "never"}),
        (client.delete, f"{API}/contacts/{contact.pk}", None),
        (client.post, f"{API}/contact-checks", {"all_contacts": True, "deadline": in_future()}),
        (client.get, f"{API}/contact-checks", None),
        (client.get, f"{API}/contact-checks/stats", None),
    ]:
        kwargs = {"content_type": JSON} if data is not None else {}
        response = method(url, data, **kwargs, **member) if data else method(url, **member)
        assert response.status_code == 403, url
        assert "coordinators" in response.json()["detail"]
    assert list(Contact.objects.values_list("hours", flat=True)) == [contact.hours]
    assert ContactCheck.objects.count() == 0 and mail.outbox == []
    # A read-only token cannot write, even for a coordinator.
    response = client.post(
        f"{API}/contacts", contact_json(), content_type=JSON, **bearer(coordinator, write=False)
    )
    assert response.status_code == 403 and Contact.objects.count() == 1


def test_bad_contact_input_is_4xx_and_stores_nothing(client: Any, coord_auth: dict) -> None:
    cases = [
        (contact_json(role="boss"), 422),
        (contact_json(email="nope"), 422),
        (contact_json(languages=["en", "qq"]), 422),
        (contact_json(channels=[{"kind": "pigeon", "value": "x"}]), 422),
        (contact_json(channels=[{"kind": "phone", "value": ""}]), 422),
        (contact_json(country="XX"), 422),
        (contact_json(organisation_name=""), 422),
        (contact_json(organisation="no-such-org", organisation_name=""), 422),
        (contact_json(user="nobody"), 422),
        (contact_json(name="x" * 201), 422),
        (contact_json(name="bad \ud800 text"), 400),  # refused by the middleware
        (contact_json(phone="ring ring"), 422),
        ({"role": "technical"}, 422),
    ]
    for payload, status in cases:
        response = client.post(f"{API}/contacts", payload, content_type=JSON, **coord_auth)
        assert response.status_code == status, payload
        assert isinstance(response.json()["detail"], str | list)
    response = client.post(f"{API}/contacts", "{not json", content_type=JSON, **coord_auth)
    assert 400 <= response.status_code < 500
    assert client.get(f"{API}/contacts/not-a-uuid", **coord_auth).status_code == 422
    response = client.patch(
        f"{API}/contacts/{uuid.uuid4()}", {"hours": "x"}, content_type=JSON, **coord_auth
    )
    assert response.status_code == 404
    assert Contact.objects.count() == 0


def test_a_peers_contact_is_read_only_here(client: Any, coord_auth: dict, coordinator: Any) -> None:
    peer = Peer.objects.create(
        name="Estmark", slug="estmark", country="EE", api_root_url="https://e.example/"
    )
    local = services.create_contact(by=coordinator, **contact_json())
    foreign = stix.upsert_from_stix(stix.contact_to_stix(local), peer)
    body = client.get(f"{API}/contacts/{foreign.pk}", **coord_auth).json()
    assert body["source"] == "estmark" and body["external_id"] == local.stix_id
    response = client.patch(
        f"{API}/contacts/{foreign.pk}", {"hours": "x"}, content_type=JSON, **coord_auth
    )
    assert response.status_code == 409
    assert client.delete(f"{API}/contacts/{foreign.pk}", **coord_auth).status_code == 409
    assert Contact.objects.count() == 2


def test_checks_and_acknowledgement_by_token(
    client: Any, coordinator: Any, coord_auth: dict
) -> None:
    ids = [
        str(services.create_contact(by=coordinator, **contact_json(email=f"{n}@x.example")).pk)
        for n in ("a", "b", "c")
    ]
    response = client.post(
        f"{API}/contact-checks",
        {"contacts": ids[:2], "deadline": in_future(), "message": "Routine check."},
        content_type=JSON,
        **coord_auth,
    )
    assert response.status_code == 201, response.json()
    check = response.json()
    assert check["sent"] == 2 and check["acknowledged"] == 0 and check["rate"] == 0
    assert {r["email"] for r in check["recipients"]} == {"a@x.example", "b@x.example"}
    assert len(mail.outbox) == 2
    token = TOKEN.search(next(m for m in mail.outbox if m.to == ["a@x.example"]).body)[1]

    # The token endpoint needs no account; GET only looks.
    client.logout()
    looked = client.get(f"{API}/contact-acknowledgements/{token}")
    assert looked.status_code == 200 and looked.json()["state"] == "open"
    assert looked.json()["message"] == "Routine check."
    done = client.post(f"{API}/contact-acknowledgements/{token}")
    assert done.status_code == 200 and done.json()["state"] == "acknowledged"
    assert done.json()["response_seconds"] >= 0
    again = client.post(f"{API}/contact-acknowledgements/{token}")
    assert again.status_code == 409 and again.json()["detail"] == "This link was already used."
    assert client.post(f"{API}/contact-acknowledgements/{'Z' * 43}").status_code == 404
    assert client.get(f"{API}/contact-acknowledgements/short").status_code == 404
    assert CheckRecipient.objects.get(email="a@x.example").acknowledged_via == "api"

    detail = client.get(f"{API}/contact-checks/{check['id']}", **coord_auth).json()
    assert detail["acknowledged"] == 1 and detail["rate"] == 0.5
    [answered] = [r for r in detail["recipients"] if r["acknowledged_at"]]
    assert answered["email"] == "a@x.example" and answered["acknowledged_via"] == "api"
    assert detail["median_seconds"] == answered["response_seconds"]
    listed = client.get(f"{API}/contact-checks", **coord_auth).json()
    assert listed["count"] == 1 and listed["items"][0]["silent"] == 1
    figures = client.get(f"{API}/contact-checks/stats", **coord_auth).json()
    assert figures["overall"]["sent"] == 2 and figures["overall"]["acknowledged"] == 1
    assert figures["checks"][0]["id"] == check["id"]

    # Escalation by hand is refused before the deadline.
    response = client.post(f"{API}/contact-checks/{check['id']}/escalate", **coord_auth)
    assert response.status_code == 409
    assert ContactCheck.objects.get().escalated_at is None


def test_expired_token_is_410(
    client: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    contact = services.create_contact(by=coordinator, **contact_json())
    sent = timezone.now() - dt.timedelta(days=20)  # its link expired a week after the deadline
    with django_capture_on_commit_callbacks(execute=True):
        checks.send_check(
            by=coordinator, contacts=[contact], deadline=sent + dt.timedelta(hours=1), now=sent
        )
    token = TOKEN.search(mail.outbox[0].body)[1]
    for method in (client.get, client.post):
        response = method(f"{API}/contact-acknowledgements/{token}")
        assert response.status_code == 410
        assert response.json()["detail"] == "This link has expired."
    assert CheckRecipient.objects.get().acknowledged_at is None


def test_bad_check_input_is_422_and_stores_nothing(
    client: Any, coordinator: Any, coord_auth: dict
) -> None:
    contact = services.create_contact(by=coordinator, **contact_json())
    naive = (timezone.now() + dt.timedelta(hours=2)).replace(tzinfo=None).isoformat()
    past = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    cases = [
        {"deadline": in_future()},  # neither all nor a list
        {"all_contacts": True, "contacts": [str(contact.pk)], "deadline": in_future()},
        {"contacts": [str(uuid.uuid4())], "deadline": in_future()},
        {"contacts": ["not-a-uuid"], "deadline": in_future()},
        {"all_contacts": True, "deadline": naive},
        {"all_contacts": True, "deadline": past},
        {"all_contacts": True, "deadline": in_future(24 * 90)},
        {"all_contacts": True, "deadline": "soon"},
        {"all_contacts": True, "deadline": in_future(), "message": "x" * 2001},
    ]
    for payload in cases:
        response = client.post(f"{API}/contact-checks", payload, content_type=JSON, **coord_auth)
        assert response.status_code == 422, (payload, response.json())
        assert response.json()["detail"]
    assert ContactCheck.objects.count() == 0 and CheckRecipient.objects.count() == 0
    assert mail.outbox == []
    assert client.get(f"{API}/contact-checks/{uuid.uuid4()}", **coord_auth).status_code == 404
    assert client.get(f"{API}/contact-checks?limit=0", **coord_auth).status_code == 422
