"""JSON API: export what the caller may see as a STIX 2.1 bundle (mounted under /api/v1/).

``GET /stix/bundle`` streams a bundle (``application/stix+json;version=2.1``) of
the reports chosen by ``report`` (repeated ids) and/or ``since`` (changed at or
after), among those the caller may see; with neither, every report the caller may
see. An id the caller may not see is a 404, the same as an id that does not exist.
``GET /stix/extension`` is the JSON schema of Accord's STIX extension (public).

No ``from __future__ import annotations`` here: Ninja reads the annotations at run time.
"""

import datetime as dt
from uuid import UUID

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.errors import HttpError

from accord import policy
from accord.exchange.stix import export, mapping, vocab

router = Router(tags=["stix"])

MAX_REPORT_IDS = 500  # below Django's limit of 1000 query parameters


@router.get(
    "/stix/bundle",
    summary="Export reports as a STIX 2.1 bundle",
    response={200: dict, 404: dict, 422: dict},
    openapi_extra={
        "responses": {
            200: {"description": "A STIX 2.1 bundle", "content": {vocab.STIX_MEDIA_TYPE: {}}}
        }
    },
)
def stix_bundle(
    request: HttpRequest,
    report: list[UUID] | None = Query(None, description="Report ids (repeat the parameter)"),  # noqa: B008
    since: dt.datetime | None = Query(None, description="Reports changed at or after this time"),  # noqa: B008
) -> StreamingHttpResponse:
    user = request.auth
    reports = policy.reports_visible_to(user)
    wanted = list(dict.fromkeys(report or []))
    if len(wanted) > MAX_REPORT_IDS:
        raise HttpError(422, _("Ask for at most %(n)d reports at a time.") % {"n": MAX_REPORT_IDS})
    if wanted:
        reports = reports.filter(pk__in=wanted)
        if reports.count() != len(wanted):
            raise policy.NotVisible()
    if since is not None:
        if timezone.is_naive(since):
            since = timezone.make_aware(since, dt.UTC)
        reports = reports.filter(updated_at__gte=since)
    response = StreamingHttpResponse(
        export.iter_bundle(export.export_rows(user, reports)),
        content_type=vocab.STIX_MEDIA_TYPE,
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="accord-stix-{stamp}.json"'
    return response


@router.get("/stix/extension", auth=None, summary="The schema of Accord's STIX extension")
def stix_extension(request: HttpRequest) -> JsonResponse:
    return JsonResponse(mapping.extension_schema())
