"""Correlation: for each observable of a report, what else the viewer may see
that mentions it. Counts start from the access policy's queryset, so nothing
the viewer may not see is counted, linked or hinted at."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

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
    # Read the mentions of these values first, then ask the policy about just those
    # reports: both databases plan this far better than one query joining the two.
    mentions: list[tuple[Any, Any]] = []
    for chunk in _chunks(wanted):
        query = ReportObservable.objects.filter(observable_id__in=chunk)
        if exclude_report is not None:
            query = query.exclude(report_id=exclude_report)
        mentions.extend(query.values_list("observable_id", "report_id"))
    visible: dict[Any, tuple[Any, Any, Any]] = {}
    for chunk in _chunks(list({report_id for _obs, report_id in mentions})):
        for pk, sector, first, last, created in (
            policy.reports_visible_to(user)
            .filter(pk__in=chunk)
            .values_list("pk", "reporter_sector_id", "first_seen", "last_seen", "created_at")
        ):
            visible[pk] = (sector, first or created, last or created, created)
    by_observable: dict[Any, set[Any]] = defaultdict(set)
    for obs_id, report_id in mentions:
        if report_id in visible:
            by_observable[obs_id].add(report_id)
    newest_first = sorted(visible, key=lambda pk: (-visible[pk][3].timestamp(), str(pk)))
    rank = {pk: position for position, pk in enumerate(newest_first)}
    link_ids = {
        obs_id: sorted(ids, key=rank.__getitem__)[:LINKS_PER_OBSERVABLE]
        for obs_id, ids in by_observable.items()
    }
    reports = Report.objects.in_bulk({pk for ids in link_ids.values() for pk in ids})
    for row in rows:
        ids = by_observable.get(row.observable_id)
        if not ids:
            continue
        row.reports = len(ids)
        row.sectors = len({visible[pk][0] for pk in ids if visible[pk][0] is not None})
        row.first_seen = min(visible[pk][1] for pk in ids)
        row.last_seen = max(visible[pk][2] for pk in ids)
        row.links = [reports[pk] for pk in link_ids[row.observable_id] if pk in reports]
    return rows


def _chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


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
