"""TAXII 2.1 at the issue's scale, side by side with the OASIS reference server.

Targets (from the issue; figures are printed, never asserted):
- POST ingest of 100,000 indicators, objects/s until every status is complete:
  >= 20,000 objects/s on PostgreSQL and at least 20x medallion;
- GET paging with limit=1000 over a 5,000-object collection: the whole walk at
  least 100x faster than medallion;
- Accord alone with 1,000,000 objects on PostgreSQL: p50 < 30 ms a page,
  flat from the first page to the last;
- ``accord import-stix`` of a 500 MB bundle stays under 500 MB RSS.

Run:
  .venv/bin/python bench/taxii.py --db postgres             # everything, ~30-60 min
  .venv/bin/python bench/taxii.py --db both --only ingest,page
  .venv/bin/python bench/taxii.py --db sqlite --quick --no-medallion   # a smoke run

Both servers run as separate processes on loopback ports, and the benchmark
talks to them over HTTP only, with the TAXII media type and HTTP Basic auth:

- medallion (pinned to MEDALLION_VERSION) in its own virtual environment,
  created on first use under the work directory, with its memory back end and
  its own web server (Flask's, as ``medallion`` starts it); one API root with
  two writable collections (``ingest`` and ``paging``);
- Accord with ``accord serve`` (gunicorn and the task worker), on a SQLite file
  in the work directory or the PostgreSQL database ``accord_bench_taxii``
  (dropped and created again; dropped at the end unless --keep). A setup step
  creates a verified member organisation, an analyst and a write token; TAXII
  clients sign in with the username and that token.

Both servers receive the same envelopes (bench/taxii_data.py: distinct
indicators over IPv4 addresses, domain names, URLs and SHA-256 hashes, TLP 2.0
GREEN). The paging figure runs before the ingest figure, so that Accord's
writable collection then holds the 5,000 objects (and nothing else yet).

The million-object figure loads its rows straight into the object store
(``exchange_stixobject``, COPY on PostgreSQL) anchored to reports that were
shared through TAXII first (one by default, --million-reports to spread the
rows over more); only the loading bypasses the server, the paging goes
through it. The memory figure writes a bundle file of --bundle-mb MB and
runs ``accord import-stix`` on it in a child process; its peak resident set
comes from wait4(2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from taxii_data import (  # noqa: E402
    SEEDS,
    STIX_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    Indicators,
    envelopes,
    stored_rows,
    write_bundle,
)

MEDALLION_VERSION = "3.0.0"  # its latest release on PyPI
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "accord_bench_taxii"
ORG_SLUG = "bench-taxii"
USERNAME = "bench-taxii"

FULL = {
    "ingest": 100_000,
    "envelope": 5_000,
    "page_objects": 5_000,
    "limit": 1_000,
    "million": 1_000_000,
    "bundle_mb": 500,
    "walks": 3,
}
QUICK = {
    "ingest": 2_000,
    "envelope": 500,
    "page_objects": 500,
    "limit": 100,
    "million": 3_000,
    "bundle_mb": 2,
    "walks": 1,
}
TARGETS = {
    "ingest_rate": 20_000.0,  # objects/s on PostgreSQL
    "ingest_ratio": 20.0,  # x medallion
    "walk_ratio": 100.0,  # x medallion
    "page_p50_ms": 30.0,  # at 1,000,000 objects on PostgreSQL
    "rss_mb": 500.0,
}


# --- Command line -----------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument(
        "--only",
        default="page,ingest,million,memory",
        help="parts to measure, comma-separated: page, ingest, million, memory (default all)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--ingest", type=int, help="indicators posted (default 100,000)")
    parser.add_argument("--envelope", type=int, help="objects per envelope (default 5,000)")
    parser.add_argument("--page-objects", type=int, help="collection size for paging (5,000)")
    parser.add_argument("--limit", type=int, help="page size for GET (default 1,000)")
    parser.add_argument("--walks", type=int, help="walks through the paging collection (3)")
    parser.add_argument("--million", type=int, help="objects for the big paging figure")
    parser.add_argument(
        "--million-reports",
        type=int,
        default=1,
        help="reports the big collection's rows are spread over (default 1)",
    )
    parser.add_argument("--bundle-mb", type=int, help="size of the imported bundle (500)")
    parser.add_argument(
        "--medallion-budget",
        type=float,
        default=900.0,
        help="seconds medallion may spend on ingest before it stops (default 900): "
        "its ingest is quadratic, so the figure is then taken at a smaller size",
    )
    parser.add_argument("--no-medallion", action="store_true", help="measure Accord only")
    parser.add_argument("--no-accord", action="store_true", help="measure medallion only")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--settings",
        default="accord.settings",
        help="Django settings module of the Accord processes (default accord.settings)",
    )
    parser.add_argument("--workdir", help="where venv, files and SQLite go (default: temp)")
    parser.add_argument("--keep", action="store_true", help="keep the database and work dir")
    parser.add_argument("--django-step", help=argparse.SUPPRESS)  # internal: see run_step
    parser.add_argument("step_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for name, default in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    args.parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.parts) - {"page", "ingest", "million", "memory"}
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    if min(args.ingest, args.envelope, args.page_objects, args.limit, args.million) < 1:
        parser.error("sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.django_step:
        return run_step(args.django_step, args.step_args)
    return Bench(args).run()


# --- Results ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


@dataclass
class Result:
    part: str
    server: str
    size: str
    figure: str
    target: str = ""
    note: str = ""


@dataclass
class Results:
    rows: list[Result] = field(default_factory=list)

    def add(self, *args: Any, **kwargs: Any) -> None:
        row = Result(*args, **kwargs)
        self.rows.append(row)
        extra = "; ".join(x for x in (row.target, row.note) if x)
        print(f"   -> {row.part} / {row.server}: {row.figure}" + (f" ({extra})" if extra else ""))
        sys.stdout.flush()

    def print(self) -> None:
        headings = ["measurement", "server", "size", "figure", "target / ratio", "note"]
        table = [headings] + [
            [r.part, r.server, r.size, r.figure, r.target, r.note] for r in self.rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(headings))]
        for number, line in enumerate(table):
            print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
            if number == 0:
                print("  ".join("-" * w for w in widths))


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# --- Processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A child process serving HTTP on a loopback port, with its output in a log."""

    name = "server"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{self.name}.log"

    def launch(self, command: list[str], env: dict[str, str] | None = None) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until stop()
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() reaches its children too
        )
        log.close()

    def wait_ready(self, url: str, auth: tuple[str, str], timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"{self.name} stopped at start:\n{self.log_tail()}")
            try:
                response = requests.get(
                    url, auth=auth, headers={"Accept": TAXII_MEDIA_TYPE}, timeout=30
                )
                if response.status_code < 500:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # still starting
            time.sleep(0.3)
        raise SystemExit(f"{self.name} did not answer {url} in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Medallion(Server):
    """The OASIS reference TAXII 2.1 server with its memory back end."""

    name = "medallion"
    user = ("bench", "bench-" + secrets.token_hex(8))
    api_root_name = "bench"

    def __init__(self, workdir: Path, venv: Path, limit: int) -> None:
        super().__init__(workdir)
        self.venv = venv
        self.limit = limit
        self.collections = {"ingest": str(uuid.uuid4()), "paging": str(uuid.uuid4())}

    def ensure_venv(self) -> str:
        python = self.venv / "bin" / "python"
        probe = "import importlib.metadata as m; print(m.version('medallion'))"
        if python.exists():
            found = subprocess.run([python, "-c", probe], capture_output=True, text=True)
            if found.stdout.strip() == MEDALLION_VERSION:
                return MEDALLION_VERSION
        print(f"   creating {self.venv} with medallion=={MEDALLION_VERSION} (pip)", flush=True)
        # The interpreter this benchmark runs on, outside any virtual environment.
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--clear", str(self.venv)], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", f"medallion=={MEDALLION_VERSION}"],
            check=True,
        )
        return subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.strip()

    def start(self) -> None:
        api_root = f"{self.base}/{self.api_root_name}/"

        def collection(key: str) -> dict[str, Any]:
            return {
                "id": self.collections[key],
                "title": key,
                "description": f"Benchmark collection '{key}'",
                "can_read": True,
                "can_write": True,
                "media_types": [STIX_MEDIA_TYPE],
                "objects": [],
                "manifest": [],
            }

        data = {
            "/discovery": {
                "title": "Benchmark medallion",
                "description": "medallion with its memory back end",
                "default": api_root,
                "api_roots": [api_root],
            },
            self.api_root_name: {
                "information": {
                    "title": "Benchmark API root",
                    "description": "Two writable collections",
                    "versions": [TAXII_MEDIA_TYPE],
                    "max_content_length": 256 * 1024 * 1024,
                },
                "status": [],
                "collections": [collection("ingest"), collection("paging")],
            },
        }
        data_path = self.workdir / "medallion-data.json"
        data_path.write_text(json.dumps(data, indent=1))
        config = {
            "users": {self.user[0]: self.user[1]},
            "taxii": {"max_page_size": self.limit},
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(data_path),
                # Its paging cursors expire 30 s after the first page by default.
                "session_timeout": 86_400,
            },
        }
        config_path = self.workdir / "medallion-config.json"
        config_path.write_text(json.dumps(config, indent=1))
        command = [
            str(self.venv / "bin" / "medallion"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "ERROR",
            str(config_path),
        ]
        self.launch(command)
        self.wait_ready(f"{self.base}/taxii2/", self.user)

    def client(self) -> TaxiiClient:
        return TaxiiClient(f"{self.base}/{self.api_root_name}/", self.user)


class Accord(Server):
    """Accord as an installation runs it: ``accord serve`` on its own database."""

    def __init__(self, workdir: Path, db: str, args: argparse.Namespace) -> None:
        self.name = f"accord-{db}"
        super().__init__(workdir)
        self.db = db
        self.args = args
        self.var = workdir / f"accord-{db}-var"
        self.var.mkdir(parents=True, exist_ok=True)
        if db == "postgres":
            self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DATABASE
            self.where = f"PostgreSQL database {PG_DATABASE} at 127.0.0.1:5432"
        else:
            path = workdir / "accord-taxii.sqlite3"
            self.database_url = f"sqlite:///{path}"
            self.where = f"SQLite file {path}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": args.settings,
            "ACCORD_VAR_DIR": str(self.var),
            "DATABASE_URL": self.database_url,
            "ACCORD_SECRET_KEY": secrets.token_urlsafe(40),
            "ACCORD_DEBUG": "false",
            "ACCORD_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ACCORD_SITE_URL": self.base,
            "ACCORD_LOG_LEVEL": "WARNING",
            "ACCORD_LOCKOUT_ENABLED": "false",
            "ACCORD_2FA_POLICY": "none",
            # A big envelope may take longer than gunicorn's default 30 s on a busy machine.
            "GUNICORN_CMD_ARGS": "--timeout 600",
        }
        self.user: tuple[str, str] = ("", "")

    def accord(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "accord.cli", *arguments],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise SystemExit(f"accord {' '.join(arguments)} failed:\n{result.stderr[-3000:]}")
        return result

    def step(self, name: str, *arguments: str) -> Any:
        """Run a Django step of this script (see run_step) against this database."""
        result = subprocess.run(
            [sys.executable, __file__, "--django-step", name, *arguments],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise SystemExit(f"step {name} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def prepare(self) -> None:
        if self.db == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {PG_DATABASE}")
        else:
            path = Path(self.database_url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        started = time.perf_counter()
        self.accord("migrate", "--verbosity", "0")
        print(f"   migrations: {time.perf_counter() - started:.1f} s", flush=True)
        made = self.step("setup")
        self.user = (made["username"], made["token"])

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "accord.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.args.workers),
            "--threads",
            str(self.args.threads),
        ]
        self.launch(command, self.env)
        self.wait_ready(f"{self.base}/taxii2/", self.user)

    def drop(self) -> None:
        if self.db == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")

    def client(self) -> TaxiiClient:
        return TaxiiClient.discover(f"{self.base}/taxii2/", self.user)


# --- A small TAXII client -----------------------------------------------------------


class TaxiiError(RuntimeError):
    pass


class TaxiiClient:
    """Plain HTTP with the TAXII 2.1 media type and Basic auth, over one
    keep-alive connection (what a synchronising client does)."""

    def __init__(self, api_root: str, auth: tuple[str, str]) -> None:
        self.api_root = api_root if api_root.endswith("/") else api_root + "/"
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["Accept"] = TAXII_MEDIA_TYPE

    @classmethod
    def discover(cls, discovery_url: str, auth: tuple[str, str]) -> TaxiiClient:
        response = requests.get(
            discovery_url, auth=auth, headers={"Accept": TAXII_MEDIA_TYPE}, timeout=30
        )
        check(response, discovery_url)
        data = response.json()
        root = data.get("default") or (data.get("api_roots") or [None])[0]
        if not root:
            raise TaxiiError(f"{discovery_url} names no API root: {data}")
        return cls(requests.compat.urljoin(discovery_url, root), auth)

    def get(self, path: str, **params: Any) -> requests.Response:
        url = path if path.startswith("http") else self.api_root + path
        response = self.session.get(url, params=params or None, timeout=600)
        check(response, url)
        return response

    def information(self) -> dict[str, Any]:
        return self.get("").json()

    def writable_collection(self, prefer: str = "") -> dict[str, Any]:
        collections = self.get("collections/").json().get("collections", [])
        writable = [c for c in collections if c.get("can_write") and c.get("can_read")]
        if not writable:
            titles = [c.get("title") for c in collections]
            raise TaxiiError(f"no collection both readable and writable among {titles}")
        chosen = [c for c in writable if prefer.lower() in (c.get("title") or "").lower()]
        return (chosen or writable)[0]

    def post(self, collection_id: str, body: bytes) -> dict[str, Any]:
        url = f"{self.api_root}collections/{collection_id}/objects/"
        response = self.session.post(
            url, data=body, headers={"Content-Type": TAXII_MEDIA_TYPE}, timeout=600
        )
        check(response, url, expect=202)
        return response.json()

    def status(self, status_id: str) -> dict[str, Any]:
        return self.get(f"status/{status_id}/").json()

    def pages(self, collection_id: str, limit: int) -> Iterator[tuple[float, int, bool]]:
        """Walk a collection's objects: (seconds for the request, objects, more) per page.
        The time covers the request and the whole body; parsing it comes after."""
        url = f"{self.api_root}collections/{collection_id}/objects/"
        params: dict[str, Any] = {"limit": limit}
        while True:
            started = time.perf_counter()
            response = self.session.get(url, params=params, timeout=600)
            _body = response.content
            elapsed = time.perf_counter() - started
            check(response, url)
            envelope = response.json()
            objects = envelope.get("objects", [])
            more = bool(envelope.get("more"))
            yield elapsed, len(objects), more
            if not more:
                return
            if not envelope.get("next"):
                raise TaxiiError(f"{url}: more=true without next")
            params = {"limit": limit, "next": envelope["next"]}


def check(response: requests.Response, url: str, expect: int = 200) -> None:
    if response.status_code != expect:
        raise TaxiiError(f"{url} answered {response.status_code}: {response.text[:500]}")


# --- Measurements -------------------------------------------------------------------


@dataclass
class Ingest:
    objects: int
    seconds: float
    envelopes: int
    successes: int
    failures: int
    note: str = ""
    # (objects, seconds) of each POST until its response: medallion slows down
    # as its collection grows, which the first and last envelopes show.
    posts: list[tuple[int, float]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.objects / self.seconds if self.seconds else 0.0

    def spread(self) -> str:
        if len(self.posts) < 2:
            return ""
        (n1, s1), (n2, s2) = self.posts[0], self.posts[-1]
        return f"first envelope {n1 / s1:,.0f}/s, last {n2 / s2:,.0f}/s (response times)"


def post_all(
    client: TaxiiClient,
    collection_id: str,
    bodies: list[tuple[int, bytes]],
    budget: float | None = None,
) -> Ingest:
    """POST envelopes one after the other, then poll every pending status until
    complete. The clock runs from the first POST to the last completion."""
    started = time.perf_counter()
    pending: list[str] = []
    successes = failures = sent = posted_objects = 0
    note = ""
    posts: list[tuple[int, float]] = []
    for count, body in bodies:
        began = time.perf_counter()
        status = client.post(collection_id, body)
        posts.append((count, time.perf_counter() - began))
        sent += 1
        posted_objects += count
        if status.get("status") == "complete":
            successes += int(status.get("success_count", 0))
            failures += int(status.get("failure_count", 0))
            if status.get("failures") and not note:
                note = f"first failure: {status['failures'][0]}"
        else:
            pending.append(status["id"])
        if budget is not None and time.perf_counter() - started > budget:
            note = f"stopped after the {budget:.0f} s budget"
            break
    while pending:
        still = []
        for status_id in pending:
            status = client.status(status_id)
            if status.get("status") == "complete":
                successes += int(status.get("success_count", 0))
                failures += int(status.get("failure_count", 0))
                if status.get("failures") and not note:
                    note = f"first failure: {status['failures'][0]}"
            else:
                still.append(status_id)
        pending = still
        if pending:
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    return Ingest(posted_objects, seconds, sent, successes, failures, note, posts)


def walk(client: TaxiiClient, collection_id: str, limit: int) -> tuple[float, list[float], int]:
    """One walk through a collection: its total seconds, each page's seconds, objects."""
    started = time.perf_counter()
    times: list[float] = []
    count = 0
    for seconds, objects, _more in client.pages(collection_id, limit):
        times.append(seconds)
        count += objects
    return time.perf_counter() - started, times, count


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def fit_envelope(per_envelope: int, max_lengths: list[int], seed: int) -> int:
    """The largest count <= per_envelope whose envelopes fit every server's
    max_content_length (measured on the seed's first envelope, with 5% room)."""
    count = per_envelope
    while count > 1:
        size = len(envelopes(seed, count, count)[0][1])
        if all(size * 1.05 <= limit for limit in max_lengths if limit):
            return count
        count //= 2
    return 1


# --- The run ------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.results = Results()
        if args.workdir:
            self.workdir = Path(args.workdir)
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.own_workdir = False
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="accord-bench-taxii-"))
            self.own_workdir = not args.keep
        var = Path(os.environ.get("ACCORD_VAR_DIR", Path(tempfile.gettempdir()) / "accord-bench"))
        self.medallion_venv = var / "bench-medallion-venv"
        self.medallion: Medallion | None = None
        self.medallion_figures: dict[str, Any] = {}

    def run(self) -> int:
        args = self.args
        print(f"== TAXII benchmark (work directory {self.workdir})")
        print(f"   {machine()}")
        print(f"   {load_average()}", flush=True)
        try:
            if not args.no_medallion and {"page", "ingest"} & set(args.parts):
                self.run_medallion()
            dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
            for db in [] if args.no_accord else dbs:
                self.run_accord(db)
        finally:
            if self.medallion is not None:
                self.medallion.stop()
            if self.own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
        print("\n== Results")
        self.results.print()
        print(f"   {load_average()}")
        return 0

    # medallion

    def run_medallion(self) -> None:
        args = self.args
        print(f"\n== medallion {MEDALLION_VERSION} (memory back end)", flush=True)
        medallion = Medallion(self.workdir, self.medallion_venv, args.limit)
        version = medallion.ensure_venv()
        print(f"   venv {self.medallion_venv}: medallion {version}")
        medallion.start()
        self.medallion = medallion
        print(f"   serving on {medallion.base}", flush=True)
        client = medallion.client()
        max_length = int(client.information().get("max_content_length") or 0)
        self.medallion_figures["max_content_length"] = max_length
        if "page" in args.parts:
            self.page_medallion(client)
        if "ingest" in args.parts:
            self.ingest_medallion(client)
        medallion.stop()
        self.medallion = None

    def page_medallion(self, client: TaxiiClient) -> None:
        args = self.args
        collection = self.medallion.collections["paging"]
        bodies = envelopes(SEEDS["page"], args.page_objects, args.envelope)
        loaded = post_all(client, collection, bodies)
        print(
            f"   paging collection: {loaded.successes:,} objects posted in {loaded.seconds:.1f} s"
        )
        totals, counts = [], []
        for _ in range(args.walks):
            total, _times, count = walk(client, collection, args.limit)
            totals.append(total)
            counts.append(count)
            print(f"   walk: {count:,} objects in {total:.2f} s", flush=True)
        self.medallion_figures["walk"] = statistics.median(totals)
        self.results.add(
            f"GET walk, limit={args.limit}",
            "medallion",
            f"{counts[0]:,} objects",
            f"{statistics.median(totals):.2f} s (median of {len(totals)})",
        )

    def ingest_medallion(self, client: TaxiiClient) -> None:
        args = self.args
        per = fit_envelope(args.envelope, [self.medallion_figures["max_content_length"]], 1)
        bodies = envelopes(SEEDS["ingest"], args.ingest, per)
        print(f"   posting {args.ingest:,} indicators in envelopes of {per:,}", flush=True)
        result = post_all(
            client, self.medallion.collections["ingest"], bodies, args.medallion_budget
        )
        self.medallion_figures["ingest"] = result
        size = f"{result.objects:,} of {args.ingest:,}"
        note = "; ".join(
            x
            for x in (f"{result.envelopes} envelopes of {per:,}", result.spread(), result.note)
            if x
        )
        self.results.add(
            "POST ingest (until complete)",
            "medallion",
            size,
            f"{result.rate:,.0f} objects/s ({result.seconds:.1f} s)",
            note=note,
        )

    # Accord

    def run_accord(self, db: str) -> None:
        args = self.args
        accord = Accord(self.workdir, db, args)
        print(f"\n== Accord on {db} ({accord.where})", flush=True)
        accord.prepare()
        try:
            accord.start()
            print(f"   serving on {accord.base} ({args.workers} workers x {args.threads} threads)")
            client = accord.client()
            info = client.information()
            max_length = int(info.get("max_content_length") or 0)
            collection = client.writable_collection(prefer="network")
            print(
                f"   API root {client.api_root}, max_content_length {max_length:,}; "
                f"collection '{collection.get('title')}' ({collection['id']})",
                flush=True,
            )
            if "page" in args.parts:
                self.page_accord(db, client, collection["id"])
            if "ingest" in args.parts:
                self.ingest_accord(db, client, collection["id"], max_length)
            if "million" in args.parts:
                self.million_accord(db, accord, client, collection["id"])
            if "memory" in args.parts:
                self.memory_accord(db, accord)
        finally:
            accord.stop()
            if not args.keep:
                accord.drop()

    def page_accord(self, db: str, client: TaxiiClient, collection_id: str) -> None:
        args = self.args
        bodies = envelopes(SEEDS["page"], args.page_objects, args.envelope)
        loaded = post_all(client, collection_id, bodies)
        print(
            f"   paging collection: {loaded.successes:,} objects posted in {loaded.seconds:.1f} s"
        )
        totals, pages, counts = [], [], []
        for _ in range(args.walks):
            total, times, count = walk(client, collection_id, args.limit)
            totals.append(total)
            pages += times
            counts.append(count)
            print(f"   walk: {count:,} objects in {total:.3f} s", flush=True)
        median = statistics.median(totals)
        theirs = self.medallion_figures.get("walk")
        ratio = f"{theirs / median:,.0f}x medallion (target >= 100x)" if theirs else ""
        self.results.add(
            f"GET walk, limit={args.limit}",
            f"Accord {db}",
            f"{counts[0]:,} objects",
            f"{median:.3f} s (median of {len(totals)}); page p50 {ms(percentile(pages, 0.5))}",
            target=ratio,
        )

    def ingest_accord(
        self, db: str, client: TaxiiClient, collection_id: str, max_length: int
    ) -> None:
        args = self.args
        limits = [max_length, self.medallion_figures.get("max_content_length", 0)]
        per = fit_envelope(args.envelope, limits, SEEDS["ingest"])
        bodies = envelopes(SEEDS["ingest"], args.ingest, per)
        print(f"   posting {args.ingest:,} indicators in envelopes of {per:,}", flush=True)
        result = post_all(client, collection_id, bodies)
        theirs: Ingest | None = self.medallion_figures.get("ingest")
        target = f">= {TARGETS['ingest_rate']:,.0f}/s on PostgreSQL"
        if theirs and theirs.rate:
            target += f"; {result.rate / theirs.rate:,.1f}x medallion (target >= 20x)"
            if theirs.objects < result.objects:
                target += f" (medallion at {theirs.objects:,})"
        note = f"{result.successes:,} succeeded, {result.failures:,} failed"
        for extra in (result.spread(), result.note):
            if extra:
                note += f"; {extra}"
        self.results.add(
            "POST ingest (until complete)",
            f"Accord {db}",
            f"{result.objects:,}",
            f"{result.rate:,.0f} objects/s ({result.seconds:.1f} s)",
            target=target,
            note=note,
        )

    def million_accord(
        self, db: str, accord: Accord, client: TaxiiClient, collection_id: str
    ) -> None:
        args = self.args
        # Shares through TAXII first: one envelope, one report each; their reports
        # anchor the directly loaded rows, in contiguous blocks.
        share = Indicators(SEEDS["share"])
        reports = max(1, args.million_reports)
        bodies = [(1, json.dumps({"objects": [share.one(n)]}).encode()) for n in range(reports)]
        posted = post_all(client, collection_id, bodies)
        if posted.successes < reports:
            raise SystemExit(f"the anchoring shares failed: {posted.note}")
        anchors = ",".join(share.ids(0, reports))
        started = time.perf_counter()
        loaded = accord.step("load", anchors, str(args.million), str(SEEDS["million"]))
        seconds = time.perf_counter() - started
        print(
            f"   loaded {loaded['rows']:,} rows into exchange_stixobject in {seconds:.1f} s "
            f"({loaded['reports']:,} report(s)); store now {loaded['total']:,} rows",
            flush=True,
        )
        total, times, count = walk(client, collection_id, args.limit)
        pages = len(times)
        middle = max(0, pages // 2 - 5)
        print(f"   walk: {count:,} objects, {pages:,} pages in {total:.1f} s", flush=True)
        for label, chunk in (
            ("first 10 pages", times[:10]),
            (f"middle pages {middle + 1}-{middle + 10}", times[middle : middle + 10]),
            ("last 10 pages", times[-10:]),
            (f"all {pages:,} pages", times),
        ):
            p50 = percentile(chunk, 0.5)
            figure = (
                f"p50 {ms(p50)}, p90 {ms(percentile(chunk, 0.9))}, "
                f"p99 {ms(percentile(chunk, 0.99))}"
            )
            self.results.add(
                f"GET page, limit={args.limit}: {label}",
                f"Accord {db}",
                f"{count:,} objects",
                figure,
                target=f"p50 < {TARGETS['page_p50_ms']:.0f} ms on PostgreSQL",
            )

    def memory_accord(self, db: str, accord: Accord) -> None:
        args = self.args
        path = self.workdir / f"bundle-{args.bundle_mb}mb.json"
        marker = path.with_suffix(".count")
        if path.exists() and marker.exists():
            count = int(marker.read_text())
        else:
            started = time.perf_counter()
            count = write_bundle(path, args.bundle_mb * 1024 * 1024)
            marker.write_text(str(count))
            print(
                f"   wrote {path} ({count:,} indicators) in {time.perf_counter() - started:.1f} s"
            )
        size_mb = path.stat().st_size / 1024 / 1024
        command = [
            sys.executable,
            "-m",
            "accord.cli",
            "import-stix",
            str(path),
            "--organisation",
            ORG_SLUG,
        ]
        print(f"   {' '.join(command[2:])}", flush=True)
        rss_kb, seconds, code, output = peak_rss(command, accord.env)
        if code:
            print(output[-3000:])
            self.results.add(
                "import-stix peak RSS", f"Accord {db}", f"{size_mb:,.0f} MB", f"failed ({code})"
            )
            return
        rss_mb = rss_kb / 1024
        verdict = "met" if rss_mb < TARGETS["rss_mb"] else "MISSED"
        self.results.add(
            "import-stix peak RSS",
            f"Accord {db}",
            f"{size_mb:,.0f} MB, {count:,} objects",
            f"{rss_mb:,.0f} MB in {seconds:.0f} s ({count / seconds:,.0f} objects/s)",
            target=f"< {TARGETS['rss_mb']:.0f} MB: {verdict}",
            # The command's summary line, without the file name it starts with.
            note=output.strip().splitlines()[-1].split(": ", 1)[-1] if output.strip() else "",
        )


def peak_rss(command: list[str], env: dict[str, str]) -> tuple[int, float, int, str]:
    """Run a command; return its peak resident set (KiB, from wait4), seconds,
    exit status and output. Only this child's own peak is counted."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return usage.ru_maxrss, seconds, process.returncode, out.read().decode(errors="replace")


def machine() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if "model name" in ln),
            "unknown CPU",
        )
        mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
        return (
            f"{model}, {os.cpu_count()} logical CPUs, {mem:.1f} GiB RAM, Python "
            + (sys.version.split()[0])
        )
    except OSError:
        return f"{os.cpu_count()} logical CPUs"


# --- Django steps (run in a child process with the server's environment) ------------


def run_step(name: str, arguments: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accord.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    steps: dict[str, Callable[..., dict[str, Any]]] = {"setup": step_setup, "load": step_load}
    print(json.dumps(steps[name](*arguments)))
    return 0


def step_setup() -> dict[str, Any]:
    """A verified member organisation in good standing, an analyst of it, and a
    write token for TAXII (Basic auth: username + token)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from accord.accounts import services
    from accord.membership.models import Membership, Organisation, Sector
    from accord.rules.models import RuleAcceptance, RuleDocument

    now = timezone.now()
    with transaction.atomic():
        org, _ = Organisation.objects.get_or_create(
            slug=ORG_SLUG,
            defaults={
                "name": "Benchmark TAXII organisation",
                "country": "NL",
                "stakeholder_group": "private-sector",
                "contact_name": "Benchmark",
                "contact_email": "taxii@bench.example",
                "status": Organisation.Status.VERIFIED,
                "decided_at": now,
            },
        )
        org.sectors.set(Sector.objects.order_by("position")[:1])
        user, created = get_user_model().objects.get_or_create(
            username=USERNAME,
            defaults={"email": "taxii-analyst@bench.example", "full_name": "Benchmark Analyst"},
        )
        if created:
            user.set_unusable_password()
            user.save()
        Membership.objects.get_or_create(
            user=user,
            organisation=org,
            defaults={"is_analyst": True, "is_representative": True},
        )
        for document in RuleDocument.objects.all():
            version = document.current_version
            if version is not None:
                RuleAcceptance.objects.get_or_create(organisation=org, version=version)
        _token, raw = services.create_token(
            user, name="TAXII benchmark", can_write=True, expires_in_days=2, by="benchmark"
        )
    return {"username": USERNAME, "token": raw, "organisation": ORG_SLUG}


def step_load(anchor_ids: str, count: str, seed: str) -> dict[str, Any]:
    """Write ``count`` indicator rows straight into the object store, anchored in
    contiguous blocks to the reports that hold ``anchor_ids`` (comma-separated,
    shared through TAXII before), dated just before now in order. COPY on
    PostgreSQL, batched INSERT on SQLite."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accord.exchange.models import Scope, StixObject

    report_ids = []
    for anchor_id in anchor_ids.split(","):
        anchor = StixObject.objects.filter(stix_id=anchor_id).exclude(report=None).first()
        if anchor is None:
            raise SystemExit(f"{anchor_id} is not stored with a report")
        report_ids.append(anchor.report_id)
    total = int(count)
    start = timezone.now() - dt.timedelta(milliseconds=total + 60_000)
    table = StixObject._meta.db_table
    fields = [
        "stix_id",
        "stix_type",
        "spec_version",
        "modified",
        "date_added",
        "report",
        "scope",
        "body",
        "body_abroad",
        "is_latest",
        "revoked",
    ]
    quote = connection.ops.quote_name
    names = ", ".join(quote(StixObject._meta.get_field(f).column) for f in fields)
    postgres = connection.vendor == "postgresql"
    # Plain DB-API parameters: SQLite stores UUIDs as 32 hex digits.
    reports = [r if postgres else r.hex for r in report_ids]

    def rows() -> Iterator[list[Any]]:
        for i, (stix_id, modified, body) in enumerate(stored_rows(int(seed), 0, total)):
            added = start + dt.timedelta(milliseconds=i)
            version = dt.datetime.fromisoformat(modified.replace("Z", "+00:00"))
            if not postgres:
                added = str(added.astimezone(dt.UTC).replace(tzinfo=None))
                version = str(version.replace(tzinfo=None))
            yield [
                stix_id,
                "indicator",
                "2.1",
                version,
                added,
                reports[i * len(reports) // total],
                Scope.REPORT.value,
                body,
                "",
                True,
                False,
            ]

    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(fields))
            sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"  # noqa: S608
            batch: list[list[Any]] = []
            for row in rows():
                batch.append(row)
                if len(batch) >= 20_000:
                    cursor.executemany(sql, batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")
    return {"rows": total, "reports": len(reports), "total": StixObject.objects.count()}


if __name__ == "__main__":
    raise SystemExit(main())
