"""VERIS incidents as incident reports.

VERIS (the Vocabulary for Event Recording and Incident Sharing) describes an
incident by its actors, actions, assets and attributes; the VERIS Community
Database (VCDB) publishes incidents in it, one JSON file each. This module
reads such a file, checks that it is a VERIS incident, and maps it onto a
``ReportDraft``: title, summary, dates, sectors, country of origin, references,
CISSM effects, RSIT type, a few severity answers and observables.

The mapping is deliberately conservative: what VERIS does not say, or says
only loosely, stays undetermined rather than guessed. ``docs/veris.md`` gives
every rule in a table and explains each choice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django_countries import countries

from accord.membership.models import Organisation
from accord.policy import PolicyDenied

from . import anonymity
from .classification import FACTORS, Effect, validate_effects
from .models import Attribution, Audience, Kind, Marking, Report
from .observables import extract
from .services import SharingError
from .services.drafts import (
    MAX_REFERENCES,
    MAX_SUMMARY,
    ObservableInput,
    ReportDraft,
    clean_draft,
)
from .services.reports import create_report

MAX_FILE_BYTES = 5 * 1024 * 1024  # VCDB files are a few kB; anything this big is not one incident
MAX_TITLE = 120
ID_LINE_PREFIX = "VERIS incident id: "
_INCIDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}\Z")
_SCHEMA_VERSION = re.compile(r"1\.\d+(\.\d+)?\Z")


class NotVeris(ValueError):
    """The file is not (valid JSON holding) one VERIS incident; the message says why."""


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_incident(path: Path) -> dict[str, Any]:
    """Load and check one VERIS incident file, or raise ``NotVeris``."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise NotVeris(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise NotVeris(f"cannot be read: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise NotVeris("not valid JSON: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise NotVeris(f"not valid JSON: {exc.msg} ({where})") from None
    except RecursionError:
        raise NotVeris("not valid JSON: nested too deeply") from None
    return check_incident(data)


def check_incident(data: Any) -> dict[str, Any]:
    """The fields every VERIS incident has and this import relies on."""
    if not isinstance(data, dict):
        raise NotVeris("not a VERIS incident: expected one JSON object")
    incident_id = data.get("incident_id")
    if not isinstance(incident_id, str) or not incident_id.strip():
        raise NotVeris("not a VERIS incident: no incident_id")
    if not _INCIDENT_ID.match(incident_id.strip()):
        raise NotVeris("not a VERIS incident: the incident_id is not an identifier")
    version = data.get("schema_version")
    if not isinstance(version, str) or not _SCHEMA_VERSION.match(version.strip()):
        raise NotVeris(
            f"not a VERIS incident: schema_version {version!r} is not a VERIS 1.x version"
        )
    if not _dict(data.get("action")):
        raise NotVeris("not a VERIS incident: no action")
    year = _dict(_dict(data.get("timeline")).get("incident")).get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise NotVeris("not a VERIS incident: no timeline.incident.year")
    return data


# Lenient accessors: a field of the wrong type counts as missing, never as a crash.


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def incident_id(incident: dict[str, Any]) -> str:
    return str(incident["incident_id"]).strip()


def actions(incident: dict[str, Any]) -> dict[str, set[str]]:
    """Action category ("hacking", "malware", …) -> its varieties."""
    return {
        str(category): set(_strings(_dict(detail).get("variety")))
        for category, detail in _dict(incident.get("action")).items()
    }


def _attribute(incident: dict[str, Any], name: str) -> dict[str, Any]:
    return _dict(_dict(incident.get("attribute")).get(name))


def _varieties(section: dict[str, Any]) -> set[str]:
    return set(_strings(section.get("variety")))


def disclosure(incident: dict[str, Any]) -> str:
    """VERIS data_disclosure: "Yes", "Potentially", "No", "Unknown" or ""."""
    return _text(_attribute(incident, "confidentiality").get("data_disclosure"))


def data_varieties(incident: dict[str, Any]) -> set[str]:
    data = _attribute(incident, "confidentiality").get("data")
    return {_text(item.get("variety")) for item in data or [] if isinstance(item, dict)} - {""}


def asset_varieties(incident: dict[str, Any]) -> list[str]:
    assets = _dict(incident.get("asset")).get("assets")
    names = [_text(a.get("variety")) for a in assets or [] if isinstance(a, dict)]
    return [n for n in dict.fromkeys(names) if n]


def asset_classes(incident: dict[str, Any]) -> set[str]:
    """The VERIS asset classes: the letter before " - " (S server, N network,
    U user device, T terminal, M media, P person, E embedded)."""
    classes = set()
    for name in asset_varieties(incident):
        letter, sep, _rest = name.partition(" - ")
        if sep and len(letter) == 1 and letter.isalpha():
            classes.add(letter.upper())
    return classes


# --------------------------------------------------------------------------
# Effects (CISSM)
# --------------------------------------------------------------------------

# Integrity varieties that show an intruder established itself on the asset.
FOOTHOLD = frozenset(
    {
        "Software installation",
        "Repurpose",
        "Modify configuration",
        "Modify privileges",
        "Created account",
        "Log tampering",
    }
)
EXPLOIT_BY_ASSET_CLASS = {
    "S": Effect.EXPLOIT_APPLICATION_SERVERS.value,
    "U": Effect.EXPLOIT_END_HOSTS.value,
    "T": Effect.EXPLOIT_END_HOSTS.value,  # payment and public terminals are end devices
    "N": Effect.EXPLOIT_NETWORK_INFRASTRUCTURE.value,
}
DISCLOSED = frozenset({"Yes", "Potentially"})


def effects_for(incident: dict[str, Any]) -> list[str]:
    """The CISSM effects VERIS determines, or ``["undetermined"]``."""
    acts = actions(incident)
    hacking, malware = acts.get("hacking"), acts.get("malware")
    misuse, physical = acts.get("misuse"), acts.get("physical")
    availability = _varieties(_attribute(incident, "availability"))
    integrity = _varieties(_attribute(incident, "integrity"))
    # Someone broke into a system or ran code on it (an insider using their own
    # access did not, nor did a thief or a mistake).
    intrusion = hacking is not None or malware is not None
    found: set[str] = set()

    if hacking and "DoS" in hacking:
        found.add(Effect.EXTERNAL_DOS.value)
    if malware and "DoS" in malware:
        found.add(Effect.INTERNAL_DOS.value)
    disrupted_inside = (
        malware is not None or misuse is not None or bool(hacking and "DoS" not in hacking)
    )
    if disrupted_inside and availability & {"Interruption", "Degradation"}:
        found.add(Effect.INTERNAL_DOS.value)
    if (intrusion or misuse is not None) and (
        availability & {"Destruction", "Obscuration"} or "Modify data" in integrity
    ):
        found.add(Effect.DATA_ATTACK.value)
    if intrusion and integrity & {"Defacement", "Misrepresentation"}:
        found.add(Effect.MESSAGE_MANIPULATION.value)

    classes = asset_classes(incident)
    # Data disclosed or exposed means the intruder got what an exploitive attack is
    # after. A foothold alone counts only when nothing was disrupted: installing
    # ransomware is how a data attack is delivered, not an effect of its own.
    gained = disclosure(incident) in DISCLOSED or bool(integrity & FOOTHOLD and not found)
    if intrusion and gained:
        found.update(EXPLOIT_BY_ASSET_CLASS[c] for c in classes if c in EXPLOIT_BY_ASSET_CLASS)
    # a skimmer or tampered card reader: the terminal itself was made to steal
    tampered = "Hardware tampering" in integrity or disclosure(incident) in DISCLOSED
    if physical and physical & {"Tampering", "Skimmer"} and tampered and classes & {"U", "T"}:
        found.add(Effect.EXPLOIT_END_HOSTS.value)
    if (hacking and "MitM" in hacking) or (malware and "Packet sniffer" in malware):
        found.add(Effect.EXPLOIT_DATA_IN_TRANSIT.value)
    return validate_effects(sorted(found))


# --------------------------------------------------------------------------
# Incident type (RSIT)
# --------------------------------------------------------------------------

APPLICATION_EXPLOITS = frozenset(
    {
        "SQLi",
        "Exploit vuln",
        "Forced browsing",
        "RFI",
        "XSS",
        "Path traversal",
        "Buffer overflow",
        "Format string attack",
        "Cache poisoning",
        "Routing detour",
        "HTTP request smuggling",
        "Fuzz testing",
        "Abuse of functionality",
        "Virtual machine escape",
    }
)
ACCOUNT_ABUSE = frozenset(
    {
        "Use of stolen creds",
        "Backdoor",
        "Use of backdoor or C2",
        "Pass-the-hash",
        "Session fixation",
        "Session prediction",
        "Session replay",
        "Privilege escalation",
    }
)
ERROR_LEAKS = frozenset(
    {
        "Misdelivery",
        "Publishing error",
        "Gaffe",
        "Disposal error",
        "Misconfiguration",
        "Programming error",
        "Classification error",
        "Omission",
    }
)


def incident_type_for(incident: dict[str, Any]) -> str:
    """The closest RSIT type ("category:value"), or "" when VERIS does not tell.
    The first matching rule wins; the order puts what happened before how."""
    acts = actions(incident)
    hacking, malware = acts.get("hacking", set()), acts.get("malware", set())
    social, misuse = acts.get("social", set()), acts.get("misuse", set())
    physical, error = acts.get("physical", set()), acts.get("error", set())
    availability = _varieties(_attribute(incident, "availability"))
    leaked = disclosure(incident) in DISCLOSED
    confirmed = _text(incident.get("security_incident")) == "Confirmed"

    if "Ransomware" in malware and "Obscuration" in availability:
        return "information-content-security:unauthorised-information-modification"
    if "DoS" in hacking or "DoS" in malware:
        return "availability:dos"
    if "malware" in acts:
        return "malicious-code:infected-system"
    if "hacking" in acts:
        if hacking & APPLICATION_EXPLOITS:
            return "intrusions:application-compromise"
        if "Brute force" in hacking and not confirmed:
            return "intrusion-attempts:brute-force"
        # any other hacking in a confirmed incident: someone got into a system,
        # by a way VERIS names (stolen credentials, backdoor) or leaves unknown
        if hacking & ACCOUNT_ABUSE or "Brute force" in hacking or confirmed:
            return "intrusions:system-compromise"
    if "Phishing" in social:
        return "fraud:phishing"
    if social & {"Pretexting", "Elicitation", "Bribery"}:
        return "information-gathering:social-engineering"
    if physical & {"Theft"}:
        return "information-content-security:data-loss"
    if physical & {"Skimmer", "Tampering"} and leaked:
        return "information-content-security:unauthorised-information-access"
    if physical & {"Sabotage"}:
        return "availability:sabotage"
    if misuse & {"Privilege abuse", "Knowledge abuse", "Possession abuse"}:
        return "information-content-security:unauthorised-information-access"
    if misuse & {"Data mishandling"}:
        return "information-content-security:data-leak"
    if misuse & {"Unapproved hardware", "Unapproved software", "Net misuse", "Email misuse"}:
        return "fraud:unauthorised-use-of-resources"
    if error & {"Loss"} or (error and not leaked and availability & {"Loss", "Destruction"}):
        return "information-content-security:data-loss"
    if error & ERROR_LEAKS and leaked:
        return "information-content-security:data-leak"
    if error & {"Misconfiguration"} and availability & {"Interruption", "Degradation"}:
        return "availability:misconfiguration"
    if "environmental" in acts:
        return "availability:outage"
    return ""


# --------------------------------------------------------------------------
# Severity (a few factors only)
# --------------------------------------------------------------------------

PERSONAL_DATA = frozenset({"Personal", "Medical", "Payment", "Bank", "Sensitive Personal"})
PROPRIETARY_DATA = frozenset({"Secrets", "Internal"})
ACTOR_OPTIONS = {
    "Nation-state": "nation-state",
    "State-affiliated": "nation-state",
    "Organized crime": "criminal",
    "Activist": "hacktivist",
}
_OPTION_VALUE = {(f.code, o.code): o.value for f in FACTORS for o in f.options}


def _worst(factor: str, options: Iterable[str]) -> str | None:
    ranked = sorted(options, key=lambda code: _OPTION_VALUE[(factor, code)])
    return ranked[-1] if ranked else None


def severity_for(incident: dict[str, Any]) -> dict[str, str]:
    """Answers to the severity factors VERIS clearly determines; the rest stay unknown."""
    acts = actions(incident)
    answers: dict[str, str] = {}
    accidental = bool(acts) and set(acts) <= {"error", "environmental"}
    availability = _varieties(_attribute(incident, "availability"))
    integrity = _varieties(_attribute(incident, "integrity"))

    data = data_varieties(incident)
    if disclosure(incident) == "Yes":
        impact = []
        if data & PERSONAL_DATA:
            impact.append("privacy-data-breach")
        if data & PROPRIETARY_DATA:
            impact.append("proprietary-breach")
        if worst := _worst("information-impact", impact):
            answers["information-impact"] = worst
    elif disclosure(incident) == "Potentially":
        answers["information-impact"] = "suspected-but-not-identified"

    actor = _dict(incident.get("actor"))
    kinds = []
    for variety in _strings(_dict(actor.get("external")).get("variety")):
        if variety in ACTOR_OPTIONS:
            kinds.append(ACTOR_OPTIONS[variety])
    if "misuse" in acts and ({"internal", "partner"} & set(actor)):
        kinds.append("insider")
    if accidental:
        kinds.append("no-adversary")
    if worst := _worst("actor", kinds):
        answers["actor"] = worst

    if accidental:
        answers["observed-activity"] = "none"
    elif (
        _text(incident.get("security_incident")) == "Confirmed"
        and acts.keys() & {"hacking", "malware", "social", "misuse", "physical"}
        and (
            disclosure(incident) == "Yes"
            or integrity & {"Modify data", "Defacement"}
            or availability & {"Destruction", "Obscuration", "Interruption"}
        )
    ):
        answers["observed-activity"] = "effect"

    duration = _dict(_attribute(incident, "availability").get("duration"))
    if _text(duration.get("unit")) == "Never":
        answers["recoverability"] = "not-recoverable"
    return answers


# --------------------------------------------------------------------------
# Victim: sectors and words
# --------------------------------------------------------------------------

# NAICS code prefix -> Accord sector; the longest matching prefix wins.
NAICS_SECTORS: dict[str, str] = {
    "211": "energy",  # oil and gas extraction
    "2211": "energy",  # electric power
    "2212": "energy",  # natural gas distribution
    "22131": "drinking-water",
    "22132": "waste-water",
    "22133": "energy",  # steam and air-conditioning supply (district heating)
    "311": "food",
    "312": "food",
    "32411": "energy",  # petroleum refineries
    "325": "chemicals",
    "3254": "health",  # pharmaceuticals
    "333": "manufacturing",
    "334": "manufacturing",
    "335": "manufacturing",
    "336": "manufacturing",
    "3391": "manufacturing",  # medical equipment
    "332992": "defence-industry",  # small-arms ammunition
    "332993": "defence-industry",  # ammunition
    "332994": "defence-industry",  # small arms and ordnance
    "336414": "defence-industry",  # guided missiles and space vehicles
    "336415": "defence-industry",
    "336419": "defence-industry",
    "336992": "defence-industry",  # military armoured vehicles
    "4244": "food",  # grocery wholesale
    "445": "food",  # food and beverage stores
    "4541": "digital-providers",  # electronic shopping and auctions (online marketplaces)
    "481": "transport",
    "482": "transport",
    "483": "transport",
    "484": "transport",
    "485": "transport",
    "486": "energy",  # pipelines
    "487": "transport",
    "488": "transport",
    "491": "postal",
    "492": "postal",
    "493": "transport",  # warehousing and storage
    "5111": "media",  # newspaper, periodical and book publishers
    "515": "media",  # broadcasting
    "516": "digital-providers",  # internet publishing and broadcasting (NAICS 2002)
    "517": "telecom",
    "518": "digital-infrastructure",  # data processing and hosting
    "51911": "media",  # news syndicates
    "51913": "digital-providers",  # internet publishing, broadcasting and web search portals
    "5415": "ict-service-management",  # computer systems design and related services
    "5417": "research",  # scientific research and development
    "521": "banking",
    "522": "banking",
    "5232": "financial-market",  # securities and commodity exchanges
    "562": "waste-management",
    "611": "education",
    "621": "health",
    "622": "health",
    "623": "health",  # nursing and residential care
    "921": "public-administration",
    "922": "public-administration",
    "923": "public-administration",
    "924": "public-administration",
    "925": "public-administration",
    "926": "public-administration",
    "927": "space",
    "928": "public-administration",
    "92": "public-administration",
}

# The NAICS 2-digit sectors, for titles and summaries.
NAICS_NAMES: dict[str, str] = {
    "11": "Agriculture, Forestry, Fishing and Hunting",
    "21": "Mining, Quarrying, and Oil and Gas Extraction",
    "22": "Utilities",
    "23": "Construction",
    "31": "Manufacturing",
    "32": "Manufacturing",
    "33": "Manufacturing",
    "42": "Wholesale Trade",
    "44": "Retail Trade",
    "45": "Retail Trade",
    "48": "Transportation and Warehousing",
    "49": "Transportation and Warehousing",
    "51": "Information",
    "52": "Finance and Insurance",
    "53": "Real Estate and Rental and Leasing",
    "54": "Professional, Scientific, and Technical Services",
    "55": "Management of Companies and Enterprises",
    "56": "Administrative and Support and Waste Management and Remediation Services",
    "61": "Educational Services",
    "62": "Health Care and Social Assistance",
    "71": "Arts, Entertainment, and Recreation",
    "72": "Accommodation and Food Services",
    "81": "Other Services (except Public Administration)",
    "92": "Public Administration",
}


def industry_code(incident: dict[str, Any]) -> str:
    code = _dict(incident.get("victim")).get("industry")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    code = _text(code)
    return code if code.isdigit() and 2 <= len(code) <= 6 else ""


def sectors_for(incident: dict[str, Any]) -> list[str]:
    code = industry_code(incident)
    for length in range(len(code), 1, -1):
        if code[:length] in NAICS_SECTORS:
            return [NAICS_SECTORS[code[:length]]]
    return []


def _victim_countries(incident: dict[str, Any]) -> list[str]:
    names = _strings(_dict(incident.get("victim")).get("country"))
    return [c.upper() for c in names if c.upper() in dict(countries)]


def _real_country(code: str) -> str:
    code = code.strip().upper()
    return code if code in dict(countries) else ""


def country_of_origin_for(incident: dict[str, Any]) -> str:
    """The external actor's country, if VERIS names exactly one real one."""
    external = _dict(_dict(incident.get("actor")).get("external"))
    found = {_real_country(c) for c in _strings(external.get("country"))} - {""}
    return found.pop() if len(found) == 1 else ""


# --------------------------------------------------------------------------
# Text: title, summary, references, dates, observables
# --------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(]?[A-Z0-9])")


def _first_sentence(text: str) -> str:
    text = " ".join(text.split()).strip("\"' ")
    for match in _SENTENCE_END.finditer(text):
        word = text[: match.start()].rsplit(" ", 1)[-1]
        # "Dr.", "Inc.", "U.S." end abbreviations, not sentences
        if len(word) <= 3 or re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):
            continue
        return text[: match.end()]
    return text


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def title_for(incident: dict[str, Any]) -> str:
    sentence = _first_sentence(_text(incident.get("summary")))
    if len(sentence) >= 3:
        return _shorten(sentence, MAX_TITLE)
    code = industry_code(incident)
    where = [NAICS_NAMES.get(code[:2], "")] if code else []
    where += _victim_countries(incident)[:1]
    year = _dict(_dict(incident.get("timeline")).get("incident")).get("year")
    label = ", ".join(w for w in where if w)
    return _shorten(" ".join(str(p) for p in ("VERIS incident", label, year) if p), MAX_TITLE)


def first_seen_for(incident: dict[str, Any]) -> dt.datetime | None:
    """``timeline.incident``; a missing month or day counts as the first. Dates
    the platform refuses (before 1990, in the future) are left out."""
    when = _dict(_dict(incident.get("timeline")).get("incident"))
    year = when.get("year")
    month = when.get("month") if isinstance(when.get("month"), int) else 1
    day = when.get("day") if isinstance(when.get("day"), int) else 1
    if not isinstance(year, int) or not 1990 <= year <= 9999:
        return None
    for y, m, d in ((year, month, day), (year, month, 1), (year, 1, 1)):
        try:
            moment = dt.datetime(y, m, d, tzinfo=dt.UTC)
        except ValueError:
            continue
        return moment if moment <= timezone.now() else None
    return None


def references_for(incident: dict[str, Any]) -> list[str]:
    """``reference`` split on ";" (and on "," before another address), keeping
    http(s) addresses only. VCDB often appends a date ("http://… (20140206)"),
    sometimes without a space."""
    found: list[str] = []
    for part in re.split(r";|,(?=\s*https?://)", _text(incident.get("reference"))):
        words = part.split()
        if not words:
            continue
        url = re.sub(r"\(\d{8}\)\Z", "", words[0])
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.netloc and len(url) <= 2048:
            found.append(url)
    return list(dict.fromkeys(found))[:MAX_REFERENCES]


def observables_for(incident: dict[str, Any]) -> list[ObservableInput]:
    """What ``observables.extract`` finds in the summary, the notes and the CVE
    fields of the actions (VERIS rarely carries indicators)."""
    texts = [_text(incident.get("summary")), _text(incident.get("notes"))]
    texts += [_text(_dict(a).get("cve")) for a in _dict(incident.get("action")).values()]
    found = extract("\n".join(t for t in texts if t), limit=200)
    return [ObservableInput(e.value, kind=e.kind, note="Named in the VERIS record") for e in found]


def _words(values: Iterable[str]) -> str:
    return ", ".join(values)


def _part(name: str, facts: list[str]) -> str:
    return f"{name} ({'; '.join(facts)})" if facts else name


def _actors_line(incident: dict[str, Any]) -> str:
    parts = []
    for kind, detail in _dict(incident.get("actor")).items():
        detail = _dict(detail)
        facts = []
        for field in ("variety", "motive", "country"):
            values = [v for v in _strings(detail.get(field)) if v != "Unknown"]
            if values:
                facts.append(f"{field} {_words(values)}")
        if names := _strings(detail.get("name")):
            facts.append(f"known as {_words(names)}")
        parts.append(_part(str(kind), facts))
    return "; ".join(parts)


def _actions_line(incident: dict[str, Any]) -> str:
    parts = []
    for category, detail in _dict(incident.get("action")).items():
        detail = _dict(detail)
        facts = []
        if varieties := _strings(detail.get("variety")):
            facts.append(_words(varieties))
        if vectors := _strings(detail.get("vector")):
            facts.append(f"vector {_words(vectors)}")
        parts.append(_part(str(category), facts))
    return "; ".join(parts)


def _attributes_line(incident: dict[str, Any]) -> str:
    parts = []
    if confidentiality := _attribute(incident, "confidentiality"):
        facts = []
        if disclosure(incident):
            facts.append(f"data disclosed: {disclosure(incident)}")
        if data := data_varieties(incident):
            facts.append(f"data: {_words(sorted(data))}")
        total = confidentiality.get("data_total")
        if isinstance(total, int) and not isinstance(total, bool) and total > 0:
            facts.append(f"records: {total:,}")
        parts.append(_part("confidentiality", facts))
    for name in ("integrity", "availability"):
        if section := _attribute(incident, name):
            facts = [_words(sorted(_varieties(section)))] if _varieties(section) else []
            unit = _text(_dict(section.get("duration")).get("unit"))
            if unit and unit != "Unknown":
                facts.append(f"duration: {unit}")
            parts.append(_part(name, facts))
    return "; ".join(parts)


def _victim_line(incident: dict[str, Any]) -> str:
    """Industry, country and size; never the victim's name (``victim_id``): an
    organisation importing its own incidents anonymously would be named by it."""
    facts = []
    if code := industry_code(incident):
        name = NAICS_NAMES.get(code[:2])
        facts.append(f"industry NAICS {code}" + (f" ({name})" if name else ""))
    if found := _victim_countries(incident):
        facts.append(f"country {_words(found)}")
    size = _text(_dict(incident.get("victim")).get("employee_count"))
    if size and size != "Unknown":
        facts.append(f"employees {size}")
    return "; ".join(facts)


def _date_line(incident: dict[str, Any]) -> str:
    when = _dict(_dict(incident.get("timeline")).get("incident"))
    parts = [when.get(key) for key in ("year", "month", "day")]
    shown = []
    for position, value in enumerate(parts):
        if isinstance(value, bool) or not isinstance(value, int):
            break
        shown.append(str(value) if position == 0 else f"{value:02d}")
    return "-".join(shown)


def _structured_block(incident: dict[str, Any]) -> list[str]:
    """The VERIS record in words, in VERIS's own vocabulary."""
    status = _text(incident.get("security_incident"))
    rows = [
        ("Actors", _actors_line(incident)),
        ("Actions", _actions_line(incident)),
        ("Assets", _words(asset_varieties(incident))),
        ("Attributes", _attributes_line(incident)),
        ("Victim", _victim_line(incident)),
        ("Incident date", _date_line(incident)),
        ("Security incident", status),
        ("VERIS schema", _text(incident.get("schema_version"))),
    ]
    return [f"- {label}: {value}" for label, value in rows if value]


def id_line(veris_id: str) -> str:
    return f"{ID_LINE_PREFIX}{veris_id}"


def summary_for(incident: dict[str, Any]) -> str:
    """The VERIS summary and notes, the record in words, and the incident id
    as the last line (duplicate imports are recognised by it)."""
    tail = "\n".join(["", "**From the VERIS record**", "", *_structured_block(incident), ""])
    tail += "\n" + id_line(incident_id(incident))
    body = "\n\n".join(
        t for t in (_text(incident.get("summary")), _text(incident.get("notes"))) if t
    )
    room = MAX_SUMMARY - len(tail) - 1
    return (_shorten(body, room) + "\n" if body else "") + (tail if body else tail.lstrip("\n"))


# --------------------------------------------------------------------------
# The draft and the import
# --------------------------------------------------------------------------


def to_draft(
    incident: dict[str, Any],
    *,
    marking: str = Marking.GREEN,
    audience: str = Audience.NETWORK,
    attribution: str = Attribution.NAMED,
) -> ReportDraft:
    return ReportDraft(
        kind=Kind.INCIDENT,
        title=title_for(incident),
        summary=summary_for(incident),
        first_seen=first_seen_for(incident),
        sectors=sectors_for(incident),
        country_of_origin=country_of_origin_for(incident),
        references=references_for(incident),
        marking=marking,
        audience=audience,
        attribution=attribution,
        effects=effects_for(incident),
        incident_type=incident_type_for(incident),
        severity=severity_for(incident),
        observables=observables_for(incident),
    )


def find_existing(organisation: Organisation, veris_id: str) -> Report | None:
    """A report this organisation already filed for the VERIS incident, named,
    pseudonymous or anonymous (the latter recognised by its authorship tag)."""
    candidates = Report.objects.filter(summary__endswith=id_line(veris_id)).only(
        "id", "reporter_organisation_id", "authorship_tag", "summary"
    )
    for report in candidates:
        if not report.summary.endswith("\n" + id_line(veris_id)):
            continue  # a longer id that ends the same way
        if report.reporter_organisation_id == organisation.pk:
            return report
        if report.authorship_tag and anonymity.is_author(
            [organisation.pk], report.pk, report.authorship_tag
        ):
            return report
    return None


@dataclass
class Outcome:
    status: str  # "imported", "duplicate" or "failed"
    veris_id: str
    report: Report | None = None
    reason: str = ""


def import_incident(
    user: Any,
    organisation: Organisation,
    incident: dict[str, Any],
    *,
    marking: str = Marking.GREEN,
    audience: str = Audience.NETWORK,
    attribution: str = Attribution.NAMED,
    dry_run: bool = False,
) -> Outcome:
    """File one incident for ``organisation`` in its own transaction, unless it
    was filed before. A dry run validates the draft and stores nothing."""
    veris_id = incident_id(incident)
    draft = to_draft(incident, marking=marking, audience=audience, attribution=attribution)
    try:
        with transaction.atomic():
            # one import at a time per organisation, so two runs cannot both
            # miss each other's report and file it twice
            Organisation.objects.select_for_update().get(pk=organisation.pk)
            existing = find_existing(organisation, veris_id)
            if existing is not None:
                return Outcome("duplicate", veris_id, existing)
            if dry_run:
                clean_draft(user, draft)
                return Outcome("imported", veris_id)
            report = create_report(user, draft, organisation_id=organisation.pk, notify=False)
    except SharingError as exc:
        return Outcome("failed", veris_id, reason=str(exc.as_detail()))
    except PolicyDenied as exc:
        return Outcome("failed", veris_id, reason=exc.message)
    return Outcome("imported", veris_id, report)
