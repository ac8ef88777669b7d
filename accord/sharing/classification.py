"""How an incident is classified and how severe it is.

Four vocabularies and one scoring model, all plain code so that every
installation uses the same codes (``docs/classification.md`` explains them for
people):

- the effects of an incident, from the CISSM effects-based taxonomy
  (Harry and Gallagher): what the attacker did to the victim;
- the incident type, from the Reference Security Incident Taxonomy (RSIT) of
  TF-CSIRT and ENISA, read from ``data/rsit.json`` (shipped unchanged);
- the components of the internet's public core an incident may touch;
- the severity: eight weighted factors, shaped like the US National Cyber
  Incident Scoring System, giving a 0-100 score and a level 0-5. The values,
  weights and thresholds are this network's own defaults, not an official
  calibration, and the coordinator can change weights and thresholds.

Task areas are not repeated here: they are ``accord.membership.taxonomy.TASKS``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.membership.taxonomy import TASKS

# --------------------------------------------------------------------------
# CISSM effects
# --------------------------------------------------------------------------


class Effect(models.TextChoices):
    """What an incident did to its victim (CISSM effects-based taxonomy)."""

    MESSAGE_MANIPULATION = "message-manipulation", _("Message manipulation")
    EXTERNAL_DOS = "external-dos", _("External denial of service")
    INTERNAL_DOS = "internal-dos", _("Internal denial of service")
    DATA_ATTACK = "data-attack", _("Data attack")
    PHYSICAL_ATTACK = "physical-attack", _("Physical attack")
    EXPLOIT_SENSORS = "exploit-sensors", _("Exploitation of sensors")
    EXPLOIT_END_HOSTS = "exploit-end-hosts", _("Exploitation of end hosts")
    EXPLOIT_NETWORK_INFRASTRUCTURE = (
        "exploit-network-infrastructure",
        _("Exploitation of network infrastructure"),
    )
    EXPLOIT_APPLICATION_SERVERS = (
        "exploit-application-servers",
        _("Exploitation of application servers"),
    )
    EXPLOIT_DATA_IN_TRANSIT = "exploit-data-in-transit", _("Exploitation of data in transit")
    MIXED = "mixed", _("Mixed")
    UNDETERMINED = "undetermined", _("Undetermined")


EFFECT_FAMILY: dict[str, str] = {
    Effect.MESSAGE_MANIPULATION.value: "disruptive",
    Effect.EXTERNAL_DOS.value: "disruptive",
    Effect.INTERNAL_DOS.value: "disruptive",
    Effect.DATA_ATTACK.value: "disruptive",
    Effect.PHYSICAL_ATTACK.value: "disruptive",
    Effect.EXPLOIT_SENSORS.value: "exploitive",
    Effect.EXPLOIT_END_HOSTS.value: "exploitive",
    Effect.EXPLOIT_NETWORK_INFRASTRUCTURE.value: "exploitive",
    Effect.EXPLOIT_APPLICATION_SERVERS.value: "exploitive",
    Effect.EXPLOIT_DATA_IN_TRANSIT.value: "exploitive",
    Effect.MIXED.value: "other",
    Effect.UNDETERMINED.value: "other",
}

EFFECT_FAMILY_LABELS: dict[str, str] = {
    "disruptive": _("Disruptive: something stopped working or could not be trusted"),
    "exploitive": _("Exploitive: someone got in to watch, steal or keep access"),
    "other": _("Other"),
}

# One line each for someone who is not a security specialist.
EFFECT_HELP: dict[str, str] = {
    Effect.MESSAGE_MANIPULATION.value: _(
        "What you show or send to others was changed or taken over: a defaced web site, "
        "a hijacked social-media account, false messages in your name."
    ),
    Effect.EXTERNAL_DOS.value: _(
        "Your services were flooded or blocked from outside without the attacker getting "
        "in, for example by a distributed denial-of-service (DDoS) attack."
    ),
    Effect.INTERNAL_DOS.value: _(
        "Someone with access inside your systems made them stop working: devices shut "
        "down, locked, wiped of their start-up software or overloaded from within."
    ),
    Effect.DATA_ATTACK.value: _(
        "Your data were deleted, corrupted, encrypted (as by ransomware) or altered so "
        "that they can no longer be trusted."
    ),
    Effect.PHYSICAL_ATTACK.value: _(
        "Computers were used to damage or misdirect physical equipment: machines, "
        "valves, pumps, power or building systems."
    ),
    Effect.EXPLOIT_SENSORS.value: _(
        "Sensors or measuring devices (cameras, meters, industrial sensors) were used "
        "to watch or to collect information."
    ),
    Effect.EXPLOIT_END_HOSTS.value: _(
        "People's computers, laptops or phones were taken over to steal information "
        "or to keep a foothold."
    ),
    Effect.EXPLOIT_NETWORK_INFRASTRUCTURE.value: _(
        "Routers, switches, firewalls or other network equipment were taken over to "
        "watch or steer traffic."
    ),
    Effect.EXPLOIT_APPLICATION_SERVERS.value: _(
        "Servers that run services (mail, web, databases, business applications) "
        "were broken into to steal data or to keep access."
    ),
    Effect.EXPLOIT_DATA_IN_TRANSIT.value: _(
        "Data were intercepted, read or copied while travelling over a network."
    ),
    Effect.MIXED.value: _(
        "The incident both disrupted and exploited systems, and the combination "
        "matters more than any single effect."
    ),
    Effect.UNDETERMINED.value: _("It is not yet clear what the attacker did or achieved."),
}

_EFFECT_ORDER = {code: position for position, code in enumerate(Effect.values)}


def validate_effects(codes: Iterable[str] | None) -> list[str]:
    """Return the effect codes without duplicates, in the order of ``Effect``.

    No codes means ``["undetermined"]``; "undetermined" cannot be combined with
    another effect (it would contradict it). An unknown code raises
    ``ValueError`` naming it.
    """
    if codes is None:
        return [Effect.UNDETERMINED.value]
    if isinstance(codes, str | bytes) or not isinstance(codes, Iterable):
        raise ValueError("Effects must be given as a list of effect codes.")
    chosen: set[str] = set()
    for code in codes:
        if not isinstance(code, str) or code not in _EFFECT_ORDER:
            raise ValueError(f"Unknown effect {code!r}. Known effects: {', '.join(Effect.values)}.")
        chosen.add(code)
    if not chosen:
        return [Effect.UNDETERMINED.value]
    if Effect.UNDETERMINED.value in chosen and len(chosen) > 1:
        raise ValueError(
            "The effect 'undetermined' cannot be combined with other effects: "
            "choose either the effects you know of or 'undetermined' alone."
        )
    return sorted(chosen, key=_EFFECT_ORDER.__getitem__)


# --------------------------------------------------------------------------
# Reference Security Incident Taxonomy (RSIT)
# --------------------------------------------------------------------------

RSIT_PATH = Path(__file__).parent / "data" / "rsit.json"


@dataclass(frozen=True)
class IncidentType:
    code: str  # "<predicate>:<value>", e.g. "malicious-code:infected-system"
    category: str  # the RSIT predicate, e.g. "malicious-code"
    category_label: str
    label: str
    description: str


@dataclass(frozen=True)
class _Rsit:
    version: int
    types: tuple[IncidentType, ...]
    by_code: Mapping[str, IncidentType]


@cache
def _rsit() -> _Rsit:
    """Read and check the RSIT file once per process."""
    data = json.loads(RSIT_PATH.read_text(encoding="utf-8"))
    categories = {p["value"]: p["expanded"] for p in data["predicates"]}
    types: list[IncidentType] = []
    for group in data["values"]:
        category = group["predicate"]
        if category not in categories:  # a broken file must fail loudly, not half-load
            raise RuntimeError(f"rsit.json: values for undeclared predicate {category!r}")
        for entry in group["entry"]:
            types.append(
                IncidentType(
                    code=f"{category}:{entry['value']}",
                    category=category,
                    category_label=categories[category],
                    label=entry["expanded"],
                    description=entry.get("description", ""),
                )
            )
    by_code = {t.code: t for t in types}
    if len(by_code) != len(types):
        raise RuntimeError("rsit.json: duplicate incident type codes")
    return _Rsit(version=data["version"], types=tuple(types), by_code=by_code)


def incident_types() -> list[IncidentType]:
    """Every RSIT incident type, in the order of the file."""
    return list(_rsit().types)


def incident_type_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Choices grouped by RSIT category, for a ``<select>`` with optgroups."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for t in _rsit().types:
        groups.setdefault(t.category_label, []).append((t.code, t.label))
    return list(groups.items())


def get_incident_type(code: str) -> IncidentType:
    """The incident type with this code, or ``ValueError``."""
    try:
        return _rsit().by_code[code]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown incident type {code!r}: use a code such as "
            "'malicious-code:infected-system' from the Reference Security Incident Taxonomy."
        ) from None


RSIT_VERSION: int = _rsit().version
RSIT_ATTRIBUTION = (
    "Reference Security Incident Taxonomy (RSIT), TF-CSIRT / ENISA Reference Security "
    "Incident Taxonomy Working Group; machine-readable version from the repository "
    "enisaeu/Reference-Security-Incident-Taxonomy-Task-Force (working_copy/machinev1, "
    "commit 901c69c124ae33c7827b07a396424d57a1a43645), CC0 1.0, shipped unchanged."
)


# --------------------------------------------------------------------------
# Task areas and the public core
# --------------------------------------------------------------------------


def task_area_choices() -> list[tuple[str, str]]:
    """The task areas an incident can touch: the network's security tasks."""
    return [(code, name) for code, name, _actor in TASKS]


class CoreComponent(models.TextChoices):
    """The components of the internet's public core (fixed list for now)."""

    ROUTING = "routing-forwarding", _("Packet routing and forwarding")
    NAMING = "naming-numbering", _("Naming and numbering")
    CRYPTO = "crypto-identity", _("Cryptographic mechanisms of security and identity")
    TRANSMISSION = "transmission-media", _("Physical transmission media")


CORE_COMPONENT_HELP: dict[str, str] = {
    CoreComponent.ROUTING.value: _(
        "How traffic finds its way between networks: routers, BGP, internet exchange points."
    ),
    CoreComponent.NAMING.value: _(
        "Domain names and IP addresses: DNS root and top-level domain servers, resolvers, "
        "registries, address allocation."
    ),
    CoreComponent.CRYPTO.value: _(
        "What lets people trust who they talk to: certificate authorities, keys, "
        "signing and encryption standards."
    ),
    CoreComponent.TRANSMISSION.value: _(
        "The cables, fibres, radio links and satellites that carry the traffic."
    ),
}


# --------------------------------------------------------------------------
# Severity
# --------------------------------------------------------------------------

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Option:
    code: str
    label: str
    help: str
    value: int  # 0..100: how bad this answer is; "unknown" has 0 and is not counted


@dataclass(frozen=True)
class Factor:
    code: str
    label: str
    question: str  # asked of someone who is not a security specialist
    help: str
    options: tuple[Option, ...]

    def option(self, code: str) -> Option:
        for option in self.options:
            if option.code == code:
                return option
        raise ValueError(
            f"{code!r} is not an answer to the severity factor {self.code!r} "
            f"({self.label}). Answers: {', '.join(o.code for o in self.options)}."
        )

    @property
    def max_value(self) -> int:
        return max(o.value for o in self.options)


def _unknown() -> Option:
    return Option(UNKNOWN, _("Not known yet"), _("Counts as 0 until it is answered."), 0)


FACTORS: tuple[Factor, ...] = (
    Factor(
        "functional-impact",
        _("Functional impact"),
        _("How much did the incident disrupt the services of the affected organisation?"),
        _("Judge the services the organisation provides, not the number of machines hit."),
        (
            _unknown(),
            Option("no-impact", _("No impact"), _("Nothing was affected."), 0),
            Option(
                "no-impact-to-services",
                _("No impact to services"),
                _("Systems were touched, but every service ran as usual."),
                10,
            ),
            Option(
                "minimal",
                _("Minimal impact"),
                _("Services slowed down or had small faults; people could still use them."),
                30,
            ),
            Option(
                "significant",
                _("Significant impact"),
                _("Services were seriously degraded, or a critical service was slowed."),
                60,
            ),
            Option(
                "denial-of-non-critical",
                _("Denial of non-critical services"),
                _("Some services stopped altogether, but none that others depend on to stay safe."),
                75,
            ),
            Option(
                "denial-of-critical",
                _("Denial of critical services or loss of control"),
                _("A critical service stopped, or the operator lost control of a system."),
                100,
            ),
        ),
    ),
    Factor(
        "observed-activity",
        _("Observed activity"),
        _("How far did the attacker get?"),
        _("The furthest stage that was actually seen, not the furthest that is feared."),
        (
            _unknown(),
            Option(
                "none",
                _("No attacker activity"),
                _("No attacker was involved or seen: a fault, an accident, a weakness found."),
                0,
            ),
            Option(
                "prepare",
                _("Prepare"),
                _("Reconnaissance or preparation: scanning, probing, setting up infrastructure."),
                20,
            ),
            Option(
                "engage",
                _("Engage"),
                _("Attempts to get in or to deliver something: phishing, exploit attempts."),
                45,
            ),
            Option(
                "presence",
                _("Presence"),
                _("The attacker is inside: it has access or a foothold in the systems."),
                75,
            ),
            Option(
                "effect",
                _("Effect"),
                _("The attacker has caused harm: data taken, changed or destroyed, service cut."),
                100,
            ),
        ),
    ),
    Factor(
        "location",
        _("Location of observed activity"),
        _("Where in the organisation's systems was the activity seen?"),
        _("Choose the most sensitive place the activity reached."),
        (
            _unknown(),
            Option(
                "outside",
                _("Outside the organisation's systems"),
                _("Only outside: a fake site imitating it, a campaign aimed at its customers."),
                0,
            ),
            Option(
                "business-demilitarized-zone",
                _("Business demilitarised zone"),
                _("Systems facing the internet: public web site, mail gateway, VPN entry."),
                10,
            ),
            Option(
                "business-network",
                _("Business network"),
                _("The office network: staff computers, file shares, business applications."),
                25,
            ),
            Option(
                "business-network-management",
                _("Business network management"),
                _("Systems that manage the office network: directory, admin accounts, backups."),
                40,
            ),
            Option(
                "critical-system-dmz",
                _("Critical system demilitarised zone"),
                _("The boundary between the office network and the critical or industrial one."),
                55,
            ),
            Option(
                "critical-system-management",
                _("Critical system management"),
                _("Systems that manage or engineer the critical systems."),
                70,
            ),
            Option(
                "critical-systems",
                _("Critical systems"),
                _("The systems that deliver the critical service itself, e.g. control systems."),
                85,
            ),
            Option(
                "safety-systems",
                _("Safety systems"),
                _("Systems that protect lives and equipment when something goes wrong."),
                100,
            ),
        ),
    ),
    Factor(
        "actor",
        _("Actor"),
        _("Who is behind the incident, as far as anyone can tell?"),
        _("A careful guess is enough; it can be changed later."),
        (
            _unknown(),
            Option(
                "no-adversary",
                _("No adversary"),
                _("No one acted with intent: a failure, an accident or a mistake."),
                0,
            ),
            Option(
                "individual",
                _("Opportunistic individual"),
                _("A lone person using readily available tools, without a specific aim."),
                20,
            ),
            Option(
                "hacktivist",
                _("Hacktivist"),
                _("People acting for a political or social cause, often seeking publicity."),
                40,
            ),
            Option(
                "unattributed",
                _("Deliberate but unattributed"),
                _("Someone clearly acted on purpose, but no one can say who yet."),
                45,
            ),
            Option(
                "criminal",
                _("Criminal group"),
                _("A group after money: ransomware, fraud, selling stolen data."),
                60,
            ),
            Option(
                "insider",
                _("Malicious insider"),
                _("Someone with legitimate access who abused it."),
                70,
            ),
            Option(
                "nation-state",
                _("Nation state"),
                _("A state or a group acting for a state."),
                100,
            ),
        ),
    ),
    Factor(
        "information-impact",
        _("Information impact"),
        _("What happened to the organisation's information?"),
        _("Choose the worst thing known to have happened to data."),
        (
            _unknown(),
            Option("none", _("None"), _("No information was taken, changed or lost."), 0),
            Option(
                "suspected-but-not-identified",
                _("Suspected but not identified"),
                _("Data may have been taken or changed, but it is not known which."),
                20,
            ),
            Option(
                "privacy-data-breach",
                _("Privacy data breach"),
                _("Personal data about people were exposed or taken."),
                50,
            ),
            Option(
                "proprietary-breach",
                _("Proprietary information breach"),
                _("Business secrets, plans or intellectual property were exposed or taken."),
                55,
            ),
            Option(
                "destruction-of-non-critical",
                _("Destruction of non-critical information"),
                _("Data were destroyed or corrupted, but none needed to run critical services."),
                60,
            ),
            Option(
                "critical-systems-data-breach",
                _("Critical systems data breach"),
                _("Data about how critical systems are built or run were exposed or taken."),
                80,
            ),
            Option(
                "core-credential-compromise",
                _("Core credential compromise"),
                _("Keys, certificates or administrator passwords at the heart of trust leaked."),
                90,
            ),
            Option(
                "destruction-of-critical",
                _("Destruction of critical information"),
                _("Data needed to run critical services were destroyed or corrupted."),
                100,
            ),
        ),
    ),
    Factor(
        "recoverability",
        _("Recoverability"),
        _("What will it take to recover?"),
        _("Think of people, money and time needed to return to normal."),
        (
            _unknown(),
            Option(
                "not-needed",
                _("Nothing to recover"),
                _("Nothing needs restoring."),
                0,
            ),
            Option(
                "regular",
                _("Regular"),
                _("The organisation recovers on its own, with its usual staff, in the usual time."),
                10,
            ),
            Option(
                "supplemented",
                _("Supplemented"),
                _("Recovery in a foreseeable time, but only with extra people or outside help."),
                40,
            ),
            Option(
                "extended",
                _("Extended"),
                _("Recovery is uncertain in time even with outside help."),
                70,
            ),
            Option(
                "not-recoverable",
                _("Not recoverable"),
                _("What was lost cannot be brought back, e.g. data leaked to the public."),
                100,
            ),
        ),
    ),
    Factor(
        "cross-sector-dependency",
        _("Cross-sector dependency"),
        _("How much do other organisations and sectors depend on what was hit?"),
        _("Think of who else would stop or slow down if the affected service failed."),
        (
            _unknown(),
            Option("none", _("None"), _("No one outside the organisation depends on it."), 0),
            Option(
                "low",
                _("Low"),
                _("A few customers or partners depend on it, and they have alternatives."),
                30,
            ),
            Option(
                "medium",
                _("Medium"),
                _("Many organisations, or one other critical sector, depend on it."),
                60,
            ),
            Option(
                "high",
                _("High"),
                _("Several critical sectors or a large part of the population depend on it."),
                100,
            ),
        ),
    ),
    Factor(
        "potential-impact",
        _("Potential impact"),
        _("If nothing more is done, how bad could this become for the country?"),
        _("The harm that could follow for public safety, the economy or public trust."),
        (
            _unknown(),
            Option("none", _("None"), _("It cannot reasonably grow beyond what happened."), 0),
            Option(
                "low",
                _("Low"),
                _("It could hurt the organisation, but hardly anyone else."),
                30,
            ),
            Option(
                "medium",
                _("Medium"),
                _("It could hurt a sector, a region or many people."),
                60,
            ),
            Option(
                "high",
                _("High"),
                _("It could threaten critical services, public safety or national security."),
                100,
            ),
        ),
    ),
)

FACTOR_CODES: tuple[str, ...] = tuple(f.code for f in FACTORS)
_FACTORS_BY_CODE: dict[str, Factor] = {f.code: f for f in FACTORS}

# This network's own weights (sum 100), not an official calibration.
DEFAULT_WEIGHTS: dict[str, int] = {
    "functional-impact": 20,
    "observed-activity": 10,
    "location": 10,
    "actor": 10,
    "information-impact": 15,
    "recoverability": 15,
    "cross-sector-dependency": 10,
    "potential-impact": 10,
}

# (level, code, label, help); NCISS's names for its levels, our own wording.
LEVELS: tuple[tuple[int, str, str, str], ...] = (
    (0, "baseline", _("Baseline"), _("Unconfirmed or without consequence.")),
    (1, "low", _("Low"), _("Unlikely to affect public safety, the economy or public trust.")),
    (2, "medium", _("Medium"), _("Could affect public safety, the economy or public trust.")),
    (3, "high", _("High"), _("Likely to cause a noticeable harm beyond the organisation.")),
    (
        4,
        "severe",
        _("Severe"),
        _("Likely to cause a serious harm to public safety, national security or the economy."),
    ),
    (
        5,
        "emergency",
        _("Emergency"),
        _("An immediate threat to critical services across the country, or to lives."),
    ),
)

# Lower bounds of levels 1..5: level = number of thresholds <= score.
DEFAULT_THRESHOLDS: list[int] = [20, 40, 55, 70, 85]

MAX_WEIGHT = 1000


def get_factor(code: str) -> Factor:
    """The factor with this code, or ``ValueError``."""
    try:
        return _FACTORS_BY_CODE[code]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown severity factor {code!r}. Factors: {', '.join(FACTOR_CODES)}."
        ) from None


def validate_answers(answers: Mapping[str, Any] | None) -> dict[str, str]:
    """Check answers (factor code -> option code) and drop the unknown ones.

    Missing factors, ``"unknown"``, ``""`` and ``None`` all mean "not known".
    An unknown factor or option raises ``ValueError`` naming it. The result is
    in the order of ``FACTORS``.
    """
    if answers is None:
        return {}
    if not isinstance(answers, Mapping):
        raise ValueError("Severity answers must be an object mapping factor codes to answers.")
    for code in answers:
        get_factor(code)
    cleaned: dict[str, str] = {}
    for factor in FACTORS:
        answer = answers.get(factor.code)
        if answer in (None, "", UNKNOWN):
            continue
        if not isinstance(answer, str):
            raise ValueError(f"The answer to the severity factor {factor.code!r} must be a code.")
        factor.option(answer)  # raises with the factor and the option named
        cleaned[factor.code] = answer
    return cleaned


def validate_weights(weights: Mapping[str, Any]) -> dict[str, int]:
    """Check a full set of weights: every factor, whole numbers 0..1000, not all 0."""
    if not isinstance(weights, Mapping):
        raise ValueError("Severity weights must be an object mapping factor codes to weights.")
    for code in weights:
        get_factor(code)
    cleaned: dict[str, int] = {}
    for code in FACTOR_CODES:
        if code not in weights:
            raise ValueError(f"The weight of the severity factor {code!r} is missing.")
        weight = weights[code]
        # bool is an int to Python, but True is no weight anyone meant to give
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise ValueError(f"The weight of the severity factor {code!r} must be a whole number.")
        if not 0 <= weight <= MAX_WEIGHT:
            raise ValueError(
                f"The weight of the severity factor {code!r} must be between 0 and {MAX_WEIGHT}."
            )
        cleaned[code] = weight
    if not any(cleaned.values()):
        raise ValueError("At least one severity factor must have a weight above 0.")
    return cleaned


def validate_thresholds(thresholds: Iterable[Any]) -> list[int]:
    """Check the lower bounds of levels 1..5: five strictly ascending whole numbers in 1..100."""
    if isinstance(thresholds, str | bytes | Mapping) or not isinstance(thresholds, Iterable):
        raise ValueError("Severity thresholds must be a list of five whole numbers.")
    values = list(thresholds)
    if len(values) != len(LEVELS) - 1:
        raise ValueError(
            f"Give exactly {len(LEVELS) - 1} severity thresholds "
            f"(the lowest score of levels 1 to {len(LEVELS) - 1}), not {len(values)}."
        )
    for position, value in enumerate(values, start=1):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"The threshold of level {position} must be a whole number.")
        if not 1 <= value <= 100:
            raise ValueError(f"The threshold of level {position} must be between 1 and 100.")
        if position > 1 and value <= values[position - 2]:
            raise ValueError(
                f"The threshold of level {position} ({value}) must be higher than that "
                f"of level {position - 1} ({values[position - 2]})."
            )
    return values


@dataclass(frozen=True)
class BreakdownRow:
    factor: str
    factor_label: str
    option: str | None  # None when the answer is unknown
    option_label: str
    value: int | None  # None when the answer is unknown
    weight: int
    contribution: float  # points of the 0-100 score


@dataclass(frozen=True)
class Severity:
    score: int  # 0..100
    level: int  # 0..5
    level_label: str
    breakdown: tuple[BreakdownRow, ...]
    answered: int  # factors with a known answer
    level_code: str = ""
    thresholds: tuple[int, ...] = ()

    @property
    def factors(self) -> int:
        return len(self.breakdown)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, for the API and for storing a snapshot."""
        return {
            "score": self.score,
            "level": self.level,
            "level_code": self.level_code,
            "level_label": str(self.level_label),
            "answered": self.answered,
            "factors": self.factors,
            "thresholds": list(self.thresholds),
            "breakdown": [
                {
                    "factor": row.factor,
                    "factor_label": str(row.factor_label),
                    "option": row.option,
                    "option_label": str(row.option_label),
                    "value": row.value,
                    "weight": row.weight,
                    "contribution": round(row.contribution, 2),
                }
                for row in self.breakdown
            ],
        }


def level_for(score_value: int, thresholds: list[int] | None = None) -> int:
    """The level of a score: how many thresholds are at or below it."""
    bounds = DEFAULT_THRESHOLDS if thresholds is None else validate_thresholds(thresholds)
    return sum(1 for bound in bounds if bound <= score_value)


def score(
    answers: Mapping[str, Any] | None,
    weights: Mapping[str, Any] | None = None,
    thresholds: list[int] | None = None,
) -> Severity:
    """Score an incident from its answers.

    score = sum(weight x value over answered factors) / sum(weight over ALL
    factors), rounded half up. An unknown answer adds nothing, but its weight
    stays in the divisor: one bad answer alone cannot make an emergency, and
    the result says how many factors were answered so that a low score built
    on few answers is not mistaken for a harmless incident. The level is the
    number of thresholds at or below the score.
    """
    cleaned = validate_answers(answers)
    used_weights = validate_weights(DEFAULT_WEIGHTS if weights is None else weights)
    bounds = validate_thresholds(DEFAULT_THRESHOLDS if thresholds is None else thresholds)

    total_weight = sum(used_weights.values())
    points = 0  # sum of weight x value: whole numbers, so rounding below is exact
    rows: list[BreakdownRow] = []
    for factor in FACTORS:
        weight = used_weights[factor.code]
        code = cleaned.get(factor.code)
        if code is None:
            unknown = factor.option(UNKNOWN)
            rows.append(
                BreakdownRow(
                    factor.code, str(factor.label), None, str(unknown.label), None, weight, 0.0
                )
            )
            continue
        option = factor.option(code)
        points += weight * option.value
        rows.append(
            BreakdownRow(
                factor.code,
                str(factor.label),
                option.code,
                str(option.label),
                option.value,
                weight,
                weight * option.value / total_weight,
            )
        )
    # round half up of points / total_weight, in integers
    result = (2 * points + total_weight) // (2 * total_weight)
    level = sum(1 for bound in bounds if bound <= result)
    _level, level_code, level_label, _help = LEVELS[level]
    return Severity(
        score=result,
        level=level,
        level_label=str(level_label),
        breakdown=tuple(rows),
        answered=len(cleaned),
        level_code=level_code,
        thresholds=tuple(bounds),
    )
