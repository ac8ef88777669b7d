"""``accord send_digests``: e-mail the notification digests now.

``accord serve`` queues the same work once a day at ``ACCORD_DIGEST_HOUR_UTC``;
run this command from cron instead where the task worker runs on its own
(``accord serve --no-worker`` with a separate ``accord db_worker``). Running it
twice sends nothing twice: each notification is e-mailed once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accord.sharing.notifications import send_digests


class Command(BaseCommand):
    help = "E-mail each subscriber a digest of their unread, not yet e-mailed notifications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Queue the work for the task worker instead of doing it in this process.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from accord.sharing.tasks import send_digests as task

            result = task.enqueue()
            self.stdout.write(f"Queued the digest task ({result.id}).")
            return
        sent = send_digests()
        self.stdout.write(f"Queued {sent} digest e-mail{'s' if sent != 1 else ''}.")
