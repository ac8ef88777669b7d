"""JSON API for the network's rules (mounted under /api/v1/ by accord.api).

Reading the documents is public, like the pages; publishing, accepting and the
acceptance history need an authenticated caller.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accord import policy
from accord.core.pagination import BoundedPagination

from . import services
from .models import RuleAcceptance, RuleDocument, RuleVersion

router = Router(tags=["rules"])

# Version numbers are small; the bound keeps absurd path values away from the database.
MAX_VERSION = 1_000_000


class VersionSummaryOut(Schema):
    number: int
    published_at: datetime
    change_summary: str


class DocumentOut(Schema):
    kind: str
    title: str
    current_version: VersionSummaryOut | None


class DocumentDetailOut(DocumentOut):
    versions: list[VersionSummaryOut]


class VersionOut(VersionSummaryOut):
    kind: str
    title: str
    is_current: bool
    body: str
    html: str


class PublishIn(Schema):
    body: str = Field(..., min_length=1, max_length=200_000)
    change_summary: str = Field("", max_length=500)


class AcceptIn(Schema):
    organisation: str = Field(..., min_length=1, max_length=80)


class AcceptanceOut(Schema):
    organisation: str = Field(..., alias="organisation.slug")
    organisation_name: str = Field(..., alias="organisation.name")
    document: str = Field(..., alias="version.document.kind")
    version: int = Field(..., alias="version.number")
    accepted_by: str | None
    accepted_at: datetime

    @staticmethod
    def resolve_accepted_by(obj: RuleAcceptance) -> str | None:
        return obj.accepted_by.get_username() if obj.accepted_by else None


class AcceptanceFilter(Schema):
    organisation: str | None = Field(None, max_length=80, description="organisation slug")


def _summary(version: RuleVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "number": version.number,
        "published_at": version.published_at,
        "change_summary": version.change_summary,
    }


def _document(kind: str) -> RuleDocument:
    try:
        return RuleDocument.objects.get(kind=kind)
    except RuleDocument.DoesNotExist as exc:
        raise policy.NotVisible() from exc


def _version(document: RuleDocument, number: int) -> RuleVersion:
    if not 1 <= number <= MAX_VERSION:
        raise policy.NotVisible()
    try:
        return document.versions.get(number=number, published_at__isnull=False)
    except RuleVersion.DoesNotExist as exc:
        raise policy.NotVisible() from exc


def _version_out(version: RuleVersion) -> dict[str, Any]:
    current = version.document.current_version
    return {
        **(_summary(version) or {}),
        "kind": version.document.kind,
        "title": version.document.title,
        "is_current": current is not None and current.pk == version.pk,
        "body": version.body,
        "html": str(services.render_markdown(version.body)),
    }


@router.get("/rules", response=list[DocumentOut], auth=None)
def list_documents(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"kind": d.kind, "title": d.title, "current_version": _summary(d.current_version)}
        for d in RuleDocument.objects.all()
    ]


@router.get("/rules/{kind}", response=DocumentDetailOut, auth=None)
def get_document(request: HttpRequest, kind: str) -> dict[str, Any]:
    document = _document(kind)
    return {
        "kind": document.kind,
        "title": document.title,
        "current_version": _summary(document.current_version),
        "versions": [_summary(v) for v in document.versions.filter(published_at__isnull=False)],
    }


@router.get("/rules/{kind}/versions/{number}", response=VersionOut, auth=None)
def get_version(request: HttpRequest, kind: str, number: int) -> dict[str, Any]:
    return _version_out(_version(_document(kind), number))


@router.post("/rules/{kind}/versions", response={201: VersionOut})
def publish_version(request: HttpRequest, kind: str, payload: PublishIn) -> Status:
    document = _document(kind)
    try:
        version = services.publish_version(
            document,
            body=payload.body,
            change_summary=payload.change_summary,
            by=request.user,
            request=request,
        )
    except services.RulesError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(201, _version_out(version))


@router.post(
    "/rules/{kind}/versions/{number}/accept", response={200: AcceptanceOut, 201: AcceptanceOut}
)
def accept_version(request: HttpRequest, kind: str, number: int, payload: AcceptIn) -> Status:
    version = _version(_document(kind), number)
    organisation = policy.get_organisation(request.user, slug=payload.organisation)
    existed = RuleAcceptance.objects.filter(organisation=organisation, version=version).exists()
    try:
        acceptance = services.accept_version(
            version, organisation, by=request.user, request=request
        )
    except services.RulesError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(200 if existed else 201, acceptance)


@router.get("/acceptances", response=list[AcceptanceOut])
@paginate(BoundedPagination)
def list_acceptances(request: HttpRequest, filters: Query[AcceptanceFilter]) -> Any:
    qs = policy.acceptances_visible_to(request.user).order_by("-accepted_at", "-pk")
    if filters.organisation:
        qs = qs.filter(organisation__slug=filters.organisation)
    return qs
