"""``accord federation-seed``: fill one installation of the three-node network.

Used by ``accord federation-demo`` and the federation test, each node in its own
process with its own settings. Prints the new reports' ids and API tokens as one
line of JSON (the last line of its output).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accord.exchange.peers import federation


class Command(BaseCommand):
    help = _(
        "Seed an empty installation as one node of the three-node demo network "
        "(see docs/federation.md). Prints report ids and API tokens as JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--node", required=True, choices=[n.key for n in federation.NODES])
        parser.add_argument(
            "--network",
            required=True,
            type=Path,
            help=_("JSON file with the nodes' addresses and the tokens of their links."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            network = json.loads(options["network"].read_text())
            urls, secrets = network["urls"], network["secrets"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                _("Cannot read the network file: %(error)s") % {"error": exc}
            ) from exc
        try:
            result = federation.seed(federation.node(options["node"]), urls, secrets)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result))
