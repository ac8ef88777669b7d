"""Add Objects (section 5.4): read the envelope, then hand its objects to the
STIX import with the collection's audience.

The body is read from the request stream in pieces, never beyond
TAXII_MAX_CONTENT_LENGTH (a declared Content-Length above it is refused before
anything is read), into a spooled file (on disk past a few megabytes). One
streaming parse checks that it is JSON and an envelope of STIX objects; only
then is anything stored. The import holds the parsed objects in memory: about
twice the envelope's size.
"""

from __future__ import annotations

import json
import re
import tempfile
from typing import IO, Any

import ijson
from django.http import HttpRequest
from django.utils import timezone

from accord import policy
from accord.exchange.models import Source, TaxiiStatus
from accord.exchange.stix.ingest import IngestContext, ingest
from accord.membership.models import Organisation

from . import conf
from .auth import Principal
from .collections import Collection
from .media import TaxiiError

CHUNK = 1 << 20
KEEP_SUCCESSES = 10_000
# Bodies up to this size stay in memory while read; larger ones go to a temporary file.
SPOOL_IN_MEMORY = 8 << 20
NUL = (b"\x00", b"\\u0000")
# A UTF-16 surrogate escape without its partner: valid JSON, but no database stores it.
LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
# Any surrogate escape at all: a cheap test (a literal prefix) that spares the one
# above, which is slow on large bodies, for the bodies that hold none.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# The longest pattern above spans 12 bytes: keep that much of each piece for the next.
OVERLAP = 12


def too_large() -> TaxiiError:
    limit = conf.max_content_length()
    return TaxiiError(
        413,
        "Request too large",
        f"The body exceeds the largest envelope this server accepts ({limit} bytes, the "
        "API root's max_content_length). Send the objects in several envelopes.",
        code="too-large",
    )


def unprocessable(description: str) -> TaxiiError:
    return TaxiiError(422, "Unprocessable envelope", description, code="unprocessable")


def read_body(request: HttpRequest) -> IO[bytes]:
    """The request body in a spooled file, refused with 413 past the limit."""
    limit = conf.max_content_length()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise TaxiiError(400, "Bad request", "Content-Length is not a number.") from exc
    if declared > limit:
        raise too_large()
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    total = 0
    tail = b""
    while chunk := request.read(CHUNK):
        total += len(chunk)
        if total > limit:
            spool.close()
            raise too_large()
        window = tail + chunk
        if any(marker in window for marker in NUL) or (
            SURROGATE_ESCAPE.search(window) and LONE_SURROGATE.search(window)
        ):
            spool.close()
            raise TaxiiError(
                400,
                "Bad request",
                "The envelope holds NUL characters (\\u0000) or unpaired UTF-16 surrogates, "
                "which no stored text may contain.",
                code="bad-characters",
            )
        tail = window[-OVERLAP:]
        spool.write(chunk)
    spool.seek(0)
    return spool


def scan(spool: IO[bytes]) -> list[dict[str, Any]]:
    """The envelope's objects. 400 for text that is not JSON, 422 for JSON that
    is not an envelope of objects."""
    head = spool.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    spool.seek(0)
    if not head.startswith(b"{"):
        _raise_for_json(spool)
        raise unprocessable("The body must be a TAXII envelope: a JSON object with 'objects'.")
    objects: list[dict[str, Any]] = []
    for item in _objects_of(spool):
        if not isinstance(item, dict):
            raise unprocessable(
                f"Object {len(objects) + 1} of the envelope is not a JSON object; "
                "'objects' must be a list of STIX objects."
            )
        objects.append(item)
    if not objects:
        raise unprocessable("The envelope has no objects to add ('objects' is missing or empty).")
    return objects


def _objects_of(spool: Any) -> list[Any]:
    """The items of the envelope's ``objects``. A body small enough to be kept in
    memory is parsed whole (several times faster than streaming); a larger one is
    streamed."""
    spool.seek(0, 2)
    size = spool.tell()
    spool.seek(0)
    if size <= SPOOL_IN_MEMORY:
        try:
            envelope = json.loads(spool.read(), parse_constant=_refuse_constant)
        except ValueError as exc:
            raise TaxiiError(400, "Bad request", f"The body is not valid JSON: {exc}.") from exc
        finally:
            spool.seek(0)
        found = envelope.get("objects") if isinstance(envelope, dict) else None
        return found if isinstance(found, list) else []
    try:
        return list(ijson.items(spool, "objects.item", use_float=True))
    except ijson.JSONError as exc:
        raise TaxiiError(400, "Bad request", f"The body is not valid JSON: {exc}.") from exc


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python's parser takes them by default.
    raise ValueError(f"{name} is not a JSON value")


def _raise_for_json(spool: IO[bytes]) -> None:
    try:
        for _ in ijson.basic_parse(spool):
            pass
    except ijson.JSONError as exc:
        raise TaxiiError(400, "Bad request", f"The body is not valid JSON: {exc}.") from exc
    finally:
        spool.seek(0)


def sharing_organisation(user: Any) -> Organisation:
    """The organisation a post is made for: the person's first (by name)
    organisation they may share for."""
    organisation = (
        Organisation.objects.filter(pk__in=policy.sharing_organisation_ids(user))
        .order_by("name", "pk")
        .first()
    )
    if organisation is None:  # can_write was checked before; this is a race
        raise TaxiiError(403, "Forbidden", "You cannot share reports for any organisation.")
    return organisation


def add_objects(
    request: HttpRequest, principal: Principal, collection: Collection, api_root: str
) -> TaxiiStatus:
    """Read, check and import an envelope; the returned status is complete.

    The status exists (pending) from before the import starts, so a client that
    asks for it meanwhile sees it pending; the import completes it."""
    organisation = sharing_organisation(principal.user)
    with read_body(request) as spool:
        objects = scan(spool)
    count = len(objects)
    status = TaxiiStatus.objects.create(
        user=principal.user,
        api_root=api_root,
        collection_id=collection.id,
        total_count=count,
        pending_count=count,
        request_timestamp=timezone.now(),
    )
    try:
        _ingest(objects, principal, collection, organisation, status)
    except Exception:
        # The import rolled back: nothing was stored. Say so in the status rather
        # than leave it pending for ever, then let the error be seen.
        TaxiiStatus.objects.filter(pk=status.pk).update(
            status=TaxiiStatus.State.COMPLETE,
            success_count=0,
            failure_count=count,
            pending_count=0,
            completed_at=timezone.now(),
        )
        raise
    status.refresh_from_db()
    return status


def _ingest(
    objects: list[dict[str, Any]],
    principal: Principal,
    collection: Collection,
    organisation: Organisation,
    status: TaxiiStatus,
) -> None:
    context = IngestContext(
        user=principal.user,
        organisation=organisation,
        source=Source.TAXII,
        audience=collection.audience,
        audience_group=collection.group,
        status=status,
        # Past this many objects the status keeps the count of successes, not each id.
        keep_successes=len(objects) <= KEEP_SUCCESSES,
    )
    ingest(objects, context)
