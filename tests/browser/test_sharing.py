"""Trusted sharing in a real browser: filing through the guided form, who sees a
pseudonymous report and its correlations, the coordinator's audited look-up,
and an anonymous report that nobody can trace (console errors, e.g. CSP
violations, fail a test: see conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from accord.membership.models import Organisation
from accord.sharing.models import Report
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.reports import create_report
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PHISHING_URL = "hxxp://login-portal[.]example/verify"
PHISHING_IP = "203.0.113[.]50"
IP = "203.0.113.50"
PASTE = (
    "Several staff received mail linking to "
    f"{PHISHING_URL} — the kit posts the stolen passwords to {PHISHING_IP} over HTTPS."
)
PSEUDONYM = "A member from the energy sector, private sector"
REPORT_URL = re.compile(r"/reports/[0-9a-f-]{36}/$")


@dataclass
class Network:
    aurora: Organisation  # org A: files the reports
    borealis: Organisation  # org B: in the working group
    cygnus: Organisation  # org C: in good standing, not in the group
    group: WorkingGroup
    anneke: Any  # analyst of A, in the group
    aart: Any  # another analyst of A
    rita: Any  # representative of A
    rita_device: TOTPDevice
    bram: Any  # analyst of B, in the group
    cas: Any  # analyst of C
    coordinator: Any
    coordinator_device: TOTPDevice


def build_network() -> Network:
    f.publish_rules()
    aurora = f.make_organisation(
        "Aurora Grid Operator",
        slug="aurora-grid",
        sectors=["energy"],
        stakeholder_group="private-sector",
    )
    borealis = f.make_organisation(
        "Borealis Savings Bank", slug="borealis-bank", sectors=["banking"]
    )
    cygnus = f.make_organisation(
        "Cygnus Water Works", slug="cygnus-water", sectors=["drinking-water"]
    )
    for org in (aurora, borealis, cygnus):
        f.accept_rules(org)
    anneke = f.make_user("anneke", full_name="Anneke Vermeulen")
    f.add_member(anneke, aurora, analyst=True)
    aart = f.make_user("aart", full_name="Aart Bosman")
    f.add_member(aart, aurora, analyst=True)
    rita = f.make_user("rita", full_name="Rita Reinders")
    f.add_member(rita, aurora, representative=True, analyst=False, admin=True)
    bram = f.make_user("bram", full_name="Bram de Boer")
    f.add_member(bram, borealis, analyst=True)
    cas = f.make_user("cas", full_name="Cas Claessens")
    f.add_member(cas, cygnus, analyst=True)
    coordinator = f.make_user("coord", coordinator=True, full_name="Cora Coordinator")
    group = WorkingGroup.objects.create(name="Grid Defenders", slug="grid-defenders")
    GroupMembership.objects.create(group=group, user=anneke, organisation=aurora)
    GroupMembership.objects.create(group=group, user=bram, organisation=borealis)
    return Network(
        aurora=aurora,
        borealis=borealis,
        cygnus=cygnus,
        group=group,
        anneke=anneke,
        aart=aart,
        rita=rita,
        rita_device=f.confirmed_device(rita),
        bram=bram,
        cas=cas,
        coordinator=coordinator,
        coordinator_device=f.confirmed_device(coordinator),
    )


def group_report_by_borealis(net: Network) -> Report:
    """Borealis saw the same address: a report the group (not Cygnus) may read."""
    return create_report(
        net.bram,
        ReportDraft(
            kind="incident",
            title="Credential theft against our tellers",
            summary="Passwords were sent to a server we had not seen before.",
            marking="amber",
            audience="groups",
            audience_groups=["grid-defenders"],
            observables=[ObservableInput(PHISHING_IP)],
        ),
    )


def pseudonymous_report_by_aurora(net: Network) -> Report:
    """What the wizard files in the first test, filed here through the service."""
    return create_report(
        net.anneke,
        ReportDraft(
            kind="incident",
            title="Phishing wave aimed at control-room staff",
            summary="Staff were sent to a fake sign-in page.",
            marking="amber",
            audience="groups",
            audience_groups=["grid-defenders"],
            attribution="pseudonymous",
            observables=[ObservableInput(PHISHING_URL), ObservableInput(PHISHING_IP)],
        ),
    )


# --- Helpers -------------------------------------------------------------------------------


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def sign_in(page: Page, username: str, device: TOTPDevice | None = None) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
        page.get_by_label("Code").fill(code_for(device))
        page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def next_step(page: Page, heading: str) -> None:
    """Click the one visible Next button and wait for the step that follows."""
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def observable_row(page: Page, value: str) -> Any:
    exact = re.compile(rf"^{re.escape(value)}$")
    return page.locator("table.observables tbody tr").filter(
        has=page.locator("code.value", has_text=exact)
    )


def assert_absent(html: str, *needles: str) -> None:
    for needle in needles:
        assert needle.lower() not in html.lower(), f"{needle!r} appears in the page"


# --- 1 and 2: file a pseudonymous report for one group; a group member reads it ------------


def test_analyst_files_pseudonymous_group_report_and_group_member_sees_correlation(
    page: Page, live_server: Any
) -> None:
    net = build_network()
    theirs = group_report_by_borealis(net)

    sign_in(page, "anneke")
    page.goto("/reports/")
    page.get_by_role("link", name="New report").click()
    expect(page.get_by_role("heading", name="Share a report", level=1)).to_be_visible()

    # Step 1: only this step shows; the others wait behind Next.
    expect(page.get_by_role("heading", name="1. Kind")).to_be_visible()
    expect(page.get_by_role("heading", name="2. What happened")).to_be_hidden()
    page.get_by_label("Incident", exact=True).check()
    next_step(page, "2. What happened")

    page.get_by_label("Title").fill("Phishing wave aimed at control-room staff")
    page.locator("#id_summary").fill("Staff were sent to a **fake** sign-in page.")
    page.get_by_label("Energy", exact=True).check()
    next_step(page, "3. Classification")
    next_step(page, "4. Severity")
    next_step(page, "5. Observables")

    # Pasted, defanged text: the values are picked out and offered as a checklist,
    # with what the analyst can already see elsewhere.
    page.get_by_label("Paste text").fill(PASTE)
    page.get_by_role("button", name="Find observables in the text").click()
    extracted = page.locator("#extracted")
    expect(extracted).to_contain_text("Found 3 values")
    for value in ("http://login-portal.example/verify", "login-portal.example", IP):
        expect(extracted.get_by_label(value, exact=True)).to_be_checked()
    ip_row = extracted.locator("tr").filter(has=page.locator("code", has_text=IP))
    expect(ip_row).to_contain_text("seen in 1 other report you can see")
    expect(ip_row).to_contain_text(f"written as {PHISHING_IP}")
    next_step(page, "6. Distribution")

    # TLP:AMBER, one working group, pseudonymous; the preview says who reads it and how
    # the reporter appears.
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Members of chosen working groups").check()
    page.get_by_label("Grid Defenders").check()
    page.get_by_label("Pseudonymous", exact=False).check()
    preview = page.locator("#audience-preview")
    expect(preview).to_contain_text("the members of working group Grid Defenders")
    expect(preview).to_contain_text("Borealis Savings Bank")
    expect(preview).to_contain_text(f"Others will see the reporter as: {PSEUDONYM}")
    expect(preview).not_to_contain_text("Cygnus Water Works")
    next_step(page, "7. Review and submit")
    expect(page.locator("#wizard-review")).to_contain_text("Found in the text: 3")
    page.get_by_role("button", name="Share the report").click()

    # The report's page, as its own organisation sees it.
    expect(page).to_have_url(REPORT_URL)
    expect(page.locator(".messages")).to_contain_text("was shared")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Phishing wave aimed at control-room staff"
    )
    expect(page.locator("#reporter")).to_contain_text("Your organisation")
    expect(page.locator("#reporter")).to_contain_text(f"Others see: {PSEUDONYM}")
    report = Report.objects.get(title="Phishing wave aimed at control-room staff")
    assert report.attribution == "pseudonymous"
    assert report.marking == "amber"
    assert report.audience == "groups"
    assert list(report.audience_groups.values_list("slug", flat=True)) == ["grid-defenders"]
    assert sorted(report.observations.values_list("observable__value", flat=True)) == sorted(
        ["http://login-portal.example/verify", "login-portal.example", IP]
    )
    sign_out(page)

    # 2. A member of the group from Borealis finds it in the feed.
    sign_in(page, "bram")
    page.goto("/reports/")
    reports = page.locator("#reports")
    row = reports.locator("tr").filter(has_text="Phishing wave aimed at control-room staff")
    expect(row).to_contain_text(PSEUDONYM)
    assert_absent(page.content(), "Aurora Grid Operator", "aurora-grid", "Anneke Vermeulen")
    row.get_by_role("link", name="Phishing wave aimed at control-room staff").click()
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/$"))
    expect(page.locator("#reporter")).to_have_text(PSEUDONYM)
    expect(page.locator("#summary strong")).to_have_text("fake")

    # The shared address correlates with Borealis's own report; the rest with nothing.
    ip_row = observable_row(page, IP)
    expect(ip_row.locator(".correlation-hit")).to_contain_text("Seen in 1 other report")
    expect(ip_row.get_by_role("link", name=theirs.title)).to_be_visible()
    expect(observable_row(page, "login-portal.example")).to_contain_text(
        "Not in any other report you can see."
    )
    assert_absent(page.content(), "Aurora Grid Operator", "aurora-grid", "Anneke Vermeulen")
    expect(page.get_by_role("button", name="Find out who filed this")).to_have_count(0)


# --- 3: outside the group, the report does not exist ---------------------------------------


def test_non_member_neither_sees_nor_counts_the_group_report(
    browser: Browser, live_server: Any
) -> None:
    net = build_network()
    hidden = pseudonymous_report_by_aurora(net)
    group_report_by_borealis(net)
    own = create_report(
        net.cas,
        ReportDraft(
            kind="incident",
            title="Outbound traffic to an unknown host",
            marking="amber",
            observables=[ObservableInput(IP)],
        ),
    )

    # Its own context: the 404 below is expected, so only that one console error is allowed.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    not_found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            (not_found if "status of 404" in message.text else errors).append(message.text)

    page.on("console", on_console)
    try:
        sign_in(page, "cas")

        response = page.goto(f"/reports/{hidden.pk}/")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
        assert_absent(page.content(), hidden.title, PSEUDONYM)

        # Not in the feed, which does list the report Cygnus may see.
        page.goto("/reports/")
        expect(page.locator("#reports")).to_contain_text(own.title)
        expect(page.locator("main")).not_to_contain_text(hidden.title)

        # On Cygnus's own report the shared address counts no report it may not see.
        page.get_by_role("link", name=own.title).click()
        expect(page).to_have_url(re.compile(rf"/reports/{own.pk}/$"))
        row = observable_row(page, IP)
        expect(row).to_contain_text("Not in any other report you can see.")
        expect(row.locator(".correlation-hit")).to_have_count(0)
        assert_absent(page.content(), hidden.title)

        # Searching the feed for the address finds Cygnus's own report only.
        page.goto("/reports/")
        page.get_by_role("searchbox", name="Search").fill(IP)
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page).to_have_url(re.compile(r"q=203\.0\.113\.50"))
        expect(page.locator("main")).to_contain_text("1 report")
        expect(page.locator("#reports")).to_contain_text(own.title)
        expect(page.locator("main")).not_to_contain_text(hidden.title)
    finally:
        context.close()
    assert not errors, f"browser console errors: {errors}"
    assert len(not_found) == 1, not_found  # the report's page, and nothing else


# --- 4: the coordinator's audited look-up ----------------------------------------------------


def test_coordinator_looks_up_pseudonymous_reporter_and_both_see_it_audited(
    page: Page, live_server: Any
) -> None:
    net = build_network()
    report = pseudonymous_report_by_aurora(net)

    sign_in(page, "coord", net.coordinator_device)
    page.goto(f"/reports/{report.pk}/")
    reporter = page.locator("#reporter")
    expect(reporter).to_contain_text(PSEUDONYM)
    assert_absent(page.content(), "Aurora Grid Operator", "Anneke Vermeulen")

    # The button asks first; dismissing it looks nothing up.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Find out who filed this").click()
    expect(page).to_have_url(re.compile(rf"/reports/{report.pk}/$"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Find out who filed this").click()
    expect(page.get_by_role("heading", name="Who filed this", level=1)).to_be_visible()
    found = page.locator("#looked-up")
    expect(found).to_contain_text("Aurora Grid Operator")
    expect(found).to_contain_text("Anneke Vermeulen")

    page.goto("/audit/")
    entries = page.locator("#audit-entries tbody tr").filter(
        has=page.locator("code", has_text="report.reporter_looked_up")
    )
    expect(entries).to_have_count(1)
    expect(entries).to_contain_text(report.title)
    expect(entries).to_contain_text("Aurora Grid Operator")
    sign_out(page)

    # The reporting organisation's representative sees that someone looked.
    sign_in(page, "rita", net.rita_device)
    page.goto("/audit/")
    entries = page.locator("#audit-entries tbody tr").filter(
        has=page.locator("code", has_text="report.reporter_looked_up")
    )
    expect(entries).to_have_count(1)
    expect(entries).to_contain_text(report.title)


# --- 5: anonymous ------------------------------------------------------------------------------


def test_anonymous_report_cannot_be_traced_even_by_the_coordinator(
    page: Page, live_server: Any
) -> None:
    net = build_network()
    # A named report for contrast: its filing is in the audit trail, under its title.
    named = create_report(
        net.aart,
        ReportDraft(kind="advisory", title="Patch the historian servers", marking="green"),
    )

    sign_in(page, "anneke")
    page.goto("/reports/new/")
    page.get_by_label("Incident", exact=True).check()
    next_step(page, "2. What happened")
    page.get_by_label("Title").fill("Insider copied substation diagrams")
    next_step(page, "3. Classification")
    next_step(page, "4. Severity")
    next_step(page, "5. Observables")
    next_step(page, "6. Distribution")
    page.get_by_label("The whole network").check()
    page.get_by_label("Anonymous", exact=False).check()
    expect(page.locator("#audience-preview")).to_contain_text(
        "Nobody, not even the coordinator, will see who filed it"
    )
    next_step(page, "7. Review and submit")
    page.get_by_role("button", name="Share the report").click()
    expect(page).to_have_url(REPORT_URL)
    expect(page.locator("#reporter")).to_contain_text("Your organisation (anonymous)")
    report = Report.objects.get(title="Insider copied substation diagrams")
    assert report.attribution == "anonymous"
    assert report.reporter_organisation_id is None and report.created_by_id is None
    sign_out(page)

    # The coordinator sees an anonymous member, a day without a time, and no way to look.
    sign_in(page, "coord", net.coordinator_device)
    page.goto(f"/reports/{report.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(report.title)
    expect(page.locator("#reporter")).to_have_text("An anonymous member")
    expect(page.get_by_role("button", name="Find out who filed this")).to_have_count(0)
    shared = page.locator("dl.facts dt:text-is('Shared') + dd time")
    expect(shared).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    expect(shared).to_have_text(re.compile(r"^\d{1,2} \w{3} \d{4}$"))
    assert_absent(
        page.content(), "Aurora Grid Operator", "aurora-grid", "Anneke Vermeulen", "anneke"
    )

    # Its history neither: "the reporter", on a day.
    page.locator("#versions-link").click()
    version = page.locator("#versions tbody tr").first
    expect(version).to_contain_text("the reporter")
    expect(version.locator("time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$")
    )
    assert_absent(page.content(), "Aurora Grid Operator", "Anneke Vermeulen", "anneke")

    # In the feed too: the day only, no name (the named report next to it keeps its own).
    page.goto("/reports/")
    row = page.locator("#reports tr").filter(has_text=report.title)
    expect(row).to_contain_text("An anonymous member")
    expect(row.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    assert_absent(row.inner_html(), "Aurora Grid Operator", "anneke")

    # The audit trail records the named filing, and nothing of the anonymous one.
    page.goto("/audit/")
    expect(page.locator("#audit-entries")).to_contain_text(named.title)
    assert_absent(page.locator("main").inner_html(), report.title, str(report.pk))
    sign_out(page)

    # A colleague at Aurora finds it among the organisation's reports.
    sign_in(page, "aart")
    page.goto("/reports/")
    page.get_by_role("link", name="My organisation's reports").click()
    expect(page).to_have_url(re.compile(r"/reports/mine/$"))
    row = page.locator("#reports tr").filter(has_text=report.title)
    expect(row).to_contain_text("Your organisation (anonymous)")
    row.get_by_role("link", name=report.title).click()
    expect(page.locator("#reporter")).to_contain_text("Your organisation (anonymous)")
    expect(page.locator("#reporter")).to_contain_text("Others see: An anonymous member")


# --- A phone ------------------------------------------------------------------------------------


def test_report_form_is_usable_on_a_phone(browser: Browser, live_server: Any) -> None:
    build_network()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill("anneke")
        page.get_by_label("Password").fill(f.PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/reports/new/")
        headings = [
            "1. Kind",
            "2. What happened",
            "3. Classification",
            "4. Severity",
            "5. Observables",
            "6. Distribution",
            "7. Review and submit",
        ]
        for number, heading in enumerate(headings):
            expect(page.get_by_role("heading", name=heading)).to_be_visible()
            # Nothing sticks out sideways: the page scrolls only down.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"step {heading!r} is {width}px wide"
            if number == 0:
                page.get_by_label("Incident", exact=True).check()
            if number == 1:
                page.get_by_label("Title").fill("Seen from a phone")
            if number < len(headings) - 1:
                button = page.get_by_role("button", name="Next")
                button.scroll_into_view_if_needed()
                expect(button).to_be_in_viewport()
                button.click()
        submit = page.get_by_role("button", name="Share the report")
        submit.scroll_into_view_if_needed()
        expect(submit).to_be_in_viewport()
        submit.click()
        expect(page).to_have_url(REPORT_URL)
        expect(page.get_by_role("heading", level=1)).to_have_text("Seen from a phone")
    finally:
        context.close()
    assert not errors, f"browser console errors: {errors}"
