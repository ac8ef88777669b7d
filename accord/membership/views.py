"""Web pages for membership: applying, deciding, the directory and managing people.

Views stay thin: they parse a form, ask ``accord.policy``, call a service and
render. Anything a viewer may not see is a 404 (``policy.NotVisible``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accord import policy

from . import services
from .forms import (
    ApplicationForm,
    ApplicationQueueForm,
    DirectoryForm,
    InviteForm,
    JoinForm,
    ProfileForm,
    RejectForm,
    RolesForm,
    VerifyForm,
)
from .models import Invitation, Membership, Organisation

PAGE_SIZE = 25


# --- Applying -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_application(**form.cleaned_data, request=request)
        except services.MembershipError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("membership:applied")
    return render(request, "membership/apply.html", {"form": form})


def applied(request: HttpRequest) -> HttpResponse:
    return render(request, "membership/applied.html")


# --- Deciding on applications -----------------------------------------------------


def _require_reviewer(request: HttpRequest) -> None:
    if not policy.can_review_applications(request.user):
        raise policy.NotVisible()


@login_required
def applications(request: HttpRequest) -> HttpResponse:
    _require_reviewer(request)
    form = ApplicationQueueForm(request.GET or None)
    qs = policy.organisations_visible_to(request.user)
    if form.is_valid() and form.cleaned_data["status"]:
        qs = qs.filter(status=form.cleaned_data["status"])
    qs = qs.annotate(
        waiting=Case(
            When(status=Organisation.Status.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("waiting", "-applied_at")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "membership/applications.html", {"form": form, "page_obj": page})


@login_required
@require_http_methods(["GET", "POST"])
def application(request: HttpRequest, slug: str) -> HttpResponse:
    _require_reviewer(request)
    organisation = policy.get_organisation(request.user, slug=slug)
    verify_form, reject_form = VerifyForm(), RejectForm()
    action = request.POST.get("action")
    if request.method == "POST" and action == "verify":
        verify_form = VerifyForm(request.POST)
        if verify_form.is_valid():
            try:
                services.verify_organisation(
                    organisation,
                    by=request.user,
                    note=verify_form.cleaned_data["note"],
                    request=request,
                )
            except services.MembershipError as exc:
                verify_form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(org)s is now a verified member; its contact was sent an invitation.")
                    % {"org": organisation.name},
                )
                return redirect("membership:application", slug=organisation.slug)
    elif request.method == "POST" and action == "reject":
        reject_form = RejectForm(request.POST)
        if reject_form.is_valid():
            try:
                services.reject_organisation(
                    organisation,
                    by=request.user,
                    reason=reject_form.cleaned_data["reason"],
                    request=request,
                )
            except services.MembershipError as exc:
                reject_form.add_error("reason", str(exc))
            else:
                messages.success(
                    request,
                    _("The application of %(org)s was rejected; the contact was told why.")
                    % {"org": organisation.name},
                )
                return redirect("membership:application", slug=organisation.slug)
    context = {
        "organisation": organisation,
        "verify_form": verify_form,
        "reject_form": reject_form,
    }
    return render(request, "membership/application.html", context)


# --- The directory ------------------------------------------------------------------


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DirectoryForm(request.GET, coordinator=policy.is_coordinator(user))
    form.is_valid()  # invalid filters are shown as errors and ignored
    qs = form.filter(policy.organisations_visible_to(user)).prefetch_related("sectors")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "membership/directory.html", {"form": form, "page_obj": page})


def _groups_showing(user: Any, organisation: Organisation) -> list[Any]:
    """Working groups the organisation's people are active in, as far as this
    viewer may know: the group must be visible to them, and the organisation must
    appear in the group's roster as they see it (which hides confidential groups'
    members from ordinary members)."""
    candidates = (
        policy.groups_visible_to(user)
        .filter(memberships__organisation=organisation, memberships__state="active")
        .distinct()
    )
    return [
        group
        for group in candidates
        if policy.group_roster_visible_to(user, group)
        .filter(organisation=organisation, state="active")
        .exists()
    ]


@login_required
def organisation(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    org = policy.get_organisation(user, slug=slug)
    show_people = policy.is_coordinator(user) or policy.is_member_of(user, org)
    context = {
        "organisation": org,
        "groups": _groups_showing(user, org),
        "show_contact": policy.can_see_contact_details(user, org),
        "people": org.memberships.select_related("user").order_by("user__full_name")
        if show_people
        else None,
        "can_manage": policy.can_manage_people(user, org),
    }
    return render(request, "membership/organisation.html", context)


# --- Managing people -------------------------------------------------------------------


def _roles(data: dict[str, Any]) -> dict[str, bool]:
    return {k: bool(data.get(k)) for k in ("is_representative", "is_analyst", "is_org_admin")}


@login_required
@require_http_methods(["GET", "POST"])
def manage(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    org = policy.get_organisation(user, slug=slug)
    if not policy.can_manage_people(user, org):
        raise policy.NotVisible()

    members = list(org.memberships.select_related("user").order_by("user__username"))
    invite_form = InviteForm()
    # A fresh copy: validating a ModelForm writes into its instance.
    profile_form = ProfileForm(instance=Organisation.objects.get(pk=org.pk))
    bound_roles: tuple[int, RolesForm] | None = None
    action = request.POST.get("action", "")
    done: str | None = None

    if request.method == "POST":
        if action == "invite":
            invite_form = InviteForm(request.POST)
            if invite_form.is_valid():
                data = invite_form.cleaned_data
                try:
                    services.invite_person(
                        org,
                        email=data["email"],
                        full_name=data["full_name"],
                        **_roles(data),
                        by=user,
                        request=request,
                    )
                except services.MembershipError as exc:
                    invite_form.add_error(None, str(exc))
                else:
                    done = _("An invitation was sent to %(email)s.") % {"email": data["email"]}
        elif action == "roles":
            membership = _get_membership(org, request.POST.get("membership"))
            form = RolesForm(request.POST, prefix=f"m{membership.pk}")
            bound_roles = (membership.pk, form)
            if form.is_valid():
                try:
                    services.set_roles(
                        membership, **_roles(form.cleaned_data), by=user, request=request
                    )
                except services.MembershipError as exc:
                    form.add_error(None, str(exc))
                else:
                    done = _("The roles of %(name)s were saved.") % {
                        "name": membership.user.display_name
                    }
        elif action == "remove":
            membership = _get_membership(org, request.POST.get("membership"))
            try:
                services.remove_member(membership, by=user, request=request)
            except services.MembershipError as exc:
                messages.error(request, str(exc))
                return redirect("membership:manage", slug=org.slug)
            if membership.user_id == user.pk and not policy.can_manage_people(user, org):
                messages.success(request, _("You left %(org)s.") % {"org": org.name})
                return redirect("core:dashboard")
            done = _("%(name)s was removed.") % {"name": membership.user.display_name}
        elif action == "revoke":
            invitation = _get_invitation(org, request.POST.get("invitation"))
            try:
                services.revoke_invitation(invitation, by=user, request=request)
            except services.MembershipError as exc:
                messages.error(request, str(exc))
                return redirect("membership:manage", slug=org.slug)
            done = _("The invitation of %(email)s was revoked.") % {"email": invitation.email}
        elif action == "profile":
            profile_form = ProfileForm(request.POST, instance=Organisation.objects.get(pk=org.pk))
            if profile_form.is_valid():
                services.update_profile(org, by=user, request=request, **profile_form.cleaned_data)
                done = _("The directory entry was saved.")
        if done:
            messages.success(request, done)
            return redirect("membership:manage", slug=org.slug)

    rows = [
        (
            m,
            bound_roles[1]
            if bound_roles and bound_roles[0] == m.pk
            else RolesForm(
                prefix=f"m{m.pk}",
                initial={
                    "is_representative": m.is_representative,
                    "is_analyst": m.is_analyst,
                    "is_org_admin": m.is_org_admin,
                },
            ),
        )
        for m in members
    ]
    context = {
        "organisation": org,
        "rows": rows,
        "invitations": org.invitations.select_related("invited_by")[:100],
        "invite_form": invite_form,
        "profile_form": profile_form,
        "invitation_days": settings.ACCORD_INVITATION_DAYS,
    }
    return render(request, "membership/manage.html", context)


def _get_membership(org: Organisation, pk: Any) -> Membership:
    try:
        return org.memberships.select_related("user", "organisation").get(pk=int(pk))
    except (Membership.DoesNotExist, TypeError, ValueError) as exc:
        raise policy.NotVisible() from exc


def _get_invitation(org: Organisation, pk: Any) -> Invitation:
    try:
        return org.invitations.select_related("organisation").get(pk=int(pk))
    except (Invitation.DoesNotExist, TypeError, ValueError) as exc:
        raise policy.NotVisible() from exc


# --- Invitations ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, secret: str) -> HttpResponse:
    invite = services.find_open_invitation(secret)
    if invite is None:
        return render(request, "membership/invitation_invalid.html", status=404)
    signed_in = request.user.is_authenticated
    # Someone who has an account joins with it: the service will not create a second one.
    has_account = (
        not signed_in and get_user_model().objects.filter(email__iexact=invite.email).exists()
    )
    form = None
    if not (signed_in or has_account):
        form = JoinForm(
            request.POST or None, email=invite.email, initial={"full_name": invite.full_name}
        )
    error = ""
    if request.method == "POST" and (signed_in or (form is not None and form.is_valid())):
        try:
            if signed_in:
                services.accept_invitation(invite, user=request.user, request=request)
                messages.success(
                    request, _("You joined %(org)s.") % {"org": invite.organisation.name}
                )
                return redirect("membership:organisation", slug=invite.organisation.slug)
            assert form is not None
            data = form.cleaned_data
            result = services.accept_invitation(
                invite,
                username=data["username"],
                full_name=data["full_name"],
                password=data["password1"],
                request=request,
            )
        except services.MembershipError as exc:
            error = str(exc)
            if form is not None:
                form.add_error(None, error)
        else:
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome! You joined %(org)s.") % {"org": invite.organisation.name}
            )
            return redirect("core:dashboard")
    context = {
        "invitation": invite,
        "roles": _invitation_roles(invite),
        "form": form,
        "has_account": has_account,
        "error": error if signed_in else "",
        "login_url": f"{reverse('accounts:login')}?{urlencode({'next': request.path})}",
    }
    return render(request, "membership/invitation.html", context)


def _invitation_roles(invite: Invitation) -> list[str]:
    roles = []
    if invite.is_representative:
        roles.append(_("representative"))
    if invite.is_analyst:
        roles.append(_("analyst"))
    if invite.is_org_admin:
        roles.append(_("organisation admin"))
    return roles
