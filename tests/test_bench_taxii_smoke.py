"""The TAXII benchmark still runs: its data generator makes valid STIX, and a
tiny Accord-only run (no medallion, which the benchmark installs from PyPI)
prints every figure, positive. The figures themselves are not checked here."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import stix2
from stix2patterns.validator import run_validator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import taxii_data  # noqa: E402

from accord.exchange.stix.vocab import TLP2_MARKING_IDS  # noqa: E402
from accord.sharing.models import Marking  # noqa: E402


def test_generated_indicators_are_valid_distinct_stix() -> None:
    made = taxii_data.Indicators(taxii_data.SEEDS["smoke"])
    objects = list(made.objects(0, 200))
    assert len({o["id"] for o in objects}) == 200
    assert len({o["pattern"] for o in objects}) == 200
    assert TLP2_MARKING_IDS[Marking.GREEN] == taxii_data.TLP2_GREEN
    kinds = {o["pattern"].split(":", 1)[0] for o in objects}
    assert kinds == {"[ipv4-addr", "[domain-name", "[url", "[file"}
    for obj in objects[:12]:
        parsed = stix2.parse(obj, allow_custom=False)
        assert parsed.object_marking_refs == [taxii_data.TLP2_GREEN]
        assert run_validator(obj["pattern"]) == []
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", obj["modified"])
    # Another seed gives other ids; the same seed the same objects.
    assert set(taxii_data.Indicators(1).ids(0, 50)).isdisjoint(made.ids(0, 50))
    assert made.one(7) == taxii_data.Indicators(taxii_data.SEEDS["smoke"]).one(7)


def test_envelopes_and_bundle_file(tmp_path: Path) -> None:
    envelopes = taxii_data.envelopes(taxii_data.SEEDS["smoke"], 1050, 500)
    assert [count for count, _body in envelopes] == [500, 500, 50]
    assert len(json.loads(envelopes[2][1])["objects"]) == 50
    path = tmp_path / "bundle.json"
    count = taxii_data.write_bundle(path, 200_000)
    assert path.stat().st_size >= 200_000
    bundle = json.loads(path.read_text())
    assert bundle["type"] == "bundle"
    assert len(bundle["objects"]) == count > 100
    stix2.parse(bundle["objects"][-1], allow_custom=False)


def _accord_side_exists() -> bool:
    taxii = importlib.util.find_spec("accord.exchange.taxii") is not None
    command = (ROOT / "accord/exchange/management/commands/import_stix.py").exists()
    return taxii and command


@pytest.mark.skipif(
    not _accord_side_exists(), reason="the TAXII server or import-stix is not in this tree"
)
def test_the_taxii_benchmark_runs_quickly_against_accord(tmp_path: Path) -> None:
    env = {**os.environ, "ACCORD_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "taxii.py"),
            "--quick",
            "--no-medallion",
            "--db",
            "sqlite",
            "--workers",
            "1",
            "--threads",
            "2",
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-4000:]
    out = result.stdout
    assert "== Results" in out

    def figure(pattern: str) -> float:
        found = re.search(pattern, out)
        assert found, f"{pattern!r} not in:\n{out[-3000:]}"
        return float(found.group(1).replace(",", ""))

    assert figure(r"POST ingest \(until complete\) / Accord sqlite: ([\d,.]+) objects/s") > 0
    assert "2,000 succeeded, 0 failed" in out
    assert figure(r"GET walk, limit=100 / Accord sqlite: ([\d.]+) s") > 0
    assert figure(r"walk: ([\d,]+) objects") >= 500
    for part in ("first 10 pages", "last 10 pages", "all"):
        assert figure(rf"GET page, limit=100: {part}.*?p50 ([\d,.]+) ms") > 0
    assert figure(r"import-stix peak RSS / Accord sqlite: ([\d,]+) MB") > 0
    # The work directory holds the bundle it imported and the server's log.
    assert (tmp_path / "work" / "bundle-2mb.json").stat().st_size >= 2 * 1024 * 1024
    assert (tmp_path / "work" / "accord-sqlite.log").exists()
