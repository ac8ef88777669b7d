"""Comments and sightings: how members take part in a report they can see."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record
from accord.membership.models import Organisation

from .. import anonymity
from ..models import MARKING_RANK, Attribution, Comment, Marking, Report, Sighting, anonymous_date
from ..observables import InvalidObservable, parse
from ..signals import announce_change
from . import SharingError
from .reports import disclosed_sector, pseudonym

MAX_COMMENT = 10000


def _participating_organisation(user: Any, organisation_id: int | None) -> Organisation:
    allowed = policy.sharing_context(user).good_org_ids
    if organisation_id is None:
        if len(allowed) > 1:
            raise SharingError(
                _("You belong to several organisations: choose which one speaks."),
                {"organisation": _("Choose an organisation.")},
            )
        if not allowed:
            raise policy.PolicyDenied(
                _("You need to belong to a member organisation in good standing.")
            )
        organisation_id = next(iter(allowed))
    if organisation_id not in allowed:
        raise SharingError(
            _("You cannot act for that organisation."),
            {"organisation": _("Not one of your organisations in good standing.")},
        )
    return Organisation.objects.get(pk=organisation_id)


# --- Comments -------------------------------------------------------------------------


def comment_author_label(comment: Comment) -> str:
    if comment.attribution == Attribution.PSEUDONYMOUS:
        return pseudonym(comment.author_sector, comment.author_stakeholder_group)
    name = comment.author.full_name if comment.author else _("a former member")
    return f"{name}, {comment.organisation.name}"


@transaction.atomic
def add_comment(
    user: Any,
    report: Report,
    *,
    body: str,
    marking: str | None = None,
    attribution: str = Attribution.NAMED,
    parent_id: Any = None,
    organisation_id: int | None = None,
    request: Any = None,
) -> Comment:
    """``report`` must come from ``policy.get_report``. The comment inherits the
    report's marking; the commenter may tighten it, never relax it."""
    policy.require_participation(user, report)
    errors: dict[str, str] = {}
    body = (body or "").strip()
    if not body:
        errors["body"] = _("Write something.")
    elif len(body) > MAX_COMMENT:
        errors["body"] = _("Keep comments under %(n)d characters.") % {"n": MAX_COMMENT}
    marking = marking or report.marking
    if marking not in Marking.values:
        errors["marking"] = _("Unknown marking.")
    elif MARKING_RANK[marking] < MARKING_RANK[report.marking]:
        errors["marking"] = _(
            "A comment cannot be marked less strictly than its report (%(m)s)."
        ) % {"m": report.get_marking_display()}
    if attribution not in (Attribution.NAMED, Attribution.PSEUDONYMOUS):
        errors["attribution"] = _("Comments are named or pseudonymous.")
    parent = None
    if parent_id:
        try:
            parent = policy.comments_visible_to(user, report).get(pk=parent_id)
        except Exception:  # noqa: BLE001 - any bad id is "no such comment"
            errors["parent"] = _("No such comment on this report.")
    if errors:
        raise SharingError(_("The comment was not saved."), errors)
    organisation = _participating_organisation(user, organisation_id)
    comment = Comment.objects.create(
        report=report,
        parent=parent,
        body=body,
        marking=marking,
        attribution=attribution,
        organisation=organisation,
        author=user,
        author_sector=disclosed_sector(organisation),
        author_stakeholder_group=organisation.stakeholder_group,
    )
    if attribution == Attribution.NAMED:  # a pseudonym is lifted only by the audited look-up
        record(
            "comment.added",
            _("Commented on a report"),
            actor=user,
            organisation=organisation,
            target=comment,
            data={"report": str(report.pk), "attribution": attribution},
            request=request,
        )
    announce_change(report.pk)
    return comment


def comment_threads(user: Any, report: Report) -> list[tuple[Comment, int]]:
    """Visible comments in thread order with their depth. A reply whose parent the
    viewer cannot see is shown at the top level."""
    comments = list(
        policy.comments_visible_to(user, report).select_related(
            "organisation", "author", "author_sector"
        )
    )
    visible_ids = {c.pk for c in comments}
    children: dict[Any, list[Comment]] = defaultdict(list)
    for comment in comments:
        parent = comment.parent_id if comment.parent_id in visible_ids else None
        children[parent].append(comment)
    ordered: list[tuple[Comment, int]] = []

    def walk(parent: Any, depth: int) -> None:
        for comment in children.get(parent, []):
            ordered.append((comment, min(depth, 6)))
            walk(comment.pk, depth + 1)

    walk(None, 0)
    return ordered


# --- Sightings ------------------------------------------------------------------------


def sighting_label(sighting: Sighting) -> str:
    if sighting.attribution == Attribution.NAMED and sighting.organisation_id:
        return sighting.organisation.name
    if sighting.attribution == Attribution.PSEUDONYMOUS:
        return pseudonym(sighting.reporter_sector, sighting.reporter_stakeholder_group)
    return _("An anonymous member")


@transaction.atomic
def record_sighting(
    user: Any,
    report: Report,
    *,
    observable: str | None = None,
    count: int = 1,
    seen_at: Any = None,
    note: str = "",
    attribution: str = Attribution.NAMED,
    organisation_id: int | None = None,
    request: Any = None,
) -> Sighting:
    """ "We saw this too" — for the report, or for one of its observables."""
    policy.require_participation(user, report)
    errors: dict[str, str] = {}
    observable_row = None
    if observable:
        try:
            kind, value = parse(str(observable))
        except InvalidObservable as exc:
            errors["observable"] = str(exc)
        else:
            mention = (
                report.observations.filter(observable__kind=kind, observable__value=value)
                .select_related("observable")
                .first()
            )
            if mention is None:
                errors["observable"] = _("This report does not mention that observable.")
            else:
                observable_row = mention.observable
    try:
        count = int(count)
    except (TypeError, ValueError):
        count = 0
    if not 1 <= count <= 1_000_000:
        errors["count"] = _("Give how many times you saw it (1 to 1,000,000).")
    if seen_at in (None, ""):
        seen_at = timezone.now()
    elif isinstance(seen_at, str):
        try:
            seen_at = dt.datetime.fromisoformat(seen_at)
        except ValueError:
            errors["seen_at"] = _("Give a date and time like 2026-03-01T14:30.")
            seen_at = timezone.now()
    if isinstance(seen_at, dt.date) and not isinstance(seen_at, dt.datetime):
        seen_at = dt.datetime.combine(seen_at, dt.time())
    if timezone.is_naive(seen_at):
        seen_at = timezone.make_aware(seen_at, dt.UTC)
    if seen_at > timezone.now() + dt.timedelta(days=1) or seen_at.year < 1990:
        errors["seen_at"] = _("Give when you saw it: not in the future, not before 1990.")
    if attribution not in Attribution.values:
        errors["attribution"] = _("Choose named, pseudonymous or anonymous.")
    note = (note or "").strip()
    if len(note) > 1000:
        errors["note"] = _("Keep the note under 1,000 characters.")
    if errors:
        raise SharingError(_("The sighting was not saved."), errors)
    organisation = _participating_organisation(user, organisation_id)
    sighting = Sighting(
        report=report, observable=observable_row, attribution=attribution, count=count, note=note
    )
    if attribution == Attribution.ANONYMOUS:
        sighting.authorship_tag = anonymity.authorship_tag(organisation.pk, sighting.pk)
        sighting.seen_at = anonymous_date(seen_at)
        sighting.created_at = anonymous_date(timezone.now())
        sighting.save()
        announce_change(report.pk)
        return sighting
    sighting.organisation = organisation
    sighting.created_by = user
    sighting.reporter_sector = disclosed_sector(organisation)
    sighting.reporter_stakeholder_group = organisation.stakeholder_group
    sighting.seen_at = seen_at
    sighting.save()
    if attribution == Attribution.NAMED:  # see add_comment
        record(
            "sighting.recorded",
            _("Recorded a sighting"),
            actor=user,
            organisation=organisation,
            target=sighting,
            data={"report": str(report.pk), "count": count, "attribution": attribution},
            request=request,
        )
    announce_change(report.pk)
    return sighting


def sighting_summary(user: Any, report: Report) -> dict[str, Any]:
    """Sightings of a report by sector and by day, as the viewer may see them."""
    sightings = list(
        policy.sightings_visible_to(user, report).select_related(
            "reporter_sector", "organisation", "observable"
        )
    )
    by_sector: Counter[str] = Counter()
    by_day: Counter[dt.date] = Counter()
    for sighting in sightings:
        sector = sighting.reporter_sector.name if sighting.reporter_sector else _("Undisclosed")
        by_sector[str(sector)] += sighting.count
        by_day[sighting.seen_at.date()] += sighting.count
    return {
        "total": sum(s.count for s in sightings),
        "records": len(sightings),
        "by_sector": sorted(by_sector.items(), key=lambda item: (-item[1], item[0])),
        "by_day": sorted(by_day.items()),
        "sightings": sightings,
    }
