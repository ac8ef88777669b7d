"""JSON API for notifications and subscriptions (mounted under /api/v1/ by accord.api).

Every call works on the caller's own rows only. Notifications come from
``notifications.notifications_for``, which asks the access policy, so a report
the caller can no longer see (or that was withdrawn) is not listed. Invalid
input is 400 with ``{"detail": …}`` naming the fields.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accord import policy
from accord.core.pagination import BoundedPagination

from . import notifications as service
from .models import Marking, Notification, Subscription
from .services import SharingError
from .services.reports import public_reporter_label

router = Router(tags=["notifications"])


class ReportRef(Schema):
    """Enough to list and open the report (GET /reports/{id}); never its content."""

    id: UUID
    title: str
    kind: str
    marking: str
    marking_label: str
    reporter: str = Field(description="how the reporter appears to others")
    is_mine: bool = Field(description="filed by one of your organisations")
    severity_level: int | None
    created_at: datetime = Field(description="only the day, for an anonymous report")


class NotificationOut(Schema):
    id: UUID
    report: ReportRef
    subscription: str | None
    created_at: datetime
    read_at: datetime | None
    emailed_at: datetime | None

    @staticmethod
    def resolve_report(obj: Notification, context: Any) -> dict[str, Any]:
        report = obj.report
        return {
            "id": report.pk,
            "title": report.title,
            "kind": report.kind,
            "marking": report.marking,
            "marking_label": str(Marking(report.marking).label),
            "reporter": str(public_reporter_label(report)),
            "is_mine": policy.is_reporter(context["request"].auth, report),
            "severity_level": report.severity_level,
            "created_at": report.created_at,
        }

    @staticmethod
    def resolve_subscription(obj: Notification) -> str | None:
        return obj.subscription.name if obj.subscription_id else None


class NotificationFilter(Schema):
    unread: bool | None = Field(None, description="true: unread only; false: read only")


class ReadIn(Schema):
    ids: list[UUID] | None = Field(
        None, max_length=1000, description="notifications to mark read; omit to mark all"
    )


class ReadOut(Schema):
    marked: int
    unread: int


class SubscriptionIn(Schema):
    name: str = Field(..., max_length=service.MAX_NAME)
    kinds: list[str] = Field(default_factory=list, max_length=10, description="empty: any kind")
    sectors: list[str] = Field(
        default_factory=list, max_length=100, description="sector codes; empty: any"
    )
    effects: list[str] = Field(
        default_factory=list, max_length=20, description="CISSM effect codes; empty: any"
    )
    min_level: int | None = Field(None, description="0-5; null or 0: any level, or none")
    email_digest: bool = True


class SubscriptionOut(Schema):
    id: int
    name: str
    kinds: list[str]
    sectors: list[str]
    effects: list[str]
    min_level: int | None
    email_digest: bool
    created_at: datetime

    @staticmethod
    def resolve_sectors(obj: Subscription) -> list[str]:
        return sorted(s.code for s in obj.sectors.all())


@router.get("/notifications", response=list[NotificationOut])
@paginate(BoundedPagination)
def list_notifications(request: HttpRequest, filters: Query[NotificationFilter]) -> Any:
    qs = service.notifications_for(request.auth)
    if filters.unread is not None:
        qs = qs.filter(read_at__isnull=filters.unread)
    return qs


@router.post("/notifications/read", response=ReadOut)
def mark_read(request: HttpRequest, payload: ReadIn | None = None) -> Any:
    ids = payload.ids if payload is not None else None
    try:
        marked = service.mark_read(request.auth, ids)
    except SharingError as exc:
        raise HttpError(400, str(exc.as_detail())) from exc
    return {"marked": marked, "unread": service.unread_count(request.auth)}


@router.get("/subscriptions", response=list[SubscriptionOut])
def list_subscriptions(request: HttpRequest) -> Any:
    return list(service.subscriptions_for(request.auth))


@router.post("/subscriptions", response={201: SubscriptionOut})
def create_subscription(request: HttpRequest, payload: SubscriptionIn) -> Status:
    try:
        subscription = service.create_subscription(
            request.auth,
            name=payload.name,
            kinds=payload.kinds,
            sectors=payload.sectors,
            effects=payload.effects,
            min_level=payload.min_level,
            email_digest=payload.email_digest,
        )
    except SharingError as exc:
        raise HttpError(400, str(exc.as_detail())) from exc
    return Status(201, subscription)


@router.delete("/subscriptions/{subscription_id}", response={204: None})
def delete_subscription(request: HttpRequest, subscription_id: int) -> Status:
    subscription = service.get_subscription(request.auth, subscription_id)
    service.delete_subscription(request.auth, subscription)
    return Status(204, None)
