"""Delete An Object (section 5.7): who may, and what it does."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from accord import policy
from accord.audit.services import record
from accord.exchange.models import Scope, StixObject

from .media import TaxiiError, format_version


def may_delete_stix_object(user: Any, row: StixObject) -> bool:
    """Proposed for accord.policy: only the reporting organisation's analysts and
    representatives may delete the stored versions of their report's objects;
    shared context objects (identities, definitions) belong to no one and stay."""
    return (
        row.scope == Scope.REPORT
        and row.report is not None
        and policy.can_edit_report(user, row.report)
    )


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
    if not all(may_delete_stix_object(user, row) for row in found):
        raise TaxiiError(
            403,
            "Forbidden",
            "Only the organisation that reported an object may delete it.",
            code="forbidden",
        )
    StixObject.objects.filter(pk__in=[row.pk for row in found]).delete()
    remaining = StixObject.objects.filter(stix_id=object_id)
    newest = remaining.order_by("-modified").values_list("pk", flat=True).first()
    if newest is not None:
        remaining.exclude(pk=newest).update(is_latest=False)
        remaining.filter(pk=newest).update(is_latest=True)
    report = found[0].report
    record(
        "taxii.object_deleted",
        f"{len(found)} stored version(s) of {object_id} were deleted over TAXII",
        actor=user,
        organisation=report.reporter_organisation,
        target=report,
        data={
            "stix_id": object_id,
            "versions": sorted(format_version(row.modified) for row in found),
        },
        request=request,
    )
