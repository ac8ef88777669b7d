"""Importing STIX 2.1 objects into reports and the object store.

Every way in — a bundle file, the JSON API, a TAXII POST, a peer pull — calls
:func:`ingest` (objects in memory) or :func:`ingest_bundle` (a bundle streamed
from a file) with an :class:`IngestContext` saying who sends and how.

What happens, in one transaction per call:

1. **Scan.** All objects are read once to learn which ids the envelope holds and
   how they group: each report, incident, vulnerability, note, course-of-action
   and grouping SDO (a *container*) becomes one report here; the objects a
   report, grouping or note lists in ``object_refs`` belong to it, and so do the
   targets of a container's relationships and the observables its indicators are
   based on; a note whose ``object_refs`` name another container is a comment on
   that container. Everything else is *loose* and goes into one advisory per
   marking ("Indicators received over TAXII from …").
2. **Containers.** Each container version is checked and creates, updates
   (newer ``modified``), withdraws (``revoked``) or leaves alone (same or older
   version) its report. Only the report's origin may change it: the same peer or
   country for a foreign report, the same organisation for a local one.
3. **Objects**, in batches of :data:`BATCH`: each is checked
   (:mod:`.validate`), its references must name an object in the envelope or
   already stored, and it is stored as a :class:`~accord.exchange.models.StixObject`
   row anchored to its report, with the body as received. The same version again
   is a success that stores nothing. Indicators with simple patterns and cyber
   observables become the report's observables. Rows, observables and mentions
   are written with a few multi-row statements per batch, never one by one.

A failing object fails alone, with a message for the TAXII status resource;
the rest is stored — unless the context asks for all or nothing (the JSON API),
then any failure rolls everything back and :class:`IngestRefused` says why.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone
from django_countries import countries

from accord import policy
from accord.exchange.models import ReportOrigin, Scope, Source, StixObject, TaxiiStatus
from accord.sharing import anonymity
from accord.sharing.classification import (
    CoreComponent,
    Effect,
    get_incident_type,
    validate_answers,
    validate_effects,
)
from accord.sharing.models import (
    MARKING_RANK,
    Attribution,
    Audience,
    Kind,
    Marking,
    Observable,
    Report,
    ReportObservable,
    ReportVersion,
)
from accord.sharing.services.drafts import ReportDraft
from accord.sharing.services.observations import observable_ids

from . import reader, validate
from .vocab import ACCORD_EXTENSION_ID, MARKING_BY_ID

BATCH = 2000
BATCH_BYTES = 2_000_000  # of a file read per batch at most: large objects, fewer at a time
CONTAINER_TYPES = frozenset(
    {"report", "incident", "vulnerability", "note", "course-of-action", "grouping"}
)
WRAPPER_TYPES = frozenset({"report", "grouping", "note"})  # containers that list members
# Relationships from these take their targets into the source's report.
LINK_SOURCES = CONTAINER_TYPES | {"indicator"}
# Objects that describe other objects rather than report anything.
CONTEXT_TYPES = frozenset({"identity", "marking-definition", "extension-definition"})
MAX_FAILURES_KEPT = 10_000


@dataclass
class IngestContext:
    """Who sends, and how. ``organisation`` None means a foreign import (peer, or
    a file from abroad): reports then have no reporting organisation here."""

    user: Any = None
    organisation: Any = None
    peer: Any = None
    source: str = Source.FILE
    origin_country: str = ""
    audience: str = Audience.NETWORK
    audience_group: Any = None  # a WorkingGroup, when audience is "groups"
    marking_default: str = Marking.GREEN
    status: TaxiiStatus | None = None
    # Names the source in the titles of loose-object reports: a file name, a collection.
    label: str = ""
    all_or_nothing: bool = False
    notify: bool = True
    # A file of a million objects would keep a million (id, version) pairs: commands say no.
    keep_successes: bool = True

    @property
    def foreign(self) -> bool:
        return self.organisation is None


@dataclass
class IngestResult:
    total: int = 0
    stored: int = 0  # new object versions written
    unchanged: int = 0  # versions already stored, or older container versions ignored
    failed: int = 0
    observables: int = 0  # new report-observable mentions
    successes: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    reports_created: list[Any] = field(default_factory=list)
    reports_updated: list[Any] = field(default_factory=list)
    reports_withdrawn: list[Any] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return self.stored + self.unchanged

    def summary(self) -> str:
        return (
            f"{self.total} objects: {self.stored} stored, {self.unchanged} already known, "
            f"{self.failed} failed; reports: {len(self.reports_created)} created, "
            f"{len(self.reports_updated)} updated, {len(self.reports_withdrawn)} withdrawn; "
            f"{self.observables} observables"
        )


class IngestRefused(Exception):
    """All-or-nothing ingest with at least one failure: nothing was stored."""

    def __init__(self, result: IngestResult) -> None:
        super().__init__(f"{result.failed} of {result.total} objects are invalid")
        self.result = result


# --- Entry points ---------------------------------------------------------------------


def ingest(objects: Iterable[dict[str, Any]], ctx: IngestContext) -> IngestResult:
    """Import objects: a list (a TAXII envelope, an API body, a peer page), or any
    iterable read once — then each object is written to a temporary file as it is
    scanned and read back from there, so a stream never sits in memory whole."""
    if isinstance(objects, list):
        plan = _Plan.scan(objects)
        return _run(ctx, plan, lambda bodies, progress: iter(objects))
    with tempfile.TemporaryFile() as spool:
        plan = _Plan.scan(_spooled(objects, spool))

        def again(bodies: dict[int, str], progress: reader.Progress) -> Iterator[Any]:
            spool.seek(0)
            return _unspooled(spool, bodies, progress)

        return _run(ctx, plan, again)


def _spooled(objects: Iterable[Any], spool: IO[bytes]) -> Iterator[Any]:
    for obj in objects:
        spool.write(_dumps(obj).encode())  # JSON text never holds a raw newline
        spool.write(b"\n")
        yield obj


def _unspooled(
    spool: IO[bytes], bodies: dict[int, str], progress: reader.Progress
) -> Iterator[Any]:
    for line in spool:
        progress.bytes += len(line)
        text = line.decode().rstrip("\n")
        obj = json.loads(text)
        bodies[id(obj)] = text  # the body to store: no need to write the object again
        yield obj


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_number)


def _number(value: Any) -> Any:
    """Decimals (from a JSON parser told to keep them) as plain JSON numbers."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def ingest_bundle(source: reader.Source, ctx: IngestContext) -> IngestResult:
    """Import a bundle from a path, bytes or binary file, streaming it twice: once
    to learn its ids and reports, once to store. Memory does not grow with the
    size of the file (except for a few bytes per object id). Raises
    :class:`reader.BundleError` for malformed JSON or a non-bundle, before
    anything is stored."""
    if not reader.is_rereadable(source):
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(source, spool)  # type: ignore[misc]
            spool.seek(0)
            return ingest_bundle(spool, ctx)
    plan = _Plan.scan(reader.iter_objects(source))

    def again(bodies: dict[int, str], progress: reader.Progress) -> Iterator[dict[str, Any]]:
        reader.rewind(source)
        return reader.iter_objects(source, progress)

    return _run(ctx, plan, again)


def _run(ctx: IngestContext, plan: _Plan, objects: Any) -> IngestResult:
    with transaction.atomic():
        run = _Run(ctx, plan)
        run.containers()
        progress = reader.Progress()
        for batch in _batches(objects(run.bodies, progress), progress):
            run.batch(batch)
            run.bodies.clear()  # keyed by id(): only valid while the batch is alive
        run.finish()
        if ctx.all_or_nothing and run.result.failed:
            raise IngestRefused(run.result)
        _complete_status(ctx.status, run.result)
    return run.result


def _batches(stream: Iterator[Any], progress: reader.Progress) -> Iterator[list[Any]]:
    """Up to BATCH objects at a time, fewer when they are large (read from a file:
    at most about BATCH_BYTES of it), so memory stays flat whatever objects hold."""
    batch: list[Any] = []
    start = progress.bytes
    for obj in stream:
        batch.append(obj)
        if len(batch) >= BATCH or progress.bytes - start >= BATCH_BYTES:
            yield batch
            batch, start = [], progress.bytes
    if batch:
        yield batch


# --- The scan ---------------------------------------------------------------------------


def _key(stix_id: str) -> int:
    """A compact stand-in for an id in the scan's sets (an int instead of a string)."""
    return hash(stix_id)


def _type_of(stix_id: str) -> str:
    return stix_id.partition("--")[0]


@dataclass
class _Plan:
    """What the whole envelope says about itself, learnt before anything is stored.

    Ids are kept as ``_key`` ints where only membership matters, so that a bundle of
    a million objects costs tens of megabytes here, not hundreds.
    """

    present: set[int] = field(default_factory=set)
    containers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    member_of: dict[int, str] = field(default_factory=dict)
    # Context objects (identities, markings) a container refers to, other than as members.
    context_of: dict[int, str] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    # Relationships that may attach objects to a container: (relationship, source,
    # target) keys, and the target's id when it is of a container type.
    links: list[tuple[int, str, int, str | None]] = field(default_factory=list)
    sightings: list[tuple[int, int]] = field(default_factory=list)
    total: int = 0

    @classmethod
    def scan(cls, objects: Iterable[Any]) -> _Plan:
        plan = cls()
        for obj in objects:
            plan.total += 1
            if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
                continue
            stix_id = obj["id"]
            plan.present.add(_key(stix_id))
            stix_type = obj.get("type")
            if not isinstance(stix_type, str):
                continue  # the check says what is wrong with it
            plan.types.add(stix_type)
            if stix_type in CONTAINER_TYPES:
                plan.containers.setdefault(stix_id, []).append(obj)
            elif stix_type == "identity":
                plan.identities[stix_id] = {
                    k: obj[k] for k in ("name", "identity_class", "sectors") if k in obj
                }
            elif stix_type == "relationship":
                source, target = obj.get("source_ref"), obj.get("target_ref")
                if (
                    isinstance(source, str)
                    and isinstance(target, str)
                    and _type_of(source) in LINK_SOURCES
                ):
                    in_container = target if _type_of(target) in CONTAINER_TYPES else None
                    plan.links.append((_key(stix_id), source, _key(target), in_container))
            elif stix_type == "sighting" and isinstance(obj.get("sighting_of_ref"), str):
                plan.sightings.append((_key(stix_id), _key(obj["sighting_of_ref"])))
        plan._group()
        return plan

    def _group(self) -> None:
        containers = self.containers
        for versions in containers.values():
            versions.sort(key=lambda o: str(o.get("modified") or o.get("created") or ""))
        # A note on another container is a comment on it, not a report of its own.
        for stix_id in list(containers):
            latest = containers[stix_id][-1]
            if latest.get("type") == "note" and isinstance(latest.get("object_refs"), list):
                target = next((r for r in latest["object_refs"] if r in containers), None)
                if target is not None and target != stix_id:
                    self._demote(stix_id, target)
        # What a report or grouping lists is part of it, containers (a vulnerability
        # the report mentions) included.
        for stix_id in list(containers):
            if stix_id not in containers:
                continue
            latest = containers[stix_id][-1]
            if latest.get("type") in WRAPPER_TYPES and isinstance(latest.get("object_refs"), list):
                for ref in latest["object_refs"]:
                    if isinstance(ref, str) and ref != stix_id:
                        if ref in containers:
                            self._demote(ref, stix_id)
                        self.member_of.setdefault(_key(ref), stix_id)
        # A relationship from a container takes its target along (incident related-to
        # indicator, course-of-action mitigates attack-pattern); from an indicator of a
        # container, the observable it is based on.
        for relationship, source, target, target_id in self.links:
            owner = source if source in containers else None
            if owner is not None and target_id is not None and target_id in containers:
                self._demote(target_id, owner)
            if owner is not None:
                self.member_of.setdefault(target, owner)
                self.member_of.setdefault(relationship, owner)
        for relationship, source, target, _target_id in self.links:
            owner = self.member_of.get(_key(source)) if _type_of(source) == "indicator" else None
            if owner is not None:
                self.member_of.setdefault(target, owner)
                self.member_of.setdefault(relationship, owner)
        by_key = {_key(c): c for c in containers}
        for sighting, target in self.sightings:
            owner = self.member_of.get(target) or by_key.get(target)
            if owner is not None:
                self.member_of.setdefault(sighting, owner)
        # Members of a demoted container belong to the container it joined.
        for key, owner in list(self.member_of.items()):
            self.member_of[key] = self._top(owner)
        for stix_id, versions in containers.items():
            for ref in _context_refs(versions[-1]):
                self.context_of.setdefault(_key(ref), stix_id)

    def _demote(self, stix_id: str, owner: str) -> None:
        if stix_id == owner or self._top(owner) == stix_id:
            return  # never a cycle
        del self.containers[stix_id]
        self.member_of[_key(stix_id)] = owner

    def _top(self, stix_id: str) -> str:
        for _ in range(16):
            if stix_id in self.containers:
                return stix_id
            owner = self.member_of.get(_key(stix_id))
            if owner is None:
                return stix_id
            stix_id = owner
        return stix_id


def _context_refs(obj: dict[str, Any]) -> list[str]:
    refs = []
    if isinstance(obj.get("created_by_ref"), str):
        refs.append(obj["created_by_ref"])
    if isinstance(obj.get("object_marking_refs"), list):
        refs.extend(r for r in obj["object_marking_refs"] if isinstance(r, str))
    for extension_id in obj.get("extensions") or {}:
        if isinstance(extension_id, str) and extension_id.startswith("extension-definition--"):
            refs.append(extension_id)
    return refs


# --- The run ----------------------------------------------------------------------------


class _Failure(Exception):
    pass


@dataclass
class _Row:
    stix_id: str
    stix_type: str
    spec_version: str
    modified: dt.datetime
    version: str
    report_id: Any
    scope: str
    body: str
    revoked: bool
    observables: list[tuple[str, str]]
    note: str


class _Run:
    def __init__(self, ctx: IngestContext, plan: _Plan) -> None:
        self.ctx = ctx
        self.plan = plan
        self.result = IngestResult(total=plan.total)
        self.writer = _Writer()
        self.report_of_container: dict[str, Any] = {}
        self.done_containers: set[tuple[str, str]] = set()
        self.loose: dict[str, Any] = {}  # marking -> report id
        self.loose_types: set[str] = set()
        self.owners: dict[Any, bool] = {}  # report id -> ours to change
        self.markings: dict[Any, str] = {}  # report id -> marking
        self.positions: dict[Any, int] = {}  # report id -> next observable position
        self.touched: set[Any] = set()  # reports whose observables changed
        self.deferred: list[_Row] = []  # main objects whose observables come last
        self.bodies: dict[int, str] = {}  # id(obj) -> its JSON text, when already written
        self.marking_of: dict[tuple[str, ...], str] = {}  # object_marking_refs -> marking
        self.clock = timezone.now()

    # -- outcomes

    def succeed(self, stix_id: str, version: str, *, stored: bool) -> None:
        if stored:
            self.result.stored += 1
        else:
            self.result.unchanged += 1
        if self.ctx.keep_successes:
            self.result.successes.append((stix_id, version))

    def fail(self, obj: Any, message: str) -> None:
        self.result.failed += 1
        if len(self.result.failures) < MAX_FAILURES_KEPT:
            stix_id = obj.get("id") if isinstance(obj, dict) else None
            version = obj.get("modified") or obj.get("created") if isinstance(obj, dict) else None
            self.result.failures.append(
                (str(stix_id or "")[:120], str(version or "")[:40], message)
            )

    # -- containers first, so that their members know their report

    def containers(self) -> None:
        for stix_id, versions in self.plan.containers.items():
            existing = _existing([stix_id])
            for obj in versions:
                try:
                    self._container(obj, existing.get(stix_id, []))
                except _Failure as exc:
                    self.fail(obj, str(exc))
                    self.done_containers.add((stix_id, str(obj.get("modified", ""))))
                else:
                    existing = _existing([stix_id])

    def _container(self, obj: dict[str, Any], existing: list[tuple[Any, ...]]) -> None:
        checked = self._check(obj)
        stix_id, version_at, version = obj["id"], checked.version_at, checked.version
        self.done_containers.add((stix_id, str(obj.get("modified", ""))))
        self._refuse_unknown(checked.references, self._unknown_references([checked]))
        marking = self._marking(obj)
        if version_at in {row[1] for row in existing}:  # the same version again: nothing to do
            report_id = next(row[3] for row in existing if row[1] == version_at)
            self.report_of_container[stix_id] = report_id
            self._load_owners([report_id])
            self.succeed(stix_id, version, stored=False)
            return
        latest = max((row[1] for row in existing), default=None)
        report_id = next((row[3] for row in existing if row[3] is not None), None)
        if report_id is None and self.ctx.foreign:
            report_id = _rid(
                ReportOrigin.objects.filter(external_id=stix_id)
                .values_list("report_id", flat=True)
                .first()
            )
        fields = report_fields(obj, self.plan.identities, marking)
        if report_id is None:
            report_id = self._create_report(obj, fields, version_at)
        else:
            self._own(report_id, obj)
            if latest is None or version_at > latest:
                self._update_report(report_id, obj, fields, version_at)
        self.report_of_container[stix_id] = report_id
        is_latest = latest is None or version_at > latest
        row = self._row(obj, checked, version_at, version, report_id, Scope.REPORT)
        if is_latest and row.observables:
            self.deferred.append(row)
        row.observables = []
        self.writer.add(row, is_latest=is_latest, had_versions=bool(existing))
        self.writer.flush(self)
        self.succeed(stix_id, version, stored=True)

    # -- everything else, a batch at a time

    def batch(self, objects: list[Any]) -> None:
        checked: list[tuple[dict[str, Any], validate.Checked]] = []
        done = self.done_containers
        for obj in objects:
            if (
                done
                and isinstance(obj, dict)
                and isinstance(obj.get("id"), str)
                and (obj["id"], str(obj.get("modified", ""))) in done
            ):
                continue
            try:
                checked.append((obj, self._check(obj)))
            except _Failure as exc:
                self.fail(obj, str(exc))
        unknown = self._unknown_references([c for _, c in checked])
        ids = list({obj["id"] for obj, _ in checked})
        existing = _existing(ids)
        if existing:
            self._load_owners([row[3] for rows in existing.values() for row in rows if row[3]])
        seen: dict[tuple[str, Any], str] = {}
        for obj, check in checked:
            stix_id, version_at = obj["id"], check.version_at
            rows = existing.get(stix_id, [])
            try:
                if unknown:
                    self._refuse_unknown(check.references, unknown)
                marking = self._marking(obj)
                report_id, scope = self._intended(obj, marking)
                if version_at is None:
                    # No version of its own (a cyber observable): one copy per report,
                    # as publishing keeps them; a loose one we hold already is enough.
                    held = next((r for r in rows if _holds(r, report_id, self.owners)), None)
                    if held is not None:
                        self.succeed(stix_id, _stix_time(held[1]), stored=False)
                        continue
                    dedupe = (stix_id, report_id)
                    had_versions = False
                else:
                    dedupe = (stix_id, version_at)
                    had_versions = bool(rows)
                    if _same_version(rows, version_at):
                        self.succeed(stix_id, check.version, stored=False)
                        continue
                if dedupe in seen:  # twice in one batch
                    self.succeed(stix_id, seen[dedupe], stored=False)
                    continue
                if had_versions:
                    stored_anchor = _anchor_of(rows)
                    if stored_anchor is None:
                        raise _Failure(
                            f"belongs to another origin: {stix_id} is kept here without a "
                            "report of this sender"
                        )
                    self._own(stored_anchor, obj)
                    report_id = report_id or stored_anchor
                if report_id is None and scope == Scope.REPORT:
                    report_id = self._loose_report(marking)
                    self.loose_types.add(obj["type"])
            except _Failure as exc:
                self.fail(obj, str(exc))
                continue
            moment = version_at or self._tick()
            latest = max((row[1] for row in rows), default=None) if had_versions else None
            is_latest = latest is None or moment > latest
            version = check.version or _stix_time(moment)
            seen[dedupe] = version
            row = self._row(obj, check, moment, version, report_id, scope)
            self.writer.add(row, is_latest=is_latest, had_versions=had_versions)
            self.succeed(stix_id, version, stored=True)
        self.writer.flush(self)

    def _check(self, obj: Any) -> validate.Checked:
        if not isinstance(obj, dict):
            raise _Failure("not a JSON object")
        try:
            return validate.check(obj)
        except validate.Invalid as exc:
            raise _Failure(str(exc)) from None

    def _refuse_unknown(self, references: list[str], unknown: set[str]) -> None:
        for ref in references:
            if ref in unknown:
                raise _Failure(f"references unknown object {ref}")

    def _marking(self, obj: dict[str, Any]) -> str:
        refs = obj.get("object_marking_refs")
        key = tuple(refs) if refs else ()
        marking = self.marking_of.get(key)
        if marking is None:
            marking = self.marking_of[key] = self._tlp(key)
        return marking

    def _tlp(self, refs: tuple[str, ...]) -> str:
        markings = [MARKING_BY_ID[r] for r in refs if r in MARKING_BY_ID]
        marking = (
            max(markings, key=MARKING_RANK.__getitem__) if markings else self.ctx.marking_default
        )
        if marking == Marking.RED:
            raise _Failure(
                "TLP:RED material is not imported: it is meant only for the people its "
                "author named."
            )
        if marking == Marking.AMBER_STRICT and self.ctx.peer is not None:
            raise _Failure("TLP:AMBER+STRICT material may not come from another installation.")
        return str(marking)

    def _unknown_references(self, checked: list[validate.Checked]) -> set[str]:
        """Referenced ids neither in the envelope nor stored (TLP markings are always known)."""
        present = self.plan.present
        candidates = {
            ref
            for check in checked
            for ref in check.references
            if _key(ref) not in present and ref not in MARKING_BY_ID
        }
        if not candidates:
            return set()
        stored: set[str] = set()
        pending = list(candidates)
        for start in range(0, len(pending), 1000):
            stored.update(
                StixObject.objects.filter(stix_id__in=pending[start : start + 1000])
                .values_list("stix_id", flat=True)
                .distinct()
            )
        return candidates - stored

    def _intended(self, obj: dict[str, Any], marking: str) -> tuple[Any, str]:
        """The report this envelope puts an object in (None: loose), and who may read it."""
        key = _key(obj["id"])
        stix_type = obj["type"]
        container = self.plan.member_of.get(key)
        scope = Scope.REPORT
        if container is None and stix_type in CONTEXT_TYPES:
            container = self.plan.context_of.get(key)
            scope = _context_scope(obj)
        report_id = self.report_of_container.get(container) if container else None
        if report_id is not None and MARKING_RANK[marking] > MARKING_RANK[self.markings[report_id]]:
            report_id = None  # marked more strictly than its report: never shown with it
        if report_id is None and stix_type in CONTEXT_TYPES:
            scope = _context_scope(obj)
        return report_id, scope

    def _own(self, report_id: Any, obj: dict[str, Any]) -> None:
        if report_id not in self.owners:
            self._load_owners([report_id])
        if not self.owners.get(report_id, False):
            raise _Failure(
                f"belongs to another origin: {obj['id']} was received from another sender "
                "and only it may change it"
            )

    def _load_owners(self, report_ids: list[Any]) -> None:
        wanted = [r for r in set(report_ids) if r not in self.owners]
        if not wanted:
            return
        reports = Report.objects.filter(pk__in=wanted).select_related("origin")
        for report in reports:
            self.owners[str(report.pk)] = _ours(report, self.ctx)
            self.markings[str(report.pk)] = report.marking

    # -- reports

    def _create_report(self, obj: dict[str, Any], fields: ReportFields, version_at: Any) -> Any:
        from accord.sharing.services import reports as report_services

        if self.ctx.foreign:
            report = self._new_foreign_report(fields, external_id=obj["id"], modified=version_at)
        else:
            report = _service(
                report_services.create_report,
                self.ctx.user,
                fields.draft(self.ctx),
                organisation_id=self.ctx.organisation.pk,
                notify=self.ctx.notify,
            )
        if obj.get("revoked") is True:
            self._withdraw(report, fields.title)
        self.result.reports_created.append(report.pk)
        report_id = str(report.pk)
        self.owners[report_id] = True
        self.markings[report_id] = report.marking
        self.positions[report_id] = 0
        return report_id

    def _new_foreign_report(
        self, fields: ReportFields, *, external_id: str, modified: Any
    ) -> Report:
        from accord.sharing.services.reports import snapshot

        report = Report(id=uuid.uuid4(), attribution=Attribution.ANONYMOUS)
        fields.apply(report, self.ctx)
        report.created_at = report.updated_at = timezone.now()
        report.save()
        fields.set_relations(report, self.ctx)
        ReportOrigin.objects.create(
            report=report,
            external_id=external_id,
            source=self.ctx.source,
            origin_country=self.ctx.origin_country or "",
            peer=self.ctx.peer,
            reporter_label=fields.reporter_label[:200],
            external_modified=modified,
            imported_by=self.ctx.user,
        )
        ReportVersion.objects.create(
            report=report, number=1, snapshot=snapshot(report), note="Received"
        )
        if self.ctx.notify:
            report_id = str(report.pk)
            transaction.on_commit(lambda: _notify(report_id))
        return report

    def _update_report(
        self, report_id: Any, obj: dict[str, Any], fields: ReportFields, modified: Any
    ) -> None:
        from accord.sharing.services import SharingError
        from accord.sharing.services import reports as report_services

        report = Report.objects.select_related("origin").get(pk=report_id)
        if obj.get("revoked") is True:
            if not report.is_withdrawn:
                self._withdraw(report, fields.title)
            return
        if report.is_withdrawn:
            return  # a withdrawn report stays withdrawn
        if self.ctx.foreign:
            before = report_services.snapshot(report)
            fields.apply(report, self.ctx)
            report.version += 1
            report.updated_at = timezone.now()
            report.save()
            fields.set_relations(report, self.ctx)
            after = report_services.snapshot(report)
            ReportVersion.objects.create(
                report=report,
                number=report.version,
                snapshot=after,
                changed=[key for key in after if before.get(key) != after[key]],
                note="Updated by its origin",
            )
            ReportOrigin.objects.filter(report=report).update(
                external_modified=modified, reporter_label=fields.reporter_label[:200]
            )
        else:
            draft = fields.draft(self.ctx)
            current = report_services.draft_from_report(report)
            draft.observables = current.observables  # observables follow the members
            try:
                report_services.update_report(self.ctx.user, report, draft, note="Imported")
            except SharingError as exc:
                if exc.message != str(_nothing_changed()):
                    raise _Failure(str(exc.as_detail())) from None
            except policy.PolicyDenied as exc:
                raise _Failure(exc.message) from None
        self.markings[str(report.pk)] = fields.marking
        self.result.reports_updated.append(report.pk)

    def _withdraw(self, report: Report, title: str) -> None:
        from accord.sharing.services import reports as report_services
        from accord.sharing.services.reports import snapshot

        reason = "Revoked by its origin"
        if self.ctx.foreign:
            report.withdrawn_at = timezone.now()
            report.withdrawal_reason = reason
            report.version += 1
            report.updated_at = report.withdrawn_at
            report.save()
            ReportVersion.objects.create(
                report=report, number=report.version, snapshot=snapshot(report), note=reason
            )
        else:
            _service(report_services.withdraw_report, self.ctx.user, report, reason=reason)
        self.result.reports_withdrawn.append(report.pk)

    def _loose_report(self, marking: str) -> Any:
        if marking in self.loose:
            return self.loose[marking]
        from accord.sharing.services import reports as report_services

        guess = self.plan.types - CONTAINER_TYPES - CONTEXT_TYPES  # the title, until finish
        fields = ReportFields(
            kind=Kind.ADVISORY, title=_loose_title(self.ctx, guess), marking=marking
        )
        fields.reporter_label = _sender_label(self.ctx)
        if self.ctx.foreign:
            report = self._new_foreign_report(
                fields, external_id=f"x-accord-envelope--{uuid.uuid4()}", modified=None
            )
        else:
            report = _service(
                report_services.create_report,
                self.ctx.user,
                fields.draft(self.ctx),
                organisation_id=self.ctx.organisation.pk,
                notify=self.ctx.notify,
            )
        report_id = str(report.pk)
        self.loose[marking] = report_id
        self.owners[report_id] = True
        self.markings[report_id] = marking
        self.positions[report_id] = 0
        self.result.reports_created.append(report.pk)
        return report_id

    # -- rows

    def _row(
        self,
        obj: dict[str, Any],
        check: validate.Checked,
        moment: dt.datetime,
        version: str,
        report_id: Any,
        scope: str,
    ) -> _Row:
        observables: list[tuple[str, str]] = []
        note = ""
        if not obj.get("revoked"):
            observables = check.observables
            if obj["type"] == "indicator" and observables:
                note = _indicator_note(obj, observables)
            elif obj["type"] == "vulnerability":
                observables = _cves(obj)
                if obj["id"] not in self.plan.containers:  # a CVE the report mentions
                    note = " ".join(str(obj.get("description") or "").split())[:300]
        return _Row(
            stix_id=obj["id"],
            stix_type=obj["type"],
            spec_version=str(obj.get("spec_version") or "2.1")[:8],
            modified=moment,
            version=version,
            report_id=report_id,
            scope=scope,
            body=self.bodies.get(id(obj)) or _dumps(obj),
            revoked=obj.get("revoked") is True,
            observables=observables,
            note=note,
        )

    def _tick(self) -> dt.datetime:
        """A distinct time for each object that has no version of its own."""
        self.clock = max(self.clock + dt.timedelta(microseconds=1), timezone.now())
        return self.clock

    def next_added(self) -> dt.datetime:
        return self._tick()

    def next_position(self, report_id: Any) -> int:
        if report_id not in self.positions:
            last = (
                ReportObservable.objects.filter(report_id=report_id)
                .order_by("-position")
                .values_list("position", flat=True)
                .first()
            )
            self.positions[report_id] = (last + 1) if last is not None else 0
        position = self.positions[report_id]
        self.positions[report_id] = position + 1
        return position

    def finish(self) -> None:
        from accord.sharing.services.reports import snapshot

        # A main object's own observables (a vulnerability's CVE ids) come after those
        # of its indicators, as they were listed where the report was written.
        self.writer.observe(self, self.deferred)
        title = _loose_title(self.ctx, self.loose_types)
        for report_id in self.loose.values():
            Report.objects.filter(pk=report_id).exclude(title=title).update(title=title)
        for report_id in self.touched | set(self.loose.values()):
            report = Report.objects.get(pk=report_id)
            if report.observations.count() <= 5000:  # history keeps what a person can read
                ReportVersion.objects.filter(report=report, number=report.version).update(
                    snapshot=snapshot(report)
                )


def _same_version(rows: list[tuple[Any, ...]], version_at: dt.datetime) -> bool:
    return any(row[1] == version_at for row in rows)


def _anchor_of(rows: list[tuple[Any, ...]]) -> Any:
    """The report of the latest stored version (rows are (id, modified, latest, report))."""
    return max(rows, key=lambda row: (row[2], row[1]))[3]


def _holds(row: tuple[Any, ...], report_id: Any, owners: dict[Any, bool]) -> bool:
    """Whether a stored copy of a versionless object already serves this import."""
    if report_id is not None:
        return bool(row[3] == report_id)
    return row[3] is not None and owners.get(row[3], False)


def _existing(ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Stored versions of these ids: (stix_id, modified, is_latest, report_id) rows."""
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    if not ids:
        return found
    if connection.vendor == "postgresql":  # one array parameter: planned once, not per id
        with connection.cursor() as cursor:
            table = StixObject._meta.db_table
            cursor.execute(
                f"SELECT stix_id, modified, is_latest, report_id FROM {table} "  # noqa: S608
                "WHERE stix_id = ANY(%s)",
                [ids],
            )
            for stix_id, modified, latest, report_id in cursor.fetchall():
                found[stix_id].append((stix_id, modified, latest, _rid(report_id)))
        return found
    for start in range(0, len(ids), 1000):
        for stix_id, modified, latest, report_id in StixObject.objects.filter(
            stix_id__in=ids[start : start + 1000]
        ).values_list("stix_id", "modified", "is_latest", "report_id"):
            found[stix_id].append((stix_id, modified, latest, _rid(report_id)))
    return found


def _rid(report_id: Any) -> str | None:
    """Report ids are kept as text while importing: hashing text is cheap, a UUID's is not."""
    return None if report_id is None else str(report_id)


def _ours(report: Report, ctx: IngestContext) -> bool:
    """May this sender change this report? Only its origin may."""
    origin = getattr(report, "origin", None) if _has_origin(report) else None
    if ctx.foreign:
        if origin is None:
            return False  # made here: no import changes it
        if ctx.peer is not None or origin.peer_id is not None:
            return ctx.peer is not None and origin.peer_id == ctx.peer.pk
        return str(origin.origin_country or "") == str(ctx.origin_country or "") and (
            origin.source == ctx.source or ctx.source in (Source.FILE, Source.API)
        )
    if origin is not None:
        return False
    if report.reporter_organisation_id is not None:
        return report.reporter_organisation_id == ctx.organisation.pk
    return anonymity.is_author([ctx.organisation.pk], report.pk, report.authorship_tag)


def _has_origin(report: Report) -> bool:
    try:
        report.origin  # noqa: B018 - the reverse one-to-one raises when absent
    except ReportOrigin.DoesNotExist:
        return False
    return True


def _context_scope(obj: dict[str, Any]) -> str:
    if obj["type"] == "identity" and obj.get("identity_class") != "class":
        return Scope.NAMED
    return Scope.PUBLIC


def _indicator_note(obj: dict[str, Any], observables: list[tuple[str, str]]) -> str:
    """What an indicator says about its observable: its name, unless that is just the
    value (as Accord names them), then its description, unless that is Accord's
    stock sentence for observables without a note."""
    name = " ".join(str(obj.get("name") or "").split())
    if name and all(name.lower() != value.lower() for _, value in observables):
        return name[:300]
    description = " ".join(str(obj.get("description") or "").split())
    if description.startswith("An observable of the shared "):
        return ""
    return description[:300]


def _cves(obj: dict[str, Any]) -> list[tuple[str, str]]:
    from accord.sharing.observables import InvalidObservable, parse

    found = []
    for ref in obj.get("external_references") or ():
        if isinstance(ref, dict) and ref.get("source_name") == "cve" and ref.get("external_id"):
            try:
                found.append(parse(str(ref["external_id"]), "cve"))
            except InvalidObservable:
                continue
    return found


def _stix_time(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _service(function: Any, *args: Any, **kwargs: Any) -> Any:
    """A sharing service's refusal as this object's failure."""
    from accord.sharing.services import SharingError

    try:
        return function(*args, **kwargs)
    except SharingError as exc:
        raise _Failure(str(exc.as_detail())) from None
    except policy.PolicyDenied as exc:
        raise _Failure(exc.message) from None


def _nothing_changed() -> str:
    from django.utils.translation import gettext as _

    return _("Nothing changed.")


def _notify(report_id: str) -> None:
    from accord.sharing.tasks import notify_subscribers

    notify_subscribers.enqueue(report_id)


def _sender_label(ctx: IngestContext) -> str:
    if ctx.peer is not None:
        return f"{ctx.peer.name} ({ctx.peer.country})"
    if ctx.organisation is not None:
        return ctx.organisation.name
    if ctx.origin_country:
        return f"{ctx.label or 'a bundle file'} ({ctx.origin_country})"
    return ctx.label or "a bundle file"


def _loose_title(ctx: IngestContext, types: set[str]) -> str:
    what = "Indicators" if types == {"indicator"} else "STIX objects"
    sender = _sender_label(ctx)
    if ctx.source == Source.TAXII:
        how = f"received over TAXII from {sender}"
    elif ctx.source == Source.PEER:
        how = f"received from {sender}"
    elif ctx.source == Source.API:
        how = f"imported through the API by {sender}"
    else:
        how = f"imported from {ctx.label}" if ctx.label else f"imported from {sender}"
    return f"{what} {how}"[:200]


def _complete_status(status: TaxiiStatus | None, result: IngestResult) -> None:
    if status is None:
        return
    status.success_count = result.succeeded
    status.failure_count = result.failed
    status.pending_count = 0
    status.total_count = max(status.total_count, result.total)
    status.successes = [{"id": i, "version": v} for i, v in result.successes]
    status.failures = [{"id": i, "version": v, "message": m} for i, v, m in result.failures]
    status.status = TaxiiStatus.State.COMPLETE
    status.completed_at = timezone.now()
    status.save()


# --- Writing ----------------------------------------------------------------------------


class _Writer:
    """Collects a batch's rows and writes them with a few multi-row statements."""

    def __init__(self) -> None:
        self.rows: list[tuple[_Row, bool]] = []
        self.unlatest: set[str] = set()
        # Values as the database driver takes them, decided once rather than per value.
        self.pg = connection.vendor == "postgresql"
        self.time = _same if self.pg else connection.ops.adapt_datetimefield_value
        self.uuid = _same if self.pg else _hex

    def add(self, row: _Row, *, is_latest: bool, had_versions: bool) -> None:
        self.rows.append((row, is_latest))
        if is_latest and had_versions:
            self.unlatest.add(row.stix_id)

    def flush(self, run: _Run) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        unlatest, self.unlatest = sorted(self.unlatest), set()
        # Several new versions of one id in a batch: only the newest stays latest.
        newest: dict[str, dt.datetime] = {}
        for row, is_latest in rows:
            if is_latest and (row.stix_id not in newest or row.modified > newest[row.stix_id]):
                newest[row.stix_id] = row.modified
        time, as_uuid = self.time, self.uuid
        values = [
            (
                row.stix_id,
                row.stix_type,
                row.spec_version,
                time(row.modified),
                time(run.next_added()),
                as_uuid(row.report_id),
                row.scope,
                row.body,
                "",
                is_latest and newest[row.stix_id] == row.modified,
                row.revoked,
            )
            for row, is_latest in rows
        ]
        mentions = self._mentions(run, [row for row, is_latest in rows if is_latest])
        if self.pg:
            run.result.observables += _write_pg(connection.connection, unlatest, values, mentions)
            return
        _unlatest(unlatest)
        _insert(StixObject._meta.db_table, STIX_COLUMNS, values, conflict="(stix_id, modified)")
        run.result.observables += self._mention_sqlite(mentions)

    def observe(self, run: _Run, rows: list[_Row]) -> None:
        """Mention these rows' observables now (the main objects' own, at the end)."""
        mentions = self._mentions(run, rows)
        if self.pg:
            run.result.observables += _write_pg(connection.connection, [], [], mentions)
        else:
            run.result.observables += self._mention_sqlite(mentions)

    def _mentions(self, run: _Run, rows: list[_Row]) -> list[tuple[Any, str, str, int, str]]:
        """(report, kind, value, position, note) for the rows' observables. A mention
        already there is skipped by the database (its position is then not used)."""
        mentions: dict[tuple[Any, str, str], str] = {}
        for row in rows:
            for kind, value in row.observables:
                key = (row.report_id, kind, value)
                if not mentions.get(key):  # an indicator's note over its observable's none
                    mentions[key] = row.note
        run.touched.update(report_id for report_id, _, _ in mentions)
        return [
            (report_id, kind, value, run.next_position(report_id), note)
            for (report_id, kind, value), note in mentions.items()
        ]

    def _mention_sqlite(self, mentions: list[tuple[Any, str, str, int, str]]) -> int:
        if not mentions:
            return 0
        ids = observable_ids((kind, value) for _, kind, value, _, _ in mentions)
        as_uuid = self.uuid
        values = [
            (
                as_uuid(uuid.uuid4()),
                as_uuid(report_id),
                as_uuid(ids[(kind, value)]),
                position,
                note,
            )
            for report_id, kind, value, position, note in mentions
        ]
        return _insert(
            ReportObservable._meta.db_table,
            ("id", "report_id", "observable_id", "position", "note"),
            values,
            conflict="(report_id, observable_id)",
        )


def _unlatest(ids: list[str]) -> None:
    for start in range(0, len(ids), 1000):
        StixObject.objects.filter(stix_id__in=ids[start : start + 1000], is_latest=True).update(
            is_latest=False
        )


def _write_pg(
    raw: Any,
    unlatest: list[str],
    values: list[tuple[Any, ...]],
    mentions: list[tuple[Any, str, str, int, str]],
) -> int:
    """One batch's statements on PostgreSQL, on the raw connection (no per-statement
    logging of megabytes of SQL). Returns the mentions added."""
    table = StixObject._meta.db_table
    with raw.cursor() as cursor:
        if unlatest:
            cursor.execute(
                f"UPDATE {table} SET is_latest = false "  # noqa: S608 - the model's table
                "WHERE stix_id = ANY(%s) AND is_latest",
                [unlatest],
            )
        if values:
            _copy_rows(cursor, table, STIX_COLUMNS, values, "(stix_id, modified)")
        return _mention_pg(cursor, mentions) if mentions else 0


def _copy_rows(
    cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], conflict: str
) -> None:
    """COPY straight into the table; should another transaction have stored one of
    the rows meanwhile (a unique violation), again through a temporary table with
    ``ON CONFLICT DO NOTHING``."""
    from psycopg import errors

    names = ", ".join(columns)
    cursor.execute("SAVEPOINT stixin_copy")
    try:
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    except errors.UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT stixin_copy")
        _staged_insert(cursor, table, columns, rows, conflict)
    cursor.execute("RELEASE SAVEPOINT stixin_copy")


def _staged_insert(
    cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], conflict: str
) -> int:
    names = ", ".join(columns)
    stage = f"stixin_{table}"
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "  # noqa: S608
        f"ON CONFLICT {conflict} DO NOTHING"
    )
    inserted = cursor.rowcount
    cursor.execute(f"TRUNCATE {stage}")
    return int(inserted)


def _mention_pg(cursor: Any, rows: list[tuple[Any, str, str, int, str]]) -> int:
    """PostgreSQL: new observables and the mentions in three statements, ids made by
    the database. Values another transaction is adding meanwhile are waited for by
    the unique index and then read, so no value is ever stored twice."""
    observable = Observable._meta.db_table
    mention = ReportObservable._meta.db_table
    cursor.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS stixin_mentions "
        "(report_id uuid, kind text, value text, position integer, note text) "
        "ON COMMIT DROP"
    )
    with cursor.copy(
        "COPY stixin_mentions (report_id, kind, value, position, note) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO {observable} (id, kind, value) "  # noqa: S608 - model tables only
        "SELECT gen_random_uuid(), kind, value FROM stixin_mentions "
        "ON CONFLICT (kind, value) DO NOTHING"
    )
    # One index probe per value, however large the table of observables has grown
    # (a join would be planned as a scan of it when its statistics are behind).
    cursor.execute(
        f"INSERT INTO {mention} (id, report_id, observable_id, position, note) "  # noqa: S608
        "SELECT gen_random_uuid(), m.report_id, "
        f"(SELECT o.id FROM {observable} o WHERE o.kind = m.kind AND o.value = m.value), "
        "m.position, m.note FROM stixin_mentions m "
        "ON CONFLICT (report_id, observable_id) DO NOTHING"
    )
    added = cursor.rowcount
    cursor.execute("TRUNCATE stixin_mentions")
    return int(added)


STIX_COLUMNS = (
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


def _same(value: Any) -> Any:
    return value


def _hex(value: Any) -> Any:
    if value is None:
        return None
    return value.hex if isinstance(value, uuid.UUID) else uuid.UUID(str(value)).hex


def _insert(
    table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *, conflict: str
) -> int:
    """SQLite: INSERT … ON CONFLICT DO NOTHING with many rows per statement, on the
    raw cursor (no per-statement logging of megabytes of SQL). Returns the rows added."""
    if not rows:
        return 0
    connection.ensure_connection()
    names = ", ".join(columns)
    per_statement = max(1, 30_000 // len(columns))
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    inserted = 0
    cursor = connection.connection.cursor()
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 - model tables only
                + ", ".join([one] * len(chunk))
                + f" ON CONFLICT {conflict} DO NOTHING",
                [value for row in chunk for value in row],
            )
            inserted += cursor.rowcount
    finally:
        cursor.close()
    return inserted


# --- From a container SDO to a report's fields ---------------------------------------------

KIND_BY_TYPE = {
    "incident": Kind.INCIDENT,
    "vulnerability": Kind.VULNERABILITY,
    "report": Kind.ADVISORY,
    "grouping": Kind.ADVISORY,
    "note": Kind.ADVISORY,
    "course-of-action": Kind.MEASURE,
}
MAX_TITLE = 200
MAX_SUMMARY = 20_000
MAX_REFERENCES = 50


@dataclass
class ReportFields:
    """What a container SDO says about its report, already cut to what a report holds."""

    kind: str
    title: str
    marking: str
    summary: str = ""
    references: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    incident_type: str = ""
    severity: dict[str, str] = field(default_factory=dict)
    core_components: list[str] = field(default_factory=list)
    task_areas: list[str] = field(default_factory=list)
    attribution: str = Attribution.NAMED
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    country_of_origin: str = ""
    reporter_label: str = ""

    def audience(self, ctx: IngestContext) -> tuple[str, list[Any]]:
        if self.marking == Marking.CLEAR:
            return Audience.NETWORK, []  # CLEAR is public: no narrower audience
        if ctx.audience == Audience.GROUPS and ctx.audience_group is not None:
            return Audience.GROUPS, [ctx.audience_group]
        if ctx.audience == Audience.GROUPS:
            return Audience.NETWORK, []
        return ctx.audience, []

    def draft(self, ctx: IngestContext) -> ReportDraft:
        """For a report filed here by the importing organisation."""
        audience, groups = self.audience(ctx)
        return ReportDraft(
            kind=self.kind,
            title=self.title,
            summary=self.summary,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            sectors=list(self.sectors),
            country_of_origin=self.country_of_origin,
            references=list(self.references),
            marking=self.marking,
            audience=audience,
            audience_groups=[group.slug for group in groups],
            attribution=self.attribution,
            effects=list(self.effects),
            incident_type=self.incident_type,
            task_areas=list(self.task_areas),
            core_components=list(self.core_components),
            severity=dict(self.severity),
        )

    def apply(self, report: Report, ctx: IngestContext) -> None:
        """For a foreign report: set the fields directly (nobody here filed it)."""
        from accord.sharing.services.network_settings import current_severity

        report.kind = self.kind
        report.title = self.title
        report.summary = self.summary
        report.first_seen, report.last_seen = self.first_seen, self.last_seen
        report.references = list(self.references)
        report.country_of_origin = self.country_of_origin
        report.marking = self.marking
        report.audience = self.audience(ctx)[0]
        report.effects = list(self.effects) if self.kind == Kind.INCIDENT else []
        report.incident_type = self.incident_type
        report.core_components = list(self.core_components)
        report.severity_answers = dict(self.severity)
        severity = current_severity(self.severity) if self.severity else None
        report.severity_score = severity.score if severity else None
        report.severity_level = severity.level if severity else None
        report.attribution = Attribution.ANONYMOUS  # no organisation here claims it

    def set_relations(self, report: Report, ctx: IngestContext) -> None:
        from accord.membership.models import Sector, Task

        report.sectors.set(Sector.objects.filter(code__in=self.sectors))
        report.task_areas.set(Task.objects.filter(code__in=self.task_areas))
        report.audience_groups.set(self.audience(ctx)[1])


def report_fields(
    obj: dict[str, Any], identities: dict[str, dict[str, Any]], marking: str
) -> ReportFields:
    """Read a container SDO. Accord's own extension (docs/stix-mapping.md) gives the
    kind, attribution and classification exactly; other producers' labels of the same
    form (``sector:energy``, ``cissm:…``, ``rsit:…``) are read too. Unknown
    vocabulary is dropped, never an error."""
    stix_type = obj["type"]
    extension = _accord_extension(obj)
    title = _text(obj.get("name") or obj.get("abstract"))
    if not title and stix_type == "note":
        title = _text(str(obj.get("content") or "").strip().splitlines()[0:1] or "")
    summary = str(obj.get("description") or obj.get("content") or "").strip()
    if stix_type == "note" and summary == title:
        summary = ""
    if len(title) < 3:
        title = f"{stix_type.replace('-', ' ').capitalize()} {title}".strip()
    kind = extension.get("kind")
    labels = _labelled(obj.get("labels"))
    fields = ReportFields(
        kind=kind if kind in Kind.values else KIND_BY_TYPE[stix_type],
        title=title[:MAX_TITLE],
        marking=marking,
        summary=summary[:MAX_SUMMARY],
        references=_references(obj),
    )
    attribution = extension.get("attribution")
    if attribution in Attribution.values:
        fields.attribution = attribution
    fields.sectors = _codes(extension.get("sectors"), labels.get("sector"), _sector_codes())
    fields.task_areas = _codes(extension.get("task_areas"), labels.get("task-area"), _task_codes())
    fields.core_components = _codes(
        extension.get("core_components"), labels.get("public-core"), set(CoreComponent.values)
    )
    if fields.kind == Kind.INCIDENT:
        effects = _codes(extension.get("effects"), labels.get("cissm"), set(Effect.values))
        try:
            fields.effects = validate_effects(effects) if effects else []
        except ValueError:
            fields.effects = []
    incident_type = extension.get("incident_type") or next(iter(labels.get("rsit", [])), "")
    if isinstance(incident_type, str) and incident_type:
        try:
            get_incident_type(incident_type)
            fields.incident_type = incident_type
        except ValueError:
            pass
    severity = extension.get("severity")
    if isinstance(severity, dict) and isinstance(severity.get("answers"), dict):
        try:
            fields.severity = validate_answers(severity["answers"])
        except ValueError:
            fields.severity = {}
    for name in ("first_seen", "last_seen"):
        value = extension.get(name) or (obj.get(name) if stix_type == "incident" else None)
        if validate.is_timestamp(value):
            setattr(fields, name, validate.timestamp(value, name))
    country = extension.get("country_of_origin")
    if isinstance(country, str) and country.upper() in dict(countries):
        fields.country_of_origin = country.upper()
    fields.reporter_label = _reporter_label(obj, identities)
    return fields


def _accord_extension(obj: dict[str, Any]) -> dict[str, Any]:
    extensions = obj.get("extensions")
    found = extensions.get(ACCORD_EXTENSION_ID) if isinstance(extensions, dict) else None
    return found if isinstance(found, dict) else {}


def _labelled(labels: Any) -> dict[str, list[str]]:
    """Labels of the form ``prefix:code``, by prefix."""
    found: dict[str, list[str]] = defaultdict(list)
    for label in labels if isinstance(labels, list) else ():
        if isinstance(label, str) and ":" in label:
            prefix, _, code = label.partition(":")
            found[prefix].append(code)
    return found


def _codes(given: Any, labelled: list[str] | None, known: set[str]) -> list[str]:
    values = given if isinstance(given, list) else (labelled or [])
    return list(dict.fromkeys(v for v in values if isinstance(v, str) and v in known))


def _sector_codes() -> set[str]:
    from accord.membership.models import Sector

    return set(Sector.objects.values_list("code", flat=True))


def _task_codes() -> set[str]:
    from accord.membership.models import Task

    return set(Task.objects.values_list("code", flat=True))


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return " ".join(str(value or "").split())


def _references(obj: dict[str, Any]) -> list[str]:
    from urllib.parse import urlsplit

    found: list[str] = []
    for ref in obj.get("external_references") or ():
        url = ref.get("url") if isinstance(ref, dict) else None
        if not isinstance(url, str) or len(url) > 2048 or ref.get("source_name") == "rsit":
            continue  # the RSIT reference explains the incident type; it is no source
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.netloc and url.strip() not in found:
            found.append(url.strip())
    return found[:MAX_REFERENCES]


def _reporter_label(obj: dict[str, Any], identities: dict[str, dict[str, Any]]) -> str:
    """Who reported it, as the origin let us know: the identity's name, else its class
    and sectors ("organization, energy")."""
    identity = identities.get(str(obj.get("created_by_ref") or ""))
    if not identity:
        return ""
    if identity.get("name"):
        return _text(identity["name"])[:200]
    parts = [str(identity.get("identity_class") or "")]
    sectors = identity.get("sectors")
    if isinstance(sectors, list):
        parts.append(", ".join(str(s) for s in sectors))
    return ", ".join(p for p in parts if p)[:200]
