"""The guided form for filing and editing a report, its audience preview and the
extraction of observables — through the Django test client, on a real database."""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accord import policy
from accord.audit.models import AuditEntry
from accord.sharing.audience import audience_preview
from accord.sharing.models import (
    Attachment,
    Notification,
    Observable,
    Report,
    ReportVersion,
    Subscription,
)
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.network_settings import (
    current_severity,
    ensure_default_common_values,
)
from accord.sharing.services.reports import create_report
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

NEW = reverse("sharing:new")
PREVIEW = reverse("sharing:preview")
EXTRACT = reverse("sharing:extract")


# --- Fixtures and helpers ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _attachment_dir(settings: Any, tmp_path: Any) -> None:
    settings.ATTACHMENT_DIR = tmp_path / "attachments"


@pytest.fixture
def signed_in(client: Client, analyst: Any) -> Client:
    f.login(client, analyst)
    return client


def member(name: str, org: Any, **roles: Any) -> Any:
    user = f.make_user(name, full_name=name.title())
    f.add_member(user, org, **roles)
    return user


def good_org(name: str, **extra: Any) -> Any:
    org = f.make_organisation(name, **extra)
    f.accept_rules(org)
    return org


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": "submit",
        "kind": "incident",
        "title": "Phishing wave aimed at hospital staff",
        "summary": "Mails pretending to come from the **payroll** office.",
        "marking": "amber",
        "audience": "network",
        "attribution": "named",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def text_of(response: Any) -> str:
    """The page as a reader sees it: tags dropped, spaces collapsed."""
    return text_of_html(response.content.decode())


def text_of_html(html: str) -> str:
    return htmllib.unescape(" ".join(re.sub(r"<[^>]+>", " ", html).split()))


def preview_text(client: Client, **overrides: Any) -> str:
    data = form_data(**overrides)
    data.pop("action")
    response = client.post(PREVIEW, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return text_of(response)


def assert_no_inline_code(html: str) -> None:
    inline_script = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>")
    assert not inline_script.search(html)
    assert not re.search(r"<style\b|\sstyle\s*=", html)
    assert not re.search(r"\son[a-z]+\s*=\s*[\"']", html)


# --- Access ----------------------------------------------------------------------------------


def test_signing_in_comes_first(client: Client, db: Any) -> None:
    response = client.get(NEW)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_a_member_whose_organisation_has_not_accepted_the_rules_is_refused(
    client: Client, rules: Any
) -> None:
    org = f.make_organisation("Late Bank", sectors=["banking"])
    user = member("late", org)
    f.login(client, user)
    response = client.get(NEW)
    assert response.status_code == 403
    assert "has not accepted the current version of the network's rules" in text_of(response)
    assert client.post(NEW, form_data()).status_code == 403
    assert not Report.objects.exists()


def test_a_member_without_an_analyst_role_cannot_share(client: Client, member_org: Any) -> None:
    reader = member("reader", member_org, analyst=False)
    f.login(client, reader)
    response = client.get(NEW)
    assert response.status_code == 403
    assert "Only analysts and representatives" in text_of(response)
    assert client.post(PREVIEW, form_data()).status_code == 403
    assert client.post(EXTRACT, {"paste": "192.0.2.1"}).status_code == 403


def test_the_page_draws_every_step_without_inline_code(signed_in: Client) -> None:
    response = signed_in.get(NEW)
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    for step in (
        "kind",
        "what",
        "classification",
        "severity",
        "observables",
        "distribution",
        "review",
    ):
        assert f'id="step-{step}"' in html
    assert "accord/wizard.js" in html
    assert f'hx-post="{PREVIEW}"' in html and f'hx-post="{EXTRACT}"' in html
    page = text_of(response)
    # Plain-language help for the kinds, markings, effects and severity questions.
    assert "An attack your organisation experienced or is handling." in page
    assert "Only the people you name. Nothing leaves their hands." in page
    assert "Exploitive: someone got in to watch, steal or keep access" in page
    assert "How far did the attacker get?" in page
    # The preview takes a dry run: the page asks for it once it has loaded.
    preview = re.search(r'<div id="audience-preview"[^>]*>', html).group(0)
    assert 'hx-trigger="load, change from:.js-preview-source' in preview
    # The opening values: AMBER to the whole network, named.
    page = preview_text(signed_in)
    assert "TLP:AMBER — visible to" in page
    assert "Others will see the reporter as: Energy Company." in page
    # Severity data for the live score: weights and thresholds of the network.
    assert 'data-thresholds="20,40,55,70,85"' in html
    assert 'data-weight="20"' in html


# --- Filing -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["incident", "vulnerability", "advisory", "measure"])
def test_filing_each_kind(signed_in: Client, analyst: Any, member_org: Any, kind: str) -> None:
    response = signed_in.post(NEW, form_data(kind=kind, title=f"A {kind} to share"))
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:detail", kwargs={"pk": report.pk})
    assert report.kind == kind
    assert report.title == f"A {kind} to share"
    assert report.reporter_organisation == member_org
    assert report.created_by == analyst
    assert report.versions.count() == 1
    messages = [str(m) for m in signed_in.get(reverse("core:dashboard")).context["messages"]]
    assert any("was shared" in m for m in messages)


def test_an_incident_with_everything_filled_in(signed_in: Client) -> None:
    data = form_data(
        first_seen="2025-03-01T08:30",
        last_seen="2025-03-02T17:00",
        sectors=["energy", "health"],
        country_of_origin="NL",
        references="https://example.org/advisory\nhttps://example.org/blog",
        effects=["data-attack", "exploit-end-hosts"],
        incident_type="malicious-code:infected-system",
        task_areas=["incident-response"],
        core_components=["naming-numbering"],
        **{
            "severity_functional_impact": "significant",
            "severity_observed_activity": "effect",
            "severity_actor": "criminal",
        },
    )
    response = signed_in.post(NEW, data)
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.effects == ["data-attack", "exploit-end-hosts"]
    assert report.incident_type == "malicious-code:infected-system"
    assert sorted(report.sectors.values_list("code", flat=True)) == ["energy", "health"]
    assert list(report.task_areas.values_list("code", flat=True)) == ["incident-response"]
    assert report.core_components == ["naming-numbering"]
    assert report.references == ["https://example.org/advisory", "https://example.org/blog"]
    assert report.country_of_origin == "NL"
    assert report.first_seen.isoformat().startswith("2025-03-01")
    answers = {
        "functional-impact": "significant",
        "observed-activity": "effect",
        "actor": "criminal",
    }
    assert report.severity_answers == answers
    expected = current_severity(answers)
    assert (report.severity_score, report.severity_level) == (expected.score, expected.level)


def test_observables_pasted_in_several_steps_defanged_ones_included(
    signed_in: Client, member_org: Any, analyst: Any
) -> None:
    ensure_default_common_values()
    earlier = create_report(
        analyst,
        ReportDraft(
            kind="incident",
            title="Earlier phishing",
            observables=[ObservableInput("evil.example")],
        ),
    )
    paste = (
        "The mail linked to hxxps://evil[.]example/login and came from 198.51.100[.]7;\n"
        "the victims' resolver was 8.8.8.8. Also noisy: 203.0.113.9"
    )

    # Step 1: the checklist, with a hint of what each value matches.
    response = signed_in.post(EXTRACT, {"paste": paste}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    for key in (
        "url:https://evil.example/login",
        "domain:evil.example",
        "ipv4:198.51.100.7",
        "ipv4:8.8.8.8",
        "ipv4:203.0.113.9",
    ):
        assert f'value="{key}"' in html
    row = re.search(r"evil\.example</code>.*?</tr>", html, re.S)
    assert row and "seen in 1 other report you can see" in text_of_html(row.group(0))
    row = re.search(r"8\.8\.8\.8</code>.*?</tr>", html, re.S)
    assert row and "too common to correlate" in row.group(0)
    assert "written as hxxps://evil[.]example/login" in text_of(response)
    digest = re.search(r'name="extracted_digest" value="([0-9a-f]+)"', html).group(1)

    # Step 2: submit with two values unticked and two typed in.
    response = signed_in.post(
        NEW,
        form_data(
            paste=paste,
            extracted_digest=digest,
            extracted=[
                "url:https://evil.example/login",
                "domain:evil.example",
                "ipv4:198.51.100.7",
            ],
            observables=(
                "sha256:" + "A" * 64 + "\n"
                "CVE-2021-44228 # the library the attacker used\n"
                "mail[.]evil[.]example"
            ),
        ),
    )
    assert response.status_code == 302
    report = Report.objects.exclude(pk=earlier.pk).get()
    stored = list(
        report.observations.order_by("position").values_list(
            "observable__kind", "observable__value", "note"
        )
    )
    assert stored == [
        ("url", "https://evil.example/login", ""),
        ("domain", "evil.example", ""),
        ("ipv4", "198.51.100.7", ""),
        ("sha256", "a" * 64, ""),
        ("cve", "CVE-2021-44228", "the library the attacker used"),
        ("domain", "mail.evil.example", ""),
    ]


def test_pasted_text_whose_checklist_was_never_seen_is_shown_before_filing(
    signed_in: Client,
) -> None:
    response = signed_in.post(NEW, form_data(paste="Beaconing to hxxp://c2[.]example/x"))
    assert response.status_code == 200
    assert not Report.objects.exists()
    html = response.content.decode()
    assert 'value="url:http://c2.example/x"' in html
    assert "Check the values found in the pasted text" in text_of(response)
    assert 'data-start-step="4"' in html  # the observables step


def test_a_bad_structured_observable_is_refused_with_its_line(signed_in: Client) -> None:
    response = signed_in.post(NEW, form_data(observables="192.0.2.1\n999.1.1.1"))
    assert response.status_code == 200
    assert not Report.objects.exists()
    assert "Line 2: '999.1.1.1' is not a valid IPv4 address." in text_of(response)


def test_the_no_script_extract_button_redraws_the_page_with_the_checklist(
    signed_in: Client,
) -> None:
    response = signed_in.post(NEW, form_data(action="extract", paste="see 192.0.2.55"))
    assert response.status_code == 200
    assert not Report.objects.exists()
    assert 'value="ipv4:192.0.2.55"' in response.content.decode()
    assert not response.context["form"].errors


def test_the_no_script_preview_button_redraws_the_page_with_the_preview(
    signed_in: Client,
) -> None:
    response = signed_in.post(
        NEW,
        form_data(action="preview", kind=None, title="", marking="green", audience="government"),
    )
    assert response.status_code == 200
    assert not Report.objects.exists()
    page = text_of(response)
    # No government body and no coordinator in this network: only the reporter's own.
    assert "TLP:GREEN — visible to 1 organisation (1 person): your organisation." in page
    assert "Choose what kind of report this is." not in page  # not submitted: no complaints
    assert 'data-start-step="5"' in response.content.decode()


def test_attachments_are_stored_with_the_report(signed_in: Client) -> None:
    upload = SimpleUploadedFile("notes.txt", b"what we saw\n", content_type="text/plain")
    response = signed_in.post(NEW, {**form_data(), "attachments": [upload]})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.report == Report.objects.get()
    assert attachment.name == "notes.txt"


def test_a_refused_attachment_refuses_the_whole_report(
    signed_in: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    audit_before = AuditEntry.objects.count()
    good = SimpleUploadedFile("notes.txt", b"fine text\n", content_type="text/plain")
    bad = SimpleUploadedFile(
        "tool.exe", b"MZ\x90\x00binary", content_type="application/x-msdownload"
    )
    response = signed_in.post(NEW, {**form_data(), "attachments": [good, bad]})
    assert response.status_code == 200
    page = text_of(response)
    assert "tool.exe: Files of this type cannot be attached." in page
    assert "Nothing was stored" in page
    assert not Report.objects.exists()
    assert not Attachment.objects.exists()
    assert not Observable.objects.exists()
    assert AuditEntry.objects.count() == audit_before
    # The file written for the first attachment went with the rollback.
    directory = settings.ATTACHMENT_DIR
    assert not directory.exists() or not any(directory.iterdir())
    assert 'data-start-step="1"' in response.content.decode()


def test_red_without_recipients_is_refused_on_the_distribution_step(signed_in: Client) -> None:
    response = signed_in.post(NEW, form_data(marking="red"))
    assert response.status_code == 200
    assert not Report.objects.exists()
    assert "TLP:RED needs at least one named recipient." in text_of(response)
    assert 'data-start-step="5"' in response.content.decode()


def test_red_with_a_named_recipient(signed_in: Client, member_org: Any) -> None:
    other = good_org("Bank A", sectors=["banking"])
    member("bob", other)
    response = signed_in.post(NEW, form_data(marking="red", recipients="bob"))
    assert response.status_code == 302
    assert list(Report.objects.get().recipients.values_list("username", flat=True)) == ["bob"]


def test_every_problem_is_shown_at_once_on_the_first_step_that_has_one(signed_in: Client) -> None:
    response = signed_in.post(NEW, form_data(kind=None, title="x", marking="red"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Choose what kind of report this is." in page
    assert "Give a title of at least three characters." in page
    assert "TLP:RED needs at least one named recipient." in page
    assert 'data-start-step="0"' in response.content.decode()
    assert not Report.objects.exists()


def test_a_person_in_several_organisations_chooses_which_one_files(
    client: Client, analyst: Any, member_org: Any
) -> None:
    second = good_org("Grid Operator", sectors=["energy"])
    f.add_member(analyst, second)
    f.login(client, analyst)
    page = client.get(NEW)
    assert "Which of your organisations files it?" in text_of(page)
    assert "Choose the organisation that files this report." in preview_text(client)
    assert "Others will see the reporter as: Grid Operator." in preview_text(
        client, organisation=second.pk
    )
    refused = client.post(NEW, form_data())
    assert "Choose the organisation that files this report." in text_of(refused)
    assert not Report.objects.exists()
    assert client.post(NEW, form_data(organisation=second.pk)).status_code == 302
    assert Report.objects.get().reporter_organisation == second


# --- The audience preview -------------------------------------------------------------------


@pytest.fixture
def network(member_org: Any, coordinator: Any) -> dict[str, Any]:
    """Energy Company (the analyst's), two banks in a finance group, a ministry,
    an organisation that has not accepted the rules, and one that is not admitted."""
    bank_a = good_org("Bank A", sectors=["banking"])
    bank_b = good_org("Bank B", sectors=["banking"])
    ministry = good_org("Ministry of Finance", stakeholder_group="government-civilian")
    late = f.make_organisation("Late Bank", sectors=["banking"])
    pending = f.make_organisation("Applicant Ltd", status="pending")
    people = {
        "a1": member("a1", bank_a),
        "a2": member("a2", bank_a),
        "b1": member("b1", bank_b),
        "m1": member("m1", ministry),
        "late1": member("late1", late),
        "pending1": member("pending1", pending),
    }
    finance = WorkingGroup.objects.create(name="Finance ISAC", slug="finance-isac")
    for name, org in (("a1", bank_a), ("b1", bank_b)):
        GroupMembership.objects.create(group=finance, user=people[name], organisation=org)
    return {
        "bank_a": bank_a,
        "bank_b": bank_b,
        "ministry": ministry,
        "late": late,
        "finance": finance,
        **people,
    }


def test_preview_for_the_whole_network(signed_in: Client, network: Any) -> None:
    page = preview_text(signed_in)
    # Energy Company (ana), Bank A (2), Bank B (1), the ministry (1), the coordinator.
    assert "TLP:AMBER — visible to 4 organisations (6 people):" in page
    assert "every member organisation of the network in good standing" in page
    assert "the coordinators and your organisation." in page
    assert "Others will see the reporter as: Energy Company." in page


def test_preview_for_a_working_group_names_its_organisations(
    signed_in: Client, network: Any
) -> None:
    page = preview_text(signed_in, audience="groups", audience_groups=["finance-isac"])
    assert "visible to 3 organisations (5 people):" in page
    assert "the members of working group Finance ISAC (Bank A, Bank B)" in page
    assert "the coordinators and your organisation." in page
    assert "Ministry" not in page


def test_preview_for_chosen_organisations(signed_in: Client, network: Any) -> None:
    page = preview_text(
        signed_in, audience="organisations", audience_organisations=[network["bank_b"].slug]
    )
    assert "visible to 2 organisations (3 people):" in page
    assert "the organisations Bank B, the coordinators and your organisation." in page
    assert "Bank A" not in page


def test_preview_warns_about_a_chosen_organisation_that_cannot_read_it(
    signed_in: Client, network: Any
) -> None:
    page = preview_text(
        signed_in,
        audience="organisations",
        audience_organisations=[network["bank_b"].slug, network["late"].slug],
    )
    assert "Not able to read it at present: Late Bank" in page


def test_preview_for_government_bodies(signed_in: Client, network: Any) -> None:
    page = preview_text(signed_in, audience="government")
    assert "visible to 2 organisations (3 people):" in page
    assert "the government bodies Ministry of Finance, the coordinators" in page
    assert "Bank" not in page


def test_preview_for_the_coordinators_only(signed_in: Client, network: Any) -> None:
    page = preview_text(signed_in, audience="coordination", marking="amber+strict")
    assert "TLP:AMBER+STRICT — visible to 1 organisation (2 people):" in page
    assert "the coordinators and your organisation." in page


def test_preview_for_red_lists_the_named_people(
    signed_in: Client, network: Any, member_org: Any
) -> None:
    member("colleague", member_org)
    page = preview_text(signed_in, marking="red", recipients="a1, m1, colleague")
    # Energy Company's two people (one of them named) and the two others named.
    assert "TLP:RED — visible only to the people you name (4 people in all):" in page
    # Other organisations' rosters are not the reporter's to see: only the user names.
    assert "a1, Colleague (Energy Company), m1 and your organisation." in page
    assert "Bank A" not in page and "Ministry" not in page
    assert "the coordinators" not in page


def test_preview_for_red_without_recipients_says_what_is_missing(
    signed_in: Client, network: Any
) -> None:
    page = preview_text(signed_in, marking="red")
    assert "TLP:RED needs at least one named recipient." in page


def test_preview_for_clear_is_public(signed_in: Client, network: Any) -> None:
    page = preview_text(signed_in, marking="clear")
    assert "TLP:CLEAR — public: anyone can read it, also outside the network" in page


@pytest.mark.parametrize(
    ("attribution", "expected"),
    [
        ("named", "Others will see the reporter as: Energy Company."),
        (
            "pseudonymous",
            "Others will see the reporter as: A member from the energy sector, private sector. "
            "Only the coordinators can find out who filed it",
        ),
        (
            "anonymous",
            "Nobody, not even the coordinator, will see who filed it; your organisation will "
            "find it under My organisation's reports.",
        ),
    ],
)
def test_preview_says_how_the_reporter_will_appear(
    signed_in: Client, network: Any, attribution: str, expected: str
) -> None:
    page = preview_text(signed_in, attribution=attribution)
    assert expected in page
    # The reporter's organisation sees its report whatever the attribution.
    assert "your organisation." in page


def test_the_preview_is_a_dry_run_that_leaves_nothing_behind(
    signed_in: Client, network: Any
) -> None:
    Subscription.objects.create(user=network["a1"], name="Everything")
    audit_before = AuditEntry.objects.count()
    for attribution in ("named", "pseudonymous", "anonymous"):
        preview_text(signed_in, attribution=attribution)
    assert not Report.objects.exists()
    assert not ReportVersion.objects.exists()
    assert not Notification.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_preview_counts_agree_with_the_policy_person_by_person(analyst: Any, network: Any) -> None:
    # Someone in two organisations, one of them not in good standing, and a superuser.
    f.add_member(network["late1"], network["bank_b"])
    f.make_user("root", is_superuser=True)
    draft = ReportDraft(
        kind="incident",
        title="Check",
        marking="green",
        audience="groups",
        audience_groups=["finance-isac"],
    )
    preview = audience_preview(analyst, draft, None)
    report = create_report(analyst, draft)
    seeing = [
        person
        for person in get_user_model().objects.filter(is_active=True)
        if policy.reports_visible_to(person).filter(pk=report.pk).exists()
    ]
    assert preview.people == len(seeing)
    assert preview.coordinators


def test_a_confidential_group_does_not_reveal_its_members(
    client: Client, analyst: Any, member_org: Any, network: Any
) -> None:
    secret = WorkingGroup.objects.create(
        name="Quiet Circle", slug="quiet-circle", visibility=WorkingGroup.Visibility.CONFIDENTIAL
    )
    GroupMembership.objects.create(group=secret, user=analyst, organisation=member_org)
    GroupMembership.objects.create(group=secret, user=network["a1"], organisation=network["bank_a"])
    GroupMembership.objects.create(group=secret, user=network["b1"], organisation=network["bank_b"])
    f.login(client, analyst)
    page = preview_text(client, audience="groups", audience_groups=["quiet-circle"])
    assert "the members of working group Quiet Circle (2 organisations)" in page
    assert "Bank A" not in page and "Bank B" not in page
    assert "The organisations in a confidential working group are not named." in page


def test_someone_outside_a_confidential_group_cannot_choose_it(
    client: Client, network: Any
) -> None:
    secret = WorkingGroup.objects.create(
        name="Quiet Circle", slug="quiet-circle", visibility=WorkingGroup.Visibility.CONFIDENTIAL
    )
    GroupMembership.objects.create(group=secret, user=network["a1"], organisation=network["bank_a"])
    f.login(client, network["b1"])
    assert "quiet-circle" not in client.get(NEW).content.decode()
    page = preview_text(client, audience="groups", audience_groups=["quiet-circle"])
    assert "is not one of the available choices" in page
    assert "Bank A" not in page and "Quiet Circle" not in page
    response = client.post(NEW, form_data(audience="groups", audience_groups=["quiet-circle"]))
    assert response.status_code == 200
    assert "is not one of the available choices" in text_of(response)
    assert not Report.objects.exists()


def test_an_unknown_group_is_refused(signed_in: Client, network: Any) -> None:
    page = preview_text(signed_in, audience="groups", audience_groups=["no-such-group"])
    assert "is not one of the available choices" in page
    response = signed_in.post(NEW, form_data(audience="groups", audience_groups=["no-such-group"]))
    assert response.status_code == 200
    assert not Report.objects.exists()


# --- Editing -------------------------------------------------------------------------------


@pytest.fixture
def report(analyst: Any) -> Report:
    return create_report(
        analyst,
        ReportDraft(
            kind="incident",
            title="Ransomware at a pumping station",
            marking="amber",
            effects=["data-attack"],
            severity={"actor": "criminal"},
            observables=[ObservableInput("evil.example", note="the drop site")],
        ),
    )


def edit_url(report: Report) -> str:
    return reverse("sharing:edit", kwargs={"pk": report.pk})


def test_the_edit_page_is_filled_in_and_keeps_attribution_fixed(
    signed_in: Client, report: Report
) -> None:
    response = signed_in.get(edit_url(report))
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_inline_code(html)
    assert 'value="Ransomware at a pumping station"' in html
    assert "domain:evil.example # the drop site" in html
    assert 'name="attribution"' not in html
    assert "Attribution cannot be changed by editing." in text_of(response)
    assert 'name="note"' in html
    assert f'name="report" value="{report.pk}"' in html


def test_editing_creates_a_version(signed_in: Client, report: Report) -> None:
    data = form_data(
        title="Ransomware at two pumping stations",
        summary="",
        effects=["data-attack"],
        severity_actor="criminal",
        observables="domain:evil.example # the drop site",
        note="A second station was hit",
    )
    data.pop("attribution")
    response = signed_in.post(edit_url(report), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("sharing:detail", kwargs={"pk": report.pk})
    report.refresh_from_db()
    assert report.title == "Ransomware at two pumping stations"
    assert report.version == 2
    version = report.versions.get(number=2)
    assert version.note == "A second station was hit"
    assert version.changed == ["title"]


def test_relaxing_the_marking_is_flagged(signed_in: Client, report: Report) -> None:
    page = preview_text(signed_in, marking="green", report=str(report.pk))
    assert "You are relaxing the marking from TLP:AMBER to TLP:GREEN" in page
    data = form_data(
        marking="green",
        effects=["data-attack"],
        severity_actor="criminal",
        observables="domain:evil.example # the drop site",
    )
    response = signed_in.post(edit_url(report), data, follow=True)
    assert "relaxed from TLP:AMBER to TLP:GREEN; this is recorded" in " ".join(
        str(m) for m in response.context["messages"]
    )
    assert AuditEntry.objects.filter(action="report.marking_relaxed").count() == 1


def test_saving_without_changes_says_so(signed_in: Client, report: Report) -> None:
    data = form_data(
        effects=["data-attack"],
        severity_actor="criminal",
        observables="domain:evil.example # the drop site",
    )
    data["title"] = report.title
    data["summary"] = ""
    response = signed_in.post(edit_url(report), data)
    assert response.status_code == 200
    assert "Nothing changed." in text_of(response)
    report.refresh_from_db()
    assert report.version == 1


def test_someone_who_did_not_file_it_gets_404(client: Client, report: Report, rules: Any) -> None:
    other = good_org("Bank A", sectors=["banking"])
    outsider = member("outsider", other)
    f.login(client, outsider)
    # They can read the report (AMBER to the whole network) but not edit it.
    assert policy.get_report(outsider, report.pk) == report
    assert client.get(edit_url(report)).status_code == 404
    assert client.post(edit_url(report), form_data(title="Hijacked")).status_code == 404
    assert client.post(PREVIEW, {"marking": "clear", "report": str(report.pk)}).status_code == 404
    report.refresh_from_db()
    assert report.title == "Ransomware at a pumping station"


def test_a_colleague_can_edit_an_anonymous_report_of_their_organisation(
    client: Client, analyst: Any, member_org: Any
) -> None:
    anonymous = create_report(
        analyst,
        ReportDraft(kind="vulnerability", title="Weak default password", attribution="anonymous"),
    )
    colleague = member("colleague", member_org)
    f.login(client, colleague)
    assert client.get(edit_url(anonymous)).status_code == 200
    # The preview keeps the reporter unnamed, also for its own organisation.
    page = preview_text(client, kind="vulnerability", report=str(anonymous.pk))
    assert "Nobody, not even the coordinator, will see who filed it" in page
    assert "Others will see the reporter as" not in page
    response = client.post(
        edit_url(anonymous), form_data(kind="vulnerability", title="Weak default passwords")
    )
    assert response.status_code == 302
    anonymous.refresh_from_db()
    assert anonymous.version == 2
    assert anonymous.versions.get(number=2).author is None
