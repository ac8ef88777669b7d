"""Correlation: for each observable of a report, what else the viewer may see
that mentions it. Counts start from the access policy's queryset, so nothing
the viewer may not see is counted, linked or hinted at."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Min
from django.db.models.functions import Coalesce

from accord import policy

from ..models import CommonValue, Observable, Report, ReportObservable
from .network_settings import CommonValues

LINKS_PER_OBSERVABLE = 10


@dataclass
class Correlation:
    kind: str
    value: str
    observable_id: Any
    note: str = ""
    common: CommonValue | None = None
    reports: int = 0
    sectors: int = 0
    first_seen: Any = None
    last_seen: Any = None
    links: list[Report] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "note": self.note,
            "too_common": self.common is not None,
            "common_note": self.common.note if self.common else "",
            "other_reports": self.reports,
            "sectors": self.sectors,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "reports": [str(r.pk) for r in self.links],
        }


def correlate(
    user: Any, observables: list[tuple[Any, str, str, str]], *, exclude_report: Any = None
) -> list[Correlation]:
    """``observables`` are (observable id, kind, value, note) tuples."""
    common = CommonValues()
    rows = [
        Correlation(
            kind=kind,
            value=value,
            observable_id=obs_id,
            note=note,
            common=common.match(kind, value),
        )
        for obs_id, kind, value, note in observables
    ]
    wanted = [row.observable_id for row in rows if row.common is None and row.observable_id]
    if not wanted:
        return rows
    visible = policy.reports_visible_to(user)
    if exclude_report is not None:
        visible = visible.exclude(pk=exclude_report)
    mentions = ReportObservable.objects.filter(
        observable_id__in=wanted, report__in=visible.values("pk")
    )
    stats = {
        item["observable_id"]: item
        for item in mentions.values("observable_id").annotate(
            reports=Count("report_id", distinct=True),
            sectors=Count("report__reporter_sector", distinct=True),
            first=Min(Coalesce("report__first_seen", "report__created_at")),
            last=Max(Coalesce("report__last_seen", "report__created_at")),
        )
    }
    links: dict[Any, list[Any]] = defaultdict(list)
    correlated = [obs_id for obs_id, item in stats.items() if item["reports"]]
    if correlated:
        pairs = (
            mentions.filter(observable_id__in=correlated)
            .order_by("-report__created_at", "report_id")
            .values_list("observable_id", "report_id")[: LINKS_PER_OBSERVABLE * 50]
        )
        for obs_id, report_id in pairs:
            if len(links[obs_id]) < LINKS_PER_OBSERVABLE:
                links[obs_id].append(report_id)
    reports = Report.objects.in_bulk({pk for ids in links.values() for pk in ids})
    for row in rows:
        item = stats.get(row.observable_id)
        if not item:
            continue
        row.reports, row.sectors = item["reports"], item["sectors"]
        row.first_seen, row.last_seen = item["first"], item["last"]
        row.links = [reports[pk] for pk in links.get(row.observable_id, []) if pk in reports]
    return rows


def correlations_for_report(user: Any, report: Report) -> list[Correlation]:
    """The report must come from ``policy.get_report`` (so the viewer may see it)."""
    observables = list(
        report.observations.order_by("position").values_list(
            "observable_id", "observable__kind", "observable__value", "note"
        )
    )
    return correlate(user, observables, exclude_report=report.pk)


def correlations_for_values(user: Any, pairs: list[tuple[str, str]]) -> list[Correlation]:
    """Correlate values that are not (yet) in a report, e.g. while drafting one."""
    known = {
        (obs.kind, obs.value): obs.pk
        for obs in Observable.objects.filter(value__in=[v for _k, v in pairs])
    }
    return correlate(user, [(known.get(pair), pair[0], pair[1], "") for pair in pairs])


def correlation_totals(user: Any, report: Report) -> dict[str, int]:
    """How many other visible reports share at least one observable — for feed badges."""
    own = report.observations.values("observable_id")
    visible = policy.reports_visible_to(user).exclude(pk=report.pk)
    count = (
        ReportObservable.objects.filter(observable_id__in=own, report__in=visible.values("pk"))
        .values("report_id")
        .distinct()
        .count()
    )
    return {"related_reports": count}
