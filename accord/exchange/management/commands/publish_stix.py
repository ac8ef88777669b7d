"""``accord publish-stix``: write every report's STIX objects into the store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _(
        "Publish every report into the STIX store that TAXII and peer platforms read "
        "(a backfill; reports are published on their own as they change)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from accord.exchange.stix.publish import publish_all

        result = publish_all()
        self.stdout.write(
            _("%(written)d versions written, %(retired)d retired.")
            % {"written": result.written, "retired": result.retired}
        )
