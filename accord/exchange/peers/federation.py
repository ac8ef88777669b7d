"""A network of three installations on one machine: for the federation test and for
``accord federation-demo``.

Three fictional countries — Alphaland (AT), Betaland (BE) and Gammaland (CZ) —
each run their own Accord: their own process, database and data directory. Each
is seeded (``accord federation-seed``) with the same kinds of material under its
own names — every marking, every attribution, a working group's report, one for
government only — and with peer records and agreements for the other two, so
that every rule of docs/federation.md has something to act on.

Who may take what (the outbound agreement of the first, the inbound one of the
second) is ``LINKS`` below; docs/federation.md draws it as a table.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ALL_KINDS = ("incident", "vulnerability", "advisory", "measure")


@dataclass(frozen=True)
class Node:
    key: str
    name: str
    slug: str
    country: str
    prefix: str
    # The documentation address range its observables come from (RFC 5737).
    addresses: str


NODES: tuple[Node, ...] = (
    Node("a", "Accord Alphaland", "alphaland", "AT", "Alpha", "192.0.2"),
    Node("b", "Accord Betaland", "betaland", "BE", "Beta", "198.51.100"),
    Node("c", "Accord Gammaland", "gammaland", "CZ", "Gamma", "203.0.113"),
)


def node(key: str) -> Node:
    return next(n for n in NODES if n.key == key)


@dataclass(frozen=True)
class Link:
    """What ``target`` may take from ``source``: ``source``'s outbound agreement with
    ``target`` and ``target``'s inbound agreement with ``source``."""

    source: str
    target: str
    kinds: tuple[str, ...] = ALL_KINDS
    highest: str = "green"
    names: bool = False
    finance_group: bool = False  # the source's finance working group's material too
    pass_on: bool = False
    inbound_kinds: tuple[str, ...] = ALL_KINDS
    inbound_highest: str = "green"


LINKS: tuple[Link, ...] = (
    Link(
        "a",
        "b",
        kinds=("incident", "vulnerability", "advisory"),
        highest="amber",
        names=True,
        finance_group=True,
        inbound_highest="amber",
    ),
    Link("a", "c", kinds=("incident", "vulnerability", "measure")),
    Link("b", "a"),
    Link(
        "b",
        "c",
        highest="amber",
        inbound_kinds=("incident", "advisory", "measure"),
    ),
    Link("c", "a"),
    Link("c", "b", pass_on=True),
)


# --- What each installation holds ----------------------------------------------------------

# role -> (name after the country prefix, sector, stakeholder group)
ORGANISATIONS: dict[str, tuple[str, str, str]] = {
    "grid": ("Grid Operator", "energy", "private-sector"),
    "bank": ("Savings Bank", "banking", "private-sector"),
    "hospital": ("Hospital Trust", "health", "private-sector"),
    "ministry": ("Ministry of the Interior", "public-administration", "government-civilian"),
}


@dataclass(frozen=True)
class Material:
    key: str
    title: str
    kind: str = "incident"
    marking: str = "green"
    attribution: str = "named"
    audience: str = "network"
    reporter: str = "grid"
    consent: bool = False


M = Material
MATERIAL: tuple[Material, ...] = (
    M("clear-named", "Public warning about a phishing wave", marking="clear"),
    M("green-named", "Control-room workstation infected"),
    M(
        "green-pseudo",
        "Card-skimming malware at branches",
        attribution="pseudonymous",
        reporter="bank",
    ),
    M(
        "green-anon",
        "Ransomware in a radiology system",
        attribution="anonymous",
        reporter="hospital",
    ),
    M("amber-consent", "Intrusion at a substation, may go abroad", marking="amber", consent=True),
    M("amber-plain", "Intrusion at a substation, stays home", marking="amber"),
    M("amber-strict", "Supplier compromise under investigation", marking="amber+strict"),
    M("red", "Names of the suspected insiders", marking="red"),
    M(
        "group",
        "Fraud pattern for the finance group",
        kind="advisory",
        attribution="pseudonymous",
        reporter="bank",
        audience="groups",
    ),
    M("government", "Outage of a ministry mail system", reporter="ministry", audience="government"),
    M("advisory", "Advisory: patch the VPN gateways", kind="advisory"),
    M("measure", "Measure: segment the OT network", kind="measure"),
    M(
        "vulnerability",
        "Weak default password in a payment terminal",
        kind="vulnerability",
        attribution="pseudonymous",
        reporter="bank",
    ),
    M("withdraw-me", "Suspicious scanning, possibly a mistake"),
    M(
        "tighten-me",
        "Patient-data leak, details to follow",
        attribution="pseudonymous",
        reporter="hospital",
    ),
)


def organisation_name(n: Node, role: str) -> str:
    return f"{n.prefix} {ORGANISATIONS[role][0]}"


def title(n: Node, material: Material) -> str:
    return f"[{n.prefix}] {material.title}"


def marker(n: Node, material: Material) -> str:
    """A word only this report's text contains, to look for in other databases."""
    return f"mark-{n.slug}-{material.key}-end"


def address(n: Node, material: Material) -> str:
    return f"{n.addresses}.{MATERIAL.index(material) + 10}"


# --- Seeding one installation (runs inside it) --------------------------------------------------


def seed(n: Node, urls: dict[str, str], secrets_: dict[str, str]) -> dict[str, Any]:
    """Fill an empty installation: people, organisations, rules, a working group, the
    material, and peers with agreements. Returns report ids and API tokens."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from accord.accounts.models import hash_token
    from accord.accounts.services import create_token
    from accord.exchange.stix import publish
    from accord.membership.models import Membership, Organisation, Sector, Task
    from accord.rules.models import RuleAcceptance, RuleDocument
    from accord.rules.services import publish_version
    from accord.sharing.models import Report
    from accord.sharing.services import reports
    from accord.sharing.services.drafts import ObservableInput, ReportDraft
    from accord.workgroups import services as workgroups

    from . import services
    from .services import AgreementData, PeerData

    users = get_user_model()
    if users.objects.filter(username="coordinator").exists():
        raise ValueError("This installation is seeded already.")
    password = settings.ACCORD_DEMO_PASSWORD
    out: dict[str, Any] = {"reports": {}, "tokens": {}}
    with transaction.atomic():
        coordinator = users.objects.create_user(
            username="coordinator",
            email=f"coordinator@{n.slug}.example",
            password=password,
            full_name=f"Coordinator of {n.name}",
            is_coordinator=True,
            is_demo=True,
        )
        for document in RuleDocument.objects.all():
            body = f"# {document.title}\n\nWe share responsibly."
            publish_version(document, body=body, change_summary="", by=coordinator)
        people: dict[str, Any] = {}
        for role, (_name, sector, group) in ORGANISATIONS.items():
            org = Organisation.objects.create(
                name=organisation_name(n, role),
                slug=f"{n.slug}-{role}",
                country=n.country,
                stakeholder_group=group,
                contact_name="Contact",
                contact_email=f"{role}@{n.slug}.example",
                status=Organisation.Status.VERIFIED,
            )
            org.sectors.set(Sector.objects.filter(code=sector))
            org.tasks.set(Task.objects.filter(code="incident-response"))
            person = users.objects.create_user(
                username=role,
                email=f"{role}.analyst@{n.slug}.example",
                password=password,
                full_name=f"{org.name} analyst",
                is_demo=True,
            )
            Membership.objects.create(
                user=person, organisation=org, is_analyst=True, is_representative=True
            )
            for document in RuleDocument.objects.all():
                RuleAcceptance.objects.create(
                    organisation=org, version=document.current_version, accepted_by=person
                )
            people[role] = person
        finance = workgroups.create_group(
            name=f"{n.prefix} Finance ISAC",
            description="Fraud and attacks on payment systems.",
            visibility="open",
            by=_fresh(people["bank"]),
        )
        for material in MATERIAL:
            draft = ReportDraft(
                kind=material.kind,
                title=title(n, material),
                summary=f"{material.title} ({marker(n, material)}).",
                marking=material.marking,
                audience=material.audience,
                audience_groups=[finance.slug] if material.audience == "groups" else [],
                recipients=["bank"] if material.marking == "red" else [],
                attribution=material.attribution,
                abroad_consent=material.consent,
                observables=[ObservableInput(value=address(n, material))],
            )
            report = reports.create_report(_fresh(people[material.reporter]), draft)
            out["reports"][material.key] = str(report.pk)
        for role in ("grid", "hospital"):
            _token, raw = create_token(people[role], name="federation", can_write=True)
            out["tokens"][role] = raw
        _token, raw = create_token(coordinator, name="federation", can_write=True)
        out["tokens"]["coordinator"] = raw

        for other in NODES:
            if other.key == n.key:
                continue
            outbound = _link(n.key, other.key)
            inbound = _link(other.key, n.key)
            peer = services.create_peer(
                coordinator,
                PeerData(
                    name=other.name,
                    slug=other.slug,
                    country=other.country,
                    api_root_url=urls[other.key].rstrip("/") + "/taxii2/",
                    remote_username=n.slug,
                    remote_secret=secrets_[f"{other.key}>{n.key}"] if inbound else "",
                    pull_every_minutes=1,
                ),
            )
            if outbound is not None:
                services.set_agreement(
                    coordinator,
                    peer,
                    "outbound",
                    AgreementData(
                        kinds=list(outbound.kinds),
                        highest_marking=outbound.highest,
                        name_reporters=outbound.names,
                        working_groups=[finance.slug] if outbound.finance_group else [],
                        pass_on_third_party=outbound.pass_on,
                    ),
                )
                # The token the other installation signs in with (generated by whoever
                # set the network up, so both sides know it).
                peer.inbound_token_hash = hash_token(secrets_[f"{n.key}>{other.key}"])
                peer.save(update_fields=["inbound_token_hash"])
            if inbound is not None:
                services.set_agreement(
                    coordinator,
                    peer,
                    "inbound",
                    AgreementData(
                        kinds=list(inbound.inbound_kinds), highest_marking=inbound.inbound_highest
                    ),
                )
    # Anonymous reports too (normally the daily pass writes them): the network starts now.
    publish.publish_reports(list(Report.objects.all()), deferred=True)
    return out


def _fresh(user: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user.pk)


def _link(source: str, target: str) -> Link | None:
    return next((link for link in LINKS if link.source == source and link.target == target), None)


def network_secrets() -> dict[str, str]:
    """One token per link: "a>b" is the token b signs in to a with (made here, before
    any installation runs, in the form ``services.generate_token`` gives)."""
    return {f"{link.source}>{link.target}": f"acp_{secrets.token_urlsafe(32)}" for link in LINKS}


# --- Running three installations ----------------------------------------------------------------


class FederationError(RuntimeError):
    """Setting the network up failed; the message says where."""


@dataclass
class Installation:
    node: Node
    host: str
    port: int
    directory: Path
    database_url: str
    process: subprocess.Popen[bytes] | None = None
    seeded: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url[len("sqlite://") :])
        return None


def derived_database_url(base: str, key: str) -> str:
    """The same PostgreSQL server, a database of its own: accord_x → accord_x_fed_a."""
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "accord"
    return urlunsplit(parts._replace(path=f"/{name}_fed_{key}"))


class Federation:
    """Three installations as separate processes, each with its own data directory and
    database (SQLite files, or databases derived from ``DATABASE_URL`` when given)."""

    def __init__(
        self,
        directory: Path,
        *,
        ports: Iterable[int],
        hosts: Iterable[str] = ("127.0.0.1",) * 3,
        database_url: str = "",
        settings_module: str = "accord.settings",
        serve: bool = False,
        quiet: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.settings_module = settings_module
        self.base_database_url = database_url
        self.serve = serve
        self.quiet = quiet
        self.installations: dict[str, Installation] = {}
        for n, port, host in zip(NODES, ports, hosts, strict=True):
            folder = self.directory / n.slug
            url = (
                derived_database_url(database_url, n.key)
                if database_url
                else f"sqlite:///{folder / 'accord.sqlite3'}"
            )
            self.installations[n.key] = Installation(n, host, int(port), folder, url)

    # -- environment and commands

    def env(self, inst: Installation) -> dict[str, str]:
        # Nothing of this process's own installation carries over, except the demo password.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DJANGO_"))}
        if "ACCORD_DEMO_PASSWORD" in os.environ:
            env["ACCORD_DEMO_PASSWORD"] = os.environ["ACCORD_DEMO_PASSWORD"]
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": self.settings_module,
                "ACCORD_VAR_DIR": str(inst.directory),
                "DATABASE_URL": inst.database_url,
                "ACCORD_NETWORK_NAME": inst.node.name,
                "ACCORD_COUNTRY": inst.node.country,
                "ACCORD_SITE_URL": inst.url,
                "ACCORD_ALLOWED_HOSTS": f"{inst.host},localhost,127.0.0.1",
                "ACCORD_2FA_POLICY": "none",
                "ACCORD_LOCKOUT_ENABLED": "false",
                "ACCORD_LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def command(self, key: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        inst = self.installations[key]
        result = subprocess.run(
            [sys.executable, "-m", "accord.cli", *args],
            env=self.env(inst),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise FederationError(
                f"{inst.node.name}: accord {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def parallel(self, args_by_key: dict[str, list[str]]) -> dict[str, tuple[int, str, str]]:
        running = {
            key: subprocess.Popen(
                [sys.executable, "-m", "accord.cli", *args],
                env=self.env(self.installations[key]),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for key, args in args_by_key.items()
        }
        results = {}
        for key, process in running.items():
            out, err = process.communicate(timeout=300)
            results[key] = (process.returncode, out, err)
        return results

    # -- setting up

    def prepare(self) -> None:
        """Create the databases (migrated once, then copied) and seed each node."""
        if self.directory.exists():
            shutil.rmtree(self.directory)
        for inst in self.installations.values():
            inst.directory.mkdir(parents=True)
        first, *others = self.installations.values()
        if self.base_database_url:
            self._drop_databases()
            self._admin(f'CREATE DATABASE "{_dbname(first.database_url)}"')
        self.command(first.node.key, "migrate", "--no-input", "-v", "0")
        if not self.serve:  # `accord serve` collects them itself; error pages need them
            self.command(first.node.key, "collectstatic", "--no-input", "-v", "0")
        for inst in others:
            if not self.serve:
                shutil.copytree(
                    first.directory / "static", inst.directory / "static", dirs_exist_ok=True
                )
            if self.base_database_url:
                self._admin(
                    f'CREATE DATABASE "{_dbname(inst.database_url)}" '
                    f'TEMPLATE "{_dbname(first.database_url)}"'
                )
            else:
                source = first.sqlite_path
                assert source is not None and inst.sqlite_path is not None
                # Closed at once: a connection left open in this process would share
                # its POSIX locks with any other this process opens on the file.
                with closing(sqlite3.connect(source)) as db:
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                shutil.copyfile(source, inst.sqlite_path)
        network = {
            "urls": {key: inst.url for key, inst in self.installations.items()},
            "secrets": network_secrets(),
        }
        network_file = self.directory / "network.json"
        network_file.write_text(json.dumps(network))
        network_file.chmod(0o600)
        results = self.parallel(
            {
                key: ["federation-seed", "--node", key, "--network", str(network_file)]
                for key in self.installations
            }
        )
        for key, (code, out, err) in results.items():
            if code != 0:
                raise FederationError(f"Seeding {key} failed:\n{out}\n{err}")
            self.installations[key].seeded = json.loads(out.strip().splitlines()[-1])

    def start(self, timeout: float = 60) -> None:
        for inst in self.installations.values():
            if self.serve:
                args = [sys.executable, "-m", "accord.cli", "serve", "--host", inst.host,
                        "--port", str(inst.port), "--workers", "1", "--threads", "4"]  # fmt: skip
            else:
                args = [sys.executable, "-m", "gunicorn", "accord.wsgi:application",
                        "--bind", f"{inst.host}:{inst.port}", "--workers", "1",
                        "--threads", "4", "--error-logfile", "-"]  # fmt: skip
                if gunicorn_version() >= (25, 1):
                    args.append("--no-control-socket")  # one per user: three would fight
            log = open(inst.directory / "server.log", "ab")  # noqa: SIM115 - lives with the process
            inst.process = subprocess.Popen(
                args,
                env=self.env(inst),
                stdout=log if self.quiet else None,
                stderr=subprocess.STDOUT if self.quiet else None,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        for inst in self.installations.values():
            while not _answers(inst.url + "/taxii2/"):
                if inst.process is not None and inst.process.poll() is not None:
                    raise FederationError(
                        f"{inst.node.name} stopped while starting; see {inst.directory}/server.log"
                    )
                if time.monotonic() > deadline:
                    raise FederationError(f"{inst.node.name} did not answer at {inst.url}")
                time.sleep(0.2)

    def pull(self, keys: Iterable[str] = ("a", "b", "c")) -> dict[str, tuple[int, str, str]]:
        """``accord pull-peers`` on each of these installations, side by side."""
        return self.parallel({key: ["pull-peers"] for key in keys})

    def stop(self) -> None:
        for inst in self.installations.values():
            process = inst.process
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for inst in self.installations.values():
            process = inst.process
            if process is None:
                continue
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            inst.process = None

    def cleanup(self) -> None:
        self.stop()
        if self.base_database_url:
            self._drop_databases()

    # -- PostgreSQL

    def _admin(self, sql: str) -> None:
        import psycopg

        admin = urlunsplit(urlsplit(self.base_database_url)._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]

    def _drop_databases(self) -> None:
        for inst in self.installations.values():
            self._admin(f'DROP DATABASE IF EXISTS "{_dbname(inst.database_url)}" WITH (FORCE)')


def gunicorn_version() -> tuple[int, ...]:
    import gunicorn

    return tuple(gunicorn.version_info)


def _dbname(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback node
            return True
    except urllib.error.HTTPError:
        return True  # 401 without credentials: it is up
    except (urllib.error.URLError, OSError):
        return False
