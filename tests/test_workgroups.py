"""Working groups through the pages: creating, joining, confidential rosters, managing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accord.audit.models import AuditEntry
from accord.workgroups import services
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def colleague(member_org: Any) -> Any:
    user = f.make_user("carl", full_name="Carl Colleague")
    f.add_member(user, member_org)
    return user


@pytest.fixture
def outsider_org(rules: list) -> Any:
    org = f.make_organisation("Grid Operator")
    f.accept_rules(org)
    return org


@pytest.fixture
def outsider(outsider_org: Any) -> Any:
    user = f.make_user("olga", full_name="Olga Outsider")
    f.add_member(user, outsider_org)
    return user


def make_group(owner: Any, name: str, visibility: str) -> WorkingGroup:
    return services.create_group(name=name, description="", visibility=visibility, by=owner)


def url(name: str, group: WorkingGroup, *args: Any) -> str:
    return reverse(f"workgroups:{name}", args=[group.slug, *args])


def test_create_groups_of_each_visibility(client: Any, analyst: Any, member_org: Any) -> None:
    f.login(client, analyst)
    page = client.get(reverse("workgroups:list")).content.decode()
    assert "Create a working group" in page
    assert client.get(reverse("workgroups:create")).status_code == 200
    for name, visibility in [
        ("Grid Security", "open"),
        ("Threat Intel", "invite-only"),
        ("Red Team", "confidential"),
    ]:
        response = client.post(
            reverse("workgroups:create"),
            {
                "name": name,
                "description": "Why we meet",
                "visibility": visibility,
                "sector": "",
                "organisation": member_org.pk,
            },
        )
        assert response.status_code == 302
        group = WorkingGroup.objects.get(name=name)
        assert response["Location"] == url("detail", group)
        assert group.visibility == visibility
        owner = group.memberships.get()
        assert (owner.user, owner.organisation, owner.is_owner, owner.state) == (
            analyst,
            member_org,
            True,
            "active",
        )
        assert AuditEntry.objects.filter(action="group.created", target_id=str(group.pk)).exists()
    listing = client.get(reverse("workgroups:list")).content.decode()
    assert all(n in listing for n in ("Grid Security", "Threat Intel", "Red Team"))


def test_create_form_errors_change_nothing(client: Any, analyst: Any, member_org: Any) -> None:
    make_group(analyst, "Grid Security", "open")
    f.login(client, analyst)
    cases = [
        ({"name": "grid security", "visibility": "open"}, "already exists"),
        ({"name": "New", "visibility": "open"}, "reserved"),
        ({"name": "X", "visibility": "secret"}, "Select a valid choice"),
        ({"name": "", "visibility": "open"}, "This field is required"),
        ({"name": "n" * 121, "visibility": "open"}, "at most 120 characters"),
    ]
    for data, message in cases:
        data = {"description": "", "sector": "", "organisation": member_org.pk, **data}
        response = client.post(reverse("workgroups:create"), data)
        assert response.status_code == 400
        assert message in response.content.decode()
    other = f.make_organisation("Not Mine")
    response = client.post(
        reverse("workgroups:create"),
        {"name": "Fine", "visibility": "open", "organisation": other.pk},
    )
    assert response.status_code == 400
    assert WorkingGroup.objects.count() == 1


def test_join_and_leave_an_open_group(
    client: Any, analyst: Any, outsider: Any, outsider_org: Any
) -> None:
    group = make_group(analyst, "Grid Security", "open")
    f.login(client, outsider)
    page = client.get(url("detail", group)).content.decode()
    assert "Join this group" in page
    response = client.post(url("join", group), {"organisation": outsider_org.pk})
    assert response.status_code == 302
    membership = group.memberships.get(user=outsider)
    assert (membership.state, membership.organisation) == ("active", outsider_org)
    page = client.get(url("detail", group)).content.decode()
    assert "Leave the group" in page
    assert "Ana Analyst" in page and "Olga Outsider" in page

    assert client.post(url("leave", group)).status_code == 302
    assert not group.memberships.filter(user=outsider).exists()
    assert AuditEntry.objects.filter(action="group.left", actor=outsider).exists()


def test_request_and_approve_for_invite_only(
    client: Any, analyst: Any, outsider: Any, outsider_org: Any
) -> None:
    group = make_group(analyst, "Threat Intel", "invite-only")
    f.login(client, outsider)
    assert "Ask to join" in client.get(url("detail", group)).content.decode()
    client.post(url("join", group), {"organisation": outsider_org.pk})
    request = group.memberships.get(user=outsider)
    assert request.state == "requested"
    page = client.get(url("detail", group)).content.decode()
    assert "Withdraw your request" in page
    # A requester is not a member: the roster does not show them, they cannot approve.
    assert client.post(url("approve", group, request.pk)).status_code == 404

    f.login(client, analyst)
    page = client.get(url("detail", group)).content.decode()
    assert 'id="pending-requests"' in page and "Olga Outsider" in page
    assert client.post(url("approve", group, request.pk)).status_code == 302
    request.refresh_from_db()
    assert request.state == "active"
    assert AuditEntry.objects.filter(action="group.approved").exists()


def test_owner_invites_and_manages(
    client: Any, analyst: Any, colleague: Any, outsider: Any, outsider_org: Any
) -> None:
    group = make_group(analyst, "Threat Intel", "invite-only")
    f.login(client, analyst)
    page = client.get(url("detail", group)).content.decode()
    assert "Olga Outsider (olga), Grid Operator" in page  # a candidate to invite
    choice = outsider.memberships.get(organisation=outsider_org)
    assert client.post(url("invite", group), {"membership": choice.pk}).status_code == 302
    invited = group.memberships.get(user=outsider)
    assert invited.state == "invited"
    # Bad input re-renders with an error and changes nothing.
    response = client.post(url("invite", group), {"membership": "999999"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()

    f.login(client, outsider)
    assert "Accept the invitation" in client.get(url("detail", group)).content.decode()
    client.post(url("join", group), {"organisation": outsider_org.pk})
    invited.refresh_from_db()
    assert invited.state == "active"

    f.login(client, analyst)
    client.post(url("owner", group, invited.pk), {"is_owner": "1"})
    invited.refresh_from_db()
    assert invited.is_owner
    mine = group.memberships.get(user=analyst)
    client.post(url("owner", group, mine.pk), {"is_owner": "0"})
    mine.refresh_from_db()
    assert not mine.is_owner

    # The settings page belongs to owners only.
    assert client.get(url("edit", group)).status_code == 404
    f.login(client, outsider)
    response = client.post(url("edit", group), {"description": "New purpose", "visibility": "open"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.description, group.visibility) == ("New purpose", "open")
    assert client.post(url("remove", group, mine.pk)).status_code == 302
    assert not group.memberships.filter(user=analyst).exists()


def test_last_owner_cannot_leave(client: Any, analyst: Any) -> None:
    group = make_group(analyst, "Grid Security", "open")
    f.login(client, analyst)
    response = client.post(url("leave", group), follow=True)
    assert "A group needs at least one owner" in response.content.decode()
    assert group.memberships.filter(user=analyst, is_owner=True).exists()


def test_confidential_group_roster(
    client: Any, analyst: Any, colleague: Any, member_org: Any, outsider: Any, outsider_org: Any
) -> None:
    group = make_group(analyst, "Red Team", "confidential")
    services.invite_to_group(group, user=colleague, organisation=member_org, by=analyst)

    # Invisible to people who are not in it: not in the list, 404 on every address.
    f.login(client, outsider)
    assert "Red Team" not in client.get(reverse("workgroups:list")).content.decode()
    assert client.get(url("detail", group)).status_code == 404
    assert client.post(url("join", group), {"organisation": outsider_org.pk}).status_code == 404
    assert not group.memberships.filter(user=outsider).exists()

    # An invited person sees the group and accepts.
    f.login(client, colleague)
    assert client.get(url("detail", group)).status_code == 200
    client.post(url("join", group), {"organisation": member_org.pk})
    services.invite_to_group(group, user=outsider, organisation=outsider_org, by=analyst)
    services.join_group(group, by=outsider, organisation=outsider_org)

    # An ordinary member sees only themself.
    page = client.get(url("detail", group)).content.decode()
    roster = page.split('id="roster"', 1)[1].split("</table>", 1)[0]
    assert "Carl Colleague" in roster
    assert "Ana Analyst" not in page and "Olga Outsider" not in page
    assert 'id="confidential-note"' in page
    assert "3 members" in page
    listing = client.get(reverse("workgroups:list")).content.decode()
    assert "Red Team" in listing

    # The owner sees everyone.
    f.login(client, analyst)
    page = client.get(url("detail", group)).content.decode()
    assert all(n in page for n in ("Ana Analyst", "Carl Colleague", "Olga Outsider"))
    assert 'id="confidential-note"' not in page

    # Leaving makes it disappear again.
    f.login(client, colleague)
    response = client.post(url("leave", group))
    assert response["Location"] == reverse("workgroups:list")
    assert client.get(url("detail", group)).status_code == 404


def test_member_without_rule_acceptance_is_refused(client: Any, analyst: Any) -> None:
    group = make_group(analyst, "Grid Security", "open")
    org = f.make_organisation("Late Company")  # has not accepted the rules
    late = f.make_user("late")
    f.add_member(late, org)
    f.login(client, late)

    listing = client.get(reverse("workgroups:list"))
    assert listing.status_code == 200
    assert "Grid Security" not in listing.content.decode()
    assert 'id="standing-banner"' in listing.content.decode()
    assert "Create a working group" not in listing.content.decode()

    for response in (
        client.get(url("detail", group)),
        client.post(url("join", group), {"organisation": org.pk}),
        client.get(reverse("workgroups:create")),
        client.post(reverse("workgroups:create"), {"name": "Mine", "visibility": "open"}),
    ):
        assert response.status_code == 403
        assert "has not accepted the current version of the network&#x27;s rules" in (
            response.content.decode()
        )
    assert not GroupMembership.objects.filter(user=late).exists()
    assert WorkingGroup.objects.count() == 1


def test_list_filters_and_counts(client: Any, analyst: Any, colleague: Any) -> None:
    make_group(analyst, "Grid Security", "open")
    intel = make_group(analyst, "Threat Intel", "invite-only")
    services.invite_to_group(
        intel, user=colleague, organisation=colleague.memberships.get().organisation, by=analyst
    )
    services.join_group(intel, by=colleague)
    f.login(client, colleague)
    page = client.get(reverse("workgroups:list"), {"visibility": "invite-only"}).content.decode()
    table = page.split('id="groups"', 1)[1]
    assert "Threat Intel" in table and "Grid Security" not in table
    assert "<td>2</td>" in table
    page = client.get(reverse("workgroups:list"), {"q": "grid"}).content.decode()
    assert "Grid Security" in page and "Threat Intel" not in page
    response = client.get(reverse("workgroups:list"), {"visibility": "bogus", "sector": "nope"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
