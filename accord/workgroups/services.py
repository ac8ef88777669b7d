"""Working groups: creating, joining, leaving and managing them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record
from accord.membership.models import Organisation
from accord.membership.services import unique_slug

from .models import GroupMembership, WorkingGroup

State = GroupMembership.State


class GroupError(Exception):
    """A request about a group that cannot be carried out; the message says why."""


def _acting_organisation(user: Any, organisation: Organisation | None) -> Organisation:
    memberships = policy.active_memberships(user)
    if organisation is None:
        first = memberships.first()
        if first is None:
            raise GroupError(_("You need to belong to a verified member organisation."))
        return first.organisation
    if not memberships.filter(organisation=organisation).exists():
        raise GroupError(_("You can only act for an organisation you belong to."))
    return organisation


@transaction.atomic
def create_group(
    *,
    name: str,
    description: str,
    visibility: str,
    by: Any,
    organisation: Organisation | None = None,
    sector: Any = None,
    request: Any = None,
) -> WorkingGroup:
    policy.require_restricted(by)
    organisation = _acting_organisation(by, organisation)
    if WorkingGroup.objects.filter(name__iexact=name).exists():
        raise GroupError(_("A working group with this name already exists."))
    group = WorkingGroup.objects.create(
        name=name,
        slug=unique_slug(name, WorkingGroup),
        description=description,
        visibility=visibility,
        sector=sector,
        created_by=by,
    )
    GroupMembership.objects.create(
        group=group, user=by, organisation=organisation, state=State.ACTIVE, is_owner=True
    )
    _audit("group.created", f"Working group {name} was created", by, organisation, group, request)
    return group


def _audit(
    action: str, summary: str, by: Any, organisation: Any, target: Any, request: Any, **data: Any
) -> None:
    # Entries about a confidential group never name its members to other organisations:
    # they are filed under the member's own organisation only.
    record(
        action,
        summary,
        actor=by,
        organisation=organisation,
        target=target,
        data=data,
        request=request,
    )


@transaction.atomic
def join_group(
    group: WorkingGroup, *, by: Any, organisation: Organisation | None = None, request: Any = None
) -> GroupMembership:
    """Join an open group, accept an invitation, or ask to join an invite-only one."""
    policy.require_restricted(by)
    organisation = _acting_organisation(by, organisation)
    existing = group.memberships.filter(user=by).first()
    if existing and existing.state == State.ACTIVE:
        raise GroupError(_("You are already a member of this group."))
    if existing and existing.state == State.INVITED:
        existing.state = State.ACTIVE
        existing.organisation = organisation
        existing.save()
        _audit(
            "group.joined",
            f"{by.get_username()} joined {group.name}",
            by,
            organisation,
            group,
            request,
        )
        return existing
    if existing and existing.state == State.REQUESTED:
        raise GroupError(_("Your request to join is waiting for the group's owners."))
    if group.visibility == WorkingGroup.Visibility.OPEN:
        membership = GroupMembership.objects.create(
            group=group, user=by, organisation=organisation, state=State.ACTIVE
        )
        _audit(
            "group.joined",
            f"{by.get_username()} joined {group.name}",
            by,
            organisation,
            group,
            request,
        )
        return membership
    if group.is_confidential:
        # Confidential groups admit by invitation only: a request to join would
        # itself reveal who is interested.
        raise GroupError(_("This group admits members by invitation only."))
    membership = GroupMembership.objects.create(
        group=group, user=by, organisation=organisation, state=State.REQUESTED
    )
    _audit(
        "group.requested",
        f"{by.get_username()} asked to join {group.name}",
        by,
        organisation,
        group,
        request,
    )
    return membership


@transaction.atomic
def leave_group(group: WorkingGroup, *, by: Any, request: Any = None) -> None:
    membership = group.memberships.filter(user=by).first()
    if membership is None:
        raise GroupError(_("You are not in this group."))
    _ensure_an_owner_remains(group, membership)
    organisation = membership.organisation
    membership.delete()
    _audit("group.left", f"{by.get_username()} left {group.name}", by, organisation, group, request)


@transaction.atomic
def invite_to_group(
    group: WorkingGroup, *, user: Any, organisation: Organisation, by: Any, request: Any = None
) -> GroupMembership:
    if not policy.can_manage_group(by, group):
        raise policy.NotVisible()
    if not policy.active_memberships(user).filter(organisation=organisation).exists():
        raise GroupError(_("That person is not a member of that organisation."))
    if group.memberships.filter(user=user).exists():
        raise GroupError(_("That person is already in the group or invited."))
    membership = GroupMembership.objects.create(
        group=group, user=user, organisation=organisation, state=State.INVITED
    )
    _audit(
        "group.invited",
        f"{user.get_username()} was invited to {group.name}",
        by,
        organisation,
        group,
        request,
    )
    return membership


@transaction.atomic
def approve_request(
    membership: GroupMembership, *, by: Any, request: Any = None
) -> GroupMembership:
    if not policy.can_manage_group(by, membership.group):
        raise policy.NotVisible()
    if membership.state != State.REQUESTED:
        raise GroupError(_("There is no pending request to approve."))
    membership.state = State.ACTIVE
    membership.save(update_fields=["state"])
    _audit(
        "group.approved",
        f"{membership.user.get_username()} was admitted to {membership.group.name}",
        by,
        membership.organisation,
        membership.group,
        request,
    )
    return membership


@transaction.atomic
def remove_from_group(membership: GroupMembership, *, by: Any, request: Any = None) -> None:
    if not policy.can_manage_group(by, membership.group):
        raise policy.NotVisible()
    _ensure_an_owner_remains(membership.group, membership)
    group, organisation = membership.group, membership.organisation
    username = membership.user.get_username()
    membership.delete()
    _audit(
        "group.removed",
        f"{username} was removed from {group.name}",
        by,
        organisation,
        group,
        request,
    )


@transaction.atomic
def set_owner(
    membership: GroupMembership, *, is_owner: bool, by: Any, request: Any = None
) -> GroupMembership:
    if not policy.can_manage_group(by, membership.group):
        raise policy.NotVisible()
    if membership.state != State.ACTIVE:
        raise GroupError(_("Only active members can be owners."))
    if not is_owner:
        _ensure_an_owner_remains(membership.group, membership)
    membership.is_owner = is_owner
    membership.save(update_fields=["is_owner"])
    _audit(
        "group.owner_changed",
        f"{membership.user.get_username()} is {'now' if is_owner else 'no longer'} "
        f"an owner of {membership.group.name}",
        by,
        membership.organisation,
        membership.group,
        request,
    )
    return membership


@transaction.atomic
def update_group(
    group: WorkingGroup, *, by: Any, request: Any = None, **fields: Any
) -> WorkingGroup:
    if not policy.can_manage_group(by, group):
        raise policy.NotVisible()
    for name in ("description", "visibility", "sector"):
        if name in fields:
            setattr(group, name, fields[name])
    group.save()
    _audit("group.updated", f"Working group {group.name} was updated", by, None, group, request)
    return group


def _ensure_an_owner_remains(group: WorkingGroup, membership: GroupMembership) -> None:
    if not membership.is_owner:
        return
    others = group.memberships.filter(is_owner=True, state=State.ACTIVE).exclude(pk=membership.pk)
    if not others.exists():
        raise GroupError(_("A group needs at least one owner: make someone else an owner first."))
