"""Web pages for working groups.

Every page first asks the policy whether the viewer is in good standing
(``require_restricted`` → the 403 page with the reason) and then fetches the
group through ``policy.get_group`` (invisible → 404). Changes go through the
services, which check who may manage the group.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accord import policy

from . import services
from .forms import (
    GroupCreateForm,
    GroupFilterForm,
    GroupSettingsForm,
    InviteForm,
    JoinForm,
    OwnerForm,
    acting_organisations,
)
from .models import GroupMembership, WorkingGroup

State = GroupMembership.State


def with_member_counts(qs: QuerySet[WorkingGroup], user: Any) -> QuerySet[WorkingGroup]:
    """Active member counts and the viewer's own state, as subqueries: the visibility
    filter joins memberships, so a plain Count() would count only the viewer's row."""
    active = (
        GroupMembership.objects.filter(group=OuterRef("pk"), state=State.ACTIVE)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    mine = GroupMembership.objects.filter(group=OuterRef("pk"), user=user).values("state")[:1]
    return qs.annotate(
        member_count=Coalesce(Subquery(active, output_field=IntegerField()), Value(0)),
        my_state=Subquery(mine),
    )


@login_required
def group_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    # People not in good standing get an empty list; the banner tells them why.
    groups = with_member_counts(policy.groups_visible_to(user), user).select_related("sector")
    filters = GroupFilterForm(request.GET or None)
    if filters.is_valid():
        data = filters.cleaned_data
        if data["q"]:
            q = data["q"]
            groups = groups.filter(Q(name__icontains=q) | Q(description__icontains=q))
        if data["visibility"]:
            groups = groups.filter(visibility=data["visibility"])
        if data["sector"]:
            groups = groups.filter(sector=data["sector"])
    page = Paginator(groups.order_by("name"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "query": query.urlencode(),
        "can_create": policy.can_read_restricted(user) and acting_organisations(user).exists(),
    }
    return render(request, "workgroups/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require_restricted(user)
    form = GroupCreateForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            group = services.create_group(
                name=data["name"],
                description=data["description"],
                visibility=data["visibility"],
                sector=data["sector"],
                organisation=data["organisation"],
                by=user,
                request=request,
            )
        except services.GroupError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("The working group %(name)s was created.") % {"name": group.name}
            )
            return redirect("workgroups:detail", slug=group.slug)
    status = 400 if request.method == "POST" else 200
    has_organisation = acting_organisations(user).exists()
    return render(
        request,
        "workgroups/create.html",
        {"form": form, "has_organisation": has_organisation},
        status=status,
    )


def _group(request: HttpRequest, slug: str) -> WorkingGroup:
    policy.require_restricted(request.user)
    return policy.get_group(request.user, slug=slug)


def _render_detail(
    request: HttpRequest,
    group: WorkingGroup,
    *,
    invite_form: InviteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    roster = list(policy.group_roster_visible_to(user, group))
    mine = group.memberships.filter(user=user).first()
    can_manage = policy.can_manage_group(user, group)
    sees_everyone = policy.is_group_owner(user, group) or policy.is_coordinator(user)
    context = {
        "group": group,
        "mine": mine,
        "members": [m for m in roster if m.state == State.ACTIVE],
        "pending": [m for m in roster if m.state == State.REQUESTED] if can_manage else [],
        "invited": [m for m in roster if m.state == State.INVITED] if can_manage else [],
        "member_count": group.memberships.filter(state=State.ACTIVE).count(),
        "roster_is_partial": group.is_confidential and not sees_everyone,
        "can_manage": can_manage,
        "can_join": mine is None
        and policy.can_join_group(user, group)
        and not group.is_confidential,
        "join_form": JoinForm(user=user) if mine is None or mine.state == State.INVITED else None,
        "invite_form": invite_form or (InviteForm(group=group) if can_manage else None),
        "visibility": WorkingGroup.Visibility,
        "states": State,
    }
    return render(request, "workgroups/detail.html", context, status=status)


@login_required
def detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_detail(request, _group(request, slug))


def _back(group: WorkingGroup) -> HttpResponse:
    return redirect("workgroups:detail", slug=group.slug)


@login_required
@require_POST
def join(request: HttpRequest, slug: str) -> HttpResponse:
    group = _group(request, slug)
    form = JoinForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, _("Choose one of your organisations in good standing."))
        return _back(group)
    try:
        membership = services.join_group(
            group, by=request.user, organisation=form.cleaned_data["organisation"], request=request
        )
    except services.GroupError as exc:
        messages.error(request, str(exc))
    else:
        if membership.state == State.REQUESTED:
            messages.success(request, _("Your request to join was sent to the group's owners."))
        else:
            messages.success(request, _("You joined %(name)s.") % {"name": group.name})
    return _back(group)


@login_required
@require_POST
def leave(request: HttpRequest, slug: str) -> HttpResponse:
    group = _group(request, slug)
    try:
        services.leave_group(group, by=request.user, request=request)
    except services.GroupError as exc:
        messages.error(request, str(exc))
        return _back(group)
    messages.success(request, _("You are no longer in %(name)s.") % {"name": group.name})
    # A confidential group disappears for someone who left it.
    if policy.groups_visible_to(request.user).filter(pk=group.pk).exists():
        return _back(group)
    return redirect("workgroups:list")


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    group = _group(request, slug)
    if not policy.can_manage_group(request.user, group):
        raise policy.NotVisible()
    form = InviteForm(request.POST, group=group)
    if form.is_valid():
        chosen = form.cleaned_data["membership"]
        try:
            services.invite_to_group(
                group,
                user=chosen.user,
                organisation=chosen.organisation,
                by=request.user,
                request=request,
            )
        except services.GroupError as exc:
            form.add_error("membership", str(exc))
        else:
            messages.success(
                request, _("%(person)s was invited.") % {"person": chosen.user.display_name}
            )
            return _back(group)
    return _render_detail(request, group, invite_form=form, status=400)


def _membership(request: HttpRequest, group: WorkingGroup, pk: int) -> GroupMembership:
    """A membership the viewer can see in the roster; anything else does not exist."""
    membership = policy.group_roster_visible_to(request.user, group).filter(pk=pk).first()
    if membership is None:
        raise policy.NotVisible()
    return membership


@login_required
@require_POST
def approve(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = _group(request, slug)
    membership = _membership(request, group, pk)
    try:
        services.approve_request(membership, by=request.user, request=request)
    except services.GroupError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("%(person)s was admitted.") % {"person": membership.user.display_name}
        )
    return _back(group)


@login_required
@require_POST
def remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = _group(request, slug)
    membership = _membership(request, group, pk)
    try:
        services.remove_from_group(membership, by=request.user, request=request)
    except services.GroupError as exc:
        messages.error(request, str(exc))
    else:
        name = membership.user.display_name
        messages.success(request, _("%(person)s is no longer in the group.") % {"person": name})
    if policy.groups_visible_to(request.user).filter(pk=group.pk).exists():
        return _back(group)
    return redirect("workgroups:list")


@login_required
@require_POST
def owner(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    group = _group(request, slug)
    membership = _membership(request, group, pk)
    form = OwnerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say whether the person should be an owner."))
        return _back(group)
    try:
        services.set_owner(
            membership, is_owner=form.cleaned_data["is_owner"], by=request.user, request=request
        )
    except services.GroupError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The group's owners were updated."))
    return _back(group)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    group = _group(request, slug)
    if not policy.can_manage_group(request.user, group):
        raise policy.NotVisible()
    initial = {
        "description": group.description,
        "visibility": group.visibility,
        "sector": group.sector,
    }
    form = GroupSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.update_group(group, by=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("The group's settings were saved."))
        return _back(group)
    status = 400 if request.method == "POST" else 200
    return render(request, "workgroups/edit.html", {"group": group, "form": form}, status=status)
