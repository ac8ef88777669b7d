"""The Markdown sections an import adds to a report's summary, and reading them back.

The Report model has no field for labels or for MISP's own event fields, so an
import writes them as level-2 sections at the end of the summary: "Labels"
(tags and galaxy clusters, one code span a line), "MISP event" (threat level,
analysis, counts) and "Other attributes" (what did not become an observable or
a reference). An export reads the labels back as tags.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from accord.sharing.services.drafts import MAX_SUMMARY

LABELS = "Labels"
EVENT = "MISP event"
OTHER = "Other attributes"
GENERATED = (LABELS, EVENT, OTHER)
# Sections an export does not copy into its event report: tags and event fields carry them.
CARRIED_ELSEWHERE = (LABELS, EVENT)

MAX_FREE_TEXT = 8000
MAX_LABELS_TEXT = 4000
MAX_LINE = 500
_HEADING = re.compile(r"## (.+?)\s*\Z")
_BACKTICKS = re.compile(r"`+")


def code(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds."""
    runs = [len(run) for run in _BACKTICKS.findall(text)]
    fence = "`" * (max(runs, default=0) + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")):
        text = f" {text} "
    return f"{fence}{text}{fence}"


def uncode(text: str) -> str:
    """The text of a code span written by :func:`code` (or the text itself)."""
    fence = len(text) - len(text.lstrip("`"))
    if not fence or len(text) < 2 * fence or not text.endswith("`" * fence):
        return text
    inner = text[fence : len(text) - fence]
    if len(inner) > 1 and inner.startswith(" ") and inner.endswith(" ") and inner.strip():
        inner = inner[1:-1]
    return inner


def one_line(text: str, limit: int = MAX_LINE) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def split_sections(summary: str) -> tuple[str, dict[str, str]]:
    """(text before the generated sections and other headings, {heading: body}) for the
    generated headings; any other ``##`` section stays with the free text."""
    free: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (summary or "").splitlines():
        heading = _HEADING.fullmatch(line)
        if heading:
            name = heading[1]
            current = sections.setdefault(name, []) if name in GENERATED else None
            if current is None:
                free.append(line)
            continue
        (free if current is None else current).append(line)
    found = {name: "\n".join(body).strip() for name, body in sections.items()}
    return "\n".join(free).strip(), found


def labels_of(summary: str) -> list[str]:
    """The labels an import wrote into the summary."""
    _free, sections = split_sections(summary)
    found = []
    for line in sections.get(LABELS, "").splitlines():
        if line.startswith("- "):
            label = uncode(line[2:].strip())
            if label and not label.startswith("…"):
                found.append(label)
    return list(dict.fromkeys(found))


def without(summary: str, names: tuple[str, ...]) -> str:
    """The summary without the generated sections named."""
    free, sections = split_sections(summary)
    parts = [free] if free else []
    for name in GENERATED:
        if name in sections and name not in names:
            parts.append(f"## {name}\n\n{sections[name]}".rstrip())
    return "\n\n".join(parts)


@dataclass
class Other:
    """An attribute that became neither an observable nor a reference."""

    type: str
    category: str
    value: str
    comment: str = ""
    reason: str = ""
    object_name: str = ""

    def line(self) -> str:
        obj = f"object {self.object_name}" if self.object_name else ""
        where = ", ".join(x for x in (self.category, obj) if x)
        head = f"- {code(self.type)}" + (f" ({where})" if where else "")
        value = one_line(self.value, 300)
        shown = value if self.type in ("text", "comment") else code(value)
        line = f"{head}: {shown}"
        if self.comment:
            line += f" — {one_line(self.comment, 200)}"
        if self.reason:
            line += f" ({one_line(self.reason, 200)})"
        return line


@dataclass
class Composition:
    free_text: str = ""
    labels: list[str] = field(default_factory=list)
    event_lines: list[str] = field(default_factory=list)
    others: list[Other] = field(default_factory=list)
    listed: int = 0  # filled in by compose(): how many others fitted in the summary


def compose(parts: Composition, limit: int = MAX_SUMMARY) -> str:
    """The summary: free text, then Labels, MISP event and Other attributes, within
    ``limit`` characters. What does not fit is counted, by type, never dropped unsaid."""
    free = parts.free_text.strip()
    if len(free) > MAX_FREE_TEXT:
        free = free[: MAX_FREE_TEXT - 1].rstrip() + "…"
        if sum(line.startswith("```") for line in free.splitlines()) % 2:
            free += "\n```"  # close the code block the cut fell in
        free += f"\n\n(The event's text was cut here, at {MAX_FREE_TEXT} characters.)"
    blocks = [free] if free else []
    if parts.labels:
        lines: list[str] = []
        size = 0
        for index, label in enumerate(parts.labels):
            line = f"- {code(one_line(label, 300))}"
            if size + len(line) > MAX_LABELS_TEXT:
                lines.append(f"- … and {len(parts.labels) - index} more labels")
                break
            lines.append(line)
            size += len(line) + 1
        blocks.append(f"## {LABELS}\n\n" + "\n".join(lines))
    if parts.event_lines:
        blocks.append(f"## {EVENT}\n\n" + "\n".join(f"- {line}" for line in parts.event_lines))
    text = "\n\n".join(blocks)
    if not parts.others:
        parts.listed = 0
        return text
    heading = f"\n\n## {OTHER}\n\n"
    reserve = 300  # room for the line that counts what was left out
    budget = limit - len(text) - len(heading) - reserve
    lines = []
    for other in parts.others:
        line = other.line()
        if len(line) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line) + 1
    parts.listed = len(lines)
    left = parts.others[len(lines) :]
    if left:
        by_type = Counter(other.type for other in left)
        counted = ", ".join(f"{name} {n}" for name, n in by_type.most_common(8))
        more = "" if len(by_type) <= 8 else ", …"
        lines.append(
            f"- … and {len(left)} more not listed, for the summary's length ({counted}{more})"
        )
    return (text + heading + "\n".join(lines))[:limit]
