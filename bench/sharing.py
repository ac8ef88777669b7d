"""Trusted sharing at the issue's scale: filing a big report, reading the feed.

Targets (from the issue):
- submit a report with 1,000 observables into a store of 1,000,000 observables,
  correlated and stored: p50 < 200 ms on PostgreSQL;
- a feed or API page of 50 visible reports for a viewer in a network of 500
  organisations and 200,000 reports: p50 < 50 ms, p99 < 150 ms.

Run (figures are printed, never asserted):
  .venv/bin/python bench/sharing.py --db sqlite
  .venv/bin/python bench/sharing.py --db postgres        # 127.0.0.1:5432, user postgres
  .venv/bin/python bench/sharing.py --db both --quick    # a smoke run, seconds

The script builds its own database — a SQLite file in a temporary directory,
or the PostgreSQL database ``accord_bench``, dropped and created again — runs
the migrations and fills it with generated rows written straight into the
models' tables (COPY on PostgreSQL, batched INSERTs on SQLite). ``--keep``
keeps that database and ``--reuse`` measures it again without regenerating.
``--explain`` prints the query plans of the feed and correlation queries;
``--only feed,http,submit`` measures a part; ``--budget`` caps the seconds
spent on one figure (its n column then shows how many runs fitted).

Nothing here goes around the code under test: reports are filed with
``services.reports.create_report``, correlated with ``correlations_for_report``,
the feed is ``policy.reports_visible_to``, and the HTTP figures go through
Django's whole middleware stack with the test client.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import ipaddress
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "accord_bench"
PAGE = 50
SEED = 2026

FULL = {"orgs": 500, "reports": 200_000, "observables": 1_000_000}
QUICK = {"orgs": 20, "reports": 1_000, "observables": 5_000}

TARGETS = {
    "submit": (200.0, None),  # p50 ms, p99 ms
    "page": (50.0, 150.0),
}


# --- Command line -----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--orgs", type=int, help=f"organisations (default {FULL['orgs']:,})")
    parser.add_argument("--reports", type=int, help=f"reports (default {FULL['reports']:,})")
    parser.add_argument(
        "--observables", type=int, help=f"observables (default {FULL['observables']:,})"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--submits", type=int, help="reports filed (default 20, quick 2)")
    parser.add_argument("--per-report", type=int, default=1000, help="observables per filing")
    parser.add_argument("--requests", type=int, help="requests per page figure (200, quick 5)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database again")
    parser.add_argument("--workdir", help="where the SQLite file goes (default: a temp dir)")
    parser.add_argument("--explain", action="store_true", help="print query plans")
    parser.add_argument(
        "--only",
        default="feed,http,submit",
        help="which parts to measure, comma-separated: feed, http, submit (default all)",
    )
    parser.add_argument(
        "--budget", type=float, help="seconds per figure before it stops early (120, quick 20)"
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    args.orgs = args.orgs or sizes["orgs"]
    args.reports = args.reports or sizes["reports"]
    args.observables = args.observables or sizes["observables"]
    args.submits = args.submits or (2 if args.quick else 20)
    args.requests = args.requests or (5 if args.quick else 200)
    args.budget = args.budget or (20.0 if args.quick else 120.0)
    if args.orgs < 4 or args.reports < 100 or args.observables < 2 * args.per_report:
        parser.error("at least 4 organisations, 100 reports and 2x --per-report observables")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.db == "both":
        # One Django configuration per process: run each database in its own.
        forwarded = list(argv if argv is not None else sys.argv[1:])
        status = 0
        for db in ("sqlite", "postgres"):
            cmd = [sys.executable, __file__, *replace_db(forwarded, db)]
            status = max(status, subprocess.call(cmd))
        return status
    return Bench(args).run()


def replace_db(argv: list[str], db: str) -> list[str]:
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "--db":
            skip = i + 1 < len(argv)
            continue
        if arg.startswith("--db="):
            continue
        out.append(arg)
    return [*out, "--db", db]


# --- Django -------------------------------------------------------------------------


def configure(args: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    """Point Django at a database of our own, then set it up. Returns the
    database's description and a clean-up function."""
    os.environ.setdefault("ACCORD_VAR_DIR", str(Path(tempfile.gettempdir()) / "accord-bench"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "accord.settings"
    os.environ["ACCORD_2FA_POLICY"] = "none"  # the viewers sign in with force_login
    os.environ["ACCORD_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ.setdefault("ACCORD_LOG_LEVEL", "ERROR")
    os.environ["ACCORD_DEBUG"] = "false"
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE]
            ).fetchone()
            if not (args.reuse and exists):
                admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {PG_DATABASE}")
        os.environ["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DATABASE
        where = f"PostgreSQL database {PG_DATABASE} at 127.0.0.1:5432"
        if not args.keep:

            def cleanup() -> None:
                from django.db import connections

                connections.close_all()
                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")

    else:
        if args.workdir:
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
        elif args.keep or args.reuse:
            workdir = Path(os.environ["ACCORD_VAR_DIR"]) / "bench-sqlite"
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(tempfile.mkdtemp(prefix="accord-bench-"))
        path = workdir / "sharing.sqlite3"
        if path.exists() and not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        where = f"SQLite file {path}"
        if not (args.keep or args.workdir or args.reuse):

            def cleanup() -> None:
                shutil.rmtree(workdir, ignore_errors=True)

    import django
    from django.test.utils import override_settings

    django.setup()
    # Pages render {% static %}: without a collectstatic run the manifest storage
    # would fail, so use the plain storage, as the test settings do.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()
    return where, cleanup


# --- Generated data -----------------------------------------------------------------

# (kind, share of the store)
OBSERVABLE_MIX = [
    ("ipv4", 0.35),
    ("domain", 0.22),
    ("sha256", 0.15),
    ("url", 0.10),
    ("md5", 0.05),
    ("sha1", 0.04),
    ("email", 0.04),
    ("ipv6", 0.03),
    ("cve", 0.01),
    ("asn", 0.01),
]
_KIND_BOUNDS = list(
    zip(
        [k for k, _ in OBSERVABLE_MIX],
        [sum(s for _, s in OBSERVABLE_MIX[: i + 1]) for i in range(len(OBSERVABLE_MIX))],
        strict=True,
    )
)


def observable_value(n: int) -> tuple[str, str]:
    """The n-th observable: a valid value in the platform's normalised form.
    Distinct n give distinct values; the kind follows OBSERVABLE_MIX."""
    spot = (n * 0.6180339887) % 1.0  # spreads the kinds evenly over any range of n
    kind = next((k for k, bound in _KIND_BOUNDS if spot < bound), "ipv4")
    if kind == "ipv4":
        # An odd multiplier is a bijection modulo 2**32; keep out of 0.0.0.0/8.
        address = (n * 2654435761 + 0x01000000) % (2**32 - 0x01000000) + 0x01000000
        return kind, str(ipaddress.IPv4Address(address))
    if kind == "ipv6":
        return kind, str(ipaddress.IPv6Address((0x20010DB8 << 96) | (n + 1)))
    if kind == "domain":
        return kind, f"h{n:x}.bench{n % 997}.example"
    if kind == "url":
        return kind, f"https://d{n % 5000}.example.net/p/{n:x}"
    if kind == "email":
        return kind, f"u{n:x}@mail{n % 300}.example.org"
    if kind == "cve":
        return kind, f"CVE-{2000 + n % 26}-{100000 + n}"
    if kind == "asn":
        return kind, f"AS{n + 1}"
    digest = {"sha256": hashlib.sha256, "md5": hashlib.md5, "sha1": hashlib.sha1}[kind]
    return kind, digest(str(n).encode()).hexdigest()


_TEXT = (
    "attacker server phishing ransomware beacon loader payload credentials lateral movement "
    "persistence exfiltration gateway firewall patched vulnerability exploited campaign "
    "customers operator sector energy health finance transport network traffic observed "
    "contained isolated restored backups advisory mitigation indicators malware domain "
    "address hash certificate routing outage denial service scanning"
)
WORDS = _TEXT.split()

MARKING_MIX = [
    # (share, marking, audience, attribution)
    (0.40, "green", "network", "named"),
    (0.20, "amber", "groups", "named"),
    (0.10, "amber", "organisations", "named"),
    (0.10, "clear", "network", "named"),
    (0.04, "amber", "government", "named"),
    (0.01, "amber+strict", "coordination", "named"),
    (0.05, "red", "network", "named"),
    (0.05, "green", "network", "anonymous"),
    (0.05, "amber", "network", "pseudonymous"),
]
KIND_MIX = [("incident", 0.5), ("advisory", 0.2), ("vulnerability", 0.2), ("measure", 0.1)]
GOVERNMENT_SHARE = 0.10
VIEWERS = {
    "member": "bench-member",  # analyst of one private organisation in three groups
    "government": "bench-gov",  # analyst of a government body
    "coordinator": "bench-coordinator",
}


def pick(rng: random.Random, mix: list[tuple[Any, ...]], share_at: int = 1) -> tuple[Any, ...]:
    spot, total = rng.random(), 0.0
    for row in mix:
        total += row[share_at]
        if spot < total:
            return row
    return mix[-1]


@dataclass
class Timer:
    steps: list[tuple[str, float, int]] = field(default_factory=list)

    def step(self, name: str, started: float, rows: int) -> None:
        self.steps.append((name, time.perf_counter() - started, rows))


class Writer:
    """Writes plain rows into a model's table: COPY on PostgreSQL, batched INSERT
    on SQLite. Values are given as Python objects and converted once here."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        # Conversions by exact type: a dict lookup per value, not a chain of isinstance.
        self.convert: dict[type, Callable[[Any], Any]] = {dict: json.dumps, list: json.dumps}
        if not self.postgres:
            self.convert.update(
                {
                    uuid.UUID: lambda u: u.hex,
                    dt.datetime: lambda d: str(d.astimezone(dt.UTC).replace(tzinfo=None)),
                    bool: int,
                }
            )

    def _row(self, row: tuple[Any, ...]) -> list[Any]:
        convert = self.convert
        return [f(v) if (f := convert.get(type(v))) else v for v in row]

    def write(self, model: Any, fields: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
        meta = model._meta
        columns = [meta.get_field(name).column for name in fields]
        quote = self.connection.ops.quote_name
        table = quote(meta.db_table)
        names = ", ".join(quote(c) for c in columns)
        count = 0
        with self.connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(self._row(row))
                        count += 1
                return count
            # Table and column names come from the models' metadata, quoted.
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
            batch: list[list[Any]] = []
            for row in rows:
                batch.append(self._row(row))
                if len(batch) >= 20000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
        return count

    def fast_mode(self) -> None:
        """SQLite only, for loading: a big page cache and no fsync. The connection is
        closed after loading, so the measurements run with the installation's pragmas."""
        if not self.postgres:
            with self.connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -1000000")
                cursor.execute("PRAGMA synchronous = OFF")


def generate(args: argparse.Namespace) -> Timer:
    """Fill the database: organisations in good standing, people, working groups,
    reports with a realistic mix of markings and audiences, observables."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from accord.membership.models import Membership, Organisation, Sector
    from accord.membership.taxonomy import StakeholderGroup
    from accord.rules.models import RuleAcceptance, RuleDocument, RuleVersion
    from accord.sharing import anonymity
    from accord.sharing.models import Observable, Report, ReportObservable
    from accord.sharing.services.network_settings import (
        ensure_default_common_values,
        network_settings,
    )
    from accord.workgroups.models import GroupMembership, WorkingGroup

    rng = random.Random(SEED)
    timer = Timer()
    writer = Writer()
    writer.fast_mode()
    now = timezone.now()
    User = get_user_model()
    sectors = list(Sector.objects.order_by("position"))
    private_groups = [
        StakeholderGroup.PRIVATE_SECTOR,
        StakeholderGroup.NETWORK_OPERATOR,
        StakeholderGroup.SOFTWARE_VENDOR,
        StakeholderGroup.CSIRT,
        StakeholderGroup.ACADEMIA,
    ]
    government_groups = [
        StakeholderGroup.GOVERNMENT_CIVILIAN,
        StakeholderGroup.REGULATOR,
        StakeholderGroup.GOVERNMENT_DEFENCE,
    ]

    def stakeholder_group(i: int) -> str:
        # Organisation 0 is the member viewer's (private), 1 the government viewer's.
        if i == 0:
            return StakeholderGroup.PRIVATE_SECTOR
        if i == 1 or rng.random() < GOVERNMENT_SHARE:
            return rng.choice(government_groups)
        return rng.choice(private_groups)

    started = time.perf_counter()
    with transaction.atomic():
        network_settings()
        ensure_default_common_values()
        orgs = Organisation.objects.bulk_create(
            [
                Organisation(
                    name=f"Bench organisation {i}",
                    slug=f"bench-{i}",
                    country="NL",
                    stakeholder_group=stakeholder_group(i),
                    contact_name="Contact",
                    contact_email=f"contact{i}@bench.example",
                    status=Organisation.Status.VERIFIED,
                    decided_at=now,
                )
                for i in range(args.orgs)
            ],
            batch_size=1000,
        )
        org_sector = {}
        through = Organisation.sectors.through
        links = []
        for org in orgs:
            chosen = rng.sample(sectors, k=rng.choice([1, 1, 2]))
            org_sector[org.pk] = min(chosen, key=lambda s: s.position).pk
            links += [through(organisation_id=org.pk, sector_id=s.pk) for s in chosen]
        through.objects.bulk_create(links, batch_size=2000)
        users = User.objects.bulk_create(
            [
                User(
                    username=f"o{i}-{role}",
                    email=f"o{i}-{role}@bench.example",
                    full_name=f"Person {role.upper()} {i}",
                    password="!",
                )
                for i in range(args.orgs)
                for role in ("a", "r")
            ],
            batch_size=1000,
        )
        analysts = {org.pk: users[2 * i] for i, org in enumerate(orgs)}
        Membership.objects.bulk_create(
            [
                Membership(
                    user=users[2 * i + j],
                    organisation=org,
                    is_analyst=j == 0,
                    is_representative=j == 1,
                )
                for i, org in enumerate(orgs)
                for j in (0, 1)
            ],
            batch_size=2000,
        )
        viewers = {
            "member": users[0],
            "government": users[2],
            "coordinator": User.objects.create(
                username=VIEWERS["coordinator"],
                email="coordinator@bench.example",
                full_name="Bench Coordinator",
                is_coordinator=True,
                password="!",
            ),
        }
        for key in ("member", "government"):
            viewers[key].username = VIEWERS[key]
            viewers[key].save(update_fields=["username"])
        for document in RuleDocument.objects.all():
            version = RuleVersion.objects.create(
                document=document, number=1, body="# Rules\n\nBenchmark.", published_at=now
            )
            RuleAcceptance.objects.bulk_create(
                [RuleAcceptance(organisation=org, version=version) for org in orgs],
                batch_size=2000,
            )
        groups = WorkingGroup.objects.bulk_create(
            [
                WorkingGroup(name=f"Bench group {g}", slug=f"bench-group-{g}", visibility="open")
                for g in range(max(6, args.orgs // 10))
            ]
        )
        memberships = []
        for i, org in enumerate(orgs):
            k = 3 if i == 0 else rng.choice([0, 1, 2, 3, 4, 5])
            for group in rng.sample(groups, k=k):
                memberships.append(
                    GroupMembership(group=group, user=analysts[org.pk], organisation=org)
                )
        GroupMembership.objects.bulk_create(memberships, batch_size=2000)
    timer.step("organisations, people, rules, groups", started, len(orgs) + len(users))

    # Reports, oldest first, as a real installation fills its table.
    started = time.perf_counter()
    report_ids = [uuid.uuid4() for _ in range(args.reports)]
    span = dt.timedelta(days=730).total_seconds()
    moments = sorted(now - dt.timedelta(seconds=rng.random() * span) for _ in report_ids)
    government_ids = [o.pk for o in orgs if o.is_government]
    org_ids = [o.pk for o in orgs]
    org_group = {o.pk: o.stakeholder_group for o in orgs}
    group_ids = [g.pk for g in groups]
    user_ids = [u.pk for u in users]
    member_id = viewers["member"].pk
    sector_links: list[tuple[Any, int]] = []
    group_links: list[tuple[Any, int]] = []
    org_links: list[tuple[Any, int]] = []
    recipient_links: list[tuple[Any, int]] = []

    def report_rows() -> Iterator[tuple[Any, ...]]:
        for report_id, created in zip(report_ids, moments, strict=True):
            _share, marking, audience, attribution = pick(rng, MARKING_MIX, 0)
            kind = pick(rng, KIND_MIX)[0]
            org_id = rng.choice(government_ids if audience == "government" else org_ids)
            reporter, author, tag = org_id, analysts[org_id].pk, ""
            if attribution == "anonymous":
                reporter, author = None, None
                tag = anonymity.authorship_tag(org_id, report_id)
                created = created.replace(hour=0, minute=0, second=0, microsecond=0)
            sector_links.append((report_id, org_sector[org_id]))
            if audience == "groups":
                group_links.extend((report_id, g) for g in rng.sample(group_ids, rng.randint(1, 2)))
            elif audience == "organisations":
                org_links.extend((report_id, o) for o in rng.sample(org_ids, rng.randint(2, 5)))
            elif marking == "red":
                chosen = set(rng.sample(user_ids, rng.randint(1, 3)))
                if rng.random() < 0.05:
                    chosen.add(member_id)
                recipient_links.extend((report_id, u) for u in chosen)
            words = rng.choices(WORDS, k=60)
            level = rng.randint(0, 5) if kind == "incident" else None
            yield (
                report_id,
                kind,
                " ".join(words[:8]).capitalize(),
                " ".join(words).capitalize() + ".",
                marking,
                audience,
                attribution,
                reporter,
                author,
                org_sector[org_id] if attribution != "anonymous" else None,
                org_group[org_id] if attribution != "anonymous" else "",
                tag,
                ["data-attack"] if kind == "incident" else [],
                "malicious-code:infected-system" if kind == "incident" else "",
                [],
                [],
                {},
                None if level is None else level * 18,
                level,
                created,
                created,
                created - dt.timedelta(hours=6),
                created if rng.random() < 0.005 else None,  # withdrawn
                "",
                "",
                1,
                False,
            )

    fields = [
        "id",
        "kind",
        "title",
        "summary",
        "marking",
        "audience",
        "attribution",
        "reporter_organisation",
        "created_by",
        "reporter_sector",
        "reporter_stakeholder_group",
        "authorship_tag",
        "effects",
        "incident_type",
        "core_components",
        "references",
        "severity_answers",
        "severity_score",
        "severity_level",
        "created_at",
        "updated_at",
        "first_seen",
        "withdrawn_at",
        "withdrawal_reason",
        "country_of_origin",
        "version",
        "abroad_consent",
    ]
    with transaction.atomic():
        written = writer.write(Report, fields, report_rows())
        writer.write(Report.sectors.through, ["report", "sector"], sector_links)
        writer.write(Report.audience_groups.through, ["report", "workinggroup"], group_links)
        writer.write(Report.audience_organisations.through, ["report", "organisation"], org_links)
        writer.write(Report.recipients.through, ["report", "user"], recipient_links)
    timer.step("reports (with sectors, audiences, recipients)", started, written)

    started = time.perf_counter()
    observable_ids = [uuid.uuid4() for _ in range(args.observables)]

    def observable_rows() -> Iterator[tuple[Any, ...]]:
        for n, pk in enumerate(observable_ids):
            kind, value = observable_value(n)
            yield pk, kind, value

    with transaction.atomic():
        written = writer.write(Observable, ["id", "kind", "value"], observable_rows())
    timer.step("observables", started, written)

    # Each observable is mentioned once; about half the reports also mention one of
    # the 2% "popular" values, so that correlations exist.
    started = time.perf_counter()
    popular = max(10, args.observables // 50)

    def mention_rows() -> Iterator[tuple[Any, ...]]:
        per_report = args.observables / args.reports
        start = 0
        for index, report_id in enumerate(report_ids):
            end = (
                args.observables
                if index == len(report_ids) - 1
                else round((index + 1) * per_report)
            )
            own = range(start, end)
            for position, n in enumerate(own):
                yield uuid.uuid4(), report_id, observable_ids[n], position, ""
            if rng.random() < 0.5:
                n = rng.randrange(popular)
                if n not in own:
                    yield uuid.uuid4(), report_id, observable_ids[n], len(own), ""
            start = end

    with transaction.atomic():
        written = writer.write(
            ReportObservable, ["id", "report", "observable", "position", "note"], mention_rows()
        )
    timer.step("report observables", started, written)

    started = time.perf_counter()
    analyse()
    timer.step("ANALYZE", started, 0)
    from django.db import connection

    connection.close()
    return timer


def analyse() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- Measuring ----------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Row:
    measurement: str
    viewer: str
    timings: list[float]  # wall-clock seconds
    target: tuple[float | None, float | None] = (None, None)
    note: str = ""
    cpu: list[float] = field(default_factory=list)  # this process's CPU seconds

    def cells(self) -> list[str]:
        if not self.timings:
            return [self.measurement, self.viewer, "0", *["-"] * 6, self.note]
        ms = [t * 1000 for t in self.timings]
        p50, p95, p99 = percentile(ms, 0.5), percentile(ms, 0.95), percentile(ms, 0.99)
        target = ""
        verdict = self.note
        if self.target != (None, None):
            want50, want99 = self.target
            target = f"p50<{want50:g}" + (f", p99<{want99:g}" if want99 else "")
            ok = p50 < want50 and (want99 is None or p99 < want99)
            verdict = ("met" if ok else "MISSED") + (f"; {self.note}" if self.note else "")
        return [
            self.measurement,
            self.viewer,
            str(len(ms)),
            f"{p50:.1f}",
            f"{percentile(self.cpu, 0.5) * 1000:.1f}" if self.cpu else "-",
            f"{p95:.1f}",
            f"{p99:.1f}",
            f"{max(ms):.1f}",
            target,
            verdict,
        ]


HEADINGS = [
    "measurement",
    "viewer",
    "n",
    "p50 ms",
    "cpu p50",
    "p95 ms",
    "p99 ms",
    "max ms",
    "target",
    "verdict",
]


def print_table(rows: list[Row]) -> None:
    table = [HEADINGS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADINGS))]
    for number, line in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if number == 0:
            print("  ".join("-" * w for w in widths))


def fresh(username: str) -> Any:
    """The viewer as a request sees it: loaded anew, nothing cached on it."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def measure_submissions(args: argparse.Namespace, rows: list[Row]) -> None:
    from accord import policy
    from accord.sharing.models import Observable, Report
    from accord.sharing.services.correlation import correlations_for_report
    from accord.sharing.services.drafts import ObservableInput, ReportDraft
    from accord.sharing.services.reports import create_report

    # A fresh database always gets the same values; a reused one (which holds the
    # earlier runs' filings) gets others, so that they do not correlate with those.
    rng = random.Random(SEED + 1 + max(0, Report.objects.count() - args.reports))
    existing_share = 0.3
    submit, correlate = Clock(), Clock()
    matched: list[int] = []
    correlated: list[int] = []
    for rep in range(args.submits):
        old = round(args.per_report * existing_share)
        values = [observable_value(n)[1] for n in rng.sample(range(args.observables), old)]
        # Values no filing used before, also across --reuse runs; n stays below 2**32.
        base = args.observables + 10**7 + random.randrange(4 * 10**8) + rep * args.per_report
        values += [observable_value(base + i)[1] for i in range(args.per_report - old)]
        rng.shuffle(values)
        draft = ReportDraft(
            kind="incident",
            title=f"Benchmark filing {rep + 1}: loader infrastructure",
            summary="A campaign's infrastructure, as exported from the incident's case file.",
            sectors=["energy"],
            marking="green",
            audience="network",
            effects=["exploit-end-hosts"],
            incident_type="malicious-code:c2-server",
            severity={"functional-impact": "minimal", "actor": "criminal"},
            observables=[ObservableInput(value=v) for v in values],
        )
        before = Observable.objects.count()
        user = fresh(VIEWERS["member"])
        report = submit.time(lambda u=user, d=draft: create_report(u, d))
        matched.append(args.per_report - (Observable.objects.count() - before))
        user = fresh(VIEWERS["member"])
        shown = correlate.time(
            lambda u=user, pk=report.pk: correlations_for_report(u, policy.get_report(u, pk))
        )
        correlated.append(sum(1 for c in shown if c.reports))
    note = (
        f"{args.per_report} values, {min(matched)}-{max(matched)} already stored, "
        f"store {args.observables:,}"
    )
    rows.append(
        row("submit report (create_report)", "member", submit, target=TARGETS["submit"], note=note)
    )
    rows.append(
        row(
            "correlations_for_report",
            "member",
            correlate,
            note=f"{min(correlated)}-{max(correlated)} of {args.per_report} values correlated",
        )
    )


def feed_page(username: str, offset: int) -> list[tuple[Any, ...]]:
    """What the feed shows for one page: title, kind, marking, sectors, reporter."""
    from accord import policy
    from accord.sharing.services.reports import public_reporter_label

    user = fresh(username)
    page = (
        policy.reports_visible_to(user)
        .order_by("-created_at", "id")
        .select_related("reporter_organisation", "reporter_sector")
        .prefetch_related("sectors")[offset : offset + PAGE]
    )
    return [
        (
            r.title,
            r.kind,
            r.get_marking_display(),
            [s.name for s in r.sectors.all()],
            public_reporter_label(r),
        )
        for r in page
    ]


def feed_count(username: str) -> int:
    from accord import policy

    return policy.reports_visible_to(fresh(username)).count()


def context_only(username: str) -> Any:
    from accord import policy

    context = policy.sharing_context(fresh(username))
    context.claimed_report_ids()
    return context


class Clock:
    """Wall-clock and CPU time of each run. On a busy machine the CPU time (of this
    process: Python plus, for SQLite, the database) shows what waiting added."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def time(self, fn: Callable[[], Any]) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)
        return result


BUDGET = {"seconds": 120.0}  # per figure; --budget changes it


def repeat(fn: Callable[[], Any], times: int) -> Clock:
    """Run ``fn`` ``times`` times, or fewer if the figure's time budget runs out
    (the table's n column says how many ran)."""
    fn()  # warm caches and connections, as a running server has them
    clock = Clock()
    deadline = time.perf_counter() + BUDGET["seconds"]
    for _ in range(times):
        clock.time(fn)
        if time.perf_counter() > deadline and len(clock.wall) >= 3:
            break
    return clock


def row(measurement: str, viewer: str, clock: Clock, **extra: Any) -> Row:
    result = Row(measurement, viewer, clock.wall, cpu=clock.cpu, **extra)
    cells = dict(zip(HEADINGS, result.cells(), strict=True))
    print(
        f"   {measurement} / {viewer}: n={cells['n']} p50 {cells['p50 ms']} ms, "
        f"p99 {cells['p99 ms']} ms",
        flush=True,
    )
    return result


def measure_feed(args: argparse.Namespace, rows: list[Row]) -> None:
    n = args.requests
    last_page = max(0, min(99 * PAGE, args.reports // 2))
    for viewer, username in VIEWERS.items():
        shown = len(feed_page(username, 0))
        clock = repeat(lambda u=username: feed_page(u, 0), n)
        rows.append(
            row(
                "feed page 1 (queryset)",
                viewer,
                clock,
                target=TARGETS["page"],
                note=f"{shown} rows",
            )
        )
        clock = repeat(lambda u=username: feed_page(u, last_page), n)
        page = f"feed page {last_page // PAGE + 1} (queryset)"
        rows.append(row(page, viewer, clock, target=TARGETS["page"]))
        total = feed_count(username)
        clock = repeat(lambda u=username: feed_count(u), max(3, n // 4))
        rows.append(row("visible count (pager)", viewer, clock, note=f"{total:,} visible"))
        clock = repeat(lambda u=username: context_only(u), max(3, n // 4))
        note = "standing, groups, anonymous claims"
        rows.append(row("sharing context only", viewer, clock, note=note))


def measure_http(args: argparse.Namespace, rows: list[Row]) -> None:
    from django.test import Client

    for viewer, username in VIEWERS.items():
        client = Client()
        client.force_login(fresh(username))
        for label, url in (
            ("GET /api/v1/reports?limit=50", "/api/v1/reports?limit=50"),
            ("GET /reports/ (web page)", "/reports/"),
        ):
            first = client.get(url)
            if first.status_code != 200:
                rows.append(Row(label, viewer, [], note=f"not measured: HTTP {first.status_code}"))
                continue

            def get(url: str = url, client: Any = client, viewer: str = viewer) -> None:
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code} for {viewer}")

            rows.append(row(label, viewer, repeat(get, args.requests), target=TARGETS["page"]))


def explain(args: argparse.Namespace) -> None:
    from django.db import connection

    from accord import policy
    from accord.sharing.models import ReportObservable

    postgres = connection.vendor == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    last_page = max(0, min(99 * PAGE, args.reports // 2))

    def show(title: str, queryset: Any) -> None:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql, params)
            plan = "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())
        print(f"\n--- {title}\n{plan}")

    for viewer, username in VIEWERS.items():
        visible = policy.reports_visible_to(fresh(username)).order_by("-created_at", "id")
        show(f"feed page 1, {viewer}", visible[:PAGE])
        show(f"feed page {last_page // PAGE + 1}, {viewer}", visible[last_page : last_page + PAGE])
    from django.db.models import Count

    user = fresh(VIEWERS["member"])
    some = list(ReportObservable.objects.values_list("observable_id", flat=True)[:1000])
    mentions = ReportObservable.objects.filter(
        observable_id__in=some, report__in=policy.reports_visible_to(user).values("pk")
    )
    show(
        "correlation counts for 1,000 observables, member",
        mentions.values("observable_id").annotate(n=Count("report_id", distinct=True)),
    )


# --- Facts about the machine ----------------------------------------------------------


def machine_facts() -> list[str]:
    from django.db import connection

    facts = []
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.splitlines()
                if "model name" in line
            ),
            "unknown CPU",
        )
        facts.append(f"CPU: {model}, {os.cpu_count()} logical CPUs")
        meminfo = Path("/proc/meminfo").read_text().split()
        facts.append(f"RAM: {int(meminfo[1]) / 1024 / 1024:.1f} GiB")
    except OSError:
        facts.append(f"CPU: {os.cpu_count()} logical CPUs")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            facts.append(f"PostgreSQL {cursor.fetchone()[0]}")
        else:
            cursor.execute("SELECT sqlite_version()")
            facts.append(f"SQLite {cursor.fetchone()[0]}")
    facts.append(f"Python {sys.version.split()[0]}")
    facts.append(load_average())
    return facts


def load_average() -> str:
    """Other work on the machine inflates wall-clock figures; say how busy it was."""
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# --- Main ---------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def run(self) -> int:
        args = self.args
        BUDGET["seconds"] = args.budget
        where, cleanup = configure(args)
        try:
            return self._run(where)
        finally:
            cleanup()

    def _run(self, where: str) -> int:
        from django.core.management import call_command

        from accord.sharing.models import Observable, Report

        args = self.args
        print(f"== Trusted sharing benchmark: {args.db} ({where})")
        for fact in machine_facts():
            print(f"   {fact}")
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"   migrations: {time.perf_counter() - started:.1f} s")
        reuse = (
            args.reuse
            and Report.objects.count() >= args.reports
            and Observable.objects.count() >= args.observables
        )
        print("\n== Data generation")
        if reuse:
            print(
                f"   reused: {Report.objects.count():,} reports, "
                f"{Observable.objects.count():,} observables"
            )
        else:
            timer = generate(args)
            total = sum(seconds for _name, seconds, _rows in timer.steps)
            for name, seconds, count in timer.steps:
                rate = f" ({count / seconds:,.0f} rows/s)" if count and seconds else ""
                print(f"   {name}: {count:,} rows in {seconds:.1f} s{rate}")
            print(
                f"   total: {total:.1f} s for {args.orgs:,} organisations, "
                f"{args.reports:,} reports, {args.observables:,} observables"
            )
        rows: list[Row] = []
        print("\n== Measuring (filing, feed queryset, HTTP)", flush=True)
        parts = {part.strip() for part in args.only.split(",")}
        if "feed" in parts:
            measure_feed(args, rows)
        if "http" in parts:
            measure_http(args, rows)
        if "submit" in parts:
            measure_submissions(args, rows)
        print(f"\n== Results: {args.db}")
        print_table(rows)
        print(f"   {load_average()}")
        if args.explain:
            print("\n== Query plans")
            explain(args)
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
