"""``accord export-misp REPORT_ID --user USERNAME``: a report as a MISP event (core JSON).

The report is exported as that person sees it: a report they may not see is
"not found", and comments and sightings follow the same policy. See docs/misp.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accord import policy
from accord.exchange.misp.exporter import export_event


class Command(BaseCommand):
    help = "Print a report as a MISP core JSON event, as the given person may see it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("report_id", metavar="REPORT_ID")
        parser.add_argument("--user", required=True, metavar="USERNAME", help="Export as whom.")
        parser.add_argument("--output", metavar="FILE", help="Write to FILE instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No account with the username '{options['user']}'.")
        try:
            event = export_event(options["report_id"], viewer=user)
        except policy.NotVisible:
            raise CommandError(
                f"No report {options['report_id']} that {options['user']} may see."
            ) from None
        text = json.dumps(event, indent=2, ensure_ascii=False)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)
