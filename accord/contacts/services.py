"""Adding, changing and removing points of contact.

Pages and the API both come here: one validation (every wrong field is
reported at once in a ``ContactError``), one audit record per change, and the
STIX copy that peers pull is refreshed after the change is committed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from accord import policy
from accord.audit.services import record
from accord.membership.models import Organisation

from .languages import LANGUAGES
from .models import ChannelKind, Contact, Role

MAX_TEXT = 200
MAX_PHONE = 40
MAX_LANGUAGES = 20
MAX_CHANNELS = 20
PHONE = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
# The fields a caller may set; everything else (source, ids, times) is the platform's.
FIELDS = (
    "role",
    "name",
    "function",
    "organisation",
    "organisation_name",
    "email",
    "phone",
    "languages",
    "channels",
    "hours",
    "always_available",
    "country",
    "user",
)


class ContactError(Exception):
    """Input that cannot be stored. ``errors`` maps field names to messages."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def as_detail(self) -> str:
        if self.errors:
            return "; ".join(f"{field}: {text}" for field, text in self.errors.items())
        return self.message


# --- Parsing helpers shared by the forms and the API ------------------------------


def parse_languages(value: Any) -> list[str] | None:
    """ "en, fr de" -> ["en", "fr", "de"]; None if it is not text or a list of text."""
    if isinstance(value, str):
        return [part.lower() for part in re.split(r"[\s,;]+", value) if part]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return [v.strip().lower() for v in value if v.strip()]
    return None


def parse_channels(text: str) -> list[dict[str, str]]:
    """One channel a line, "kind: value" ("secure-messaging: @ncsc:matrix.example")."""
    channels = []
    for line in text.splitlines():
        if not line.strip():
            continue
        kind, sep, value = line.partition(":")
        if not sep:
            kind, value = "", line
        channels.append({"kind": kind.strip().lower(), "value": value.strip()})
    return channels


def format_channels(channels: Iterable[dict[str, str]]) -> str:
    return "\n".join(f"{c['kind']}: {c['value']}" for c in channels)


def organisation_by_slug(slug: str | None) -> Organisation | None:
    """A verified member organisation (a contact's organisation must be one)."""
    if not slug:
        return None
    return Organisation.objects.verified().filter(slug=slug).first()


def user_by_username(username: str | None) -> Any:
    if not username:
        return None
    return get_user_model().objects.filter(username=username, is_active=True).first()


# --- Validation --------------------------------------------------------------------


def _text(values: dict[str, Any], field: str, limit: int, errors: dict[str, str]) -> None:
    value = values.get(field)
    if value is None:
        values[field] = ""
        return
    if not isinstance(value, str):
        errors[field] = _("Give text.")
        return
    value = " ".join(value.split())
    if len(value) > limit:
        errors[field] = _("Keep it under %(n)d characters.") % {"n": limit}
    values[field] = value


def _languages(values: dict[str, Any], errors: dict[str, str]) -> None:
    codes = parse_languages(values.get("languages") or [])
    if codes is None:
        errors["languages"] = _("Give ISO 639-1 language codes, such as en, fr.")
        return
    unknown = [code[:10] for code in codes if code not in LANGUAGES]
    if unknown:
        errors["languages"] = _("Not ISO 639-1 language codes: %(codes)s.") % {
            "codes": ", ".join(unknown[:5])
        }
        return
    codes = list(dict.fromkeys(codes))
    if len(codes) > MAX_LANGUAGES:
        errors["languages"] = _("Give at most %(n)d languages.") % {"n": MAX_LANGUAGES}
    values["languages"] = ",".join(codes)


def _channels(values: dict[str, Any], errors: dict[str, str]) -> None:
    raw = values.get("channels") or []
    if not isinstance(raw, list):
        errors["channels"] = _("Give a list of channels.")
        return
    clean = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            errors["channels"] = _("Give each channel as a kind and a value.")
            return
        kind = str(item.get("kind") or "").strip().lower()
        value = " ".join(item["value"].split())
        if kind not in ChannelKind.values:
            errors["channels"] = _("Unknown channel kind %(kind)s; use one of: %(kinds)s.") % {
                "kind": repr(kind[:30]),
                "kinds": ", ".join(ChannelKind.values),
            }
            return
        if not value or len(value) > MAX_TEXT:
            errors["channels"] = _("Each channel needs a value under %(n)d characters.") % {
                "n": MAX_TEXT
            }
            return
        clean.append({"kind": kind, "value": value})
    if len(clean) > MAX_CHANNELS:
        errors["channels"] = _("Give at most %(n)d channels.") % {"n": MAX_CHANNELS}
    values["channels"] = clean


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise a complete set of contact fields; raise ``ContactError``
    naming every wrong field."""
    values = {field: values.get(field) for field in FIELDS}
    errors: dict[str, str] = {}
    if values["role"] not in Role.values:
        errors["role"] = _("Choose policy or technical.")
    for field in ("name", "function", "organisation_name", "hours"):
        _text(values, field, MAX_TEXT, errors)
    _text(values, "phone", MAX_PHONE, errors)
    if values["phone"] and "phone" not in errors and not PHONE.match(values["phone"]):
        errors["phone"] = _("Give a phone number: digits, spaces and + ( ) - . / only.")
    email = values["email"]
    try:
        if not isinstance(email, str):
            raise ValidationError("not text")
        email = email.strip()
        validate_email(email)
        values["email"] = email
    except ValidationError:
        errors["email"] = _("Give a valid e-mail address: checks are sent there.")
    organisation = values["organisation"]
    if organisation is not None and not isinstance(organisation, Organisation):
        errors["organisation"] = _("Choose a verified member organisation.")
    elif organisation is not None:
        values["organisation_name"] = organisation.name
    if not values["organisation_name"] and "organisation_name" not in errors:
        errors["organisation"] = _(
            "Give the organisation: a member organisation, or its name for a foreign contact."
        )
    country = values["country"]
    if not country and isinstance(organisation, Organisation):
        country = organisation.country.code
    country = str(country or "").strip().upper()
    if country not in dict(countries):
        errors["country"] = _("Give the country as an ISO 3166 code, such as NL.")
    values["country"] = country
    _languages(values, errors)
    _channels(values, errors)
    values["always_available"] = values["always_available"] is True
    user = values["user"]
    if user is not None and not getattr(user, "pk", None):
        errors["user"] = _("Choose an active local account.")
    if errors:
        raise ContactError(
            _("The contact was not saved: please correct the marked fields."), errors
        )
    return values


# --- Changes -------------------------------------------------------------------------


def _publish_after_commit() -> None:
    from . import tasks

    transaction.on_commit(lambda: tasks.publish_contacts.enqueue())


@transaction.atomic
def create_contact(*, by: Any, request: Any = None, **fields: Any) -> Contact:
    policy.require_manage_contacts(by)
    values = validate(fields)
    now = timezone.now()
    contact = Contact.objects.create(**values, created_by=by, created_at=now, updated_at=now)
    record(
        "contact.created",
        f"Point of contact {contact.display_name} ({contact.organisation_name}, "
        f"{contact.country.code}) was added",
        actor=by,
        organisation=contact.organisation,
        target=contact,
        data={"role": contact.role, "country": contact.country.code},
        request=request,
    )
    _publish_after_commit()
    return contact


def current_values(contact: Contact) -> dict[str, Any]:
    values = {field: getattr(contact, field) for field in FIELDS}
    values["country"] = contact.country.code
    values["languages"] = contact.language_list
    return values


@transaction.atomic
def update_contact(contact: Contact, *, by: Any, request: Any = None, **fields: Any) -> Contact:
    """Change the fields given; the others keep their value."""
    if not policy.can_edit_contact(by, contact):
        policy.require_manage_contacts(by)
        raise ContactError(_("A peer's contact is kept up to date by that peer."))
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ContactError(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    before = current_values(contact)
    if "organisation" in fields and fields["organisation"] is None:
        before["organisation_name"] = ""  # unlinking needs a name of its own
    values = validate({**before, **fields})
    changed = [
        field
        for field in FIELDS
        if getattr(contact, field) != values[field]
        and not (field == "country" and contact.country.code == values[field])
    ]
    if not changed:
        return contact
    for field in changed:
        setattr(contact, field, values[field])
    contact.updated_at = timezone.now()
    contact.save()
    record(
        "contact.updated",
        f"Point of contact {contact.display_name} ({contact.organisation_name}) was changed",
        actor=by,
        organisation=contact.organisation,
        target=contact,
        data={"changed": changed},
        request=request,
    )
    _publish_after_commit()
    return contact


@transaction.atomic
def delete_contact(contact: Contact, *, by: Any, request: Any = None) -> None:
    if not policy.can_edit_contact(by, contact):
        policy.require_manage_contacts(by)
        raise ContactError(_("A peer's contact is removed by that peer."))
    record(
        "contact.deleted",
        f"Point of contact {contact.display_name} ({contact.organisation_name}) was removed",
        actor=by,
        organisation=contact.organisation,
        target=contact,
        data={"role": contact.role, "country": contact.country.code},
        request=request,
    )
    contact.delete()
    _publish_after_commit()
