"""Three installations, as three processes with three databases, exchanging under
their agreements (accord.exchange.peers.federation, the same network as
``accord federation-demo``).

Alphaland (A), Betaland (B) and Gammaland (C) are migrated, seeded with material at
every marking and attribution, served by gunicorn on loopback ports, and pulled
with ``accord pull-peers``. The test then reads each database directly — every
row of every table — and asserts exactly what crossed and what did not. Then A
withdraws a report, tightens another's marking and narrows its agreement with B,
and one more round of pulls must withdraw the copies abroad.

On SQLite each node has its own file; when the suite runs on PostgreSQL
(``DATABASE_URL``), each node gets a database of its own on the same server
(``<name>_fed_a`` …), dropped afterwards. The nodes run ``accord.settings``
(or the module named by ``ACCORD_FEDERATION_SETTINGS``). It takes about a minute.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import urllib.request
from contextlib import closing
from typing import Any

import pytest

from accord.exchange.peers import federation as fed
from accord.exchange.peers.federation import MATERIAL, Federation, Installation

A, B, C = (fed.node(key) for key in "abc")
M = {m.key: m for m in MATERIAL}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def network(tmp_path_factory: Any) -> Any:
    net = Federation(
        tmp_path_factory.mktemp("federation"),
        ports=[free_port() for _ in range(3)],
        database_url=os.environ.get("DATABASE_URL", "")
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "",
        settings_module=os.environ.get("ACCORD_FEDERATION_SETTINGS", "accord.settings"),
    )
    try:
        net.prepare()
        net.start()
        yield net
    finally:
        net.cleanup()


# --- Reading a node's database as it is ----------------------------------------------------


def query(inst: Installation, sql: str) -> list[tuple[Any, ...]]:
    path = inst.sqlite_path
    if path is not None:
        with closing(sqlite3.connect(path, timeout=20)) as db:
            return list(db.execute(sql))
    import psycopg

    with psycopg.connect(inst.database_url) as db:
        return list(db.execute(sql))  # type: ignore[arg-type]


def dump(inst: Installation) -> str:
    """Every row of every table, as text."""
    path = inst.sqlite_path
    if path is not None:
        with closing(sqlite3.connect(path, timeout=20)) as db:
            return "\n".join(db.iterdump())
    tables = query(
        inst,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    return "\n".join(
        row[0] for (table,) in tables for row in query(inst, f'SELECT t::text FROM "{table}" t')
    )


def received(inst: Installation) -> dict[str, dict[str, Any]]:
    """The reports that came from abroad, by title."""
    rows = query(
        inst,
        "SELECT r.title, r.withdrawn_at, o.origin_country, o.reporter_label, p.slug "
        "FROM sharing_report r JOIN exchange_reportorigin o ON o.report_id = r.id "
        "LEFT JOIN exchange_peer p ON p.id = o.peer_id",
    )
    found: dict[str, dict[str, Any]] = {}
    for title, withdrawn, country, label, peer in rows:
        assert title not in found, f"{title} arrived twice at {inst.node.name}"
        found[title] = {
            "withdrawn": bool(withdrawn),
            "country": country,
            "label": label,
            "peer": peer,
        }
    return found


def titles(origin: fed.Node, *keys: str) -> set[str]:
    return {fed.title(origin, M[key]) for key in keys}


def from_node(inst: Installation, origin: fed.Node, *, live: bool | None = None) -> set[str]:
    return {
        title
        for title, info in received(inst).items()
        if title.startswith(f"[{origin.prefix}]") and (live is None or live != info["withdrawn"])
    }


def pull(network: Federation, keys: str) -> None:
    """``accord pull-peers`` on these nodes at once."""
    for key, (code, out, err) in network.pull(keys).items():
        assert code == 0, f"pull-peers on {key} failed:\n{out}\n{err}"


def api(inst: Installation, method: str, path: str, token: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - a loopback node of this test
        f"{inst.url}/api/v1{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read() or b"null")


# Never abroad, whatever the agreements: the identity of pseudonymous and anonymous
# reporters, the government-only reporter, people's addresses, a working group's
# name, and anything AMBER without consent, AMBER+STRICT, RED or for government only.
def never_abroad(origin: fed.Node) -> list[str]:
    words = [f"@{origin.slug}.example", f"{origin.prefix} Finance ISAC"]
    for role in ("bank", "hospital", "ministry"):
        words += [fed.organisation_name(origin, role), f"{origin.slug}-{role}"]
    for key in ("amber-plain", "amber-strict", "red", "government"):
        words += [fed.marker(origin, M[key]), fed.address(origin, M[key])]
    return words


def holds(text: str, word: str) -> bool:
    # An address must not match as the start of a longer one.
    return re.search(re.escape(word) + r"(?![0-9])", text) is not None


COMMON = ("clear-named", "green-named", "green-pseudo", "green-anon", "withdraw-me", "tighten-me")


# --- The test -------------------------------------------------------------------------------------


def test_three_installations_exchange_exactly_what_their_agreements_allow(network):
    a, b, c = (network.installations[key] for key in "abc")
    # C first, so that what C passes on from A is there when B pulls from C.
    pull(network, "c")
    pull(network, "ab")

    # What crossed, link by link.
    assert from_node(b, A) == titles(
        A, *COMMON, "amber-consent", "group", "advisory", "vulnerability", "measure"
    )
    assert from_node(c, A) == titles(A, *COMMON, "vulnerability", "measure")
    assert from_node(a, B) == titles(B, *COMMON, "advisory", "measure", "vulnerability")
    assert from_node(c, B) == titles(B, *COMMON, "advisory", "measure")  # C takes no vulnerability
    assert from_node(a, C) == titles(C, *COMMON, "advisory", "measure", "vulnerability")
    assert from_node(b, C) == titles(C, *COMMON, "advisory", "measure", "vulnerability")
    # Nothing comes home; nothing of its own is a foreign report anywhere.
    for inst in (a, b, c):
        assert from_node(inst, inst.node) == set()

    # Origins: the country, the peer it came through, and who reported it as that
    # country lets it be known (A names its reporters to B only).
    at_b, at_c = received(b), received(c)
    green_named = fed.title(A, M["green-named"])
    assert at_b[green_named]["label"] == "Alpha Grid Operator"
    assert at_c[green_named]["label"] == "Energy sector, AT"
    assert at_c[green_named]["country"] == "AT" and at_c[green_named]["peer"] == "alphaland"
    assert at_b[fed.title(A, M["green-anon"])]["label"] == ""
    assert at_b[fed.title(A, M["green-pseudo"])]["label"] == "Banking sector, AT"
    # B took A's measure from C (C passes third-country material on to B), once.
    assert at_b[fed.title(A, M["measure"])]["peer"] == "gammaland"
    # C does not pass B what came from A: B's advisory is at C, A's is not.
    assert fed.title(A, M["advisory"]) not in at_c

    # The raw databases: nothing that may not cross is there, in any row.
    rows = {key: dump(network.installations[key]) for key in "abc"}
    for inst in (a, b, c):
        for origin in (A, B, C):
            if origin is inst.node:
                continue
            leaked = [w for w in never_abroad(origin) if holds(rows[inst.node.key], w)]
            assert leaked == [], f"{inst.node.name} holds {leaked} from {origin.name}"
    assert "Alpha Grid Operator" in rows["b"]  # named to B by agreement
    for key, origin in (("c", A), ("a", B), ("a", C), ("b", C), ("c", B)):
        assert fed.organisation_name(origin, "grid") not in rows[key]
    for key in ("amber-consent", "group", "advisory"):  # not to C, and not via B
        assert fed.marker(A, M[key]) not in rows["c"]
    assert fed.marker(B, M["amber-consent"]) not in rows["c"]  # C takes GREEN at most
    assert fed.marker(B, M["vulnerability"]) not in rows["c"]  # nor vulnerabilities from B

    # Retraction: A withdraws one report, tightens another and narrows what B gets.
    tokens, ids = a.seeded["tokens"], a.seeded["reports"]
    api(a, "POST", f"/reports/{ids['withdraw-me']}/withdraw", tokens["grid"], {"reason": "Mistake"})
    secret = "mark-alphaland-tightened-detail-end"
    api(
        a,
        "PATCH",
        f"/reports/{ids['tighten-me']}",
        tokens["hospital"],
        {"marking": "amber+strict", "summary": f"Now strictly need-to-know ({secret})."},
    )
    api(
        a,
        "PUT",
        "/peers/betaland/agreements/outbound",
        tokens["coordinator"],
        {
            "kinds": ["incident", "advisory"],
            "highest_marking": "amber",
            "name_reporters": True,
            "working_groups": ["alpha-finance-isac"],
        },
    )
    # A's own pull-peers first writes the retractions its peers are due (as its
    # scheduler does every minute), then B and C pull.
    pull(network, "a")
    pull(network, "bc")

    gone = titles(A, "withdraw-me", "tighten-me")
    assert from_node(b, A, live=False) == gone | titles(A, "vulnerability")
    assert from_node(c, A, live=False) == gone
    assert fed.title(A, M["vulnerability"]) in from_node(c, A, live=True)
    for key in ("b", "c"):
        assert secret not in dump(network.installations[key])
    # Nothing else changed, and still nothing arrived twice.
    assert from_node(b, A) == titles(
        A, *COMMON, "amber-consent", "group", "advisory", "vulnerability", "measure"
    )
