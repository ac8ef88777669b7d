"""The membership JSON API: /api/v1/organisations, /applications and reference lists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail

from accord.accounts.services import create_token
from accord.audit.models import AuditEntry
from accord.membership.models import Invitation, Membership, Organisation
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"


class Api:
    """Calls the API with a personal bearer token, as a script would."""

    def __init__(self, client: Any, user: Any = None, *, write: bool = True) -> None:
        self.client = client
        self.headers: dict[str, str] = {}
        if user is not None:
            _token, raw = create_token(user, name="test", can_write=write)
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"

    def get(self, path: str, params: dict | None = None) -> Any:
        return self.client.get(API + path, params or {}, **self.headers)

    def send(self, method: str, path: str, body: Any = None) -> Any:
        call = getattr(self.client, method)
        data = json.dumps(body) if body is not None else ""
        return call(API + path, data, content_type="application/json", **self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.send("post", path, body)

    def patch(self, path: str, body: Any = None) -> Any:
        return self.send("patch", path, body)

    def delete(self, path: str) -> Any:
        return self.send("delete", path)


def application(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Grid Operator South",
        "country": "NL",
        "stakeholder_group": "private-sector",
        "sectors": ["energy"],
        "tasks": ["network-infrastructure"],
        "contact_name": "Greta Grid",
        "contact_email": "greta@grid.example",
    }
    body.update(overrides)
    return body


# --- Authentication and reading ----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/organisations", "/organisations/anything", "/sectors", "/tasks", "/stakeholder-groups"],
)
def test_reading_requires_authentication(client: Any, path: str) -> None:
    response = Api(client).get(path)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_reference_lists(client: Any, analyst: Any) -> None:
    api = Api(client, analyst, write=False)
    sectors = api.get("/sectors").json()
    assert {"code": "energy", "name": "Energy"}.items() <= sectors[0].items()
    tasks = api.get("/tasks").json()
    assert {t["code"] for t in tasks} >= {"incident-response", "encryption-standards"}
    assert (
        next(t for t in tasks if t["code"] == "incident-response")["primary_actor"]
        == "CERTs/CSIRTs"
    )
    groups = api.get("/stakeholder-groups").json()
    assert {"code": "csirt", "name": "CERT / CSIRT"} in groups


def test_list_and_filter_organisations(client: Any, analyst: Any) -> None:
    f.make_organisation("Big Bank", sectors=["banking"], description="Payments")
    f.make_organisation("National CERT", stakeholder_group="csirt", country="BE")
    f.make_organisation("Pending Org", status="pending")
    api = Api(client, analyst, write=False)

    body = api.get("/organisations").json()
    assert body["count"] == 3
    assert {o["name"] for o in body["items"]} == {"Big Bank", "Energy Company", "National CERT"}
    bank = next(o for o in body["items"] if o["name"] == "Big Bank")
    assert bank["sectors"] == ["banking"] and bank["country"] == "NL"
    assert "contact_email" not in bank

    def names(**params: str) -> set[str]:
        response = api.get("/organisations", params)
        assert response.status_code == 200, response.content
        return {o["name"] for o in response.json()["items"]}

    assert names(sector="banking") == {"Big Bank"}
    assert names(stakeholder_group="csirt") == {"National CERT"}
    assert names(q="payments") == {"Big Bank"}
    assert names(country="be") == {"National CERT"}
    assert names(task="incident-response") == {"Big Bank", "Energy Company", "National CERT"}
    page = api.get("/organisations", {"limit": 1, "offset": 1}).json()
    assert page["count"] == 3 and len(page["items"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sector": "nonsense"}, "sector"),
        ({"task": "nonsense"}, "task"),
        ({"stakeholder_group": "pirates"}, "stakeholder_group"),
        ({"country": "XX"}, "country"),
        ({"status": "undead"}, "status"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_bad_filter_is_422(client: Any, analyst: Any, params: dict, field: str) -> None:
    response = Api(client, analyst).get("/organisations", params)
    assert response.status_code == 422
    assert field in response.json()["detail"]


def test_huge_offset_is_refused_not_a_crash(client: Any, analyst: Any) -> None:
    response = Api(client, analyst).get("/organisations", {"offset": 10**20})
    assert response.status_code == 422


def test_coordinator_sees_applications_in_list(client: Any, coordinator: Any) -> None:
    f.make_organisation("Pending Org", status="pending")
    api = Api(client, coordinator)
    assert {
        o["name"] for o in api.get("/organisations", {"status": "pending"}).json()["items"]
    } == {"Pending Org"}


def test_organisation_detail_and_contact_details(client: Any, analyst: Any, rules: Any) -> None:
    other = f.make_organisation("Other Org", contact_email="other@example.test")
    f.accept_rules(other)
    body = Api(client, analyst).get(f"/organisations/{other.slug}").json()
    assert body["name"] == "Other Org"
    assert body["contact_email"] == "other@example.test"

    # A member whose organisation has not accepted the rules sees only their own.
    laggard = f.make_organisation("Laggard Org")
    person = f.make_user("lag")
    f.add_member(person, laggard)
    api = Api(client, person)
    assert api.get(f"/organisations/{other.slug}").status_code == 404
    own = api.get(f"/organisations/{laggard.slug}").json()
    assert own["contact_email"] == laggard.contact_email
    assert {o["name"] for o in api.get("/organisations").json()["items"]} == {"Laggard Org"}


def test_contact_details_null_when_not_allowed(client: Any, rules: Any) -> None:
    # Someone in a still-pending organisation sees its entry (it is their own) but is
    # not a member of a verified organisation yet, so the contact fields are null.
    pending = f.make_organisation("Pending Org", status="pending")
    person = f.make_user("applicant")
    f.add_member(person, pending)
    body = Api(client, person).get(f"/organisations/{pending.slug}").json()
    assert body["name"] == "Pending Org"
    assert body["contact_name"] is None
    assert body["contact_email"] is None
    assert body["contact_phone"] is None


def test_unknown_organisation_is_404(client: Any, analyst: Any) -> None:
    api = Api(client, analyst)
    assert api.get("/organisations/no-such-org").status_code == 404
    assert api.get("/organisations/no-such-org/members").status_code == 404
    assert api.post("/organisations/no-such-org/verify", {}).status_code == 404


# --- Applying ---------------------------------------------------------------------


def test_apply_without_an_account(client: Any, coordinator: Any) -> None:
    response = Api(client).post("/applications", application())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    org = Organisation.objects.get(slug=body["slug"])
    assert org.name == "Grid Operator South"
    assert list(org.sectors.values_list("code", flat=True)) == ["energy"]
    assert AuditEntry.objects.filter(action="organisation.applied", organisation=org).exists()
    assert {m.to[0] for m in mail.outbox} == {"greta@grid.example", coordinator.email}


def test_duplicate_application_is_409(client: Any) -> None:
    api = Api(client)
    assert api.post("/applications", application()).status_code == 201
    response = api.post("/applications", application(name="grid operator south"))
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    assert Organisation.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stakeholder_group": "pirates"}, "stakeholder_group"),
        ({"country": "XX"}, "country"),
        ({"sectors": ["moon-mining"]}, "sectors"),
        ({"tasks": ["nonsense"]}, "tasks"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"name": "  "}, "name"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_bad_application_is_422(client: Any, overrides: dict, field: str) -> None:
    response = Api(client).post("/applications", application(**overrides))
    assert response.status_code == 422
    assert field in json.dumps(response.json()["detail"])
    assert not Organisation.objects.exists()
    assert mail.outbox == []


def test_application_missing_fields_is_422(client: Any) -> None:
    response = Api(client).post("/applications", {"name": "Only a name"})
    assert response.status_code == 422
    assert not Organisation.objects.exists()


# --- Deciding ---------------------------------------------------------------------------


def test_coordinator_verifies_through_api(client: Any, coordinator: Any) -> None:
    org = f.make_organisation("Applicant", status="pending", contact_email="a@example.test")
    response = Api(client, coordinator).post(
        f"/organisations/{org.slug}/verify", {"note": "Met them"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    org.refresh_from_db()
    assert org.verification_note == "Met them"
    [message] = mail.outbox
    assert message.to == ["a@example.test"]
    assert "/invitations/" in message.body
    invitation = Invitation.objects.get(organisation=org)
    assert invitation.is_representative and invitation.is_org_admin

    again = Api(client, coordinator).post(f"/organisations/{org.slug}/verify", {})
    assert again.status_code == 409


def test_reject_requires_reason(client: Any, coordinator: Any) -> None:
    org = f.make_organisation("Applicant", status="pending", contact_email="a@example.test")
    api = Api(client, coordinator)
    assert api.post(f"/organisations/{org.slug}/reject", {}).status_code == 422
    assert api.post(f"/organisations/{org.slug}/reject", {"reason": "  "}).status_code == 422
    org.refresh_from_db()
    assert org.status == "pending"
    response = api.post(f"/organisations/{org.slug}/reject", {"reason": "Unknown to us"})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert "Unknown to us" in mail.outbox[0].body


def test_members_cannot_decide(client: Any, representative: Any, member_org: Any) -> None:
    pending = f.make_organisation("Pending Org", status="pending")
    api = Api(client, representative)
    # A pending applicant does not exist for them; a visible organisation is refused.
    assert api.post(f"/organisations/{pending.slug}/verify", {}).status_code == 404
    assert api.post(f"/organisations/{pending.slug}/reject", {"reason": "x"}).status_code == 404
    assert api.post(f"/organisations/{member_org.slug}/reject", {"reason": "x"}).status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_read_only_token_cannot_apply_changes(client: Any, coordinator: Any) -> None:
    org = f.make_organisation("Applicant", status="pending")
    response = Api(client, coordinator, write=False).post(f"/organisations/{org.slug}/verify", {})
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.status == "pending"


# --- People -------------------------------------------------------------------------------


def test_members_list_for_members_and_coordinators_only(
    client: Any, member_org: Any, analyst: Any, representative: Any, coordinator: Any
) -> None:
    body = Api(client, analyst).get(f"/organisations/{member_org.slug}/members").json()
    assert {m["username"] for m in body["items"]} == {"ana", "rep"}
    rep = next(m for m in body["items"] if m["username"] == "rep")
    assert rep["is_representative"] and rep["is_org_admin"] and not rep["is_analyst"]
    assert (
        Api(client, coordinator).get(f"/organisations/{member_org.slug}/members").status_code == 200
    )

    other = f.make_organisation("Other Org")
    f.accept_rules(other)
    outsider = f.make_user("out")
    f.add_member(outsider, other)
    # They may see the organisation, but not its people.
    api = Api(client, outsider)
    assert api.get(f"/organisations/{member_org.slug}").status_code == 200
    assert api.get(f"/organisations/{member_org.slug}/members").status_code == 404


def test_org_admin_invites_changes_roles_and_cannot_remove_last_admin(
    client: Any, member_org: Any, representative: Any, analyst: Any
) -> None:
    api = Api(client, representative)
    base = f"/organisations/{member_org.slug}"

    response = api.post(f"{base}/invitations", {"email": "New@Example.test", "full_name": "New"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["email"] == "new@example.test"
    assert created["is_analyst"] and not created["is_org_admin"]
    assert created["state"] == "open"
    assert "secret" not in json.dumps(created)
    assert mail.outbox[-1].to == ["new@example.test"]
    assert api.post(f"{base}/invitations", {"email": "new@example.test"}).status_code == 409
    assert api.post(f"{base}/invitations", {"email": "nope"}).status_code == 422
    assert (
        api.post(
            f"{base}/invitations", {"email": "x@example.test", "is_analyst": False}
        ).status_code
        == 422
    )
    listed = api.get(f"{base}/invitations").json()
    assert [i["email"] for i in listed["items"]] == ["new@example.test"]

    # Change roles: make the analyst a representative too.
    response = api.patch(f"{base}/members/ana", {"is_representative": True})
    assert response.status_code == 200, response.content
    assert response.json()["is_representative"] and response.json()["is_analyst"]
    assert Membership.objects.get(user=analyst).is_representative

    # The last admin may not drop the role or be removed.
    response = api.patch(f"{base}/members/rep", {"is_org_admin": False})
    assert response.status_code == 409
    assert "at least one organisation admin" in response.json()["detail"]
    assert api.delete(f"{base}/members/rep").status_code == 409
    assert Membership.objects.get(user=representative).is_org_admin
    assert (
        api.patch(
            f"{base}/members/ana", {"is_representative": False, "is_analyst": False}
        ).status_code
        == 422
    )
    assert api.patch(f"{base}/members/nobody", {"is_analyst": True}).status_code == 404

    # Revoke the invitation, then a second revoke conflicts.
    invitation_id = created["id"]
    assert api.delete(f"{base}/invitations/{invitation_id}").status_code == 204
    assert Invitation.objects.get(pk=invitation_id).revoked_at is not None
    assert api.delete(f"{base}/invitations/{invitation_id}").status_code == 409
    assert api.delete(f"{base}/invitations/999999").status_code == 404
    assert api.delete(f"{base}/invitations/{2**70}").status_code == 404

    # Removing a member who is not the last admin works.
    assert api.delete(f"{base}/members/ana").status_code == 204
    assert not Membership.objects.filter(user=analyst).exists()


def test_analyst_cannot_manage(
    client: Any, member_org: Any, analyst: Any, representative: Any
) -> None:
    api = Api(client, analyst)
    base = f"/organisations/{member_org.slug}"
    assert api.get(f"{base}/invitations").status_code == 404
    assert api.post(f"{base}/invitations", {"email": "x@example.test"}).status_code == 404
    assert api.patch(f"{base}/members/rep", {"is_org_admin": False}).status_code == 404
    assert api.delete(f"{base}/members/rep").status_code == 404
    assert Membership.objects.get(user=representative).is_org_admin
    assert not Invitation.objects.exists()


def test_member_of_org_a_cannot_manage_org_b(
    client: Any, member_org: Any, representative: Any
) -> None:
    other = f.make_organisation("Org B")
    f.accept_rules(other)
    boss = f.make_user("boss")
    f.add_member(boss, other, admin=True)
    api = Api(client, representative)
    base = f"/organisations/{other.slug}"
    assert api.get(f"{base}/members").status_code == 404
    assert api.get(f"{base}/invitations").status_code == 404
    assert api.post(f"{base}/invitations", {"email": "x@example.test"}).status_code == 404
    assert api.patch(f"{base}/members/boss", {"is_analyst": False}).status_code == 404
    assert api.delete(f"{base}/members/boss").status_code == 404
    assert Membership.objects.filter(user=boss, organisation=other).exists()
