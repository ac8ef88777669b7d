"""``accord pull-peers``: pull from peer installations now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accord.exchange.models import Agreement, Peer, PeerPullRun
from accord.exchange.peers.inbound import pull
from accord.exchange.peers.services import retract_for_all
from accord.exchange.peers.tasks import due_peers


class Command(BaseCommand):
    help = _(
        "Pull new material from peer installations (every active peer with an inbound "
        "agreement, or the one named), and write the retractions peers are due. "
        "Exits with status 1 if a pull failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--peer", metavar="SLUG", help=_("Pull from this peer only."))
        parser.add_argument(
            "--due",
            action="store_true",
            help=_("Only peers whose next pull is due (for running from cron)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        retracted = retract_for_all()
        if retracted:
            self.stdout.write(_("Wrote %(n)d retraction(s) for peers.") % {"n": retracted})
        if options["peer"]:
            peers = list(Peer.objects.filter(slug=options["peer"]))
            if not peers:
                raise CommandError(_("No peer with the slug %(slug)r.") % {"slug": options["peer"]})
            if not peers[0].active:
                raise CommandError(_("The link with this peer is paused."))
        elif options["due"]:
            peers = list(due_peers())
        else:
            peers = list(
                Peer.objects.filter(
                    active=True, agreements__direction=Agreement.Direction.INBOUND
                ).order_by("name")
            )
        failed = 0
        for peer in peers:
            run = pull(peer, trigger=PeerPullRun.Trigger.COMMAND)
            if run.ok:
                self.stdout.write(
                    _(
                        "%(peer)s: %(received)d objects received, %(refused)d left out by the "
                        "agreement, %(accepted)d accepted, %(failed)d not accepted; reports "
                        "%(new)d new, %(updated)d updated, %(withdrawn)d withdrawn."
                    )
                    % {
                        "peer": peer.name,
                        "received": run.objects_received,
                        "refused": run.objects_refused,
                        "accepted": run.objects_accepted,
                        "failed": run.objects_failed,
                        "new": run.reports_created,
                        "updated": run.reports_updated,
                        "withdrawn": run.reports_withdrawn,
                    }
                )
                if run.error:
                    self.stdout.write("  " + run.error)
            else:
                failed += 1
                self.stderr.write(
                    _("%(peer)s: the pull failed: %(error)s")
                    % {"peer": peer.name, "error": run.error}
                )
        if failed:
            raise CommandError(
                _("%(failed)d of %(total)d pulls failed.") % {"failed": failed, "total": len(peers)}
            )
