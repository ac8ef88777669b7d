"""Points of contact for the demo network: Avaloria's own and two fictional peers'.

``load_demo()`` runs after the demo organisations and people exist (it links
the contacts to them where it finds them). Avaloria's contacts are added
through the same service as the pages, as the coordinator; the peers'
contacts arrive as STIX identities through ``upsert_from_stix``, the path the
peer link takes. The two peers (Norvania, registered under NO, and Estmark,
under EE) are inactive ``Peer`` rows, so nothing is ever pulled from them.
Two past checks with their acknowledgements give the statistics page a
history; they are written as history (no e-mail is sent for them).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accord import policy
from accord.audit.services import record
from accord.exchange.models import Peer
from accord.exchange.stix.vocab import ACCORD_NAMESPACE
from accord.membership.models import Organisation

from . import services
from .models import CheckRecipient, Contact, ContactCheck, Role, Via
from .stix import EXTENSION_ID, stix_time, upsert_from_stix

DEMO_COUNTRY = "NL"  # Avaloria, as in accord.core.demo
MARKER_EMAIL = "incident-desk@ncsc-avaloria.example"


class ContactDemoError(Exception):
    """The demo contacts cannot be loaded; the message says why."""


@dataclass(frozen=True)
class DemoContact:
    role: str
    name: str
    function: str
    organisation: str
    email: str
    languages: tuple[str, ...]
    hours: str = ""
    always_available: bool = False
    phone: str = ""
    channels: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    username: str = ""


AVALORIA = [
    DemoContact(
        Role.POLICY,
        "Laurent Dubois",
        "Ambassador for cyber affairs",
        "Ministry of Foreign Affairs",
        "laurent.dubois@mfa-avaloria.example",
        ("en", "fr", "nl"),
        hours="Mon–Fri 09:00–17:00 CET",
        phone="+31 70 555 0140",
        username="laurent.dubois",
    ),
    DemoContact(
        Role.POLICY,
        "Hana Novak",
        "Cyber diplomacy officer",
        "Ministry of Foreign Affairs",
        "hana.novak@mfa-avaloria.example",
        ("en", "cs", "de"),
        hours="Mon–Fri 08:30–17:30 CET",
        channels=(("secure-messaging", "@hana.novak:matrix.mfa-avaloria.example"),),
        username="hana.novak",
    ),
    DemoContact(
        Role.TECHNICAL,
        "",
        "Incident desk",
        "National Cyber Security Centre of Avaloria",
        MARKER_EMAIL,
        ("en", "nl"),
        always_available=True,
        phone="+31 70 555 0100",
        channels=(
            ("secure-messaging", "@incident-desk:matrix.ncsc-avaloria.example"),
            ("fax", "+31 70 555 0101"),
        ),
    ),
    DemoContact(
        Role.TECHNICAL,
        "Katarina Ek",
        "Team lead",
        "CERT-AV",
        "katarina.ek@cert-av.example",
        ("en", "sv", "nl"),
        hours="Mon–Fri 08:00–18:00 CET",
        username="katarina.ek",
    ),
]

PEERS = {
    "norvania": ("Norvania national platform", "NO", "https://accord.norvania.example/taxii2/"),
    "estmark": ("Estmark national platform", "EE", "https://accord.estmark.example/taxii2/"),
}

FOREIGN = {
    "norvania": [
        DemoContact(
            Role.POLICY,
            "Ingrid Solheim",
            "Cyber coordinator",
            "Ministry of Foreign Affairs of Norvania",
            "ingrid.solheim@mfa.norvania.example",
            ("no", "en"),
            hours="Mon–Fri 08:00–16:00 CET",
        ),
        DemoContact(
            Role.TECHNICAL,
            "",
            "Duty officer",
            "NorCERT",
            "duty@norcert.norvania.example",
            ("no", "en", "sv"),
            always_available=True,
            phone="+47 22 55 50 00",
        ),
        DemoContact(
            Role.TECHNICAL,
            "Erik Lunde",
            "Head of operations",
            "NorCERT",
            "erik.lunde@norcert.norvania.example",
            ("no", "en"),
            hours="Mon–Fri 07:30–15:30 CET",
        ),
    ],
    "estmark": [
        DemoContact(
            Role.POLICY,
            "Maarja Tamm",
            "Ambassador-at-large for cyber diplomacy",
            "Ministry of Foreign Affairs of Estmark",
            "maarja.tamm@vm.estmark.example",
            ("et", "en", "ru"),
            hours="Mon–Fri 09:00–17:00 EET",
        ),
        DemoContact(
            Role.TECHNICAL,
            "",
            "Duty desk",
            "CERT-EM",
            "desk@cert.estmark.example",
            ("et", "en"),
            always_available=True,
            channels=(("secure-messaging", "@desk:matrix.cert.estmark.example"),),
        ),
        DemoContact(
            Role.TECHNICAL,
            "Kristjan Saar",
            "Senior analyst",
            "CERT-EM",
            "kristjan.saar@cert.estmark.example",
            ("et", "en", "fi"),
            hours="Mon–Fri 09:00–18:00 EET",
        ),
    ],
}

# Two past checks: (days ago, hours to acknowledge, minutes each contact took — None for
# silent), in the order of the contacts sorted by e-mail address.
PAST_CHECKS = [
    (62, 72, [35, None, 4, 190, 1500, None, 12, 95, None, 300]),
    (31, 72, [20, 45, 3, 60, 720, 2400, 8, 40, None, 150]),
]


def is_loaded() -> bool:
    return Contact.objects.filter(email=MARKER_EMAIL).exists()


def _coordinator() -> Any:
    users = get_user_model().objects.filter(is_active=True).order_by("-is_demo", "pk")
    demo = users.filter(username="coordinator").first()
    if demo is not None and policy.is_coordinator(demo):
        return demo
    for user in users.filter(is_coordinator=True):
        return user
    raise ContactDemoError("The contacts demo needs a coordinator: load 'accord demo' first.")


def _foreign_object(spec: DemoContact, slug: str, country: str, when: dt.datetime) -> dict:
    # A stable id per contact, as the peer's own installation would have given it.
    stix_uuid = uuid.uuid5(ACCORD_NAMESPACE, f"demo-contact:{slug}:{spec.email}")
    extension: dict[str, Any] = {
        "extension_type": "property-extension",
        "role": spec.role,
        "organisation": spec.organisation,
        "function": spec.function,
        "email": spec.email,
        "languages": list(spec.languages),
        "channels": [{"kind": k, "value": v} for k, v in spec.channels],
        "always_available": spec.always_available,
        "country": country,
    }
    if spec.hours:
        extension["hours"] = spec.hours
    if spec.phone:
        extension["phone"] = spec.phone
    return {
        "type": "identity",
        "spec_version": "2.1",
        "id": f"identity--{stix_uuid}",
        "created": stix_time(when),
        "modified": stix_time(when),
        "name": spec.name or spec.organisation,
        "identity_class": "individual" if spec.name else "organization",
        "contact_information": f"e-mail: {spec.email}",
        "extensions": {EXTENSION_ID: extension},
    }


def load_demo(now: dt.datetime | None = None) -> bool:
    """Load the demo contacts and checks. Returns False, changing nothing, if they are there."""
    if is_loaded():
        return False
    now = now or timezone.now()
    with transaction.atomic():
        coordinator = _coordinator()
        contacts = _local(coordinator) + _foreign(now)
        _past_checks(coordinator, sorted(contacts, key=lambda c: c.email), now)
        record(
            "demo.contacts_loaded",
            f"The demo's points of contact were loaded ({len(contacts)} contacts)",
            actor="accord demo",
            data={"contacts": len(contacts), "checks": len(PAST_CHECKS)},
        )
    return True


def _local(coordinator: Any) -> list[Contact]:
    organisations = {o.name: o for o in Organisation.objects.verified()}
    users = get_user_model().objects.filter(is_active=True)
    made = []
    for spec in AVALORIA:
        organisation = organisations.get(spec.organisation)
        made.append(
            services.create_contact(
                by=coordinator,
                role=spec.role,
                name=spec.name,
                function=spec.function,
                organisation=organisation,
                organisation_name="" if organisation else spec.organisation,
                email=spec.email,
                phone=spec.phone,
                languages=list(spec.languages),
                channels=[{"kind": k, "value": v} for k, v in spec.channels],
                hours=spec.hours,
                always_available=spec.always_available,
                country=DEMO_COUNTRY,
                user=users.filter(username=spec.username).first() if spec.username else None,
            )
        )
    return made


def _foreign(now: dt.datetime) -> list[Contact]:
    made = []
    for slug, (name, country, url) in PEERS.items():
        peer, _created = Peer.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "country": country, "api_root_url": url, "active": False},
        )
        for spec in FOREIGN[slug]:
            contact = upsert_from_stix(
                _foreign_object(spec, slug, country, now - dt.timedelta(days=90)), peer
            )
            assert contact is not None
            made.append(contact)
    return made


def _past_checks(coordinator: Any, contacts: list[Contact], now: dt.datetime) -> None:
    for days_ago, hours, minutes in PAST_CHECKS:
        sent = now - dt.timedelta(days=days_ago)
        deadline = sent + dt.timedelta(hours=hours)
        check = ContactCheck.objects.create(
            created_at=sent,
            created_by=coordinator,
            deadline=deadline,
            message="Routine communication check of the national points of contact.",
            escalated_at=deadline,
        )
        rows = []
        for contact, taken in zip(contacts, minutes, strict=False):
            answered = sent + dt.timedelta(minutes=taken) if taken is not None else None
            rows.append(
                CheckRecipient(
                    contact_check=check,
                    contact=contact,
                    contact_name=contact.display_name,
                    organisation_name=contact.organisation_name,
                    email=contact.email,
                    country=contact.country,
                    role=contact.role,
                    sent_at=sent,
                    acknowledged_at=answered,
                    response_seconds=taken * 60 if taken is not None else None,
                    acknowledged_via=Via.LINK if taken is not None else "",
                    escalated_at=deadline if answered is None or answered > deadline else None,
                )
            )
        CheckRecipient.objects.bulk_create(rows)
