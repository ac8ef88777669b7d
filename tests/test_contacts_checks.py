"""Communication checks end to end: sending, the e-mailed one-time link, in-app
acknowledgement, escalation of the silent ones, the schedule, and the figures."""

from __future__ import annotations

import datetime as dt
import re
import threading
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.contacts import checks, services, stats
from accord.contacts.models import (
    AckLink,
    CheckRecipient,
    CheckSchedule,
    Contact,
    ContactCheck,
    Notice,
)
from accord.contacts.scheduler import ContactCheckScheduler
from tests import factories as f

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://\S+?(/contacts/ack/([A-Za-z0-9_-]+)/)")


def make_contact(by: Any, name: str, **fields: Any) -> Contact:
    values = {
        "role": "technical",
        "name": name,
        "organisation_name": f"{name} Org",
        "email": f"{name.lower()}@example.test",
        "country": "NL",
        **fields,
    }
    return services.create_contact(by=by, **values)


def links_to(address: str) -> list[tuple[str, str]]:
    """(path, token) of every acknowledgement link mailed to the address, oldest first."""
    found = []
    for message in mail.outbox:
        if address in message.to:
            found += [(m[1], m[2]) for m in LINK.finditer(message.body)]
    return found


@pytest.fixture
def send(django_capture_on_commit_callbacks: Any) -> Any:
    """send_check, with its e-mails delivered as after a real commit."""

    def run(**kwargs: Any) -> ContactCheck:
        with django_capture_on_commit_callbacks(execute=True):
            return checks.send_check(**kwargs)

    return run


@pytest.fixture
def three(coordinator: Any, analyst: Any) -> list[Contact]:
    """Ada (linked to the analyst's account), Bo and Cy."""
    return [
        make_contact(coordinator, "Ada", user=analyst),
        make_contact(coordinator, "Bo", role="policy"),
        make_contact(coordinator, "Cy"),
    ]


def deadline_field(moment: dt.datetime) -> str:
    return timezone.localtime(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M")


# --- The whole flow through the pages -------------------------------------------------------


def test_send_acknowledge_once_and_escalate(
    client: Any,
    coordinator: Any,
    analyst: Any,
    three: list[Contact],
    django_capture_on_commit_callbacks: Any,
) -> None:
    ada, bo, cy = three
    f.login(client, coordinator)
    assert client.get(reverse("contacts:check_create")).status_code == 200
    deadline = timezone.now() + dt.timedelta(hours=2)
    response = client.post(
        reverse("contacts:check_create"),
        {
            "send_to": "selected",
            "contacts": [str(ada.pk), str(bo.pk)],
            "deadline": deadline_field(deadline),
            "message": "Please confirm you can be reached.",
        },
    )
    check = ContactCheck.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:check", args=[check.pk])
    assert check.recipients.count() == 2 and not check.scheduled

    # One e-mail each, with its own link; an in-app notice for Ada, who has an account.
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.test", "bo@example.test"]
    assert "Communication check" in mail.outbox[0].subject
    assert "Please confirm you can be reached." in mail.outbox[0].body
    [(ada_path, ada_token)] = links_to("ada@example.test")
    [(bo_path, _)] = links_to("bo@example.test")
    assert ada_path != bo_path
    assert Notice.objects.get(user=analyst).kind == Notice.Kind.CHECK
    assert AckLink.objects.filter(token_hash=ada_token).count() == 0  # only the hash is kept
    assert AuditEntry.objects.filter(action="contact_check.sent").count() == 1

    # Opening the link (as a mail scanner would) acknowledges nothing.
    client.logout()
    page = client.get(ada_path)
    assert page.status_code == 200 and "Acknowledge receipt" in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    ada_row = CheckRecipient.objects.get(contact=ada)
    assert ada_row.acknowledged_at is None

    # Pressing the button does, once, with the response time.
    before = timezone.now()
    response = client.post(ada_path)
    assert response.status_code == 200
    assert "your acknowledgement was recorded" in response.content.decode()
    ada_row.refresh_from_db()
    assert ada_row.acknowledged_via == "link"
    assert before <= ada_row.acknowledged_at <= timezone.now()
    expected = int((ada_row.acknowledged_at - ada_row.sent_at).total_seconds())
    assert ada_row.response_seconds == expected
    assert Notice.objects.get(user=analyst).read_at is not None
    assert AuditEntry.objects.filter(action="contact_check.acknowledged").count() == 1

    # The second use changes nothing.
    acknowledged_at = ada_row.acknowledged_at
    second = client.post(ada_path)
    assert second.status_code == 409 and "already used" in second.content.decode()
    assert client.get(ada_path).status_code == 200
    ada_row.refresh_from_db()
    assert ada_row.acknowledged_at == acknowledged_at
    assert AuditEntry.objects.filter(action="contact_check.acknowledged").count() == 1

    # The deadline passes: Bo is reminded with a fresh link, the coordinator told.
    mail.outbox.clear()
    later = check.deadline + dt.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert checks.escalate_overdue_checks(now=later) == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["bo@example.test", coordinator.email]
    reminder = next(m for m in mail.outbox if m.to == ["bo@example.test"])
    assert "Reminder" in reminder.subject
    to_coordinator = next(m for m in mail.outbox if m.to == [coordinator.email])
    assert "Bo, Bo Org (NL) <bo@example.test>" in to_coordinator.body
    assert "Ada" not in to_coordinator.body
    assert Notice.objects.get(user=coordinator).kind == Notice.Kind.SILENT
    check.refresh_from_db()
    assert check.escalated_at == later
    assert CheckRecipient.objects.get(contact=bo).escalated_at == later
    assert CheckRecipient.objects.get(contact=ada).escalated_at is None
    assert CheckRecipient.objects.filter(contact=cy).count() == 0  # not chosen
    [(_, reminder_token)] = links_to("bo@example.test")

    # Escalating again does nothing.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert checks.escalate_overdue_checks(now=later + dt.timedelta(hours=1)) == 0
    assert mail.outbox == []

    # Bo answers the reminder: recorded, late.
    answer = checks.acknowledge(reminder_token, now=later + dt.timedelta(minutes=5))
    assert answer.state == "acknowledged"
    bo_row = CheckRecipient.objects.get(contact=bo)
    assert not bo_row.on_time
    assert bo_row.response_seconds == int((bo_row.acknowledged_at - bo_row.sent_at).total_seconds())

    # The coordinator's page shows it all.
    f.login(client, coordinator)
    html = client.get(reverse("contacts:check", args=[check.pk])).content.decode()
    assert 'id="figure-rate">100%' in html
    assert "late" in html and "Remind the silent ones now" not in html


def test_expired_and_invalid_links_are_refused(
    send: Any, coordinator: Any, three: list[Contact]
) -> None:
    sent = timezone.now()
    send(by=coordinator, contacts=three[:1], deadline=sent + dt.timedelta(hours=1), now=sent)
    [(_, token)] = links_to("ada@example.test")
    link = AckLink.objects.get()
    assert link.expires_at == sent + dt.timedelta(hours=1) + checks.link_grace()
    expired = checks.acknowledge(token, now=link.expires_at + dt.timedelta(seconds=1))
    assert expired.state == "expired"
    assert CheckRecipient.objects.get().acknowledged_at is None
    for bad in (
        "",
        "short",
        "x" * 200,
        "../../etc",
        token[:-1] + ("A" if token[-1] != "A" else "B"),
    ):
        assert checks.acknowledge(bad).state == "invalid"
    assert CheckRecipient.objects.get().acknowledged_at is None and link.used_at is None


def test_expired_and_unknown_links_on_the_page(
    send: Any, client: Any, coordinator: Any, three: list[Contact]
) -> None:
    send(by=coordinator, contacts=three[:1], deadline=timezone.now() + dt.timedelta(hours=1))
    [(path, _)] = links_to("ada@example.test")
    AckLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for method in (client.get, client.post):
        response = method(path)
        assert response.status_code == 410 and "expired" in response.content.decode()
    assert client.post("/contacts/ack/" + "A" * 43 + "/").status_code == 404
    assert client.get("/contacts/ack/not-a-token/").status_code == 404
    assert CheckRecipient.objects.get().acknowledged_at is None


def test_acknowledging_in_the_platform(
    send: Any, client: Any, coordinator: Any, analyst: Any, three: list[Contact]
) -> None:
    check = send(by=coordinator, contacts=three, deadline=timezone.now() + dt.timedelta(hours=4))
    f.login(client, analyst)
    page = client.get(reverse("contacts:notices")).content.decode()
    assert "Checks waiting for your acknowledgement" in page and "Sent to you as Ada" in page
    response = client.post(reverse("contacts:check_acknowledge", args=[check.pk]))
    assert response.status_code == 302
    row = CheckRecipient.objects.get(contact__name="Ada")
    assert row.acknowledged_via == "app" and row.response_seconds is not None
    # The e-mailed link is spent too; and a second press finds nothing to acknowledge.
    [(path, _)] = links_to("ada@example.test")
    assert "already used" in client.get(path).content.decode()
    assert client.post(reverse("contacts:check_acknowledge", args=[check.pk])).status_code == 404
    # Someone whose contact point was not in the check cannot acknowledge for others.
    other = f.make_user("olaf")
    f.login(client, other)
    assert client.post(reverse("contacts:check_acknowledge", args=[check.pk])).status_code == 404
    assert CheckRecipient.objects.filter(acknowledged_at__isnull=False).count() == 1


def test_bad_check_input_stores_and_sends_nothing(
    client: Any, coordinator: Any, analyst: Any, three: list[Contact]
) -> None:
    f.login(client, coordinator)
    url = reverse("contacts:check_create")
    past = deadline_field(timezone.now() - dt.timedelta(hours=1))
    soon = deadline_field(timezone.now() + dt.timedelta(hours=2))
    far = deadline_field(timezone.now() + dt.timedelta(days=90))
    cases = [
        ({"send_to": "all", "deadline": past}, "at least ten minutes from now"),
        ({"send_to": "all", "deadline": far}, "within the next 60 days"),
        ({"send_to": "selected", "deadline": soon}, "Choose at least one contact."),
        ({"send_to": "all", "deadline": "tomorrow"}, "Enter a valid date/time."),
        ({"send_to": "selected", "contacts": ["nope"], "deadline": soon}, "is not a valid UUID"),
        ({"send_to": "everyone", "deadline": soon}, "Select a valid choice."),
    ]
    for data, message in cases:
        response = client.post(url, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert ContactCheck.objects.count() == 0 and mail.outbox == []
    f.login(client, analyst)
    assert client.post(url, {"send_to": "all", "deadline": soon}).status_code == 403
    assert ContactCheck.objects.count() == 0 and mail.outbox == []


def test_non_coordinators_see_no_checks(
    send: Any, client: Any, analyst: Any, coordinator: Any
) -> None:
    make_contact(coordinator, "Ada")
    check = send(by=coordinator, contacts=None, deadline=timezone.now() + dt.timedelta(hours=1))
    f.login(client, analyst)
    for url in (
        reverse("contacts:checks"),
        reverse("contacts:stats"),
        reverse("contacts:check", args=[check.pk]),
    ):
        assert client.get(url).status_code == 403
    escalate = client.post(reverse("contacts:check_escalate", args=[check.pk]))
    assert escalate.status_code == 403
    assert ContactCheck.objects.get().escalated_at is None


def test_coordinator_escalates_by_hand_only_after_the_deadline(
    send: Any, client: Any, coordinator: Any, three: list[Contact]
) -> None:
    sent = timezone.now() - dt.timedelta(hours=3)
    check = send(by=coordinator, contacts=three, deadline=sent + dt.timedelta(minutes=15), now=sent)
    fresh = send(by=coordinator, contacts=three, deadline=timezone.now() + dt.timedelta(hours=1))
    f.login(client, coordinator)
    page = client.get(reverse("contacts:check", args=[check.pk])).content.decode()
    assert "Remind the silent ones now" in page
    mail.outbox.clear()
    client.post(reverse("contacts:check_escalate", args=[check.pk]))
    assert len([m for m in mail.outbox if "Reminder" in m.subject]) == 3
    client.post(reverse("contacts:check_escalate", args=[fresh.pk]))
    fresh.refresh_from_db()
    assert fresh.escalated_at is None


# --- Figures -----------------------------------------------------------------------------


def test_percentile() -> None:
    assert stats.percentile([], 50) is None
    assert stats.percentile([7], 90) == 7
    assert stats.percentile([60, 120, 600], 50) == 120
    assert stats.percentile([10, 20, 30, 40], 50) == 25
    assert stats.percentile([60, 120, 600], 90) == pytest.approx(504)


def test_figures_come_from_the_recipient_rows(
    send: Any, client: Any, coordinator: Any, three: list[Contact]
) -> None:
    fourth = make_contact(coordinator, "Di")
    contacts = [*three, fourth]
    first_sent = timezone.now() - dt.timedelta(days=10)
    first = send(
        by=coordinator,
        contacts=contacts,
        deadline=first_sent + dt.timedelta(hours=1),
        now=first_sent,
    )
    for name, seconds in [("ada", 60), ("bo", 120), ("cy", 600)]:
        [(_, token)] = links_to(f"{name}@example.test")
        result = checks.acknowledge(token, now=first_sent + dt.timedelta(seconds=seconds))
        assert result.state == "acknowledged"
    mail.outbox.clear()
    second_sent = timezone.now() - dt.timedelta(days=1)
    second = send(
        by=coordinator,
        contacts=contacts[:2],
        deadline=second_sent + dt.timedelta(minutes=30),
        now=second_sent,
    )
    for name, seconds in [("ada", 30), ("bo", 3600)]:  # Bo answers after the deadline
        [(_, token)] = links_to(f"{name}@example.test")
        checks.acknowledge(token, now=second_sent + dt.timedelta(seconds=seconds))

    one = stats.figures_for(first)
    assert (one.sent, one.acknowledged, one.on_time) == (4, 3, 3)
    assert one.rate == 0.75 and one.median_seconds == 120
    assert one.p90_seconds == pytest.approx(504)
    assert [r.contact_name for r in one.silent] == ["Di"]
    two = stats.figures_for(second)
    assert (two.sent, two.acknowledged, two.on_time) == (2, 2, 1)
    assert two.median_seconds == 1815 and two.on_time_rate == 0.5

    series = stats.over_time(ContactCheck.objects.all())
    assert [s.check.pk for s in series] == [first.pk, second.pk]  # oldest first
    overall = stats.overall(series)
    assert (overall.sent, overall.acknowledged) == (6, 5)
    assert overall.median_seconds == 120  # of 30, 60, 120, 600, 3600

    f.login(client, coordinator)
    html = client.get(reverse("contacts:stats")).content.decode()
    assert 'id="overall-rate">5 (83%)' in html
    assert 'id="overall-median">2 min' in html
    assert html.count('class="chart-bar"') == 2
    assert "75% acknowledged (3 of 4)" in html and "100% acknowledged (2 of 2)" in html
    assert html.count('class="chart-point"') == 2 and 'class="chart-line"' in html
    assert "style=" not in html and "<script>" not in html  # CSP: no inline styles or scripts
    checks_page = client.get(reverse("contacts:checks")).content.decode()
    assert "3 (75%)" in checks_page and "2 (100%)" in checks_page


def test_stats_page_without_checks(client: Any, coordinator: Any) -> None:
    f.login(client, coordinator)
    html = client.get(reverse("contacts:stats")).content.decode()
    assert "No check has been sent yet." in html and "<svg" not in html


# --- The schedule --------------------------------------------------------------------------


def test_schedule_sends_once_when_due(
    client: Any, coordinator: Any, three: list[Contact], django_capture_on_commit_callbacks: Any
) -> None:
    f.login(client, coordinator)
    response = client.post(
        reverse("contacts:schedule"), {"interval": "monthly", "deadline_hours": "48"}
    )
    assert response.status_code == 302
    schedule = CheckSchedule.current()
    assert schedule.interval == "monthly" and schedule.deadline_hours == 48
    due = schedule.next_run_at
    assert due > timezone.now() + dt.timedelta(days=27)

    assert checks.run_due_check(now=due - dt.timedelta(minutes=1)) is None
    with django_capture_on_commit_callbacks(execute=True):
        check = checks.run_due_check(now=due + dt.timedelta(seconds=1))
    assert check is not None and check.scheduled and check.created_by is None
    assert check.recipients.count() == 3 and len(mail.outbox) == 3
    assert check.deadline == due + dt.timedelta(seconds=1, hours=48)
    schedule.refresh_from_db()
    assert schedule.next_run_at > due + dt.timedelta(days=27)
    assert checks.run_due_check(now=due + dt.timedelta(seconds=2)) is None  # claimed
    assert ContactCheck.objects.count() == 1

    response = client.post(reverse("contacts:schedule"), {"interval": "daily"})
    assert response.status_code == 302
    assert CheckSchedule.current().interval == "monthly"  # refused
    client.post(reverse("contacts:schedule"), {"interval": "off", "deadline_hours": "24"})
    assert CheckSchedule.current().next_run_at is None


def test_run_contact_checks_command(send: Any, coordinator: Any, three: list[Contact]) -> None:
    sent = timezone.now() - dt.timedelta(days=2)
    send(by=coordinator, contacts=three, deadline=sent + dt.timedelta(hours=1), now=sent)
    out = StringIO()
    call_command("run_contact_checks", stdout=out)
    assert "No scheduled check was due." in out.getvalue()
    assert "Reminded 3 silent point(s) of contact." in out.getvalue()
    out = StringIO()
    call_command("run_contact_checks", "--enqueue", stdout=out)
    assert "Queued the contact-check task" in out.getvalue()
    assert ContactCheck.objects.get().escalated_at is not None


def test_scheduler_thread_queues_until_stopped() -> None:
    ran = threading.Event()
    scheduler = ContactCheckScheduler(every=0.01, enqueue=ran.set)
    scheduler.start()
    assert ran.wait(5)
    scheduler.stop()
    scheduler.join(5)
    assert not scheduler.is_alive()


def test_unread_notice_count_for_the_navigation(
    send: Any, coordinator: Any, analyst: Any, three: list[Contact], rf: Any
) -> None:
    from django.template import Context, Template

    template = Template("{% load contacts %}{% contact_notice_count as n %}[{{ n }}]")
    request = rf.get("/")
    request.user = analyst
    assert template.render(Context({"request": request})) == "[0]"
    check = send(by=coordinator, contacts=three, deadline=timezone.now() + dt.timedelta(hours=1))
    assert template.render(Context({"request": request})) == "[1]"
    checks.acknowledge_in_app(analyst, check)
    assert template.render(Context({"request": request})) == "[0]"
