"""The sharing benchmark still runs: a small smoke run, so that a change that
breaks it shows up in CI. Its figures are not checked here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_sharing_benchmark_runs_quickly_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "ACCORD_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sharing.py"),
            "--quick",
            "--db",
            "sqlite",
            "--workdir",
            str(tmp_path / "db"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    assert "== Data generation" in out
    assert "== Results: sqlite" in out
    for heading in ("measurement", "viewer", "p50 ms", "p99 ms", "target", "verdict"):
        assert heading in out, heading
    for row in ("submit report (create_report)", "correlations_for_report", "feed page 1"):
        assert row in out, row
    assert (tmp_path / "db" / "sharing.sqlite3").exists()
