"""The network's rules: reading, accepting and publishing them through the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from accord import policy
from accord.accounts.models import User
from accord.audit.models import AuditEntry
from accord.rules.models import RuleAcceptance, RuleDocument, RuleVersion
from tests import factories as f

pytestmark = pytest.mark.django_db


def fresh(user: Any) -> Any:
    """The policy caches standing on the user object; a new object asks again."""
    return User.objects.get(pk=user.pk)


def charter() -> RuleDocument:
    return RuleDocument.objects.get(kind="charter")


# --- Reading -----------------------------------------------------------------------------------


def test_rules_are_public(client: Any, rules: list) -> None:
    response = client.get(reverse("rules:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for doc in RuleDocument.objects.all():
        assert doc.title in html
        assert reverse("rules:document", args=[doc.kind]) in html

    page = client.get(reverse("rules:document", args=["charter"]))
    assert page.status_code == 200
    assert "We share responsibly." in page.content.decode()
    assert client.get(reverse("rules:version", args=["charter", 1])).status_code == 200
    # Unknown documents and versions do not exist.
    assert client.get(reverse("rules:document", args=["bylaws"])).status_code == 404
    assert client.get(reverse("rules:version", args=["charter", 7])).status_code == 404
    assert client.get("/rules/charter/v99999999999999999999999/").status_code == 404


def test_acceptance_history_and_publishing_need_login(client: Any, rules: list) -> None:
    for url in (reverse("rules:acceptances"), reverse("rules:publish", args=["charter"])):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]
    response = client.post(reverse("rules:index"), {"organisation": "x"})
    assert response.status_code == 302
    assert not RuleAcceptance.objects.exists()


def test_markdown_is_sanitised(client: Any, coordinator: Any, rules: list) -> None:
    f.login(client, coordinator)
    body = (
        "# Charter\n\nPlain **bold** text.\n\n<script>alert('x')</script>\n\n"
        '<img src="x" onerror="alert(1)">\n\n[link](javascript:alert(2))'
    )
    response = client.post(
        reverse("rules:publish", args=["charter"]), {"body": body, "change_summary": "Tests"}
    )
    assert response.status_code == 302
    for url in ("/rules/charter/", "/rules/charter/v2/"):
        html = client.get(url).content.decode()
        text = html.split('<div id="rule-text">', 1)[1].split("</div>", 1)[0]
        assert "<strong>bold</strong>" in text
        assert "<script" not in text
        assert "onerror" not in text
        assert "javascript:" not in text


# --- Accepting -----------------------------------------------------------------------------------


def test_representative_accepts_all_current_rules(client: Any, rules: list) -> None:
    org = f.make_organisation("Water Board")
    rep = f.make_user("wrep")
    f.add_member(rep, org, representative=True)
    assert not policy.can_read_restricted(rep)

    f.login(client, rep)
    page = client.get(reverse("rules:index")).content.decode()
    assert "Accept the current rules" in page
    assert "Not yet accepted" in page

    response = client.post(reverse("rules:index"), {"organisation": org.slug})
    assert response.status_code == 302
    assert RuleAcceptance.objects.filter(organisation=org).count() == 3
    assert set(RuleAcceptance.objects.values_list("accepted_by", flat=True)) == {rep.pk}
    assert AuditEntry.objects.filter(action="rules.accepted", organisation=org).count() == 3
    assert policy.can_read_restricted(fresh(rep))
    page = client.get(reverse("rules:index")).content.decode()
    assert "Has accepted the current rules." in page
    assert "Accept the current rules" not in page


def test_non_representative_cannot_accept(client: Any, rules: list) -> None:
    org = f.make_organisation("Water Board")
    rep = f.make_user("wrep", full_name="Wanda Representative")
    f.add_member(rep, org, representative=True)
    worker = f.make_user("worker")
    f.add_member(worker, org, analyst=True)

    f.login(client, worker)
    page = client.get(reverse("rules:index")).content.decode()
    assert "Accept the current rules" not in page
    assert "A representative of your organisation must accept them" in page
    assert "Wanda Representative" in page

    response = client.post(reverse("rules:index"), {"organisation": org.slug})
    assert response.status_code == 403
    assert "Only a representative of Water Board" in response.content.decode()
    # Another organisation's slug is no valid choice at all.
    other = f.make_organisation("Other")
    response = client.post(reverse("rules:index"), {"organisation": other.slug})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not RuleAcceptance.objects.exists()


# --- Publishing ----------------------------------------------------------------------------------


def test_publishing_requires_reacceptance_and_keeps_history(
    client: Any,
    coordinator: Any,
    member_org: Any,
    analyst: Any,
    representative: Any,
) -> None:
    assert policy.can_read_restricted(analyst)
    f.login(client, coordinator)
    form = client.get(reverse("rules:publish", args=["charter"]))
    assert form.status_code == 200
    assert "We share responsibly." in form.content.decode()  # prefilled with the current text

    # The conftest client runs on-commit callbacks, so the e-mail is sent.
    response = client.post(
        reverse("rules:publish", args=["charter"]),
        {"body": "# Charter\n\nVersion two.", "change_summary": "Clearer wording"},
    )
    assert response.status_code == 302
    version = charter().current_version
    assert (version.number, version.change_summary, version.published_by) == (
        2,
        "Clearer wording",
        coordinator,
    )
    assert AuditEntry.objects.filter(action="rules.published", actor=coordinator).exists()
    assert len(mail.outbox) == 1
    assert representative.email in mail.outbox[0].to
    assert "version 2" in mail.outbox[0].subject
    assert "Clearer wording" in mail.outbox[0].body

    # The organisation has lost its standing until it accepts version 2.
    assert not policy.can_read_restricted(fresh(analyst))
    assert [v.pk for v in policy.outstanding_rules(member_org)] == [version.pk]

    f.login(client, representative)
    page = client.get(reverse("rules:index")).content.decode()
    assert "Charter, version 2" in page
    client.post(reverse("rules:index"), {"organisation": member_org.slug})
    assert policy.can_read_restricted(fresh(analyst))
    # Acceptance of version 1 is still on record, next to version 2.
    numbers = set(
        RuleAcceptance.objects.filter(
            organisation=member_org, version__document__kind="charter"
        ).values_list("version__number", flat=True)
    )
    assert numbers == {1, 2}
    history = client.get(reverse("rules:acceptances")).content.decode()
    assert history.count("Charter") >= 2


def test_non_coordinator_cannot_publish(client: Any, representative: Any) -> None:
    f.login(client, representative)
    url = reverse("rules:publish", args=["charter"])
    assert client.get(url).status_code == 404
    assert client.post(url, {"body": "Taken over", "change_summary": ""}).status_code == 404
    assert charter().versions.count() == 1


def test_publish_form_errors_change_nothing(client: Any, coordinator: Any, rules: list) -> None:
    f.login(client, coordinator)
    url = reverse("rules:publish", args=["charter"])
    response = client.post(url, {"body": "   ", "change_summary": "x" * 501})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "at most 500 characters" in html
    assert RuleVersion.objects.filter(document__kind="charter").count() == 1


# --- Acceptance history --------------------------------------------------------------------------


def test_acceptance_history_follows_the_policy(
    client: Any, coordinator: Any, member_org: Any, analyst: Any
) -> None:
    other = f.make_organisation("Secret Other Org")
    f.accept_rules(other)
    laggard = f.make_organisation("Laggard Ltd")

    f.login(client, analyst)
    html = client.get(reverse("rules:acceptances")).content.decode()
    assert "Energy Company" in html
    assert "Secret Other Org" not in html
    assert 'id="standings"' not in html

    f.login(client, coordinator)
    html = client.get(reverse("rules:acceptances")).content.decode()
    assert "Secret Other Org" in html
    standings = html.split('id="standings"', 1)[1].split("</table>", 1)[0]
    rows = {row.split("<td>", 2)[1].split("</td>")[0]: row for row in standings.split("<tr>")[2:]}
    assert "Yes" in rows["Energy Company"]
    assert "No" in rows["Laggard Ltd"]
    assert "Charter v1" in rows["Laggard Ltd"]
    assert laggard.name in html
