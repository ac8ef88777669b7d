"""The access policy, tested directly: standing, directory, groups, audit scope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from accord import policy
from accord.audit.services import record
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db


def fresh(user: Any) -> Any:
    """The policy caches standing per request on the user object; tests reload it."""
    return type(user).objects.get(pk=user.pk)


def test_anonymous_has_no_standing() -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not policy.can_read_restricted(AnonymousUser())
    assert policy.organisations_visible_to(AnonymousUser()).count() == 0


def test_member_of_accepting_org_is_in_good_standing(analyst: Any) -> None:
    assert policy.can_read_restricted(analyst)


def test_new_rule_version_requires_reacceptance(analyst: Any, member_org: Any) -> None:
    f.publish_rules("# Charter v2")
    state = policy.standing(fresh(analyst))
    assert not state.good
    assert member_org.name in state.reason
    assert len(policy.outstanding_rules(member_org)) == 3
    f.accept_rules(member_org)
    assert policy.can_read_restricted(fresh(analyst))


def test_member_of_unverified_org_has_no_standing(rules: Any) -> None:
    org = f.make_organisation(status="pending")
    f.accept_rules(org)
    user = f.make_user()
    f.add_member(user, org)
    assert not policy.can_read_restricted(user)
    assert "verified" in policy.standing(user).reason


def test_one_good_org_is_enough_for_a_person_in_two(analyst: Any, rules: Any) -> None:
    laggard = f.make_organisation("Laggard")
    f.add_member(analyst, laggard)
    state = policy.standing(fresh(analyst))
    assert state.good
    assert [o.name for o in state.organisations_to_accept] == ["Laggard"]


def test_coordinator_needs_no_acceptance(coordinator: Any, rules: Any) -> None:
    assert policy.can_read_restricted(coordinator)


def test_directory_scope(analyst: Any, member_org: Any, rules: Any) -> None:
    other = f.make_organisation("Other Verified")
    pending = f.make_organisation("Applicant", status="pending")
    visible = set(policy.organisations_visible_to(analyst))
    assert {member_org, other} <= visible
    assert pending not in visible

    blocked = f.make_user()
    laggard = f.make_organisation("Laggard")
    f.add_member(blocked, laggard)
    assert set(policy.organisations_visible_to(blocked)) == {laggard}
    assert not policy.can_see_contact_details(blocked, other)
    assert policy.can_see_contact_details(blocked, laggard)


def test_confidential_group_roster(analyst: Any, member_org: Any, coordinator: Any) -> None:
    group = WorkingGroup.objects.create(name="Quiet", slug="quiet", visibility="confidential")
    owner = f.make_user()
    f.add_member(owner, member_org)
    GroupMembership.objects.create(group=group, user=owner, organisation=member_org, is_owner=True)
    GroupMembership.objects.create(group=group, user=analyst, organisation=member_org)
    outsider = f.make_user()
    f.add_member(outsider, member_org)

    assert group not in policy.groups_visible_to(outsider)
    with pytest.raises(policy.NotVisible):
        policy.get_group(outsider, slug="quiet")
    assert [m.user for m in policy.group_roster_visible_to(analyst, group)] == [analyst]
    assert policy.group_roster_visible_to(owner, group).count() == 2
    assert policy.group_roster_visible_to(coordinator, group).count() == 2


def test_audit_scope(analyst: Any, member_org: Any, coordinator: Any, rules: Any) -> None:
    other = f.make_organisation("Other")
    mine = record("test.mine", "about my org", organisation=member_org)
    theirs = record("test.theirs", "about another org", organisation=other)
    visible = set(policy.audit_entries_visible_to(analyst))
    assert mine in visible and theirs not in visible
    assert {mine, theirs} <= set(policy.audit_entries_visible_to(coordinator))


@override_settings(ACCORD_2FA_POLICY="privileged")
def test_two_factor_policy(analyst: Any, representative: Any, coordinator: Any) -> None:
    assert not policy.requires_two_factor(analyst)
    assert policy.requires_two_factor(representative)
    assert policy.requires_two_factor(coordinator)
    representative.is_demo = True
    assert not policy.requires_two_factor(representative)
    with override_settings(ACCORD_2FA_POLICY="all"):
        assert policy.requires_two_factor(analyst)
    with override_settings(ACCORD_2FA_POLICY="none"):
        assert not policy.requires_two_factor(coordinator)
