"""Fixed identifiers that travel with every bundle."""

from __future__ import annotations

import hashlib
import json
import uuid

from accord.sharing.models import Marking

# TLP 2.0 marking definitions: the ids the OASIS CTI TC published (2022-10-01).
TLP2_MARKING_IDS: dict[str, str] = {
    Marking.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Marking.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Marking.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Marking.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Marking.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# The extension that defines the TLP 2.0 marking-definition objects.
TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

# TLP 1.0 definitions from STIX 2.1 itself, accepted on import (WHITE is read as CLEAR).
TLP1_MARKING_IDS: dict[str, str] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": Marking.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": Marking.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": Marking.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": Marking.RED,
}

MARKING_BY_ID: dict[str, str] = {
    **{stix_id: marking for marking, stix_id in TLP2_MARKING_IDS.items()},
    **TLP1_MARKING_IDS,
}

# Namespace for the deterministic (UUIDv5) ids of identities and derived objects,
# so the same thing has the same id in every bundle and on every installation.
ACCORD_NAMESPACE = uuid.UUID("6b1f8a52-3c1e-5d57-9a0e-2f4c8e7b1d90")
_NAMESPACE_BYTES = ACCORD_NAMESPACE.bytes

# --- What this installation publishes ---------------------------------------------------

SPEC_VERSION = "2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"

# The TLP 2.0 marking-definition objects exactly as the OASIS CTI TC published them
# (cti-stix-common-objects, extension-definition-specifications/tlp-2.0): no
# created_by_ref, no definition_type; the level lives in the extension.
TLP2_MARKING_OBJECTS: dict[str, dict[str, object]] = {
    marking: {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": stix_id,
        "created": "2022-10-01T00:00:00.000Z",
        "name": str(Marking(marking).label),
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": str(marking)}
        },
    }
    for marking, stix_id in TLP2_MARKING_IDS.items()
}

# The Incident Core Extension (version 2.0) of the OASIS CTI TC's common objects.
INCIDENT_CORE_EXTENSION_ID = "extension-definition--ef765651-680c-498d-9894-99799f2fa126"

ACCORD_EXTENSION_VERSION = "1.0.0"
ACCORD_EXTENSION_CREATED = "2026-11-01T00:00:00.000Z"

# STIX 2.1 section 2.9: the namespace of the deterministic ids of cyber observables.
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")

# The country an installation stands for when settings.ACCORD_COUNTRY is not set
# (the demo network's country).
DEFAULT_COUNTRY = "NL"

# Our sector codes (accord.membership.taxonomy.SECTORS) on STIX's industry-sector-ov.
INDUSTRY_SECTORS: dict[str, str] = {
    "energy": "energy",
    "transport": "transportation",
    "banking": "financial-services",
    "financial-market": "financial-services",
    "health": "healthcare",
    "drinking-water": "water",
    "waste-water": "water",
    "digital-infrastructure": "infrastructure",
    "ict-service-management": "technology",
    "public-administration": "government",
    "space": "aerospace",
    "telecom": "telecommunications",
    "postal": "transportation",
    "waste-management": "utilities",
    "chemicals": "chemical",
    "food": "agriculture",
    "manufacturing": "manufacturing",
    "digital-providers": "technology",
    "research": "education",
    "education": "education",
    "defence-industry": "defense",
    "media": "communications",
}

# CISSM effects on the Incident Core Extension's incident-type-ov (where one fits).
EFFECT_INCIDENT_TYPES: dict[str, str] = {
    "external-dos": "denial-of-service",
    "internal-dos": "denial-of-service",
    "data-attack": "destruction",
    "exploit-sensors": "compromised-system",
    "exploit-end-hosts": "compromised-system",
    "exploit-network-infrastructure": "compromised-system",
    "exploit-application-servers": "compromised-system",
    "exploit-data-in-transit": "unauthorized-access",
}

# Our recoverability answers on the Incident Core Extension's recoverability-enum.
RECOVERABILITY: dict[str, str] = {
    "not-needed": "not-applicable",
    "regular": "regular",
    "supplemented": "supplemented",
    "extended": "extended",
    "not-recoverable": "not-recoverable",
}

RSIT_URL = "https://github.com/enisaeu/Reference-Security-Incident-Taxonomy-Task-Force"


def installation_country() -> str:
    """The ISO 3166 code of the country this installation serves."""
    from django.conf import settings

    return str(getattr(settings, "ACCORD_COUNTRY", "") or DEFAULT_COUNTRY).upper()


def derived_id(stix_type: str, *parts: object) -> str:
    """A deterministic id for an object Accord derives from its own data.

    UUIDv5 of ACCORD_NAMESPACE and the parts, stamped as version 4: STIX asks for
    UUIDv4 in the ids of domain and relationship objects, and the same thing must
    keep the same id every time it is published. (The SHA-1 of RFC 4122's UUIDv5,
    computed directly: this runs for every relationship of every report.)
    """
    name = "\x1f".join([stix_type, *(str(part) for part in parts)])
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])  # noqa: S324
    digest[6] = (digest[6] & 0x0F) | 0x40  # version 4
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = digest.hex()
    return f"{stix_type}--{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def sco_id(stix_type: str, contributing: dict[str, object]) -> str:
    """The id STIX 2.1 prescribes for a cyber observable: UUIDv5 of the SCO namespace
    and the canonical JSON (RFC 8785) of its id-contributing properties. Our values
    are strings and integers, for which sorted keys and no whitespace are canonical."""
    text = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{stix_type}--{uuid.uuid5(SCO_NAMESPACE, text)}"


# Accord's own property extension (severity, kind, attribution, audience and the
# classification): the same id on every installation, so that any Accord installation
# recognises it; docs/stix-mapping.md defines its properties.
ACCORD_EXTENSION_ID = derived_id("extension-definition", "accord", "report-properties", "1")
