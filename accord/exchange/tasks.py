"""Background work of the exchange (django-tasks): keeping the STIX store current."""

from __future__ import annotations

from django_tasks import task


@task()
def publish_report(report_id: str) -> int:
    """Write a report's changed STIX objects into the store TAXII and peers read."""
    from accord.sharing.models import Report

    from .stix.publish import publish_report as publish

    report = Report.objects.filter(pk=report_id).first()
    if report is None:
        return 0
    return publish(report).written  # anonymous reports wait for the daily pass


@task()
def publish_deferred() -> int:
    """The daily pass that publishes anonymous material, dated to the day only."""
    from .peers.services import retract_for_all
    from .stix.publish import publish_deferred as publish

    written = publish().written
    retract_for_all(deferred=True)  # anonymous reports' retractions, dated to the day too
    return written


@task()
def publish_everything() -> int:
    """Publish every report anew (after severity was re-weighted, or as a backfill)."""
    from .stix.publish import publish_all

    return publish_all().written
