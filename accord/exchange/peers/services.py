"""Managing peers and agreements, and the outbound side of a peer link:
recording what a peer received and retracting what it may no longer hold.

Every change a coordinator makes is written to the audit trail (never a secret).
The inbound side (pulling) is in ``tasks`` and ``client``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_countries import countries

from accord import policy
from accord.accounts.models import hash_token
from accord.audit.services import record
from accord.exchange.models import (
    Agreement,
    Peer,
    PeerDelivery,
    ReportOrigin,
    Scope,
    StixObject,
)
from accord.exchange.stix.vocab import TLP2_MARKING_IDS
from accord.sharing.models import MARKING_RANK, Attribution, Kind, Marking, Report, anonymous_date
from accord.workgroups.models import WorkingGroup

PEER_TOKEN_PREFIX = "acp"
MAX_PULL_MINUTES = 7 * 24 * 60
# The STIX types that carry a report itself (its "main" object); see docs/stix-mapping.md.
MAIN_TYPES = frozenset({"incident", "vulnerability", "report", "note", "course-of-action"})
RESERVED_SLUGS = frozenset({"new"})  # the "add a peer" page's address
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class PeerError(Exception):
    """A request about a peer that cannot be carried out. ``errors`` maps field
    names to messages when particular fields are wrong."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def as_detail(self) -> str:
        if self.errors:
            return "; ".join(f"{name}: {text}" for name, text in self.errors.items())
        return self.message


# --- Peers ---------------------------------------------------------------------------


@dataclass
class PeerData:
    """A peer as submitted. ``remote_secret=None`` keeps the stored one."""

    name: str
    country: str
    api_root_url: str
    slug: str = ""
    collection_id: str = ""
    remote_username: str = ""
    remote_secret: str | None = None
    pull_every_minutes: int = 15


def _clean_peer(data: PeerData, current: Peer | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = _("Give the peer a name.")
    elif len(name) > 120:
        errors["name"] = _("At most 120 characters.")
    elif Peer.objects.filter(name__iexact=name).exclude(pk=getattr(current, "pk", None)).exists():
        errors["name"] = _("Another peer already has this name.")
    slug = (data.slug or "").strip().lower() or (current.slug if current else slugify(name)[:60])
    if not slug and not name:
        pass  # the name's own error says it
    elif not slug or not _SLUG.match(slug) or len(slug) > 60:
        errors["slug"] = _("Use lower-case letters, digits and single hyphens (at most 60).")
    elif slug in RESERVED_SLUGS:
        errors["slug"] = _("This slug is reserved; choose another.")
    elif Peer.objects.filter(slug=slug).exclude(pk=getattr(current, "pk", None)).exists():
        errors["slug"] = _("Another peer already has this slug.")
    country = (data.country or "").strip().upper()
    if country not in dict(countries):
        errors["country"] = _("Choose a country (ISO 3166-1 alpha-2 code).")
    url = (data.api_root_url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["api_root_url"] = _("Give the TAXII API root as an http(s) address.")
    elif len(url) > 499:
        errors["api_root_url"] = _("At most 500 characters.")
    elif parts.query or parts.fragment:
        errors["api_root_url"] = _("The address cannot carry a query or fragment.")
    elif not url.endswith("/"):
        url += "/"  # TAXII URLs end with a slash
    collection = (data.collection_id or "").strip()
    if len(collection) > 64 or not re.fullmatch(r"[A-Za-z0-9._~-]*", collection):
        errors["collection_id"] = _("A collection id is at most 64 letters, digits, . _ ~ or -.")
    username = (data.remote_username or "").strip()
    if len(username) > 150:
        errors["remote_username"] = _("At most 150 characters.")
    secret = data.remote_secret
    if secret is not None and len(secret) > 300:
        errors["remote_secret"] = _("At most 300 characters.")
    every = data.pull_every_minutes
    if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= MAX_PULL_MINUTES:
        errors["pull_every_minutes"] = _("Pull every 1 to %(max)d minutes.") % {
            "max": MAX_PULL_MINUTES
        }
    if errors:
        raise PeerError(_("The peer's settings are not valid."), errors)
    cleaned = {
        "name": name,
        "slug": slug,
        "country": country,
        "api_root_url": url,
        "collection_id": collection,
        "remote_username": username,
        "pull_every_minutes": every,
    }
    if secret is not None:
        cleaned["remote_secret"] = secret
    return cleaned


@transaction.atomic
def create_peer(by: Any, data: PeerData, *, request: Any = None) -> Peer:
    policy.require_can_manage_peers(by)
    cleaned = _clean_peer(data, None)
    try:
        with transaction.atomic():
            peer = Peer.objects.create(**cleaned, next_pull_at=timezone.now())
    except IntegrityError as exc:  # a concurrent create took the name or slug
        raise PeerError(_("Another peer already has this name or slug.")) from exc
    record(
        "peer.created",
        _("Added the peer installation %(name)s (%(country)s)")
        % {"name": peer.name, "country": peer.country.code},
        actor=by,
        target=peer,
        data={"slug": peer.slug, "api_root_url": peer.api_root_url},
        request=request,
    )
    return peer


@transaction.atomic
def update_peer(by: Any, peer: Peer, data: PeerData, *, request: Any = None) -> Peer:
    policy.require_can_manage_peers(by)
    cleaned = _clean_peer(data, peer)
    peer = Peer.objects.select_for_update().get(pk=peer.pk)
    changed = [name for name, value in cleaned.items() if getattr(peer, name) != value]
    if not changed:
        return peer
    address_changed = {"api_root_url", "collection_id"} & set(changed)
    for name, value in cleaned.items():
        setattr(peer, name, value)
    if address_changed:
        peer.cursor = ""  # another server or collection: start from its beginning
    peer.save()
    record(
        "peer.updated",
        _("Changed the peer installation %(name)s") % {"name": peer.name},
        actor=by,
        target=peer,
        # Field names only: the secret itself never goes into the trail.
        data={"changed": changed},
        request=request,
    )
    return peer


def generate_token() -> str:
    return f"{PEER_TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"


@transaction.atomic
def issue_token(by: Any, peer: Peer, *, request: Any = None) -> str:
    """A new inbound token for the peer (replacing any earlier one); returned once,
    only its hash is kept. The peer signs in to our TAXII server with its slug and it."""
    policy.require_can_manage_peers(by)
    raw = generate_token()
    rotated = bool(peer.inbound_token_hash)
    Peer.objects.filter(pk=peer.pk).update(inbound_token_hash=hash_token(raw))
    peer.inbound_token_hash = hash_token(raw)
    record(
        "peer.token_rotated" if rotated else "peer.token_issued",
        (
            _("Replaced the access token of the peer %(name)s")
            if rotated
            else _("Issued an access token to the peer %(name)s")
        )
        % {"name": peer.name},
        actor=by,
        target=peer,
        request=request,
    )
    return raw


@transaction.atomic
def set_active(by: Any, peer: Peer, active: bool, *, request: Any = None) -> Peer:
    """Pause or resume the link: a paused peer is not pulled and cannot pull."""
    policy.require_can_manage_peers(by)
    if peer.active == active:
        return peer
    peer.active = active
    fields = ["active"]
    if active:
        peer.next_pull_at = timezone.now()
        peer.consecutive_failures = 0
        fields += ["next_pull_at", "consecutive_failures"]
    peer.save(update_fields=fields)
    record(
        "peer.resumed" if active else "peer.paused",
        (_("Resumed the link with %(name)s") if active else _("Paused the link with %(name)s"))
        % {"name": peer.name},
        actor=by,
        target=peer,
        request=request,
    )
    return peer


@transaction.atomic
def reset_cursor(by: Any, peer: Peer, *, request: Any = None) -> Peer:
    """Pull everything the peer serves us again from its beginning (repeats change
    nothing; material it made available to us after it last served it arrives)."""
    policy.require_can_manage_peers(by)
    Peer.objects.filter(pk=peer.pk).update(cursor="", next_pull_at=timezone.now())
    peer.refresh_from_db()
    record(
        "peer.cursor_reset",
        _("Asked for everything from %(name)s again") % {"name": peer.name},
        actor=by,
        target=peer,
        request=request,
    )
    return peer


def request_pull(by: Any, peer: Peer, *, request: Any = None) -> None:
    """Queue a pull now ("pull now"); the task worker runs it."""
    policy.require_can_manage_peers(by)
    if not peer.active:
        raise PeerError(_("The link with this peer is paused; resume it first."))
    if not Agreement.objects.filter(peer=peer, direction=Agreement.Direction.INBOUND).exists():
        raise PeerError(_("There is no inbound agreement with this peer yet."))
    record(
        "peer.pull_requested",
        _("Asked for a pull from %(name)s") % {"name": peer.name},
        actor=by,
        target=peer,
        request=request,
    )
    from .tasks import pull_peer

    peer_id = peer.pk
    transaction.on_commit(lambda: pull_peer.enqueue(peer_id, "manual"))


# --- Agreements ----------------------------------------------------------------------


def _default_kinds() -> list[str]:
    return [kind.value for kind in Kind]


@dataclass
class AgreementData:
    kinds: list[str] = field(default_factory=_default_kinds)
    highest_marking: str = Marking.GREEN
    name_reporters: bool = False
    working_groups: list[str] = field(default_factory=list)  # slugs
    pass_on_third_party: bool = False


def _clean_agreement(data: AgreementData) -> tuple[dict[str, Any], list[WorkingGroup]]:
    errors: dict[str, str] = {}
    kinds = list(dict.fromkeys(data.kinds))
    unknown = [kind for kind in kinds if kind not in Kind.values]
    if unknown:
        errors["kinds"] = _("Unknown kinds: %(kinds)s.") % {"kinds": ", ".join(unknown)}
    elif not kinds:
        errors["kinds"] = _("Choose at least one kind of report.")
    if data.highest_marking in (Marking.AMBER_STRICT, Marking.RED):
        errors["highest_marking"] = _(
            "TLP:AMBER+STRICT and TLP:RED never cross to another installation; "
            "choose CLEAR, GREEN or AMBER."
        )
    elif data.highest_marking not in Marking.values:
        errors["highest_marking"] = _("Choose CLEAR, GREEN or AMBER.")
    slugs = list(dict.fromkeys(data.working_groups))
    groups = list(WorkingGroup.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {group.slug for group in groups})
    if missing:
        errors["working_groups"] = _("No working group with the slug %(slugs)s.") % {
            "slugs": ", ".join(missing)
        }
    if errors:
        raise PeerError(_("The agreement is not valid."), errors)
    fields = {
        "kinds": [kind for kind in Kind.values if kind in kinds],  # a stable order
        "highest_marking": data.highest_marking,
        "name_reporters": bool(data.name_reporters),
        "pass_on_third_party": bool(data.pass_on_third_party),
    }
    return fields, groups


def agreement_summary(agreement: Agreement) -> dict[str, Any]:
    return {
        "kinds": list(agreement.kinds),
        "highest_marking": agreement.highest_marking,
        "name_reporters": agreement.name_reporters,
        "working_groups": sorted(agreement.working_groups.values_list("slug", flat=True)),
        "pass_on_third_party": agreement.pass_on_third_party,
    }


@transaction.atomic
def set_agreement(
    by: Any, peer: Peer, direction: str, data: AgreementData, *, request: Any = None
) -> Agreement:
    """Create or replace the agreement for one direction. Narrowing the outbound
    agreement retracts at once what the peer may no longer hold."""
    policy.require_can_manage_peers(by)
    if direction not in Agreement.Direction.values:
        raise PeerError(_("The direction is 'outbound' or 'inbound'."), {"direction": direction})
    fields, groups = _clean_agreement(data)
    agreement = Agreement.objects.select_for_update().filter(peer=peer, direction=direction).first()
    before = agreement_summary(agreement) if agreement else None
    if agreement is not None and direction == Agreement.Direction.OUTBOUND:
        _note_before_narrowing(peer)
    if agreement is None:
        agreement = Agreement(peer=peer, direction=direction)
    for name, value in fields.items():
        setattr(agreement, name, value)
    agreement.updated_at = timezone.now()
    agreement.save()
    agreement.working_groups.set(groups)
    after = agreement_summary(agreement)
    if after != before:
        record(
            "peer.agreement_set",
            _("Set the %(direction)s agreement with %(name)s")
            % {"direction": agreement.get_direction_display(), "name": peer.name},
            actor=by,
            target=peer,
            data={"direction": direction, "before": before, "after": after},
            request=request,
        )
    if direction == Agreement.Direction.OUTBOUND:
        retract_for_peer(peer)
    return agreement


@transaction.atomic
def remove_agreement(by: Any, peer: Peer, direction: str, *, request: Any = None) -> None:
    """End one direction: nothing crosses that way any more (outbound: retracted)."""
    policy.require_can_manage_peers(by)
    agreement = Agreement.objects.filter(peer=peer, direction=direction).first()
    if agreement is None:
        raise PeerError(_("There is no such agreement."))
    before = agreement_summary(agreement)
    if direction == Agreement.Direction.OUTBOUND:
        _note_before_narrowing(peer)
    agreement.delete()
    record(
        "peer.agreement_removed",
        _("Ended the %(direction)s agreement with %(name)s")
        % {"direction": agreement.get_direction_display(), "name": peer.name},
        actor=by,
        target=peer,
        data={"direction": direction, "before": before},
        request=request,
    )
    if direction == Agreement.Direction.OUTBOUND:
        retract_for_peer(peer)


# --- What a peer received, and retracting it ----------------------------------------------


def _note_before_narrowing(peer: Peer) -> None:
    """Before an outbound agreement changes, count what the old one let the peer
    take, so that what the new one no longer allows is retracted."""
    if peer.active and peer.inbound_token_hash:
        note_allowed(peer)


def stix_timestamp(moment: dt.datetime) -> str:
    """RFC 3339 UTC with millisecond precision, as STIX wants it."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _field(row: Any, name: str) -> Any:
    if isinstance(row, dict):
        return row.get(name, row.get("pk") if name == "id" else None)
    return getattr(row, "pk" if name == "id" else name, None)


def _is_main(stix_id: str, report_id: str, external_ids: dict[str, str]) -> bool:
    """Whether a stored object is its report's own object: ours carry the report's
    uuid (``type--<report pk>``), an imported report's is its external id."""
    kind, _sep, suffix = stix_id.partition("--")
    if kind not in MAIN_TYPES:
        return False
    if report_id in external_ids:
        return stix_id == external_ids[report_id]
    return suffix == report_id


def record_deliveries(peer: Peer, rows: Iterable[Any]) -> int:
    """Remember which reports a peer was served, so that a later retraction reaches
    it. ``rows`` are the stored objects just served to the peer: their ids, or
    ``StixObject`` instances, or dicts with ``id``, ``stix_id``, ``report_id`` and
    ``scope``. Returns how many reports they belong to."""
    ids: list[int] = []
    described: list[tuple[Any, Any, str, str]] = []  # (row id, report id, stix id, scope)
    for row in rows:
        if isinstance(row, int):
            ids.append(row)
        else:
            described.append(
                (
                    _field(row, "id"),
                    _field(row, "report_id"),
                    _field(row, "stix_id") or "",
                    _field(row, "scope"),
                )
            )
    if ids:
        described += [
            (pk, report_id, stix_id, scope)
            for pk, report_id, stix_id, scope in StixObject.objects.filter(pk__in=ids).values_list(
                "pk", "report_id", "stix_id", "scope"
            )
        ]
    reports: set[str] = set()
    candidates: list[tuple[str, Any, str]] = []  # (report id, row id, stix id)
    for row_id, report_id, stix_id, scope in described:
        if report_id is None or scope != Scope.REPORT:
            continue
        reports.add(str(report_id))
        if stix_id.partition("--")[0] in MAIN_TYPES:
            candidates.append((str(report_id), row_id, stix_id))
    if not reports:
        return 0
    with transaction.atomic():
        _note(peer, Report.objects.filter(pk__in=reports))
        if candidates:
            external = {
                str(report_id): external_id
                for report_id, external_id in ReportOrigin.objects.filter(
                    report_id__in={c[0] for c in candidates}
                ).values_list("report_id", "external_id")
            }
            for report_id, row_id, stix_id in candidates:
                if _is_main(stix_id, report_id, external):
                    PeerDelivery.objects.filter(
                        peer=peer, report_id=report_id, retracted_at__isnull=True
                    ).update(main_object_id=row_id)
    return len(reports)


CROSSABLE = frozenset({Marking.CLEAR, Marking.GREEN, Marking.AMBER})


def _marking_of(text: str) -> str:
    from accord.exchange.stix.vocab import MARKING_BY_ID

    refs = json.loads(text).get("object_marking_refs") or []
    found = [MARKING_BY_ID[r] for r in refs if r in MARKING_BY_ID]
    return max(found, key=MARKING_RANK.__getitem__) if found else ""


def _main_rows(delivery: PeerDelivery) -> Any:
    origin = ReportOrigin.objects.filter(report_id=delivery.report_id).first()
    rows = StixObject.objects.filter(report_id=delivery.report_id, scope=Scope.REPORT)
    if origin is not None:
        return rows.filter(stix_id=origin.external_id)
    return rows.filter(stix_id__endswith=f"--{delivery.report_id}", stix_type__in=MAIN_TYPES)


def _held_version(delivery: PeerDelivery, names: bool) -> tuple[StixObject | None, bool]:
    """The stored version of the report's main object the peer may hold, and whether
    it is safe to repeat to it (a crossable marking); else the latest stored one."""
    row = delivery.main_object
    if row is None:
        # The newest version stored while the report was still allowed for the peer
        # (an anonymous report's are written by the daily pass, after the day ends).
        if delivery.report.is_anonymous:
            stored_by = Q(date_added__lt=delivery.last_served_at + dt.timedelta(days=1))
        else:
            stored_by = Q(date_added__lte=delivery.last_served_at)
        row = _main_rows(delivery).filter(stored_by).order_by("-modified").first()
    if row is not None:
        text = row.body if names or not row.body_abroad else row.body_abroad
        if _marking_of(text) in CROSSABLE and not row.revoked:
            return row, True
    return _main_rows(delivery).order_by("-modified").first(), False


def _tombstone_text(row: StixObject, *, names: bool, safe: bool, modified: str) -> str:
    text = row.body if names or not row.body_abroad else row.body_abroad
    obj = json.loads(text)
    if not safe:
        # We cannot tell which version the peer holds: repeat nothing of the stored
        # one (it may be marked more strictly) beyond what identifies it.
        kept = ("type", "spec_version", "id", "created", "object_refs", "published")
        obj = {key: obj[key] for key in kept if key in obj}
        if obj.get("type") == "note":
            obj["content"] = "Retracted."
        else:
            obj["name"] = "Retracted"
        obj["object_marking_refs"] = [TLP2_MARKING_IDS[Marking.CLEAR]]
    obj["modified"] = modified
    obj["revoked"] = True
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _retract(peer: Peer, delivery_id: int, *, names: bool) -> bool:
    with transaction.atomic():
        delivery = (
            PeerDelivery.objects.select_for_update(of=("self",))
            .select_related("report", "main_object")
            .filter(pk=delivery_id, retracted_at__isnull=True)
            .first()
        )
        if delivery is None:  # another request retracted it meanwhile
            return False
        now = timezone.now()
        row, safe = _held_version(delivery, names)
        anonymous = delivery.report.is_anonymous
        tombstone = None
        if row is not None:
            newest = StixObject.objects.filter(stix_id=row.stix_id).aggregate(m=Max("modified"))
            if anonymous:
                modified = anonymous_date(now)
            else:
                modified = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if newest["m"] is not None and newest["m"] >= modified:
                modified = newest["m"] + dt.timedelta(milliseconds=1)
            tombstone = StixObject.objects.create(
                stix_id=row.stix_id,
                stix_type=row.stix_type,
                spec_version=row.spec_version,
                modified=modified,
                date_added=now,
                report_id=delivery.report_id,
                scope=Scope.PEER,
                body=_tombstone_text(
                    row, names=names, safe=safe, modified=stix_timestamp(modified)
                ),
                is_latest=False,  # never a version anyone here reads as current
                revoked=True,
            )
        delivery.retracted_at = anonymous_date(now) if anonymous else now
        delivery.tombstone = tombstone
        delivery.save(update_fields=["retracted_at", "tombstone"])
    return True


def _note(peer: Peer, reports: Any) -> int:
    """Record these reports as (possibly) held by the peer, and when that was last
    so. For an anonymous report only the day is kept: the last day it was allowed
    would otherwise date its withdrawal or change more finely than the report
    itself does (docs/anonymity.md)."""
    now = timezone.now()
    day = anonymous_date(now)
    known = PeerDelivery.objects.filter(peer=peer).values("report_id")
    new = list(reports.exclude(pk__in=known).values_list("pk", "attribution"))
    if new:
        PeerDelivery.objects.bulk_create(
            [
                PeerDelivery(
                    peer=peer,
                    report_id=pk,
                    first_served_at=day if attribution == Attribution.ANONYMOUS else now,
                    last_served_at=day if attribution == Attribution.ANONYMOUS else now,
                )
                for pk, attribution in new
            ],
            ignore_conflicts=True,
        )
    current = PeerDelivery.objects.filter(
        peer=peer, retracted_at__isnull=True, report_id__in=reports.values("pk")
    )
    anonymous = Q(report__attribution=Attribution.ANONYMOUS)
    current.exclude(anonymous).update(last_served_at=now)
    current.filter(anonymous).update(last_served_at=day)
    return len(new)


def note_allowed(peer: Peer) -> int:
    """Count every report the peer may receive now as (possibly) received by it,
    so that its retraction reaches the peer later even if the TAXII server did
    not say exactly what it served. Returns how many were new."""
    return _note(peer, policy.reports_for_peer(peer))


def retract_for_peer(peer: Peer, *, deferred: bool = False) -> int:
    """Write a revoked version of the main object of every report this peer received
    and may no longer hold (withdrawn, marking tightened, audience or agreement
    narrowed). Only this peer is served it; its next pull withdraws its copy.
    Anonymous reports wait for the daily pass (``deferred=True``), so that the
    retraction does not date what their reporter did more finely than the day.
    Idempotent and cheap when there is nothing to do. Returns how many it wrote."""
    allowed = policy.reports_for_peer(peer).values("pk")
    pending = PeerDelivery.objects.filter(peer=peer, retracted_at__isnull=True).exclude(
        report_id__in=allowed
    )
    if not deferred:
        pending = pending.exclude(report__attribution=Attribution.ANONYMOUS)
    ids = list(pending.values_list("pk", flat=True))
    if not ids:
        return 0
    names = policy.peer_may_see_names(peer)
    return sum(_retract(peer, delivery_id, names=names) for delivery_id in ids)


def sync_peer(peer: Peer, *, deferred: bool = False) -> int:
    """Bring a peer's deliveries up to date: note what it may hold, retract what it
    may no longer hold. Returns how many retractions were written."""
    if not peer.active:
        return 0  # a paused peer is served nothing; it catches up when resumed
    note_allowed(peer)
    return retract_for_peer(peer, deferred=deferred)


def retract_for_all(*, deferred: bool = False) -> int:
    """``sync_peer`` for every active peer: every minute by the scheduler and by
    ``pull-peers``; once a day, after the daily publication, with ``deferred=True``."""
    return sum(sync_peer(peer, deferred=deferred) for peer in Peer.objects.filter(active=True))


def objects_for_peer(peer: Peer) -> Any:
    """What the TAXII server serves a peer: deliveries noted and retractions written
    first, then the policy's set (``policy.stix_objects_visible_to_peer``)."""
    sync_peer(peer)
    return policy.stix_objects_visible_to_peer(peer)
