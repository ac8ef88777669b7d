"""``accord serve``: the whole platform in one command.

Collects the static files, then runs two child processes: gunicorn serving
``accord.wsgi`` and the django-tasks database worker that delivers e-mail and
other background work. Ctrl-C or SIGTERM is passed on to both; when either
child stops, the other is stopped too and the command exits, so a process
supervisor (systemd, a container runtime) sees one service that is up or down.

Beside the worker, small scheduler threads queue the periodic tasks, which the
worker then runs: the notification digest once a day at ``DIGEST_HOUR_UTC``
o'clock (UTC), and the communication checks of the points of contact (sent
when due, escalated after their deadline) every
``ACCORD_CONTACT_CHECK_POLL_MINUTES``, and every minute the pulls from peer
platforms that are due (with the retractions peers are owed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import logging
import signal
import subprocess
import sys
import threading
import time
from argparse import ArgumentTypeError
from collections.abc import Callable
from types import FrameType
from typing import Any

import gunicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# gunicorn's own graceful timeout is 30 s; give the children a little more before killing.
STOP_TIMEOUT = 35


def _positive(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ArgumentTypeError(_("expected a whole number from 1 to 65535, not %r") % value)
    return int(value)


def _bind_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):  # a bare IPv6 address
        host = f"[{host}]"
    return f"{host}:{port}"


def _die_with_parent() -> None:
    """Runs in each child before it starts: on Linux, ask the kernel to send it
    SIGTERM if ``accord serve`` dies without stopping it (kill -9, out of memory),
    so no server is left holding the port."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def next_digest_time(now: dt.datetime, hour: int) -> dt.datetime:
    """The first moment strictly after ``now`` that is ``hour``:00 UTC."""
    if not 0 <= hour <= 23:
        raise ValueError(f"The digest hour must be 0 to 23, not {hour}.")
    if now.tzinfo is None:
        raise ValueError("'now' must carry a time zone.")
    now = now.astimezone(dt.UTC)
    due = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return due if due > now else due + dt.timedelta(days=1)


def enqueue_digests() -> None:
    """Queue the daily tasks: the digest e-mails, and the STIX publication of the
    day's anonymous material (dated to the day only). The task worker runs them."""
    from accord.exchange.tasks import publish_deferred
    from accord.sharing.tasks import send_digests

    send_digests.enqueue()
    publish_deferred.enqueue()


class DigestScheduler(threading.Thread):
    """Calls ``enqueue`` once a day at ``hour``:00 UTC until stopped. A missed hour
    (the server was down) is not caught up: the digest then covers two days."""

    def __init__(
        self,
        hour: int,
        *,
        enqueue: Callable[[], None] = enqueue_digests,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        super().__init__(name="accord-digests", daemon=True)
        next_digest_time(clock(), hour)  # refuse a bad hour now, not at the first run
        self.hour = hour
        self._enqueue = enqueue
        self._clock = clock
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        last = self._clock()
        while True:
            # From the last run on, never before it: a clock that wakes a little early
            # must not queue the same day's digest twice.
            due = next_digest_time(max(self._clock(), last), self.hour)
            if self._stopped.wait(max(0.0, (due - self._clock()).total_seconds())):
                return
            try:
                self._enqueue()
            except Exception:  # a database hiccup must not end the schedule
                logger.exception("Could not queue the notification digests.")
            finally:
                connections.close_all()  # this thread's own connections only
            last = due


class Command(BaseCommand):
    help = _(
        "Serve Accord with gunicorn and run the background task worker, "
        "until interrupted or until either process stops."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to listen on."))
        parser.add_argument("--port", type=_positive, default=8000, help=_("Port to listen on."))
        parser.add_argument(
            "--workers", type=_positive, default=2, help=_("Number of gunicorn worker processes.")
        )
        parser.add_argument(
            "--threads", type=_positive, default=4, help=_("Threads per worker process.")
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help=_("Do not run the background task worker (run 'accord db_worker' elsewhere)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self._warn_about_migrations()
        call_command("collectstatic", interactive=False, verbosity=0)
        commands = {"web": self._gunicorn(options)}
        schedulers: list[Any] = []
        if not options["no_worker"]:
            worker = self._worker()
            if worker is None:
                self.stdout.write(
                    _("The task backend is not the database backend; no task worker is started.")
                )
            else:
                commands["worker"] = worker
                schedulers = self._schedulers()
        # Close our own connection: the children open theirs, and SQLite dislikes idle holders.
        connections.close_all()
        url = f"http://{_bind_address(options['host'], options['port'])}/"
        self.stdout.write(self.style.SUCCESS(_("Accord is serving on %(url)s") % {"url": url}))
        self.stdout.write(_("Press Ctrl-C to stop."))
        self.stdout.flush()
        code = self._supervise(commands, schedulers)
        if code:
            raise CommandError(
                _("A child process stopped with exit status %(code)s.") % {"code": code}
            )

    def _warn_about_migrations(self) -> None:
        try:
            executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
            unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except DatabaseError as exc:
            raise CommandError(_("Cannot use the database: %(error)s") % {"error": exc}) from exc
        if unapplied:
            self.stderr.write(
                self.style.WARNING(
                    _("The database has unapplied migrations: run 'accord migrate'.")
                )
            )

    def _gunicorn(self, options: dict[str, Any]) -> list[str]:
        # More gunicorn settings can be given in GUNICORN_CMD_ARGS.
        flags = {
            "--bind": _bind_address(options["host"], options["port"]),
            "--workers": str(options["workers"]),
            "--threads": str(options["threads"]),
            "--error-logfile": "-",
            "--graceful-timeout": "30",
        }
        if settings.ACCESS_LOG:
            # Off by default: request times and addresses could date an anonymous filing.
            flags["--access-logfile"] = "-"  # stdout
        command = [sys.executable, "-m", "gunicorn", "accord.wsgi:application"]
        for flag, value in flags.items():
            command += [flag, value]
        if gunicorn.version_info >= (25, 1):
            # Its control socket lives at one path per user: two servers would fight over it.
            command.append("--no-control-socket")
        return command

    def _worker(self) -> list[str] | None:
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
        from django_tasks_db.backend import DatabaseBackend

        if not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
            return None
        return [sys.executable, "-m", "accord.cli", "db_worker", "--no-reload", "--queue-name", "*"]

    def _schedulers(self) -> list[Any]:
        from accord.contacts.scheduler import ContactCheckScheduler
        from accord.exchange.peers.tasks import PullScheduler

        try:
            digests = DigestScheduler(settings.DIGEST_HOUR_UTC)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Notification digests are e-mailed daily at %(hour)02d:00 UTC.")
            % {"hour": settings.DIGEST_HOUR_UTC}
        )
        return [digests, ContactCheckScheduler(), PullScheduler()]

    def _supervise(
        self, commands: dict[str, list[str]], schedulers: list[Any] | None = None
    ) -> int:
        """Run the children until a signal arrives or one of them exits; return its status."""
        stopping: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        # Own sessions: Ctrl-C in a terminal reaches only this process, which passes it
        # on once, instead of every child getting it twice.
        children = {
            name: subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
            for name, command in commands.items()
        }
        for scheduler in schedulers or []:
            scheduler.start()  # only now: preexec_fn is not safe once threads run
        status = 0
        try:
            while not stopping:
                exited = [(n, p.returncode) for n, p in children.items() if p.poll() is not None]
                if exited:
                    name, status = exited[0]
                    status = status or 1  # a child that stops by itself is a failure
                    self.stderr.write(
                        _("The %(name)s process stopped (status %(code)s); stopping the rest.")
                        % {"name": name, "code": status}
                    )
                    break
                time.sleep(0.2)
        finally:
            for scheduler in schedulers or []:
                scheduler.stop()
            self._stop(children, stopping[0] if stopping else signal.SIGTERM)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    @staticmethod
    def _stop(children: dict[str, subprocess.Popen[bytes]], signum: int) -> None:
        for process in children.values():
            if process.poll() is None:
                process.send_signal(signum)
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in children.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
