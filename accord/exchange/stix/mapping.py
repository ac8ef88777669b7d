"""How a shared report is written as STIX 2.1 objects (docs/stix-mapping.md says the
same for people).

:func:`report_objects` gives every object a report needs, as plain dicts: the main
object (``incident``, ``vulnerability``, ``report`` or ``course-of-action`` by kind),
an ``indicator`` and a cyber observable for each observable (a ``vulnerability`` for
a CVE id), the relationships between them, a ``note`` for each comment marked like
the report, a ``sighting`` for each sighting, the identities they are attributed to,
the TLP 2.0 marking definition, and Accord's extension definition with the
installation's identity that defines it.

Ids are deterministic, so publishing again gives the same ids: the main object is
``<type>--<report id>``, an indicator takes the id of the report's mention of its
value, a sighting the sighting's, and everything else is derived from what it stands
for (``vocab.derived_id``); cyber observables get the ids STIX itself prescribes.

Who is named: a named reporter is the ``identity`` of its organisation; a
pseudonymous one a sector-class identity ("Energy sector, NL"); an anonymous one
nothing at all — no ``created_by_ref``, no identity, and times only to the day (as
the report itself stores them). ``abroad=True`` gives the variant for peers that
may not learn names: named reporters, commenters and sighters reduced to their
sector-class identity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from accord.membership.models import Organisation
from accord.sharing.classification import LEVELS, get_incident_type
from accord.sharing.models import Attribution, Comment, Kind, Report, Sighting

from . import vocab

# The STIX type of a report's main object, by kind.
MAIN_TYPES: dict[str, str] = {
    Kind.INCIDENT: "incident",
    Kind.VULNERABILITY: "vulnerability",
    Kind.ADVISORY: "report",
    Kind.MEASURE: "course-of-action",
}
KIND_BY_MAIN_TYPE: dict[str, str] = {stix_type: kind for kind, stix_type in MAIN_TYPES.items()}

# Scopes of the rows these objects become (accord.exchange.models.Scope values).
REPORT, PUBLIC, NAMED = "report", "public", "named"

_HASH_NAMES = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256"}
# Hash names that need quoting in a STIX pattern's object path.
_QUOTED_HASHES = {"SHA-1", "SHA-256"}


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC with millisecond precision and a "Z", as STIX 2.1 wants."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def to_millisecond(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def main_id(report: Report) -> str:
    """The id of a report's main object, the same wherever the report travels."""
    return f"{MAIN_TYPES[report.kind]}--{report.pk}"


def main_ids(report: Report) -> set[str]:
    """Every id the report's main object can have (its kind may change)."""
    return {f"{stix_type}--{report.pk}" for stix_type in MAIN_TYPES.values()}


@dataclass
class Entry:
    """One object and the scope of the row it is stored in. ``sensitive`` marks
    the objects whose publication time must not be finer than the day (anonymous
    sightings; everything of an anonymous report is so anyway)."""

    obj: dict[str, Any]
    scope: str
    sensitive: bool = False

    @property
    def id(self) -> str:
        return str(self.obj["id"])


# --- Objects that belong to no report ---------------------------------------------------------


def installation_identity() -> dict[str, Any]:
    """This installation: the national network that publishes everything here."""
    country = vocab.installation_country()
    name = str(settings.NETWORK_NAME)
    return {
        "type": "identity",
        "spec_version": vocab.SPEC_VERSION,
        "id": vocab.derived_id("identity", "installation", country, name),
        "created": vocab.ACCORD_EXTENSION_CREATED,
        "modified": vocab.ACCORD_EXTENSION_CREATED,
        "name": name,
        "description": f"The national public-private cyber network of {country} (Accord).",
        "identity_class": "organization",
        "sectors": ["government-national"],
        "extensions": {
            vocab.ACCORD_EXTENSION_ID: {
                "extension_type": "property-extension",
                "role": "installation",
                "country": country,
            }
        },
    }


def extension_schema_url() -> str:
    return f"{settings.SITE_URL}/api/v1/stix/extension"


def extension_definition() -> dict[str, Any]:
    """The definition of Accord's property extension, created by this installation."""
    return {
        "type": "extension-definition",
        "spec_version": vocab.SPEC_VERSION,
        "id": vocab.ACCORD_EXTENSION_ID,
        "created_by_ref": installation_identity()["id"],
        "created": vocab.ACCORD_EXTENSION_CREATED,
        "modified": vocab.ACCORD_EXTENSION_CREATED,
        "name": "Accord report properties",
        "description": (
            "What an Accord installation knows about a shared report beyond core STIX: "
            "its kind, attribution and audience, its classification (CISSM effects, RSIT "
            "incident type, task areas, public-core components, sectors), its NCISS-shaped "
            "severity, and the attribution of comments and sightings. See docs/stix-mapping.md."
        ),
        "schema": extension_schema_url(),
        "version": vocab.ACCORD_EXTENSION_VERSION,
        "extension_types": ["property-extension"],
    }


def extension_schema() -> dict[str, Any]:
    """A JSON schema of the extension's properties (served at ``extension_schema_url``)."""
    strings = {"type": "array", "items": {"type": "string"}}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": extension_schema_url(),
        "title": "Accord report properties",
        "description": extension_definition()["description"],
        "type": "object",
        "required": ["extension_type"],
        "properties": {
            "extension_type": {"enum": ["property-extension"]},
            "kind": {"enum": [str(k) for k in Kind.values]},
            "attribution": {"enum": [str(a) for a in Attribution.values]},
            "audience": {"type": "string"},
            "first_seen": {"type": "string", "format": "date-time"},
            "last_seen": {"type": "string", "format": "date-time"},
            "country_of_origin": {"type": "string"},
            "sectors": strings,
            "effects": strings,
            "incident_type": {"type": "string"},
            "task_areas": strings,
            "core_components": strings,
            "severity": {
                "type": "object",
                "properties": {
                    "score": {"type": "integer", "minimum": 0, "maximum": 100},
                    "level": {"type": "integer", "minimum": 0, "maximum": 5},
                    "level_code": {"type": "string"},
                    "answers": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "role": {"enum": ["installation", "organisation", "sector"]},
            "country": {"type": "string"},
            "sector": {"type": "string"},
            "stakeholder_group": {"type": "string"},
        },
    }


def organisation_identity(organisation: Any, sector_codes: Iterable[str]) -> dict[str, Any]:
    """A named member organisation (only ever for named contributions)."""
    country = vocab.installation_country()
    industries = _industries(sector_codes)
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": vocab.SPEC_VERSION,
        "id": organisation_identity_id(organisation.pk),
        "created": timestamp(_day(organisation.applied_at)),
        "modified": timestamp(_day(organisation.applied_at)),
        "name": organisation.name,
        "identity_class": "organization",
    }
    if industries:
        obj["sectors"] = industries
    obj["extensions"] = {
        vocab.ACCORD_EXTENSION_ID: {
            "extension_type": "property-extension",
            "role": "organisation",
            "country": str(organisation.country or country),
            "stakeholder_group": organisation.stakeholder_group,
        }
    }
    return obj


def organisation_identity_id(organisation_pk: int) -> str:
    return vocab.derived_id(
        "identity", "organisation", vocab.installation_country(), organisation_pk
    )


def sector_identity(sector: Any) -> dict[str, Any]:
    """Any member of one sector in this country: what a pseudonym (or a name that may
    not cross a border) becomes. Without a sector: any member of the network."""
    country = vocab.installation_country()
    code = sector.code if sector is not None else ""
    if sector is not None:
        name = f"{sector.name} sector, {country}"
        description = f"A member organisation of the {sector.name.lower()} sector in {country}."
    else:
        name = f"Member organisation, {country}"
        description = f"A member organisation of the national network of {country}."
    obj: dict[str, Any] = {
        "type": "identity",
        "spec_version": vocab.SPEC_VERSION,
        "id": vocab.derived_id("identity", "sector", country, code),
        "created": vocab.ACCORD_EXTENSION_CREATED,
        "modified": vocab.ACCORD_EXTENSION_CREATED,
        "name": name,
        "description": description,
        "identity_class": "class",
    }
    industries = _industries([code] if code else [])
    if industries:
        obj["sectors"] = industries
    properties: dict[str, Any] = {"extension_type": "property-extension", "role": "sector"}
    if code:
        properties["sector"] = code
    properties["country"] = country
    obj["extensions"] = {vocab.ACCORD_EXTENSION_ID: properties}
    return obj


def _industries(sector_codes: Iterable[str]) -> list[str]:
    return sorted({vocab.INDUSTRY_SECTORS[c] for c in sector_codes if c in vocab.INDUSTRY_SECTORS})


def _day(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- Loading a report ----------------------------------------------------------------------------


@dataclass
class _Data:
    report: Report
    sectors: list[str]
    task_areas: list[str]
    observations: list[tuple[Any, str, str, str]]  # (row id, kind, value, note)
    comments: list[Comment]
    sightings: list[Sighting]
    organisation_sectors: dict[int, list[str]]


def _load(report: Report) -> _Data:
    """Everything the mapping reads, in a handful of queries."""
    comments = list(
        Comment.objects.filter(report=report, marking=report.marking)
        .select_related("organisation", "author_sector")
        .order_by("created_at", "id")
    )
    sightings = list(
        Sighting.objects.filter(report=report)
        .select_related("organisation", "reporter_sector", "observable")
        .order_by("created_at", "id")
    )
    named_orgs = {c.organisation_id for c in comments if c.attribution == Attribution.NAMED}
    named_orgs |= {
        s.organisation_id
        for s in sightings
        if s.attribution == Attribution.NAMED and s.organisation_id is not None
    }
    if report.attribution == Attribution.NAMED and report.reporter_organisation_id:
        named_orgs.add(report.reporter_organisation_id)
    organisation_sectors: dict[int, list[str]] = {pk: [] for pk in named_orgs}
    if named_orgs:
        through = Organisation.sectors.through
        for org_id, code in through.objects.filter(organisation_id__in=named_orgs).values_list(
            "organisation_id", "sector__code"
        ):
            organisation_sectors[org_id].append(code)
    return _Data(
        report=report,
        sectors=sorted(report.sectors.values_list("code", flat=True)),
        task_areas=sorted(report.task_areas.values_list("code", flat=True)),
        observations=list(
            report.observations.order_by("position", "id").values_list(
                "pk", "observable__kind", "observable__value", "note"
            )
        ),
        comments=comments,
        sightings=sightings,
        organisation_sectors=organisation_sectors,
    )


# --- Building -------------------------------------------------------------------------------------

# Where an entry goes: in both variants, only here (an organisation's identity), or
# only abroad (the sector-class identity standing in for it).
BOTH, HERE, ABROAD = "both", "here", "abroad"


@dataclass
class _Built:
    entry: Entry
    where: str = BOTH
    # For an object attributed to a named organisation: (its identity id, the
    # sector-class identity id that replaces it abroad).
    reduce: tuple[str, str] | None = None


@dataclass
class _By:
    """Who an object is attributed to, here and abroad (None: nobody)."""

    here: str | None = None
    abroad: str | None = None


class _Builder:
    """Builds both variants at once: the objects as served here, and the changes
    for peers that may not learn names."""

    def __init__(self, data: _Data) -> None:
        self.data = data
        self.report = data.report
        self.built: dict[str, _Built] = {}
        self.marking_refs = [vocab.TLP2_MARKING_IDS[self.report.marking]]
        created = to_millisecond(self.report.created_at)
        self.created = timestamp(created)
        self.modified = timestamp(max(created, to_millisecond(self.report.updated_at)))
        self.valid_from = timestamp(self.report.first_seen or self.report.created_at)
        self.main_id = main_id(self.report)

    # Attribution ---------------------------------------------------------------------

    def _attributed(self, attribution: str, organisation: Any, sector: Any) -> _By:
        """Whom an object is attributed to (adding the identities it needs)."""
        if attribution not in (Attribution.NAMED, Attribution.PSEUDONYMOUS):
            return _By()
        stand_in = sector_identity(sector)
        stand_in_id = str(stand_in["id"])
        if attribution == Attribution.NAMED and organisation is not None:
            identity = organisation_identity(
                organisation, self.data.organisation_sectors.get(organisation.pk, [])
            )
            self._add(Entry(identity, NAMED), where=HERE)
            self._add(Entry(stand_in, PUBLIC), where=ABROAD)
            return _By(str(identity["id"]), stand_in_id)
        self._add(Entry(stand_in, PUBLIC))
        return _By(stand_in_id, stand_in_id)

    # Common properties ---------------------------------------------------------------

    def _add(self, entry: Entry, *, where: str = BOTH, by: _By | None = None) -> None:
        known = self.built.get(entry.id)
        if known is not None:
            if known.where != where:  # wanted here and abroad after all
                known.where = BOTH
            return
        reduce = None
        if by is not None and by.here != by.abroad and by.here and by.abroad:
            reduce = (by.here, by.abroad)
        self.built[entry.id] = _Built(entry, where, reduce)

    def _bound(
        self,
        stix_type: str,
        stix_id: str,
        *,
        by: _By,
        created: str | None = None,
        modified: str | None = None,
    ) -> dict[str, Any]:
        """The common properties of an object that belongs to the report."""
        obj: dict[str, Any] = {
            "type": stix_type,
            "spec_version": vocab.SPEC_VERSION,
            "id": stix_id,
        }
        if by.here is not None:
            obj["created_by_ref"] = by.here
        obj["created"] = created or self.created
        obj["modified"] = modified or self.modified
        if self.report.is_withdrawn:
            obj["revoked"] = True
        obj["object_marking_refs"] = list(self.marking_refs)
        return obj

    def _relationship(self, source: str, relationship_type: str, target: str, by: _By) -> str:
        stix_id = vocab.derived_id(
            "relationship", self.report.pk, relationship_type, source, target
        )
        obj = self._bound("relationship", stix_id, by=by)
        obj["relationship_type"] = relationship_type
        obj["source_ref"] = source
        obj["target_ref"] = target
        self._add(Entry(obj, REPORT), by=by)
        return stix_id

    # The whole report ----------------------------------------------------------------

    def run(self) -> tuple[list[Entry], list[Entry]]:
        report = self.report
        self._add(Entry(dict(vocab.TLP2_MARKING_OBJECTS[report.marking]), PUBLIC))
        self._add(Entry(extension_definition(), PUBLIC))
        self._add(Entry(installation_identity(), PUBLIC))
        by = self._attributed(
            report.attribution, report.reporter_organisation, report.reporter_sector
        )
        main = self._bound(MAIN_TYPES[report.kind], self.main_id, by=by)
        self._add(Entry(main, REPORT), by=by)  # filled in below, once its references are known
        contents = self._observables(by)
        self._fill_main(main, contents)
        note_ids: dict[Any, str] = {}
        for comment in self.data.comments:
            self._comment(comment, note_ids)
        for sighting in self.data.sightings:
            self._sighting(sighting, contents.indicators_by_value)
        return self._variant(abroad=False), self._variant(abroad=True)

    def _variant(self, *, abroad: bool) -> list[Entry]:
        # Definitions and identities first: a reader meets what is referenced first.
        skip = HERE if abroad else ABROAD
        entries = []
        for built in self.built.values():
            if built.where == skip:
                continue
            entry = built.entry
            if abroad and built.reduce is not None:
                entry = Entry(_reduced(entry.obj, *built.reduce), entry.scope, entry.sensitive)
            entries.append(entry)
        return [e for e in entries if e.scope != REPORT] + [e for e in entries if e.scope == REPORT]

    def _fill_main(self, main: dict[str, Any], contents: _Contents) -> None:
        report = self.report
        main["name"] = report.title
        if report.summary:
            main["description"] = report.summary
        if report.kind == Kind.ADVISORY:
            main["report_types"] = ["threat-report"]
            main["published"] = self.created
            # A report must reference something: without observables, the network it
            # was issued to.
            main["object_refs"] = contents.refs or [installation_identity()["id"]]
        labels = self._labels()
        if labels:
            main["labels"] = labels
        references = self._external_references(contents.cves)
        if references:
            main["external_references"] = references
        extensions: dict[str, Any] = {}
        if report.kind == Kind.INCIDENT:
            extensions[vocab.INCIDENT_CORE_EXTENSION_ID] = self._incident_core()
        extensions[vocab.ACCORD_EXTENSION_ID] = self._accord_properties()
        main["extensions"] = extensions

    def _labels(self) -> list[str]:
        report = self.report
        labels = [f"cissm:{code}" for code in report.effects]
        if report.incident_type:
            labels.append(f"rsit:{report.incident_type}")
        labels += [f"task-area:{code}" for code in self.data.task_areas]
        labels += [f"public-core:{code}" for code in report.core_components]
        labels += [f"sector:{code}" for code in self.data.sectors]
        return labels

    def _external_references(self, cves: list[str]) -> list[dict[str, Any]]:
        report = self.report
        references: list[dict[str, Any]] = []
        if report.incident_type:
            try:
                incident_type = get_incident_type(report.incident_type)
            except ValueError:
                incident_type = None
            if incident_type is not None:
                references.append(
                    {
                        "source_name": "rsit",
                        "external_id": incident_type.code,
                        "description": (
                            f"{incident_type.category_label} / {incident_type.label} "
                            "(Reference Security Incident Taxonomy, TF-CSIRT and ENISA)"
                        ),
                        "url": vocab.RSIT_URL,
                    }
                )
        if report.kind == Kind.VULNERABILITY:
            references += [{"source_name": "cve", "external_id": cve} for cve in cves]
        for url in report.references:
            host = urlsplit(url).hostname or "reference"
            references.append({"source_name": host, "url": url})
        return references

    def _incident_core(self) -> dict[str, Any]:
        report = self.report
        answers = report.severity_answers or {}
        successful = answers.get("observed-activity") in ("presence", "effect") or any(
            code != "undetermined" for code in report.effects
        )
        core: dict[str, Any] = {
            "extension_type": "property-extension",
            "determination": "successful-attempt" if successful else "suspected",
            "investigation_status": "open",
        }
        if report.severity_score is not None:
            core["criticality"] = int(report.severity_score)
        types = sorted(
            {
                vocab.EFFECT_INCIDENT_TYPES[c]
                for c in report.effects
                if c in vocab.EFFECT_INCIDENT_TYPES
            }
        )
        if report.severity_level is not None and report.severity_level >= 4:
            types.append("major")
        if types:
            core["incident_types"] = types
        recoverability = vocab.RECOVERABILITY.get(answers.get("recoverability", ""))
        if recoverability:
            core["recoverability"] = recoverability
        if report.severity_score is not None:
            core["scores"] = [
                {
                    "name": "Accord severity",
                    "value": int(report.severity_score),
                    "description": (
                        "0-100 from eight weighted factors shaped like the US National Cyber "
                        f"Incident Scoring System; level {report.severity_level} of 5."
                    ),
                }
            ]
        return core

    def _accord_properties(self) -> dict[str, Any]:
        report = self.report
        properties: dict[str, Any] = {
            "extension_type": "property-extension",
            "kind": report.kind,
            "attribution": str(report.attribution),
            "audience": report.audience,
        }
        if report.first_seen:
            properties["first_seen"] = timestamp(report.first_seen)
        if report.last_seen:
            properties["last_seen"] = timestamp(report.last_seen)
        if report.country_of_origin:
            properties["country_of_origin"] = str(report.country_of_origin)
        if self.data.sectors:
            properties["sectors"] = list(self.data.sectors)
        if report.effects:
            properties["effects"] = list(report.effects)
        if report.incident_type:
            properties["incident_type"] = report.incident_type
        if self.data.task_areas:
            properties["task_areas"] = list(self.data.task_areas)
        if report.core_components:
            properties["core_components"] = list(report.core_components)
        if report.severity_score is not None:
            level = report.severity_level if report.severity_level is not None else 0
            properties["severity"] = {
                "score": int(report.severity_score),
                "level": int(level),
                "level_code": LEVELS[level][1] if 0 <= level < len(LEVELS) else "",
                "answers": dict(report.severity_answers or {}),
            }
        return properties

    # Observables ----------------------------------------------------------------------

    def _observables(self, by: _By) -> _Contents:
        """An indicator and a cyber observable per observable (a vulnerability per CVE
        id). Their ids follow the report's mention of the value: removing a value
        revokes them, and mentioning it again later gives new ones."""
        contents = _Contents()
        kind = self.report.kind
        link = "mitigates" if kind == Kind.MEASURE else "related-to"
        indicator_types = [
            "malicious-activity" if kind in (Kind.INCIDENT, Kind.ADVISORY) else "unknown"
        ]
        fallback = f"An observable of the shared {kind} report “{self.report.title}”."
        for mention, observable_kind, value, note in self.data.observations:
            if observable_kind == "cve":
                vulnerability_id = self._cve(mention, value, by)
                contents.cves.append(value)
                contents.indicators_by_value[(observable_kind, value)] = vulnerability_id
                contents.refs.append(vulnerability_id)
                if kind != Kind.ADVISORY:
                    self._relationship(self.main_id, link, vulnerability_id, by)
                continue
            sco, pattern = observable_sco(observable_kind, value)
            sco["object_marking_refs"] = list(self.marking_refs)
            self._add(Entry(sco, REPORT))
            indicator_id = f"indicator--{mention}"
            indicator = self._bound("indicator", indicator_id, by=by)
            indicator["name"] = value
            indicator["description"] = note or fallback
            indicator["indicator_types"] = list(indicator_types)
            indicator["pattern"] = pattern
            indicator["pattern_type"] = "stix"
            indicator["pattern_version"] = "2.1"
            indicator["valid_from"] = self.valid_from
            self._add(Entry(indicator, REPORT), by=by)
            based_on = self._relationship(indicator_id, "based-on", sco["id"], by)
            contents.indicators_by_value[(observable_kind, value)] = indicator_id
            contents.refs += [indicator_id, sco["id"], based_on]
            if kind != Kind.ADVISORY:
                self._relationship(self.main_id, link, indicator_id, by)
        return contents

    def _cve(self, mention: Any, cve: str, by: _By) -> str:
        stix_id = vocab.derived_id("vulnerability", mention)
        obj = self._bound("vulnerability", stix_id, by=by)
        obj["name"] = cve
        obj["external_references"] = [{"source_name": "cve", "external_id": cve}]
        self._add(Entry(obj, REPORT), by=by)
        return stix_id

    # Comments and sightings -------------------------------------------------------------

    def _comment(self, comment: Comment, note_ids: dict[Any, str]) -> None:
        """A note; its id follows the marking it shares with the report, so a comment
        that stops matching (its note revoked) and matches again gets a new note."""
        by = self._attributed(comment.attribution, comment.organisation, comment.author_sector)
        created = timestamp(comment.created_at)
        stix_id = vocab.derived_id("note", comment.pk, comment.marking)
        obj = self._bound("note", stix_id, by=by, created=created, modified=created)
        obj["content"] = comment.body
        refs = [self.main_id]
        if comment.parent_id in note_ids:
            refs.append(note_ids[comment.parent_id])
        obj["object_refs"] = refs
        obj["extensions"] = {
            vocab.ACCORD_EXTENSION_ID: {
                "extension_type": "property-extension",
                "attribution": str(comment.attribution),
            }
        }
        note_ids[comment.pk] = stix_id
        self._add(Entry(obj, REPORT), by=by)

    def _sighting(self, sighting: Sighting, indicator_of: dict[tuple[str, str], str]) -> None:
        by = self._attributed(sighting.attribution, sighting.organisation, sighting.reporter_sector)
        created = timestamp(sighting.created_at)
        obj = self._bound(
            "sighting", f"sighting--{sighting.pk}", by=by, created=created, modified=created
        )
        seen = timestamp(sighting.seen_at)
        obj["first_seen"] = seen
        obj["last_seen"] = seen
        obj["count"] = int(sighting.count)
        target = self.main_id
        if sighting.observable is not None:
            target = indicator_of.get((sighting.observable.kind, sighting.observable.value), target)
        obj["sighting_of_ref"] = target
        if by.here is not None:
            obj["where_sighted_refs"] = [by.here]
        if sighting.note:
            obj["description"] = sighting.note
        obj["extensions"] = {
            vocab.ACCORD_EXTENSION_ID: {
                "extension_type": "property-extension",
                "attribution": str(sighting.attribution),
            }
        }
        sensitive = sighting.attribution == Attribution.ANONYMOUS
        self._add(Entry(obj, REPORT, sensitive=sensitive), by=by)


def _reduced(obj: dict[str, Any], here: str, abroad: str) -> dict[str, Any]:
    """The object as a peer that may not learn names sees it: the organisation's
    identity replaced by its sector's, and "named" shown as "pseudonymous"."""
    reduced = dict(obj)
    if reduced.get("created_by_ref") == here:
        reduced["created_by_ref"] = abroad
    if "where_sighted_refs" in reduced:
        reduced["where_sighted_refs"] = [
            abroad if ref == here else ref for ref in reduced["where_sighted_refs"]
        ]
    properties = reduced.get("extensions", {}).get(vocab.ACCORD_EXTENSION_ID)
    if properties and properties.get("attribution") == Attribution.NAMED:
        reduced["extensions"] = {
            **reduced["extensions"],
            vocab.ACCORD_EXTENSION_ID: {
                **properties,
                "attribution": Attribution.PSEUDONYMOUS.value,
            },
        }
    return reduced


class _Contents:
    """What the observables became: every object id (for an advisory's object_refs),
    the object each observable value stands for, and the CVE ids."""

    def __init__(self) -> None:
        self.refs: list[str] = []
        self.indicators_by_value: dict[tuple[str, str], str] = {}
        self.cves: list[str] = []


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def observable_sco(kind: str, value: str) -> tuple[dict[str, Any], str]:
    """The cyber observable for one of our observables and the STIX pattern matching it."""
    if kind in ("ipv4", "ipv6", "cidr"):
        stix_type = "ipv6-addr" if ":" in value else "ipv4-addr"
        operator = "ISSUBSET" if kind == "cidr" else "="
        properties: dict[str, Any] = {"value": value}
        pattern = f"[{stix_type}:value {operator} {_quoted(value)}]"
    elif kind in ("domain", "url", "email"):
        stix_type = {"domain": "domain-name", "url": "url", "email": "email-addr"}[kind]
        properties = {"value": value}
        pattern = f"[{stix_type}:value = {_quoted(value)}]"
    elif kind in _HASH_NAMES:
        stix_type = "file"
        name = _HASH_NAMES[kind]
        properties = {"hashes": {name: value}}
        path = f"'{name}'" if name in _QUOTED_HASHES else name
        pattern = f"[file:hashes.{path} = {_quoted(value)}]"
    elif kind == "asn":
        stix_type = "autonomous-system"
        number = int(value[2:])
        properties = {"number": number}
        pattern = f"[autonomous-system:number = {number}]"
    else:
        raise ValueError(f"No cyber observable for observables of kind {kind!r}.")
    sco = {
        "type": stix_type,
        "spec_version": vocab.SPEC_VERSION,
        "id": vocab.sco_id(stix_type, properties),
        **properties,
    }
    return sco, pattern


# --- Public interface ------------------------------------------------------------------------


def report_entries(report: Report, *, abroad: bool = False) -> list[Entry]:
    """Every object of the report with the scope of the row it is stored in."""
    here, there = _Builder(_load(report)).run()
    return there if abroad else here


def report_entries_both(report: Report) -> tuple[list[Entry], list[Entry]]:
    """The objects as served here and as served to peers that may not learn names
    (one load and one pass for both)."""
    return _Builder(_load(report)).run()


def report_objects(report: Report, *, abroad: bool = False) -> list[dict[str, Any]]:
    """Every STIX object of a report, as plain dicts (see the module docstring)."""
    return [entry.obj for entry in report_entries(report, abroad=abroad)]
