"""JSON API of the points of contact and communication checks (mounted under /api/v1/).

Same rules as the pages: reading the directory needs good standing, managing
it and running checks needs a coordinator (``accord.policy``). A
``ContactError`` is 422 when it names the wrong fields and 400 otherwise; a
peer's contact cannot be changed here (409). The acknowledgement endpoints
take the token from the e-mailed link and need no account.

No ``from __future__ import annotations`` here: Ninja reads the annotations at run time.
"""

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate
from pydantic import AfterValidator

from accord import policy
from accord.core.pagination import MAX_LIMIT, MAX_OFFSET, BoundedPagination

from . import checks, services, stats
from .models import CheckRecipient, Contact, ContactCheck, Via
from .views import filter_contacts

router = Router(tags=["points of contact"])


def _no_surrogates(value: str) -> str:
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("Text must be valid Unicode (no lone surrogate code points).")
    return value


Text = Annotated[str, AfterValidator(_no_surrogates)]
RoleCode = Literal["policy", "technical"]
ChannelCode = Literal[
    "email", "phone", "mobile", "fax", "secure-messaging", "video", "web", "other"
]


# --- Schemas --------------------------------------------------------------------------


class Channel(Schema):
    kind: ChannelCode
    value: Text = Field(..., min_length=1, max_length=200)


class ContactOut(Schema):
    id: UUID
    role: str
    name: str
    function: str
    organisation: str
    member_organisation: str | None = Field(None, description="slug, for a member organisation")
    email: str
    phone: str
    languages: list[str]
    channels: list[Channel]
    hours: str
    always_available: bool
    country: str
    source: str = Field(..., description='"local", or the slug of the peer it came from')
    external_id: str = Field(..., description="its STIX id at the peer, for a peer's contact")
    stix_id: str
    user: str | None = Field(None, description="linked local account (coordinators only)")
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactFilter(Schema):
    q: Text | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=2, description="ISO 3166-1 alpha-2")
    role: RoleCode | None = None
    language: str | None = Field(None, max_length=3, description="ISO 639-1")
    source: str | None = Field(None, max_length=60, description='"local" or a peer slug')


class ContactIn(Schema):
    role: RoleCode
    name: Text = Field("", max_length=200, description="empty for a team or duty desk")
    function: Text = Field("", max_length=200)
    organisation: str | None = Field(
        None, max_length=80, description="slug of a verified member organisation"
    )
    organisation_name: Text = Field(
        "", max_length=200, description="for an organisation that is not a member"
    )
    email: Text = Field(..., max_length=254)
    phone: Text = Field("", max_length=40)
    languages: list[Annotated[str, Field(max_length=10)]] = Field(
        default_factory=list, max_length=50, description="ISO 639-1 codes"
    )
    channels: list[Channel] = Field(default_factory=list, max_length=50)
    hours: Text = Field("", max_length=200, description="e.g. Mon–Fri 08:00–18:00 CET")
    always_available: bool = False
    country: str = Field("", max_length=2, description="taken from the organisation if empty")
    user: str | None = Field(None, max_length=150, description="user name of a local account")


class ContactPatch(Schema):
    """The fields to change; a field left out keeps its value."""

    role: RoleCode | None = None
    name: Text | None = Field(None, max_length=200)
    function: Text | None = Field(None, max_length=200)
    organisation: str | None = Field(None, max_length=80, description='slug; "" unlinks')
    organisation_name: Text | None = Field(None, max_length=200)
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=40)
    languages: list[Annotated[str, Field(max_length=10)]] | None = Field(None, max_length=50)
    channels: list[Channel] | None = Field(None, max_length=50)
    hours: Text | None = Field(None, max_length=200)
    always_available: bool | None = None
    country: str | None = Field(None, max_length=2)
    user: str | None = Field(None, max_length=150, description='user name; "" unlinks')


class CheckFigures(Schema):
    id: UUID
    sent_at: dt.datetime
    deadline: dt.datetime
    sent: int
    acknowledged: int
    on_time: int
    rate: float | None
    on_time_rate: float | None
    median_seconds: float | None
    p90_seconds: float | None
    fastest_seconds: int | None
    slowest_seconds: int | None
    silent: int


class CheckOut(CheckFigures):
    created_by: str | None
    scheduled: bool
    message: str
    escalated_at: dt.datetime | None


class RecipientOut(Schema):
    contact: UUID | None
    name: str
    organisation: str
    email: str
    country: str
    role: str
    sent_at: dt.datetime
    acknowledged_at: dt.datetime | None
    response_seconds: int | None
    acknowledged_via: str
    on_time: bool
    escalated_at: dt.datetime | None


class CheckDetailOut(CheckOut):
    recipients: list[RecipientOut]


class CheckPage(Schema):
    items: list[CheckOut]
    count: int


class CheckIn(Schema):
    all_contacts: bool = Field(False, description="send to every point of contact")
    contacts: list[UUID] = Field(
        default_factory=list, max_length=5000, description="or these contacts"
    )
    deadline: dt.datetime = Field(..., description="with a time zone, e.g. …Z")
    message: Text = Field("", max_length=checks.MAX_MESSAGE)


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class StatsQuery(Schema):
    limit: int = Field(24, ge=1, le=200, description="how many of the latest checks")


class Overall(Schema):
    checks: int
    sent: int
    acknowledged: int
    on_time: int
    rate: float | None
    on_time_rate: float | None
    median_seconds: float | None
    p90_seconds: float | None


class StatsOut(Schema):
    overall: Overall
    checks: list[CheckFigures] = Field(..., description="oldest first")


class AckOut(Schema):
    state: str = Field(..., description="open, acknowledged or already")
    contact: str
    organisation: str
    sent_at: dt.datetime
    deadline: dt.datetime
    message: str
    acknowledged_at: dt.datetime | None
    response_seconds: int | None


# --- Helpers ------------------------------------------------------------------------------


def _contact_out(request: HttpRequest, contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "role": contact.role,
        "name": contact.name,
        "function": contact.function,
        "organisation": contact.organisation_name,
        "member_organisation": contact.organisation.slug if contact.organisation else None,
        "email": contact.email,
        "phone": contact.phone,
        "languages": contact.language_list,
        "channels": contact.channels,
        "hours": contact.hours,
        "always_available": contact.always_available,
        "country": contact.country.code,
        "source": contact.peer.slug if contact.peer else "local",
        "external_id": contact.external_id,
        "stix_id": contact.stix_id,
        "user": contact.user.get_username()
        if contact.user and policy.can_manage_contacts(request.user)
        else None,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def _fields(payload: Schema, *, partial: bool) -> dict[str, Any]:
    """The schema's values in the services' terms (slugs and user names resolved)."""
    data = payload.dict(exclude_unset=partial)
    if "channels" in data and data["channels"] is not None:
        data["channels"] = [dict(c) for c in data["channels"]]
    if "organisation" in data:
        slug = data["organisation"]
        data["organisation"] = services.organisation_by_slug(slug)
        if slug and data["organisation"] is None:
            raise HttpError(422, _("organisation: no verified member organisation has this slug."))
    if "user" in data:
        username = data["user"]
        data["user"] = services.user_by_username(username)
        if username and data["user"] is None:
            raise HttpError(422, _("user: no active account has this user name."))
    if partial:
        # null means "leave it" for everything but the two links, where it unlinks.
        data = {k: v for k, v in data.items() if v is not None or k in ("organisation", "user")}
    return data


def _service_error(exc: services.ContactError) -> HttpError:
    return HttpError(422 if exc.errors else 400, exc.as_detail())


def _contact(request: HttpRequest, contact_id: UUID) -> Contact:
    policy.require_read_contacts(request.user)
    return policy.get_contact(request.user, contact_id)


def _editable(request: HttpRequest, contact_id: UUID) -> Contact:
    policy.require_manage_contacts(request.user)
    contact = policy.get_contact(request.user, contact_id)
    if not policy.can_edit_contact(request.user, contact):
        raise HttpError(409, _("A peer's contact is kept up to date by that peer."))
    return contact


def _check_out(figures: stats.CheckFigures) -> dict[str, Any]:
    check = figures.check
    return {
        **figures.as_dict(),
        "created_by": check.created_by.get_username() if check.created_by else None,
        "scheduled": check.scheduled,
        "message": check.message,
        "escalated_at": check.escalated_at,
    }


def _recipient_out(recipient: CheckRecipient) -> dict[str, Any]:
    return {
        "contact": recipient.contact_id,
        "name": recipient.contact_name,
        "organisation": recipient.organisation_name,
        "email": recipient.email,
        "country": recipient.country.code,
        "role": recipient.role,
        "sent_at": recipient.sent_at,
        "acknowledged_at": recipient.acknowledged_at,
        "response_seconds": recipient.response_seconds,
        "acknowledged_via": recipient.acknowledged_via,
        "on_time": recipient.on_time,
        "escalated_at": recipient.escalated_at,
    }


def _check_detail(check: ContactCheck) -> dict[str, Any]:
    figures = stats.figures_for(check)
    recipients = list(check.recipients.order_by("country", "organisation_name", "contact_name"))
    for recipient in recipients:
        recipient.contact_check = check
    return {**_check_out(figures), "recipients": [_recipient_out(r) for r in recipients]}


# --- Contacts ----------------------------------------------------------------------------


@router.get("/contacts", response=list[ContactOut])
@paginate(BoundedPagination)
def list_contacts(request: HttpRequest, filters: Query[ContactFilter]) -> Any:
    policy.require_read_contacts(request.user)
    data = filters.dict()
    data["country"] = (data["country"] or "").upper()
    data["language"] = (data["language"] or "").lower()
    qs = filter_contacts(policy.contacts_visible_to(request.user), data)
    contacts = qs.select_related("organisation", "peer", "user").order_by(
        "country", "role", "organisation_name", "name", "pk"
    )
    return _LazyOut(request, contacts)


class _LazyOut:
    """A sliceable view of a queryset that serialises only the page Ninja cuts out."""

    def __init__(self, request: HttpRequest, qs: Any) -> None:
        self.request, self.qs = request, qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return [_contact_out(self.request, c) for c in self.qs[item]]


@router.post("/contacts", response={201: ContactOut})
def create_contact(request: HttpRequest, payload: ContactIn) -> Status:
    policy.require_manage_contacts(request.user)
    try:
        contact = services.create_contact(
            by=request.user, request=request, **_fields(payload, partial=False)
        )
    except services.ContactError as exc:
        raise _service_error(exc) from exc
    return Status(201, _contact_out(request, contact))


@router.get("/contacts/{contact_id}", response=ContactOut)
def get_contact(request: HttpRequest, contact_id: UUID) -> Any:
    return _contact_out(request, _contact(request, contact_id))


@router.patch("/contacts/{contact_id}", response=ContactOut)
def update_contact(request: HttpRequest, contact_id: UUID, payload: ContactPatch) -> Any:
    contact = _editable(request, contact_id)
    fields = _fields(payload, partial=True)
    if not fields:
        raise HttpError(400, _("Send at least one field to change."))
    try:
        contact = services.update_contact(contact, by=request.user, request=request, **fields)
    except services.ContactError as exc:
        raise _service_error(exc) from exc
    return _contact_out(request, contact)


@router.delete("/contacts/{contact_id}", response={204: None})
def delete_contact(request: HttpRequest, contact_id: UUID) -> Status:
    contact = _editable(request, contact_id)
    services.delete_contact(contact, by=request.user, request=request)
    return Status(204, None)


# --- Checks --------------------------------------------------------------------------------


@router.get("/contact-checks", response=CheckPage)
def list_checks(request: HttpRequest, page: Query[PageQuery]) -> Any:
    policy.require_run_checks(request.user)
    qs = policy.checks_visible_to(request.user).select_related("created_by")
    rows = list(qs.order_by("-created_at", "pk")[page.offset : page.offset + page.limit])
    return {
        "items": [_check_out(f) for f in stats.figures_for_many(rows)],
        "count": qs.count(),
    }


@router.post("/contact-checks", response={201: CheckDetailOut})
def create_check(request: HttpRequest, payload: CheckIn) -> Status:
    policy.require_run_checks(request.user)
    if payload.all_contacts == bool(payload.contacts):
        raise HttpError(
            422, _("contacts: give either all_contacts: true or a list of contact ids.")
        )
    chosen = None
    if payload.contacts:
        wanted = set(payload.contacts)
        chosen = list(policy.contacts_visible_to(request.user).filter(pk__in=wanted))
        missing = wanted - {c.pk for c in chosen}
        if missing:
            raise HttpError(
                422,
                _("contacts: unknown contact ids: %(ids)s.")
                % {"ids": ", ".join(sorted(str(m) for m in missing)[:5])},
            )
    try:
        check = checks.send_check(
            by=request.user,
            contacts=chosen,
            deadline=payload.deadline,
            message=payload.message,
            request=request,
        )
    except services.ContactError as exc:
        raise _service_error(exc) from exc
    return Status(201, _check_detail(check))


@router.get("/contact-checks/stats", response=StatsOut)
def check_stats(request: HttpRequest, query: Query[StatsQuery]) -> Any:
    policy.require_run_checks(request.user)
    series = stats.over_time(policy.checks_visible_to(request.user), limit=query.limit)
    return {
        "overall": vars(stats.overall(series)),
        "checks": [f.as_dict() for f in series],
    }


@router.get("/contact-checks/{check_id}", response=CheckDetailOut)
def get_check(request: HttpRequest, check_id: UUID) -> Any:
    policy.require_run_checks(request.user)
    return _check_detail(policy.get_check(request.user, check_id))


@router.post("/contact-checks/{check_id}/escalate", response=CheckDetailOut)
def escalate_check(request: HttpRequest, check_id: UUID) -> Any:
    """Remind the silent recipients now (only after the deadline, once per check)."""
    policy.require_run_checks(request.user)
    check = policy.get_check(request.user, check_id)
    if check.escalated_at is not None:
        raise HttpError(409, _("The silent recipients of this check were already reminded."))
    try:
        checks.escalate_check(check, by=request.user, request=request)
    except services.ContactError as exc:
        raise HttpError(409, exc.message) from exc
    check.refresh_from_db()
    return _check_detail(check)


# --- Acknowledgement by token (no account) ---------------------------------------------------

TOKEN_PATH = "/contact-acknowledgements/{token}"
REFUSALS = {
    "invalid": (404, "This link is not valid."),
    "expired": (410, "This link has expired."),
    "used": (409, "This link was already used."),
}


def _ack_out(result: checks.LinkState) -> dict[str, Any]:
    if result.state in REFUSALS:
        status, message = REFUSALS[result.state]
        raise HttpError(status, _(message))
    recipient = result.recipient
    assert recipient is not None
    return {
        "state": result.state,
        "contact": recipient.contact_name,
        "organisation": recipient.organisation_name,
        "sent_at": recipient.sent_at,
        "deadline": recipient.contact_check.deadline,
        "message": recipient.contact_check.message,
        "acknowledged_at": recipient.acknowledged_at,
        "response_seconds": recipient.response_seconds,
    }


@router.get(TOKEN_PATH, response=AckOut, auth=None)
def inspect_acknowledgement(request: HttpRequest, token: str) -> Any:
    """What a link is for, without using it."""
    return _ack_out(checks.inspect_link(token))


@router.post(TOKEN_PATH, response=AckOut, auth=None)
def acknowledge(request: HttpRequest, token: str) -> Any:
    """Acknowledge the check with the link's token. Works once; 409 afterwards."""
    result = checks.acknowledge(token, via=Via.API)
    if result.state == "already":
        raise HttpError(409, _("This check was already acknowledged."))
    return _ack_out(result)
