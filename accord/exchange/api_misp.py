"""MISP core JSON over the JSON API (mounted under /api/v1/ by accord.api).

``POST /misp/events`` imports one event (the request body, ``{"Event": {...}}``);
``GET /misp/events/{report_id}`` exports a report the caller may see. A bad
body is a 4xx ``{"detail": ...}`` and stores nothing. See docs/misp.md.

No ``from __future__ import annotations`` here: Ninja reads the annotations of
the query schema at run time.
"""

from typing import Any, Literal
from uuid import UUID

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from accord.exchange.misp.event import MispError
from accord.exchange.misp.exporter import export_event
from accord.exchange.misp.importer import CREATED, run_import
from accord.exchange.misp.summary import labels_of

router = Router(tags=["misp"])


class ImportQuery(Schema):
    organisation: str | None = Field(
        None, max_length=80, description="slug of the organisation you file for"
    )
    attribution: Literal["named", "pseudonymous", "anonymous"] = "named"
    audience: Literal["network", "government", "coordination"] = "network"
    foreign: bool = Field(
        False, description="an event from another country (coordinators; needs country)"
    )
    country: str = Field("", max_length=2, description="origin country of a foreign event")
    notify: bool = Field(True, description="tell subscribers about a new local report")


class ImportOut(Schema):
    report: UUID
    status: str = Field(description="created, updated, unchanged or exists")
    kind: str
    title: str
    marking: str
    observables: int = Field(description="distinct observables the event gave")
    references: int
    texts: int = Field(description="text and comment attributes, in the summary's text")
    other_attributes: int = Field(description="kept in the summary's 'Other attributes'")
    deleted_attributes: int
    labels: list[str]


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


# The body is read as it is (MISP's format is too loose for a schema): documented only.
EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["Event"],
                    "properties": {"Event": {"type": "object", "description": "MISP core format"}},
                }
            }
        },
    }
}


@router.post(
    "/misp/events",
    response={200: ImportOut, 201: ImportOut},
    summary="Import a MISP event",
    openapi_extra=EVENT_BODY,
)
def import_misp_event(request: HttpRequest, params: Query[ImportQuery]) -> Status:
    """The body is one MISP core JSON event. Importing the same event (its uuid) again
    updates the report when the event is newer and you imported it; 201 when a report
    was made, 200 otherwise."""
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise HttpError(415, "Send the event as application/json.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise HttpError(413, "The event is too large for one request.") from None
    try:
        result = run_import(
            body,
            user=_user(request),
            organisation=params.organisation or None,
            origin_country=params.country,
            foreign=params.foreign,
            audience=params.audience,
            attribution=params.attribution,
            notify=params.notify,
        )
    except MispError as exc:
        raise HttpError(exc.status, exc.message) from exc
    report, event = result.report, result.event
    out = {
        "report": report.pk,
        "status": result.status,
        "kind": report.kind,
        "title": report.title,
        "marking": report.marking,
        "observables": len(event.observations),
        "references": len(event.references),
        "texts": event.texts,
        "other_attributes": event.others,
        "deleted_attributes": event.deleted,
        "labels": labels_of(report.summary),
    }
    return Status(201 if result.status == CREATED else 200, out)


@router.get("/misp/events/{report_id}", summary="Export a report as a MISP event")
def export_misp_event(request: HttpRequest, report_id: str) -> JsonResponse:
    """MISP core JSON (``{"Event": {...}}``) that MISP and PyMISP load; 404 for a
    report you may not see."""
    return JsonResponse(export_event(report_id, viewer=_user(request)))
