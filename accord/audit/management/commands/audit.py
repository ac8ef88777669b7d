"""``accord audit verify``: check the audit trail's hash chain.

Exits 0 with "OK: N entries, chain intact", or 1 with "BROKEN at entry #S: …",
so that a cron job or monitoring check can alert on it.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accord.audit.services import verify_chain


class Command(BaseCommand):
    help = "Work with the audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", required=True)
        subcommands.add_parser(
            "verify", help="Check every entry's digest and its link to the entry before it."
        )

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        if subcommand == "verify":
            self.verify()

    def verify(self) -> None:
        report = verify_chain()
        if report.ok:
            self.stdout.write(f"OK: {report.checked} entries, chain intact")
            return
        assert report.first_broken is not None  # noqa: S101 - narrows the type
        self.stdout.write(f"BROKEN at entry #{report.first_broken.sequence}: {report.problem}")
        sys.exit(1)
