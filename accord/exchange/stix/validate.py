"""Checking one STIX 2.1 object, and reading observables out of simple patterns.

:func:`check` answers whether an object may be stored: the common properties
(type, id of the form ``type--UUID``, spec_version 2.1, timestamps with
``modified`` not before ``created``) and the properties each main type
requires. It returns the object's version (its ``modified``, else ``created``,
else None for objects without either, such as cyber observables) or raises
:class:`Invalid` with a message for the status resource.

Indicator patterns of ``pattern_type`` ``stix`` must parse. The full grammar
check (``stix2patterns``) costs a fraction of a millisecond per pattern, too
slow for bulk feeds, so the patterns feeds are made of — comparisons of an
address, domain, URL, e-mail address or file hash with a string, joined by
``OR`` — are recognised by a strict expression of that subset first. Every
pattern it accepts is valid in the full grammar too; anything else goes to
``stix2patterns``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any, NamedTuple

from accord.sharing.observables import InvalidObservable, parse

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
ID = re.compile(rf"^([a-z0-9][a-z0-9-]*[a-z0-9])--({UUID})$")
TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
# RFC 3339 in UTC with a "Z", as STIX 2.1 requires; fractions of any length.
TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z$")

SDO_TYPES = frozenset(
    {
        "attack-pattern",
        "campaign",
        "course-of-action",
        "grouping",
        "identity",
        "incident",
        "indicator",
        "infrastructure",
        "intrusion-set",
        "location",
        "malware",
        "malware-analysis",
        "note",
        "observed-data",
        "opinion",
        "report",
        "threat-actor",
        "tool",
        "vulnerability",
    }
)
SRO_TYPES = frozenset({"relationship", "sighting"})
META_TYPES = frozenset({"marking-definition", "extension-definition", "language-content"})
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)

# Besides the common ones: what each type must carry (STIX 2.1, section 4-6).
REQUIRED: dict[str, tuple[str, ...]] = {
    "attack-pattern": ("name",),
    "campaign": ("name",),
    "course-of-action": ("name",),
    "grouping": ("context", "object_refs"),
    "identity": ("name",),
    "incident": ("name",),
    "indicator": ("pattern", "pattern_type", "valid_from"),
    "infrastructure": ("name",),
    "intrusion-set": ("name",),
    "malware": ("is_family",),
    "malware-analysis": ("product",),
    "note": ("content", "object_refs"),
    "observed-data": ("first_observed", "last_observed", "number_observed"),
    "opinion": ("opinion", "object_refs"),
    "report": ("name", "published", "object_refs"),
    "threat-actor": ("name",),
    "tool": ("name",),
    "vulnerability": ("name",),
    "relationship": ("relationship_type", "source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
    "extension-definition": ("name", "schema", "version", "extension_types", "created_by_ref"),
    "language-content": ("object_ref", "contents"),
    "autonomous-system": ("number",),
    "domain-name": ("value",),
    "email-addr": ("value",),
    "ipv4-addr": ("value",),
    "ipv6-addr": ("value",),
    "mac-addr": ("value",),
    "url": ("value",),
    "mutex": ("name",),
    "directory": ("path",),
    "software": ("name",),
    "windows-registry-key": (),
}
_REF_SUFFIXES = ("_ref", "_refs")


class Invalid(ValueError):
    """This object cannot be stored; ``str(exc)`` is the reason."""


class Checked(NamedTuple):
    """What checking an object found out, so nothing is worked out twice."""

    version_at: dt.datetime | None  # modified, else created, else None (cyber observables)
    version: str  # the same as sent ("" when there is none)
    references: list[str]  # ids named by the standard *_ref(s) properties
    observables: list[tuple[str, str]]  # (kind, value) an indicator or observable stands for


def is_timestamp(value: Any) -> bool:
    return isinstance(value, str) and TIMESTAMP.match(value) is not None


def timestamp(value: Any, name: str) -> dt.datetime:
    """A STIX timestamp as an aware datetime (microseconds: finer digits are dropped)."""
    moment = _moment(value) if isinstance(value, str) else None
    if moment is None:
        raise Invalid(
            f"{name} {str(value)[:40]!r} is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.sss]Z)."
        )
    if moment is _IMPOSSIBLE:
        raise Invalid(f"{name} {value!r} is not a real date and time.")
    return moment


_IMPOSSIBLE = dt.datetime.min.replace(tzinfo=dt.UTC)


@functools.lru_cache(maxsize=4096)  # feeds repeat timestamps: created = modified = valid_from
def _moment(value: str) -> dt.datetime | None:
    match = TIMESTAMP.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),  # a leap second is read as :59
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=dt.UTC,
        )
    except ValueError:
        return _IMPOSSIBLE


_KINDS = {
    **{t: "sdo" for t in SDO_TYPES},
    **{t: "sro" for t in SRO_TYPES},
    **{t: "sco" for t in SCO_TYPES},
    **{t: "meta" for t in META_TYPES},
}


def check(obj: dict[str, Any]) -> Checked:
    """Validate ``obj``; raise :class:`Invalid` with the reason if it may not be stored."""
    stix_type = obj.get("type")
    stix_id = obj.get("id")
    match = ID.match(stix_id) if isinstance(stix_id, str) else None
    if match is None or match.group(1) != stix_type or not 3 <= len(stix_type) <= 250:
        _refuse_identity(stix_type, stix_id)
    kind = _KINDS.get(stix_type, "custom")
    spec_version = obj.get("spec_version")
    if spec_version is None:
        if kind in ("sdo", "sro", "meta") or (kind == "custom" and "created" in obj):
            raise Invalid('spec_version is missing; STIX 2.1 objects carry "spec_version": "2.1".')
    elif spec_version == "2.0":
        raise Invalid("spec_version 2.0: only STIX 2.1 is accepted.")
    elif spec_version != "2.1":
        raise Invalid(f"spec_version {str(spec_version)[:20]!r} is not 2.1.")
    for name in REQUIRED.get(stix_type, ()):
        if obj.get(name) in (None, "", []):
            raise Invalid(f"{stix_type} requires the property {name}.")
    created = modified = None
    if "created" in obj:
        created = timestamp(obj["created"], "created")
    elif kind in ("sdo", "sro", "meta"):
        raise Invalid(f"{stix_type} requires the property created.")
    if "modified" in obj:
        modified = timestamp(obj["modified"], "modified")
    elif kind in ("sdo", "sro"):
        raise Invalid(f"{stix_type} requires the property modified.")
    if created and modified and modified < created:
        raise Invalid(f"modified {obj['modified']} is before created {obj['created']}.")
    refs = _check_refs(obj)
    observables: list[tuple[str, str]] = []
    if stix_type == "indicator":
        observables = _check_indicator(obj)
    elif kind == "sco":
        found = sco_observable(obj)
        observables = [found] if found else []
    elif stix_type == "malware" and obj.get("is_family") is True and not obj.get("name"):
        raise Invalid("a malware family requires the property name.")
    if modified is not None:
        return Checked(modified, obj["modified"], refs, observables)
    if created is not None:
        return Checked(created, obj["created"], refs, observables)
    return Checked(None, "", refs, observables)


def _refuse_identity(stix_type: Any, stix_id: Any) -> None:
    """Say what is wrong with an object's type or id (the slow path of :func:`check`)."""
    if stix_type is None:
        raise Invalid("type is missing.")
    if not isinstance(stix_type, str) or not TYPE.match(stix_type):
        raise Invalid(f"type {str(stix_type)[:40]!r} is not a STIX type name.")
    if stix_id is None:
        raise Invalid("id is missing.")
    if not isinstance(stix_id, str) or not ID.match(stix_id):
        raise Invalid(f"id {str(stix_id)[:80]!r} is not of the form {stix_type}--<UUID>.")
    raise Invalid(f"id {stix_id} does not start with its type '{stix_type}--'.")


def _check_refs(obj: dict[str, Any]) -> list[str]:
    """Check the shape of the standard references and return the ids they name."""
    found: list[str] = []
    for name, value in obj.items():
        if name.endswith(_REF_SUFFIXES):
            if name.startswith("x_"):
                continue  # custom properties are the producer's business
            if name[-1] == "s":
                if not isinstance(value, list):
                    raise Invalid(f"{name} must be a list of STIX ids.")
                for ref in value:
                    if not isinstance(ref, str) or ID.match(ref) is None:
                        raise Invalid(f"{name} must be a list of STIX ids.")
                found.extend(value)
            else:
                if not (isinstance(value, str) and ID.match(value)):
                    raise Invalid(f"{name} must be a STIX id.")
                found.append(value)
    markings = obj.get("object_marking_refs")
    if markings:
        for ref in markings:
            if not ref.startswith("marking-definition--"):
                raise Invalid("object_marking_refs may only name marking-definition objects.")
    granular = obj.get("granular_markings")
    if granular:
        for marking in granular if isinstance(granular, list) else ():
            if isinstance(marking, dict) and isinstance(marking.get("marking_ref"), str):
                found.append(marking["marking_ref"])
    return found


def references(obj: dict[str, Any]) -> list[str]:
    """The ids this object refers to through the standard (non-custom) properties."""
    try:
        return _check_refs(obj)
    except Invalid:
        return []


def _check_indicator(obj: dict[str, Any]) -> list[tuple[str, str]]:
    valid_from = timestamp(obj["valid_from"], "valid_from")
    if "valid_until" in obj and timestamp(obj["valid_until"], "valid_until") <= valid_from:
        raise Invalid("valid_until must be later than valid_from.")
    pattern = obj["pattern"]
    if not isinstance(pattern, str):
        raise Invalid("pattern must be a string.")
    if obj["pattern_type"] == "stix":
        return pattern_observables(pattern, validate=True)
    return []


# --- Patterns ---------------------------------------------------------------------------

# One comparison: an object path, "=" or "ISSUBSET", and a string (or, after "=", an
# integer). Groups: type, path, "=", "ISSUBSET", string, integer.
_COMPARISON = re.compile(
    r"\s*([a-z][a-z0-9-]*[a-z0-9]):(value|number|hashes\.(?:'[A-Za-z0-9-]+'|[A-Za-z0-9]+))"
    r"(?:\s*(=)\s*|\s+(ISSUBSET)\s+)"
    r"(?:'((?:[^'\\]|\\['\\])*)'|(0|[1-9][0-9]{0,17}))\s*"
)
_JOIN = re.compile(r"(OR)\s+|(\])\s+OR\s+\[|(\])\s*$")
_ONE = re.compile(rf"\[{_COMPARISON.pattern}\]")

# (object type, property) → observable kind; ipv4-addr may also hold a network.
_PATHS: dict[tuple[str, str], str] = {
    ("ipv4-addr", "value"): "ipv4",
    ("ipv6-addr", "value"): "ipv6",
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("email-addr", "value"): "email",
}
_HASHES = {"MD5": "md5", "SHA1": "sha1", "SHA-1": "sha1", "SHA256": "sha256", "SHA-256": "sha256"}

# A comparison as (object type, path, operator, value): the operator "=" or "ISSUBSET",
# the value a string, or an int for an integer literal.
Comparison = tuple[str, str, str, "str | int"]


def _comparison(match: re.Match[str]) -> Comparison | None:
    stix_type, path, equals, subset, text, number = match.groups()
    if path.startswith("hashes.") and path[7:].strip("'").upper() not in _HASHES:
        return None  # other algorithms: the full check knows their forms
    if text is None:
        if subset or path.startswith("hashes."):
            return None  # ISSUBSET takes a string; a hash as a number is for the full check
        return stix_type, path, "=", int(number)
    return stix_type, path, equals or subset, text.replace("\\'", "'").replace("\\\\", "\\")


def _simple(pattern: str) -> list[Comparison] | None:
    """The comparisons of a pattern of the simple subset, or None when the pattern
    is anything more (or not a pattern at all)."""
    one = _ONE.fullmatch(pattern)
    if one is not None:  # the usual feed: one comparison, one regular-expression match
        comparison = _comparison(one)
        return [comparison] if comparison else None
    text = pattern.strip()
    if not text.startswith("["):
        return None
    position, end = 1, len(text)
    found: list[Comparison] = []
    while True:
        match = _COMPARISON.match(text, position)
        comparison = _comparison(match) if match else None
        if comparison is None:
            return None
        found.append(comparison)
        position = match.end()  # type: ignore[union-attr]
        join = _JOIN.match(text, position)
        if join is None:
            return None
        position = join.end()
        if join.group(3):  # the closing bracket at the very end
            return found if position == end else None


# Values already in their canonical form, the usual case in feeds, need no normalising:
# these shapes are exactly what ``accord.sharing.observables.normalise`` returns unchanged
# (no defanging characters, lower case, no leading zeros, no IDNA labels).
_CANONICAL = {
    "ipv4": re.compile(
        r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
        r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    ),
    "domain": re.compile(r"(?:(?!xn--)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z]{2,63}"),
    "md5": re.compile(r"[0-9a-f]{32}"),
    "sha1": re.compile(r"[0-9a-f]{40}"),
    "sha256": re.compile(r"[0-9a-f]{64}"),
}


def _parse(value: str, kind: str) -> tuple[str, str]:
    shape = _CANONICAL.get(kind)
    if shape is not None and len(value) <= 253 and shape.fullmatch(value):
        return kind, value
    return parse(value, kind)


def _observable(comparison: Comparison) -> tuple[str, str] | None:
    """The observable a comparison names, or None if it names none we keep.
    Raises InvalidObservable when a value has the wrong form for its kind."""
    stix_type, path, operator, value = comparison
    if isinstance(value, int):
        if stix_type == "autonomous-system" and path == "number":
            return parse(f"AS{value}", "asn")
        return None
    if path.startswith("hashes."):
        kind = _HASHES.get(path[7:].strip("'").upper()) if stix_type == "file" else None
        return _parse(value, kind) if kind else None
    kind = _PATHS.get((stix_type, path))
    if kind is None:
        return None
    if operator == "ISSUBSET":  # an address within a network: the network
        return _parse(value, "cidr") if kind in ("ipv4", "ipv6") else None
    if kind in ("ipv4", "ipv6") and "/" in value:
        kind = "cidr"
    return _parse(value, kind)


def pattern_observables(pattern: str, *, validate: bool = False) -> list[tuple[str, str]]:
    """The observables of a simple pattern ([] for other patterns). With ``validate``,
    raise :class:`Invalid` when the pattern does not parse."""
    comparisons = _simple(pattern)
    if comparisons is not None:
        found: list[tuple[str, str]] = []
        try:
            for comparison in comparisons:
                observable = _observable(comparison)
                if observable is not None:
                    found.append(observable)
            return found
        except InvalidObservable:
            pass  # the grammar may still accept it: let the full check decide
    if validate:
        _full_check(pattern)
    return []


def _full_check(pattern: str) -> None:
    from stix2patterns.validator import run_validator

    errors = run_validator(pattern, stix_version="2.1")
    if errors:
        message = str(errors[0]).removeprefix("FAIL: ")
        raise Invalid(f"pattern does not parse: {message}")


def sco_observable(obj: dict[str, Any]) -> tuple[str, str] | None:
    """The observable a cyber-observable object stands for, if we keep its kind."""
    stix_type = obj["type"]
    try:
        if stix_type == "file":
            hashes = obj.get("hashes") or {}
            for algorithm in ("SHA-256", "SHA-1", "MD5"):
                if isinstance(hashes.get(algorithm), str):
                    return _parse(hashes[algorithm], _HASHES[algorithm])
            return None
        if stix_type == "autonomous-system":
            number = obj.get("number")
            if isinstance(number, bool) or not isinstance(number, int):
                return None
            return parse(f"AS{number}", "asn")
        kind = _PATHS.get((stix_type, "value"))
        value = obj.get("value")
        if kind is None or not isinstance(value, str):
            return None
        if kind in ("ipv4", "ipv6") and "/" in value:
            kind = "cidr"
        return _parse(value, kind)
    except InvalidObservable:
        return None
