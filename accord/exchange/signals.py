"""The exchange follows changes in sharing through its signals."""

from __future__ import annotations

from typing import Any


def on_report_changed(sender: Any, report_id: Any, **kwargs: Any) -> None:
    from .tasks import publish_report

    publish_report.enqueue(str(report_id))


def on_reports_rescored(sender: Any, **kwargs: Any) -> None:
    from .tasks import publish_everything

    publish_everything.enqueue()


def connect() -> None:
    from accord.sharing.signals import report_changed, reports_rescored

    report_changed.connect(on_report_changed, dispatch_uid="exchange-publish-report")
    reports_rescored.connect(on_reports_rescored, dispatch_uid="exchange-publish-all")
