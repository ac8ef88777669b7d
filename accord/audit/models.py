"""The audit trail: an append-only, hash-chained log.

Each entry stores the SHA-256 of its predecessor and its own digest over a
canonical JSON form of its fields, so that changing, inserting or deleting any
entry breaks the chain from that point on. Rows are never updated or deleted
through the ORM, and database triggers (see the migrations) refuse UPDATE and
DELETE for anyone who reaches the table with SQL.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")


class AuditEntry(models.Model):
    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    timestamp = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # Entries outlive what they mention: no cascade may ever touch the log.
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    # Kept verbatim so the entry still says who acted after an account is gone.
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    organisation = models.ForeignKey(
        "membership.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        # Entries outlive what they mention: no cascade may ever touch the log.
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    summary = models.CharField(_("summary"), max_length=500)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    previous_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["organisation", "-sequence"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit entries cannot be deleted")

    def canonical(self) -> dict[str, Any]:
        """The fields the digest covers, in a form that survives a database round trip."""
        return {
            "sequence": self.sequence,
            "timestamp": self.timestamp.isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "organisation": self.organisation_id,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "summary": self.summary,
            "data": self.data,
            "ip_address": self.ip_address,
            "previous_hash": self.previous_hash,
        }

    def compute_hash(self) -> str:
        payload = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(payload.encode()).hexdigest()
