"""Search across the reports a viewer may see: full text, observables, filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from accord import policy

from ..models import Report, ReportObservable
from ..observables import InvalidObservable, detect_kind, extract, normalise


@dataclass
class ReportFilters:
    q: str = ""
    observable: str = ""
    kinds: list[str] = field(default_factory=list)
    markings: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    incident_types: list[str] = field(default_factory=list)
    min_level: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    attribution: list[str] = field(default_factory=list)


def observable_query(text: str) -> list[tuple[str, str]]:
    """The observables a search box holds: one typed value, or all found in pasted text."""
    text = text.strip()
    if not text:
        return []
    kind = detect_kind(text)
    if kind:
        try:
            return [(kind, normalise(kind, text))]
        except InvalidObservable:
            pass
    return [(item.kind, item.value) for item in extract(text, limit=100)]


def _text_filter(qs: QuerySet[Report], text: str) -> QuerySet[Report]:
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector("title", "summary", config="simple")
        return qs.annotate(_search=vector).filter(
            _search=SearchQuery(text, search_type="websearch", config="simple")
        )
    for word in text.split()[:10]:
        qs = qs.filter(Q(title__icontains=word) | Q(summary__icontains=word))
    return qs


def search_reports(user: Any, filters: ReportFilters) -> QuerySet[Report]:
    qs = policy.reports_visible_to(user)
    if filters.q:
        matches = observable_query(filters.q) if len(filters.q) < 300 else []
        text = _text_filter(policy.reports_visible_to(user), filters.q).values("pk")
        if matches:
            qs = qs.filter(Q(pk__in=text) | Q(pk__in=_mentioning(matches)))
        else:
            qs = qs.filter(pk__in=text)
    if filters.observable:
        qs = qs.filter(pk__in=_mentioning(observable_query(filters.observable)))
    if filters.kinds:
        qs = qs.filter(kind__in=filters.kinds)
    if filters.markings:
        qs = qs.filter(marking__in=filters.markings)
    if filters.sectors:
        qs = qs.filter(sectors__code__in=filters.sectors)
    if filters.effects:
        effect_q = Q()
        for effect in filters.effects:
            effect_q |= (
                Q(effects__contains=[effect])
                if connection.vendor == "postgresql"
                else Q(effects__icontains=f'"{effect}"')
            )
        qs = qs.filter(effect_q)
    if filters.incident_types:
        type_q = Q()
        for code in filters.incident_types:
            # A category code ("malicious-code") matches all its types.
            type_q |= Q(incident_type=code) | Q(incident_type__startswith=f"{code}:")
        qs = qs.filter(type_q)
    if filters.min_level is not None:
        qs = qs.filter(severity_level__gte=filters.min_level)
    if filters.since:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.attribution:
        qs = qs.filter(attribution__in=filters.attribution)
    return qs.distinct() if filters.sectors else qs


def _mentioning(pairs: list[tuple[str, str]]) -> Any:
    if not pairs:
        return Report.objects.none().values("pk")
    q = Q()
    for kind, value in pairs:
        q |= Q(observable__kind=kind, observable__value=value)
    return ReportObservable.objects.filter(q).values("report_id")
