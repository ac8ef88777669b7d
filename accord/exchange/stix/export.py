"""Bundles: what a viewer may see, as one STIX 2.1 bundle.

:func:`bundle` wraps objects (dicts) in a bundle and adds the TLP marking
definitions they reference. :func:`iter_bundle` and :func:`write_bundle` write
stored rows as a bundle without parsing them (a bundle of any size streams), the
peers' variant with ``abroad=True``. :func:`export_rows` chooses the rows of a
selection of reports a person may see: the latest version of each of their objects
(published reports), the objects of reports not published yet (mapped on the fly,
e.g. an anonymous report filed today), and the identities, definitions and
markings they reference.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db.models import QuerySet

from accord import policy
from accord.exchange.models import Scope, StixObject
from accord.sharing.models import Report

from . import mapping, vocab
from .publish import dumps

_CHUNK = 500
# Ids of shared objects a stored body may reference (identities, definitions, markings).
_SHARED_REF = re.compile(
    r'"((?:identity|extension-definition|marking-definition)--[0-9a-f]{8}-[0-9a-f]{4}-'
    r'[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"'
)
# Objects people take part with; see stix_objects_exportable_to.
PARTICIPATION_TYPES = ("sighting", "note")


def new_bundle_id() -> str:
    return f"bundle--{uuid.uuid4()}"


def bundle(objects: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A bundle of ``objects``, with the TLP 2.0 marking definitions they reference."""
    objects = list(objects)
    present = {obj.get("id") for obj in objects}
    referenced: list[str] = []
    for obj in objects:
        for ref in obj.get("object_marking_refs", []):
            if ref not in present and ref not in referenced:
                referenced.append(ref)
    by_id = {str(o["id"]): o for o in vocab.TLP2_MARKING_OBJECTS.values()}
    extra = [dict(by_id[ref]) for ref in referenced if ref in by_id]
    return {"type": "bundle", "id": new_bundle_id(), "objects": extra + objects}


def iter_bundle(rows: Iterable[Any], *, abroad: bool = False) -> Iterator[str]:
    """The bundle as text chunks, from rows (``StixObject`` or anything with ``body``
    and ``body_abroad``); stored text is written as it is, never parsed. A bundle
    with no objects has no ``objects`` property (STIX wants one or more there)."""
    head = f'{{"type":"bundle","id":"{new_bundle_id()}"'
    first = True
    for row in rows:
        text = (row.body_abroad or row.body) if abroad else row.body
        if first:
            yield head + ',"objects":[' + text
            first = False
        else:
            yield "," + text
    yield head + "}" if first else "]}"


def write_bundle(rows: Iterable[Any], fp: IO[str], *, abroad: bool = False) -> int:
    """Write rows as one bundle to a text file; returns the number of objects."""
    count = 0

    def counted() -> Iterator[Any]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for chunk in iter_bundle(counted(), abroad=abroad):
        fp.write(chunk)
    return count


def stix_objects_exportable_to(user: Any) -> QuerySet[StixObject]:
    """What a person may export: exactly what the policy lets them read."""
    return policy.stix_objects_visible_to(user)


def export_rows(user: Any, reports: QuerySet[Report]) -> Iterator[StixObject]:
    """The objects of ``reports`` that ``user`` may see, then the shared objects they
    reference. ``reports`` must already be limited to ``policy.reports_visible_to``."""
    exportable = stix_objects_exportable_to(user)
    good = policy.sharing_context(user).good
    referenced: dict[str, None] = {}
    emitted: set[str] = set()
    public: dict[str, dict[str, Any]] = {}  # shared objects of reports mapped on the fly
    report_ids = list(reports.values_list("pk", flat=True))
    for start in range(0, len(report_ids), _CHUNK):
        chunk = report_ids[start : start + _CHUNK]
        published = set(
            StixObject.objects.filter(report_id__in=chunk, scope=Scope.REPORT)
            .values_list("report_id", flat=True)
            .distinct()
        )
        rows = exportable.filter(report_id__in=chunk, scope=Scope.REPORT, is_latest=True)
        for row in rows.order_by("report_id", "id").iterator(chunk_size=2000):
            referenced.update(dict.fromkeys(_SHARED_REF.findall(row.body)))
            yield row
        waiting = Report.objects.filter(pk__in=[pk for pk in chunk if pk not in published])
        for report in waiting.select_related("reporter_organisation", "reporter_sector"):
            for entry in mapping.report_entries(report):
                if entry.scope == mapping.PUBLIC:
                    public[entry.id] = entry.obj
                if entry.scope != mapping.REPORT:
                    continue
                if not good and entry.obj["type"] in PARTICIPATION_TYPES:
                    continue
                row = StixObject(body=dumps(entry.obj))
                referenced.update(dict.fromkeys(_SHARED_REF.findall(row.body)))
                yield row
    yield from _shared_rows(exportable, list(referenced), emitted, public)


def _shared_rows(
    exportable: QuerySet[StixObject],
    ids: list[str],
    emitted: set[str],
    public: dict[str, dict[str, Any]],
) -> Iterator[StixObject]:
    """Referenced identities, definitions and markings: stored and visible, or — for
    public objects not stored yet — from the mapping itself. What they reference in
    turn (the extension definition's creator) comes along."""
    constants = {str(o["id"]): o for o in vocab.TLP2_MARKING_OBJECTS.values()}
    constants.update(public)
    for obj in (mapping.extension_definition(), mapping.installation_identity()):
        constants[str(obj["id"])] = obj
    pending = [stix_id for stix_id in ids if stix_id not in emitted]
    while pending:
        found: dict[str, StixObject] = {}
        for start in range(0, len(pending), _CHUNK):
            rows = exportable.filter(
                report__isnull=True, stix_id__in=pending[start : start + _CHUNK], is_latest=True
            )
            for row in rows.order_by("stix_id", "-modified"):
                found.setdefault(row.stix_id, row)
        more: dict[str, None] = {}
        for stix_id in pending:
            emitted.add(stix_id)
            row = found.get(stix_id)
            if row is None and stix_id in constants:
                row = StixObject(stix_id=stix_id, body=dumps(constants[stix_id]))
            if row is None:
                continue  # not visible to this person (an organisation's name, say)
            more.update(dict.fromkeys(_SHARED_REF.findall(row.body)))
            yield row
        pending = [stix_id for stix_id in more if stix_id not in emitted]
