"""Subscriptions and notifications (placeholder until the notification module lands)."""

from __future__ import annotations

from typing import Any


def notify_for_report(report_id: Any) -> int:
    return 0


def send_digests() -> int:
    return 0
