"""Points of contact in STIX 2.1, for the peer link.

A contact is an ``identity`` (``identity_class`` individual for a person,
organization for a team or duty desk) with ``contact_information`` in words
and the structured fields in the property extension ``x-accord-contact``
(an ``extension-definition`` with a fixed id, the same on every installation).
docs/contacts.md describes the properties.

``publish_contacts`` writes this country's contacts to the STIX object store
(scope "contact") for peers to pull; ``upsert_from_stix`` applies one that
arrived from a peer. Only the peer that sent a contact can change it, and an
older version never replaces a newer one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accord.audit.services import record
from accord.exchange.models import Peer, Scope, StixObject
from accord.exchange.stix.vocab import ACCORD_NAMESPACE

from .models import Contact, Role
from .services import ContactError, validate

EXTENSION_NAME = "x-accord-contact"
EXTENSION_ID = f"extension-definition--{uuid.uuid5(ACCORD_NAMESPACE, EXTENSION_NAME)}"
# The author of the extension definition: the Accord software, the same everywhere.
AUTHOR_ID = f"identity--{uuid.uuid5(ACCORD_NAMESPACE, 'accord-software')}"
DEFINED = "2026-01-01T00:00:00.000Z"
IDENTITY_ID = re.compile(
    r"^identity--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
ROLE_WORDS = {Role.POLICY: "policy point of contact", Role.TECHNICAL: "technical point of contact"}
ONE_MS = dt.timedelta(milliseconds=1)


class StixContactError(ValueError):
    """An object that cannot be applied as a contact; the message says why."""


def stix_time(moment: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds and "Z"."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_stix_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def author_identity() -> dict[str, Any]:
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": AUTHOR_ID,
        "created": DEFINED,
        "modified": DEFINED,
        "name": "Accord",
        "identity_class": "system",
        "description": "The Accord platform software, author of its STIX extensions.",
    }


def extension_definition() -> dict[str, Any]:
    return {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": AUTHOR_ID,
        "created": DEFINED,
        "modified": DEFINED,
        "name": EXTENSION_NAME,
        "description": "A national point of contact: role, organisation, function, "
        "e-mail, phone, languages, channels, hours and country.",
        "schema": "Accord docs/contacts.md, section 'STIX: the x-accord-contact extension'. "
        "Properties: role (policy|technical), organisation, function, email, phone, "
        "languages (ISO 639-1 codes), channels ([{kind, value}]), hours, "
        "always_available (boolean), country (ISO 3166-1 alpha-2).",
        "version": "1.0",
        "extension_types": ["property-extension"],
    }


def _contact_information(contact: Contact) -> str:
    parts = [f"e-mail: {contact.email}"]
    if contact.phone:
        parts.append(f"phone: {contact.phone}")
    parts += [f"{c['kind']}: {c['value']}" for c in contact.channels]
    if contact.always_available:
        parts.append("reachable 24/7")
    if contact.hours:
        parts.append(f"hours: {contact.hours}")
    return "; ".join(parts)


def contact_to_stix(contact: Contact) -> dict[str, Any]:
    """The contact as a STIX 2.1 identity with the x-accord-contact extension."""
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "role": contact.role,
        "organisation": contact.organisation_name,
        "email": contact.email,
        "always_available": contact.always_available,
        "country": contact.country.code,
    }
    # STIX forbids empty lists; empty texts say nothing: leave out what is not there.
    optional = {
        "function": contact.function,
        "phone": contact.phone,
        "hours": contact.hours,
        "languages": contact.language_list,
        "channels": [dict(c) for c in contact.channels],
    }
    extension.update({key: value for key, value in optional.items() if value})
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": contact.stix_id,
        "created": stix_time(contact.created_at),
        "modified": stix_time(max(contact.updated_at, contact.created_at)),
        "name": contact.name or contact.organisation_name,
        "identity_class": "individual" if contact.name else "organization",
        "roles": [ROLE_WORDS[Role(contact.role)]],
        "contact_information": _contact_information(contact),
        "extensions": {EXTENSION_ID: extension},
    }
    if contact.function:
        obj["description"] = f"{contact.function}, {contact.organisation_name}"
    return obj


def is_contact_object(obj: Any) -> bool:
    """Whether a STIX object is a point of contact (an identity with our extension)."""
    return (
        isinstance(obj, dict)
        and obj.get("type") == "identity"
        and isinstance(obj.get("extensions"), dict)
        and EXTENSION_ID in obj["extensions"]
    )


def _values_from(obj: dict[str, Any], peer: Peer) -> dict[str, Any]:
    extension = obj["extensions"][EXTENSION_ID]
    if not isinstance(extension, dict):
        raise StixContactError(f"{obj['id']}: the {EXTENSION_NAME} extension is not an object.")
    person = obj.get("name") if obj.get("identity_class") == "individual" else ""
    return {
        "role": extension.get("role"),
        "name": person,
        "function": extension.get("function", ""),
        "organisation": None,  # a peer's organisation is never one of ours
        "organisation_name": extension.get("organisation") or obj.get("name"),
        "email": extension.get("email"),
        "phone": extension.get("phone", ""),
        "languages": extension.get("languages") or [],
        "channels": extension.get("channels") or [],
        "hours": extension.get("hours", ""),
        "always_available": extension.get("always_available") is True,
        "country": extension.get("country") or peer.country.code,
        "user": None,
    }


@transaction.atomic
def upsert_from_stix(obj: dict[str, Any], peer: Peer) -> Contact | None:
    """Apply a contact that arrived from ``peer``. Returns the contact (unchanged if
    the version is not newer than the one held), or None when the object revokes it
    (the contact is then removed). Raises ``StixContactError`` for an unusable object."""
    if not is_contact_object(obj):
        raise StixContactError(
            "Not a point of contact: an identity with the x-accord-contact extension is expected."
        )
    stix_id = obj.get("id")
    if not isinstance(stix_id, str) or not IDENTITY_ID.match(stix_id):
        raise StixContactError("The identity's id must be identity--<UUID>.")
    if obj.get("spec_version", "2.1") != "2.1":
        raise StixContactError(f"{stix_id}: only STIX 2.1 is accepted.")
    modified = parse_stix_time(obj.get("modified") or obj.get("created"))
    if modified is None:
        raise StixContactError(f"{stix_id}: 'modified' must be an RFC 3339 UTC timestamp.")
    existing = Contact.objects.select_for_update().filter(peer=peer, external_id=stix_id).first()
    held = existing.external_modified if existing is not None else None
    if existing is not None and held is not None and modified <= held:
        return existing  # the same or an older version
    if obj.get("revoked") is True:
        if existing is not None:
            _audit("contact.removed_by_peer", existing, peer, "was withdrawn")
            existing.delete()
        return None
    try:
        values = validate(_values_from(obj, peer))
    except ContactError as exc:
        raise StixContactError(f"{stix_id}: {exc.as_detail()}") from exc
    now = timezone.now()
    if existing is None:
        contact = Contact.objects.create(
            **values,
            peer=peer,
            external_id=stix_id,
            external_modified=modified,
            created_at=now,
            updated_at=now,
        )
        _audit("contact.received", contact, peer, "arrived")
        return contact
    for field, value in values.items():
        setattr(existing, field, value)
    existing.external_modified, existing.updated_at = modified, now
    existing.save()
    _audit("contact.received", existing, peer, "was updated")
    return existing


def _audit(action: str, contact: Contact, peer: Peer, what: str) -> None:
    record(
        action,
        f"Point of contact {contact.display_name} ({contact.organisation_name}) "
        f"from {peer.name} {what}",
        actor=f"peer {peer.slug}",
        target=contact,
        data={"peer": peer.slug, "stix_id": contact.external_id},
    )


# --- Publication -------------------------------------------------------------------


def _without_modified(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "modified"}


def _write(obj: dict[str, Any], previous: StixObject | None) -> StixObject:
    modified = parse_stix_time(obj["modified"]) or timezone.now()
    if previous is not None:
        # Versions must increase even when two edits fall in one millisecond.
        modified = max(modified, previous.modified + ONE_MS)
        previous.is_latest = False
        previous.save(update_fields=["is_latest"])
    obj = {**obj, "modified": stix_time(modified)}
    return StixObject.objects.create(
        stix_id=obj["id"],
        stix_type=obj["type"],
        modified=parse_stix_time(obj["modified"]),
        scope=Scope.CONTACT,
        body=json.dumps(obj, ensure_ascii=False, separators=(",", ":")),
        is_latest=True,
        revoked=obj.get("revoked") is True,
    )


@transaction.atomic
def publish_contacts() -> int:
    """Bring the store's scope-"contact" rows in line with this country's contacts:
    a new version for each contact that changed, a revoked version for each that was
    removed. Idempotent; returns the number of rows written."""
    wanted = [author_identity(), extension_definition()]
    wanted += [contact_to_stix(c) for c in Contact.objects.filter(peer__isnull=True)]
    # Contacts of peers are stored as Contact rows, never published again; their ids
    # are left alone even if someone stored them here.
    foreign = set(Contact.objects.filter(peer__isnull=False).values_list("external_id", flat=True))
    latest = {
        row.stix_id: row
        for row in StixObject.objects.select_for_update().filter(
            scope=Scope.CONTACT, is_latest=True, report__isnull=True
        )
        if row.stix_id not in foreign
    }
    written = 0
    for obj in wanted:
        row = latest.pop(obj["id"], None)
        unchanged = (
            row is not None
            and not row.revoked
            and (_without_modified(json.loads(row.body)) == _without_modified(obj))
        )
        if unchanged:
            continue
        _write(obj, row)
        written += 1
    for row in latest.values():
        if row.revoked or row.stix_type != "identity":
            continue
        gone = json.loads(row.body)
        gone["revoked"] = True
        gone["modified"] = stix_time(timezone.now())
        _write(gone, row)
        written += 1
    return written
