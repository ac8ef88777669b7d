"""The command line: ``accord demo`` and ``accord serve``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accord import policy
from accord.audit.models import AuditEntry
from accord.core import demo
from accord.membership.models import Invitation, Membership, Organisation, Sector
from accord.membership.taxonomy import StakeholderGroup
from accord.rules.models import RuleAcceptance, RuleVersion
from accord.workgroups.models import GroupMembership, WorkingGroup

ACCORD = Path(sys.executable).with_name("accord")


def _counts() -> dict[str, int]:
    models = [
        get_user_model(),
        Organisation,
        Membership,
        Invitation,
        RuleVersion,
        RuleAcceptance,
        WorkingGroup,
        GroupMembership,
        AuditEntry,
    ]
    return {model.__name__: model.objects.count() for model in models}


def test_demo_is_idempotent(db: Any) -> None:
    first = StringIO()
    call_command("demo", stdout=first)
    after_first = _counts()
    second = StringIO()
    call_command("demo", stdout=second)

    assert _counts() == after_first
    assert "already loaded" in second.getvalue()
    for output in (first.getvalue(), second.getvalue()):
        assert settings.ACCORD_DEMO_PASSWORD in output
        assert "http://127.0.0.1:8000/" in output
        for username, *_ in demo.SIGN_INS:
            assert username in output


def test_demo_has_the_promised_shape(db: Any) -> None:
    call_command("demo", stdout=StringIO())

    organisations = Organisation.objects.all()
    assert organisations.count() >= 28
    groups_used = set(organisations.values_list("stakeholder_group", flat=True))
    assert groups_used == set(StakeholderGroup.values)
    assert Sector.objects.filter(organisation__isnull=False).distinct().count() >= 12
    assert WorkingGroup.objects.count() == 3
    assert set(WorkingGroup.objects.values_list("visibility", flat=True)) == {
        "open",
        "invite-only",
        "confidential",
    }
    assert 3 <= organisations.filter(status=Organisation.Status.PENDING).count() <= 4
    assert organisations.filter(status=Organisation.Status.REJECTED).count() == 1
    verified = set(organisations.verified().values_list("pk", flat=True))
    good = set(policy.organisations_in_good_standing().values_list("pk", flat=True))
    assert len(verified - good) >= 3, "some verified members have not accepted the rules"
    assert len(good) > len(verified) / 2, "most have"
    for org in organisations.verified():
        assert 2 <= org.memberships.count() <= 4, org.name
    assert get_user_model().objects.filter(is_demo=False).count() == 0


def test_demo_refuses_a_database_with_a_real_coordinator_account(db: Any) -> None:
    get_user_model().objects.create_user("coordinator", "real@example.test", "x" * 16)
    before = _counts()
    with pytest.raises(CommandError, match="already holds"):
        call_command("demo", stdout=StringIO())
    assert _counts() == before


# --- accord serve ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    """The real settings (not the test settings) on a fresh database in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="accord.settings",
        ACCORD_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        ACCORD_SECRET_KEY="test-only-" + "k" * 50,
        ACCORD_ACCESS_LOG="1",  # off by default; on here so the test can see requests
    )
    return env


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own server
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"accord serve exited early:\n{log.read_text()}")
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"accord serve did not answer within {timeout} s:\n{log.read_text()}")


@pytest.fixture
def served(tmp_path: Path) -> Any:
    """``accord serve`` with its task worker, on a migrated empty database."""
    env = _env(tmp_path)
    subprocess.run([ACCORD, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=120)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [ACCORD, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/", process, log)
        yield base, process, log
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM first, so that accord serve stops its children too."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_serves_the_platform_and_stops_on_sigterm(served: Any) -> None:
    base, process, log = served

    status, content_type, body = _get(base + "/")
    assert status == 200 and content_type.startswith("text/html")
    assert b"<html" in body and b"/static/accord/accord." in body

    status, content_type, body = _get(base + "/static/accord/accord.css")
    assert status == 200 and content_type.startswith("text/css") and body

    status, content_type, body = _get(base + "/api/v1/openapi.json")
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body)["info"]["title"] == "Accord API"

    output = log.read_text()
    assert f"Accord is serving on {base}/" in output
    assert '"GET / HTTP/1.1" 200' in output, "gunicorn writes an access log when asked to"

    # The task worker runs beside it, and SIGTERM stops both.
    deadline = time.monotonic() + 20
    while "Starting worker" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Starting worker" in log.read_text(), log.read_text()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=45) == 0, log.read_text()
    with pytest.raises(OSError):
        _get(base + "/")


def test_serve_without_worker(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([ACCORD, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=120)
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [ACCORD, "serve", "--port", str(port), "--workers", "1", "--no-worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/", process, log)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=45) == 0, log.read_text()
        assert "Starting worker" not in log.read_text()
    finally:
        _stop(process)


def test_serve_exits_with_an_error_when_the_web_server_cannot_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [ACCORD, "serve", "--port", str(port), "--no-worker"],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert "stopped" in result.stderr
