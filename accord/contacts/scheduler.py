"""The periodic trigger ``accord serve`` runs for communication checks.

Every ``ACCORD_CONTACT_CHECK_POLL_MINUTES`` (default 15) it queues the
``run_contact_checks`` task: the task sends the scheduled check when it is due
and escalates checks whose deadline passed, so escalation is at most one
period late. Start it only after child processes are spawned (it is a thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)


def poll_seconds() -> float:
    return max(1, int(getattr(settings, "ACCORD_CONTACT_CHECK_POLL_MINUTES", 15))) * 60.0


def enqueue_contact_checks() -> None:
    from .tasks import run_contact_checks

    run_contact_checks.enqueue()


class ContactCheckScheduler(threading.Thread):
    def __init__(
        self,
        *,
        every: float | None = None,
        enqueue: Callable[[], None] = enqueue_contact_checks,
    ) -> None:
        super().__init__(name="accord-contact-checks", daemon=True)
        self.every = every if every is not None else poll_seconds()
        self._enqueue = enqueue
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.every):
            try:
                self._enqueue()
            except Exception:  # a database hiccup must not end the schedule
                logger.exception("Could not queue the communication checks.")
            finally:
                connections.close_all()  # this thread's own connections only
