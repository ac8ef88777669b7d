"""Background work of the points of contact (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def publish_contacts() -> int:
    """Refresh the STIX copy of this country's contacts that peers pull."""
    from .stix import publish_contacts as publish

    return publish()


@task()
def escalate_overdue_checks() -> int:
    """Remind the silent recipients of checks past their deadline; tell the coordinator."""
    from .checks import escalate_overdue_checks as escalate

    return escalate()


@task()
def run_contact_checks() -> int:
    """Send the scheduled check when it is due, then escalate overdue checks.
    Returns the number of reminders sent."""
    from .checks import run_contact_checks as run

    return run().reminded
