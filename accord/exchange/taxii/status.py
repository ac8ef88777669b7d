"""Status resources (section 4.3): one per POST, readable by its sender for
TAXII_STATUS_RETENTION_HOURS, then gone (answered 404, and deleted lazily)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.utils import timezone

from accord.exchange.models import TaxiiStatus

from . import conf
from .auth import Principal
from .media import TaxiiError, format_added


def _cutoff() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=conf.status_retention_hours())


def purge_expired() -> int:
    """Delete status resources past their retention (the age index keeps this cheap)."""
    deleted, _ = TaxiiStatus.objects.filter(request_timestamp__lt=_cutoff()).delete()
    return deleted


def get_status(principal: Principal, status_id: str) -> TaxiiStatus:
    """The caller's own status resource; 404 for anyone else's, unknown or expired ones."""
    purge_expired()
    try:
        key = uuid.UUID(status_id)
    except ValueError:
        key = None
    owner = {"peer": principal.peer} if principal.is_peer else {"user": principal.user}
    found = (
        TaxiiStatus.objects.filter(pk=key, request_timestamp__gte=_cutoff(), **owner).first()
        if key
        else None
    )
    if found is None:
        raise TaxiiError(
            404,
            "Status not found",
            "No status resource with this id is open to you.",
            code="not-found",
        )
    return found


def resource(status: TaxiiStatus) -> dict[str, Any]:
    """The status resource as the standard defines it. The counts always add up
    to the total; a list of successes or failures is shown only when it is whole
    (very large posts keep counts, not every id)."""
    complete = status.status == TaxiiStatus.State.COMPLETE
    successes = list(status.successes or [])
    failures = list(status.failures or [])
    success_count = status.success_count if complete else len(successes)
    failure_count = status.failure_count if complete else len(failures)
    pending = 0 if complete else max(status.total_count - success_count - failure_count, 0)
    body: dict[str, Any] = {
        "id": str(status.id),
        "status": status.status,
        "request_timestamp": format_added(status.request_timestamp),
        "total_count": success_count + failure_count + pending,
        "success_count": success_count,
        "failure_count": failure_count,
        "pending_count": pending,
    }
    if successes and len(successes) == success_count:
        body["successes"] = successes
    if failures and len(failures) == failure_count:
        body["failures"] = failures
    return body
