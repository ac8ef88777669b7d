"""The network's sharing settings: severity weights and thresholds, and the
list of values too common to correlate."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record

from ..classification import (
    DEFAULT_THRESHOLDS,
    DEFAULT_WEIGHTS,
    Severity,
    score,
    validate_thresholds,
    validate_weights,
)
from ..models import CommonValue, NetworkSettings
from ..observables import InvalidObservable, ObservableKind, normalise
from . import SharingError

# Seeded on first use; the coordinator edits the list afterwards.
DEFAULT_COMMON_VALUES: list[tuple[str, str, str]] = [
    ("ipv4", "8.8.8.8", "Google Public DNS"),
    ("ipv4", "8.8.4.4", "Google Public DNS"),
    ("ipv4", "1.1.1.1", "Cloudflare DNS"),
    ("ipv4", "1.0.0.1", "Cloudflare DNS"),
    ("ipv4", "9.9.9.9", "Quad9 DNS"),
    ("ipv4", "208.67.222.222", "OpenDNS"),
    ("ipv6", "2001:4860:4860::8888", "Google Public DNS"),
    ("ipv6", "2606:4700:4700::1111", "Cloudflare DNS"),
    ("domain", "*.google.com", "Well-known domain"),
    ("domain", "*.microsoft.com", "Well-known domain"),
    ("domain", "*.windowsupdate.com", "Software updates"),
    ("domain", "*.apple.com", "Well-known domain"),
    ("domain", "*.amazonaws.com", "Cloud provider"),
    ("domain", "*.cloudfront.net", "CDN"),
    ("domain", "*.akamaiedge.net", "CDN"),
    ("domain", "*.akamaized.net", "CDN"),
    ("domain", "*.cloudflare.com", "CDN"),
    ("domain", "*.github.com", "Code hosting"),
    ("domain", "*.office365.com", "Well-known domain"),
]


def network_settings() -> NetworkSettings:
    current, _created = NetworkSettings.objects.get_or_create(
        pk=1,
        defaults={
            "severity_weights": dict(DEFAULT_WEIGHTS),
            "severity_thresholds": list(DEFAULT_THRESHOLDS),
        },
    )
    return current


def current_severity(answers: dict[str, str]) -> Severity:
    current = network_settings()
    return score(answers, current.severity_weights, current.severity_thresholds)


@transaction.atomic
def update_severity_settings(
    user: Any, *, weights: dict[str, Any], thresholds: list[Any], request: Any = None
) -> NetworkSettings:
    if not policy.can_manage_sharing_settings(user):
        raise policy.PolicyDenied(_("Only coordinators can change the severity settings."))
    try:
        weights = validate_weights(weights)
    except ValueError as exc:
        raise SharingError(str(exc), {"weights": str(exc)}) from exc
    try:
        thresholds = validate_thresholds(thresholds)
    except ValueError as exc:
        raise SharingError(str(exc), {"thresholds": str(exc)}) from exc
    current = network_settings()
    before = {"weights": current.severity_weights, "thresholds": current.severity_thresholds}
    current.severity_weights = weights
    current.severity_thresholds = thresholds
    current.updated_at = timezone.now()
    current.updated_by = user
    current.save()
    record(
        "sharing.severity_settings_changed",
        _("Severity weights and thresholds changed"),
        actor=user,
        data={"before": before, "after": {"weights": weights, "thresholds": thresholds}},
        request=request,
    )
    transaction.on_commit(_enqueue_rescore)
    return current


def _enqueue_rescore() -> None:
    from ..tasks import rescore_reports

    rescore_reports.enqueue()


def rescore_all() -> int:
    """Recompute every stored score with the current weights. Returns how many changed."""
    from ..models import Report

    current = network_settings()
    changed = 0
    batch = []
    for report in (
        Report.objects.exclude(severity_answers={})
        .only("pk", "severity_answers", "severity_score", "severity_level")
        .iterator(chunk_size=2000)
    ):
        result = score(
            report.severity_answers, current.severity_weights, current.severity_thresholds
        )
        if (report.severity_score, report.severity_level) != (result.score, result.level):
            report.severity_score, report.severity_level = result.score, result.level
            batch.append(report)
            changed += 1
        if len(batch) >= 1000:
            Report.objects.bulk_update(batch, ["severity_score", "severity_level"])
            batch = []
    if batch:
        Report.objects.bulk_update(batch, ["severity_score", "severity_level"])
    return changed


# --- Values too common to correlate ---------------------------------------------------


def ensure_default_common_values() -> None:
    if CommonValue.objects.exists():
        return
    CommonValue.objects.bulk_create(
        [CommonValue(kind=k, value=v, note=n) for k, v, n in DEFAULT_COMMON_VALUES],
        ignore_conflicts=True,
    )


def _clean_common(kind: str, value: str) -> str:
    if kind not in ObservableKind.values:
        raise SharingError(_("Unknown observable kind."), {"kind": _("Unknown observable kind.")})
    value = value.strip()
    wildcard = kind == ObservableKind.DOMAIN and value.startswith("*.")
    try:
        cleaned = normalise(kind, value[2:] if wildcard else value)
    except InvalidObservable as exc:
        raise SharingError(str(exc), {"value": str(exc)}) from exc
    return f"*.{cleaned}" if wildcard else cleaned


@transaction.atomic
def add_common_value(
    user: Any, *, kind: str, value: str, note: str = "", request: Any = None
) -> CommonValue:
    if not policy.can_manage_sharing_settings(user):
        raise policy.PolicyDenied(_("Only coordinators can edit the list of common values."))
    cleaned = _clean_common(kind, value)
    if CommonValue.objects.filter(kind=kind, value=cleaned).exists():
        raise SharingError(_("This value is already on the list."), {"value": _("Already listed.")})
    entry = CommonValue.objects.create(kind=kind, value=cleaned, note=note[:300], created_by=user)
    record(
        "sharing.common_value_added",
        _("Added %(value)s to the values too common to correlate") % {"value": entry},
        actor=user,
        target=entry,
        request=request,
    )
    return entry


@transaction.atomic
def remove_common_value(user: Any, entry: CommonValue, *, request: Any = None) -> None:
    if not policy.can_manage_sharing_settings(user):
        raise policy.PolicyDenied(_("Only coordinators can edit the list of common values."))
    record(
        "sharing.common_value_removed",
        _("Removed %(value)s from the values too common to correlate") % {"value": entry},
        actor=user,
        data={"kind": entry.kind, "value": entry.value},
        request=request,
    )
    entry.delete()


class CommonValues:
    """The list loaded once, answering "is this value too common?"."""

    def __init__(self) -> None:
        self.exact: dict[tuple[str, str], CommonValue] = {}
        self.suffixes: list[tuple[str, CommonValue]] = []
        for entry in CommonValue.objects.all():
            if entry.value.startswith("*."):
                self.suffixes.append((entry.value[2:], entry))
            else:
                self.exact[(entry.kind, entry.value)] = entry

    def match(self, kind: str, value: str) -> CommonValue | None:
        if hit := self.exact.get((kind, value)):
            return hit
        host = _host_of(kind, value)
        if host is None:
            return None
        if hit := self.exact.get(("domain", host)):
            return hit
        for suffix, entry in self.suffixes:
            if host == suffix or host.endswith("." + suffix):
                return entry
        return None


def _host_of(kind: str, value: str) -> str | None:
    if kind == ObservableKind.DOMAIN:
        return value
    if kind == ObservableKind.EMAIL:
        return value.rpartition("@")[2]
    if kind == ObservableKind.URL:
        from urllib.parse import urlsplit

        try:
            return urlsplit(value).hostname
        except ValueError:
            return None
    return None
