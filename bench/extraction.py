"""How long observable extraction takes on 1 MB of incident-report text.

Run: .venv/bin/python bench/extraction.py [size in bytes]
The text is made deterministically (a fixed seed), so runs are comparable.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from accord.sharing.observables import extract  # noqa: E402

_PROSE = """the a of to and in on for with from by at as is was were has have had been this that
these those we our their attacker attackers victim server servers host hosts network traffic
beacon beaconing observed seen payload loader dropper malware ransomware phishing campaign mail
mails sent received connection connections outbound inbound firewall logs log entries analysis
analyst incident response team contained isolated credentials stolen lateral movement scheduled
task persistence registry key process spawned command shell script encoded downloaded executed
vulnerability exploited patched version update advisory customers partners sector energy health
finance transport operator national coordination centre e.g. i.e. etc. see also note: between
12:30 and 14:00 UTC, about 3.5 GB; config.json main.py report.pdf setup.exe C:\\Windows\\Temp
"""
WORDS = _PROSE.split()


def _ioc(rng: random.Random) -> str:
    host = f"{rng.choice(['update', 'cdn', 'login', 'mail', 'api'])}-{rng.randrange(999)}"
    zone = f"{rng.choice(['example', 'test', 'invalid'])}.{rng.choice(['com', 'net', 'org'])}"
    domain = f"{host}.{zone}"
    ip = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    hexes = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    choice = rng.randrange(12)
    if choice == 0:
        return domain.replace(".", "[.]")
    if choice == 1:
        return f"hxxps://{domain}/{rng.choice(['a', 'gate.php', 'x/y?id=1'])}"
    if choice == 2:
        return f"https://{domain}:443/path/{rng.randrange(99)}."
    if choice == 3:
        return ip if rng.random() < 0.5 else ip.replace(".", "[.]", 1)
    if choice == 4:
        return f"{ip.rsplit('.', 1)[0]}.0/24"
    if choice == 5:
        return f"2001:db8:{rng.randrange(65535):x}::{rng.randrange(65535):x}"
    if choice == 6:
        return hexes[: rng.choice([32, 40, 64])]
    if choice == 7:
        return f"CVE-20{rng.randrange(10, 25)}-{rng.randrange(1000, 99999)}"
    if choice == 8:
        return f"AS{rng.randrange(1, 400000)}"
    if choice == 9:
        return f"admin{rng.randrange(99)}[at]{domain}"
    if choice == 10:
        return f"({domain})"
    return f"ftp://{ip}/pub/{rng.randrange(99)}.bin"


def make_text(size: int, seed: int = 2024) -> str:
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    while total < size:
        words = rng.choices(WORDS, k=rng.randrange(8, 20))
        if rng.random() < 0.4:
            words.insert(rng.randrange(len(words)), _ioc(rng))
        sentence = " ".join(words).capitalize() + (".\n" if rng.random() < 0.2 else ". ")
        parts.append(sentence)
        total += len(sentence)
    return "".join(parts)[:size]


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    text = make_text(size)
    timings, cpu = [], []
    for _ in range(5):
        start, start_cpu = time.perf_counter(), time.process_time()
        found = extract(text)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    print(f"text: {len(text.encode('utf-8')):,} bytes, {len(text):,} characters")
    for kind, count in sorted(Counter(item.kind for item in found).items()):
        print(f"  {kind:8} {count:6,}")
    print(f"observables: {len(found):,}")
    print(f"extract(): median {statistics.median(timings):.0f} ms, p95 {p95:.0f} ms (5 runs)")
    # on a busy machine the wall clock waits for other processes; CPU time does not
    print(f"CPU time: median {statistics.median(cpu):.0f} ms")


if __name__ == "__main__":
    main()
