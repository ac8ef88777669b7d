"""JSON API for the audit trail (mounted under /api/v1/ by accord.api)."""

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import paginate

from accord import policy
from accord.core.pagination import BoundedPagination

from . import services
from .models import AuditEntry
from .views import filter_entries

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    sequence: int
    timestamp: datetime
    actor: str = Field(..., alias="actor_label")
    action: str
    organisation: str | None
    target_type: str
    target_id: str
    summary: str
    data: dict[str, Any]
    entry_hash: str
    previous_hash: str

    @staticmethod
    def resolve_organisation(obj: AuditEntry) -> str | None:
        return obj.organisation.slug if obj.organisation else None


class AuditFilter(Schema):
    action: str | None = Field(None, max_length=64)
    organisation: str | None = Field(None, max_length=80, description="organisation slug")
    actor: str | None = Field(None, max_length=150, description="user name of the actor")
    date_from: date | None = None
    date_to: date | None = None


class ChainReportOut(Schema):
    ok: bool
    checked: int
    first_broken_sequence: int | None
    problem: str


@router.get("/audit", response=list[AuditEntryOut])
@paginate(BoundedPagination)
def list_entries(request: HttpRequest, filters: Query[AuditFilter]) -> Any:
    data = filters.dict()
    if data["date_from"] and data["date_to"] and data["date_from"] > data["date_to"]:
        raise HttpError(422, _("date_to is before date_from."))
    entries = policy.audit_entries_visible_to(request.user)
    return filter_entries(entries, data).select_related("organisation").order_by("-sequence")


@router.get("/audit/verify", response=ChainReportOut)
def verify_chain(request: HttpRequest) -> dict[str, Any]:
    if not policy.is_coordinator(request.user):
        raise policy.PolicyDenied(_("Only coordinators can verify the audit chain."))
    report = services.verify_chain()
    return {
        "ok": report.ok,
        "checked": report.checked,
        "first_broken_sequence": report.first_broken.sequence if report.first_broken else None,
        "problem": report.problem,
    }
