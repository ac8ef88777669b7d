"""Filtering and paging (sections 3.4 and 3.5 of the standard).

Pages are ordered by (date_added, row id) and continue from a keyset cursor:
``next`` is the position of the last row served, so that every page costs one
index range scan whatever its depth, and rows added meanwhile are neither
repeated nor skipped.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from accord.exchange.models import Scope, StixObject

from . import conf
from .media import TaxiiError, parse_timestamp

# URL parameters each endpoint understands; others are ignored, as the standard allows.
OBJECTS_FILTERS = frozenset(
    {
        "added_after",
        "limit",
        "next",
        "match[id]",
        "match[type]",
        "match[version]",
        "match[spec_version]",
    }
)
OBJECT_FILTERS = frozenset(
    {"added_after", "limit", "next", "match[version]", "match[spec_version]"}
)
VERSIONS_FILTERS = frozenset({"added_after", "limit", "next", "match[spec_version]"})
DELETE_FILTERS = frozenset({"match[version]", "match[spec_version]"})

_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]--[0-9a-fA-F-]{36}$")
_SPEC_VERSION = re.compile(r"^\d\.\d$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def bad_request(description: str) -> TaxiiError:
    return TaxiiError(400, "Bad request", description, code="bad-request")


@dataclass
class Query:
    limit: int
    after: tuple[dt.datetime, int] | None = None
    added_after: dt.datetime | None = None
    ids: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=lambda: ["last"])
    version_times: list[dt.datetime] = field(default_factory=list)
    spec_versions: list[str] = field(default_factory=list)


def parse_query(
    request: HttpRequest, allowed: frozenset[str], *, default_version: str = "last"
) -> Query:
    """The filters of this request; 400 for a value that cannot be understood."""
    params = request.GET
    query = Query(limit=conf.max_page_size(), versions=[default_version])
    if "limit" in allowed and "limit" in params:
        query.limit = _limit(params["limit"])
    if "next" in allowed and params.get("next"):
        query.after = decode_cursor(params["next"])
    if "added_after" in allowed and "added_after" in params:
        moment = parse_timestamp(params["added_after"])
        if moment is None:
            raise bad_request(
                "added_after must be an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00Z."
            )
        query.added_after = moment
    if "match[id]" in allowed:
        query.ids = _values(params, "match[id]", _ID, "STIX ids (type--UUID)")
    if "match[type]" in allowed:
        query.types = _values(params, "match[type]", _TYPE, "STIX object types")
    if "match[spec_version]" in allowed:
        query.spec_versions = _values(
            params, "match[spec_version]", _SPEC_VERSION, "specification versions such as 2.1"
        )
    if "match[version]" in allowed and params.get("match[version]", "").strip():
        query.versions, query.version_times = _versions(params.getlist("match[version]"))
    return query


def _limit(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise bad_request("limit must be a positive whole number.")
    # The server may serve fewer than asked; more is never served.
    return min(int(value), conf.max_page_size())


def _values(params: Any, name: str, pattern: re.Pattern[str], what: str) -> list[str]:
    values = [v.strip() for raw in params.getlist(name) for v in raw.split(",") if v.strip()]
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        raise bad_request(f"{name} takes a comma-separated list of {what}; not {bad[0]!r}.")
    return list(dict.fromkeys(values))


def _versions(raw_values: list[str]) -> tuple[list[str], list[dt.datetime]]:
    keywords: list[str] = []
    times: list[dt.datetime] = []
    for value in (v.strip() for raw in raw_values for v in raw.split(",") if v.strip()):
        if value in ("last", "first", "all"):
            keywords.append(value)
            continue
        moment = parse_timestamp(value)
        if moment is None:
            raise bad_request(
                f"match[version] takes last, first, all or timestamps of versions; not {value!r}."
            )
        times.append(moment)
    return keywords, times


# --- The cursor -------------------------------------------------------------------


def encode_cursor(date_added: dt.datetime, row_id: int) -> str:
    micros = (date_added - _EPOCH) // dt.timedelta(microseconds=1)
    raw = f"{micros}.{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        micros_text, row_text = raw.split(".")
        micros, row_id = int(micros_text), int(row_text)
        if not 0 <= row_id < 2**63:
            raise ValueError(row_id)
        moment = _EPOCH + dt.timedelta(microseconds=micros)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise bad_request("next must be a value this server returned in 'next'.") from exc
    return moment, row_id


# --- Applying it -------------------------------------------------------------------


def filter_objects(rows: QuerySet[StixObject], query: Query) -> QuerySet[StixObject]:
    """The match[...] and added_after filters (the cursor is applied by ``page``)."""
    if query.added_after is not None:
        rows = rows.filter(date_added__gt=query.added_after)
    if query.ids:
        rows = rows.filter(stix_id__in=query.ids)
    if query.types:
        rows = rows.filter(stix_type__in=query.types)
    if query.spec_versions:
        rows = rows.filter(spec_version__in=query.spec_versions)
    if "all" in query.versions:
        return rows
    wanted = Q(pk__in=[])
    if "last" in query.versions:
        # A retraction written for one peer is, for that peer, the latest version.
        wanted |= Q(is_latest=True) | Q(scope=Scope.PEER)
    if "first" in query.versions:
        older = StixObject.objects.filter(
            stix_id=OuterRef("stix_id"), modified__lt=OuterRef("modified")
        )
        wanted |= ~Exists(older)
    if query.version_times:
        wanted |= Q(modified__in=query.version_times)
    return rows.filter(wanted)


@dataclass
class Page:
    """One page: the requested columns of each row, and where the page starts and ends."""

    rows: list[tuple[Any, ...]]
    more: bool
    next: str | None
    first_added: dt.datetime | None
    last_added: dt.datetime | None
    # Each row's date_added, when asked for (the manifest shows them).
    added: list[dt.datetime] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        from .media import format_added

        if self.first_added is None or self.last_added is None:
            return {}
        return {
            "X-TAXII-Date-Added-First": format_added(self.first_added),
            "X-TAXII-Date-Added-Last": format_added(self.last_added),
        }


def page(
    rows: QuerySet[StixObject],
    query: Query,
    *columns: Any,
    every_date: bool = False,
    walk: bool = False,
) -> Page:
    """One page of ``columns`` in (date_added, id) order, continuing from the cursor.

    Without ``every_date`` only the first and last rows' date_added are read (with
    a second, tiny query): turning a thousand timestamps into Python datetimes
    costs more than the page query itself.

    ``walk`` says the rows are a large share of the store, tested row by row (see
    ``collections.walks_the_store``): the page is then read along the
    (date_added, id) index, never by sorting."""
    if query.after is not None:
        moment, row_id = query.after
        # date_added >= x narrows the index range; the OR settles ties on the id.
        rows = rows.filter(Q(date_added__gt=moment) | Q(id__gt=row_id), date_added__gte=moment)
    named: dict[str, Any] = {}
    names: list[str] = []
    for position, column in enumerate(columns):
        if isinstance(column, str):
            names.append(column)
        else:
            named[f"served_{position}"] = column
            names.append(f"served_{position}")
    if named:
        rows = rows.annotate(**named)
    leading = ["id", "date_added"] if every_date else ["id"]
    ordered = rows.order_by("date_added", "id").values_list(*leading, *names)
    fetched = (
        _fetch_along_index(ordered, query.limit + 1) if walk else list(ordered[: query.limit + 1])
    )
    more = len(fetched) > query.limit
    fetched = fetched[: query.limit]
    if not fetched:
        return Page([], False, None, None, None)
    skip = len(leading)
    if every_date:
        added = [row[1] for row in fetched]
        first, last = added[0], added[-1]
    else:
        added = []
        ends = dict(
            StixObject.objects.filter(pk__in={fetched[0][0], fetched[-1][0]}).values_list(
                "pk", "date_added"
            )
        )
        first, last = ends[fetched[0][0]], ends[fetched[-1][0]]
    return Page(
        rows=[row[skip:] for row in fetched],
        more=more,
        next=encode_cursor(last, fetched[-1][0]) if more else None,
        first_added=first,
        last_added=last,
        added=added,
    )


def _fetch_along_index(rows: QuerySet[Any], count: int) -> list[tuple[Any, ...]]:
    """The first ``count`` rows, read in index order.

    PostgreSQL cannot estimate how many rows pass a visibility condition on each
    row's report, and when it guesses few it reads every row past the cursor and
    sorts them: a deep page of a million-object collection then costs half a
    second. Read in index order, a page costs the rows it scans, and a whole walk
    reads each row once. Sorting is therefore ruled out for this one query, and
    the setting put back at once (it would otherwise last until the transaction
    ends, and a caller's transaction may go on)."""
    if connection.vendor != "postgresql":
        return list(rows[:count])  # SQLite already walks the index for ORDER BY ... LIMIT
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', true)"
        )
        previous = cursor.fetchone()[0]
        try:
            return list(rows[:count])
        finally:
            cursor.execute("SELECT set_config('enable_sort', %s, true)", [previous])
