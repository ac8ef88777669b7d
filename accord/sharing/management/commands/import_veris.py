"""``accord import-veris PATH…``: file VERIS incidents as incident reports.

Each incident is filed for the chosen organisation by one of its analysts or
representatives, in a transaction of its own. A file that is not a VERIS
incident is reported on stderr and skipped; an incident filed before is
skipped as a duplicate. See docs/veris.md for the mapping.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accord.membership.models import Organisation
from accord.sharing import veris
from accord.sharing.importing import filing_user, json_files, reporting_organisation
from accord.sharing.models import Attribution, Audience, Marking

# RED needs named recipients and the groups/organisations audiences need lists:
# a bulk import offers only the distributions that need nothing more.
MARKINGS = [Marking.CLEAR, Marking.GREEN, Marking.AMBER, Marking.AMBER_STRICT]
AUDIENCES = [Audience.NETWORK, Audience.GOVERNMENT, Audience.COORDINATION]


class Command(BaseCommand):
    help = (
        "Import VERIS incidents (JSON files, or directories of them) as incident reports "
        "of an organisation. Incidents imported before are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="A .json file or a directory.")
        parser.add_argument("--organisation", metavar="SLUG", help="The reporting organisation.")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="The analyst or representative who files (default: the first one).",
        )
        parser.add_argument("--marking", choices=[str(m) for m in MARKINGS], default="green")
        parser.add_argument(
            "--attribution", choices=[str(a) for a in Attribution.values], default="named"
        )
        parser.add_argument("--audience", choices=[str(a) for a in AUDIENCES], default="network")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and map everything, store nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = self._organisation(options["organisation"])
        user = self._user(organisation, options["username"])
        files = self._files(options["paths"])
        counts: Counter[str] = Counter()
        seen: set[str] = set()  # a dry run stores nothing, so repeats within it are caught here
        for path in files:
            try:
                incident = veris.read_incident(path)
            except veris.NotVeris as exc:
                counts["failed"] += 1
                self.stderr.write(f"{path}: {exc}")
                continue
            veris_id = veris.incident_id(incident)
            if veris_id in seen and options["dry_run"]:
                counts["duplicate"] += 1
                continue
            seen.add(veris_id)
            outcome = veris.import_incident(
                user,
                organisation,
                incident,
                marking=options["marking"],
                audience=options["audience"],
                attribution=options["attribution"],
                dry_run=options["dry_run"],
            )
            counts[outcome.status] += 1
            if outcome.status == "failed":
                self.stderr.write(f"{path}: incident {veris_id} not imported: {outcome.reason}")
            elif options["verbosity"] >= 2:
                what = f"report {outcome.report.pk}" if outcome.report else "checked"
                self.stdout.write(f"{path}: {outcome.status} ({what})")

        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb} {counts['imported']}, skipped {counts['duplicate']} as duplicates, "
            f"failed {counts['failed']} (of {len(files)} files) for {organisation.slug} "
            f"as {user.get_username()}."
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(files)} files could not be imported.")

    def _organisation(self, slug: str | None) -> Organisation:
        return reporting_organisation(slug)

    def _user(self, organisation: Organisation, username: str | None) -> Any:
        return filing_user(organisation, username)

    def _files(self, paths: list[str]) -> list[Path]:
        return json_files(paths)
