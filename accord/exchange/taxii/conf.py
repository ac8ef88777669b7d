"""The TAXII server's settings, with their defaults (see docs/taxii.md)."""

from __future__ import annotations

from django.conf import settings


def api_root_name() -> str:
    """The one API root's path segment: /taxii2/<name>/."""
    return getattr(settings, "TAXII_API_ROOT", "accord")


def max_content_length() -> int:
    """The largest request body accepted, in bytes (advertised in the API root)."""
    return int(getattr(settings, "TAXII_MAX_CONTENT_LENGTH", 100 * 1024 * 1024))


def max_page_size() -> int:
    """The most objects one page holds, whatever ``limit`` asks for."""
    return int(getattr(settings, "TAXII_MAX_PAGE_SIZE", 1000))


def status_retention_hours() -> int:
    """How long a status resource can be read after its request."""
    return int(getattr(settings, "TAXII_STATUS_RETENTION_HOURS", 24))


def network_name() -> str:
    return getattr(settings, "NETWORK_NAME", "Accord")
