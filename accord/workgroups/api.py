"""JSON API for working groups (mounted under /api/v1/ by accord.api).

Same rules as the pages: the caller must be in good standing, groups come from
``policy.get_group`` and rosters from ``policy.group_roster_visible_to``.
A ``GroupError`` is 400 when the caller's input is wrong and 409 when the
group's state does not allow the change.
"""

from datetime import datetime
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accord import policy
from accord.core.pagination import BoundedPagination
from accord.membership.models import Organisation, Sector

from . import services
from .forms import acting_organisations, unusable_name_reason
from .models import GroupMembership, WorkingGroup
from .views import with_member_counts

router = Router(tags=["workgroups"])

Visibility = Literal["open", "invite-only", "confidential"]


class MemberOut(Schema):
    username: str = Field(..., alias="user.username")
    name: str = Field(..., alias="user.display_name")
    organisation: str = Field(..., alias="organisation.slug")
    state: str
    is_owner: bool
    joined_at: datetime


class GroupOut(Schema):
    slug: str
    name: str
    description: str
    visibility: str
    sector: str | None = Field(None, alias="sector.code")
    member_count: int
    my_state: str | None = None
    created_at: datetime


class GroupDetailOut(GroupOut):
    members: list[MemberOut]


class GroupFilter(Schema):
    q: str | None = Field(None, max_length=100)
    visibility: Visibility | None = None
    sector: str | None = Field(None, max_length=40, description="sector code")


class GroupIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=4000)
    visibility: Visibility = "open"
    sector: str | None = Field(None, max_length=40, description="sector code")
    organisation: str | None = Field(
        None, max_length=80, description="slug of the organisation you act for"
    )


class GroupPatch(Schema):
    description: str | None = Field(None, max_length=4000)
    visibility: Visibility | None = None
    sector: str | None = Field(None, max_length=40, description="sector code; empty string clears")


class JoinIn(Schema):
    organisation: str | None = Field(None, max_length=80)


class InviteIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    organisation: str = Field(..., min_length=1, max_length=80)


class MemberPatch(Schema):
    approve: bool | None = None
    is_owner: bool | None = None


def _sector(code: str | None) -> Sector | None:
    if not code:
        return None
    sector = Sector.objects.filter(code=code).first()
    if sector is None:
        raise HttpError(400, _("Unknown sector."))
    return sector


def _own_organisation(request: HttpRequest, slug: str | None) -> Organisation:
    """The organisation the caller acts for: the one named, or their first, in good standing."""
    candidates = acting_organisations(request.user)
    organisation = (candidates.filter(slug=slug) if slug else candidates).first()
    if organisation is None:
        raise HttpError(
            400, _("You can only act for one of your organisations that is in good standing.")
        )
    return organisation


def _group(request: HttpRequest, slug: str) -> WorkingGroup:
    policy.require_restricted(request.user)
    return policy.get_group(request.user, slug=slug)


def _detail(request: HttpRequest, group: WorkingGroup) -> WorkingGroup:
    """The group with its counts and the roster exactly as the policy lets the caller see it."""
    counted = with_member_counts(
        WorkingGroup.objects.filter(pk=group.pk).select_related("sector"), request.user
    ).get()
    counted.members = list(policy.group_roster_visible_to(request.user, group))
    return counted


def _member(request: HttpRequest, group: WorkingGroup, username: str) -> GroupMembership:
    membership = (
        policy.group_roster_visible_to(request.user, group).filter(user__username=username).first()
    )
    if membership is None:
        raise policy.NotVisible()
    return membership


@router.get("/groups", response=list[GroupOut])
@paginate(BoundedPagination)
def list_groups(request: HttpRequest, filters: Query[GroupFilter]) -> Any:
    policy.require_restricted(request.user)
    qs = with_member_counts(policy.groups_visible_to(request.user), request.user)
    if filters.q:
        qs = qs.filter(Q(name__icontains=filters.q) | Q(description__icontains=filters.q))
    if filters.visibility:
        qs = qs.filter(visibility=filters.visibility)
    if filters.sector:
        qs = qs.filter(sector__code=filters.sector)
    return qs.select_related("sector").order_by("name")


@router.post("/groups", response={201: GroupDetailOut})
def create_group(request: HttpRequest, payload: GroupIn) -> Status:
    policy.require_restricted(request.user)
    organisation = _own_organisation(request, payload.organisation)
    if problem := unusable_name_reason(payload.name):
        raise HttpError(400, problem)
    try:
        group = services.create_group(
            name=payload.name.strip(),
            description=payload.description,
            visibility=payload.visibility,
            sector=_sector(payload.sector),
            organisation=organisation,
            by=request.user,
            request=request,
        )
    except services.GroupError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(201, _detail(request, group))


@router.get("/groups/{slug}", response=GroupDetailOut)
def get_group(request: HttpRequest, slug: str) -> Any:
    return _detail(request, _group(request, slug))


@router.patch("/groups/{slug}", response=GroupDetailOut)
def update_group(request: HttpRequest, slug: str, payload: GroupPatch) -> Any:
    group = _group(request, slug)
    fields: dict[str, Any] = {}
    if payload.description is not None:
        fields["description"] = payload.description
    if payload.visibility is not None:
        fields["visibility"] = payload.visibility
    if payload.sector is not None:
        fields["sector"] = _sector(payload.sector)
    services.update_group(group, by=request.user, request=request, **fields)
    return _detail(request, group)


@router.post("/groups/{slug}/join", response=MemberOut)
def join_group(request: HttpRequest, slug: str, payload: JoinIn | None = None) -> Any:
    group = _group(request, slug)
    organisation = _own_organisation(request, payload.organisation if payload else None)
    try:
        return services.join_group(
            group, by=request.user, organisation=organisation, request=request
        )
    except services.GroupError as exc:
        raise HttpError(409, str(exc)) from exc


@router.post("/groups/{slug}/leave", response={204: None})
def leave_group(request: HttpRequest, slug: str) -> Status:
    group = _group(request, slug)
    try:
        services.leave_group(group, by=request.user, request=request)
    except services.GroupError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(204, None)


@router.post("/groups/{slug}/members", response={201: MemberOut})
def invite_member(request: HttpRequest, slug: str, payload: InviteIn) -> Status:
    group = _group(request, slug)
    if not policy.can_manage_group(request.user, group):
        raise policy.NotVisible()
    organisation = policy.organisations_in_good_standing().filter(slug=payload.organisation).first()
    person = get_user_model().objects.filter(username=payload.username, is_active=True).first()
    if (
        organisation is None
        or person is None
        or not policy.active_memberships(person).filter(organisation=organisation).exists()
    ):
        raise HttpError(
            400,
            _("That person is not a member of that organisation, or it is not in good standing."),
        )
    try:
        membership = services.invite_to_group(
            group, user=person, organisation=organisation, by=request.user, request=request
        )
    except services.GroupError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(201, membership)


@router.patch("/groups/{slug}/members/{username}", response=MemberOut)
def update_member(request: HttpRequest, slug: str, username: str, payload: MemberPatch) -> Any:
    group = _group(request, slug)
    membership = _member(request, group, username)
    if payload.approve is None and payload.is_owner is None:
        raise HttpError(400, _("Send approve, is_owner or both."))
    try:
        if payload.approve:
            membership = services.approve_request(membership, by=request.user, request=request)
        if payload.is_owner is not None:
            membership = services.set_owner(
                membership, is_owner=payload.is_owner, by=request.user, request=request
            )
    except services.GroupError as exc:
        raise HttpError(409, str(exc)) from exc
    return membership


@router.delete("/groups/{slug}/members/{username}", response={204: None})
def remove_member(request: HttpRequest, slug: str, username: str) -> Status:
    group = _group(request, slug)
    membership = _member(request, group, username)
    try:
        services.remove_from_group(membership, by=request.user, request=request)
    except services.GroupError as exc:
        raise HttpError(409, str(exc)) from exc
    return Status(204, None)
