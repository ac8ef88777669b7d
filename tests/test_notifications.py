"""Subscriptions, notifications and the e-mail digest of trusted sharing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command

from accord.core.management.commands.serve import (
    DigestScheduler,
    enqueue_digests,
    next_digest_time,
)
from accord.sharing import notifications as service
from accord.sharing.models import Notification, Subscription, anonymous_date
from accord.sharing.services import SharingError
from accord.sharing.services.drafts import ReportDraft
from accord.sharing.services.reports import create_report, withdraw_report
from accord.workgroups import services as groups
from tests import factories as f

pytestmark = pytest.mark.django_db

API = "/api/v1"
JSON = "application/json"
SUMMARY = "The attackers used the secret staging host."

# Every factor at its worst (level 5) and at its mildest (level 0).
SEVERE = {
    "functional-impact": "denial-of-critical",
    "observed-activity": "effect",
    "location": "safety-systems",
    "actor": "nation-state",
    "information-impact": "destruction-of-critical",
    "recoverability": "not-recoverable",
    "cross-sector-dependency": "high",
    "potential-impact": "high",
}
MILD = {
    "functional-impact": "no-impact",
    "observed-activity": "none",
    "location": "outside",
    "actor": "no-adversary",
    "information-impact": "none",
    "recoverability": "not-needed",
    "cross-sector-dependency": "none",
    "potential-impact": "none",
}


def file_report(user: Any, **fields: Any) -> Any:
    values: dict[str, Any] = {
        "kind": "incident",
        "title": "Ransomware at a power plant",
        "summary": SUMMARY,
        "marking": "amber",
        "sectors": ["energy"],
        "effects": ["data-attack"],
        "severity": SEVERE,
    }
    values.update(fields)
    return create_report(user, ReportDraft(**values))


def member(org: Any, username: str, **roles: Any) -> Any:
    user = f.make_user(username)
    f.add_member(user, org, **roles)
    return user


def subscribe(user: Any, name: str = "Everything", **filters: Any) -> Subscription:
    return service.create_subscription(user, name, **filters)


def notified(report: Any) -> set[str]:
    return set(Notification.objects.filter(report=report).values_list("user__username", flat=True))


@pytest.fixture
def other_org(rules: list) -> Any:
    org = f.make_organisation("Water Board", sectors=["drinking-water"])
    f.accept_rules(org)
    return org


@pytest.fixture
def bob(other_org: Any) -> Any:
    return member(other_org, "bob")


# --- Matching ------------------------------------------------------------------------------


def test_filters_match_kind_sector_effect_and_level(analyst: Any, other_org: Any) -> None:
    cases = {
        "any": {},
        "kind-ok": {"kinds": ["incident", "advisory"]},
        "kind-no": {"kinds": ["vulnerability"]},
        "sector-ok": {"sectors": ["transport", "energy"]},
        "sector-no": {"sectors": ["transport"]},
        "effect-ok": {"effects": ["external-dos", "data-attack"]},
        "effect-no": {"effects": ["external-dos"]},
        "level-ok": {"min_level": 5},
        "level-zero": {"min_level": 0},
        "all-ok": {
            "kinds": ["incident"],
            "sectors": ["energy"],
            "effects": ["data-attack"],
            "min_level": 3,
        },
        "one-no": {"kinds": ["incident"], "sectors": ["energy"], "effects": ["mixed"]},
    }
    for username, filters in cases.items():
        subscribe(member(other_org, username), **filters)

    severe = file_report(analyst)
    assert service.notify_for_report(severe.pk) == 7
    assert notified(severe) == {
        "any",
        "kind-ok",
        "sector-ok",
        "effect-ok",
        "level-ok",
        "level-zero",
        "all-ok",
    }
    assert severe.severity_level == 5

    mild = file_report(analyst, title="Failed phishing attempt", severity=MILD)
    service.notify_for_report(mild.pk)
    assert mild.severity_level == 0
    assert "level-ok" not in notified(mild) and "all-ok" not in notified(mild)
    assert {"any", "level-zero"} <= notified(mild)


def test_a_report_without_a_level_matches_only_subscriptions_without_a_minimum(
    analyst: Any, other_org: Any
) -> None:
    subscribe(member(other_org, "none"), min_level=None)
    subscribe(member(other_org, "zero"), min_level=0)
    subscribe(member(other_org, "one"), min_level=1)
    report = file_report(analyst, kind="advisory", effects=[], severity={})
    service.notify_for_report(report.pk)
    assert report.severity_level is None
    assert notified(report) == {"none", "zero"}


def test_a_report_without_sectors_or_effects_misses_filters_on_them(
    analyst: Any, other_org: Any
) -> None:
    subscribe(member(other_org, "any"))
    subscribe(member(other_org, "sector"), sectors=["energy"])
    subscribe(member(other_org, "effect"), effects=["data-attack"])
    report = file_report(analyst, kind="advisory", sectors=[], effects=[])
    service.notify_for_report(report.pk)
    assert notified(report) == {"any"}


def test_one_notification_per_person_and_report(analyst: Any, bob: Any) -> None:
    subscribe(bob, "Quiet", email_digest=False)
    loud = subscribe(bob, "Loud", kinds=["incident"])
    report = file_report(analyst)
    assert service.notify_for_report(report.pk) == 1
    assert service.notify_for_report(report.pk) == 0  # a second run adds nothing
    notice = Notification.objects.get(report=report)
    assert notice.subscription == loud  # the one that asked for e-mail


def test_notify_ignores_unknown_and_malformed_ids(db: Any) -> None:
    assert service.notify_for_report("not-a-uuid") == 0
    assert service.notify_for_report("6f1c3d1e-8f4b-4c2e-9a53-2d8f0b7c1a11") == 0


def test_filing_a_report_notifies_once_committed(
    analyst: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(bob)
    with django_capture_on_commit_callbacks(execute=True):
        report = file_report(analyst)
    assert notified(report) == {"bob"}


# --- Only people who may see the report ---------------------------------------------------


def test_the_reporter_is_not_notified_but_colleagues_are(analyst: Any, member_org: Any) -> None:
    colleague = member(member_org, "colleague")
    subscribe(analyst)
    subscribe(colleague)
    report = file_report(analyst)
    service.notify_for_report(report.pk)
    assert notified(report) == {"colleague"}
    row = service.notifications_for(colleague).get()
    assert service.reporter_label_for(colleague, row.report).startswith("Your organisation")


def test_working_group_audience_reaches_only_group_members(
    analyst: Any, member_org: Any, bob: Any, other_org: Any, rules: list
) -> None:
    outsider_org = f.make_organisation("Rail Company", sectors=["transport"])
    f.accept_rules(outsider_org)
    eve = member(outsider_org, "eve")
    group = groups.create_group(
        name="Water sector", description="", visibility="open", by=bob, organisation=other_org
    )
    groups.join_group(group, by=analyst, organisation=member_org)
    subscribe(bob)
    subscribe(eve)
    report = file_report(analyst, audience="groups", audience_groups=[group.slug])
    service.notify_for_report(report.pk)
    assert notified(report) == {"bob"}


def test_red_reaches_only_named_recipients(analyst: Any, bob: Any, other_org: Any) -> None:
    carol = member(other_org, "carol")
    subscribe(bob)
    subscribe(carol)
    report = file_report(analyst, marking="red", recipients=["bob"])
    service.notify_for_report(report.pk)
    assert notified(report) == {"bob"}


def test_people_not_in_good_standing_or_inactive_are_not_notified(
    analyst: Any, bob: Any, other_org: Any
) -> None:
    lapsed_org = f.make_organisation("Lapsed Utility")  # verified, rules not accepted
    lapsed = member(lapsed_org, "lapsed")
    gone = member(other_org, "gone")
    subscribe(lapsed)
    subscribe(gone)
    subscribe(bob)
    gone.is_active = False
    gone.save()
    report = file_report(analyst, marking="green")
    service.notify_for_report(report.pk)
    assert notified(report) == {"bob"}
    # TLP:CLEAR is public: the lapsed member hears of it too.
    public = file_report(analyst, marking="clear", title="Patch your VPN appliance")
    service.notify_for_report(public.pk)
    assert notified(public) == {"bob", "lapsed"}


# --- Anonymity --------------------------------------------------------------------------------


def test_anonymous_report_notifies_others_with_the_day_only(
    analyst: Any, member_org: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    colleague = member(member_org, "colleague")
    subscribe(analyst)
    subscribe(colleague)
    subscribe(bob)
    report = file_report(analyst, attribution="anonymous")
    assert service.notify_for_report(report.pk) == 1
    assert notified(report) == {"bob"}  # nobody from the reporting organisation
    notice = Notification.objects.get(report=report)
    assert notice.created_at == anonymous_date(report.created_at)
    assert (notice.created_at.hour, notice.created_at.minute, notice.created_at.second) == (0, 0, 0)

    with django_capture_on_commit_callbacks(execute=True):
        assert service.send_digests() == 1
    (message,) = mail.outbox
    assert message.to == [bob.email]
    assert report.title in message.body
    assert "An anonymous member" in message.body
    assert member_org.name not in message.body and member_org.name not in message.subject
    assert analyst.username not in message.body


# --- The digest ---------------------------------------------------------------------------------


def test_digest_sends_one_mail_per_person_and_only_once(
    analyst: Any, bob: Any, other_org: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dave = member(other_org, "dave")
    quiet = member(other_org, "quiet")
    subscribe(bob)
    subscribe(dave, kinds=["vulnerability"])
    subscribe(quiet, email_digest=False)
    first = file_report(analyst)
    second = file_report(
        analyst,
        kind="vulnerability",
        title="Hole in the SCADA gateway",
        effects=[],
        severity={},
        marking="amber+strict",
    )
    for report in (first, second):
        service.notify_for_report(report.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert service.send_digests() == 2
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert set(by_recipient) == {bob.email, dave.email}
    to_bob = by_recipient[bob.email]
    assert first.title in to_bob.body and second.title in to_bob.body
    assert f"{settings.SITE_URL}/reports/{first.pk}/" in to_bob.body
    assert "TLP:AMBER+STRICT" in to_bob.body and "Vulnerability" in to_bob.body
    assert first.reporter_organisation.name in to_bob.body  # a named report names its reporter
    assert SUMMARY not in to_bob.body  # never the content
    assert "2 new reports" in to_bob.subject
    to_dave = by_recipient[dave.email]
    assert second.title in to_dave.body and first.title not in to_dave.body
    assert not Notification.objects.filter(user__in=[bob, dave], emailed_at__isnull=True).exists()
    assert not Notification.objects.filter(user=quiet, emailed_at__isnull=False).exists()

    with django_capture_on_commit_callbacks(execute=True):
        assert service.send_digests() == 0
    assert len(mail.outbox) == 2


def test_read_notifications_are_not_mailed(
    analyst: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(bob)
    service.notify_for_report(file_report(analyst).pk)
    assert service.mark_read(bob) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert service.send_digests() == 0
    assert mail.outbox == []


def test_withdrawn_report_leaves_the_list_and_the_digest(
    analyst: Any, member_org: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    colleague = member(member_org, "colleague")
    subscribe(bob)
    subscribe(colleague)
    kept = file_report(analyst, title="Still current")
    gone = file_report(analyst, title="Filed by mistake")
    for report in (kept, gone):
        service.notify_for_report(report.pk)
    withdraw_report(analyst, gone, reason="duplicate")

    for person in (bob, colleague):  # the reporter's colleagues still see it, but not here
        assert [n.report_id for n in service.notifications_for(person)] == [kept.pk]
        assert service.unread_count(person) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert service.send_digests() == 2
    for message in mail.outbox:
        assert "Still current" in message.body and "Filed by mistake" not in message.body
    assert Notification.objects.get(user=bob, report=gone).emailed_at is None


def test_digest_asks_the_policy_again_at_sending_time(
    analyst: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(bob)
    service.notify_for_report(file_report(analyst).pk)
    f.publish_rules("# Charter\n\nVersion two.")  # bob's organisation has not accepted it
    f.accept_rules(analyst.memberships.get().organisation)
    with django_capture_on_commit_callbacks(execute=True):
        assert service.send_digests() == 0
    assert mail.outbox == []
    assert service.notifications_for(bob).count() == 0


def test_send_digests_command(
    analyst: Any, bob: Any, django_capture_on_commit_callbacks: Any, capsys: Any
) -> None:
    subscribe(bob)
    service.notify_for_report(file_report(analyst).pk)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_digests")
    assert "Queued 1 digest e-mail." in capsys.readouterr().out
    assert [m.to for m in mail.outbox] == [[bob.email]]
    service.notify_for_report(file_report(analyst, title="Second").pk)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_digests", "--enqueue")  # the test settings run tasks at once
    assert "Queued the digest task" in capsys.readouterr().out
    assert len(mail.outbox) == 2 and "Second" in mail.outbox[1].body


# --- Subscriptions and reading ------------------------------------------------------------------


def test_create_subscription_validates_every_field(bob: Any) -> None:
    with pytest.raises(SharingError) as caught:
        service.create_subscription(
            bob,
            "  ",
            kinds=["gossip"],
            sectors=["nowhere"],
            effects=["boom"],
            min_level=9,
            email_digest="yes",
        )
    assert set(caught.value.errors) == {
        "name",
        "kinds",
        "sectors",
        "effects",
        "min_level",
        "email_digest",
    }
    subscribe(bob, "Energy")
    with pytest.raises(SharingError) as caught:
        subscribe(bob, "energy")
    assert "name" in caught.value.errors
    with pytest.raises(SharingError):
        service.create_subscription(bob, "Bad level", min_level=True)
    assert Subscription.objects.filter(user=bob).count() == 1


def test_subscription_limit(bob: Any) -> None:
    for n in range(service.MAX_SUBSCRIPTIONS):
        subscribe(bob, f"S{n}")
    with pytest.raises(SharingError, match="at most"):
        subscribe(bob, "One too many")


def test_mark_read_touches_only_own_notifications(analyst: Any, bob: Any, other_org: Any) -> None:
    carol = member(other_org, "carol")
    subscribe(bob)
    subscribe(carol)
    report = file_report(analyst)
    service.notify_for_report(report.pk)
    carols = Notification.objects.get(user=carol)
    assert service.mark_read(bob, [carols.pk]) == 0
    assert service.unread_count(carol) == 1
    with pytest.raises(SharingError):
        service.mark_read(bob, ["nope"])
    assert service.mark_read(bob, []) == 0
    assert service.mark_read(bob, None) == 1
    assert service.unread_count(bob) == 0


# --- Pages ----------------------------------------------------------------------------------


def test_pages_need_sign_in(client: Any, db: Any) -> None:
    for url in ("/reports/notifications/", "/reports/subscriptions/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for url in ("/reports/notifications/read/", "/reports/subscriptions/1/delete/"):
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_notification_pages(client: Any, analyst: Any, bob: Any) -> None:
    subscribe(bob, "Energy incidents", kinds=["incident"], sectors=["energy"], min_level=3)
    first = file_report(analyst, title="First report")
    second = file_report(analyst, title="Second report")
    for report in (first, second):
        service.notify_for_report(report.pk)
    f.login(client, bob)

    page = client.get("/reports/notifications/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "First report" in html and "Second report" in html
    assert "2 unread notifications" in html
    assert f"/reports/{first.pk}/" in html and "Energy Company" in html
    assert SUMMARY not in html

    one = Notification.objects.get(user=bob, report=first)
    response = client.post("/reports/notifications/read/", {"id": str(one.pk)})
    assert response.status_code == 302
    one.refresh_from_db()
    assert one.read_at is not None
    assert "1 unread notification." in client.get("/reports/notifications/").content.decode()

    response = client.post("/reports/notifications/read/", {"id": "garbage"})
    assert response.status_code == 302  # a message, not a 500
    client.post("/reports/notifications/read/")
    assert service.unread_count(bob) == 0
    assert client.get("/reports/notifications/read/").status_code == 405


def test_subscription_pages(client: Any, bob: Any, other_org: Any) -> None:
    f.login(client, bob)
    page = client.get("/reports/subscriptions/")
    assert page.status_code == 200 and "subscription-form" in page.content.decode()

    response = client.post(
        "/reports/subscriptions/",
        {
            "name": "Water",
            "kinds": ["incident"],
            "sectors": ["drinking-water"],
            "effects": ["data-attack"],
            "min_level": "2",
            "email_digest": "on",
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(user=bob)
    assert (subscription.kinds, subscription.effects, subscription.min_level) == (
        ["incident"],
        ["data-attack"],
        2,
    )
    assert [s.code for s in subscription.sectors.all()] == ["drinking-water"]
    assert subscription.email_digest
    listing = client.get("/reports/subscriptions/").content.decode()
    assert "Water" in listing and "Drinking water" in listing and "Data attack" in listing

    invalid = client.post("/reports/subscriptions/", {"name": "", "min_level": "9"})
    assert invalid.status_code == 400
    body = invalid.content.decode()
    assert "This field is required" in body and "Select a valid choice" in body
    duplicate = client.post("/reports/subscriptions/", {"name": "water"})
    assert duplicate.status_code == 400
    assert "already have a subscription" in duplicate.content.decode()

    someone = member(other_org, "someone")
    theirs = subscribe(someone)
    url = f"/reports/subscriptions/{theirs.pk}/delete/"
    assert client.post(url).status_code == 404
    assert client.post(f"/reports/subscriptions/{10**20}/delete/").status_code == 404
    assert client.post(f"/reports/subscriptions/{subscription.pk}/delete/").status_code == 302
    assert not Subscription.objects.filter(user=bob).exists()
    assert Subscription.objects.filter(pk=theirs.pk).exists()


# --- API ------------------------------------------------------------------------------------


def bearer(user: Any) -> dict[str, str]:
    from accord.accounts import services as accounts

    _, raw = accounts.create_token(user, name="test", can_write=True, expires_in_days=30)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_api_needs_authentication(client: Any, db: Any) -> None:
    assert client.get(f"{API}/notifications").status_code == 401
    assert client.get(f"{API}/subscriptions").status_code == 401
    assert client.post(f"{API}/notifications/read", {}, content_type=JSON).status_code == 401


def test_api_notifications(client: Any, analyst: Any, bob: Any) -> None:
    subscribe(bob, "All")
    anonymous = file_report(analyst, attribution="anonymous", title="Anonymous tip")
    named = file_report(analyst, title="Named report")
    for report in (anonymous, named):
        service.notify_for_report(report.pk)
    auth = bearer(bob)

    data = client.get(f"{API}/notifications", **auth).json()
    assert data["count"] == 2
    items = {i["report"]["title"]: i for i in data["items"]}
    assert items["Named report"]["report"]["reporter"] == "Energy Company"
    assert items["Named report"]["report"]["is_mine"] is False
    assert items["Named report"]["report"]["severity_level"] == 5
    assert items["Anonymous tip"]["report"]["reporter"] == "An anonymous member"
    assert items["Anonymous tip"]["report"]["marking_label"] == "TLP:AMBER"
    assert items["Anonymous tip"]["created_at"].startswith(
        anonymous_date(anonymous.created_at).isoformat()[:19]
    )
    assert "summary" not in items["Named report"]["report"]
    assert items["Named report"]["subscription"] == "All"

    one = items["Named report"]["id"]
    response = client.post(f"{API}/notifications/read", {"ids": [one]}, content_type=JSON, **auth)
    assert response.status_code == 200 and response.json() == {"marked": 1, "unread": 1}
    unread = client.get(f"{API}/notifications?unread=true", **auth).json()
    assert [i["report"]["title"] for i in unread["items"]] == ["Anonymous tip"]

    bad = client.post(f"{API}/notifications/read", {"ids": ["x"]}, content_type=JSON, **auth)
    assert bad.status_code == 422 and "detail" in bad.json()
    response = client.post(f"{API}/notifications/read", content_type=JSON, **auth)
    assert response.json() == {"marked": 1, "unread": 0}  # no body: all of them
    assert client.get(f"{API}/notifications?limit=100000", **auth).status_code == 422


def test_api_subscriptions(client: Any, bob: Any, other_org: Any) -> None:
    auth = bearer(bob)
    response = client.post(
        f"{API}/subscriptions",
        {
            "name": "Energy",
            "kinds": ["incident"],
            "sectors": ["energy", "transport"],
            "effects": ["external-dos"],
            "min_level": 4,
            "email_digest": False,
        },
        content_type=JSON,
        **auth,
    )
    assert response.status_code == 201
    created = response.json()
    assert created["sectors"] == ["energy", "transport"] and created["min_level"] == 4
    assert created["email_digest"] is False

    listed = client.get(f"{API}/subscriptions", **auth).json()
    assert [s["name"] for s in listed] == ["Energy"]

    bad = client.post(
        f"{API}/subscriptions",
        {"name": "Bad", "kinds": ["gossip"], "sectors": ["nowhere"], "min_level": 9},
        content_type=JSON,
        **auth,
    )
    assert bad.status_code == 400
    detail = bad.json()["detail"]
    assert "kinds" in detail and "sectors" in detail and "min_level" in detail
    assert (
        client.post(f"{API}/subscriptions", {"kinds": []}, content_type=JSON, **auth).status_code
        == 422
    )

    theirs = subscribe(member(other_org, "someone"))
    assert client.delete(f"{API}/subscriptions/{theirs.pk}", **auth).status_code == 404
    assert client.delete(f"{API}/subscriptions/{10**20}", **auth).status_code == 404
    assert client.delete(f"{API}/subscriptions/{created['id']}", **auth).status_code == 204
    assert client.get(f"{API}/subscriptions", **auth).json() == []
    assert Subscription.objects.filter(pk=theirs.pk).exists()


# --- Scheduling ---------------------------------------------------------------------------------

UTC = dt.UTC


@pytest.mark.parametrize(
    ("now", "hour", "expected"),
    [
        (dt.datetime(2026, 3, 1, 5, 59, 59, tzinfo=UTC), 6, dt.datetime(2026, 3, 1, 6, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 6, 0, 0, tzinfo=UTC), 6, dt.datetime(2026, 3, 2, 6, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 6, 0, 1, tzinfo=UTC), 6, dt.datetime(2026, 3, 2, 6, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC), 0, dt.datetime(2026, 3, 2, 0, tzinfo=UTC)),
        (dt.datetime(2026, 3, 1, 22, 30, tzinfo=UTC), 23, dt.datetime(2026, 3, 1, 23, tzinfo=UTC)),
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 6, dt.datetime(2027, 1, 1, 6, tzinfo=UTC)),
        (dt.datetime(2028, 2, 28, 7, tzinfo=UTC), 6, dt.datetime(2028, 2, 29, 6, tzinfo=UTC)),
        # 01:30 in UTC+2 is 23:30 UTC the day before.
        (
            dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            23,
            dt.datetime(2026, 3, 2, 23, tzinfo=UTC),
        ),
    ],
)
def test_next_digest_time(now: dt.datetime, hour: int, expected: dt.datetime) -> None:
    assert next_digest_time(now, hour) == expected


def test_next_digest_time_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="0 to 23"):
        next_digest_time(dt.datetime(2026, 1, 1, tzinfo=UTC), 24)
    with pytest.raises(ValueError, match="0 to 23"):
        next_digest_time(dt.datetime(2026, 1, 1, tzinfo=UTC), -1)
    with pytest.raises(ValueError, match="time zone"):
        next_digest_time(dt.datetime(2026, 1, 1), 6)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError):
        DigestScheduler(25)


def test_scheduler_queues_once_at_the_hour_and_stops() -> None:
    # A clock that stands 0.3 s before the next full hour when the scheduler starts.
    real = dt.datetime.now(UTC)
    boundary = real.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    offset = boundary - real - dt.timedelta(seconds=0.3)
    calls: list[dt.datetime] = []
    ran = threading.Event()

    def enqueue() -> None:
        calls.append(dt.datetime.now(UTC) + offset)
        ran.set()

    scheduler = DigestScheduler(
        boundary.hour, enqueue=enqueue, clock=lambda: dt.datetime.now(UTC) + offset
    )
    scheduler.start()
    assert ran.wait(5)
    time.sleep(0.3)  # it must now wait a whole day, not run again
    scheduler.stop()
    scheduler.join(5)
    assert not scheduler.is_alive()
    assert len(calls) == 1 and calls[0] >= boundary - dt.timedelta(seconds=0.05)


def test_enqueue_digests_runs_the_digest_task(
    analyst: Any, bob: Any, django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(bob)
    service.notify_for_report(file_report(analyst).pk)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_digests()  # the test settings run tasks at once
    assert [m.to for m in mail.outbox] == [[bob.email]]
