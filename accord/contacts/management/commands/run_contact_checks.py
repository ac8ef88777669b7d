"""``accord run-contact-checks``: send the scheduled communication check if it is
due, and escalate the checks whose deadline has passed.

``accord serve`` queues the same work every quarter of an hour; run this from
cron where the task worker runs on its own. Running it twice at once sends
nothing twice: the schedule and each check are claimed before anything is sent.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accord.contacts.checks import run_contact_checks


class Command(BaseCommand):
    help = "Send the scheduled communication check if due; escalate overdue checks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue the work for the task worker instead of doing it in this process.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from accord.contacts.tasks import run_contact_checks as task

            result = task.enqueue()
            self.stdout.write(f"Queued the contact-check task ({result.id}).")
            return
        result = run_contact_checks()
        if result.check is not None:
            count = result.check.recipients.count()
            self.stdout.write(f"Sent the scheduled check to {count} point(s) of contact.")
        else:
            self.stdout.write("No scheduled check was due.")
        self.stdout.write(f"Reminded {result.reminded} silent point(s) of contact.")
