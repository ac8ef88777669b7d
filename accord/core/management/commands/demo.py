"""``accord demo``: load the fictional demo network, then list its sign-ins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accord.core import demo


class Command(BaseCommand):
    help = _(
        "Load a fictional country's network (organisations, people, rules, working groups) "
        "for trying Accord out. Safe to run again: an existing demo is left as it is."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = demo.load()
        except demo.DemoError as exc:
            raise CommandError(str(exc)) from exc
        if created:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Loaded the demo network of the %(country)s.")
                    % {"country": demo.COUNTRY_NAME}
                )
            )
        else:
            self.stdout.write(_("The demo network is already loaded; nothing changed."))
        self.print_sign_ins()

    def print_sign_ins(self) -> None:
        header = (_("username"), _("role"), _("organisation"), _("try"))
        rows = [header, *demo.SIGN_INS]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            return "  ".join(cells).rstrip()

        self.stdout.write("")
        self.stdout.write(_("Demo sign-ins:"))
        self.stdout.write(line(header))
        self.stdout.write(line(tuple("-" * w for w in widths)))
        for row in demo.SIGN_INS:
            self.stdout.write(line(row))
        self.stdout.write("")
        self.stdout.write(
            _("Password for every demo account: %(password)s")
            % {"password": settings.ACCORD_DEMO_PASSWORD}
        )
        self.stdout.write(_("Open %(url)s and sign in.") % {"url": settings.SITE_URL + "/"})
