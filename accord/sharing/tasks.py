"""Background work of trusted sharing (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def notify_subscribers(report_id: str) -> int:
    """Create in-app notifications for the subscribers who may see a new report."""
    from .notifications import notify_for_report

    return notify_for_report(report_id)


@task()
def send_digests() -> int:
    """E-mail each subscriber a digest of their unread, not yet e-mailed notifications."""
    from .notifications import send_digests as send

    return send()


@task()
def rescore_reports() -> int:
    """Recompute stored severity scores after the coordinator changed the weights."""
    from .services.network_settings import rescore_all
    from .signals import reports_rescored

    changed = rescore_all()
    if changed:
        reports_rescored.send(sender=None)
    return changed
