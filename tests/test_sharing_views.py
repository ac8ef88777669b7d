"""The pages of trusted sharing through the test client: the feed and its filters,
a report with correlations, sightings, comments and attachments, the reporter's
actions, the version history and the coordinators' settings — as a visitor, a
member not in good standing, members inside and outside a report's audience,
the reporter and a coordinator."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accord.audit.models import AuditEntry
from accord.sharing.models import Attachment, Comment, NetworkSettings, Report, Sighting
from accord.sharing.services import participation
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.reports import create_report, update_report
from accord.workgroups import services as group_services
from tests import factories as f

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
ALL_HIGH = {
    "functional-impact": "denial-of-critical",
    "observed-activity": "effect",
    "location": "safety-systems",
    "actor": "nation-state",
    "information-impact": "destruction-of-critical",
    "recoverability": "not-recoverable",
    "cross-sector-dependency": "high",
    "potential-impact": "high",
}


# --- People and organisations ------------------------------------------------------------


def fresh(user: Any) -> Any:
    """The policy caches what a person may see on the user object; reload after changes."""
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def water_org(rules: list) -> Any:
    org = f.make_organisation("Water Board", sectors=["drinking-water"])
    f.accept_rules(org)
    return org


@pytest.fixture
def other(water_org: Any) -> Any:
    """A member of another organisation in good standing."""
    user = f.make_user("walt", full_name="Walt Water")
    f.add_member(user, water_org)
    return user


@pytest.fixture
def bank_org(rules: list) -> Any:
    org = f.make_organisation("Big Bank", sectors=["banking"])
    f.accept_rules(org)
    return org


@pytest.fixture
def stranger(bank_org: Any) -> Any:
    """In good standing, but in no working group and named nowhere."""
    user = f.make_user("bea", full_name="Bea Banker")
    f.add_member(user, bank_org)
    return user


@pytest.fixture
def lagging(rules: list) -> Any:
    """A member whose organisation has not accepted the rules: not in good standing."""
    org = f.make_organisation("Slow Telecom", sectors=["telecom"])
    user = f.make_user("sam", full_name="Sam Slow")
    f.add_member(user, org)
    return user


@pytest.fixture
def group(other: Any) -> Any:
    """An open working group whose only member organisation is the Water Board."""
    return group_services.create_group(
        name="Water Security", description="", visibility="open", by=other
    )


def share(user: Any, title: str, **fields: Any) -> Report:
    fields.setdefault("kind", "incident")
    fields.setdefault("marking", "green")
    observables = [ObservableInput(value=v) for v in fields.pop("observables", [])]
    return create_report(fresh(user), ReportDraft(title=title, observables=observables, **fields))


def login(client: Any, user: Any) -> Any:
    f.login(client, user)
    return client


def page(client: Any, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def detail_url(report: Report) -> str:
    return reverse("sharing:detail", args=[report.pk])


def without_csrf(html: str) -> str:
    """Pages carry a per-request CSRF token; everything else must be identical."""
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


# --- The feed -------------------------------------------------------------------------------


@pytest.fixture
def spread(analyst: Any, other: Any, group: Any, water_org: Any, coordinator: Any) -> dict:
    """One report per way of sharing, all filed by the Energy Company's analyst."""
    return {
        "clear": share(analyst, "Public phishing wave", marking="clear"),
        "green": share(analyst, "Green network note"),
        "group": share(
            analyst,
            "Amber for water group",
            marking="amber",
            audience="groups",
            audience_groups=[group.slug],
        ),
        "orgs": share(
            analyst,
            "Strict for water board",
            marking="amber+strict",
            audience="organisations",
            audience_organisations=[water_org.slug],
        ),
        "red": share(analyst, "Red for Walt only", marking="red", recipients=["walt"]),
        "coordination": share(
            analyst, "Coordinators only", marking="amber", audience="coordination"
        ),
        "government": share(analyst, "Government eyes", marking="amber", audience="government"),
    }


FEED_CASES = {
    "visitor": {"clear"},
    "lagging": {"clear"},
    "stranger": {"clear", "green"},
    "other": {"clear", "green", "group", "orgs", "red"},
    "coordinator": {"clear", "green", "group", "orgs", "coordination", "government"},
    "analyst": {"clear", "green", "group", "orgs", "red", "coordination", "government"},
}


@pytest.mark.parametrize("viewer", sorted(FEED_CASES))
def test_feed_shows_what_marking_and_audience_allow(
    client: Any, spread: dict, viewer: str, request: Any
) -> None:
    if viewer != "visitor":
        login(client, request.getfixturevalue(viewer))
    html = page(client, reverse("sharing:feed"))
    shown = {key for key, report in spread.items() if report.title in html}
    assert shown == FEED_CASES[viewer]
    for key in shown - {"clear"}:  # and each listed report opens
        assert spread[key].title in page(client, detail_url(spread[key]))
    for key in set(spread) - shown:
        page(client, detail_url(spread[key]), status=404)


def test_feed_rows_and_new_report_button(
    client: Any, analyst: Any, other: Any, spread: dict
) -> None:
    html = page(login(client, other), reverse("sharing:feed"))
    assert 'class="tlp tlp-clear"' in html and 'class="tlp tlp-amber-strict"' in html
    assert "TLP:RED" in html and "Energy Company" in html
    assert "New report" in html  # an analyst in good standing may share
    mine = page(login(client, analyst), reverse("sharing:feed"))
    assert "Your organisation" in mine
    visitor = page(client.__class__(), reverse("sharing:feed"))
    assert "New report" not in visitor and "TLP:CLEAR" in visitor


def test_feed_paginates_by_fifty(client: Any, analyst: Any) -> None:
    for n in range(52):
        share(analyst, f"Bulk report {n:02d}", marking="clear")
    first = page(client, reverse("sharing:feed"))
    assert first.count("Bulk report") == 50 and "Page 1 of 2" in first
    second = page(client, reverse("sharing:feed") + "?page=2")
    assert second.count("Bulk report") == 2


@pytest.fixture
def catalogue(analyst: Any) -> dict:
    return {
        "ransom": share(
            analyst,
            "Ransomware at the plant",
            summary="Encrypted the historian servers.",
            sectors=["energy"],
            effects=["data-attack"],
            incident_type="malicious-code:infected-system",
            severity=ALL_HIGH,
            observables=["198.51.100.7", "bad-updates.example"],
        ),
        "advisory": share(
            analyst,
            "Patch your VPN appliances",
            kind="advisory",
            marking="amber",
            summary="A flaw in widely used appliances.",
            sectors=["banking"],
            observables=["CVE-2024-3400"],
        ),
        "measure": share(
            analyst,
            "Segmenting control networks",
            kind="measure",
            marking="clear",
            sectors=["drinking-water"],
            attribution="pseudonymous",
        ),
    }


FILTER_CASES = [
    ("kind=advisory", {"advisory"}),
    ("marking=clear", {"measure"}),
    ("q=appliances", {"advisory"}),
    ("q=historian", {"ransom"}),
    ("q=198.51.100.7", {"ransom"}),
    ("q=198.51.100%5B.%5D7", {"ransom"}),  # defanged: 198.51.100[.]7
    ("q=bad-updates%5B.%5Dexample", {"ransom"}),
    ("q=cve-2024-3400", {"advisory"}),
    ("sector=banking", {"advisory"}),
    ("effect=data-attack", {"ransom"}),
    ("min_level=5", {"ransom"}),
    ("type=malicious-code", {"ransom"}),
    ("type=malicious-code:infected-system", {"ransom"}),
    ("attribution=pseudonymous", {"measure"}),
    ("kind=incident&marking=amber", set()),
    ("since=2000-01-01&until=2100-01-01", {"ransom", "advisory", "measure"}),
    ("until=2001-01-01", set()),
]


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES)
def test_feed_filters(
    client: Any, analyst: Any, catalogue: dict, query: str, expected: set
) -> None:
    html = page(login(client, analyst), reverse("sharing:feed") + "?" + query)
    assert {key for key, report in catalogue.items() if report.title in html} == expected
    assert 'id="filter-errors"' not in html


@pytest.mark.parametrize(
    "query",
    [
        "kind=bogus",
        "marking=purple",
        "sector=atlantis",
        "effect=magic",
        "type=nonsense",
        "min_level=9",
        "min_level=abc",
        "since=yesterday",
        "until=2024-02-30",
        "since=2024-05-01&until=2024-04-01",
        "since=0001-01-01",
        "until=9999-12-31",
        "q=" + "x" * 600,
        "attribution=secret",
    ],
)
def test_invalid_filters_are_form_errors(
    client: Any, analyst: Any, catalogue: dict, query: str
) -> None:
    html = page(login(client, analyst), reverse("sharing:feed") + "?" + query)
    assert 'id="filter-errors"' in html and 'class="errorlist' in html
    assert catalogue["ransom"].title not in html


# --- A report -------------------------------------------------------------------------------


def test_detail_of_invisible_and_missing_reports_is_the_same_404(
    client: Any, analyst: Any, stranger: Any, water_org: Any
) -> None:
    hidden = share(
        analyst,
        "Strict for water board",
        marking="amber+strict",
        audience="organisations",
        audience_organisations=[water_org.slug],
    )
    login(client, stranger)
    invisible = client.get(detail_url(hidden))
    missing = client.get(reverse("sharing:detail", args=[uuid.uuid4()]))
    assert invisible.status_code == missing.status_code == 404
    assert without_csrf(invisible.content.decode()) == without_csrf(missing.content.decode())
    assert hidden.title not in invisible.content.decode()
    for name in ("versions",):
        assert client.get(reverse(f"sharing:{name}", args=[hidden.pk])).status_code == 404


def test_detail_shows_classification_severity_and_audience(
    client: Any, analyst: Any, other: Any, coordinator: Any, group: Any
) -> None:
    report = share(
        analyst,
        "Ransomware at the plant",
        marking="amber",
        audience="groups",
        audience_groups=[group.slug],
        summary="**Encrypted** the <script>alert(1)</script> historian.",
        sectors=["energy"],
        effects=["data-attack"],
        incident_type="malicious-code:infected-system",
        task_areas=["incident-response"],
        core_components=["naming-numbering"],
        severity={"functional-impact": "denial-of-critical"},
        country_of_origin="NL",
        references=["https://example.org/advisory"],
    )
    html = page(login(client, other), detail_url(report))
    assert "<strong>Encrypted</strong>" in html and "<script>alert" not in html
    assert "Data attack" in html and "Malicious Code: Infected System" in html
    assert "Naming and numbering" in html and "Netherlands" in html
    assert 'href="https://example.org/advisory" rel="noopener noreferrer nofollow"' in html
    assert 'id="severity-breakdown"' in html and "Functional impact" in html
    assert "not an official calibration" in html
    assert "Members of chosen working groups" in html
    assert "Water Security" not in html  # group names only for the reporter and coordinators
    assert "Energy Company" in html  # a named reporter
    for viewer in (analyst, coordinator):
        assert "Water Security" in page(login(client, viewer), detail_url(report))
    reporter_view = page(login(client, analyst), detail_url(report))
    assert "Your organisation" in reporter_view and "Others see:" in reporter_view
    assert reverse("sharing:edit", args=[report.pk]) in reporter_view
    assert reverse("sharing:edit", args=[report.pk]) not in html


def test_correlations_count_only_reports_the_viewer_may_see(
    client: Any, analyst: Any, other: Any, stranger: Any, group: Any
) -> None:
    mine = share(analyst, "Beaconing to evil host", observables=["evil-c2.example", "8.8.8.8"])
    share(other, "Water board saw the host too", observables=["evil-c2.example"])
    hidden = share(
        other,
        "Group-only sighting of the host",
        marking="amber",
        audience="groups",
        audience_groups=[group.slug],
        observables=["hxxp://evil-c2[.]example/x"],
    )
    share(
        other,
        "Also from the group",
        marking="amber",
        audience="groups",
        audience_groups=[group.slug],
        observables=["evil-c2[.]example"],
    )
    outside = page(login(client, stranger), detail_url(mine))
    assert "Seen in 1 other report" in outside
    assert "Water board saw the host too" in outside
    assert "Also from the group" not in outside and "Seen in 2" not in outside
    inside = page(login(client, other), detail_url(mine))
    assert "Seen in 2 other reports" in inside and "from members in 1 sector" in inside
    assert "Also from the group" in inside
    assert hidden.title not in inside  # a URL is another observable than its host
    assert "Too common to correlate" in inside and "Google Public DNS" in inside


def test_sightings_form_and_summary(client: Any, analyst: Any, other: Any, stranger: Any) -> None:
    report = share(analyst, "Scanning from a botnet", observables=["203.0.113.9"])
    login(client, other)
    html = page(client, detail_url(report))
    assert "We saw this too" in html and "203.0.113.9 (ipv4)" in html
    response = client.post(
        reverse("sharing:sighting", args=[report.pk]),
        {
            "observable": "203.0.113.9",
            "count": "3",
            "seen_at": "2025-03-01T10:15",
            "note": "on our edge",
            "attribution": "named",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#sightings")
    sighting = Sighting.objects.get(report=report)
    assert (sighting.count, sighting.observable.value, sighting.organisation) == (
        3,
        "203.0.113.9",
        fresh(other).memberships.get().organisation,
    )
    login(client, stranger)
    client.post(
        reverse("sharing:sighting", args=[report.pk]),
        {"observable": "", "count": "2", "seen_at": "", "note": "", "attribution": "anonymous"},
    )
    html = page(client, detail_url(report))
    assert "Seen 5 times" in html and "in 2 sightings" in html
    assert "Drinking water" in html and "Undisclosed" in html
    assert "Water Board" in html and "An anonymous member" in html
    assert "Big Bank" not in html  # the anonymous sighting names nobody
    assert "<meter" in html


def test_bad_sightings_are_form_errors(client: Any, analyst: Any, other: Any, lagging: Any) -> None:
    report = share(analyst, "Scanning from a botnet", marking="clear", observables=["203.0.113.9"])
    login(client, other)
    url = reverse("sharing:sighting", args=[report.pk])
    for data in (
        {"count": "0", "attribution": "named"},
        {"count": "1", "attribution": "famous"},
        {"count": "1", "attribution": "named", "observable": "192.0.2.1"},
        {"count": "1", "attribution": "named", "seen_at": "2999-01-01T00:00"},
        {"count": "x", "attribution": "named"},
    ):
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert 'class="errorlist' in response.content.decode()
    assert not Sighting.objects.exists()
    # not in good standing: refused with the reason, not a form
    response = login(client, lagging).post(url, {"count": "1", "attribution": "named"})
    assert response.status_code == 403
    assert "We saw this too" not in page(client, detail_url(report))


def test_comments_take_the_report_marking_or_stricter(
    client: Any, analyst: Any, other: Any, stranger: Any, coordinator: Any
) -> None:
    report = share(analyst, "Phishing kit analysis", marking="amber")
    url = reverse("sharing:comment", args=[report.pk])
    login(client, other)
    html = page(client, detail_url(report))
    offered = re.search(r'<select name="marking"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert "TLP:AMBER" in offered and "TLP:RED" in offered and "TLP:GREEN" not in offered
    laxer = client.post(url, {"body": "Looks familiar", "marking": "green", "attribution": "named"})
    assert laxer.status_code == 400
    assert "cannot be marked less strictly" in laxer.content.decode()
    assert not Comment.objects.exists()
    response = client.post(
        url, {"body": "Only for you **two**", "marking": "red", "attribution": "named"}
    )
    assert response.status_code == 302
    red = Comment.objects.get()
    assert red.marking == "red"
    login(client, stranger)
    hidden_parent = client.post(
        url,
        {
            "body": "Seen it at the bank",
            "marking": "amber",
            "attribution": "named",
            "parent": str(red.pk),
        },
    )
    assert hidden_parent.status_code == 400  # a RED comment the stranger cannot see
    assert "No such comment" in hidden_parent.content.decode()
    client.post(
        url, {"body": "Seen it at the bank", "marking": "amber", "attribution": "pseudonymous"}
    )
    top = Comment.objects.get(body="Seen it at the bank")
    login(client, other).post(
        url,
        {
            "body": "Which branch?",
            "marking": "amber",
            "attribution": "named",
            "parent": str(top.pk),
        },
    )
    assert Comment.objects.get(body="Which branch?").parent == top
    for viewer, sees_red in (
        (other, True),
        (analyst, True),
        (stranger, False),
        (coordinator, False),
    ):
        html = page(login(client, viewer), detail_url(report))
        assert ("Only for you <strong>two</strong>" in html) is sees_red, viewer
        assert "A member from the banking sector, private sector" in html
        assert "Big Bank" not in html  # a pseudonymous comment names no organisation
        assert 'class="comment depth-1"' in html and "Walt Water, Water Board" in html


# --- Attachments ------------------------------------------------------------------------------


@pytest.fixture
def attachment_dir(settings: Any, tmp_path: Any) -> Any:
    settings.ATTACHMENT_DIR = tmp_path / "attachments"
    return settings.ATTACHMENT_DIR


def upload(client: Any, report: Report, name: str, content: bytes) -> Any:
    return client.post(
        reverse("sharing:attach", args=[report.pk]), {"file": SimpleUploadedFile(name, content)}
    )


def test_attachments_upload_download_and_remove(
    client: Any, analyst: Any, other: Any, water_org: Any, stranger: Any, attachment_dir: Any
) -> None:
    report = share(
        analyst,
        "Malware sample notes",
        marking="amber",
        audience="organisations",
        audience_organisations=[water_org.slug],
    )
    login(client, analyst)
    response = upload(client, report, "notes.pdf", PDF)
    assert response.status_code == 302 and response["Location"].endswith("#attachments")
    item = Attachment.objects.get(report=report)
    assert (item.name, item.content_type, item.size) == ("notes.pdf", "application/pdf", len(PDF))
    url = reverse("sharing:download", args=[report.pk, item.pk])
    assert url in page(client, detail_url(report))
    for viewer in (analyst, other):
        response = login(client, viewer).get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert 'filename="notes.pdf"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox"
        assert response["Cache-Control"] == "private, no-store"
    # a viewer of the report cannot remove it; someone who cannot see the report gets 404
    remove = reverse("sharing:remove-attachment", args=[report.pk, item.pk])
    assert login(client, other).post(remove).status_code == 404
    login(client, stranger)
    assert client.get(url).status_code == 404
    assert client.post(remove).status_code == 404
    assert (
        client.get(reverse("sharing:download", args=[report.pk, uuid.uuid4()])).status_code == 404
    )
    # the reporter removes it: the row and the file go
    path = attachment_dir / item.pk.hex
    assert path.exists()
    assert login(client, analyst).post(remove).status_code == 302
    assert not Attachment.objects.exists() and not path.exists()
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", b"MZ\x90\x00" + b"\x00" * 60, "cannot be attached"),
        ("report.pdf", PNG, "does not match its .pdf extension"),
        ("empty.txt", b"", "The submitted file is empty"),
    ],
)
def test_refused_attachments(
    client: Any, analyst: Any, attachment_dir: Any, name: str, content: bytes, message: str
) -> None:
    report = share(analyst, "Malware sample notes")
    response = upload(login(client, analyst), report, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Attachment.objects.exists()
    assert not attachment_dir.exists() or not any(attachment_dir.iterdir())


def test_only_the_reporter_attaches(
    client: Any, analyst: Any, other: Any, attachment_dir: Any
) -> None:
    report = share(analyst, "Malware sample notes")
    login(client, other)
    assert "attach-form" not in page(client, detail_url(report))
    assert upload(client, report, "notes.pdf", PDF).status_code == 404
    assert upload(client, report, "tool.exe", b"MZ").status_code == 404
    assert not Attachment.objects.exists()


# --- The reporter's actions --------------------------------------------------------------------


def test_withdraw_hides_the_report_from_everyone_else(
    client: Any, analyst: Any, other: Any, coordinator: Any
) -> None:
    report = share(analyst, "Mistaken alarm", marking="clear")
    url = reverse("sharing:withdraw", args=[report.pk])
    assert login(client, other).post(url, {"reason": "not mine"}).status_code == 404
    login(client, analyst)
    assert "Withdraw" in page(client, detail_url(report))
    response = client.post(url, {"reason": "False positive"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.is_withdrawn and report.withdrawal_reason == "False positive"
    html = page(client, detail_url(report))
    assert 'id="withdrawn-note"' in html and "False positive" in html
    mine = page(client, reverse("sharing:mine"))
    assert "Mistaken alarm" in mine and "withdrawn" in mine
    assert "Mistaken alarm" not in page(client, reverse("sharing:feed"))
    for viewer in (other, coordinator):
        login(client, viewer)
        page(client, detail_url(report), status=404)
        assert "Mistaken alarm" not in page(client, reverse("sharing:feed"))
    client.logout()
    page(client, detail_url(report), status=404)


def test_reveal_turns_an_anonymous_report_into_a_named_one(
    client: Any, analyst: Any, other: Any
) -> None:
    report = share(analyst, "Quiet intrusion", attribution="anonymous")
    url = reverse("sharing:reveal", args=[report.pk])
    assert login(client, other).post(url, {"confirm": "on"}).status_code == 404
    login(client, analyst)
    assert "Reveal who we are" in page(client, detail_url(report))
    client.post(url, {})  # without the confirmation nothing happens
    report.refresh_from_db()
    assert report.is_anonymous
    assert client.post(url, {"confirm": "on"}).status_code == 302
    report.refresh_from_db()
    assert report.attribution == "named" and report.reporter_organisation.name == "Energy Company"
    assert "Energy Company" in page(login(client, other), detail_url(report))
    assert AuditEntry.objects.filter(action="report.revealed", target_id=str(report.pk)).exists()


def test_coordinator_looks_up_a_pseudonymous_reporter(
    client: Any, analyst: Any, other: Any, coordinator: Any
) -> None:
    report = share(analyst, "Insider suspicion", attribution="pseudonymous")
    url = reverse("sharing:look-up", args=[report.pk])
    html = page(login(client, coordinator), detail_url(report))
    assert "Find out who filed this" in html
    assert "A member from the energy sector, private sector" in html
    assert "Energy Company" not in html and "Ana Analyst" not in html
    response = client.post(url)
    assert response.status_code == 200
    assert (
        "Energy Company" in response.content.decode() and "Ana Analyst" in response.content.decode()
    )
    entry = AuditEntry.objects.get(action="report.reporter_looked_up")
    assert entry.target_id == str(report.pk) and entry.actor == coordinator
    # nobody else may look, and a GET does nothing
    assert client.get(url).status_code == 405
    other_view = page(login(client, other), detail_url(report))
    assert "Find out who filed this" not in other_view and "Energy Company" not in other_view
    assert client.post(url).status_code == 403
    assert AuditEntry.objects.filter(action="report.reporter_looked_up").count() == 1


def test_anonymous_reports_offer_no_look_up(client: Any, analyst: Any, coordinator: Any) -> None:
    report = share(analyst, "Quiet intrusion", attribution="anonymous")
    login(client, coordinator)
    assert "Find out who filed this" not in page(client, detail_url(report))
    assert client.post(reverse("sharing:look-up", args=[report.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action="report.reporter_looked_up").exists()


def test_anonymous_reporter_never_appears_to_others(
    client: Any, analyst: Any, other: Any, coordinator: Any, attachment_dir: Any
) -> None:
    report = share(
        analyst,
        "Quiet intrusion",
        attribution="anonymous",
        observables=["192.0.2.44"],
        severity={"functional-impact": "minimal"},
    )
    share(other, "Water saw it too", observables=["192.0.2.44"])
    login(client, analyst)
    assert upload(client, report, "timeline.txt", b"day one: nothing\n").status_code == 302
    own = page(client, detail_url(report))
    assert "Your organisation (anonymous)" in own and "An anonymous member" in own
    assert "Quiet intrusion" in page(client, reverse("sharing:mine"))
    assert "Your organisation (anonymous)" in page(client, reverse("sharing:mine"))
    update_report(
        fresh(analyst),
        report,
        ReportDraft(
            title="Quiet intrusion",
            kind="incident",
            marking="green",
            attribution="anonymous",
            summary="More detail",
            observables=[ObservableInput("192.0.2.44")],
        ),
        note="added detail",
    )
    for viewer in (other, coordinator):
        login(client, viewer)
        for url in (
            detail_url(report),
            reverse("sharing:feed"),
            reverse("sharing:feed") + "?q=192.0.2.44",
            reverse("sharing:versions", args=[report.pk]),
            reverse("sharing:versions", args=[report.pk]) + "?number=2",
            detail_url(Report.objects.get(title="Water saw it too")),
        ):
            html = page(client, url)
            assert "Energy Company" not in html and "Ana Analyst" not in html, (viewer, url)
        html = page(client, detail_url(report))
        assert "An anonymous member" in html
        shared = re.search(r"<dt>Shared</dt>\s*<dd>(.*?)</dd>", html, re.S).group(1)
        assert ":" not in shared  # a day, never a time
        versions = page(client, reverse("sharing:versions", args=[report.pk]))
        assert "the reporter" in versions


# --- Versions -----------------------------------------------------------------------------------


def test_versions_show_changes_and_hide_other_audiences(
    client: Any, analyst: Any, other: Any, stranger: Any, water_org: Any
) -> None:
    report = share(
        analyst,
        "Credential stuffing",
        marking="amber",
        audience="organisations",
        audience_organisations=[water_org.slug],
        summary="Seen on the water portal only.",
    )
    report = update_report(
        fresh(analyst),
        report,
        ReportDraft(
            title="Credential stuffing",
            kind="incident",
            marking="green",
            summary="Seen on several portals.",
        ),
        note="shared wider",
    )
    url = reverse("sharing:versions", args=[report.pk])
    html = page(login(client, stranger), url)
    assert "shared wider" in html and "Ana Analyst" in html  # a named report names its editors
    assert "Marking" in html and "What happened" in html  # the changed fields
    assert "?number=2" in html and "?number=1" not in html
    assert "Seen on several portals." in page(client, url + "?number=2")
    page(client, url + "?number=1", status=404)  # shared with other organisations then
    page(client, url + "?number=7", status=404)
    page(client, url + "?number=abc", status=404)
    snapshot = page(login(client, analyst), url + "?number=1")
    assert "Seen on the water portal only." in snapshot and water_org.slug in snapshot
    assert water_org.slug in page(client, url + "?number=1")


# --- Lists of one's own --------------------------------------------------------------------------


def test_mine_lists_own_reports_only(client: Any, analyst: Any, other: Any, lagging: Any) -> None:
    share(analyst, "Ours named")
    share(analyst, "Ours anonymous", attribution="anonymous")
    share(other, "Theirs")
    html = page(login(client, analyst), reverse("sharing:mine"))
    assert "Ours named" in html and "Ours anonymous" in html and "Theirs" not in html
    theirs = page(login(client, other), reverse("sharing:mine"))
    assert "Theirs" in theirs and "Ours" not in theirs
    assert "has not shared a report yet" in page(login(client, lagging), reverse("sharing:mine"))
    coordinator = f.make_user("cody", coordinator=True)
    assert 'id="no-organisation"' in page(login(client, coordinator), reverse("sharing:mine"))
    client.logout()
    assert client.get(reverse("sharing:mine")).status_code == 302


# --- Settings -------------------------------------------------------------------------------------


def severity_post(
    weights: dict[str, Any] | None = None, thresholds: list[Any] | None = None
) -> dict:
    from accord.sharing.classification import DEFAULT_THRESHOLDS, DEFAULT_WEIGHTS

    data: dict[str, Any] = {"action": "severity"}
    for code, value in (weights or DEFAULT_WEIGHTS).items():
        data["weight_" + code.replace("-", "_")] = value
    for level, value in enumerate(thresholds or DEFAULT_THRESHOLDS, start=1):
        data[f"threshold_{level}"] = value
    return data


def test_settings_change_weights_and_rescore(client: Any, analyst: Any, coordinator: Any) -> None:
    from accord.sharing.classification import DEFAULT_WEIGHTS

    report = share(analyst, "Outage", severity={"functional-impact": "denial-of-critical"})
    assert (report.severity_score, report.severity_level) == (20, 1)
    url = reverse("sharing:settings")
    html = page(login(client, coordinator), url)
    assert "not an official calibration" in html and "Functional impact" in html
    assert "Google Public DNS" in html  # the seeded list of common values
    weights = {code: 0 for code in DEFAULT_WEIGHTS} | {"functional-impact": 5}
    response = client.post(url, severity_post(weights))
    assert response.status_code == 302
    assert NetworkSettings.objects.get(pk=1).severity_weights["functional-impact"] == 5
    report.refresh_from_db()
    assert (report.severity_score, report.severity_level) == (100, 5)
    assert AuditEntry.objects.filter(action="sharing.severity_settings_changed").exists()
    breakdown = page(client, detail_url(report))
    assert "Level 5 · Emergency" in breakdown


@pytest.mark.parametrize(
    ("weights", "thresholds", "message"),
    [
        ({"functional-impact": 0}, None, "At least one severity factor"),
        (None, [20, 40, 40, 70, 85], "must be higher than"),
        ({"functional-impact": -1}, None, "greater than or equal to 0"),
        ({"functional-impact": "heavy"}, None, "Enter a whole number"),
        (None, [20, 40, 55, 70, 101], "less than or equal to 100"),
    ],
)
def test_bad_severity_settings_are_form_errors(
    client: Any, coordinator: Any, weights: Any, thresholds: Any, message: str
) -> None:
    from accord.sharing.classification import DEFAULT_WEIGHTS

    if weights and list(weights.values()) == [0]:
        weights = {code: 0 for code in DEFAULT_WEIGHTS}
    elif weights:
        weights = DEFAULT_WEIGHTS | weights
    response = login(client, coordinator).post(
        reverse("sharing:settings"), severity_post(weights, thresholds)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert NetworkSettings.objects.get(pk=1).severity_weights == DEFAULT_WEIGHTS


def test_settings_are_for_coordinators_only(client: Any, analyst: Any, coordinator: Any) -> None:
    from accord.sharing.models import CommonValue

    url = reverse("sharing:settings")
    entry = CommonValue.objects.first()
    assert client.get(url).status_code == 302  # to the sign-in page
    login(client, analyst)
    assert client.get(url).status_code == 403
    assert client.post(url, severity_post()).status_code == 403
    assert client.post(reverse("sharing:remove-common", args=[entry.pk])).status_code == 403
    assert CommonValue.objects.filter(pk=entry.pk).exists()
    assert url not in page(client, reverse("sharing:feed"))
    assert url in page(login(client, coordinator), reverse("sharing:feed"))


def test_common_values_are_added_and_removed(client: Any, analyst: Any, coordinator: Any) -> None:
    from accord.sharing.models import CommonValue

    report = share(analyst, "Lookups", observables=["cdn.example.net"])
    share(analyst, "More lookups", observables=["cdn.example.net"])
    url = reverse("sharing:settings")
    login(client, coordinator)
    assert "Seen in 1 other report" in page(client, detail_url(report))
    response = client.post(
        url, {"action": "common", "kind": "domain", "value": "*.Example[.]net", "note": "Our CDN"}
    )
    assert response.status_code == 302
    entry = CommonValue.objects.get(value="*.example.net")
    assert "Too common to correlate" in page(client, detail_url(report))
    duplicate = client.post(url, {"action": "common", "kind": "domain", "value": "*.example.net"})
    assert duplicate.status_code == 400 and "already on the list" in duplicate.content.decode()
    bad = client.post(url, {"action": "common", "kind": "ipv4", "value": "not-an-ip"})
    assert bad.status_code == 400 and "not a valid IPv4 address" in bad.content.decode()
    assert client.post(url, {"action": "dance"}).status_code == 400
    assert client.post(reverse("sharing:remove-common", args=[entry.pk])).status_code == 302
    assert not CommonValue.objects.filter(pk=entry.pk).exists()
    assert client.post(reverse("sharing:remove-common", args=[entry.pk])).status_code == 404
    assert "Seen in 1 other report" in page(client, detail_url(report))


# --- Sign-in and methods ---------------------------------------------------------------------


def test_actions_need_sign_in_and_post(client: Any, analyst: Any) -> None:
    report = share(analyst, "Public note", marking="clear")
    for name in ("withdraw", "reveal", "look-up", "comment", "sighting", "attach"):
        url = reverse(f"sharing:{name}", args=[report.pk])
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], name
    login(client, analyst)
    for name in ("withdraw", "reveal", "comment", "sighting", "attach"):
        assert client.get(reverse(f"sharing:{name}", args=[report.pk])).status_code == 405
    assert Report.objects.get(pk=report.pk).withdrawn_at is None


def test_visitor_reads_clear_reports_and_clear_comments_only(
    client: Any, analyst: Any, other: Any
) -> None:
    report = share(analyst, "Public note", marking="clear", summary="Anyone may read this.")
    participation.add_comment(fresh(other), report, body="A public remark", marking="clear")
    participation.add_comment(fresh(other), report, body="A members-only remark", marking="green")
    html = page(client, detail_url(report))
    assert "Anyone may read this." in html and "A public remark" in html
    assert "A members-only remark" not in html
    assert "We saw this too" not in html and 'id="sightings"' not in html
    assert "Sign in" in html


def test_broken_form_input_is_a_4xx_with_a_message(client: Any, analyst: Any, other: Any) -> None:
    report = share(analyst, "Scanning from a botnet", observables=["203.0.113.9"])
    login(client, other)
    comment = reverse("sharing:comment", args=[report.pk])
    for data, message in (
        (
            {"body": "Hi", "marking": "green", "attribution": "named", "parent": "not-a-uuid"},
            "valid UUID",
        ),
        (
            {"body": "Hi", "marking": "green", "attribution": "named", "organisation": "999"},
            "valid choice",
        ),
        ({"body": "", "marking": "green", "attribution": "named"}, "This field is required"),
        ({"body": "x" * 10001, "marking": "green", "attribution": "named"}, "at most 10000"),
        ({"body": "Hi", "marking": "ultraviolet", "attribution": "named"}, "valid choice"),
        ({"body": "Hi", "marking": "green", "attribution": "anonymous"}, "valid choice"),
    ):
        response = client.post(comment, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    sighting = reverse("sharing:sighting", args=[report.pk])
    for moment in ("0001-01-01T00:00", "9999-12-31T23:59", "yesterday"):
        response = client.post(sighting, {"count": "1", "attribution": "named", "seen_at": moment})
        assert response.status_code == 400, moment
    assert not Comment.objects.exists() and not Sighting.objects.exists()
    long_reason = login(client, analyst).post(
        reverse("sharing:withdraw", args=[report.pk]), {"reason": "x" * 501}, follow=True
    )
    assert "under 500 characters" in long_reason.content.decode()
    assert Report.objects.get(pk=report.pk).withdrawn_at is None


@pytest.mark.django_db
def test_the_feed_counts_only_as_far_as_its_pages_need() -> None:
    from accord.membership.models import Sector
    from accord.sharing.views import CappedPaginator

    total = Sector.objects.count()
    assert total > 7
    near = CappedPaginator(Sector.objects.order_by("code"), 1, "1")
    assert (near.count, near.count_is_lower_bound) == (7, True)
    far = CappedPaginator(Sector.objects.order_by("code"), 1, "40")
    assert (far.count, far.count_is_lower_bound) == (total, False)
    junk = CappedPaginator(Sector.objects.order_by("code"), 1, "not-a-number")
    assert junk.get_page("not-a-number").number == 1


@pytest.mark.django_db
def test_api_report_counts_stop_at_a_horizon_past_the_page(monkeypatch: Any) -> None:
    from django.test import RequestFactory

    from accord.core.pagination import CappedCountPagination
    from accord.membership.models import Sector

    monkeypatch.setattr(CappedCountPagination, "COUNT_AHEAD", 3)
    total = Sector.objects.count()
    paging = CappedCountPagination()
    rows = Sector.objects.order_by("code")

    def page(limit: int, offset: int) -> dict:
        wanted = CappedCountPagination.Input(limit=limit, offset=offset)
        return paging.paginate_queryset(rows, wanted, RequestFactory().get("/"))

    first = page(2, 0)
    assert (len(first["items"]), first["count"], first["count_is_lower_bound"]) == (2, 5, True)
    last = page(5, total - 2)
    assert (len(last["items"]), last["count"], last["count_is_lower_bound"]) == (2, total, False)
    past = page(5, total + 10)
    assert (past["items"], past["count"], past["count_is_lower_bound"]) == ([], total, False)
