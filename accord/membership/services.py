"""Admission and people: every change to membership goes through these functions.

Each runs in one transaction together with its audit entry and the e-mail it
queues, so it happens whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record
from accord.core.notifications import send_templated_email

from .models import Invitation, Membership, Organisation, Sector, Task, hash_secret


class MembershipError(Exception):
    """A request that cannot be carried out; the message says why."""


def unique_slug(name: str, model: Any = Organisation) -> str:
    base = slugify(name)[:70] or "org"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def submit_application(
    *,
    name: str,
    country: str,
    stakeholder_group: str,
    sectors: list[Sector],
    tasks: list[Task],
    contact_name: str,
    contact_email: str,
    contact_phone: str = "",
    website: str = "",
    description: str = "",
    request: Any = None,
) -> Organisation:
    if Organisation.objects.filter(name__iexact=name, country=country).exists():
        raise MembershipError(_("An organisation with this name in this country already exists."))
    organisation = Organisation.objects.create(
        name=name,
        slug=unique_slug(name),
        country=country,
        stakeholder_group=stakeholder_group,
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        website=website,
        description=description,
    )
    organisation.sectors.set(sectors)
    organisation.tasks.set(tasks)
    record(
        "organisation.applied",
        f"{name} applied for membership",
        actor=contact_email,
        organisation=organisation,
        target=organisation,
        request=request,
    )
    send_templated_email(
        [contact_email], "membership/email/application_received", {"organisation": organisation}
    )
    coordinators = get_user_model().objects.filter(is_coordinator=True, is_active=True)
    send_templated_email(
        [c.email for c in coordinators],
        "membership/email/application_to_review",
        {"organisation": organisation},
    )
    return organisation


@transaction.atomic
def verify_organisation(
    organisation: Organisation, *, by: Any, note: str = "", request: Any = None
) -> Invitation:
    """Admit an applicant and invite its contact as representative and admin."""
    if not policy.can_review_applications(by):
        raise policy.PolicyDenied(_("Only coordinators decide on applications."))
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.status != Organisation.Status.PENDING:
        raise MembershipError(_("This application has already been decided."))
    organisation.status = Organisation.Status.VERIFIED
    organisation.decided_at = timezone.now()
    organisation.decided_by = by
    organisation.verification_note = note
    organisation.save()
    record(
        "organisation.verified",
        f"{organisation.name} was verified and admitted",
        actor=by,
        organisation=organisation,
        target=organisation,
        data={"note": note},
        request=request,
    )
    invitation, _secret = invite_person(
        organisation,
        email=organisation.contact_email,
        full_name=organisation.contact_name,
        is_representative=True,
        is_analyst=False,
        is_org_admin=True,
        by=by,
        request=request,
        template="membership/email/admitted",
    )
    return invitation


@transaction.atomic
def reject_organisation(
    organisation: Organisation, *, by: Any, reason: str, request: Any = None
) -> Organisation:
    if not policy.can_review_applications(by):
        raise policy.PolicyDenied(_("Only coordinators decide on applications."))
    if not reason.strip():
        raise MembershipError(_("Give the applicant a reason for the rejection."))
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.status != Organisation.Status.PENDING:
        raise MembershipError(_("This application has already been decided."))
    organisation.status = Organisation.Status.REJECTED
    organisation.decided_at = timezone.now()
    organisation.decided_by = by
    organisation.decision_reason = reason
    organisation.save()
    record(
        "organisation.rejected",
        f"The application of {organisation.name} was rejected",
        actor=by,
        organisation=organisation,
        target=organisation,
        data={"reason": reason},
        request=request,
    )
    send_templated_email(
        [organisation.contact_email],
        "membership/email/rejected",
        {"organisation": organisation, "reason": reason},
    )
    return organisation


def invitation_url(secret: str) -> str:
    return settings.SITE_URL + reverse("membership:invitation", args=[secret])


@transaction.atomic
def invite_person(
    organisation: Organisation,
    *,
    email: str,
    full_name: str = "",
    is_representative: bool = False,
    is_analyst: bool = True,
    is_org_admin: bool = False,
    by: Any,
    request: Any = None,
    template: str = "membership/email/invitation",
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link. Returns it with the one-time secret."""
    if not policy.can_manage_people(by, organisation):
        raise policy.PolicyDenied(_("Only the organisation's admins can invite people."))
    if not organisation.is_verified:
        raise MembershipError(_("Only verified organisations can invite people."))
    if not (is_representative or is_analyst or is_org_admin):
        raise MembershipError(_("Give the person at least one role."))
    email = email.strip().lower()
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise MembershipError(_("This person is already a member of the organisation."))
    if organisation.invitations.open().filter(email__iexact=email).exists():
        raise MembershipError(_("This person already has an open invitation."))
    # A stale (expired) invitation would block the unique constraint: close it.
    organisation.invitations.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    secret = Invitation.new_secret()
    invitation = Invitation.objects.create(
        organisation=organisation,
        email=email,
        full_name=full_name,
        is_representative=is_representative,
        is_analyst=is_analyst,
        is_org_admin=is_org_admin,
        secret_hash=hash_secret(secret),
        invited_by=by,
        expires_at=timezone.now() + dt.timedelta(days=settings.ACCORD_INVITATION_DAYS),
    )
    record(
        "invitation.created",
        f"{email} was invited to {organisation.name}",
        actor=by,
        organisation=organisation,
        target=invitation,
        data={"roles": _roles_of(invitation)},
        request=request,
    )
    send_templated_email(
        [email],
        template,
        {"organisation": organisation, "invitation": invitation, "url": invitation_url(secret)},
    )
    return invitation, secret


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, by: Any, request: Any = None) -> None:
    if not policy.can_manage_people(by, invitation.organisation):
        raise policy.NotVisible()
    if not invitation.is_open:
        raise MembershipError(_("This invitation is no longer open."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record(
        "invitation.revoked",
        f"The invitation of {invitation.email} was revoked",
        actor=by,
        organisation=invitation.organisation,
        target=invitation,
        request=request,
    )


def find_open_invitation(secret: str) -> Invitation | None:
    return (
        Invitation.objects.open()
        .select_related("organisation")
        .filter(secret_hash=hash_secret(secret))
        .first()
    )


@dataclass
class AcceptedInvitation:
    user: Any
    membership: Membership
    created_account: bool


@transaction.atomic
def accept_invitation(
    invitation: Invitation,
    *,
    user: Any = None,
    username: str = "",
    full_name: str = "",
    password: str = "",
    request: Any = None,
) -> AcceptedInvitation:
    """Join the organisation: either as the signed-in ``user`` or by creating an
    account (``username`` + ``password``, already validated by the caller)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_open:
        raise MembershipError(_("This invitation has expired or was already used."))
    User = get_user_model()
    created = False
    if user is None or not user.is_authenticated:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise MembershipError(
                _("An account with this e-mail address exists: sign in first, then open the link.")
            )
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=username,
                    email=invitation.email,
                    password=password,
                    full_name=full_name or invitation.full_name,
                )
        except IntegrityError as exc:
            raise MembershipError(_("This username is taken.")) from exc
        created = True
    elif user.email.lower() != invitation.email.lower():
        raise MembershipError(_("This invitation was sent to another e-mail address."))
    membership, _created = Membership.objects.get_or_create(
        user=user, organisation=invitation.organisation
    )
    membership.is_representative |= invitation.is_representative
    membership.is_analyst |= invitation.is_analyst
    membership.is_org_admin |= invitation.is_org_admin
    membership.save()
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    record(
        "invitation.accepted",
        f"{user.get_username()} joined {invitation.organisation.name}",
        actor=user,
        organisation=invitation.organisation,
        target=membership,
        data={"roles": _roles_of(membership), "new_account": created},
        request=request,
    )
    return AcceptedInvitation(user, membership, created)


def _roles_of(obj: Any) -> list[str]:
    return [
        role
        for role, held in (
            ("representative", obj.is_representative),
            ("analyst", obj.is_analyst),
            ("org-admin", obj.is_org_admin),
        )
        if held
    ]


@transaction.atomic
def set_roles(
    membership: Membership,
    *,
    is_representative: bool,
    is_analyst: bool,
    is_org_admin: bool,
    by: Any,
    request: Any = None,
) -> Membership:
    organisation = membership.organisation
    if not policy.can_manage_people(by, organisation):
        raise policy.NotVisible()
    if not (is_representative or is_analyst or is_org_admin):
        raise MembershipError(_("A member needs at least one role; remove the person instead."))
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    before = _roles_of(membership)
    # Checked before the change: the check looks at whether the person *was* an admin.
    _ensure_an_admin_remains(organisation, membership, is_org_admin)
    membership.is_representative = is_representative
    membership.is_analyst = is_analyst
    membership.is_org_admin = is_org_admin
    membership.save()
    after = _roles_of(membership)
    if before != after:
        record(
            "membership.roles_changed",
            f"Roles of {membership.user.get_username()} in {organisation.name}: {', '.join(after)}",
            actor=by,
            organisation=organisation,
            target=membership,
            data={"before": before, "after": after},
            request=request,
        )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, by: Any, request: Any = None) -> None:
    organisation = membership.organisation
    if not (policy.can_manage_people(by, organisation) or membership.user_id == by.pk):
        raise policy.NotVisible()
    _ensure_an_admin_remains(organisation, membership, False)
    username = membership.user.get_username()
    record(
        "membership.removed",
        f"{username} left {organisation.name}",
        actor=by,
        organisation=organisation,
        target=membership,
        data={"roles": _roles_of(membership)},
        request=request,
    )
    membership.delete()


def _ensure_an_admin_remains(
    organisation: Organisation, membership: Membership, keeps: bool
) -> None:
    if keeps or not membership.is_org_admin:
        return
    others = organisation.memberships.filter(is_org_admin=True).exclude(pk=membership.pk)
    if not others.exists():
        raise MembershipError(_("An organisation must keep at least one organisation admin."))


@transaction.atomic
def update_profile(
    organisation: Organisation, *, by: Any, request: Any = None, **fields: Any
) -> Organisation:
    """Change an organisation's directory entry (not its status)."""
    if not policy.can_manage_people(by, organisation):
        raise policy.NotVisible()
    sectors = fields.pop("sectors", None)
    tasks = fields.pop("tasks", None)
    allowed = {"description", "website", "contact_name", "contact_email", "contact_phone"}
    unknown = set(fields) - allowed
    if unknown:
        raise MembershipError(
            _("These fields cannot be changed here: %s") % ", ".join(sorted(unknown))
        )
    for name, value in fields.items():
        setattr(organisation, name, value)
    organisation.save()
    if sectors is not None:
        organisation.sectors.set(sectors)
    if tasks is not None:
        organisation.tasks.set(tasks)
    record(
        "organisation.updated",
        f"The directory entry of {organisation.name} was updated",
        actor=by,
        organisation=organisation,
        target=organisation,
        data={
            "fields": sorted(
                [
                    *fields,
                    *(["sectors"] if sectors is not None else []),
                    *(["tasks"] if tasks is not None else []),
                ]
            )
        },
        request=request,
    )
    return organisation
