"""What sharing tells the rest of the platform.

``report_changed`` is sent once the transaction that filed, edited, withdrew or
revealed a report — or added a comment or sighting to it — has committed. The
exchange listens to keep its STIX store current; sharing itself knows nothing
of STIX.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# Arguments: report_id.
report_changed = Signal()
# Sent when many reports changed at once (the coordinator re-weighted severity).
reports_rescored = Signal()


def announce_change(report_id: Any) -> None:
    """Send ``report_changed`` after the current transaction commits."""
    transaction.on_commit(lambda: report_changed.send(sender=None, report_id=report_id))
