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
import secrets
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


# --- Recognition, cached per process -----------------------------------------------------
#
# Recognising an organisation's anonymous reports means computing a tag for every
# anonymous report. The result only changes when an anonymous report is filed or
# revealed; both set NetworkSettings.anonymity_generation to a new random value in the
# same transaction, so a cached answer is used only while its generation is current.

_CACHE_LIMIT = 5000
_claims_cache: dict[int, tuple[int, frozenset[Any]]] = {}


def current_generation() -> int:
    from .models import NetworkSettings

    value = NetworkSettings.objects.filter(pk=1).values_list("anonymity_generation", flat=True)
    return next(iter(value), 0)


def bump_generation() -> None:
    """A fresh random value rather than a counter: a transaction that bumps and then
    rolls back (the form's audience preview does) must never leave a cached answer
    that a later, committed bump could match."""
    from .models import NetworkSettings
    from .services.network_settings import network_settings

    network_settings()  # the row exists from here on
    NetworkSettings.objects.filter(pk=1).update(anonymity_generation=secrets.randbits(62))


def claimed_by_organisations(organisation_ids: Iterable[int]) -> set[Any]:
    """The anonymous reports filed by any of these organisations."""
    from .models import Attribution, Report

    organisation_ids = list(organisation_ids)
    if not organisation_ids:
        return set()
    generation = current_generation()
    result: set[Any] = set()
    missing = []
    for org_id in organisation_ids:
        cached = _claims_cache.get(org_id)
        if cached is not None and cached[0] == generation:
            result |= cached[1]
        else:
            missing.append(org_id)
    if missing:
        rows = list(
            Report.objects.filter(attribution=Attribution.ANONYMOUS).values_list(
                "pk", "authorship_tag"
            )
        )
        if len(_claims_cache) > _CACHE_LIMIT:
            _claims_cache.clear()
        for org_id in missing:
            mine = frozenset(claimed([org_id], rows))
            _claims_cache[org_id] = (generation, mine)
            result |= mine
    return result
