"""The mapping tables between MISP core JSON and Accord (docs/misp.md explains them).

MISP names come from the MISP core format (attribute types, categories,
``threat_level_id``, ``analysis``, ``distribution``) and the MISP ``tlp``
taxonomy; TLP 1.0 ``tlp:white`` reads as TLP 2.0 CLEAR.
"""

from __future__ import annotations

from accord.sharing.models import Kind, Marking
from accord.sharing.observables import ObservableKind as K

# --- Markings -------------------------------------------------------------------------------

# Tag (lower case) -> marking. Both TLP versions are read; only TLP 2.0 is written.
TLP_TAGS: dict[str, str] = {
    "tlp:white": Marking.CLEAR,
    "tlp:clear": Marking.CLEAR,
    "tlp:green": Marking.GREEN,
    "tlp:amber": Marking.AMBER,
    "tlp:amber+strict": Marking.AMBER_STRICT,
    "tlp:red": Marking.RED,
}
EXPORT_TLP_TAG: dict[str, str] = {marking.value: f"tlp:{marking.value}" for marking in Marking}
DEFAULT_MARKING = Marking.GREEN
# What never comes in from abroad (the design of the international exchange).
FOREIGN_REFUSED = frozenset({Marking.AMBER_STRICT, Marking.RED})

# MISP distribution levels: 0 your organisation only, 1 this community only,
# 2 connected communities, 3 all communities, 4 sharing group, 5 inherit (attributes).
# An exported event should travel no further from the receiving MISP than its TLP allows:
# CLEAR anywhere, GREEN within the receiver's community, the rest stays with the receiver.
DISTRIBUTION_FOR_MARKING: dict[str, int] = {
    Marking.CLEAR: 3,
    Marking.GREEN: 1,
    Marking.AMBER: 0,
    Marking.AMBER_STRICT: 0,
    Marking.RED: 0,
}
INHERIT_DISTRIBUTION = 5

# --- Threat level and analysis ----------------------------------------------------------------

THREAT_LEVELS: dict[int, str] = {1: "High", 2: "Medium", 3: "Low", 4: "Undefined"}
ANALYSIS: dict[int, str] = {0: "Initial", 1: "Ongoing", 2: "Completed"}


def threat_level_for(severity_level: int | None) -> int:
    """Accord's severity level (0 baseline … 5 emergency) as a MISP threat level."""
    if severity_level is None:
        return 4
    if severity_level <= 1:
        return 3
    if severity_level == 2:
        return 2
    return 1


# --- Kinds, and Accord's own tags --------------------------------------------------------------

ACCORD_TAG_NAMESPACE = "accord"
# Tags that tell an event is not an incident seen by its reporter.
ADVISORY_TAGS = frozenset({"type:osint"})
ADVISORY_TAG_PREFIXES = ("osint:",)
KINDS = frozenset(Kind.values)

# --- Attribute types ---------------------------------------------------------------------------

IP_KINDS = (K.IPV4, K.IPV6, K.CIDR)
EMAIL_TYPES = frozenset(
    {
        "email",
        "email-src",
        "email-dst",
        "email-reply-to",
        "target-email",
        "whois-registrant-email",
        "dns-soa-email",
    }
)
HASH_TYPES: dict[str, str] = {"md5": K.MD5, "sha1": K.SHA1, "sha256": K.SHA256}

# Which observable kinds a plain (non-composite) MISP type may give.
SIMPLE_TYPES: dict[str, tuple[str, ...]] = {
    "ip-src": IP_KINDS,
    "ip-dst": IP_KINDS,
    "domain": (K.DOMAIN,),
    "hostname": (K.DOMAIN,),
    "url": (K.URL,),
    "vulnerability": (K.CVE,),
    "AS": (K.ASN,),
    **{name: (K.EMAIL,) for name in EMAIL_TYPES},
    **{name: (kind,) for name, kind in HASH_TYPES.items()},
}
# Composite types "a|b": (kinds of the first part, kinds of the second part); None means
# the part is context kept in the note (a file name, a port).
COMPOSITE_TYPES: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...] | None]] = {
    "ip-src|port": (IP_KINDS, None),
    "ip-dst|port": (IP_KINDS, None),
    "hostname|port": ((K.DOMAIN,), None),
    "domain|ip": ((K.DOMAIN,), IP_KINDS),
    "filename|md5": (None, (K.MD5,)),
    "filename|sha1": (None, (K.SHA1,)),
    "filename|sha256": (None, (K.SHA256,)),
    "malware-sample": (None, (K.MD5,)),  # "file name|md5"; the sample itself is not imported
}
# What the context part of a composite type is called in a note.
CONTEXT_LABEL: dict[str, str] = {
    "ip-src|port": "port",
    "ip-dst|port": "port",
    "hostname|port": "port",
    "filename|md5": "file",
    "filename|sha1": "file",
    "filename|sha256": "file",
    "malware-sample": "file",
}
LINK_TYPE = "link"  # an http(s) link becomes one of the report's references
# The event's own free text (outside objects) goes into the summary's text, whole.
TEXT_TYPES = frozenset({"text", "comment"})

# --- Export ----------------------------------------------------------------------------------

EXPORT_TYPE: dict[str, str] = {
    K.IPV4: "ip-dst",
    K.IPV6: "ip-dst",
    K.CIDR: "ip-dst",
    K.DOMAIN: "domain",
    K.URL: "url",
    K.EMAIL: "email-src",
    K.MD5: "md5",
    K.SHA1: "sha1",
    K.SHA256: "sha256",
    K.CVE: "vulnerability",
    K.ASN: "AS",
}
# MISP types an imported observable may name in its note and that an export may use again.
TYPES_FOR_KIND: dict[str, frozenset[str]] = {
    K.IPV4: frozenset({"ip-src", "ip-dst", "ip-src|port", "ip-dst|port"}),
    K.IPV6: frozenset({"ip-src", "ip-dst", "ip-src|port", "ip-dst|port"}),
    K.CIDR: frozenset({"ip-src", "ip-dst"}),
    K.DOMAIN: frozenset({"domain", "hostname", "hostname|port"}),
    K.URL: frozenset({"url"}),
    K.EMAIL: EMAIL_TYPES,
    K.MD5: frozenset({"md5", "filename|md5", "malware-sample"}),
    K.SHA1: frozenset({"sha1", "filename|sha1"}),
    K.SHA256: frozenset({"sha256", "filename|sha256"}),
    K.CVE: frozenset({"vulnerability"}),
    K.ASN: frozenset({"AS"}),
}
# MISP's own defaults (describeTypes.json, sane_defaults): category and to_ids.
TYPE_DEFAULTS: dict[str, tuple[str, bool]] = {
    "ip-src": ("Network activity", True),
    "ip-dst": ("Network activity", True),
    "ip-src|port": ("Network activity", True),
    "ip-dst|port": ("Network activity", True),
    "domain": ("Network activity", True),
    "hostname": ("Network activity", True),
    "hostname|port": ("Network activity", True),
    "domain|ip": ("Network activity", True),
    "url": ("Network activity", True),
    "email": ("Social network", True),
    "email-src": ("Payload delivery", True),
    "email-dst": ("Network activity", True),
    "email-reply-to": ("Payload delivery", False),
    "target-email": ("Targeting data", False),
    "whois-registrant-email": ("Attribution", False),
    "dns-soa-email": ("Attribution", False),
    "md5": ("Payload delivery", True),
    "sha1": ("Payload delivery", True),
    "sha256": ("Payload delivery", True),
    "filename|md5": ("Payload delivery", True),
    "filename|sha1": ("Payload delivery", True),
    "filename|sha256": ("Payload delivery", True),
    "malware-sample": ("Payload delivery", True),
    "vulnerability": ("External analysis", False),
    "AS": ("Network activity", False),
    "link": ("External analysis", False),
    "comment": ("Other", False),
    "text": ("Other", False),
}

# --- Notes on imported observables --------------------------------------------------------------
# A note reads "ip-dst · port 443 · context only · the attribute's comment": the MISP type
# first, then what the observable alone cannot hold. The export reads it back.
NOTE_SEPARATOR = " · "
CONTEXT_ONLY = "context only"  # to_ids false where MISP's default is true
FOR_DETECTION = "for detection"  # to_ids true where MISP's default is false
SCHEME_ASSUMED = "http:// assumed"  # a url attribute without a scheme
