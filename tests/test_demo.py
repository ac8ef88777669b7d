"""The demo network: every advertised sign-in works and shows what the table promises."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accord import policy
from accord.audit.models import AuditEntry
from accord.audit.services import verify_chain
from accord.core import demo
from accord.membership.models import Organisation
from accord.rules.models import RuleDocument
from accord.workgroups.models import WorkingGroup


@pytest.fixture
def network(db: Any) -> None:
    call_command("demo", stdout=StringIO())


def user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def roles(username: str, organisation: str) -> set[str]:
    membership = user(username).memberships.get(organisation__name=organisation)
    return {
        role
        for role, held in (
            ("representative", membership.is_representative),
            ("analyst", membership.is_analyst),
            ("admin", membership.is_org_admin),
        )
        if held
    }


def test_every_advertised_account_signs_in_with_the_demo_password(network: None) -> None:
    for username, *_ in demo.SIGN_INS:
        person = user(username)
        assert person.is_demo and person.is_active
        client = Client()
        response = client.post(
            reverse("accounts:login"),
            {"username": username, "password": settings.ACCORD_DEMO_PASSWORD},
        )
        assert response.status_code == 302, username
        # Demo accounts are exempt from two-factor sign-in, so the dashboard opens at once.
        assert client.get(reverse("core:dashboard")).status_code == 200, username


def test_the_roles_match_the_sign_in_table(network: None) -> None:
    assert policy.is_coordinator(user("coordinator"))
    assert roles("maria.lindqvist", "Nordvale Energy") == {"representative", "admin"}
    assert roles("tomas.brandt", "Crown Bank of Avaloria") == {"analyst"}
    assert roles("elena.varga", "AvaNet Telecom") == {"admin"}
    assert roles("jan.kowalczyk", "Halden Chemicals") == {"analyst"}
    assert {m.organisation.name for m in policy.active_memberships(user("yusuf.demir"))} == {
        "University of Kestrel",
        "Avaloria Standards Institute",
    }
    for username in ("maria.lindqvist", "tomas.brandt", "elena.varga", "lukas.brenner"):
        assert policy.standing(user(username)).good, username
    assert not policy.standing(user("jan.kowalczyk")).good


def test_a_member_of_an_organisation_without_the_rules_sees_the_blocked_banner(
    network: None, client: Client
) -> None:
    client.force_login(user("jan.kowalczyk"))
    page = client.get(reverse("core:dashboard")).content.decode()
    assert 'id="standing-banner"' in page
    assert "Halden Chemicals" in page


def test_the_confidential_group_hides_its_roster(network: None) -> None:
    group = WorkingGroup.objects.get(name="Energy regulators liaison")
    assert group.is_confidential
    member = user("lukas.brenner")
    assert policy.get_group(member, pk=group.pk) == group
    assert [m.user.username for m in policy.group_roster_visible_to(member, group)] == [
        "lukas.brenner"
    ]
    with pytest.raises(policy.NotVisible):
        policy.get_group(user("tomas.brandt"), pk=group.pk)
    owner = user("sofia.marin")
    assert policy.group_roster_visible_to(owner, group).count() >= 4


def test_the_rules_are_published_and_mostly_accepted(network: None) -> None:
    for document in RuleDocument.objects.all():
        version = document.current_version
        assert version is not None and len(version.body) > 500
    sharing = RuleDocument.objects.get(kind="sharing-policy").current_version
    assert "TLP 2.0" in sharing.body and "TLP:AMBER+STRICT" in sharing.body
    behind = Organisation.objects.verified().exclude(pk__in=policy.organisations_in_good_standing())
    assert set(behind.values_list("name", flat=True)) == {
        "Orbis Ground Stations",
        "Halden Chemicals",
        "Greenfield Foods",
        "Digital Rights Avaloria",
    }


def test_the_audit_trail_tells_how_the_network_was_built(network: None) -> None:
    report = verify_chain()
    assert report.ok and report.checked > 100
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "organisation.applied",
        "organisation.verified",
        "organisation.rejected",
        "invitation.created",
        "invitation.accepted",
        "rules.published",
        "rules.accepted",
        "group.created",
        "group.joined",
        "demo.loaded",
    } <= actions
    rejected = Organisation.objects.get(status=Organisation.Status.REJECTED)
    assert rejected.decision_reason


def test_the_demo_password_comes_from_the_setting(db: Any, settings: Any) -> None:
    settings.ACCORD_DEMO_PASSWORD = "another demo secret"
    call_command("demo", stdout=StringIO())
    assert user("tomas.brandt").check_password("another demo secret")
    assert not user("tomas.brandt").check_password("accord-demo-2026")
