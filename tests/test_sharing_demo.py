"""The demo's shared material: every kind of report, marking, audience and
attribution, correlations across sectors, and anonymity kept."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from accord import policy
from accord.audit.models import AuditEntry
from accord.sharing import demo as sharing_demo
from accord.sharing.models import (
    Attribution,
    Audience,
    Comment,
    Kind,
    Marking,
    Observable,
    Report,
    ReportObservable,
    Sighting,
    Subscription,
)
from accord.sharing.services.correlation import correlations_for_report


@pytest.fixture(scope="module")
def _loaded(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """Load the demo once for the module (it takes seconds) and roll it back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def network(_loaded: None, db: Any) -> None:
    """Each test runs in its own savepoint inside the module's transaction."""


def user(username: str) -> Any:
    return get_user_model().objects.get(username=username)


def report(key: str) -> Report:
    title = next(spec.title for spec in sharing_demo.REPORTS if spec.key == key)
    return Report.objects.get(title=title)


def counts() -> dict[str, int]:
    models = (Report, Comment, Sighting, Subscription, Observable, ReportObservable, AuditEntry)
    return {model.__name__: model.objects.count() for model in models}


def test_every_kind_marking_audience_and_attribution_is_there(network: None) -> None:
    assert Report.objects.count() == len(sharing_demo.REPORTS) >= 30
    assert set(Report.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert set(Report.objects.values_list("marking", flat=True)) == set(Marking.values)
    assert set(Report.objects.values_list("audience", flat=True)) == set(Audience.values)
    assert set(Report.objects.values_list("attribution", flat=True)) == set(Attribution.values)
    for red in Report.objects.filter(marking=Marking.RED):
        assert red.recipients.exists()
    assert Report.objects.exclude(core_components=[]).count() >= 4
    assert Report.objects.filter(severity_level__isnull=False).count() >= 15


def test_an_observable_correlates_reports_of_different_sectors(network: None) -> None:
    spread = {}
    for observable_id in ReportObservable.objects.values_list("observable_id", flat=True):
        sectors = set(
            Report.objects.filter(observations__observable_id=observable_id)
            .exclude(reporter_sector=None)
            .values_list("reporter_sector__code", flat=True)
        )
        spread[observable_id] = sectors
    assert max(len(sectors) for sectors in spread.values()) >= 3
    # And an analyst sees it on the report page: the water utility's ransomware.
    analyst = user("zoe.laurent")
    water = policy.get_report(analyst, report("water-ransomware").pk)
    correlated = {c.value: c for c in correlations_for_report(analyst, water) if c.reports}
    assert sharing_demo.LOADER_C2_DOMAIN in correlated
    assert correlated[sharing_demo.VPN_EXPLOIT_IP].sectors >= 2
    # A public resolver is listed as too common, not correlated.
    ddos = policy.get_report(user("nadia.petrova"), report("portal-ddos").pk)
    resolver = next(
        c for c in correlations_for_report(user("nadia.petrova"), ddos) if c.value == "8.8.8.8"
    )
    assert resolver.common is not None and resolver.reports == 0


def test_anonymous_reports_keep_their_reporter_hidden(network: None) -> None:
    anonymous = Report.objects.filter(attribution=Attribution.ANONYMOUS)
    assert anonymous.count() >= 2
    for item in anonymous:
        assert item.reporter_organisation_id is None
        assert item.created_by_id is None
        assert item.reporter_sector_id is None
        assert item.authorship_tag
        assert (item.created_at.hour, item.created_at.minute, item.created_at.second) == (0, 0, 0)
        assert all(v.author_id is None for v in item.versions.all())
    # Their own organisation recognises them, nobody else does.
    hospital = report("hospital-ransomware")
    assert policy.is_reporter(user("samuel.okoro"), hospital)
    assert not policy.is_reporter(user("niko.virtanen"), hospital)
    assert not AuditEntry.objects.filter(target_id=str(hospital.pk)).exists()


def test_one_report_was_revealed_and_one_withdrawn(network: None) -> None:
    skimmer = report("skimmer")
    assert skimmer.attribution == Attribution.NAMED
    assert skimmer.reporter_organisation.name == "AvaRail"
    assert skimmer.versions.count() == 2
    withdrawn = Report.objects.exclude(withdrawn_at=None)
    assert [r.title for r in withdrawn] == [report("exchange-false-alarm").title]
    assert withdrawn[0].withdrawal_reason
    assert withdrawn[0] not in policy.reports_visible_to(user("tomas.brandt"))


def test_red_reports_reach_only_their_recipients(network: None) -> None:
    insider = report("insider")
    assert policy.reports_visible_to(user("lars.eriksen")).filter(pk=insider.pk).exists()
    assert not policy.reports_visible_to(user("coordinator")).filter(pk=insider.pk).exists()
    vessel = report("cable-vessel")
    assert policy.reports_visible_to(user("coordinator")).filter(pk=vessel.pk).exists()
    assert not policy.reports_visible_to(user("tomas.brandt")).filter(pk=vessel.pk).exists()


def test_comments_and_sightings_take_every_form(network: None) -> None:
    assert set(Comment.objects.values_list("attribution", flat=True)) == {
        Attribution.NAMED,
        Attribution.PSEUDONYMOUS,
    }
    assert Comment.objects.exclude(parent=None).exists()
    stricter = [
        c for c in Comment.objects.select_related("report") if c.marking != c.report.marking
    ]
    assert stricter
    for comment in Comment.objects.select_related("report"):
        assert comment.created_at > comment.report.created_at
    assert set(Sighting.objects.values_list("attribution", flat=True)) == set(Attribution.values)
    for sighting in Sighting.objects.filter(attribution=Attribution.ANONYMOUS):
        assert sighting.organisation_id is None and sighting.created_by_id is None
    days = {s.seen_at.date() for s in Sighting.objects.all()}
    assert len(days) >= 5
    assert Subscription.objects.filter(user__username="tomas.brandt").exists()


def test_reports_are_spread_over_two_months(network: None) -> None:
    dates = sorted(Report.objects.values_list("created_at", flat=True))
    assert (dates[-1] - dates[0]).days >= 50
    assert len({d.date() for d in dates}) >= 25


def test_a_second_run_adds_nothing(network: None) -> None:
    before = counts()
    assert sharing_demo.load_sharing_demo() is False
    call_command("demo", stdout=StringIO())
    assert counts() == before
