"""Delete An Object (section 5.7): who may, and what it does."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accord import policy
from accord.audit.services import record
from accord.exchange.models import StixObject

from .media import TaxiiError, format_version


@transaction.atomic
def delete_versions(
    request: HttpRequest, user: Any, object_id: str, rows: QuerySet[StixObject]
) -> None:
    """Delete these stored versions of one object (rows the person may read), make
    the newest one left the latest, and write it to the audit trail."""
    found = list(rows.select_related("report").select_for_update(of=("self",)))
    if not found:
        raise TaxiiError(
            404,
            "Object not found",
            "No version of this object matches the filters.",
            code="not-found",
        )
    if not all(policy.can_delete_stix_object(user, row) for row in found):
        raise TaxiiError(
            403,
            "Forbidden",
            "Only the organisation that reported an object may delete it.",
            code="forbidden",
        )
    StixObject.objects.filter(pk__in=[row.pk for row in found]).delete()
    reports = {row.report_id: row.report for row in found}
    for report in reports.values():
        # ``is_latest`` is kept per report: the same observable may stand in others.
        remaining = StixObject.objects.filter(stix_id=object_id, report=report)
        newest = remaining.order_by("-modified").values_list("pk", flat=True).first()
        if newest is not None:
            remaining.exclude(pk=newest).update(is_latest=False)
            remaining.filter(pk=newest).update(is_latest=True)
        if not report.is_named:
            # As in sharing: an entry would tie the person to an anonymous or
            # pseudonymous report.
            continue
        record(
            "taxii.object_deleted",
            f"{len(found)} stored version(s) of {object_id} were deleted over TAXII",
            actor=user,
            organisation=report.reporter_organisation,
            target=report,
            data={
                "stix_id": object_id,
                "versions": sorted(
                    format_version(row.modified) for row in found if row.report_id == report.pk
                ),
            },
            request=request,
        )
