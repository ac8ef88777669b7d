"""Generated STIX 2.1 indicators for the TAXII benchmark.

Every indicator is valid STIX 2.1: a type--UUIDv4 id, RFC 3339 UTC timestamps
with millisecond precision, a STIX pattern over one observable (IPv4 address,
domain name, URL or SHA-256 file hash, in turn) and the official TLP 2.0 GREEN
marking. The n-th indicator of a seed is always the same object, so runs are
comparable and both servers receive byte-identical envelopes. Distinct seeds
give distinct ids; distinct n give distinct patterns.

No Django here: the smoke test and the bundle writer use it without a database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

# The official TLP 2.0 GREEN marking definition (same value as
# accord.exchange.stix.vocab.TLP2_MARKING_IDS["green"]; repeated so that this
# module needs no Django settings).
TLP2_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
KINDS = ("ipv4", "domain", "url", "sha256")
# Seeds of the benchmark's parts, so that the objects of one part never collide
# with another's in the same database (the store is unique on id + modified).
SEEDS = {"ingest": 1, "page": 2, "million": 3, "memory": 4, "share": 5, "smoke": 6}
_EPOCH = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
_WORDS = ["loader", "beacon", "phishing", "exfiltration", "gateway", "ransomware", "dropper"]


def stix_time(moment: dt.datetime) -> str:
    """RFC 3339 UTC with millisecond precision and a Z, as STIX 2.1 recommends."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def observable(n: int) -> tuple[str, str]:
    """The n-th observable: its kind and a STIX pattern; distinct n, distinct patterns."""
    kind = KINDS[n % len(KINDS)]
    if kind == "ipv4":
        # Unicast 1.0.0.0-223.255.255.255: the multiplier is coprime with the range's
        # size (223 * 2**24), so distinct n below it give distinct addresses.
        address = (n * 2654435761) % (223 << 24) + (1 << 24)
        return kind, f"[ipv4-addr:value = '{ipaddress.IPv4Address(address)}']"
    if kind == "domain":
        return kind, f"[domain-name:value = 'h{n:x}.bench{n % 997}.example']"
    if kind == "url":
        return kind, f"[url:value = 'https://d{n % 5000}.example.net/p/{n:x}']"
    digest = hashlib.sha256(f"accord-bench-{n}".encode()).hexdigest()
    return kind, f"[file:hashes.'SHA-256' = '{digest}']"


class Indicators:
    """The indicators of one seed, made on demand in order."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def ids(self, start: int, count: int) -> list[str]:
        return [self._id(n) for n in range(start, start + count)]

    def _id(self, n: int) -> str:
        # uuid4-shaped (version and variant bits set), derived from seed and n.
        raw = hashlib.blake2b(f"{self.seed}:{n}".encode(), digest_size=16).digest()
        return f"indicator--{uuid.UUID(bytes=raw, version=4)}"

    def one(self, n: int) -> dict[str, Any]:
        kind, pattern = observable(self.seed * 10_000_000 + n)
        created = stix_time(_EPOCH + dt.timedelta(seconds=n % 86_400, milliseconds=n % 997))
        return {
            "type": "indicator",
            "spec_version": "2.1",
            "id": self._id(n),
            "created": created,
            "modified": created,
            "name": f"{random.Random(n).choice(_WORDS).capitalize()} {kind} #{n}",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": created,
            "object_marking_refs": [TLP2_GREEN],
        }

    def objects(self, start: int, count: int) -> Iterator[dict[str, Any]]:
        for n in range(start, start + count):
            yield self.one(n)


def envelopes(seed: int, total: int, per_envelope: int) -> list[tuple[int, bytes]]:
    """``total`` indicators as TAXII envelopes of ``per_envelope`` objects, each
    with its object count, serialised once: the same bytes go to every server."""
    made = Indicators(seed)
    out = []
    for start in range(0, total, per_envelope):
        count = min(per_envelope, total - start)
        body = {"objects": list(made.objects(start, count))}
        out.append((count, json.dumps(body, separators=(",", ":")).encode()))
    return out


def write_bundle(path: Path | str, target_bytes: int, seed: int = SEEDS["memory"]) -> int:
    """Write a STIX bundle of at least ``target_bytes`` to ``path``, one object at a
    time (the writer's own memory stays small). Returns the number of objects."""
    made = Indicators(seed)
    bundle_id = f"bundle--{uuid.UUID(int=seed, version=4)}"
    written = 0
    count = 0
    with open(path, "w", encoding="utf-8") as fp:
        written += _write(fp, f'{{"type":"bundle","id":"{bundle_id}","objects":[\n')
        while written < target_bytes:
            text = json.dumps(made.one(count), indent=1)  # the usual pretty-printed file
            written += _write(fp, ("" if count == 0 else ",\n") + text)
            count += 1
        _write(fp, "\n]}\n")
    return count


def _write(fp: IO[str], text: str) -> int:
    fp.write(text)
    return len(text.encode())


def stored_rows(seed: int, start: int, count: int) -> Iterator[tuple[str, str, str]]:
    """(stix_id, modified, JSON text) of indicators, for loading the object store
    directly (the million-object paging figure)."""
    made = Indicators(seed)
    for n in range(start, start + count):
        obj = made.one(n)
        yield obj["id"], obj["modified"], json.dumps(obj, separators=(",", ":"))


if __name__ == "__main__":  # a quick look: python bench/taxii_data.py
    print(json.dumps(list(Indicators(SEEDS["smoke"]).objects(0, 4)), indent=1))
