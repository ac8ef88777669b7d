"""A report as submitted (from the web form, the API, an import) and its
validation into something that can be stored. Every problem is reported per
field; nothing is stored until the whole draft is valid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from accord import policy
from accord.membership.models import Organisation, Sector, Task

from ..classification import (
    CoreComponent,
    Severity,
    get_incident_type,
    validate_answers,
    validate_effects,
)
from ..models import MARKING_RANK, Attribution, Audience, Kind, Marking
from ..observables import MAX_VALUE_LENGTH, InvalidObservable, parse
from . import SharingError
from .network_settings import current_severity

MAX_OBSERVABLES = 5000
MAX_REFERENCES = 50
MAX_TITLE = 200
MAX_SUMMARY = 20000


@dataclass
class ObservableInput:
    value: str
    kind: str | None = None
    note: str = ""


@dataclass
class ReportDraft:
    kind: str
    title: str
    summary: str = ""
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    sectors: list[str] = field(default_factory=list)
    country_of_origin: str = ""
    references: list[str] = field(default_factory=list)
    marking: str = Marking.AMBER
    audience: str = Audience.NETWORK
    audience_groups: list[str] = field(default_factory=list)
    audience_organisations: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    attribution: str = Attribution.NAMED
    # Only AMBER needs it: the reporter's consent to pass the report to peer platforms.
    abroad_consent: bool = False
    effects: list[str] = field(default_factory=list)
    incident_type: str = ""
    task_areas: list[str] = field(default_factory=list)
    core_components: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    observables: list[ObservableInput] = field(default_factory=list)


@dataclass
class CleanDraft:
    """A validated draft with its references resolved to rows."""

    fields: dict[str, Any]
    sectors: list[Sector]
    audience_groups: list[Any]
    audience_organisations: list[Organisation]
    recipients: list[Any]
    task_areas: list[Task]
    observables: list[tuple[str, str, str]]  # (kind, normalised value, note)
    severity: Severity | None


def _parse_moment(value: Any, name: str, errors: dict[str, str]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            errors[name] = _("Give a date and time like 2026-03-01T14:30.")
            return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    if value.year < 1990:
        errors[name] = _("Dates before 1990 are not accepted.")
        return None
    if value > timezone.now() + dt.timedelta(days=1):
        errors[name] = _("This date lies in the future.")
        return None
    return value


def _clean_reference(url: str) -> str | None:
    url = url.strip()
    if not url or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


def clean_draft(user: Any, draft: ReportDraft, *, current: Any = None) -> CleanDraft:
    """Validate ``draft`` for ``user``. ``current`` is the report being edited, if any.
    Raises ``SharingError`` with every field's problem at once."""
    errors: dict[str, str] = {}
    fields: dict[str, Any] = {}

    if draft.kind not in Kind.values:
        errors["kind"] = _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(Kind.values)}
    fields["kind"] = draft.kind

    title = " ".join((draft.title or "").split())
    if len(title) < 3:
        errors["title"] = _("Give a title of at least three characters.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("Keep the title under %(n)d characters.") % {"n": MAX_TITLE}
    fields["title"] = title

    summary = (draft.summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        errors["summary"] = _("Keep the description under %(n)d characters.") % {"n": MAX_SUMMARY}
    fields["summary"] = summary

    fields["first_seen"] = _parse_moment(draft.first_seen, "first_seen", errors)
    fields["last_seen"] = _parse_moment(draft.last_seen, "last_seen", errors)
    if fields["first_seen"] and fields["last_seen"] and fields["last_seen"] < fields["first_seen"]:
        errors["last_seen"] = _("'Last seen' cannot be before 'first seen'.")

    sector_codes = list(dict.fromkeys(draft.sectors or []))
    sectors = list(Sector.objects.filter(code__in=sector_codes))
    if len(sectors) != len(sector_codes):
        unknown = sorted(set(sector_codes) - {s.code for s in sectors})
        errors["sectors"] = _("Unknown sector: %(codes)s.") % {
            "codes": ", ".join(map(str, unknown))
        }

    country = (draft.country_of_origin or "").strip().upper()
    if country and country not in dict(countries):
        errors["country_of_origin"] = _("Give a two-letter ISO 3166 country code.")
    fields["country_of_origin"] = country

    references = []
    for raw in (draft.references or [])[: MAX_REFERENCES + 1]:
        cleaned = _clean_reference(str(raw))
        if cleaned is None:
            errors["references"] = _("'%(url)s' is not an http(s) address.") % {
                "url": str(raw)[:80]
            }
            break
        references.append(cleaned)
    if len(draft.references or []) > MAX_REFERENCES:
        errors["references"] = _("At most %(n)d references.") % {"n": MAX_REFERENCES}
    fields["references"] = list(dict.fromkeys(references))

    _clean_distribution(user, draft, fields, errors)
    groups, organisations, recipients = fields.pop("_resolved")

    if draft.attribution not in Attribution.values:
        errors["attribution"] = _("Choose named, pseudonymous or anonymous.")
    elif current is not None and draft.attribution != current.attribution:
        errors["attribution"] = _(
            "Attribution is changed by revealing the reporter, not by editing the report."
        )
    fields["attribution"] = draft.attribution

    try:
        effects = validate_effects(list(draft.effects or []))
    except ValueError as exc:
        errors["effects"] = str(exc)
        effects = []
    if draft.kind != Kind.INCIDENT and not draft.effects:
        effects = []
    fields["effects"] = effects

    incident_type = (draft.incident_type or "").strip()
    if incident_type:
        try:
            get_incident_type(incident_type)
        except ValueError as exc:
            errors["incident_type"] = str(exc)
    fields["incident_type"] = incident_type

    task_codes = list(dict.fromkeys(draft.task_areas or []))
    tasks = list(Task.objects.filter(code__in=task_codes))
    if len(tasks) != len(task_codes):
        errors["task_areas"] = _("Unknown task area.")

    components = list(dict.fromkeys(draft.core_components or []))
    if any(c not in CoreComponent.values for c in components):
        errors["core_components"] = _("Unknown public-core component.")
    fields["core_components"] = components

    severity = None
    try:
        answers = validate_answers(dict(draft.severity or {}))
    except ValueError as exc:
        errors["severity"] = str(exc)
        answers = {}
    fields["severity_answers"] = answers
    if answers:
        severity = current_severity(answers)
    fields["severity_score"] = severity.score if severity else None
    fields["severity_level"] = severity.level if severity else None

    observables = _clean_observables(draft.observables or [], errors)

    if errors:
        raise SharingError(_("The report was not saved: please correct the marked fields."), errors)
    return CleanDraft(
        fields, sectors, groups, organisations, recipients, tasks, observables, severity
    )


def _clean_distribution(
    user: Any, draft: ReportDraft, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    """Marking, audience and named recipients."""
    groups: list[Any] = []
    organisations: list[Organisation] = []
    recipients: list[Any] = []
    marking, audience = draft.marking, draft.audience
    fields["marking"], fields["audience"] = marking, audience
    fields["abroad_consent"] = bool(draft.abroad_consent)
    fields["_resolved"] = (groups, organisations, recipients)
    if marking not in Marking.values:
        errors["marking"] = _("Choose a TLP marking: clear, green, amber, amber+strict or red.")
        return
    if audience not in Audience.values:
        errors["audience"] = _("Choose an audience.")
        return
    if marking == Marking.CLEAR and audience != Audience.NETWORK:
        errors["audience"] = _("TLP:CLEAR is public: its audience is the whole network and beyond.")
    if marking == Marking.RED:
        # RED goes to named people only; the audience does not apply.
        fields["audience"] = Audience.NETWORK
        names = list(
            dict.fromkeys(str(n).strip() for n in draft.recipients or [] if str(n).strip())
        )
        if not names:
            errors["recipients"] = _("TLP:RED needs at least one named recipient.")
        found = list(
            get_user_model()
            .objects.filter(username__in=names, is_active=True)
            .filter(_member_or_coordinator())
            .distinct()
        )
        if len(found) != len(names):
            missing = sorted(set(names) - {u.username for u in found})
            errors["recipients"] = _("No member with the user name: %(names)s.") % {
                "names": ", ".join(missing[:5])
            }
        recipients.extend(found)
        return
    if draft.recipients:
        errors["recipients"] = _("Named recipients are only for TLP:RED.")
    if audience == Audience.GROUPS:
        slugs = list(dict.fromkeys(draft.audience_groups or []))
        found_groups = list(policy.groups_visible_to(user).filter(slug__in=slugs))
        if not slugs:
            errors["audience_groups"] = _("Choose at least one working group.")
        elif len(found_groups) != len(slugs):
            errors["audience_groups"] = _("Unknown working group.")
        groups.extend(found_groups)
    elif draft.audience_groups:
        errors["audience_groups"] = _(
            "Working groups apply only when the audience is working groups."
        )
    if audience == Audience.ORGANISATIONS:
        slugs = list(dict.fromkeys(draft.audience_organisations or []))
        found_orgs = list(
            policy.organisations_visible_to(user).filter(
                slug__in=slugs, status=Organisation.Status.VERIFIED
            )
        )
        if not slugs:
            errors["audience_organisations"] = _("Choose at least one organisation.")
        elif len(found_orgs) != len(slugs):
            errors["audience_organisations"] = _("Unknown or unverified organisation.")
        organisations.extend(found_orgs)
    elif draft.audience_organisations:
        errors["audience_organisations"] = _(
            "Organisations apply only when the audience is chosen organisations."
        )


def _member_or_coordinator() -> Q:
    return Q(is_coordinator=True) | Q(
        memberships__organisation__status=Organisation.Status.VERIFIED
    )


def _clean_observables(
    items: list[ObservableInput], errors: dict[str, str]
) -> list[tuple[str, str, str]]:
    if len(items) > MAX_OBSERVABLES:
        errors["observables"] = _("At most %(n)d observables per report.") % {"n": MAX_OBSERVABLES}
        return []
    seen: dict[tuple[str, str], str] = {}
    for index, item in enumerate(items):
        raw = str(item.value or "")
        if len(raw) > MAX_VALUE_LENGTH:
            errors["observables"] = _("Observable %(n)d is too long.") % {"n": index + 1}
            return []
        try:
            kind, value = parse(raw, item.kind or None)
        except InvalidObservable as exc:
            errors["observables"] = _("Observable %(n)d: %(problem)s") % {
                "n": index + 1,
                "problem": str(exc),
            }
            return []
        seen.setdefault((kind, value), (item.note or "").strip()[:300])
    return [(kind, value, note) for (kind, value), note in seen.items()]


def marking_relaxed(before: str, after: str) -> bool:
    return MARKING_RANK[after] < MARKING_RANK[before]
