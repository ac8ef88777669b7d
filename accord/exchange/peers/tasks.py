"""Background work of the peer links (django-tasks), and the scheduler that
queues due pulls while ``accord serve`` runs."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

# How often the scheduler looks for due pulls.
SCHEDULER_SECONDS = 60


@task()
def pull_peer(peer_id: int, trigger: str = "schedule") -> dict[str, Any]:
    """Pull once from one peer (skipped if it was paused or removed meanwhile)."""
    from accord.exchange.models import Peer

    from .inbound import pull

    peer = Peer.objects.filter(pk=peer_id, active=True).first()
    if peer is None:
        return {"skipped": True}
    run = pull(peer, trigger=trigger)
    return {"ok": bool(run.ok), "received": run.objects_received, "error": run.error}


def due_peers(now: dt.datetime | None = None) -> Any:
    """Active peers with an inbound agreement whose next pull is due."""
    from accord.exchange.models import Agreement, Peer

    now = now or timezone.now()
    inbound = Agreement.objects.filter(peer=OuterRef("pk"), direction=Agreement.Direction.INBOUND)
    return Peer.objects.filter(
        Exists(inbound), Q(next_pull_at__isnull=True) | Q(next_pull_at__lte=now), active=True
    )


def queue_due_pulls(now: dt.datetime | None = None) -> int:
    """Queue a pull for every peer that is due, and write pending retractions.

    Each peer is claimed first (its next pull moved one interval on), so a pull
    that is still queued or running is not queued a second time; the pull itself
    then sets the real next time (or the back-off after a failure)."""
    from accord.exchange.models import Peer

    from .services import retract_for_all

    now = now or timezone.now()
    queued = 0
    for peer in due_peers(now):
        claim = now + dt.timedelta(minutes=peer.pull_every_minutes)
        if Peer.objects.filter(pk=peer.pk, next_pull_at=peer.next_pull_at).update(
            next_pull_at=claim
        ):
            pull_peer.enqueue(peer.pk, "schedule")
            queued += 1
    retract_for_all()
    return queued


class PullScheduler(threading.Thread):
    """Calls ``queue_due_pulls`` every minute until stopped (``accord serve`` runs it
    beside the task worker, which then does the pulling)."""

    def __init__(
        self,
        *,
        interval: float = SCHEDULER_SECONDS,
        queue: Callable[[], Any] = queue_due_pulls,
    ) -> None:
        super().__init__(name="accord-peer-pulls", daemon=True)
        self.interval = interval
        self._queue = queue
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self._queue()
            except Exception:  # a database hiccup must not end the schedule
                logger.exception("Could not queue the due peer pulls.")
            finally:
                connections.close_all()  # this thread's own connections only
