"""Writing a report's STIX objects into the store that TAXII, exports and peers serve.

``publish_report(report)`` maps the report (``mapping.report_entries_both``) and
compares each object with the latest stored version:

- unchanged (all but ``modified``, here and in the variant for peers): nothing;
- changed or new: a new version row, its ``modified`` strictly later than every
  stored version of that id, and the previous row no longer ``is_latest``;
- gone from the report (an observable removed, a comment whose marking no longer
  equals the report's): a revoked version of domain and relationship objects; a
  cyber observable, which cannot be revoked, just stops being the latest.

A withdrawn report maps to revoked versions of all its objects; a revoked object
is never written again. Calling it twice changes nothing the second time. Imported
reports — with a ``ReportOrigin``, or with stored objects of which none is the main
object this mapping gives them (a member's own bundle, imported) — are left alone:
the import stores their objects as they arrived.

Rows: report-bound objects have scope ``report`` and the report; organisation
identities scope ``named``; sector-class identities, the installation's identity,
the extension definition and the TLP marking definitions scope ``public``.
``is_latest`` is kept per id *within a report* for report-bound rows (the same
cyber observable appears in many reports, each with its report's marking) and per
id for the others. ``body_abroad`` holds the variant with named contributors
reduced to their sector (empty when the same).

Anonymity: rows record when they were written (``date_added``, and their place in
the id sequence). So that this never dates an anonymous contribution more finely
than the day, anonymous reports and anonymous sightings are written only by
:func:`publish_deferred`, a daily pass; ``publish_report`` called on commit leaves
them for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, Q
from django.utils import timezone

from accord.exchange.models import Scope, StixObject
from accord.sharing.models import Attribution, Report

from . import mapping

_CHUNK = 1000
_RETRIES = 3
_MS = dt.timedelta(milliseconds=1)


@dataclass
class PublishResult:
    written: int = 0  # new version rows
    retired: int = 0  # rows that stopped being the latest
    deferred: bool = False  # left for the daily pass (anonymous)

    def __iadd__(self, other: PublishResult) -> PublishResult:
        self.written += other.written
        self.retired += other.retired
        return self


def dumps(obj: dict[str, Any]) -> str:
    """The stored text of an object: compact, keys sorted at every level, so the same
    object is always the same text (and can be compared without parsing)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class _Wanted:
    obj: dict[str, Any]
    abroad: dict[str, Any] | None  # None: the same as obj
    scope: str
    sensitive: bool


def publish_report(
    report: Report, *, deferred: bool = False, now: dt.datetime | None = None
) -> PublishResult:
    """Bring the stored objects of ``report`` up to date (see the module docstring).

    ``deferred=True`` is the daily pass: it also writes what anonymous contributors
    gave. Without it an anonymous report is left alone, and so are anonymous
    sightings of any report.
    """
    if report.is_anonymous and not deferred:
        return PublishResult(deferred=True)
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                return _publish(report, deferred=deferred, now=now or timezone.now())
        except IntegrityError:
            # Another process wrote a version of a shared object (a cyber observable
            # in another report) at the same instant: look again.
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _publish(report: Report, *, deferred: bool, now: dt.datetime) -> PublishResult:
    report = (
        Report.objects.select_related("reporter_organisation", "reporter_sector")
        .filter(pk=report.pk, origin__isnull=True)
        .first()
    )
    if report is None:  # deleted meanwhile, or imported: its objects are stored as received
        return PublishResult()
    if _imported_locally(report):
        return PublishResult()  # a member's own bundle: its objects are stored as they arrived
    normal, abroad = mapping.report_entries_both(report)
    held_back = set() if deferred else {e.id for e in normal if e.sensitive}
    wanted = _wanted(normal, abroad, held_back)
    latest = _latest_rows(report, [i for i, w in wanted.items() if w.scope != Scope.REPORT])
    anonymous = report.is_anonymous
    now = mapping.to_millisecond(now)
    new_rows: list[StixObject] = []
    retire: list[int] = []

    base = mapping.to_millisecond(report.updated_at)
    for stix_id, want in wanted.items():
        previous = latest.get((stix_id, want.scope == Scope.REPORT))
        if previous is not None and (previous.revoked or _same(previous, want)):
            continue
        floor = None if (anonymous and want.scope == Scope.REPORT) or want.sensitive else now
        moment = _version(want.obj, previous, floor=floor, base=base)
        new_rows.append(_new_row(report, want.obj, want.abroad, want.scope, moment, now))
        if previous is not None:
            retire.append(previous.pk)

    for (stix_id, bound), row in latest.items():
        if not bound or stix_id in wanted or stix_id in held_back or row.revoked:
            continue
        retire.append(row.pk)
        if '"modified":' in row.body:  # domain and relationship objects can be revoked
            floor = None if anonymous else now
            moment = row.modified + _MS if floor is None else max(floor, row.modified + _MS)
            new_rows.append(_revoked_row(report, row, moment, now))

    if not new_rows and not retire:
        return PublishResult()
    _after_every_stored_version(new_rows)
    if retire:
        for start in range(0, len(retire), _CHUNK):
            StixObject.objects.filter(pk__in=retire[start : start + _CHUNK]).update(is_latest=False)
    _insert(new_rows)
    return PublishResult(written=len(new_rows), retired=len(retire))


_COLUMNS = (
    "stix_id",
    "stix_type",
    "spec_version",
    "modified",
    "date_added",
    "report_id",
    "scope",
    "body",
    "body_abroad",
    "is_latest",
    "revoked",
)


def _imported_locally(report: Report) -> bool:
    """Whether a member's imported bundle made this report: it has stored objects,
    none of which is the main object our mapping gives it. Checked before mapping,
    which for a bundle of many indicators costs much."""
    stored = StixObject.objects.filter(report=report.pk)
    found = (
        Report.objects.filter(pk=report.pk)
        .annotate(
            stored=Exists(stored),
            ours=Exists(stored.filter(stix_id__in=mapping.main_ids(report))),
        )
        .values("stored", "ours")
        .first()
    )
    return bool(found and found["stored"] and not found["ours"])


def _insert(rows: list[StixObject]) -> None:
    """Store new rows: on PostgreSQL with COPY (escaping large JSON texts for an
    INSERT costs far more than the insert itself), elsewhere with bulk_create."""
    if connection.vendor != "postgresql":
        StixObject.objects.bulk_create(rows, batch_size=_CHUNK)
        return
    table = StixObject._meta.db_table
    statement = f"COPY {table} ({', '.join(_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([getattr(row, column) for column in _COLUMNS])


def _wanted(
    normal: list[mapping.Entry], abroad: list[mapping.Entry], held_back: set[str]
) -> dict[str, _Wanted]:
    abroad_by_id = {entry.id: entry for entry in abroad}
    wanted: dict[str, _Wanted] = {}
    for entry in normal:
        if entry.id in held_back:
            continue
        other = abroad_by_id.get(entry.id)
        variant = None if other is None or other.obj is entry.obj else other.obj
        wanted[entry.id] = _Wanted(entry.obj, variant, entry.scope, entry.sensitive)
    for entry in abroad:  # sector-class identities that stand in for names abroad
        if entry.id not in wanted and entry.id not in held_back:
            wanted[entry.id] = _Wanted(entry.obj, None, entry.scope, entry.sensitive)
    return wanted


def _latest_rows(report: Report, shared_ids: list[str]) -> dict[tuple[str, bool], StixObject]:
    """The latest stored version of each object of the report (keyed by id and whether
    it is report-bound), and of the shared objects it references — one query."""
    found: dict[tuple[str, bool], StixObject] = {}
    rows = StixObject.objects.filter(is_latest=True).filter(
        Q(report=report, scope=Scope.REPORT)
        | Q(report__isnull=True, stix_id__in=shared_ids, scope__in=[Scope.PUBLIC, Scope.NAMED])
    )
    for row in rows.only("pk", "stix_id", "modified", "body", "body_abroad", "revoked", "scope"):
        key = (row.stix_id, row.scope == Scope.REPORT)
        if key not in found or row.modified > found[key].modified:
            found[key] = row
    return found


def _with_modified(obj: dict[str, Any], modified: str) -> dict[str, Any]:
    return {**obj, "modified": modified} if "modified" in obj else obj


def _same(previous: StixObject, want: _Wanted) -> bool:
    """Whether the stored version says the same, apart from when it was written."""
    stamp = mapping.timestamp(previous.modified)
    if dumps(_with_modified(want.obj, stamp)) != previous.body:
        return False
    abroad = dumps(_with_modified(want.abroad, stamp)) if want.abroad is not None else ""
    return abroad == previous.body_abroad


def _version(
    obj: dict[str, Any],
    previous: StixObject | None,
    *,
    floor: dt.datetime | None,
    base: dt.datetime,
) -> dt.datetime:
    """When a new version is dated. ``floor`` is now, where the time of publication may
    show, and None for anonymous material; ``base`` the report's last change."""
    if "modified" in obj:
        moment = mapping.parse_timestamp(str(obj["modified"]))
    elif "created" in obj:  # a marking definition: its one version is its creation
        return mapping.parse_timestamp(str(obj["created"]))
    else:  # a cyber observable: when it was written, or the report's day if anonymous
        moment = floor if floor is not None else base
    if previous is not None:
        moment = max(moment, previous.modified + _MS)
        if floor is not None:
            moment = max(moment, floor)
    return moment


def _revoked_row(
    report: Report, row: StixObject, moment: dt.datetime, now: dt.datetime
) -> StixObject:
    obj = {**json.loads(row.body), "revoked": True}
    abroad = {**json.loads(row.body_abroad), "revoked": True} if row.body_abroad else None
    return _new_row(report, obj, abroad, Scope.REPORT, moment, now)


def _new_row(
    report: Report,
    obj: dict[str, Any],
    abroad: dict[str, Any] | None,
    scope: str,
    moment: dt.datetime,
    now: dt.datetime,
) -> StixObject:
    stamp = mapping.timestamp(moment)
    body = dumps(_with_modified(obj, stamp))
    return StixObject(
        stix_id=str(obj["id"]),
        stix_type=str(obj["type"]),
        spec_version=str(obj.get("spec_version", "2.1")),
        modified=moment,
        date_added=now,
        report=report if scope == Scope.REPORT else None,
        scope=scope,
        body=body,
        body_abroad=dumps(_with_modified(abroad, stamp)) if abroad is not None else "",
        is_latest=True,
        revoked=bool(obj.get("revoked")),
    )


def _after_every_stored_version(rows: list[StixObject]) -> None:
    """Move each new version after every stored version of its id, wherever stored
    (a cyber observable's other reports, a retraction written for a peer): versions
    of one id must differ, and the newest must be the latest. A marking definition
    has one fixed version: if it is stored already, it is not written again."""
    ids = list({row.stix_id for row in rows})
    newest: dict[str, dt.datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        for stix_id, moment in (
            StixObject.objects.filter(stix_id__in=ids[start : start + _CHUNK])
            .values("stix_id")
            .annotate(newest=Max("modified"))
            .values_list("stix_id", "newest")
        ):
            newest[stix_id] = moment
    kept = []
    for row in rows:
        stored = newest.get(row.stix_id)
        if stored is not None and row.modified <= stored:
            if row.stix_type == "marking-definition":
                continue
            row.modified = stored + _MS
            stamp = mapping.timestamp(row.modified)
            row.body = _restamp(row.body, stamp)
            if row.body_abroad:
                row.body_abroad = _restamp(row.body_abroad, stamp)
        kept.append(row)
    rows[:] = kept


def _restamp(body: str, stamp: str) -> str:
    obj = json.loads(body)
    if "modified" in obj:
        obj["modified"] = stamp
    return dumps(obj)


# --- Passes over many reports --------------------------------------------------------------


def publish_reports(reports: Iterable[Report], *, deferred: bool = True) -> PublishResult:
    total = PublishResult()
    for report in reports:
        total += publish_report(report, deferred=deferred)
    return total


def publish_deferred() -> PublishResult:
    """The daily pass: anonymous reports, and reports with anonymous sightings.
    Run it once a day (after midnight UTC), so what it writes is dated to the day."""
    reports = (
        Report.objects.filter(
            Q(attribution=Attribution.ANONYMOUS) | Q(sightings__attribution=Attribution.ANONYMOUS),
            origin__isnull=True,
        )
        .distinct()
        .order_by("pk")  # random ids: the order says nothing about when they were filed
    )
    return publish_reports(reports.iterator(chunk_size=200), deferred=True)


def publish_all() -> PublishResult:
    """Backfill: every report, anonymous ones included (for a new installation, after
    an upgrade, or before a first peer pull)."""
    reports = Report.objects.filter(origin__isnull=True).order_by("pk")
    return publish_reports(reports.iterator(chunk_size=200), deferred=True)
