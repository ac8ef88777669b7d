"""Fixed identifiers that travel with every bundle."""

from __future__ import annotations

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
