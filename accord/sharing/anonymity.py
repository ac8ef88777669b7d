"""Proof of authorship for anonymous contributions.

An anonymous report (or sighting) stores no organisation. It stores
``HMAC(K_org, row id)`` where ``K_org = HMAC(ANONYMITY_KEY, organisation id)``.
The key lives outside the database, so a database dump cannot be matched to an
organisation; the tag differs for every row, so two anonymous reports from the
same organisation cannot be linked to each other either. Only a signed-in
member of the organisation makes the server compute its ``K_org`` and so find
the organisation's own anonymous rows. See docs/anonymity.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from django.conf import settings


def _organisation_key(organisation_id: int) -> bytes:
    message = f"accord-anonymity:organisation:{organisation_id}".encode()
    return hmac.new(settings.ANONYMITY_KEY, message, hashlib.sha256).digest()


def authorship_tag(organisation_id: int, row_id: Any) -> str:
    return hmac.new(
        _organisation_key(organisation_id), str(row_id).encode(), hashlib.sha256
    ).hexdigest()


def is_author(organisation_ids: Iterable[int], row_id: Any, tag: str) -> bool:
    if not tag:
        return False
    return any(
        hmac.compare_digest(authorship_tag(org_id, row_id), tag) for org_id in organisation_ids
    )


def claimed(organisation_ids: Iterable[int], rows: Iterable[tuple[Any, str]]) -> set[Any]:
    """The ids among ``rows`` ((id, tag) pairs) that belong to one of the organisations."""
    keys = [_organisation_key(org_id) for org_id in organisation_ids]
    if not keys:
        return set()
    mine = set()
    for row_id, tag in rows:
        message = str(row_id).encode()
        for key in keys:
            if hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), tag):
                mine.add(row_id)
                break
    return mine
