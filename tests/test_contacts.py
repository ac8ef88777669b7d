"""Points of contact: the directory's rules, its pages, the STIX form peers exchange,
and the demo."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import stix2
from django.urls import reverse
from stix2validator import ValidationOptions, validate_instance

from accord.audit.models import AuditEntry
from accord.contacts import services, stix
from accord.contacts.demo import load_demo
from accord.contacts.models import CheckRecipient, Contact, ContactCheck
from accord.exchange.models import Peer, Scope, StixObject
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def peer(db: Any) -> Peer:
    return Peer.objects.create(
        name="Norvania", slug="norvania", country="NO", api_root_url="https://n.example/taxii2/"
    )


@pytest.fixture
def outsider(db: Any) -> Any:
    """Signed in, but in no member organisation: not in good standing."""
    return f.make_user("otto", full_name="Otto Outsider")


def make_contact(by: Any, **fields: Any) -> Contact:
    values = {
        "role": "technical",
        "name": "Jonas Weller",
        "function": "Head of the incident desk",
        "organisation_name": "CERT-AV",
        "email": "jonas@cert-av.example",
        "languages": ["en", "nl"],
        "country": "NL",
        **fields,
    }
    return services.create_contact(by=by, **values)


def form_data(**fields: Any) -> dict[str, Any]:
    return {
        "role": "policy",
        "name": "Laurent Dubois",
        "function": "Ambassador for cyber affairs",
        "organisation_name": "Ministry of Foreign Affairs",
        "country": "NL",
        "email": "laurent@mfa.example",
        "phone": "+31 70 555 0140",
        "languages": "en, fr",
        "channels": "secure-messaging: @laurent:matrix.mfa.example\nfax: +31 70 555 0141",
        "hours": "Mon–Fri 09:00–17:00 CET",
        **fields,
    }


# --- Services -----------------------------------------------------------------------------


def test_create_contact_normalises_and_audits(coordinator: Any, member_org: Any) -> None:
    contact = make_contact(
        coordinator,
        organisation=member_org,
        organisation_name="",
        country="",
        languages="EN, fr;de",
        channels=[{"kind": "Secure-Messaging", "value": "  @jw:matrix.example "}],
        always_available=True,
    )
    contact.refresh_from_db()
    assert contact.organisation_name == member_org.name  # copied from the member
    assert contact.country.code == member_org.country.code  # taken from the member
    assert contact.language_list == ["en", "fr", "de"]
    assert contact.channels == [{"kind": "secure-messaging", "value": "@jw:matrix.example"}]
    assert contact.is_local and contact.stix_id == f"identity--{contact.pk}"
    entry = AuditEntry.objects.get(action="contact.created")
    assert entry.target_id == str(contact.pk) and entry.organisation_id == member_org.pk
    assert entry.actor_id == coordinator.pk


def test_every_wrong_field_is_reported_and_nothing_is_stored(coordinator: Any) -> None:
    with pytest.raises(services.ContactError) as caught:
        make_contact(
            coordinator,
            role="diplomat",
            email="not an address",
            organisation_name="",
            country="XX",
            languages=["en", "xx", "klingon"],
            channels=[{"kind": "pigeon", "value": "loft 3"}],
            phone="call me",
        )
    assert set(caught.value.errors) == {
        "role",
        "email",
        "organisation",
        "country",
        "languages",
        "channels",
        "phone",
    }
    assert "xx" in caught.value.errors["languages"]
    assert Contact.objects.count() == 0
    assert not AuditEntry.objects.filter(action="contact.created").exists()


def test_update_records_the_changed_fields(coordinator: Any) -> None:
    contact = make_contact(coordinator)
    services.update_contact(contact, by=coordinator, hours="24/7 desk", languages=["en"])
    contact.refresh_from_db()
    assert contact.hours == "24/7 desk" and contact.language_list == ["en"]
    entry = AuditEntry.objects.get(action="contact.updated")
    assert sorted(entry.data["changed"]) == ["hours", "languages"]
    # Saving the same values changes nothing and records nothing.
    services.update_contact(contact, by=coordinator, hours="24/7 desk")
    assert AuditEntry.objects.filter(action="contact.updated").count() == 1


def test_a_peers_contact_is_changed_only_by_the_peer(coordinator: Any, peer: Peer) -> None:
    contact = stix.upsert_from_stix(foreign_identity(), peer)
    assert contact is not None
    with pytest.raises(services.ContactError):
        services.update_contact(contact, by=coordinator, hours="changed here")
    with pytest.raises(services.ContactError):
        services.delete_contact(contact, by=coordinator)
    contact.refresh_from_db()
    assert contact.hours == "Mon–Fri 08:00–16:00 CET"


def test_only_coordinators_manage(analyst: Any, coordinator: Any) -> None:
    from accord.policy import PolicyDenied

    with pytest.raises(PolicyDenied):
        make_contact(analyst)
    contact = make_contact(coordinator)
    with pytest.raises(PolicyDenied):
        services.update_contact(contact, by=analyst, hours="x")
    with pytest.raises(PolicyDenied):
        services.delete_contact(contact, by=analyst)
    assert Contact.objects.count() == 1


# --- Pages ----------------------------------------------------------------------------------


def test_members_in_good_standing_read_the_directory(
    client: Any, analyst: Any, coordinator: Any, peer: Peer
) -> None:
    local = make_contact(coordinator)
    foreign = stix.upsert_from_stix(foreign_identity(), peer)
    f.login(client, analyst)
    page = client.get(reverse("contacts:list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Jonas Weller" in html and "Ingrid Solheim" in html
    assert "Add a point of contact" not in html  # not a coordinator
    detail = client.get(reverse("contacts:detail", args=[foreign.pk])).content.decode()
    assert "Received from Norvania" in detail and "ingrid@mfa.norvania.example" in detail
    detail = client.get(reverse("contacts:detail", args=[local.pk])).content.decode()
    assert "jonas@cert-av.example" in detail and "Edit" not in detail


def test_non_members_cannot_read(client: Any, outsider: Any, coordinator: Any) -> None:
    contact = make_contact(coordinator)
    f.login(client, outsider)
    for url in (reverse("contacts:list"), reverse("contacts:detail", args=[contact.pk])):
        response = client.get(url)
        assert response.status_code == 403
        assert "Jonas Weller" not in response.content.decode()
    client.logout()
    response = client.get(reverse("contacts:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_contact_is_404(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    assert client.get(reverse("contacts:detail", args=[uuid.uuid4()])).status_code == 404


def test_a_member_cannot_manage(client: Any, analyst: Any, coordinator: Any) -> None:
    contact = make_contact(coordinator)
    f.login(client, analyst)
    assert client.get(reverse("contacts:create")).status_code == 403
    assert client.post(reverse("contacts:create"), form_data()).status_code == 403
    assert client.get(reverse("contacts:edit", args=[contact.pk])).status_code == 403
    response = client.post(reverse("contacts:edit", args=[contact.pk]), form_data())
    assert response.status_code == 403
    assert client.post(reverse("contacts:delete", args=[contact.pk])).status_code == 403
    assert client.get(reverse("contacts:checks")).status_code == 403
    assert list(Contact.objects.values_list("name", flat=True)) == ["Jonas Weller"]


def test_coordinator_adds_edits_and_removes(client: Any, coordinator: Any) -> None:
    f.login(client, coordinator)
    response = client.post(reverse("contacts:create"), form_data())
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[contact.pk])
    assert contact.channels == [
        {"kind": "secure-messaging", "value": "@laurent:matrix.mfa.example"},
        {"kind": "fax", "value": "+31 70 555 0141"},
    ]
    assert contact.language_list == ["en", "fr"] and contact.role == "policy"
    edit = client.get(reverse("contacts:edit", args=[contact.pk])).content.decode()
    assert "secure-messaging: @laurent:matrix.mfa.example" in edit
    response = client.post(
        reverse("contacts:edit", args=[contact.pk]),
        form_data(always_available="on", languages="en, fr, nl"),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.always_available and contact.language_list == ["en", "fr", "nl"]
    assert client.get(reverse("contacts:delete", args=[contact.pk])).status_code == 200
    assert Contact.objects.count() == 1  # GET only asks
    response = client.post(reverse("contacts:delete", args=[contact.pk]))
    assert response.status_code == 302 and Contact.objects.count() == 0
    actions = list(
        AuditEntry.objects.filter(action__startswith="contact.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["contact.created", "contact.updated", "contact.deleted"]


def test_bad_form_input_is_refused_with_messages(client: Any, coordinator: Any) -> None:
    f.login(client, coordinator)
    response = client.post(
        reverse("contacts:create"),
        form_data(
            email="nope",
            languages="en, zz",
            channels="carrier-pigeon: loft",
            organisation_name="",
            user="nobody",
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "No active account has this user name." in html
    assert Contact.objects.count() == 0
    # The service's own checks come back on the form too.
    response = client.post(
        reverse("contacts:create"), form_data(languages="en, zz", channels="pigeon: loft")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Not ISO 639-1 language codes: zz." in html and "Unknown channel kind" in html
    assert Contact.objects.count() == 0


def test_directory_filters_and_search(
    client: Any, analyst: Any, coordinator: Any, peer: Peer
) -> None:
    make_contact(coordinator, name="Ada Nordic", languages=["nb", "en"], country="NO")
    make_contact(coordinator, name="Bo Policy", role="policy", languages=["no"], country="NL")
    stix.upsert_from_stix(foreign_identity(), peer)
    f.login(client, analyst)

    def names(**query: str) -> set[str]:
        response = client.get(reverse("contacts:list"), query)
        assert response.status_code == 200
        return {
            n
            for n in ("Ada Nordic", "Bo Policy", "Ingrid Solheim")
            if n in response.content.decode()
        }

    assert names() == {"Ada Nordic", "Bo Policy", "Ingrid Solheim"}
    assert names(language="no") == {"Bo Policy", "Ingrid Solheim"}  # "nb" is not "no"
    assert names(role="policy") == {"Bo Policy", "Ingrid Solheim"}
    assert names(country="NO") == {"Ada Nordic", "Ingrid Solheim"}
    assert names(source="local") == {"Ada Nordic", "Bo Policy"}
    assert names(source="norvania") == {"Ingrid Solheim"}
    assert names(q="solheim") == {"Ingrid Solheim"}
    assert names(q="cert-av", role="technical") == {"Ada Nordic"}


# --- STIX ----------------------------------------------------------------------------------


def foreign_identity(**changes: Any) -> dict[str, Any]:
    extension = {
        "extension_type": "property-extension",
        "role": "policy",
        "organisation": "Ministry of Foreign Affairs of Norvania",
        "function": "Cyber coordinator",
        "email": "ingrid@mfa.norvania.example",
        "languages": ["no", "en"],
        "channels": [{"kind": "phone", "value": "+47 22 00 00 00"}],
        "hours": "Mon–Fri 08:00–16:00 CET",
        "always_available": False,
        "country": "NO",
    }
    extension.update(changes.pop("extension", {}))
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": "identity--5f0c1d0e-7b0e-4b6f-9f43-1b2c3d4e5f60",
        "created": "2026-01-10T10:00:00.000Z",
        "modified": "2026-01-10T10:00:00.000Z",
        "name": "Ingrid Solheim",
        "identity_class": "individual",
        "contact_information": "e-mail: ingrid@mfa.norvania.example",
        "extensions": {stix.EXTENSION_ID: extension},
        **changes,
    }


def test_contact_to_stix_validates_and_parses(coordinator: Any, member_org: Any) -> None:
    person = make_contact(coordinator, channels=[{"kind": "phone", "value": "+31 70 1"}])
    desk = make_contact(
        coordinator,
        name="",
        function="Duty desk",
        organisation=member_org,
        email="desk@energy.example",
        always_available=True,
    )
    objects = [stix.author_identity(), stix.extension_definition()]
    objects += [stix.contact_to_stix(person), stix.contact_to_stix(desk)]
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}
    result = validate_instance(bundle, ValidationOptions())
    assert result.is_valid, [str(e) for e in result.errors]
    parsed = stix2.parse(bundle, allow_custom=False)
    person_obj, desk_obj = parsed.objects[2], parsed.objects[3]
    assert person_obj.identity_class == "individual" and person_obj.name == "Jonas Weller"
    assert desk_obj.identity_class == "organization" and desk_obj.name == member_org.name
    extension = desk_obj.extensions[stix.EXTENSION_ID]
    assert extension["always_available"] is True and extension["country"] == "NL"
    assert "e-mail: desk@energy.example" in desk_obj.contact_information
    assert person_obj.created.microsecond % 1000 == 0  # millisecond precision


def test_round_trip_through_stix(coordinator: Any, peer: Peer) -> None:
    original = make_contact(
        coordinator,
        channels=[{"kind": "secure-messaging", "value": "@jw:m.example"}],
        phone="+31 1",
    )
    copy = stix.upsert_from_stix(stix.contact_to_stix(original), peer)
    assert copy is not None and copy.pk != original.pk and copy.peer == peer
    for field in ("role", "name", "function", "organisation_name", "email", "phone", "channels"):
        assert getattr(copy, field) == getattr(original, field), field
    assert copy.language_list == original.language_list and copy.country == original.country
    assert copy.external_id == original.stix_id and copy.organisation is None


def test_upsert_newer_wins_older_ignored_revoked_removes(peer: Peer) -> None:
    contact = stix.upsert_from_stix(foreign_identity(), peer)
    assert contact is not None and contact.name == "Ingrid Solheim"
    newer = foreign_identity(
        modified="2026-02-01T00:00:00.000Z", extension={"hours": "24/7", "always_available": True}
    )
    assert stix.upsert_from_stix(newer, peer).always_available
    older = foreign_identity(modified="2026-01-20T00:00:00.000Z", extension={"hours": "stale"})
    assert stix.upsert_from_stix(older, peer).hours == "24/7"
    assert Contact.objects.count() == 1
    # The same id from another peer is that peer's own row: it cannot overwrite this one.
    other = Peer.objects.create(
        name="Estmark", slug="estmark", country="EE", api_root_url="https://e.example/"
    )
    stix.upsert_from_stix(foreign_identity(extension={"hours": "theirs"}), other)
    assert Contact.objects.get(peer=peer).hours == "24/7"
    revoked = foreign_identity(modified="2026-03-01T00:00:00.000Z", revoked=True)
    assert stix.upsert_from_stix(revoked, peer) is None
    assert not Contact.objects.filter(peer=peer).exists()
    assert AuditEntry.objects.filter(action="contact.removed_by_peer").count() == 1


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"type": "indicator"}, "Not a point of contact"),
        (foreign_identity(id="identity--nope"), "identity--<UUID>"),
        (foreign_identity(modified="yesterday"), "RFC 3339"),
        (foreign_identity(extension={"email": "no address"}), "email"),
        (foreign_identity(extension={"languages": ["xx"]}), "languages"),
        (foreign_identity(spec_version="2.0"), "STIX 2.1"),
    ],
)
def test_unusable_stix_is_refused(peer: Peer, obj: dict[str, Any], message: str) -> None:
    with pytest.raises(stix.StixContactError, match=message):
        stix.upsert_from_stix(obj, peer)
    assert Contact.objects.count() == 0


def test_publish_contacts_versions_and_revokes(coordinator: Any, peer: Peer) -> None:
    contact = make_contact(coordinator)
    stix.upsert_from_stix(foreign_identity(), peer)  # peers' contacts are not passed on
    assert stix.publish_contacts() == 3  # author, extension definition, the contact
    assert stix.publish_contacts() == 0  # idempotent
    rows = StixObject.objects.filter(scope=Scope.CONTACT)
    assert set(rows.values_list("stix_id", flat=True)) == {
        stix.AUTHOR_ID,
        stix.EXTENSION_ID,
        contact.stix_id,
    }
    first = rows.get(stix_id=contact.stix_id)
    assert json.loads(first.body)["name"] == "Jonas Weller"

    services.update_contact(contact, by=coordinator, hours="24/7")
    assert stix.publish_contacts() == 1
    versions = rows.filter(stix_id=contact.stix_id).order_by("modified")
    assert [v.is_latest for v in versions] == [False, True]
    assert versions[1].modified > versions[0].modified
    assert json.loads(versions[1].body)["extensions"][stix.EXTENSION_ID]["hours"] == "24/7"

    stix_id = contact.stix_id
    services.delete_contact(contact, by=coordinator)
    assert stix.publish_contacts() == 1
    latest = rows.get(stix_id=stix_id, is_latest=True)
    assert latest.revoked and json.loads(latest.body)["revoked"] is True
    assert stix.publish_contacts() == 0


def test_changes_publish_after_commit(
    coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact = make_contact(coordinator)
    assert StixObject.objects.filter(stix_id=contact.stix_id, is_latest=True).exists()


# --- Demo -------------------------------------------------------------------------------------


def test_demo_loads_once(coordinator: Any) -> None:
    assert load_demo() is True
    assert Contact.objects.count() == 10
    assert Contact.objects.filter(peer__isnull=True).count() == 4
    assert set(Peer.objects.values_list("slug", flat=True)) == {"norvania", "estmark"}
    assert set(Contact.objects.values_list("country", flat=True)) == {"NL", "NO", "EE"}
    assert ContactCheck.objects.count() == 2
    acknowledged = CheckRecipient.objects.filter(acknowledged_at__isnull=False)
    assert acknowledged.count() == 7 + 9
    assert all(r.response_seconds > 0 for r in acknowledged)
    assert load_demo() is False
    assert Contact.objects.count() == 10


def test_the_documented_ids_are_the_real_ones() -> None:
    from pathlib import Path

    docs = (Path(__file__).resolve().parent.parent / "docs" / "contacts.md").read_text()
    assert stix.EXTENSION_ID in docs and stix.AUTHOR_ID in docs
