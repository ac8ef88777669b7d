"""Writing to and checking the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from .models import GENESIS_HASH, AuditEntry

if TYPE_CHECKING:
    from django.http import HttpRequest

# Serialises writers on PostgreSQL so two entries never claim the same predecessor.
_PG_LOCK_KEY = 0x41434344  # "ACCD"


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
    # SQLite runs IMMEDIATE transactions: the write lock is already ours.


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: str,
    summary: str,
    *,
    actor: Any = None,
    organisation: Any = None,
    target: Any = None,
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one entry. Runs inside the caller's transaction when there is one,
    so an action and its audit entry are committed, or rolled back, together."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-sequence").only("sequence", "entry_hash").first()
        entry = AuditEntry(
            sequence=(last.sequence + 1) if last else 1,
            timestamp=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=_label(actor),
            action=action,
            organisation=organisation,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            summary=summary[:500],
            data=data or {},
            ip_address=client_ip(request),
            previous_hash=last.entry_hash if last else GENESIS_HASH,
        )
        entry.entry_hash = entry.compute_hash()
        entry.save()
    return entry


def _label(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    return actor.get_username()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken: AuditEntry | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the whole log in order; report the first entry whose link or digest is wrong."""
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for entry in AuditEntry.objects.order_by("sequence").iterator(chunk_size=batch_size):
        if entry.sequence != expected_sequence:
            return ChainReport(
                checked, entry, f"sequence {entry.sequence} follows {expected_sequence - 1}"
            )
        if entry.previous_hash != expected_previous:
            return ChainReport(checked, entry, "does not link to the entry before it")
        if entry.compute_hash() != entry.entry_hash:
            return ChainReport(checked, entry, "its content does not match its digest")
        expected_previous = entry.entry_hash
        expected_sequence += 1
        checked += 1
    return ChainReport(checked, None)
