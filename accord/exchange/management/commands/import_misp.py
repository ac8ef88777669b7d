"""``accord import-misp FILE… --organisation SLUG``: MISP events (core JSON) as reports.

Each event is imported in a transaction of its own. A file that is not a MISP
event, or an event the platform refuses, is named on stderr and skipped; the
others are imported. ``--foreign --country XX`` imports events from another
country: no local organisation reports them. See docs/misp.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accord import policy
from accord.exchange.misp.event import MispError
from accord.exchange.misp.importer import IMPORT_AUDIENCES, run_import
from accord.membership.models import Organisation
from accord.sharing.importing import filing_user, json_files, reporting_organisation
from accord.sharing.models import Attribution


class Command(BaseCommand):
    help = (
        "Import MISP events (JSON files, or directories of them) as reports of an "
        "organisation, or with --foreign as reports from another country."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="FILE", help="A .json file or a directory.")
        parser.add_argument("--organisation", metavar="SLUG", help="The reporting organisation.")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="Who files (default: the organisation's first analyst or representative).",
        )
        parser.add_argument(
            "--attribution", choices=[str(a) for a in Attribution.values], default="named"
        )
        parser.add_argument(
            "--audience", choices=[str(a) for a in IMPORT_AUDIENCES], default="network"
        )
        parser.add_argument(
            "--foreign", action="store_true", help="Events from another country (see --country)."
        )
        parser.add_argument("--country", metavar="XX", default="", help="Their origin country.")

    def handle(self, *args: Any, **options: Any) -> None:
        foreign = options["foreign"]
        if foreign:
            if options["organisation"]:
                raise CommandError(
                    "A foreign import has no local organisation: drop --organisation."
                )
            if not options["country"]:
                raise CommandError("A foreign import needs --country XX (the origin country).")
            organisation, user = None, self._foreign_user(options["username"])
        else:
            if options["country"]:
                raise CommandError("--country is only for --foreign imports.")
            organisation = self._organisation(options["organisation"])
            user = self._user(organisation, options["username"])
        files = self._files(options["paths"])
        counts: Counter[str] = Counter()
        for path in files:
            try:
                result = run_import(
                    path.read_bytes(),
                    user=user,
                    organisation=organisation,
                    origin_country=options["country"],
                    foreign=foreign,
                    audience=options["audience"],
                    attribution=options["attribution"],
                )
            except MispError as exc:
                counts["failed"] += 1
                self.stderr.write(f"{path}: not imported: {exc.message}")
                continue
            except policy.PolicyDenied as exc:
                counts["failed"] += 1
                self.stderr.write(f"{path}: not imported: {exc.message}")
                continue
            counts[result.status] += 1
            if options["verbosity"] >= 2:
                event = result.event
                self.stdout.write(
                    f"{path}: {result.status} report {result.report.pk} "
                    f"({len(event.observations)} observables, {len(event.references)} "
                    f"references, {event.others} other attributes)"
                )
        who = "as foreign reports" if foreign else f"for {organisation.slug}"  # type: ignore[union-attr]
        self.stdout.write(
            f"Imported {counts['created']}, updated {counts['updated']}, unchanged "
            f"{counts['unchanged'] + counts['exists']}, failed {counts['failed']} "
            f"(of {len(files)} files) {who}."
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(files)} files could not be imported.")

    def _organisation(self, slug: str | None) -> Organisation:
        return reporting_organisation(slug)

    def _foreign_user(self, username: str | None) -> Any:
        """Run at the console, a foreign import needs nobody; --as records a coordinator."""
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account with the username '{username}'.")
        if not policy.is_coordinator(user):
            raise CommandError(f"'{username}' is not a coordinator.")
        return user

    def _user(self, organisation: Organisation, username: str | None) -> Any:
        return filing_user(organisation, username)

    def _files(self, paths: list[str]) -> list[Path]:
        return json_files(paths)
