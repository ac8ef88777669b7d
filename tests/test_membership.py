"""Admission, the directory and managing people, through the web pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from accord.audit.models import AuditEntry
from accord.membership.models import Invitation, Membership, Organisation
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = pytest.mark.django_db

STRONG = "violet-tugboat-harmonica-42"


def application_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Water Board North",
        "country": "NL",
        "stakeholder_group": "government-civilian",
        "sectors": ["drinking-water", "waste-water"],
        "tasks": ["incident-response"],
        "contact_name": "Wim Water",
        "contact_email": "wim@waterboard.example",
        "contact_phone": "+31 50 123 4567",
        "website": "https://waterboard.example",
        "description": "We keep the water clean.",
    }
    data.update(overrides)
    return data


def link_in(message: Any) -> str:
    match = re.search(r"https?://\S+/invitations/[\w-]+/", message.body)
    assert match, message.body
    return match.group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# --- Applying --------------------------------------------------------------------


def test_apply_page_shows_the_form(client: Any) -> None:
    response = client.get(reverse("membership:apply"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Submit application" in html
    assert 'name="country"' in html
    # Tasks are labelled with their primary responsible actor.
    assert "Responding to security problems — CERTs/CSIRTs" in html


def test_apply_creates_pending_organisation_audit_and_emails(client: Any, coordinator: Any) -> None:
    response = client.post(reverse("membership:apply"), application_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("membership:applied")

    org = Organisation.objects.get(name="Water Board North")
    assert org.status == Organisation.Status.PENDING
    assert org.country.code == "NL"
    assert set(org.sectors.values_list("code", flat=True)) == {"drinking-water", "waste-water"}
    assert list(org.tasks.values_list("code", flat=True)) == ["incident-response"]
    assert AuditEntry.objects.filter(action="organisation.applied", organisation=org).exists()

    recipients = {tuple(m.to) for m in mail.outbox}
    assert ("wim@waterboard.example",) in recipients
    assert (coordinator.email,) in recipients
    to_coordinator = next(m for m in mail.outbox if m.to == [coordinator.email])
    assert reverse("membership:application", args=[org.slug]) in to_coordinator.body

    thanks = client.get(response["Location"])
    assert "coordinator will review" in thanks.content.decode()
    assert "e-mail" in thanks.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"country": "XX"}, "country"),
        ({"stakeholder_group": "pirates"}, "stakeholder_group"),
        ({"sectors": ["no-such-sector"]}, "sectors"),
    ],
)
def test_apply_with_bad_input_stores_nothing(
    client: Any, coordinator: Any, overrides: dict, field: str
) -> None:
    response = client.post(reverse("membership:apply"), application_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Organisation.objects.exists()
    assert not AuditEntry.objects.filter(action="organisation.applied").exists()
    assert mail.outbox == []


def test_apply_twice_is_refused(client: Any) -> None:
    client.post(reverse("membership:apply"), application_data())
    mail.outbox.clear()
    response = client.post(reverse("membership:apply"), application_data(name="WATER BOARD NORTH"))
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Organisation.objects.count() == 1
    assert mail.outbox == []


# --- Deciding --------------------------------------------------------------------


def test_coordinator_verifies_and_contact_joins_through_the_link(
    client: Any, coordinator: Any
) -> None:
    client.post(reverse("membership:apply"), application_data())
    org = Organisation.objects.get()
    mail.outbox.clear()

    f.login(client, coordinator)
    queue = client.get(reverse("membership:applications"))
    assert queue.status_code == 200
    assert "Water Board North" in queue.content.decode()
    detail = client.get(reverse("membership:application", args=[org.slug]))
    assert "Verify and admit" in detail.content.decode()
    assert "Reject" in detail.content.decode()

    response = client.post(
        reverse("membership:application", args=[org.slug]),
        {"action": "verify", "note": "Called the switchboard."},
        follow=True,
    )
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.status == Organisation.Status.VERIFIED
    assert org.verification_note == "Called the switchboard."
    assert org.decided_by == coordinator
    assert AuditEntry.objects.filter(action="organisation.verified", organisation=org).exists()

    [message] = mail.outbox
    assert message.to == ["wim@waterboard.example"]
    assert "admitted" in message.body
    url = link_in(message)

    client.logout()
    page = client.get(path_of(url))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Water Board North" in html
    assert "representative" in html and "organisation admin" in html
    assert 'value="Wim Water"' in html  # full name prefilled

    response = client.post(
        path_of(url),
        {"username": "wim", "full_name": "Wim Water", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("core:dashboard")
    user = get_user_model().objects.get(username="wim")
    assert user.email == "wim@waterboard.example"
    membership = Membership.objects.get(user=user, organisation=org)
    assert membership.is_representative and membership.is_org_admin
    assert not membership.is_analyst
    # Signed in; a representative is sent on to set up the second factor.
    follow = client.get(reverse("core:dashboard"))
    assert follow.status_code == 302
    assert follow["Location"].startswith(reverse("accounts:enrol_otp"))

    # The link works once.
    client.logout()
    again = client.get(path_of(url))
    assert again.status_code == 404
    assert "invalid or has expired" in again.content.decode()


def test_join_form_refuses_weak_and_mismatched_passwords(client: Any, coordinator: Any) -> None:
    org = f.make_organisation(status="pending", contact_email="c@example.test")
    f.login(client, coordinator)
    client.post(reverse("membership:application", args=[org.slug]), {"action": "verify"})
    url = path_of(link_in(mail.outbox[-1]))
    client.logout()

    weak = client.post(
        url, {"username": "c", "full_name": "C", "password1": "12345", "password2": "12345"}
    )
    assert weak.status_code == 200
    assert "password1" in weak.context["form"].errors
    differ = client.post(
        url, {"username": "c", "full_name": "C", "password1": STRONG, "password2": STRONG + "x"}
    )
    assert "password2" in differ.context["form"].errors
    taken = client.post(
        url,
        {
            "username": coordinator.username,
            "full_name": "C",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    assert "username" in taken.context["form"].errors
    assert not get_user_model().objects.filter(email="c@example.test").exists()


def test_unknown_invitation_link_is_a_friendly_404(client: Any) -> None:
    response = client.get(reverse("membership:invitation", args=["no-such-secret"]))
    assert response.status_code == 404
    assert "invalid or has expired" in response.content.decode()


def test_signed_in_person_joins_with_their_account(
    client: Any, member_org: Any, representative: Any
) -> None:
    other = f.make_organisation("Second Org")
    f.accept_rules(other)
    admin = f.make_user("admin2")
    f.add_member(admin, other, admin=True)
    f.login(client, admin)
    client.post(
        reverse("membership:manage", args=[other.slug]),
        {"action": "invite", "email": representative.email, "is_analyst": "on"},
    )
    url = path_of(link_in(mail.outbox[-1]))

    f.login(client, representative)
    page = client.get(url)
    assert "Join Second Org" in page.content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert Membership.objects.get(user=representative, organisation=other).is_analyst


def test_invitation_for_an_existing_account_asks_to_sign_in(
    client: Any, member_org: Any, representative: Any, analyst: Any
) -> None:
    sam = f.make_user("sam")
    f.login(client, representative)
    client.post(
        reverse("membership:manage", args=[member_org.slug]),
        {"action": "invite", "email": sam.email, "is_analyst": "on"},
    )
    url = path_of(link_in(mail.outbox[-1]))
    client.logout()

    page = client.get(url)
    assert "An account with this e-mail address exists" in page.content.decode()
    assert page.context["form"] is None
    client.post(
        url, {"username": "sam2", "full_name": "S", "password1": STRONG, "password2": STRONG}
    )
    assert not Membership.objects.filter(user=sam).exists()

    # Someone else who is signed in cannot use Sam's link.
    f.login(client, analyst)
    response = client.post(url)
    assert response.status_code == 200
    assert "another e-mail address" in response.content.decode()
    assert Membership.objects.filter(organisation=member_org).count() == 2

    f.login(client, sam)
    assert client.post(url).status_code == 302
    assert Membership.objects.filter(user=sam, organisation=member_org).exists()


def test_non_coordinator_cannot_see_applications(client: Any, representative: Any) -> None:
    pending = f.make_organisation("Pending Org", status="pending")
    f.login(client, representative)
    assert client.get(reverse("membership:applications")).status_code == 404
    assert client.get(reverse("membership:application", args=[pending.slug])).status_code == 404
    response = client.post(
        reverse("membership:application", args=[pending.slug]), {"action": "verify"}
    )
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == Organisation.Status.PENDING


def test_applications_queue_lists_pending_first_and_filters(client: Any, coordinator: Any) -> None:
    f.make_organisation("Aardvark Verified")
    f.make_organisation("Zebra Pending", status="pending")
    f.login(client, coordinator)
    html = client.get(reverse("membership:applications")).content.decode()
    assert html.index("Zebra Pending") < html.index("Aardvark Verified")
    html = client.get(reverse("membership:applications"), {"status": "verified"}).content.decode()
    assert "Zebra Pending" not in html and "Aardvark Verified" in html


def test_rejection_requires_a_reason_and_emails_it(client: Any, coordinator: Any) -> None:
    org = f.make_organisation("Dubious Ltd", status="pending", contact_email="d@example.test")
    f.login(client, coordinator)
    url = reverse("membership:application", args=[org.slug])

    response = client.post(url, {"action": "reject", "reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["reject_form"].errors
    response = client.post(url, {"action": "reject", "reason": "   "})
    assert "reason" in response.context["reject_form"].errors
    org.refresh_from_db()
    assert org.status == Organisation.Status.PENDING
    assert mail.outbox == []

    response = client.post(url, {"action": "reject", "reason": "We could not verify you."})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.status == Organisation.Status.REJECTED
    assert org.decision_reason == "We could not verify you."
    [message] = mail.outbox
    assert message.to == ["d@example.test"]
    assert "We could not verify you." in message.body
    assert AuditEntry.objects.filter(action="organisation.rejected", organisation=org).exists()


# --- The directory -----------------------------------------------------------------


def test_directory_requires_sign_in(client: Any) -> None:
    response = client.get(reverse("membership:directory"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_directory_filters(client: Any, analyst: Any) -> None:
    bank = f.make_organisation(
        "Big Bank",
        sectors=["banking"],
        stakeholder_group="private-sector",
        description="Retail banking and payments.",
    )
    cert = f.make_organisation(
        "National CERT",
        sectors=["digital-infrastructure"],
        stakeholder_group="csirt",
        country="BE",
    )
    f.make_organisation("Pending Bank", status="pending", sectors=["banking"])
    f.login(client, analyst)
    url = reverse("membership:directory")

    def names(**params: str) -> set[str]:
        response = client.get(url, params)
        assert response.status_code == 200
        return {org.name for org in response.context["page_obj"]}

    assert names() == {"Energy Company", bank.name, cert.name}
    assert names(sector="banking") == {bank.name}
    assert names(stakeholder_group="csirt") == {cert.name}
    assert names(q="payments") == {bank.name}
    assert names(q="cert") == {cert.name}
    assert names(country="BE") == {cert.name}
    assert names(task="incident-response") == {"Energy Company", bank.name, cert.name}
    # An unknown filter value is reported, not a crash.
    response = client.get(url, {"sector": "nonsense"})
    assert response.status_code == 200
    assert "sector" in response.context["form"].errors
    assert 'class="filters"' in response.content.decode()


def test_directory_paginates(client: Any, analyst: Any) -> None:
    for n in range(30):
        f.make_organisation(f"Member {n:02d}")
    f.login(client, analyst)
    first = client.get(reverse("membership:directory"))
    assert len(first.context["page_obj"]) == 25
    second = client.get(reverse("membership:directory"), {"page": 2})
    assert len(second.context["page_obj"]) == 6


def test_coordinator_may_filter_directory_by_status(client: Any, coordinator: Any) -> None:
    f.make_organisation("Pending Org", status="pending")
    f.make_organisation("Verified Org")
    f.login(client, coordinator)
    default = client.get(reverse("membership:directory"))
    assert {o.name for o in default.context["page_obj"]} == {"Verified Org"}
    pending = client.get(reverse("membership:directory"), {"status": "pending"})
    assert {o.name for o in pending.context["page_obj"]} == {"Pending Org"}
    every = client.get(reverse("membership:directory"), {"status": "all"})
    assert {o.name for o in every.context["page_obj"]} == {"Pending Org", "Verified Org"}


def test_members_cannot_filter_directory_by_status(client: Any, analyst: Any) -> None:
    f.make_organisation("Pending Org", status="pending")
    f.login(client, analyst)
    response = client.get(reverse("membership:directory"), {"status": "all"})
    assert {o.name for o in response.context["page_obj"]} == {"Energy Company"}
    assert 'name="status"' not in response.content.decode()


def test_organisation_page_shows_contact_to_members_in_good_standing(
    client: Any, analyst: Any
) -> None:
    other = f.make_organisation("Other Org", contact_email="other@example.test")
    f.login(client, analyst)
    html = client.get(reverse("membership:organisation", args=[other.slug])).content.decode()
    assert "other@example.test" in html
    # People are listed only to the organisation's own members and coordinators.
    assert 'id="people"' not in html
    own = client.get(reverse("membership:organisation", args=["org-" + "x"]))
    assert own.status_code == 404


def test_contact_details_hidden_when_rules_not_accepted(client: Any, rules: Any) -> None:
    laggard = f.make_organisation("Laggard Org")  # verified, rules not accepted
    person = f.make_user("lag")
    f.add_member(person, laggard)
    good = f.make_organisation("Good Org", contact_email="good@example.test")
    f.accept_rules(good)
    f.login(client, person)

    # Only their own organisation is visible; others are missing, not forbidden.
    directory = client.get(reverse("membership:directory"))
    assert {o.name for o in directory.context["page_obj"]} == {"Laggard Org"}
    assert "standing-banner" in directory.content.decode()
    assert client.get(reverse("membership:organisation", args=[good.slug])).status_code == 404
    # Their own organisation still shows its contact details and people.
    own = client.get(reverse("membership:organisation", args=[laggard.slug])).content.decode()
    assert laggard.contact_email in own
    assert 'id="people"' in own


def test_anonymous_users_see_no_organisation(client: Any, member_org: Any) -> None:
    response = client.get(reverse("membership:organisation", args=[member_org.slug]))
    assert response.status_code == 302
    assert member_org.contact_email not in response.content.decode()


def test_organisation_page_lists_working_groups_but_hides_confidential_ones(
    client: Any, analyst: Any, member_org: Any
) -> None:
    other = f.make_organisation("Other Org")
    f.accept_rules(other)
    colleague = f.make_user("col")
    f.add_member(colleague, other)
    open_group = WorkingGroup.objects.create(name="Energy ISAC", slug="energy-isac")
    secret = WorkingGroup.objects.create(
        name="Secret Cell", slug="secret-cell", visibility=WorkingGroup.Visibility.CONFIDENTIAL
    )
    GroupMembership.objects.create(group=open_group, user=colleague, organisation=other)
    GroupMembership.objects.create(group=secret, user=colleague, organisation=other)
    GroupMembership.objects.create(group=secret, user=analyst, organisation=member_org)

    f.login(client, analyst)
    response = client.get(reverse("membership:organisation", args=[other.slug]))
    groups = {g.name for g in response.context["groups"]}
    # The analyst is in the confidential group too, but may not learn who else is.
    assert groups == {"Energy ISAC"}
    own = client.get(reverse("membership:organisation", args=[member_org.slug]))
    assert {g.name for g in own.context["groups"]} == {"Secret Cell"}


# --- Managing people ------------------------------------------------------------------


def test_org_admin_invites_an_analyst_who_joins(
    client: Any, member_org: Any, representative: Any
) -> None:
    f.login(client, representative)
    url = reverse("membership:manage", args=[member_org.slug])
    page = client.get(url)
    assert page.status_code == 200

    response = client.post(
        url,
        {
            "action": "invite",
            "email": "New.Analyst@Example.test",
            "full_name": "Nia New",
            "is_analyst": "on",
        },
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get(organisation=member_org)
    assert invitation.email == "new.analyst@example.test"
    assert invitation.is_analyst and not invitation.is_representative
    [message] = mail.outbox
    assert message.to == ["new.analyst@example.test"]
    assert "Energy Company" in message.body
    assert "new.analyst@example.test" in client.get(url).content.decode()

    client.logout()
    join = client.post(
        path_of(link_in(message)),
        {"username": "nia", "full_name": "Nia New", "password1": STRONG, "password2": STRONG},
    )
    assert join.status_code == 302
    membership = Membership.objects.get(user__username="nia")
    assert membership.is_analyst and not membership.is_org_admin


def test_invite_requires_a_role_and_valid_email(
    client: Any, member_org: Any, representative: Any
) -> None:
    f.login(client, representative)
    url = reverse("membership:manage", args=[member_org.slug])
    response = client.post(url, {"action": "invite", "email": "x@example.test"})
    assert response.status_code == 200
    assert response.context["invite_form"].non_field_errors()
    response = client.post(url, {"action": "invite", "email": "nope", "is_analyst": "on"})
    assert "email" in response.context["invite_form"].errors
    response = client.post(
        url, {"action": "invite", "email": representative.email, "is_analyst": "on"}
    )
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_org_admin_changes_roles_but_cannot_remove_last_admin(
    client: Any, member_org: Any, representative: Any, analyst: Any
) -> None:
    f.login(client, representative)
    url = reverse("membership:manage", args=[member_org.slug])
    analyst_m = Membership.objects.get(user=analyst)
    rep_m = Membership.objects.get(user=representative)

    response = client.post(
        url,
        {
            "action": "roles",
            "membership": analyst_m.pk,
            f"m{analyst_m.pk}-is_analyst": "on",
            f"m{analyst_m.pk}-is_representative": "on",
        },
    )
    assert response.status_code == 302
    analyst_m.refresh_from_db()
    assert analyst_m.is_representative and analyst_m.is_analyst
    assert AuditEntry.objects.filter(action="membership.roles_changed").exists()

    # Dropping the only admin role is refused, with the reason shown.
    response = client.post(
        url,
        {"action": "roles", "membership": rep_m.pk, f"m{rep_m.pk}-is_representative": "on"},
    )
    assert response.status_code == 200
    assert "at least one organisation admin" in response.content.decode()
    rep_m.refresh_from_db()
    assert rep_m.is_org_admin

    response = client.post(url, {"action": "remove", "membership": rep_m.pk}, follow=True)
    assert "at least one organisation admin" in response.content.decode()
    assert Membership.objects.filter(pk=rep_m.pk).exists()

    # Removing someone else works.
    response = client.post(url, {"action": "remove", "membership": analyst_m.pk})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=analyst_m.pk).exists()


def test_org_admin_revokes_invitation_and_edits_profile(
    client: Any, member_org: Any, representative: Any
) -> None:
    f.login(client, representative)
    url = reverse("membership:manage", args=[member_org.slug])
    client.post(url, {"action": "invite", "email": "x@example.test", "is_analyst": "on"})
    invitation = Invitation.objects.get()
    secret_url = path_of(link_in(mail.outbox[-1]))

    assert client.post(url, {"action": "revoke", "invitation": invitation.pk}).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    client.logout()
    assert client.get(secret_url).status_code == 404

    f.login(client, representative)
    response = client.post(
        url,
        {
            "action": "profile",
            "description": "Power to the people.",
            "website": "https://energy.example",
            "contact_name": "Desk",
            "contact_email": "desk@energy.example",
            "contact_phone": "",
            "sectors": ["energy", "telecom"],
            "tasks": [],
        },
    )
    assert response.status_code == 302
    member_org.refresh_from_db()
    assert member_org.description == "Power to the people."
    assert member_org.contact_email == "desk@energy.example"
    assert set(member_org.sectors.values_list("code", flat=True)) == {"energy", "telecom"}

    bad = client.post(
        url, {"action": "profile", "contact_name": "", "contact_email": "nope", "website": "x"}
    )
    assert bad.status_code == 200
    assert {"contact_name", "contact_email", "website"} <= set(bad.context["profile_form"].errors)
    member_org.refresh_from_db()
    assert member_org.contact_name == "Desk"


def test_analyst_cannot_manage_people(client: Any, member_org: Any, analyst: Any) -> None:
    f.login(client, analyst)
    assert client.get(reverse("membership:manage", args=[member_org.slug])).status_code == 404


def test_member_of_one_org_cannot_manage_another(
    client: Any, member_org: Any, representative: Any
) -> None:
    other = f.make_organisation("Org B")
    f.accept_rules(other)
    boss = f.make_user("boss")
    boss_m = f.add_member(boss, other, admin=True)
    f.login(client, representative)
    url = reverse("membership:manage", args=[other.slug])
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "remove", "membership": boss_m.pk}).status_code == 404
    assert Membership.objects.filter(pk=boss_m.pk).exists()
    # Nor reach a membership of org B through their own organisation's page.
    own = reverse("membership:manage", args=[member_org.slug])
    assert client.post(own, {"action": "remove", "membership": boss_m.pk}).status_code == 404
    assert Membership.objects.filter(pk=boss_m.pk).exists()
