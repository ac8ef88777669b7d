"""Figures of communication checks, computed from the recipient rows.

Response time is ``acknowledged_at - sent_at`` of each recipient who
acknowledged (at any time, also after the deadline). The rate is acknowledged
/ sent; the on-time rate counts acknowledgements up to the deadline only.
Percentiles interpolate linearly between the two nearest ranks (the median of
an even count is the mean of the middle two).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from .models import CheckRecipient, ContactCheck


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0–100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class CheckFigures:
    check: ContactCheck
    sent: int = 0
    acknowledged: int = 0
    on_time: int = 0
    seconds: list[int] = field(default_factory=list)
    silent: list[CheckRecipient] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.acknowledged / self.sent if self.sent else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.sent if self.sent else None

    @property
    def median_seconds(self) -> float | None:
        return percentile(self.seconds, 50)

    @property
    def p90_seconds(self) -> float | None:
        return percentile(self.seconds, 90)

    @property
    def fastest_seconds(self) -> int | None:
        return min(self.seconds) if self.seconds else None

    @property
    def slowest_seconds(self) -> int | None:
        return max(self.seconds) if self.seconds else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.check.pk),
            "sent_at": self.check.created_at,
            "deadline": self.check.deadline,
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "on_time": self.on_time,
            "rate": _round(self.rate),
            "on_time_rate": _round(self.on_time_rate),
            "median_seconds": _round(self.median_seconds),
            "p90_seconds": _round(self.p90_seconds),
            "fastest_seconds": self.fastest_seconds,
            "slowest_seconds": self.slowest_seconds,
            "silent": len(self.silent),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _add(figures: CheckFigures, recipient: CheckRecipient) -> None:
    figures.sent += 1
    if recipient.acknowledged_at is None:
        figures.silent.append(recipient)
        return
    figures.acknowledged += 1
    if recipient.acknowledged_at <= figures.check.deadline:
        figures.on_time += 1
    if recipient.response_seconds is not None:
        figures.seconds.append(recipient.response_seconds)


def figures_for(check: ContactCheck) -> CheckFigures:
    figures = CheckFigures(check)
    for recipient in check.recipients.order_by("country", "organisation_name", "contact_name"):
        recipient.contact_check = check
        _add(figures, recipient)
    return figures


def figures_for_many(checks: Iterable[ContactCheck]) -> list[CheckFigures]:
    """Figures of several checks in one query, in the order given."""
    by_id = {c.pk: CheckFigures(c) for c in checks}
    rows: dict[Any, list[CheckRecipient]] = defaultdict(list)
    for recipient in CheckRecipient.objects.filter(contact_check_id__in=list(by_id)).order_by(
        "country", "organisation_name", "contact_name", "pk"
    ):
        rows[recipient.contact_check_id].append(recipient)
    for pk, figures in by_id.items():
        for recipient in rows[pk]:
            _add(figures, recipient)
    return list(by_id.values())


def over_time(checks: QuerySet[ContactCheck], limit: int = 24) -> list[CheckFigures]:
    """The latest ``limit`` checks, oldest first (for the chart and the table)."""
    latest = list(checks.order_by("-created_at")[:limit])
    return figures_for_many(reversed(latest))


@dataclass
class Overall:
    checks: int
    sent: int
    acknowledged: int
    on_time: int
    rate: float | None
    on_time_rate: float | None
    median_seconds: float | None
    p90_seconds: float | None


def overall(series: list[CheckFigures]) -> Overall:
    sent = sum(f.sent for f in series)
    acknowledged = sum(f.acknowledged for f in series)
    on_time = sum(f.on_time for f in series)
    seconds = [s for f in series for s in f.seconds]
    return Overall(
        checks=len(series),
        sent=sent,
        acknowledged=acknowledged,
        on_time=on_time,
        rate=acknowledged / sent if sent else None,
        on_time_rate=on_time / sent if sent else None,
        median_seconds=percentile(seconds, 50),
        p90_seconds=percentile(seconds, 90),
    )


def duration(seconds: float | None) -> str:
    """A response time for people: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
