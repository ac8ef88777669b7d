"""Pulling a peer's material, under the inbound agreement.

One pull reads every object the peer added since the cursor (minus an overlap:
rows committed late can carry an earlier ``date_added`` than rows already
served), page by page, into a temporary file. The objects are screened against
the inbound agreement, and what passes is handed to the STIX ingest as one
bundle, so that a report's objects are grouped whatever page they came on and
the whole pull is applied in one transaction. Only then does the cursor move.

The screen (``Screen``):

* an object marked above the agreement's highest marking is left out, and
  AMBER+STRICT and RED always (identities and definitions carry no marking and
  pass); an unmarked object counts as GREEN;
* a report object (incident, vulnerability, report, note, course-of-action,
  grouping) of a kind the agreement does not take, or whose latest version is
  marked too high, is left out together with what belongs to it: the objects it
  lists, the relationships that touch it and what they lead to, its sightings
  and notes — unless a kept object also needs them;
* if we hold a copy of such a report from this peer, the copy is withdrawn: a
  revoked version of what we hold is added in its place (the origin marked it
  more strictly, or it left what we take);
* a revoked report object for which we hold no copy from this peer is left out
  (there is nothing to withdraw).

The ingest then guarantees the rest: the same report arriving again or from a
second peer is one report, and only the peer it came from may change it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import F
from django.utils import timezone

from accord import policy
from accord.exchange.models import (
    Agreement,
    Peer,
    PeerPullRun,
    ReportOrigin,
    Source,
    StixObject,
)
from accord.exchange.stix import ingest as stix_ingest
from accord.exchange.stix import validate
from accord.exchange.stix.vocab import MARKING_BY_ID
from accord.sharing.models import MARKING_RANK, Audience, Marking

from .client import PeerClient, PullError

logger = logging.getLogger(__name__)

OVERLAP = dt.timedelta(minutes=2)
# At most this many objects referred to but added before the cursor are fetched one by one.
MAX_FETCHED = 500
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=6)
RUNS_KEPT = 50

CONTAINER_TYPES = stix_ingest.CONTAINER_TYPES
CONTEXT_TYPES = frozenset({"identity", "marking-definition", "extension-definition"})
KIND_BY_TYPE = stix_ingest.KIND_BY_TYPE


def retry_delay(failures: int) -> dt.timedelta:
    """Exponential back-off: 1, 2, 4 … minutes after consecutive failures, at most 6 h."""
    if failures <= 0:
        return dt.timedelta(0)
    return min(BACKOFF_BASE * (2 ** min(failures - 1, 20)), BACKOFF_MAX)


def parse_time(value: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def format_time(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def added_after(cursor: str) -> str:
    """What to ask for: a little before the cursor (the ingest is idempotent)."""
    moment = parse_time(cursor) if cursor else None
    return format_time(moment - OVERLAP) if moment else ""


# --- The screen ----------------------------------------------------------------------------


def _version(obj: dict[str, Any]) -> str:
    return str(obj.get("modified") or obj.get("created") or "")


def _marking(obj: dict[str, Any]) -> str:
    found = [MARKING_BY_ID[r] for r in obj.get("object_marking_refs") or () if r in MARKING_BY_ID]
    return max(found, key=MARKING_RANK.__getitem__) if found else Marking.GREEN


def _kind(obj: dict[str, Any]) -> str:
    """An Accord peer says the kind in its extension; otherwise the type decides."""
    for properties in (obj.get("extensions") or {}).values():
        if isinstance(properties, dict) and properties.get("kind") in KIND_BY_TYPE.values():
            return str(properties["kind"])
    return KIND_BY_TYPE.get(str(obj.get("type")), "")


@dataclass
class _Container:
    version: str
    kind: str
    marking_ok: bool
    revoked: bool
    members: list[str]


@dataclass
class Screen:
    """Learns a pull's objects one by one (keeping only ids and references), then
    says which to leave out."""

    kinds: frozenset[str]
    markings: frozenset[str]
    types: dict[str, str] = field(default_factory=dict)
    containers: dict[str, _Container] = field(default_factory=dict)
    bad_versions: set[tuple[str, str]] = field(default_factory=set)
    # Edges that tie an object to another: relationships, sightings, notes, lists.
    relationships: dict[str, tuple[str, str]] = field(default_factory=dict)
    pointers: dict[str, set[str]] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)

    @classmethod
    def for_agreement(cls, agreement: Agreement) -> Screen:
        return cls(
            kinds=frozenset(agreement.kinds),
            markings=frozenset(policy.peer_markings(agreement.highest_marking)),
        )

    def see(self, obj: dict[str, Any]) -> None:
        stix_id, stix_type = obj.get("id"), obj.get("type")
        if not isinstance(stix_id, str) or not isinstance(stix_type, str):
            return  # the ingest reports it as invalid
        self.types[stix_id] = stix_type
        self.references.update(r for r in validate.references(obj) if isinstance(r, str))
        if stix_type in CONTEXT_TYPES:
            return
        version = _version(obj)
        marking_ok = _marking(obj) in self.markings
        if not marking_ok:
            self.bad_versions.add((stix_id, version))
        if stix_type in CONTAINER_TYPES:
            known = self.containers.get(stix_id)
            if known is None or version >= known.version:
                refs = obj.get("object_refs")
                self.containers[stix_id] = _Container(
                    version=version,
                    kind=_kind(obj),
                    marking_ok=marking_ok,
                    revoked=obj.get("revoked") is True,
                    members=[r for r in refs if isinstance(r, str)]
                    if isinstance(refs, list)
                    else [],
                )
        if stix_type == "relationship":
            source, target = obj.get("source_ref"), obj.get("target_ref")
            if isinstance(source, str) and isinstance(target, str):
                self.relationships[stix_id] = (source, target)
        elif stix_type == "sighting" and isinstance(obj.get("sighting_of_ref"), str):
            self.pointers.setdefault(stix_id, set()).add(obj["sighting_of_ref"])
        elif stix_type == "note" and isinstance(obj.get("object_refs"), list):
            self.pointers.setdefault(stix_id, set()).update(
                r for r in obj["object_refs"] if isinstance(r, str)
            )

    def missing(self) -> set[str]:
        """Referenced ids that are not among the objects seen."""
        return {
            ref
            for ref in self.references
            if ref not in self.types and ref not in MARKING_BY_ID and "--" in ref
        }

    def refused_containers(self) -> set[str]:
        return {
            stix_id
            for stix_id, c in self.containers.items()
            if not c.revoked and (c.kind not in self.kinds or not c.marking_ok)
        }

    def revoked_containers(self) -> set[str]:
        return {stix_id for stix_id, c in self.containers.items() if c.revoked}

    def left_out(self, refused: set[str]) -> set[str]:
        """The ids to leave out: the refused report objects and what belongs to them."""
        dropped = set(refused)
        for stix_id in refused:
            dropped.update(self._own(self.containers[stix_id].members))
        changed = True
        while changed:
            changed = False
            for stix_id, (source, target) in self.relationships.items():
                if stix_id in dropped or not ({source, target} & dropped):
                    continue
                dropped.add(stix_id)
                dropped.update(self._own([source, target]))
                changed = True
            for stix_id, targets in self.pointers.items():
                if stix_id not in dropped and targets & dropped:
                    dropped.add(stix_id)
                    changed = True
        # An object a kept object still needs stays (an observable two reports share).
        needed: set[str] = set()
        for stix_id, (source, target) in self.relationships.items():
            if stix_id not in dropped:
                needed.update((source, target))
        for stix_id, container in self.containers.items():
            if stix_id not in dropped:
                needed.update(container.members)
        return dropped - (needed - set(refused))

    def _own(self, ids: list[str]) -> set[str]:
        """Of these ids, those that belong to a report: not definitions, identities or
        other report objects."""
        return {
            i
            for i in ids
            if self.types.get(i, i.partition("--")[0]) not in CONTEXT_TYPES
            and i not in self.containers
        }


# --- A pull --------------------------------------------------------------------------------


@dataclass
class _Spool:
    """The pull's objects, one JSON text per line, in a temporary file."""

    file: IO[bytes]
    count: int = 0
    fetched: int = 0

    def add(self, obj: dict[str, Any]) -> None:
        self.file.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode())
        self.file.write(b"\n")
        self.count += 1

    def lines(self) -> Any:
        self.file.seek(0)
        for line in self.file:
            if line.strip():
                yield line.rstrip(b"\n")


def _revocations(peer: Peer, ids: set[str], known_versions: dict[str, str]) -> list[str]:
    """A revoked version of each copy we hold from this peer among ``ids``, newer
    than what we hold and as new as what the peer just sent."""
    if not ids:
        return []
    held = dict(
        ReportOrigin.objects.filter(
            external_id__in=ids, peer=peer, report__withdrawn_at__isnull=True
        ).values_list("external_id", "report_id")
    )
    texts = []
    for stix_id, report_id in held.items():
        row = (
            StixObject.objects.filter(stix_id=stix_id, report_id=report_id)
            .order_by("-modified")
            .first()
        )
        if row is None:
            continue
        obj = json.loads(row.body)
        sent = known_versions.get(stix_id, "")
        sent_at = parse_time(sent) if sent else None
        if sent_at is None or sent_at <= row.modified:
            continue  # not newer than what we hold: nothing to act on
        obj["modified"] = sent
        obj["revoked"] = True
        texts.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))
    return texts


def _held_from(peer: Peer, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(
        ReportOrigin.objects.filter(external_id__in=ids, peer=peer).values_list(
            "external_id", flat=True
        )
    )


def _write_bundle(
    bundle: IO[bytes], spool: _Spool, skip: set[str], bad: set[tuple[str, str]], extra: list[str]
) -> int:
    """Write the objects that pass as one bundle; return how many did not."""
    bundle.write(f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":['.encode())
    first, left_out = True, 0
    for line in spool.lines():
        obj = json.loads(line)
        stix_id = obj.get("id") if isinstance(obj, dict) else None
        if isinstance(stix_id, str) and (stix_id in skip or (stix_id, _version(obj)) in bad):
            left_out += 1
            continue
        bundle.write(line if first else b"," + line)
        first = False
    for text in extra:
        bundle.write((text if first else "," + text).encode())
        first = False
    bundle.write(b"]}")
    bundle.seek(0)
    return left_out


def pull(peer: Peer, *, trigger: str = PeerPullRun.Trigger.SCHEDULE) -> PeerPullRun:
    """Pull once from a peer and record the outcome on the peer and in a run.
    Never raises for a problem with the peer: the run says what went wrong."""
    started = timezone.now()
    run = PeerPullRun.objects.create(
        peer=peer, trigger=trigger, started_at=started, cursor_before=peer.cursor
    )
    Peer.objects.filter(pk=peer.pk).update(last_attempt_at=started)
    try:
        cursor = _pull(peer, run)
    except PullError as exc:
        _failed(peer, run, str(exc))
    except Exception as exc:  # a bug or a database problem: record it, keep the worker alive
        logger.exception("Pulling from peer %s failed.", peer.slug)
        _failed(peer, run, f"Unexpected error: {type(exc).__name__}: {exc}"[:2000])
    else:
        _succeeded(peer, run, cursor)
    _prune(peer)
    return run


def _pull(peer: Peer, run: PeerPullRun) -> str:
    agreement = Agreement.objects.filter(peer=peer, direction=Agreement.Direction.INBOUND).first()
    if agreement is None:
        raise PullError("There is no inbound agreement with this peer: nothing may be taken.")
    screen = Screen.for_agreement(agreement)
    cursor = peer.cursor
    with PeerClient(peer) as client, tempfile.TemporaryFile() as raw:
        spool = _Spool(raw)
        collection = client.collection()
        for page in client.pages(collection, added_after(peer.cursor)):
            run.pages += 1
            for obj in page.objects:
                screen.see(obj)
                spool.add(obj)
            last = parse_time(page.date_added_last) if page.date_added_last else None
            current = parse_time(cursor) if cursor else None
            if last is not None and (current is None or last > current):
                cursor = format_time(last)
        if spool.count:
            _fill_in(client, collection, screen, spool)
        run.objects_received = spool.count
        if not spool.count:
            return cursor
        refused = screen.refused_containers()
        held = _held_from(peer, refused)
        revoked = screen.revoked_containers()
        pointless = revoked - _held_from(peer, revoked)  # nothing of ours to withdraw
        skip = screen.left_out(refused | pointless)
        extra = _revocations(peer, held, {i: screen.containers[i].version for i in held})
        with tempfile.TemporaryFile() as bundle:
            run.objects_refused = _write_bundle(bundle, spool, skip, screen.bad_versions, extra)
            result = stix_ingest.ingest_bundle(bundle, _context(peer))
    run.objects_accepted = result.succeeded
    run.objects_failed = result.failed
    run.reports_created = len(result.reports_created)
    run.reports_updated = len(result.reports_updated)
    run.reports_withdrawn = len(result.reports_withdrawn)
    if result.failures:
        shown = "; ".join(f"{i}: {m}" for i, _v, m in result.failures[:5])
        run.error = f"{result.failed} objects were not accepted ({shown})"[:2000]
    Peer.objects.filter(pk=peer.pk).update(
        objects_received=F("objects_received") + result.stored,
        reports_received=F("reports_received") + len(result.reports_created),
    )
    return cursor


def _fill_in(client: PeerClient, collection: Any, screen: Screen, spool: _Spool) -> None:
    """Fetch the objects the pull refers to that were added before the cursor and
    that we do not hold (say, the identity of a reporter first named earlier), so
    that the ingest finds every reference."""
    for _round in range(2):  # what is fetched may refer to one more object
        missing = screen.missing()
        if not missing:
            return
        held = set()
        wanted = sorted(missing)
        for start in range(0, len(wanted), 1000):
            held.update(
                StixObject.objects.filter(stix_id__in=wanted[start : start + 1000])
                .values_list("stix_id", flat=True)
                .distinct()
            )
        for stix_id in wanted:
            if stix_id in held:
                screen.types[stix_id] = stix_id.partition("--")[0]
                continue
            if spool.fetched >= MAX_FETCHED:
                return
            spool.fetched += 1
            try:
                found = client.get_object(collection, stix_id)
            except PullError:
                found = []  # the ingest says which object refers to it
            screen.types.setdefault(stix_id, stix_id.partition("--")[0])
            for obj in found:
                screen.see(obj)
                spool.add(obj)


def _context(peer: Peer) -> stix_ingest.IngestContext:
    return stix_ingest.IngestContext(
        peer=peer,
        source=Source.PEER,
        origin_country=peer.country.code,
        audience=Audience.NETWORK,
        marking_default=Marking.GREEN,
        label=peer.name,
        keep_successes=False,
    )


def _succeeded(peer: Peer, run: PeerPullRun, cursor: str) -> None:
    now = timezone.now()
    Peer.objects.filter(pk=peer.pk).update(
        cursor=cursor,
        last_success_at=now,
        last_error="",
        consecutive_failures=0,
        next_pull_at=now + dt.timedelta(minutes=peer.pull_every_minutes),
    )
    run.ok = True
    run.cursor_after = cursor
    run.finished_at = now
    run.save()


def _failed(peer: Peer, run: PeerPullRun, message: str) -> None:
    now = timezone.now()
    failures = (
        Peer.objects.filter(pk=peer.pk).values_list("consecutive_failures", flat=True).first() or 0
    ) + 1
    Peer.objects.filter(pk=peer.pk).update(
        last_error=message,
        consecutive_failures=failures,
        next_pull_at=now + retry_delay(failures),
    )
    run.ok = False
    run.error = message
    run.cursor_after = run.cursor_before
    run.finished_at = now
    run.save()


def _prune(peer: Peer) -> None:
    keep = list(PeerPullRun.objects.filter(peer=peer).values_list("pk", flat=True)[:RUNS_KEPT])
    PeerPullRun.objects.filter(peer=peer).exclude(pk__in=keep).delete()
