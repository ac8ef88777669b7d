"""Media types, content negotiation, timestamps, and the TAXII error message.

Every TAXII resource, the envelope included, is ``application/taxii+json;version=2.1``
(section 1.6.8 of the standard); objects inside it are STIX 2.1
(``application/stix+json;version=2.1``). A media type without a ``version``
parameter means the latest version, which for this server is 2.1.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse

TAXII_TYPE = "application/taxii+json"
TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
VERSION = "2.1"


class TaxiiError(Exception):
    """An answer that is a TAXII error message (section 3.6.1)."""

    def __init__(
        self,
        status: int,
        title: str,
        description: str = "",
        *,
        code: str = "",
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description or title)
        self.status = status
        self.title = title
        self.description = description
        self.code = code
        self.headers = headers or {}
        self.details = details


def error_response(error: TaxiiError) -> HttpResponse:
    body: dict[str, Any] = {"title": error.title, "http_status": str(error.status)}
    if error.description:
        body["description"] = error.description
    if error.code:
        body["error_code"] = error.code
    if error.details:
        body["details"] = error.details
    response = taxii_response(body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def taxii_response(
    data: dict[str, Any] | bytes, *, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    """A TAXII resource; ``data`` may already be encoded JSON (the envelope is)."""
    content = data if isinstance(data, bytes) else dumps(data)
    response = HttpResponse(content, status=status, content_type=TAXII_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


# --- Content negotiation ------------------------------------------------------

_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+/[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``"Application/TAXII+json; version=2.1"`` ->
    ``("application/taxii+json", {"version": "2.1"})``."""
    kind, *params = value.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        name, _, param_value = param.partition("=")
        parsed[name.strip().lower()] = param_value.strip().strip('"')
    return kind.strip().lower(), parsed


def _serves(kind: str, params: dict[str, str]) -> bool:
    if kind in ("*/*", "application/*"):
        return True
    return kind == TAXII_TYPE and params.get("version", VERSION) == VERSION


def check_accept(request: HttpRequest) -> None:
    """406 unless the client accepts TAXII 2.1 (a missing Accept accepts anything)."""
    header = request.META.get("HTTP_ACCEPT", "").strip()
    if not header:
        return
    for item in header.split(","):
        kind, params = parse_media_type(item)
        if params.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if _serves(kind, params):
            return
    raise TaxiiError(
        406,
        "Not acceptable",
        f"This server answers with {TAXII_MEDIA_TYPE} only; send it in the Accept header.",
        code="not-acceptable",
    )


def check_content_type(request: HttpRequest) -> None:
    """415 unless the body is declared as a TAXII 2.1 envelope."""
    kind, params = parse_media_type(request.META.get("CONTENT_TYPE", ""))
    if kind == TAXII_TYPE and params.get("version", VERSION) == VERSION:
        return
    raise TaxiiError(
        415,
        "Unsupported media type",
        f"Send the envelope as Content-Type: {TAXII_MEDIA_TYPE}.",
        code="unsupported-media-type",
    )


# --- Timestamps -----------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_timestamp(value: str) -> dt.datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime (fractions beyond
    microseconds are cut), or None when the text is not one."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro
        )
    except ValueError:
        return None
    if zone in ("Z", "z"):
        offset = dt.timedelta(0)
    else:
        sign = 1 if zone[0] == "+" else -1
        offset = sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        return (moment - offset).replace(tzinfo=dt.UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return None


def format_added(moment: dt.datetime) -> str:
    """``date_added`` and the X-TAXII-Date-Added headers: microseconds, so that
    ``added_after`` with the last page's value neither repeats nor skips objects."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_version(moment: dt.datetime) -> str:
    """An object's version (its ``modified``): milliseconds as STIX writes them,
    microseconds only when the stored value has them."""
    moment = moment.astimezone(dt.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond % 1000:
        return f"{text}.{moment.microsecond:06d}Z"
    return f"{text}.{moment.microsecond // 1000:03d}Z"
