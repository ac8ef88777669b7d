"""Reading STIX 2.1 bundles without loading them whole.

A bundle file can be far larger than the memory we may use, so its objects are
streamed one at a time with ijson (its C backend when available). The top level
is checked while streaming: it must be a JSON object with ``"type": "bundle"``
and ``"objects"`` an array of JSON objects. Anything else raises
:class:`BundleError` with a message that says what and where.

Numbers arrive as ``int`` or ``float`` (never ``Decimal``), so objects can be
written back with the standard ``json`` module.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

try:  # the C backend is several times faster; the pure-Python one is the fallback
    _backend = ijson.get_backend("yajl2_c")
except ImportError:  # pragma: no cover - depends on how ijson was built
    _backend = ijson

BUNDLE_ID = re.compile(
    r"^bundle--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# Below this size a malformed input is parsed once more with ``json`` for an exact position.
_EXACT_POSITION_LIMIT = 64 * 1024 * 1024
_CHUNK = 64 * 1024

Source = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


class BundleError(ValueError):
    """The input is not a well-formed STIX bundle; ``str(exc)`` says why and where."""


class Progress:
    """How many bytes of its input a reader has consumed (for batching by size)."""

    def __init__(self) -> None:
        self.bytes = 0


class _Counting:
    """A reader that remembers how far into the input the parser has read."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw = raw
        self.position = 0
        self.last_chunk_start = 0
        self.progress = progress or Progress()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.last_chunk_start = self.position
        self.position += len(data)
        self.progress.bytes += len(data)
        return data


class _Shape:
    """Checks the bundle's top level from the parser's events, as they pass."""

    def __init__(self) -> None:
        self.index = -1  # of the object being read
        self.type: Any = None
        self.bundle_id: Any = None
        self.spec_version: Any = None
        self.seen_objects = False

    def watch(self, events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, str, Any]]:
        first = True
        for prefix, event, value in events:
            if first:
                first = False
                if event != "start_map":
                    raise BundleError(
                        "This is not a STIX bundle: the JSON must be an object "
                        '{"type": "bundle", "id": ..., "objects": [...]}.'
                    )
            elif prefix == "type" and event != "map_key":
                self.type = value
            elif prefix == "id" and event != "map_key":
                self.bundle_id = value
            elif prefix == "spec_version" and event != "map_key":
                self.spec_version = value
            elif prefix == "objects":
                if event == "start_array":
                    self.seen_objects = True
                elif event not in ("end_array", "map_key"):
                    raise BundleError('"objects" must be an array of STIX objects.')
            elif prefix == "objects.item" and event not in ("map_key", "end_map"):
                self.index += 1
                if event != "start_map":
                    raise BundleError(
                        f"objects[{self.index}] is not a JSON object (found {_kind(event)})."
                    )
            yield prefix, event, value

    def check(self) -> None:
        """After the last event: what only the whole top level can tell."""
        if self.type != "bundle":
            shown = json.dumps(self.type) if self.type is not None else "nothing"
            raise BundleError(f'This is not a STIX bundle: "type" is {shown}, not "bundle".')
        if self.spec_version == "2.0":
            raise BundleError(
                "This is a STIX 2.0 bundle; only STIX 2.1 is accepted. "
                "Convert it to STIX 2.1 first."
            )
        if self.bundle_id is not None and not (
            isinstance(self.bundle_id, str) and BUNDLE_ID.match(self.bundle_id)
        ):
            raise BundleError(
                f'The bundle id {json.dumps(self.bundle_id)[:80]} is not "bundle--<UUID>".'
            )


def _kind(event: str) -> str:
    return {
        "start_array": "an array",
        "string": "a string",
        "number": "a number",
        "boolean": "true/false",
        "null": "null",
    }.get(event, event)


def iter_objects(source: Source, progress: Progress | None = None) -> Iterator[dict[str, Any]]:
    """Yield each object of the bundle in ``source`` (a path, bytes, or a binary file);
    ``progress``, if given, counts the bytes read so far.

    The bundle's top level is fully checked only when the last object has been
    read: consumers that store as they go must do so in a transaction they can
    roll back, or read the whole input once first (as the ingest does).
    """
    with _open(source) as raw:
        counting = _Counting(raw, progress)
        shape = _Shape()
        events = shape.watch(_backend.parse(counting, buf_size=_CHUNK))
        try:
            yield from _backend.items(events, "objects.item", use_float=True)
        except ijson.JSONError as exc:
            raise BundleError(_malformed(source, counting, shape, exc)) from None
        except UnicodeDecodeError as exc:
            raise BundleError(
                f"The input is not UTF-8 text: {exc.reason} at byte {exc.start}."
            ) from None
        shape.check()


class _open:
    """A binary reader over any accepted source, closed afterwards if we opened it."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.owned: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        source = self.source
        if isinstance(source, bytes | bytearray | memoryview):
            return io.BytesIO(bytes(source))
        if isinstance(source, str | os.PathLike):
            try:
                self.owned = open(source, "rb")  # noqa: SIM115 - closed in __exit__
            except OSError as exc:
                raise BundleError(f"Cannot read {source}: {exc.strerror}.") from None
            return self.owned
        if isinstance(source, io.TextIOBase):
            raise BundleError("Open the bundle file in binary mode ('rb').")
        return source

    def __exit__(self, *exc: object) -> None:
        if self.owned is not None:
            self.owned.close()


def rewind(source: Source) -> None:
    """Make a file object readable from the start again (paths and bytes need nothing)."""
    if hasattr(source, "seek") and not isinstance(source, bytes | bytearray | memoryview):
        source.seek(0)  # type: ignore[union-attr]


def is_rereadable(source: Source) -> bool:
    if isinstance(source, bytes | bytearray | memoryview | str | os.PathLike):
        return True
    try:
        return bool(source.seekable())  # type: ignore[union-attr]
    except (AttributeError, OSError):
        return False


def _malformed(source: Source, counting: _Counting, shape: _Shape, exc: Exception) -> str:
    """A message for malformed JSON with as exact a position as is affordable."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed JSON"
    data = _small_input(source)
    if data is not None:
        try:
            json.loads(data)
        except json.JSONDecodeError as decoded:
            return (
                f"Malformed JSON at line {decoded.lineno}, column {decoded.colno} "
                f"(byte {decoded.pos}): {decoded.msg}."
            )
        except (UnicodeDecodeError, ValueError):
            pass
    where = f"in objects[{shape.index}]" if shape.index >= 0 else "before the first object"
    return (
        f"Malformed JSON {where}, between bytes {counting.last_chunk_start} and "
        f"{counting.position}: {first_line}."
    )


def _small_input(source: Source) -> bytes | None:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.stat().st_size <= _EXACT_POSITION_LIMIT:
            return path.read_bytes()
        return None
    try:
        if source.seekable():  # type: ignore[union-attr]
            source.seek(0, io.SEEK_END)  # type: ignore[union-attr]
            if source.tell() <= _EXACT_POSITION_LIMIT:  # type: ignore[union-attr]
                source.seek(0)  # type: ignore[union-attr]
                return source.read()  # type: ignore[union-attr]
    except (AttributeError, OSError):
        pass
    return None
