"""Filing, editing, withdrawing and revealing reports."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record
from accord.membership.models import Organisation
from accord.membership.taxonomy import StakeholderGroup

from .. import anonymity
from ..models import (
    MARKING_RANK,
    Attribution,
    Marking,
    Report,
    ReportVersion,
    anonymous_date,
)
from ..signals import announce_change
from . import SharingError
from .drafts import CleanDraft, ReportDraft, clean_draft
from .observations import replace_observations


def acting_organisation(user: Any, organisation_id: int | None) -> Organisation:
    """The organisation a person files for: the one asked for, or their only one."""
    allowed = policy.sharing_organisation_ids(user)
    if organisation_id is None:
        if len(allowed) > 1:
            raise SharingError(
                _("You belong to several organisations: choose which one files this."),
                {"organisation": _("Choose an organisation.")},
            )
        organisation_id = next(iter(allowed))
    if organisation_id not in allowed:
        raise SharingError(
            _("You cannot file for that organisation."),
            {"organisation": _("You are not an analyst or representative there.")},
        )
    return Organisation.objects.get(pk=organisation_id)


def disclosed_sector(organisation: Organisation) -> Any:
    return organisation.sectors.order_by("position", "name").first()


def pseudonym(sector: Any, stakeholder_group: str) -> str:
    """How a pseudonymous contributor appears: "A member from the energy sector, private sector"."""
    group = (
        str(StakeholderGroup(stakeholder_group).label).lower()
        if stakeholder_group in StakeholderGroup.values
        else ""
    )
    if sector is not None and group:
        return _("A member from the %(sector)s sector, %(group)s") % {
            "sector": str(sector.name).lower(),
            "group": group,
        }
    if sector is not None:
        return _("A member from the %(sector)s sector") % {"sector": str(sector.name).lower()}
    if group:
        return _("A member (%(group)s)") % {"group": group}
    return _("A member of the network")


def public_reporter_label(report: Report) -> str:
    """The reporter as anyone who is not its organisation sees it."""
    if report.attribution == Attribution.NAMED and report.reporter_organisation_id:
        return report.reporter_organisation.name
    if report.attribution == Attribution.PSEUDONYMOUS:
        return pseudonym(report.reporter_sector, report.reporter_stakeholder_group)
    return _("An anonymous member")


def snapshot(report: Report, observables: list[str] | None = None) -> dict[str, Any]:
    """What a version records: the report's content and distribution, never who filed it.
    ``observables`` ("kind:value" in order), when the caller has just written them,
    spares reading a large report's mentions back."""
    return {
        "kind": report.kind,
        "title": report.title,
        "summary": report.summary,
        "first_seen": report.first_seen.isoformat() if report.first_seen else None,
        "last_seen": report.last_seen.isoformat() if report.last_seen else None,
        "sectors": sorted(report.sectors.values_list("code", flat=True)),
        "country_of_origin": str(report.country_of_origin or ""),
        "references": report.references,
        "marking": report.marking,
        "audience": report.audience,
        "audience_groups": sorted(report.audience_groups.values_list("slug", flat=True)),
        "audience_organisations": sorted(
            report.audience_organisations.values_list("slug", flat=True)
        ),
        "recipients": sorted(report.recipients.values_list("username", flat=True)),
        "abroad_consent": report.abroad_consent,
        "effects": report.effects,
        "incident_type": report.incident_type,
        "task_areas": sorted(report.task_areas.values_list("code", flat=True)),
        "core_components": report.core_components,
        "severity": report.severity_answers,
        "severity_score": report.severity_score,
        "observables": observables
        if observables is not None
        else [
            f"{kind}:{value}"
            for kind, value in report.observations.order_by("position").values_list(
                "observable__kind", "observable__value"
            )
        ],
        "withdrawn": report.is_withdrawn,
    }


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in after if before.get(key) != after[key]]


def _add_version(
    report: Report,
    by: Any,
    note: str,
    before: dict[str, Any] | None,
    observables: list[str] | None = None,
) -> ReportVersion:
    after = snapshot(report, observables)
    anonymous = report.is_anonymous
    return ReportVersion.objects.create(
        report=report,
        number=report.version,
        snapshot=after,
        changed=_changed(before, after) if before is not None else [],
        note=note[:500],
        author=None if anonymous else by,
        created_at=anonymous_date(timezone.now()) if anonymous else timezone.now(),
    )


def _written(observables: list[tuple[str, str, str]]) -> list[str]:
    """The snapshot's list of the observables ``replace_observations`` just stored."""
    return [f"{kind}:{value}" for kind, value, _note in observables]


def _apply(report: Report, clean: CleanDraft) -> None:
    for name, value in clean.fields.items():
        setattr(report, name, value)


def _set_relations(report: Report, clean: CleanDraft) -> None:
    report.sectors.set(clean.sectors)
    report.audience_groups.set(clean.audience_groups)
    report.audience_organisations.set(clean.audience_organisations)
    report.recipients.set(clean.recipients)
    report.task_areas.set(clean.task_areas)
    replace_observations(report, clean.observables)


@transaction.atomic
def create_report(
    user: Any,
    draft: ReportDraft,
    *,
    organisation_id: int | None = None,
    request: Any = None,
    created_at: Any = None,
    notify: bool = True,
) -> Report:
    """File a report. ``created_at`` lets an import keep the original date;
    ``notify=False`` (imports of past incidents) tells no subscriber."""
    policy.require_can_share(user)
    organisation = acting_organisation(user, organisation_id)
    clean = clean_draft(user, draft)
    now = created_at or timezone.now()
    report = Report(id=uuid.uuid4())
    _apply(report, clean)
    if report.attribution == Attribution.ANONYMOUS:
        report.authorship_tag = anonymity.authorship_tag(organisation.pk, report.pk)
        report.created_at = report.updated_at = anonymous_date(now)
    else:
        report.reporter_organisation = organisation
        report.created_by = user
        report.reporter_sector = disclosed_sector(organisation)
        report.reporter_stakeholder_group = organisation.stakeholder_group
        report.created_at = report.updated_at = now
    report.save()
    if report.is_anonymous:
        anonymity.bump_generation()
    _set_relations(report, clean)
    _add_version(report, user, _("Filed"), None, _written(clean.observables))
    if report.is_named:
        # Anonymous and pseudonymous filings are not written to the audit trail: an
        # entry's actor, time and place in the chain would point at the reporter —
        # for a pseudonym, past the coordinator's audited look-up.
        record(
            "report.shared",
            _("Shared %(kind)s report “%(title)s” (%(marking)s)")
            % {"kind": report.kind, "title": report.title, "marking": report.get_marking_display()},
            actor=user,
            organisation=organisation,
            target=report,
            data={"attribution": report.attribution},
            request=request,
        )
    if notify:
        transaction.on_commit(lambda: _notify(report.pk))
    announce_change(report.pk)
    return report


def _notify(report_id: Any) -> None:
    from ..tasks import notify_subscribers

    notify_subscribers.enqueue(str(report_id))


def require_editable(user: Any, report: Report) -> Organisation:
    """The reporter's organisation, if this person may change the report; else 404/403."""
    if not policy.can_edit_report(user, report):
        if policy.is_reporter(user, report):
            raise policy.PolicyDenied(
                _("Only analysts and representatives of the reporting organisation can change it.")
            )
        raise policy.NotVisible()
    org_id = policy.reporting_organisation_id(user, report)
    return Organisation.objects.get(pk=org_id)


def draft_from_report(report: Report) -> ReportDraft:
    from .drafts import ObservableInput

    return ReportDraft(
        kind=report.kind,
        title=report.title,
        summary=report.summary,
        first_seen=report.first_seen,
        last_seen=report.last_seen,
        sectors=list(report.sectors.values_list("code", flat=True)),
        country_of_origin=str(report.country_of_origin or ""),
        references=list(report.references),
        marking=report.marking,
        audience=report.audience,
        audience_groups=list(report.audience_groups.values_list("slug", flat=True)),
        audience_organisations=list(report.audience_organisations.values_list("slug", flat=True)),
        recipients=list(report.recipients.values_list("username", flat=True)),
        attribution=report.attribution,
        abroad_consent=report.abroad_consent,
        effects=list(report.effects),
        incident_type=report.incident_type,
        task_areas=list(report.task_areas.values_list("code", flat=True)),
        core_components=list(report.core_components),
        severity=dict(report.severity_answers),
        observables=[
            ObservableInput(value=value, kind=kind, note=note)
            for kind, value, note in report.observations.order_by("position").values_list(
                "observable__kind", "observable__value", "note"
            )
        ],
    )


@transaction.atomic
def update_report(
    user: Any, report: Report, draft: ReportDraft, *, note: str = "", request: Any = None
) -> Report:
    """Edit a report: a new version. Only the reporter may edit, and so only the
    reporter can relax the marking; relaxing is recorded."""
    if report.is_withdrawn:
        raise SharingError(_("A withdrawn report cannot be edited."))
    organisation = require_editable(user, report)
    report = Report.objects.select_for_update().get(pk=report.pk)
    before = snapshot(report)
    clean = clean_draft(user, draft, current=report)
    old_marking = report.marking
    _apply(report, clean)
    report.version += 1
    report.updated_at = anonymous_date(timezone.now()) if report.is_anonymous else timezone.now()
    report.save()
    _set_relations(report, clean)
    version = _add_version(report, user, note or _("Edited"), before, _written(clean.observables))
    if not version.changed:
        raise SharingError(_("Nothing changed."))
    relaxed = MARKING_RANK[report.marking] < MARKING_RANK[old_marking]
    if report.is_named:
        record(
            "report.marking_relaxed" if relaxed else "report.edited",
            (
                _("Relaxed the marking of “%(title)s” from %(old)s to %(new)s")
                if relaxed
                else _("Edited “%(title)s” (version %(version)d)")
            )
            % {
                "title": report.title,
                "old": Marking(old_marking).label,
                "new": report.get_marking_display(),
                "version": report.version,
            },
            actor=user,
            organisation=organisation,
            target=report,
            data={"changed": version.changed, "version": report.version},
            request=request,
        )
    announce_change(report.pk)
    return report


@transaction.atomic
def withdraw_report(user: Any, report: Report, *, reason: str = "", request: Any = None) -> Report:
    if report.is_withdrawn:
        raise SharingError(_("This report is already withdrawn."))
    organisation = require_editable(user, report)
    before = snapshot(report)
    now = timezone.now()
    report.withdrawn_at = anonymous_date(now) if report.is_anonymous else now
    report.withdrawal_reason = reason.strip()[:500]
    report.version += 1
    report.updated_at = report.withdrawn_at
    report.save()
    _add_version(report, user, _("Withdrawn"), before)
    if report.is_named:
        record(
            "report.withdrawn",
            _("Withdrew “%(title)s”") % {"title": report.title},
            actor=user,
            organisation=organisation,
            target=report,
            data={"reason": report.withdrawal_reason},
            request=request,
        )
    announce_change(report.pk)
    return report


@transaction.atomic
def reveal_report(user: Any, report: Report, *, request: Any = None) -> Report:
    """An anonymous or pseudonymous reporter steps forward: the report becomes named."""
    if report.attribution == Attribution.NAMED:
        raise SharingError(_("This report already names its reporter."))
    organisation = require_editable(user, report)
    before = snapshot(report)
    if report.is_anonymous:
        anonymity.bump_generation()
    report.attribution = Attribution.NAMED
    report.reporter_organisation = organisation
    report.reporter_sector = disclosed_sector(organisation)
    report.reporter_stakeholder_group = organisation.stakeholder_group
    report.authorship_tag = ""
    report.version += 1
    report.updated_at = timezone.now()
    report.save()
    _add_version(report, user, _("Reporter revealed"), before)
    record(
        "report.revealed",
        _("%(org)s revealed itself as the reporter of “%(title)s”")
        % {"org": organisation.name, "title": report.title},
        actor=user,
        organisation=organisation,
        target=report,
        request=request,
    )
    announce_change(report.pk)
    return report


@transaction.atomic
def look_up_reporter(user: Any, report: Report, *, request: Any = None) -> dict[str, Any]:
    """A coordinator finds out who is behind a pseudonym; every look is audited
    (and the reporting organisation sees the entry in its own audit trail)."""
    if not policy.can_look_up_reporter(user, report):
        raise policy.PolicyDenied(
            _(
                "Only a coordinator can look up a pseudonymous reporter; "
                "nobody can for an anonymous one."
            )
        )
    organisation = report.reporter_organisation
    record(
        "report.reporter_looked_up",
        _("Coordinator looked up the pseudonymous reporter of “%(title)s”")
        % {"title": report.title},
        actor=user,
        organisation=organisation,
        target=report,
        request=request,
    )
    person = report.created_by
    return {
        "organisation": organisation,
        "person": person,
    }
