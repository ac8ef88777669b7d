"""A report as a MISP core JSON event (``{"Event": {...}}``) that MISP and PyMISP load.

Only a report the viewer may see is exported, and only what the viewer may see
of it (comments and sightings through the policy). The reporter appears as
``Orgc`` only when the report is named; a pseudonymous reporter as its sector
class; an anonymous one not at all (``Orgc`` is then this installation).
docs/misp.md lists every field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

from django.conf import settings

from accord import policy
from accord.exchange.models import ReportOrigin
from accord.exchange.stix.vocab import ACCORD_NAMESPACE
from accord.sharing.models import Attribution, Kind, Report
from accord.sharing.services.reports import public_reporter_label

from . import summary as sections
from . import vocab

# MISP wants a sample's contents with a malware-sample; without them it is a file name and hash.
_RENAMED = {"malware-sample": "filename|md5"}
_FILE_TYPES = frozenset({"filename|md5", "filename|sha1", "filename|sha256"})
_PORT_TYPES = frozenset({"ip-src|port", "ip-dst|port", "hostname|port"})


def _id(*parts: Any) -> str:
    return str(uuid.uuid5(ACCORD_NAMESPACE, ":".join(str(p) for p in parts)))


def _epoch(moment: dt.datetime) -> str:
    return str(int(moment.timestamp()))


def installation_org() -> dict[str, str]:
    """This installation as a MISP organisation: what stands in for hidden reporters."""
    return {"name": settings.NETWORK_NAME, "uuid": _id("misp-installation", settings.SITE_URL)}


def _orgc(report: Report) -> dict[str, str]:
    if report.attribution == Attribution.NAMED and report.reporter_organisation_id:
        org = report.reporter_organisation
        return {"name": org.name, "uuid": _id("misp-organisation", org.pk)}
    if report.attribution == Attribution.PSEUDONYMOUS:
        sector = report.reporter_sector.code if report.reporter_sector_id else ""
        return {
            "name": str(public_reporter_label(report)),
            "uuid": _id("misp-sector-class", sector, report.reporter_stakeholder_group),
        }
    return installation_org()


def _analysis(report: Report) -> int:
    if report.is_withdrawn or report.last_seen:
        return 2  # completed
    return 1 if report.version > 1 else 0  # ongoing once edited; initial as filed


def _tags(report: Report) -> list[str]:
    names = [vocab.EXPORT_TLP_TAG[report.marking]]
    if report.incident_type:
        category, _colon, kind = report.incident_type.partition(":")
        names.append(f'rsit:{category}="{kind}"')
    ns = vocab.ACCORD_TAG_NAMESPACE
    names.append(f'{ns}:kind="{report.kind}"')
    names += [f'{ns}:sector="{code}"' for code in sorted(s.code for s in report.sectors.all())]
    if report.kind == Kind.INCIDENT:
        names += [f'{ns}:effect="{code}"' for code in report.effects]
    if report.country_of_origin:
        names.append(f'{ns}:country-of-origin="{report.country_of_origin}"')
    if report.is_withdrawn:
        names.append(f'{ns}:status="withdrawn"')
    own = {name.lower() for name in names}
    for label in sections.labels_of(report.summary):
        # a label never overrides the marking the report carries
        if label.lower() not in own and label.lower() not in vocab.TLP_TAGS:
            names.append(label)
            own.add(label.lower())
    return names


def attribute_fields(kind: str, value: str, note: str) -> dict[str, Any]:
    """type, category, value, to_ids and comment for one observable, reading back what an
    import wrote in its note ("ip-dst · port 443 · context only · comment")."""
    parts = [p for p in (note or "").split(vocab.NOTE_SEPARATOR) if p]
    misp_type = vocab.EXPORT_TYPE[kind]
    original = False
    if parts and parts[0] in vocab.TYPES_FOR_KIND[kind]:
        # the category an import kept is valid for the type it came with, not for another
        original = parts[0] not in _RENAMED
        misp_type, parts = _RENAMED.get(parts[0], parts[0]), parts[1:]
    context: dict[str, str] = {}
    category = ""
    to_ids: bool | None = None
    rest: list[str] = []
    for part in parts:
        label, _space, text = part.partition(" ")
        if label in ("file", "port") and text and label not in context:
            context[label] = text
        elif label == "category" and text and original:
            category = text
        elif part == vocab.CONTEXT_ONLY:
            to_ids = False
        elif part == vocab.FOR_DETECTION:
            to_ids = True
        elif part != vocab.SCHEME_ASSUMED:
            rest.append(part)
    # A file name or port from the note makes the composite type MISP has for the pair.
    if misp_type in vocab.HASH_TYPES and "file" in context:
        misp_type, category = f"filename|{misp_type}", ""
    elif misp_type in ("ip-src", "ip-dst", "hostname") and "port" in context:
        misp_type, category = f"{misp_type}|port", ""
    shown = value
    if misp_type in _FILE_TYPES:
        if "file" in context:
            shown = f"{context['file']}|{value}"
        else:
            misp_type, category = misp_type.split("|")[1], ""
    elif misp_type in _PORT_TYPES:
        if context.get("port", "").isdigit():
            shown = f"{value}|{context['port']}"
        else:
            misp_type, category = misp_type.split("|")[0], ""
    default_category, default_ids = vocab.TYPE_DEFAULTS[misp_type]
    return {
        "type": misp_type,
        "category": category or default_category,
        "value": shown,
        "to_ids": default_ids if to_ids is None else to_ids,
        "comment": vocab.NOTE_SEPARATOR.join(rest),
    }


def _attributes(report: Report, viewer: Any, timestamp: str) -> list[dict[str, Any]]:
    sightings: dict[Any, list[dict[str, str]]] = defaultdict(list)
    visible_sightings = policy.sightings_visible_to(viewer, report).filter(observable__isnull=False)
    for sighting in visible_sightings.order_by("seen_at", "id"):
        sightings[sighting.observable_id].append(
            {
                "uuid": _id("misp-sighting", sighting.pk),
                "type": "0",
                "date_sighting": _epoch(sighting.seen_at),
                "source": "",  # who saw it is not exported
            }
        )
    attributes = []
    observations = report.observations.select_related("observable").order_by("position")
    for row in observations:
        kind, value = row.observable.kind, row.observable.value
        attribute = {
            "uuid": _id("misp-attribute", report.pk, kind, value),
            **attribute_fields(kind, value, row.note),
            "timestamp": timestamp,
            "distribution": str(vocab.INHERIT_DISTRIBUTION),
            "disable_correlation": False,
        }
        if sightings.get(row.observable_id):
            attribute["Sighting"] = sightings[row.observable_id]
        attributes.append(attribute)
    for url in report.references:
        attributes.append(
            {
                "uuid": _id("misp-link", report.pk, url),
                "type": vocab.LINK_TYPE,
                "category": vocab.TYPE_DEFAULTS[vocab.LINK_TYPE][0],
                "value": url,
                "to_ids": False,
                "comment": "",
                "timestamp": timestamp,
                "distribution": str(vocab.INHERIT_DISTRIBUTION),
                "disable_correlation": False,
            }
        )
    # The discussion goes along where its marking is the report's own, without its authors.
    comments = policy.comments_visible_to(viewer, report).filter(marking=report.marking)
    for comment in comments.order_by("created_at", "id"):
        attributes.append(
            {
                "uuid": _id("misp-comment", comment.pk),
                "type": "comment",
                "category": "Other",
                "value": comment.body,
                "to_ids": False,
                "comment": "A comment in the report's discussion",
                "timestamp": _epoch(comment.created_at),
                "distribution": str(vocab.INHERIT_DISTRIBUTION),
                "disable_correlation": True,
            }
        )
    return attributes


def export_event(report: Report | Any, *, viewer: Any) -> dict[str, Any]:
    """The MISP core JSON of a report the viewer may see; ``policy.NotVisible`` otherwise."""
    visible = policy.get_report(viewer, getattr(report, "pk", report))
    report = (
        Report.objects.select_related("reporter_organisation", "reporter_sector")
        .prefetch_related("sectors")
        .get(pk=visible.pk)
    )
    origin = ReportOrigin.objects.filter(report=report).first()
    if origin is not None and origin.external_id.startswith("misp-event--"):
        event_uuid = origin.external_id.removeprefix("misp-event--")  # the event it came from
    else:
        event_uuid = str(report.pk)
    timestamp = _epoch(report.updated_at)
    event: dict[str, Any] = {
        "uuid": event_uuid,
        "info": report.title,
        "date": (report.first_seen or report.created_at).date().isoformat(),
        "timestamp": timestamp,
        "publish_timestamp": timestamp,
        "published": not report.is_withdrawn,
        "analysis": str(_analysis(report)),
        "threat_level_id": str(vocab.threat_level_for(report.severity_level)),
        "distribution": str(vocab.DISTRIBUTION_FOR_MARKING[report.marking]),
        "sharing_group_id": "0",
        "Org": installation_org(),
        "Orgc": _orgc(report),
        "Tag": [{"name": name} for name in _tags(report)],
        "Attribute": _attributes(report, viewer, timestamp),
    }
    text = sections.without(report.summary, sections.CARRIED_ELSEWHERE)
    if text:
        event["EventReport"] = [
            {
                "uuid": _id("misp-event-report", report.pk),
                "name": "Summary",
                "content": text,
                "distribution": str(vocab.INHERIT_DISTRIBUTION),
                "timestamp": timestamp,
                "deleted": False,
            }
        ]
    return {"Event": event}
