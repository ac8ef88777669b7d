"""``accord import-stix FILE…``: import STIX 2.1 bundles into reports.

Each file is streamed (a bundle of any size keeps memory flat) and imported in
one transaction: either every valid object of the file is stored, or — when the
file is not a bundle, or the import stops on an error — nothing of it.
Invalid objects are listed on stderr and skipped; the rest is stored.

Two ways to import:

- ``--organisation SLUG``: the reports are filed here by that organisation (as
  one of its analysts or representatives, ``--as`` names which), with the
  marking the objects carry (``--marking`` when they carry none);
- ``--foreign --country XX``: material from abroad; its reports belong to no
  organisation here and only a later file from the same country may change them.

See docs/stix-import.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_countries import countries

from accord.exchange.models import Source
from accord.exchange.stix.ingest import IngestContext, IngestResult, ingest_bundle
from accord.exchange.stix.reader import BundleError
from accord.membership.models import Organisation
from accord.sharing.importing import filing_user, reporting_organisation
from accord.sharing.models import Audience, Marking
from accord.workgroups.models import WorkingGroup

# RED names its recipients, which a bundle cannot: it is never imported.
MARKINGS = [Marking.CLEAR, Marking.GREEN, Marking.AMBER, Marking.AMBER_STRICT]
AUDIENCES = [Audience.NETWORK, Audience.GROUPS, Audience.GOVERNMENT, Audience.COORDINATION]
FAILURES_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Import STIX 2.1 bundles (JSON files) into reports, streaming them. Objects "
        "imported before are recognised and not stored twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE", help="A STIX 2.1 bundle.")
        parser.add_argument(
            "--organisation", metavar="SLUG", help="The organisation that files the reports."
        )
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="The analyst or representative who files (default: the first one).",
        )
        parser.add_argument(
            "--marking",
            choices=[str(m) for m in MARKINGS],
            default=str(Marking.GREEN),
            help="For objects without a TLP marking of their own (default: green).",
        )
        parser.add_argument(
            "--audience", choices=[str(a) for a in AUDIENCES], default=str(Audience.NETWORK)
        )
        parser.add_argument(
            "--group", metavar="SLUG", help="The working group (--audience groups)."
        )
        parser.add_argument(
            "--foreign",
            action="store_true",
            help="Material from abroad: no organisation here files it (needs --country).",
        )
        parser.add_argument("--country", metavar="XX", help="Where foreign material came from.")

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = self._context(options)
        failed_files = 0
        for raw in options["files"]:
            path = Path(raw)
            if not path.is_file():
                raise CommandError(f"No such file: {raw}")
        for raw in options["files"]:
            path = Path(raw)
            ctx.label = path.name
            try:
                result = ingest_bundle(path, ctx)
            except BundleError as exc:
                failed_files += 1
                self.stderr.write(f"{path}: not imported: {exc}")
                continue
            self._report(path, result)
            if result.failed:
                failed_files += 1
        if failed_files:
            raise CommandError(
                f"{failed_files} of {len(options['files'])} files were not imported completely."
            )

    def _report(self, path: Path, result: IngestResult) -> None:
        self.stdout.write(
            f"{path}: {result.total} objects: {result.stored} stored, "
            f"{result.unchanged} already known, {result.failed} failed; reports: "
            f"{len(result.reports_created)} created, {len(result.reports_updated)} updated, "
            f"{len(result.reports_withdrawn)} withdrawn; {result.observables} observables added."
        )
        for stix_id, version, message in result.failures[:FAILURES_SHOWN]:
            shown = f"{stix_id} ({version})" if version else stix_id or "an object"
            self.stderr.write(f"{path}: {shown}: {message}")
        if result.failed > FAILURES_SHOWN:
            self.stderr.write(f"{path}: … and {result.failed - FAILURES_SHOWN} more failures.")

    # -- the context

    def _context(self, options: dict[str, Any]) -> IngestContext:
        group = self._group(options["audience"], options["group"])
        common = {
            "source": Source.FILE,
            "audience": options["audience"],
            "audience_group": group,
            "marking_default": options["marking"],
            "keep_successes": False,
            "notify": True,
        }
        if options["foreign"]:
            if options["organisation"] or options["username"]:
                raise CommandError("--foreign material belongs to no organisation here.")
            country = (options["country"] or "").upper()
            if not country:
                raise CommandError("Say where foreign material came from: --country XX.")
            if country not in dict(countries):
                raise CommandError(f"'{options['country']}' is not an ISO 3166 country code.")
            return IngestContext(origin_country=country, **common)
        if options["country"]:
            raise CommandError("--country is for --foreign material.")
        organisation = self._organisation(options["organisation"])
        user = self._user(organisation, options["username"])
        return IngestContext(user=user, organisation=organisation, **common)

    def _group(self, audience: str, slug: str | None) -> WorkingGroup | None:
        if audience != Audience.GROUPS:
            if slug:
                raise CommandError("--group is for --audience groups.")
            return None
        if not slug:
            raise CommandError("Name the working group: --group SLUG.")
        group = WorkingGroup.objects.filter(slug=slug).first()
        if group is None:
            raise CommandError(f"No working group with the slug '{slug}'.")
        return group

    def _organisation(self, slug: str | None) -> Organisation:
        return reporting_organisation(
            slug,
            "Give the organisation that files the reports (--organisation SLUG), "
            "or import foreign material with --foreign --country XX.",
        )

    def _user(self, organisation: Organisation, username: str | None) -> Any:
        return filing_user(organisation, username)
