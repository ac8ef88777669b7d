"""Storing the observables of a report: one row per distinct value network-wide."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection

from ..models import Observable, ReportObservable

_CHUNK = 500


def observable_ids(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Ids for (kind, value) pairs, creating the missing ones. Safe under
    concurrency: a value another transaction just created is re-read."""
    wanted = list(dict.fromkeys(pairs))
    if connection.vendor == "postgresql" and wanted:
        found = _insert_or_read(wanted)
        missing = [pair for pair in wanted if pair not in found]
        if missing:  # created meanwhile by a transaction our statement could not see
            found.update(_lookup(missing))
        return found
    found = _lookup(wanted)
    missing = [pair for pair in wanted if pair not in found]
    if missing:
        Observable.objects.bulk_create(
            [Observable(kind=kind, value=value) for kind, value in missing],
            batch_size=_CHUNK,
            ignore_conflicts=True,
        )
        found.update(_lookup(missing))
    return found


def _insert_or_read(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """PostgreSQL: one statement that inserts the new values and reads the stored
    ones. The outer SELECT runs on the statement's snapshot, so it sees the rows
    that were there before and the CTE returns those it added: no row twice."""
    kinds = [kind for kind, _value in pairs]
    values = [value for _kind, value in pairs]
    table = Observable._meta.db_table
    sql = f"""
        WITH wanted AS (
            SELECT * FROM unnest(%s::text[], %s::text[]) AS w(kind, value)
        ), added AS (
            INSERT INTO {table} (id, kind, value)
            SELECT gen_random_uuid(), kind, value FROM wanted
            ON CONFLICT (kind, value) DO NOTHING
            RETURNING id, kind, value
        )
        SELECT id, kind, value FROM added
        UNION ALL
        SELECT o.id, o.kind, o.value FROM {table} o JOIN wanted w USING (kind, value)
    """  # noqa: S608 - the table name is the model's, every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, [kinds, values])
        return {(kind, value): pk for pk, kind, value in cursor.fetchall()}


def _lookup(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in pairs:
        by_kind[kind].append(value)
    found: dict[tuple[str, str], Any] = {}
    for kind, values in by_kind.items():
        for start in range(0, len(values), _CHUNK):
            chunk = values[start : start + _CHUNK]
            for pk, value in Observable.objects.filter(kind=kind, value__in=chunk).values_list(
                "pk", "value"
            ):
                found[(kind, value)] = pk
    return found


def replace_observations(report: Any, observables: list[tuple[str, str, str]]) -> None:
    """Make the report mention exactly these (kind, value, note) observables."""
    ids = observable_ids((kind, value) for kind, value, _note in observables)
    wanted = {
        ids[(kind, value)]: (position, note)
        for position, (kind, value, note) in enumerate(observables)
    }
    existing = {row.observable_id: row for row in report.observations.all()}
    stale = [row.pk for obs_id, row in existing.items() if obs_id not in wanted]
    if stale:
        ReportObservable.objects.filter(pk__in=stale).delete()
    changed = []
    for obs_id, row in existing.items():
        if obs_id in wanted and (row.position, row.note) != wanted[obs_id]:
            row.position, row.note = wanted[obs_id]
            changed.append(row)
    if changed:
        ReportObservable.objects.bulk_update(changed, ["position", "note"], batch_size=_CHUNK)
    added = [(obs_id, *wanted[obs_id]) for obs_id in wanted if obs_id not in existing]
    if connection.vendor == "postgresql":
        _insert_mentions(report.pk, added)
        return
    ReportObservable.objects.bulk_create(
        [
            ReportObservable(report=report, observable_id=obs_id, position=position, note=note)
            for obs_id, position, note in added
        ],
        batch_size=_CHUNK,
    )


def _insert_mentions(report_id: Any, added: list[tuple[Any, int, str]]) -> None:
    """PostgreSQL: the new mentions in one statement. Building a thousand model
    instances and compiling their INSERTs costs more than the database's work."""
    if not added:
        return
    table = ReportObservable._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, report_id, observable_id, position, note) "  # noqa: S608
            "SELECT gen_random_uuid(), %s, m.observable_id, m.position, m.note "
            "FROM unnest(%s::uuid[], %s::integer[], %s::text[]) "
            "AS m(observable_id, position, note)",
            [
                report_id,
                [obs_id for obs_id, _, _ in added],
                [position for _, position, _ in added],
                [note for _, _, note in added],
            ],
        )
