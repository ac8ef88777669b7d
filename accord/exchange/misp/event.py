"""Reading one MISP core JSON event and mapping it to what a report holds.

Nothing here touches the database except to look up sector codes; storing is
``importer``'s job. Structure is checked strictly (a wrong type is a clear
error); values leniently (a value that is not a valid observable is kept in
the summary with the reason, never dropped).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone
from django_countries import countries

from accord.membership.models import Sector
from accord.sharing.classification import Effect, get_incident_type
from accord.sharing.models import MARKING_RANK, Kind
from accord.sharing.observables import InvalidObservable, ObservableKind, detect_kind, parse
from accord.sharing.services.drafts import (
    MAX_OBSERVABLES,
    MAX_REFERENCES,
    MAX_TITLE,
    ObservableInput,
)

from . import summary as sections
from . import vocab


class MispError(Exception):
    """An event that cannot be imported; ``str(exc)`` says why, ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


_MACHINE_TAG = re.compile(r'([^:="\s]+):([^="]+?)(?:="(.*)")?\Z', re.S)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)


@dataclass
class Observation:
    kind: str
    value: str
    note: str


@dataclass
class MappedEvent:
    """An event as Accord sees it."""

    uuid: str
    modified: dt.datetime | None
    title: str
    kind: str
    marking: str
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    incident_type: str = ""
    sectors: list[str] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)
    country_of_origin: str = ""
    references: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    summary: str = ""
    withdrawn: bool = False
    reporter_label: str = ""  # Orgc name, used for foreign imports only
    attributes: int = 0
    texts: int = 0  # text and comment attributes, in the summary's text
    absorbed: int = 0  # file names and ports kept in the notes of their object's observables
    others: int = 0  # kept in the summary's "Other attributes" (listed or counted)
    others_listed: int = 0
    deleted: int = 0
    files_not_imported: int = 0

    @property
    def external_id(self) -> str:
        return f"misp-event--{self.uuid}"

    def observable_inputs(self) -> list[ObservableInput]:
        return [ObservableInput(o.value, o.kind, o.note) for o in self.observations]


# --- Reading ----------------------------------------------------------------------------------


def read_event(data: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """The ``Event`` object of MISP core JSON (``{"Event": {...}}``; a bare event too)."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MispError("The event is not UTF-8 text.") from None
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise MispError(f"Not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise MispError('Not a MISP event: expected a JSON object {"Event": {...}}.')
    event = data.get("Event", data if "info" in data else None)
    if not isinstance(event, dict):
        raise MispError('Not a MISP event: expected a JSON object {"Event": {...}}.')
    _check_text(event, "Event")
    return event


def _check_text(value: Any, where: str, depth: int = 0) -> None:
    """No string may hold a NUL or a lone surrogate: no database stores them."""
    if depth > 40:
        raise MispError(f"{where}: nested too deeply.")
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            raise MispError(f"{where}: text with a NUL character or a lone surrogate.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{where}[{index}]", depth + 1)


def _list(container: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise MispError(f"{where}.{key} must be a list of objects.")
    return value


def _string(container: dict[str, Any], key: str, where: str, *, required: bool = False) -> str:
    value = container.get(key)
    if value is None:
        if required:
            raise MispError(f"{where}.{key} is missing.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MispError(f"{where}.{key} must be a string.")
    return str(value)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _epoch(value: Any, where: str) -> dt.datetime | None:
    if value in (None, "", 0, "0"):
        return None
    seconds = _int(value)
    if seconds is None:
        raise MispError(f"{where} must be a Unix time in seconds.")
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise MispError(f"{where} is out of range.") from None


def _moment(value: Any) -> dt.datetime | None:
    """An attribute's first_seen/last_seen, if it is a plausible time; else None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    if not _EARLIEST <= moment <= timezone.now():
        return None
    return moment.astimezone(dt.UTC)


def _tag_names(container: dict[str, Any], where: str) -> list[str]:
    value = container.get("Tag")
    if value is None:
        return []
    if not isinstance(value, list):
        raise MispError(f"{where}.Tag must be a list.")
    names = []
    for index, tag in enumerate(value):
        name = tag.get("name") if isinstance(tag, dict) else tag
        if not isinstance(name, str):
            raise MispError(f"{where}.Tag[{index}] has no name.")
        if name.strip():
            names.append(" ".join(name.split()))
    return names


def _galaxy_labels(container: dict[str, Any], where: str) -> list[str]:
    labels = []
    for galaxy in _list(container, "Galaxy", where):
        for cluster in _list(galaxy, "GalaxyCluster", f"{where}.Galaxy"):
            name = cluster.get("tag_name")
            if not isinstance(name, str) or not name.strip():
                value = cluster.get("value")
                kind = cluster.get("type") or galaxy.get("type")
                if not isinstance(value, str) or not isinstance(kind, str):
                    raise MispError(f"{where}.Galaxy: a cluster without value or type.")
                name = f'misp-galaxy:{kind}="{value}"'
            labels.append(" ".join(name.split()))
    return labels


# --- Mapping ----------------------------------------------------------------------------------

_HASH_TYPES = frozenset(vocab.HASH_TYPES)
_PORT_TARGETS = frozenset({"ip-src", "ip-dst", "domain", "hostname"})


@dataclass
class _Attribute:
    data: dict[str, Any]
    where: str
    object_name: str = ""
    # ("file", name) or ("port", number): what a sibling in the same object adds to it
    context: tuple[str, str] | None = None
    # a file name or port that went into these siblings' notes instead of standing alone
    absorbed_into: list[_Attribute] = field(default_factory=list)


def _join_object(members: list[_Attribute]) -> None:
    """Inside one object, a lone file name goes with the object's hashes, and a lone port
    with its addresses (the MISP "file" and "ip-port" objects, say)."""
    by_type: dict[str, list[_Attribute]] = {}
    for member in members:
        by_type.setdefault(str(member.data.get("type")), []).append(member)
    pairs = (("filename", "file", _HASH_TYPES), ("port", "port", _PORT_TARGETS))
    for source_type, label, target_types in pairs:
        sources = by_type.get(source_type, [])
        targets = [m for m in members if m.data.get("type") in target_types]
        if len(sources) != 1 or not targets:
            continue
        value = sources[0].data.get("value")
        if not isinstance(value, str | int) or not str(value).strip():
            continue
        if label == "port" and not str(value).strip().isdigit():
            continue
        for target in targets:
            target.context = (label, str(value).strip())
        sources[0].absorbed_into = targets


def _attributes(event: dict[str, Any]) -> tuple[list[_Attribute], int]:
    """Every live attribute, the event's own first, then those inside objects."""
    found: list[_Attribute] = []
    deleted = 0
    for index, attribute in enumerate(_list(event, "Attribute", "Event")):
        if _flag(attribute.get("deleted")):
            deleted += 1
            continue
        found.append(_Attribute(attribute, f"Event.Attribute[{index}]"))
    for index, obj in enumerate(_list(event, "Object", "Event")):
        inner = _list(obj, "Attribute", f"Event.Object[{index}]")
        if _flag(obj.get("deleted")):
            deleted += len(inner)
            continue
        name = _string(obj, "name", f"Event.Object[{index}]")
        members = []
        for position, attribute in enumerate(inner):
            if _flag(attribute.get("deleted")):
                deleted += 1
                continue
            where = f"Event.Object[{index}].Attribute[{position}]"
            members.append(_Attribute(attribute, where, name))
        _join_object(members)
        found.extend(members)
    return found, deleted


def _parse_as(value: str, kinds: tuple[str, ...]) -> tuple[str, str, bool]:
    """(kind, normalised value, scheme assumed) for a value that must be one of ``kinds``."""
    detected = detect_kind(value)
    order = ([detected] if detected in kinds else []) + [k for k in kinds if k != detected]
    first: InvalidObservable | None = None
    for kind in order:
        try:
            return (*parse(value, kind), False)
        except InvalidObservable as exc:
            first = first or exc
    if ObservableKind.URL in kinds and "://" not in value:
        try:  # MISP url attributes often leave out the scheme
            return (*parse("http://" + value.strip(), ObservableKind.URL), True)
        except InvalidObservable:
            pass
    assert first is not None
    raise first


def _note(
    misp_type: str,
    *,
    context: tuple[str, str] | None = None,
    object_name: str = "",
    category: str = "",
    to_ids: bool | None = None,
    scheme_assumed: bool = False,
    comment: str = "",
) -> str:
    """ "ip-dst · port 443 · object ip-port · context only · comment", at most 300 characters."""
    default_category, default_ids = vocab.TYPE_DEFAULTS.get(misp_type, ("", True))
    parts = [misp_type]
    if context:
        parts.append(f"{context[0]} {' '.join(context[1].split())}")
    if object_name:
        parts.append(f"object {object_name}")
    if category and category != default_category:
        parts.append(f"category {category}")
    if to_ids is not None and to_ids != default_ids:
        parts.append(vocab.FOR_DETECTION if to_ids else vocab.CONTEXT_ONLY)
    if scheme_assumed:
        parts.append(vocab.SCHEME_ASSUMED)
    fixed = vocab.NOTE_SEPARATOR.join(parts)
    comment = " ".join(comment.split())
    if comment:
        room = 300 - len(fixed) - len(vocab.NOTE_SEPARATOR)
        if room > 10:
            cut = comment if len(comment) <= room else comment[: room - 1] + "…"
            fixed += vocab.NOTE_SEPARATOR + cut
    return fixed if len(fixed) <= 300 else fixed[:299] + "…"


def _clean_reference(url: str) -> str | None:
    url = url.strip()
    if not url or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


class _Builder:
    """Collects observations, references, texts and the rest while attributes are read."""

    def __init__(self) -> None:
        self.observations: dict[tuple[str, str], Observation] = {}
        self.references: list[str] = []
        self.texts: list[str] = []
        self.others: list[sections.Other] = []
        self.absorbed = 0
        self.files_not_imported = 0
        self.first_seen: list[dt.datetime] = []
        self.last_seen: list[dt.datetime] = []
        self._produced: set[int] = set()

    def read(self, attributes: list[_Attribute]) -> None:
        later = []
        for attribute in attributes:
            if attribute.absorbed_into:
                later.append(attribute)
            else:
                self.add(attribute)
        for attribute in later:  # once its siblings are known to have become observables
            if any(id(target) in self._produced for target in attribute.absorbed_into):
                self.absorbed += 1
            else:
                self.add(attribute)

    def other(self, attribute: _Attribute, misp_type: str, value: str, reason: str = "") -> None:
        data = attribute.data
        self.others.append(
            sections.Other(
                type=misp_type,
                category=_string(data, "category", attribute.where),
                value=value,
                comment=_string(data, "comment", attribute.where),
                reason=reason,
                object_name=attribute.object_name,
            )
        )

    def observe(self, kind: str, value: str, note: str) -> bool:
        key = (kind, value)
        if key in self.observations:
            return True
        if len(self.observations) >= MAX_OBSERVABLES:
            return False
        self.observations[key] = Observation(kind, value, note)
        return True

    def add(self, attribute: _Attribute) -> None:
        data, where = attribute.data, attribute.where
        misp_type = _string(data, "type", where, required=True)
        value = _string(data, "value", where, required=True)
        if data.get("data"):
            self.files_not_imported += 1
        for key, bucket in (("first_seen", self.first_seen), ("last_seen", self.last_seen)):
            moment = _moment(data.get(key))
            if moment is not None:
                bucket.append(moment)
        if misp_type == vocab.LINK_TYPE:
            self._link(attribute, value)
        elif misp_type in vocab.TEXT_TYPES and not attribute.object_name and value.strip():
            self.texts.append(value.strip())
        elif misp_type in vocab.SIMPLE_TYPES:
            kinds = vocab.SIMPLE_TYPES[misp_type]
            self._observe(attribute, misp_type, value, [(value, kinds)], attribute.context)
        elif misp_type in vocab.COMPOSITE_TYPES:
            first, bar, second = value.partition("|")
            if not bar:
                self.other(attribute, misp_type, value, "a composite value needs 'a|b'")
                return
            kinds_first, kinds_second = vocab.COMPOSITE_TYPES[misp_type]
            pieces = [(p, k) for p, k in ((first, kinds_first), (second, kinds_second)) if k]
            context = None
            if kinds_first is None or kinds_second is None:
                text = first if kinds_first is None else second
                context = (vocab.CONTEXT_LABEL[misp_type], text.strip())
            self._observe(attribute, misp_type, value, pieces, context)
        else:
            self.other(attribute, misp_type, value)

    def _link(self, attribute: _Attribute, value: str) -> None:
        url = _clean_reference(value)
        if url is None:
            self.other(attribute, vocab.LINK_TYPE, value, "not an http(s) address")
        elif url in self.references or len(self.references) < MAX_REFERENCES:
            if url not in self.references:
                self.references.append(url)
        else:
            self.other(attribute, vocab.LINK_TYPE, value, "over the limit of references")

    def _observe(
        self,
        attribute: _Attribute,
        misp_type: str,
        value: str,
        pieces: list[tuple[str, tuple[str, ...]]],
        context: tuple[str, str] | None,
    ) -> None:
        data, where = attribute.data, attribute.where
        to_ids = _flag(data["to_ids"]) if "to_ids" in data else None
        problems = []
        for raw, kinds in pieces:
            try:
                kind, normalised, assumed = _parse_as(raw, kinds)
            except InvalidObservable as exc:
                problems.append(str(exc))
                continue
            note = _note(
                misp_type,
                context=context if context and context[1] else None,
                object_name=attribute.object_name,
                category=_string(data, "category", where),
                to_ids=to_ids,
                scheme_assumed=assumed,
                comment=_string(data, "comment", where),
            )
            if self.observe(kind, normalised, note):
                self._produced.add(id(attribute))
            else:
                problems.append(f"over the limit of {MAX_OBSERVABLES} observables per report")
        if problems:
            self.other(attribute, misp_type, value, " ".join(problems))


def _marking(names: list[str]) -> str | None:
    found = [vocab.TLP_TAGS[n.lower()] for n in names if n.lower() in vocab.TLP_TAGS]
    return max(found, key=MARKING_RANK.__getitem__) if found else None


def _split_tag(name: str) -> tuple[str, str, str]:
    m = _MACHINE_TAG.match(name)
    if not m:
        return "", "", ""
    return m[1].lower(), m[2], m[3] or ""


def _title(info: str) -> str:
    title = " ".join(info.split())
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1].rstrip() + "…"


def _event_date(event: dict[str, Any]) -> dt.datetime | None:
    raw = _string(event, "date", "Event")
    if not raw:
        return None
    if not _DATE.match(raw):
        raise MispError("Event.date must be a date like 2024-05-31.")
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise MispError("Event.date must be a date like 2024-05-31.") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _event_uuid(event: dict[str, Any]) -> str:
    raw = _string(event, "uuid", "Event")
    if not raw:
        raise MispError("Event.uuid is missing: it is what makes a second import update the first.")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise MispError(f"Event.uuid '{raw[:60]}' is not a UUID.") from None


def _modified(event: dict[str, Any], attributes: list[_Attribute]) -> dt.datetime | None:
    """When the event last changed: Event.timestamp, else its newest attribute."""
    stamp = _epoch(event.get("timestamp"), "Event.timestamp")
    if stamp is not None:
        return stamp
    moments = [_epoch(a.data.get("timestamp"), f"{a.where}.timestamp") for a in attributes]
    known = [m for m in moments if m is not None]
    if known:
        return max(known)
    return _epoch(event.get("publish_timestamp"), "Event.publish_timestamp")


def _free_text(event: dict[str, Any], texts: list[str]) -> str:
    """The event reports (MISP's narrative) and the event's text and comment attributes,
    without the sections an earlier export carried elsewhere."""
    found = []
    for index, report in enumerate(_list(event, "EventReport", "Event")):
        if _flag(report.get("deleted")):
            continue
        where = f"Event.EventReport[{index}]"
        content = sections.without(_string(report, "content", where), sections.CARRIED_ELSEWHERE)
        name = " ".join(_string(report, "name", where).split())
        if content and name and name != "Summary":
            found.append(f"### {name}\n\n{content}")
        elif content:
            found.append(content)
    found.extend(_as_markdown(text) for text in dict.fromkeys(texts))
    return "\n\n".join(found)


def _as_markdown(text: str) -> str:
    """Text attributes often hold JSON, XML or logs: those go in a code block, as written."""
    if "\n" not in text or text.lstrip()[:1] not in ("{", "[", "<"):
        return text
    runs = [len(run) for run in re.findall(r"`{3,}", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}\n{text}\n{fence}"


def map_event(event: dict[str, Any]) -> MappedEvent:
    """The report an event makes. Raises ``MispError`` on malformed structure."""
    info = _string(event, "info", "Event", required=True)
    event_uuid = _event_uuid(event)
    attributes, deleted = _attributes(event)
    modified = _modified(event, attributes)
    tags = _tag_names(event, "Event")
    attribute_tags = [n for a in attributes for n in _tag_names(a.data, a.where)]
    marking = _marking(tags + attribute_tags) or vocab.DEFAULT_MARKING

    kind = ""
    advisory = False
    incident_type = ""
    sectors: list[str] = []
    effects: list[str] = []
    country = ""
    withdrawn = False
    labels: list[str] = []
    known_sectors = set(Sector.objects.values_list("code", flat=True))
    for name in tags:
        namespace, predicate, value = _split_tag(name)
        lowered = name.lower()
        if lowered in vocab.TLP_TAGS:
            continue
        if lowered in vocab.ADVISORY_TAGS or lowered.startswith(vocab.ADVISORY_TAG_PREFIXES):
            advisory = True
        if namespace == "rsit" and value and not incident_type:
            code = f"{predicate}:{value}"
            try:
                get_incident_type(code)
            except ValueError:
                pass
            else:
                incident_type = code
                continue
        if namespace == vocab.ACCORD_TAG_NAMESPACE:
            if predicate == "kind" and value in vocab.KINDS and not kind:
                kind = value
                continue
            if predicate == "sector" and value in known_sectors:
                sectors.append(value)
                continue
            if predicate == "effect" and value in Effect.values:
                effects.append(value)
                continue
            if predicate == "country-of-origin" and value.upper() in dict(countries):
                country = value.upper()
                continue
            if predicate == "status" and value == "withdrawn":
                withdrawn = True
                continue
        labels.append(name)
    labels.extend(_galaxy_labels(event, "Event"))
    labels = list(dict.fromkeys(labels))

    builder = _Builder()
    builder.read(attributes)

    first_seen = _event_date(event)
    if first_seen is not None and not _EARLIEST <= first_seen <= timezone.now():
        first_seen = None  # a date the platform would refuse says nothing useful
    if builder.first_seen:
        first_seen = min([*builder.first_seen, *([first_seen] if first_seen else [])])
    last_seen = max(builder.last_seen) if builder.last_seen else None
    if last_seen and first_seen and last_seen < first_seen:
        last_seen = None

    orgc = event.get("Orgc")
    reporter = ""
    if isinstance(orgc, dict):
        reporter = " ".join(_string(orgc, "name", "Event.Orgc").split())[:200]

    mapped = MappedEvent(
        uuid=event_uuid,
        modified=modified,
        title=_title(info),
        kind=kind or (Kind.ADVISORY if advisory else Kind.INCIDENT),
        marking=marking,
        first_seen=first_seen,
        last_seen=last_seen,
        incident_type=incident_type,
        sectors=list(dict.fromkeys(sectors)),
        effects=list(dict.fromkeys(effects)),
        country_of_origin=country,
        references=builder.references,
        observations=list(builder.observations.values()),
        labels=labels,
        withdrawn=withdrawn,
        reporter_label=reporter,
        attributes=len(attributes),
        texts=len(builder.texts),
        absorbed=builder.absorbed,
        others=len(builder.others),
        deleted=deleted,
        files_not_imported=builder.files_not_imported,
    )
    composition = sections.Composition(
        free_text=_free_text(event, builder.texts),
        labels=labels,
        event_lines=_event_lines(event, mapped),
        others=builder.others,
    )
    mapped.summary = sections.compose(composition)
    mapped.others_listed = composition.listed
    return mapped


def _event_lines(event: dict[str, Any], mapped: MappedEvent) -> list[str]:
    lines = []
    threat = _int(event.get("threat_level_id"))
    if threat in vocab.THREAT_LEVELS:
        lines.append(f"Threat level: {vocab.THREAT_LEVELS[threat]}")
    analysis = _int(event.get("analysis"))
    if analysis in vocab.ANALYSIS:
        lines.append(f"Analysis: {vocab.ANALYSIS[analysis]}")
    if "published" in event:
        lines.append(f"Published: {'yes' if _flag(event.get('published')) else 'no'}")
    counts = (
        f"Attributes: {mapped.attributes}; {len(mapped.observations)} distinct observables, "
        f"{len(mapped.references)} references, {mapped.texts} texts in the description above, "
        f"{mapped.absorbed} file names and ports in observables' notes, "
        f"{mapped.others} other attributes"
    )
    if mapped.deleted:
        counts += f"; {mapped.deleted} deleted attributes skipped"
    lines.append(counts)
    if mapped.files_not_imported:
        lines.append(
            f"Files attached in MISP: {mapped.files_not_imported}, not imported "
            "(the platform keeps no file contents from MISP)"
        )
    return lines
