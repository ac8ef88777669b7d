"""Importing a MISP event as a report, in one transaction (see docs/misp.md).

A local import files the report for a member organisation through the sharing
services (``create_report`` / ``update_report``), so their validation and
policy hold. A foreign import (an event that came from another country) makes
a report that no local organisation can claim: no reporter organisation,
attribution anonymous, and a ``ReportOrigin`` that says where it came from.
Either way the event's uuid is the ``ReportOrigin.external_id``
``misp-event--<uuid>``: importing the same event again finds that report, and
a newer ``Event.timestamp`` from the same importer updates it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from accord import policy
from accord.exchange.models import ReportOrigin, Source
from accord.membership.models import Organisation
from accord.sharing.models import (
    Attribution,
    Audience,
    Marking,
    Report,
    ReportVersion,
    anonymous_date,
)
from accord.sharing.services import SharingError, reports
from accord.sharing.services.drafts import CleanDraft, ReportDraft, clean_draft
from accord.sharing.services.observations import replace_observations

from . import vocab
from .event import MappedEvent, MispError, map_event, read_event

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"  # the same event again, not newer than what was applied
EXISTS = "exists"  # already on the platform from another importer; left as it is

# Audiences an import can choose without lists of groups or organisations.
IMPORT_AUDIENCES = (Audience.NETWORK, Audience.GOVERNMENT, Audience.COORDINATION)


@dataclass
class ImportResult:
    report: Report
    status: str
    event: MappedEvent


def import_event(
    data: dict[str, Any] | str | bytes,
    *,
    user: Any,
    organisation: Organisation | str | int | None = None,
    origin_country: str = "",
    foreign: bool = False,
    audience: str = Audience.NETWORK,
    attribution: str = Attribution.NAMED,
    notify: bool = False,
) -> Report:
    """Import one MISP core JSON event; the report it made, updated or found."""
    return run_import(
        data,
        user=user,
        organisation=organisation,
        origin_country=origin_country,
        foreign=foreign,
        audience=audience,
        attribution=attribution,
        notify=notify,
    ).report


def run_import(
    data: dict[str, Any] | str | bytes,
    *,
    user: Any,
    organisation: Organisation | str | int | None = None,
    origin_country: str = "",
    foreign: bool = False,
    audience: str = Audience.NETWORK,
    attribution: str = Attribution.NAMED,
    notify: bool = False,
) -> ImportResult:
    """As :func:`import_event`, with what happened. Raises ``MispError`` (bad event,
    refused marking, someone else's event) or ``policy.PolicyDenied``; stores nothing then."""
    if audience not in IMPORT_AUDIENCES:
        raise MispError(
            f"An import's audience is one of: {', '.join(IMPORT_AUDIENCES)}.", status=422
        )
    if foreign:
        if user is not None and not policy.can_import_foreign(user):
            raise policy.PolicyDenied(_("Only coordinators import events from other countries."))
        country = (origin_country or "").strip().upper()
        if country not in dict(countries):
            raise MispError(
                "A foreign import needs the two-letter code of its origin country.", status=422
            )
    else:
        if origin_country:
            raise MispError("An origin country is only given for foreign imports.", status=422)
        if attribution not in Attribution.values:
            raise MispError("Attribution is named, pseudonymous or anonymous.", status=422)
        policy.require_can_share(user)
    mapped = map_event(read_event(data))
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                if foreign:
                    return _import_foreign(user, mapped, country, audience)
                return _import_local(user, organisation, mapped, audience, attribution, notify)
        except IntegrityError:
            # Someone imported the same event at the same moment: read theirs next time.
            if attempt == 2:
                raise MispError("The event is being imported by someone else.", 409) from None
        except SharingError as exc:
            raise MispError(str(exc.as_detail()), 422 if exc.errors else 400) from exc
    raise AssertionError("unreachable")


# --- Shared steps --------------------------------------------------------------------------------


def _origin(mapped: MappedEvent) -> ReportOrigin | None:
    return (
        ReportOrigin.objects.select_for_update()
        .select_related("report")
        .filter(external_id=mapped.external_id)
        .first()
    )


def _own_report(mapped: MappedEvent) -> Report | None:
    """One of this installation's own reports coming back (its export carries its id)."""
    return Report.objects.filter(pk=mapped.uuid, origin__isnull=True).first()


def _existing(user: Any, report: Report, mapped: MappedEvent) -> ImportResult:
    """The event is here already and this importer may not change it."""
    if user is not None and policy.reports_visible_to(user).filter(pk=report.pk).exists():
        return ImportResult(report, EXISTS, mapped)
    raise MispError(
        "This MISP event (its uuid) is already on the platform from another importer or "
        "origin; only they can update it.",
        status=409,
    )


def _newer(mapped: MappedEvent, origin: ReportOrigin) -> bool:
    if mapped.modified is None:
        return False
    return origin.external_modified is None or mapped.modified > origin.external_modified


def _draft(mapped: MappedEvent, *, audience: str, attribution: str, recipients: list[str]) -> Any:
    marking = mapped.marking
    return ReportDraft(
        kind=mapped.kind,
        title=mapped.title,
        summary=mapped.summary,
        first_seen=mapped.first_seen,
        last_seen=mapped.last_seen,
        sectors=list(mapped.sectors),
        country_of_origin=mapped.country_of_origin,
        references=list(mapped.references),
        marking=marking,
        # TLP:CLEAR is public: its audience can only be the whole network.
        audience=Audience.NETWORK if marking == Marking.CLEAR else audience,
        recipients=recipients if marking == Marking.RED else [],
        attribution=attribution,
        effects=list(mapped.effects),
        incident_type=mapped.incident_type,
        observables=mapped.observable_inputs(),
    )


# --- Local imports ----------------------------------------------------------------------------


def _organisation_id(organisation: Organisation | str | int | None) -> int | None:
    if organisation is None or isinstance(organisation, int):
        return organisation
    if isinstance(organisation, Organisation):
        return organisation.pk
    pk = Organisation.objects.filter(slug=organisation).values_list("pk", flat=True).first()
    if pk is None:
        raise MispError(f"No organisation with the slug '{organisation[:80]}'.", status=422)
    return pk


def _import_local(
    user: Any,
    organisation: Organisation | str | int | None,
    mapped: MappedEvent,
    audience: str,
    attribution: str,
    notify: bool,
) -> ImportResult:
    acting = reports.acting_organisation(user, _organisation_id(organisation))
    origin = _origin(mapped)
    if origin is None:
        own = _own_report(mapped)
        if own is not None:
            return _existing(user, own, mapped)
        draft = _draft(
            mapped, audience=audience, attribution=attribution, recipients=[user.get_username()]
        )
        report = reports.create_report(user, draft, organisation_id=acting.pk, notify=notify)
        now = timezone.now()
        ReportOrigin.objects.create(
            report=report,
            external_id=mapped.external_id,
            source=Source.MISP,
            external_modified=mapped.modified,
            # Only a named report may say who brought it in; see docs/anonymity.md.
            imported_by=user if report.is_named else None,
            received_at=anonymous_date(now) if report.is_anonymous else now,
        )
        return ImportResult(report, CREATED, mapped)

    report = origin.report
    mine = (
        not origin.origin_country
        and policy.reporting_organisation_id(user, report) == acting.pk
        and policy.can_edit_report(user, report)
    )
    if not mine:
        return _existing(user, report, mapped)
    if report.is_withdrawn or not _newer(mapped, origin):
        return ImportResult(report, UNCHANGED, mapped)
    draft = reports.draft_from_report(report)
    _overlay(draft, mapped, user)
    status = UPDATED
    try:
        report = reports.update_report(user, report, draft, note=_("Updated from the MISP event"))
    except SharingError as exc:
        if exc.errors or exc.message != _("Nothing changed."):
            raise
        status = UNCHANGED
    origin.external_modified = mapped.modified
    origin.save(update_fields=["external_modified"])
    return ImportResult(report, status, mapped)


def _overlay(draft: ReportDraft, mapped: MappedEvent, user: Any) -> None:
    """What the event says replaces what the report said; the rest (audience, severity,
    task areas, …) stays as the reporter set it."""
    draft.kind = mapped.kind
    draft.title = mapped.title
    draft.summary = mapped.summary
    draft.first_seen = mapped.first_seen
    draft.last_seen = mapped.last_seen
    draft.references = list(mapped.references)
    draft.marking = mapped.marking
    draft.incident_type = mapped.incident_type
    draft.observables = mapped.observable_inputs()
    if mapped.sectors:
        draft.sectors = list(mapped.sectors)
    if mapped.effects:
        draft.effects = list(mapped.effects)
    if mapped.country_of_origin:
        draft.country_of_origin = mapped.country_of_origin
    if mapped.marking == Marking.CLEAR:
        draft.audience = Audience.NETWORK
        draft.audience_groups, draft.audience_organisations = [], []
    if mapped.marking == Marking.RED:
        draft.recipients = draft.recipients or [user.get_username()]
    else:
        draft.recipients = []


# --- Foreign imports ------------------------------------------------------------------------


def _import_foreign(user: Any, mapped: MappedEvent, country: str, audience: str) -> ImportResult:
    if mapped.marking in vocab.FOREIGN_REFUSED:
        raise MispError(
            f"The event is marked TLP:{mapped.marking.upper()}: AMBER+STRICT and RED material "
            "is never accepted from abroad.",
            status=422,
        )
    origin = _origin(mapped)
    if origin is None:
        own = _own_report(mapped)
        if own is not None:
            return _existing(user, own, mapped)
        draft = _draft(mapped, audience=audience, attribution=Attribution.ANONYMOUS, recipients=[])
        clean = clean_draft(user, draft)
        now = timezone.now()
        report = Report(id=uuid.uuid4())
        _apply(report, clean)
        report.created_at = report.updated_at = now
        report.save()
        _set_relations(report, clean)
        _add_version(report, _("Imported from a MISP event"), None)
        ReportOrigin.objects.create(
            report=report,
            external_id=mapped.external_id,
            source=Source.MISP,
            origin_country=country,
            reporter_label=mapped.reporter_label,
            external_modified=mapped.modified,
            imported_by=user,
            received_at=now,
        )
        if mapped.withdrawn:
            _withdraw(report)
        return ImportResult(report, CREATED, mapped)

    report = origin.report
    same_origin = (
        origin.origin_country == country
        and origin.source == Source.MISP
        and report.reporter_organisation_id is None
        and not report.authorship_tag
    )
    if not same_origin:
        return _existing(user, report, mapped)
    if report.is_withdrawn or not _newer(mapped, origin):
        return ImportResult(report, UNCHANGED, mapped)
    status = UPDATED
    clean = clean_draft(
        user,
        _draft(mapped, audience=report.audience, attribution=Attribution.ANONYMOUS, recipients=[]),
    )
    try:
        with transaction.atomic():
            before = reports.snapshot(report)
            _apply(report, clean)
            report.version += 1
            report.updated_at = timezone.now()
            report.save()
            _set_relations(report, clean)
            if reports.snapshot(report) == before:
                raise _NoChange
            _add_version(report, _("Updated from the MISP event"), before)
    except _NoChange:
        report.refresh_from_db()
        status = UNCHANGED
    origin.external_modified = mapped.modified
    origin.reporter_label = mapped.reporter_label
    origin.save(update_fields=["external_modified", "reporter_label"])
    if mapped.withdrawn:
        _withdraw(report)
        status = UPDATED
    return ImportResult(report, status, mapped)


class _NoChange(Exception):
    pass


def _apply(report: Report, clean: CleanDraft) -> None:
    for name, value in clean.fields.items():
        setattr(report, name, value)
    # Nobody here reported it: no organisation, and no tag any organisation could match.
    report.attribution = Attribution.ANONYMOUS
    report.reporter_organisation = None
    report.created_by = None
    report.reporter_sector = None
    report.reporter_stakeholder_group = ""
    report.authorship_tag = ""


def _set_relations(report: Report, clean: CleanDraft) -> None:
    report.sectors.set(clean.sectors)
    report.task_areas.set(clean.task_areas)
    replace_observations(report, clean.observables)


def _add_version(report: Report, note: str, before: dict[str, Any] | None) -> None:
    after = reports.snapshot(report)
    changed = [key for key in after if before is not None and before.get(key) != after[key]]
    ReportVersion.objects.create(
        report=report,
        number=report.version,
        snapshot=after,
        changed=changed,
        note=note,
        author=None,
        created_at=timezone.now(),
    )


def _withdraw(report: Report) -> None:
    """Withdrawn at its origin: withdrawn here too (and never brought back by an import)."""
    if report.is_withdrawn:
        return
    before = reports.snapshot(report)
    report.withdrawn_at = timezone.now()
    report.withdrawal_reason = _("Withdrawn at its origin.")
    report.version += 1
    report.updated_at = report.withdrawn_at
    report.save()
    _add_version(report, _("Withdrawn at its origin"), before)
