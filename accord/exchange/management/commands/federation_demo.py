"""``accord federation-demo``: three installations exchanging, to explore in a browser.

Sets up Alphaland, Betaland and Gammaland (accord.exchange.peers.federation) in
their own data directories and databases, serves each with ``accord serve``,
and pulls between them every so often until interrupted. docs/federation.md
says what to look at.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from accord.exchange.peers.federation import (
    NODES,
    ORGANISATIONS,
    Federation,
    FederationError,
)

# Three loopback addresses keep the three sites' cookies apart (a browser shares
# cookies between ports of one host). Linux answers on all of 127.0.0.0/8.
SEPARATE_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


class Command(BaseCommand):
    help = _(
        "Run three Accord installations (Alphaland, Betaland, Gammaland) that exchange "
        "with each other under agreements, for exploring in a browser. Ctrl-C stops them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ports", type=int, nargs=3, default=[8001, 8002, 8003], metavar="PORT"
        )
        parser.add_argument(
            "--same-host",
            action="store_true",
            help=_(
                "Serve all three on 127.0.0.1 (where 127.0.0.2 and .3 do not work); use a "
                "separate browser profile or private window per installation."
            ),
        )
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help=_("Where the three data directories go (emptied first)."),
        )
        parser.add_argument(
            "--pull-every",
            type=int,
            default=30,
            metavar="SECONDS",
            help=_("How often each installation pulls from its peers."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ports = options["ports"]
        if len(set(ports)) != 3 or not all(1 <= p <= 65535 for p in ports):
            raise CommandError(_("Give three different ports from 1 to 65535."))
        if options["pull_every"] < 5:
            raise CommandError(_("Pull every 5 seconds at the least."))
        same = options["same_host"] or sys.platform != "linux"
        hosts = ("127.0.0.1",) * 3 if same else SEPARATE_HOSTS
        directory = options["dir"] or Path(settings.VAR_DIR) / "federation-demo"
        database_url = os.environ.get("DATABASE_URL", "")
        network = Federation(
            directory,
            ports=ports,
            hosts=hosts,
            database_url=database_url if database_url.startswith("postgres") else "",
            settings_module=os.environ.get("DJANGO_SETTINGS_MODULE", "accord.settings"),
            serve=True,
        )
        stopping: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stopping.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.stdout.write(_("Setting up three installations in %(dir)s …") % {"dir": directory})
            network.prepare()
            network.start(timeout=120)
            self._banner(network, same)
            while not stopping:
                self._pull(network)
                deadline = time.monotonic() + options["pull_every"]
                while not stopping and time.monotonic() < deadline:
                    time.sleep(0.5)
        except FederationError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            self.stdout.write(_("Stopping the three installations …"))
            network.cleanup()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _banner(self, network: Federation, same_host: bool) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(_("Three installations are running:")))
        for node in NODES:
            inst = network.installations[node.key]
            self.stdout.write(f"  {node.name} ({node.country})  {inst.url}/")
        self.stdout.write("")
        self.stdout.write(_("Sign in on each with one of these user names:"))
        self.stdout.write(
            _("  coordinator  — peers and agreements under %(path)s") % {"path": "/exchange/peers/"}
        )
        for role, (name, sector, _group) in ORGANISATIONS.items():
            self.stdout.write(f"  {role:<12} — analyst of the country's {name} ({sector})")
        self.stdout.write(
            _("Password for every account: %(password)s")
            % {"password": settings.ACCORD_DEMO_PASSWORD}
        )
        if same_host:
            self.stdout.write(
                _(
                    "All three share one host name: use a private window or another browser "
                    "profile per installation, or the sign-ins push each other out."
                )
            )
        self.stdout.write("")
        self.stdout.write(_("Press Ctrl-C to stop."))
        self.stdout.flush()

    def _pull(self, network: Federation) -> None:
        for key, (code, out, err) in network.pull().items():
            name = network.installations[key].node.name
            if code != 0:
                self.stderr.write(f"{name}: {(err or out).strip().splitlines()[-1:]}")
        self.stdout.write(time.strftime("%H:%M:%S ") + _("pulled between the installations"))
        self.stdout.flush()
