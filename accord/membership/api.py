"""JSON API for membership (mounted under /api/v1/ by accord.api).

Input is validated by the same Django forms the web pages use, so both refuse
the same values; a refused value is a 422 whose ``detail`` names the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accord import policy
from accord.core.pagination import BoundedPagination

from . import services
from .forms import ApplicationForm, DirectoryFilterForm, InviteForm
from .models import Invitation, Membership, Organisation, Sector, Task
from .taxonomy import StakeholderGroup

router = Router(tags=["membership"])

MAX_ID = 2**63 - 1  # larger ids cannot exist and would overflow the database driver


# --- Schemas --------------------------------------------------------------------


class OrganisationOut(Schema):
    slug: str
    name: str
    status: str
    country: str
    country_name: str
    stakeholder_group: str
    sectors: list[str]
    tasks: list[str]
    description: str
    website: str
    applied_at: datetime

    @staticmethod
    def resolve_country(obj: Organisation) -> str:
        return obj.country.code

    @staticmethod
    def resolve_country_name(obj: Organisation) -> str:
        return str(obj.country.name)

    @staticmethod
    def resolve_sectors(obj: Organisation) -> list[str]:
        return [s.code for s in obj.sectors.all()]

    @staticmethod
    def resolve_tasks(obj: Organisation) -> list[str]:
        return [t.code for t in obj.tasks.all()]


class OrganisationDetail(OrganisationOut):
    """One organisation; the contact fields are null for callers who may not see them."""

    contact_name: str | None
    contact_email: str | None
    contact_phone: str | None

    @staticmethod
    def _contact(obj: Organisation, context: Any, field: str) -> str | None:
        request = context["request"]
        return getattr(obj, field) if policy.can_see_contact_details(request.auth, obj) else None

    @staticmethod
    def resolve_contact_name(obj: Organisation, context: Any) -> str | None:
        return OrganisationDetail._contact(obj, context, "contact_name")

    @staticmethod
    def resolve_contact_email(obj: Organisation, context: Any) -> str | None:
        return OrganisationDetail._contact(obj, context, "contact_email")

    @staticmethod
    def resolve_contact_phone(obj: Organisation, context: Any) -> str | None:
        return OrganisationDetail._contact(obj, context, "contact_phone")


class ApplicationIn(Schema):
    name: str = Field(max_length=200)
    country: str = Field(max_length=2, description="ISO 3166-1 alpha-2 code, e.g. NL")
    stakeholder_group: str = Field(max_length=32, description="See GET /stakeholder-groups")
    sectors: list[str] = Field(default_factory=list, max_length=100)
    tasks: list[str] = Field(default_factory=list, max_length=100)
    contact_name: str = Field(max_length=200)
    contact_email: str = Field(max_length=254)
    contact_phone: str = Field("", max_length=40)
    website: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)


class ApplicationCreated(Schema):
    slug: str
    status: str


class VerifyIn(Schema):
    note: str = Field("", max_length=2000)


class RejectIn(Schema):
    reason: str = Field(max_length=2000)


class MemberOut(Schema):
    username: str
    full_name: str
    title: str
    is_representative: bool
    is_analyst: bool
    is_org_admin: bool
    joined_at: datetime

    @staticmethod
    def resolve_username(obj: Membership) -> str:
        return obj.user.get_username()

    @staticmethod
    def resolve_full_name(obj: Membership) -> str:
        return obj.user.display_name


class RolesPatch(Schema):
    """Roles to change; a role left out keeps its current value."""

    is_representative: bool | None = None
    is_analyst: bool | None = None
    is_org_admin: bool | None = None


class InvitationIn(Schema):
    email: str = Field(max_length=254)
    full_name: str = Field("", max_length=200)
    is_representative: bool = False
    is_analyst: bool = True
    is_org_admin: bool = False


class InvitationOut(Schema):
    id: int
    email: str
    full_name: str
    is_representative: bool
    is_analyst: bool
    is_org_admin: bool
    state: str
    invited_by: str | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_invited_by(obj: Invitation) -> str | None:
        return obj.invited_by.get_username() if obj.invited_by else None


class SectorOut(Schema):
    code: str
    name: str
    description: str


class TaskOut(Schema):
    code: str
    name: str
    primary_actor: str


class StakeholderGroupOut(Schema):
    code: str
    name: str


# --- Helpers ----------------------------------------------------------------------


def _invalid(form: Form) -> HttpError:
    """A 422 that says which field is wrong and why."""
    parts = []
    for field, errors in form.errors.items():
        for message in errors:
            parts.append(message if field == "__all__" else f"{field}: {message}")
    return HttpError(422, " ".join(parts))


def _with_refs(qs: QuerySet[Organisation]) -> QuerySet[Organisation]:
    return qs.prefetch_related("sectors", "tasks")


def _managed_organisation(request: HttpRequest, slug: str) -> Organisation:
    """The organisation, if the caller may manage its people; otherwise 404."""
    organisation = policy.get_organisation(request.auth, slug=slug)
    if not policy.can_manage_people(request.auth, organisation):
        raise policy.NotVisible()
    return organisation


def _membership(organisation: Organisation, username: str) -> Membership:
    try:
        return organisation.memberships.select_related("user", "organisation").get(
            user__username=username
        )
    except (Membership.DoesNotExist, ValueError) as exc:  # ValueError: NUL on PostgreSQL
        raise policy.NotVisible() from exc


# --- Organisations -------------------------------------------------------------------


@router.get("/organisations", response=list[OrganisationOut])
@paginate(BoundedPagination)
def list_organisations(
    request: HttpRequest,
    q: str = "",
    stakeholder_group: str = "",
    sector: str = "",
    task: str = "",
    country: str = "",
    status: str = "",
) -> Any:
    """Organisations the caller may see (the directory; coordinators see applications too)."""
    form = DirectoryFilterForm(
        {
            "q": q,
            "stakeholder_group": stakeholder_group,
            "sector": sector,
            "task": task,
            "country": country.upper(),
            "status": status,
        },
        with_status=True,
    )
    if not form.is_valid():
        raise _invalid(form)
    return _with_refs(form.filter(policy.organisations_visible_to(request.auth))).order_by("name")


@router.get("/organisations/{slug}", response=OrganisationDetail)
def get_organisation(request: HttpRequest, slug: str) -> Any:
    return policy.get_organisation(request.auth, slug=slug)


@router.post("/applications", auth=None, response={201: ApplicationCreated})
def apply(request: HttpRequest, payload: ApplicationIn) -> Any:
    """Apply for membership (no account needed). A coordinator reviews it."""
    data = payload.dict()
    data["country"] = data["country"].upper()
    form = ApplicationForm(data)
    if not form.is_valid():
        raise _invalid(form)
    try:
        organisation = services.submit_application(**form.cleaned_data, request=request)
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(201, {"slug": organisation.slug, "status": organisation.status})


@router.post("/organisations/{slug}/verify", response=OrganisationDetail)
def verify(request: HttpRequest, slug: str, payload: VerifyIn | None = None) -> Any:
    """Admit a pending applicant (coordinators). Its contact is invited by e-mail."""
    organisation = policy.get_organisation(request.auth, slug=slug)
    try:
        services.verify_organisation(
            organisation,
            by=request.auth,
            note=payload.note.strip() if payload else "",
            request=request,
        )
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc
    return _with_refs(Organisation.objects.all()).get(pk=organisation.pk)


@router.post("/organisations/{slug}/reject", response=OrganisationDetail)
def reject(request: HttpRequest, slug: str, payload: RejectIn) -> Any:
    """Reject a pending applicant (coordinators); the reason is e-mailed to its contact."""
    organisation = policy.get_organisation(request.auth, slug=slug)
    if not policy.can_review_applications(request.auth):
        raise policy.PolicyDenied(_("Only coordinators decide on applications."))
    if not payload.reason.strip():
        raise HttpError(422, _("reason: Give the applicant a reason for the rejection."))
    try:
        services.reject_organisation(
            organisation, by=request.auth, reason=payload.reason.strip(), request=request
        )
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc
    return _with_refs(Organisation.objects.all()).get(pk=organisation.pk)


# --- People ---------------------------------------------------------------------------


@router.get("/organisations/{slug}/members", response=list[MemberOut])
@paginate(BoundedPagination)
def list_members(request: HttpRequest, slug: str) -> Any:
    """The people of an organisation: for its own members and coordinators."""
    organisation = policy.get_organisation(request.auth, slug=slug)
    if not (policy.is_coordinator(request.auth) or policy.is_member_of(request.auth, organisation)):
        raise policy.NotVisible()
    return organisation.memberships.select_related("user").order_by("user__username")


@router.patch("/organisations/{slug}/members/{username}", response=MemberOut)
def change_roles(request: HttpRequest, slug: str, username: str, payload: RolesPatch) -> Any:
    organisation = _managed_organisation(request, slug)
    membership = _membership(organisation, username)
    roles = {
        name: value if value is not None else getattr(membership, name)
        for name, value in payload.dict().items()
    }
    if not any(roles.values()):
        raise HttpError(422, _("A member needs at least one role; remove the person instead."))
    try:
        return services.set_roles(membership, **roles, by=request.auth, request=request)
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc


@router.delete("/organisations/{slug}/members/{username}", response={204: None})
def remove_member(request: HttpRequest, slug: str, username: str) -> Any:
    """Remove a person (admins), or leave the organisation yourself."""
    organisation = policy.get_organisation(request.auth, slug=slug)
    membership = _membership(organisation, username)
    try:
        services.remove_member(membership, by=request.auth, request=request)
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(204, None)


@router.get("/organisations/{slug}/invitations", response=list[InvitationOut])
@paginate(BoundedPagination)
def list_invitations(request: HttpRequest, slug: str) -> Any:
    organisation = _managed_organisation(request, slug)
    return organisation.invitations.select_related("invited_by")


@router.post("/organisations/{slug}/invitations", response={201: InvitationOut})
def invite(request: HttpRequest, slug: str, payload: InvitationIn) -> Any:
    """Invite a person by e-mail. The link goes to them only; it is never returned here."""
    organisation = _managed_organisation(request, slug)
    form = InviteForm(payload.dict())
    if not form.is_valid():
        raise _invalid(form)
    data = form.cleaned_data
    try:
        invitation, _secret = services.invite_person(
            organisation,
            email=data["email"],
            full_name=data["full_name"],
            is_representative=data["is_representative"],
            is_analyst=data["is_analyst"],
            is_org_admin=data["is_org_admin"],
            by=request.auth,
            request=request,
        )
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(201, invitation)


@router.delete("/organisations/{slug}/invitations/{invitation_id}", response={204: None})
def revoke_invitation(request: HttpRequest, slug: str, invitation_id: int) -> Any:
    organisation = _managed_organisation(request, slug)
    if not 1 <= invitation_id <= MAX_ID:
        raise policy.NotVisible()
    invitation = organisation.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise policy.NotVisible()
    try:
        services.revoke_invitation(invitation, by=request.auth, request=request)
    except services.MembershipError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(204, None)


# --- Reference lists -----------------------------------------------------------------


@router.get("/sectors", response=list[SectorOut])
def list_sectors(request: HttpRequest) -> Any:
    """The critical sectors (fixed codes shared by every installation)."""
    return Sector.objects.all()


@router.get("/tasks", response=list[TaskOut])
def list_tasks(request: HttpRequest) -> Any:
    """The security tasks and their primary responsible actors."""
    return Task.objects.all()


@router.get("/stakeholder-groups", response=list[StakeholderGroupOut])
def list_stakeholder_groups(request: HttpRequest) -> Any:
    return [{"code": code, "name": str(label)} for code, label in StakeholderGroup.choices]
