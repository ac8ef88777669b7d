"""JSON API for trusted sharing (mounted under /api/v1/ by accord.api).

Everything goes through the access policy (``accord.policy``) and the sharing
services, exactly as the pages do: a report the caller may not see is a 404,
counts and correlations only cover what the caller may see, and nothing here
names the organisation behind an anonymous or pseudonymous contribution.

A ``SharingError`` is a 422 when it names the fields that are wrong and a 400
otherwise; ``detail`` is always a sentence.

No ``from __future__ import annotations`` here: Ninja reads the annotations of
the Query filter schemas at run time.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal
from uuid import UUID

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile
from ninja.pagination import paginate
from pydantic import AfterValidator, StrictInt

from accord import policy
from accord.core.pagination import BoundedPagination, CappedCountPagination
from accord.membership.models import Organisation
from accord.rules.services import render_markdown

from .classification import (
    CORE_COMPONENT_HELP,
    EFFECT_FAMILY,
    EFFECT_FAMILY_LABELS,
    EFFECT_HELP,
    FACTORS,
    LEVELS,
    CoreComponent,
    Effect,
    get_incident_type,
    incident_types,
)
from .models import Attachment, Attribution, Audience, CommonValue, Kind, Marking, Report
from .observables import InvalidObservable, extract, parse
from .services import SharingError, correlation, network_settings, participation, reports, search
from .services import attachments as attachment_services
from .services.drafts import MAX_OBSERVABLES, ObservableInput, ReportDraft

router = Router(tags=["reports"])

MAX_ID = 2**63 - 1  # larger ids cannot exist and would overflow the database driver
MAX_EXTRACT_BYTES = 2 * 1024 * 1024
# Who a report goes to in detail: for the reporting organisation and coordinators only.
AUDIENCE_DETAIL_FIELDS = ("audience_groups", "audience_organisations", "recipients")


# --- Input types ----------------------------------------------------------------------------------


def _no_surrogates(value: str) -> str:
    """JSON can carry lone UTF-16 surrogates ("\\ud800"); no database can store them."""
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("Text must be valid Unicode (no lone surrogate code points).")
    return value


Text = Annotated[str, AfterValidator(_no_surrogates)]
Code = Annotated[str, AfterValidator(_no_surrogates), Field(max_length=120)]

KindCode = Literal["incident", "vulnerability", "advisory", "measure"]
MarkingCode = Literal["clear", "green", "amber", "amber+strict", "red"]
AudienceCode = Literal["network", "groups", "organisations", "government", "coordination"]
AttributionCode = Literal["named", "pseudonymous", "anonymous"]
OrganisationSlug = Annotated[
    str | None,
    Field(None, max_length=80, description="slug of the organisation you act for"),
]


class ObservableIn(Schema):
    value: Text = Field(..., max_length=4096, description="defanged values are fine")
    kind: Code | None = Field(None, description="guessed from the value when left out")
    note: Text = Field("", max_length=300)


class _ReportFields(Schema):
    summary: Text = Field("", max_length=40_000, description="Markdown")
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    sectors: list[Code] = Field(default_factory=list, max_length=100, description="sector codes")
    country_of_origin: Code = Field("", description="ISO 3166-1 alpha-2 code")
    references: list[Annotated[Text, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=100, description="http(s) addresses"
    )
    audience_groups: list[Code] = Field(
        default_factory=list, max_length=100, description="working-group slugs"
    )
    audience_organisations: list[Code] = Field(
        default_factory=list, max_length=500, description="organisation slugs"
    )
    recipients: list[Code] = Field(
        default_factory=list, max_length=500, description="user names (TLP:RED only)"
    )
    effects: list[Code] = Field(default_factory=list, max_length=20, description="CISSM codes")
    incident_type: Code = Field("", description="RSIT code, e.g. malicious-code:infected-system")
    task_areas: list[Code] = Field(default_factory=list, max_length=50, description="task codes")
    core_components: list[Code] = Field(default_factory=list, max_length=10)
    severity: dict[Code, Code] = Field(
        default_factory=dict, max_length=20, description="severity factor -> option code"
    )
    observables: list[ObservableIn] = Field(default_factory=list, max_length=MAX_OBSERVABLES)
    abroad_consent: bool = Field(
        False, description="TLP:AMBER only: it may go to peers whose agreement allows AMBER"
    )


class ReportIn(_ReportFields):
    kind: KindCode
    title: Text = Field(..., max_length=1000)
    marking: MarkingCode = "amber"
    audience: AudienceCode = "network"
    attribution: AttributionCode = "named"
    organisation: OrganisationSlug


class ReportPatch(Schema):
    """The fields to change; a field left out keeps its value. ``observables``,
    when given, replaces the whole list."""

    kind: KindCode | None = None
    title: Text | None = Field(None, max_length=1000)
    summary: Text | None = Field(None, max_length=40_000)
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    sectors: list[Code] | None = Field(None, max_length=100)
    country_of_origin: Code | None = None
    references: list[Annotated[Text, Field(max_length=4096)]] | None = Field(None, max_length=100)
    marking: MarkingCode | None = None
    audience: AudienceCode | None = None
    audience_groups: list[Code] | None = Field(None, max_length=100)
    audience_organisations: list[Code] | None = Field(None, max_length=500)
    recipients: list[Code] | None = Field(None, max_length=500)
    abroad_consent: bool | None = None
    effects: list[Code] | None = Field(None, max_length=20)
    incident_type: Code | None = None
    task_areas: list[Code] | None = Field(None, max_length=50)
    core_components: list[Code] | None = Field(None, max_length=10)
    severity: dict[Code, Code] | None = Field(None, max_length=20)
    observables: list[ObservableIn] | None = Field(None, max_length=MAX_OBSERVABLES)
    note: Text = Field("", max_length=500, description="what changed, for the version history")


class WithdrawIn(Schema):
    reason: Text = Field("", max_length=500)


class CommentIn(Schema):
    body: Text = Field(..., max_length=20_000, description="Markdown")
    marking: MarkingCode | None = Field(None, description="the report's marking or stricter")
    attribution: Literal["named", "pseudonymous"] = "named"
    parent: UUID | None = None
    organisation: OrganisationSlug


class SightingIn(Schema):
    observable: Text | None = Field(
        None, max_length=4096, description="one of the report's observables; none: the report"
    )
    count: int = 1
    seen_at: dt.datetime | None = None
    note: Text = Field("", max_length=2000)
    attribution: AttributionCode = "named"
    organisation: OrganisationSlug


class ExtractIn(Schema):
    text: Text = Field(..., description=f"at most {MAX_EXTRACT_BYTES // (1024 * 1024)} MB")


class SettingsIn(Schema):
    weights: dict[Code, StrictInt] = Field(..., max_length=50)
    thresholds: list[StrictInt] = Field(..., max_length=20)


class CommonValueIn(Schema):
    kind: Code
    value: Text = Field(..., max_length=4096, description="'*.example.org' matches subdomains")
    note: Text = Field("", max_length=300)


class LookupQuery(Schema):
    value: Text = Field(..., max_length=4096, description="defanged values are fine")
    kind: Text | None = Field(None, max_length=16, description="guessed when left out")


class ReportFilter(Schema):
    q: Text | None = Field(None, max_length=500, description="words or an observable")
    observable: Text | None = Field(None, max_length=4096)
    kind: list[KindCode] = Field(default_factory=list)
    marking: list[MarkingCode] = Field(default_factory=list)
    sector: list[Code] = Field(default_factory=list, description="affected sector codes")
    effect: list[Code] = Field(default_factory=list, description="CISSM effect codes")
    type: list[Code] = Field(
        default_factory=list, description="RSIT type or category codes (a category matches all)"
    )
    min_level: int | None = Field(None, ge=0, le=5)
    since: dt.datetime | None = Field(None, description="shared at or after")
    until: dt.datetime | None = Field(None, description="shared before")
    attribution: list[AttributionCode] = Field(default_factory=list)


# --- Output schemas -------------------------------------------------------------------------------


def _user(request: HttpRequest) -> Any:
    return request.auth  # type: ignore[attr-defined]


def _viewer(context: Any) -> Any:
    return _user(context["request"])


class BreakdownOut(Schema):
    factor: str
    factor_label: str
    option: str | None
    option_label: str
    value: int | None
    weight: int
    contribution: float


class SeverityOut(Schema):
    score: int
    level: int
    level_code: str
    level_label: str
    answered: int
    factors: int
    thresholds: list[int]
    breakdown: list[BreakdownOut]


class CorrelationOut(Schema):
    kind: str
    value: str
    note: str
    too_common: bool
    common_note: str
    other_reports: int = Field(description="other reports you may see that mention it")
    sectors: int = Field(description="distinct reporter sectors among them")
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    reports: list[str] = Field(description="ids of the most recent of them (at most 10)")


class CountBySector(Schema):
    sector: str
    count: int


class CountByDay(Schema):
    day: dt.date
    count: int


class SightingSummaryOut(Schema):
    total: int
    records: int
    by_sector: list[CountBySector]
    by_day: list[CountByDay]


class AttachmentOut(Schema):
    id: UUID
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime
    download: str

    @staticmethod
    def resolve_download(obj: Attachment) -> str:
        return f"/api/v1/reports/{obj.report_id}/attachments/{obj.pk}"


class AudienceOut(Schema):
    kind: str
    label: str
    groups: list[str] | None = Field(description="only for the reporter and coordinators")
    organisations: list[str] | None = Field(description="only for the reporter and coordinators")
    recipients: list[str] | None = Field(description="only for the reporter and coordinators")


class LabelledCode(Schema):
    code: str
    label: str


class IncidentTypeOut(Schema):
    code: str
    label: str
    category: str
    category_label: str
    description: str


class ClassificationOut(Schema):
    effects: list[LabelledCode]
    incident_type: IncidentTypeOut | None
    task_areas: list[LabelledCode]
    core_components: list[LabelledCode]


class ReportOut(Schema):
    id: UUID
    kind: str
    title: str
    marking: str
    marking_label: str
    audience: str
    attribution: str
    reporter: str = Field(description="how the reporter appears to others")
    reporter_organisation: str | None = Field(description="slug, only when the report is named")
    is_mine: bool = Field(description="filed by one of your organisations")
    sectors: list[str]
    effects: list[str]
    incident_type: str
    severity_score: int | None
    severity_level: int | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    withdrawn: bool

    @staticmethod
    def resolve_marking_label(obj: Report) -> str:
        return str(obj.get_marking_display())

    @staticmethod
    def resolve_reporter(obj: Report) -> str:
        return str(reports.public_reporter_label(obj))

    @staticmethod
    def resolve_reporter_organisation(obj: Report) -> str | None:
        # Only a named report says who filed it; never for pseudonymous or anonymous ones.
        if obj.attribution == Attribution.NAMED and obj.reporter_organisation_id:
            return obj.reporter_organisation.slug
        return None

    @staticmethod
    def resolve_is_mine(obj: Report, context: Any) -> bool:
        return policy.is_reporter(_viewer(context), obj)

    @staticmethod
    def resolve_sectors(obj: Report) -> list[str]:
        return sorted(s.code for s in obj.sectors.all())

    @staticmethod
    def resolve_withdrawn(obj: Report) -> bool:
        return obj.is_withdrawn


class ReportDetailOut(ReportOut):
    kind_label: str
    summary: str
    summary_html: str
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    country_of_origin: str
    references: list[str]
    audience_details: AudienceOut
    abroad_consent: bool = Field(description="AMBER: the reporter lets peer platforms receive it")
    classification: ClassificationOut
    severity: SeverityOut | None
    observables: list[CorrelationOut] = Field(description="with correlations over what you see")
    sightings: SightingSummaryOut
    attachments: list[AttachmentOut]
    can_edit: bool
    can_participate: bool
    can_look_up_reporter: bool
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str

    @staticmethod
    def resolve_kind_label(obj: Report) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_summary_html(obj: Report) -> str:
        return str(render_markdown(obj.summary))

    @staticmethod
    def resolve_country_of_origin(obj: Report) -> str:
        return str(obj.country_of_origin or "")

    @staticmethod
    def resolve_audience_details(obj: Report, context: Any) -> dict[str, Any]:
        user = _viewer(context)
        details = policy.is_reporter(user, obj) or policy.is_coordinator(user)
        return {
            "kind": obj.audience,
            "label": str(obj.get_audience_display()),
            "groups": sorted(obj.audience_groups.values_list("slug", flat=True))
            if details
            else None,
            "organisations": sorted(obj.audience_organisations.values_list("slug", flat=True))
            if details
            else None,
            "recipients": sorted(obj.recipients.values_list("username", flat=True))
            if details
            else None,
        }

    @staticmethod
    def resolve_classification(obj: Report) -> dict[str, Any]:
        incident_type = None
        if obj.incident_type:
            try:
                found = get_incident_type(obj.incident_type)
            except ValueError:
                found = None
            if found is not None:
                incident_type = {
                    "code": found.code,
                    "label": found.label,
                    "category": found.category,
                    "category_label": found.category_label,
                    "description": found.description,
                }
        return {
            "effects": [
                {"code": code, "label": str(Effect(code).label)}
                for code in obj.effects
                if code in Effect.values
            ],
            "incident_type": incident_type,
            "task_areas": [
                {"code": t.code, "label": t.name} for t in obj.task_areas.order_by("code")
            ],
            "core_components": [
                {"code": code, "label": str(CoreComponent(code).label)}
                for code in obj.core_components
                if code in CoreComponent.values
            ],
        }

    @staticmethod
    def resolve_severity(obj: Report) -> dict[str, Any] | None:
        if not obj.severity_answers:
            return None
        return network_settings.current_severity(obj.severity_answers).as_dict()

    @staticmethod
    def resolve_observables(obj: Report, context: Any) -> list[dict[str, Any]]:
        return [c.as_dict() for c in correlation.correlations_for_report(_viewer(context), obj)]

    @staticmethod
    def resolve_sightings(obj: Report, context: Any) -> dict[str, Any]:
        return _summary(participation.sighting_summary(_viewer(context), obj))

    @staticmethod
    def resolve_attachments(obj: Report, context: Any) -> list[Attachment]:
        return list(policy.attachments_visible_to(_viewer(context), obj))

    @staticmethod
    def resolve_can_edit(obj: Report, context: Any) -> bool:
        return not obj.is_withdrawn and policy.can_edit_report(_viewer(context), obj)

    @staticmethod
    def resolve_can_participate(obj: Report, context: Any) -> bool:
        return policy.can_participate(_viewer(context), obj)

    @staticmethod
    def resolve_can_look_up_reporter(obj: Report, context: Any) -> bool:
        return policy.can_look_up_reporter(_viewer(context), obj)


class VersionOut(Schema):
    number: int
    created_at: dt.datetime
    changed: list[str]
    note: str
    author: str | None = Field(description="only for named reports")
    snapshot: dict[str, Any] | None = Field(
        description="the report as it was; only when it went to today's audience, "
        "or to the reporting organisation"
    )


class NamedOut(Schema):
    slug: str
    name: str


class PersonRef(Schema):
    username: str
    name: str


class ReporterOut(Schema):
    organisation: NamedOut | None
    person: PersonRef | None


class CommentOut(Schema):
    id: UUID
    parent: UUID | None = Field(description="null when the parent is not visible to you")
    depth: int
    body: str
    body_html: str
    marking: str
    attribution: str
    author: str
    organisation: str | None = Field(description="slug, only for named comments")
    is_mine: bool = Field(description="written for one of your organisations")
    created_at: dt.datetime


class ObservableRef(Schema):
    kind: str
    value: str


class SightingOut(Schema):
    id: UUID
    label: str
    organisation: str | None = Field(description="slug, only for named sightings")
    attribution: str
    observable: ObservableRef | None
    count: int
    seen_at: dt.datetime
    note: str


class SightingsOut(Schema):
    summary: SightingSummaryOut
    sightings: list[SightingOut]


class ExtractedOut(Schema):
    kind: str
    value: str
    raw: str


class ExtractOut(Schema):
    observables: list[ExtractedOut]
    truncated: bool


class LookupOut(Schema):
    kind: str
    value: str
    too_common: bool
    common_note: str
    reports: int = Field(description="reports you may see that mention it")
    sectors: int
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    report_ids: list[str] = Field(description="the most recent of them (at most 10)")


class OptionOut(Schema):
    code: str
    label: str
    help: str
    value: int


class FactorOut(Schema):
    code: str
    label: str
    question: str
    help: str
    weight: int
    options: list[OptionOut]


class LevelOut(Schema):
    level: int
    code: str
    label: str
    help: str


class SettingsOut(Schema):
    factors: list[FactorOut]
    weights: dict[str, int]
    thresholds: list[int]
    levels: list[LevelOut]
    updated_at: dt.datetime
    can_edit: bool


class CommonValueOut(Schema):
    id: int
    kind: str
    value: str
    note: str
    created_at: dt.datetime


class EffectOut(Schema):
    code: str
    label: str
    family: str
    family_label: str
    help: str


class CoreComponentOut(Schema):
    code: str
    label: str
    help: str


# --- Helpers --------------------------------------------------------------------------------------


@contextmanager
def _refusals() -> Iterator[None]:
    """A service's refusal as a JSON error: 422 when it names fields, else 400."""
    try:
        yield
    except SharingError as exc:
        raise HttpError(422 if exc.errors else 400, str(exc.as_detail())) from exc


def _report(request: HttpRequest, report_id: UUID) -> Report:
    return policy.get_report(_user(request), report_id)


def _full(report: Report) -> Report:
    """The report with what its serialisation reads, in few queries."""
    return (
        Report.objects.select_related("reporter_organisation", "reporter_sector")
        .prefetch_related("sectors")
        .get(pk=report.pk)
    )


def _with_refs(qs: QuerySet[Report]) -> QuerySet[Report]:
    return qs.select_related("reporter_organisation", "reporter_sector").prefetch_related("sectors")


def _summary(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "total": summary["total"],
        "records": summary["records"],
        "by_sector": [{"sector": name, "count": n} for name, n in summary["by_sector"]],
        "by_day": [{"day": day, "count": n} for day, n in summary["by_day"]],
    }


def _organisation_id(slug: str | None, allowed: frozenset[int], message: str) -> int | None:
    """The id of the organisation the caller names, if they may act for it."""
    if not slug:
        return None
    pk = Organisation.objects.filter(slug=slug, pk__in=allowed).values_list("pk", flat=True).first()
    if pk is None:
        raise HttpError(422, f"organisation: {message}")
    return pk


def _moment(value: dt.datetime | None, name: str) -> dt.datetime | None:
    """A filter date as an aware UTC time the database can hold."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 lies before the year 1 in UTC
        raise HttpError(422, _("%(name)s: This date is out of range.") % {"name": name}) from None


def _search(request: HttpRequest, filters: ReportFilter) -> QuerySet[Report]:
    unknown = [code for code in filters.effect if code not in Effect.values]
    if unknown:
        raise HttpError(
            422,
            _("effect: Unknown effect %(code)s; use one of %(codes)s.")
            % {"code": unknown[0][:40], "codes": ", ".join(Effect.values)},
        )
    criteria = search.ReportFilters(
        q=(filters.q or "").strip(),
        observable=(filters.observable or "").strip(),
        kinds=list(filters.kind),
        markings=list(filters.marking),
        sectors=list(filters.sector),
        effects=list(filters.effect),
        incident_types=list(filters.type),
        min_level=filters.min_level,
        since=_moment(filters.since, "since"),
        until=_moment(filters.until, "until"),
        attribution=list(filters.attribution),
    )
    return search.search_reports(_user(request), criteria)


# A version whose distribution differs from today's went to another audience.
DISTRIBUTION_FIELDS = ("marking", "audience", *AUDIENCE_DETAIL_FIELDS)


def _distribution(snapshot: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        tuple(value) if isinstance(value, list) else value
        for value in (snapshot.get(name) for name in DISTRIBUTION_FIELDS)
    )


def _observables(items: list[ObservableIn]) -> list[ObservableInput]:
    return [ObservableInput(value=o.value, kind=o.kind or None, note=o.note) for o in items]


# --- Reports --------------------------------------------------------------------------------------


@router.get("/reports", response=list[ReportOut], summary="Reports you may see")
@paginate(CappedCountPagination)
def list_reports(request: HttpRequest, filters: Query[ReportFilter]) -> Any:
    """Newest first. Without filters: every report your marking and audience allow."""
    return _with_refs(_search(request, filters)).order_by("-created_at", "id")


@router.get("/reports/mine", response=list[ReportOut], summary="Your organisations' reports")
@paginate(CappedCountPagination)
def list_my_reports(request: HttpRequest, filters: Query[ReportFilter]) -> Any:
    """Reports filed by your organisations, anonymous and withdrawn ones included."""
    own = policy.reports_of_my_organisations(_user(request)).values("pk")
    return _with_refs(_search(request, filters).filter(pk__in=own)).order_by("-created_at", "id")


@router.post("/reports", response={201: ReportDetailOut}, summary="Share a report")
def create_report(request: HttpRequest, payload: ReportIn) -> Status:
    """All or nothing: one invalid field or observable and nothing is stored."""
    user = _user(request)
    policy.require_can_share(user)
    organisation_id = _organisation_id(
        payload.organisation,
        policy.sharing_organisation_ids(user),
        _("You are not an analyst or representative there, or it is not in good standing."),
    )
    draft = ReportDraft(
        kind=payload.kind,
        title=payload.title,
        summary=payload.summary,
        first_seen=payload.first_seen,
        last_seen=payload.last_seen,
        sectors=list(payload.sectors),
        country_of_origin=payload.country_of_origin,
        references=list(payload.references),
        marking=payload.marking,
        audience=payload.audience,
        audience_groups=list(payload.audience_groups),
        audience_organisations=list(payload.audience_organisations),
        recipients=list(payload.recipients),
        attribution=payload.attribution,
        abroad_consent=payload.abroad_consent,
        effects=list(payload.effects),
        incident_type=payload.incident_type,
        task_areas=list(payload.task_areas),
        core_components=list(payload.core_components),
        severity=dict(payload.severity),
        observables=_observables(payload.observables),
    )
    with _refusals():
        report = reports.create_report(
            user, draft, organisation_id=organisation_id, request=request
        )
    return Status(201, _full(report))


@router.get("/reports/{uuid:report_id}", response=ReportDetailOut, summary="One report")
def get_report(request: HttpRequest, report_id: UUID) -> Report:
    return _full(_report(request, report_id))


@router.patch("/reports/{uuid:report_id}", response=ReportDetailOut, summary="Edit a report")
def update_report(request: HttpRequest, report_id: UUID, payload: ReportPatch) -> Report:
    """A new version with the fields given; only the reporting organisation may edit.
    Relaxing the marking is recorded in the audit trail."""
    user = _user(request)
    report = _report(request, report_id)
    reports.require_editable(user, report)
    changes = payload.dict(exclude_unset=True)
    note = changes.pop("note", "")
    draft = reports.draft_from_report(report)
    for name, value in changes.items():
        if name == "observables":
            value = _observables(payload.observables or [])
        setattr(draft, name, value)
    with _refusals():
        report = reports.update_report(user, report, draft, note=note, request=request)
    return _full(report)


@router.post(
    "/reports/{uuid:report_id}/withdraw", response=ReportDetailOut, summary="Withdraw a report"
)
def withdraw_report(request: HttpRequest, report_id: UUID, payload: WithdrawIn) -> Report:
    """Only the reporting organisation still sees a withdrawn report."""
    report = _report(request, report_id)
    with _refusals():
        report = reports.withdraw_report(
            _user(request), report, reason=payload.reason, request=request
        )
    return _full(report)


@router.post(
    "/reports/{uuid:report_id}/reveal", response=ReportDetailOut, summary="Reveal the reporter"
)
def reveal_report(request: HttpRequest, report_id: UUID) -> Report:
    """An anonymous or pseudonymous reporter names itself; this cannot be undone."""
    report = _report(request, report_id)
    with _refusals():
        report = reports.reveal_report(_user(request), report, request=request)
    return _full(report)


@router.post(
    "/reports/{uuid:report_id}/reporter",
    response=ReporterOut,
    summary="Look up a pseudonymous reporter (coordinators, audited)",
)
def look_up_reporter(request: HttpRequest, report_id: UUID) -> dict[str, Any]:
    """Every look-up is written to the audit trail, which the reporting
    organisation can read. Nobody can look up an anonymous reporter."""
    report = _report(request, report_id)
    with _refusals():
        found = reports.look_up_reporter(_user(request), report, request=request)
    organisation, person = found["organisation"], found["person"]
    return {
        "organisation": {"slug": organisation.slug, "name": organisation.name}
        if organisation
        else None,
        "person": {"username": person.get_username(), "name": person.display_name}
        if person
        else None,
    }


@router.get(
    "/reports/{uuid:report_id}/versions", response=list[VersionOut], summary="Version history"
)
def list_versions(request: HttpRequest, report_id: UUID) -> list[dict[str, Any]]:
    """Everyone who sees the report sees when it changed and which fields. A
    version's contents (``snapshot``) only when it went to the same audience as
    the report does today, or to the reporting organisation: an earlier version
    may have been marked more strictly, or held what the reporter later removed."""
    user = _user(request)
    report = _report(request, report_id)
    mine = policy.is_reporter(user, report)
    audience_details = mine or policy.is_coordinator(user)
    current = _distribution(reports.snapshot(report))
    named = report.attribution == Attribution.NAMED  # only then is the person behind a change shown
    rows = []
    for version in report.versions.select_related("author").order_by("number"):
        snapshot = None
        if mine or _distribution(version.snapshot) == current:
            snapshot = {
                name: value
                for name, value in version.snapshot.items()
                if audience_details or name not in AUDIENCE_DETAIL_FIELDS
            }
        rows.append(
            {
                "number": version.number,
                "created_at": version.created_at,
                "changed": version.changed,
                "note": version.note,
                "author": version.author.display_name if named and version.author else None,
                "snapshot": snapshot,
            }
        )
    return rows


@router.get(
    "/reports/{uuid:report_id}/correlations",
    response=list[CorrelationOut],
    summary="Correlations of a report's observables",
)
def report_correlations(request: HttpRequest, report_id: UUID) -> list[dict[str, Any]]:
    """Per observable: how many other reports you may see mention it, from how many sectors."""
    user = _user(request)
    report = _report(request, report_id)
    return [c.as_dict() for c in correlation.correlations_for_report(user, report)]


# --- Comments -------------------------------------------------------------------------------------


def _comment_out(user: Any, comment: Any, depth: int, visible: set[Any]) -> dict[str, Any]:
    member_orgs = policy.sharing_context(user).member_org_ids
    named = comment.attribution == Attribution.NAMED
    return {
        "id": comment.pk,
        "parent": comment.parent_id if comment.parent_id in visible else None,
        "depth": depth,
        "body": comment.body,
        "body_html": str(render_markdown(comment.body)),
        "marking": comment.marking,
        "attribution": comment.attribution,
        "author": str(participation.comment_author_label(comment)),
        "organisation": comment.organisation.slug if named else None,
        "is_mine": comment.organisation_id in member_orgs,
        "created_at": comment.created_at,
    }


def _comments(user: Any, report: Report) -> list[dict[str, Any]]:
    threads = participation.comment_threads(user, report)
    visible = {comment.pk for comment, _depth in threads}
    return [_comment_out(user, comment, depth, visible) for comment, depth in threads]


@router.get(
    "/reports/{uuid:report_id}/comments", response=list[CommentOut], summary="Comments, threaded"
)
def list_comments(request: HttpRequest, report_id: UUID) -> list[dict[str, Any]]:
    """In thread order; ``depth`` says how far a reply is indented (at most 6)."""
    return _comments(_user(request), _report(request, report_id))


@router.post("/reports/{uuid:report_id}/comments", response={201: CommentOut}, summary="Comment")
def add_comment(request: HttpRequest, report_id: UUID, payload: CommentIn) -> Status:
    user = _user(request)
    report = _report(request, report_id)
    organisation_id = _organisation_id(
        payload.organisation,
        policy.sharing_context(user).good_org_ids,
        _("Not one of your organisations in good standing."),
    )
    with _refusals():
        comment = participation.add_comment(
            user,
            report,
            body=payload.body,
            marking=payload.marking,
            attribution=payload.attribution,
            parent_id=payload.parent,
            organisation_id=organisation_id,
            request=request,
        )
    created = next(item for item in _comments(user, report) if item["id"] == comment.pk)
    return Status(201, created)


# --- Sightings ------------------------------------------------------------------------------------


def _sighting_out(sighting: Any) -> dict[str, Any]:
    named = sighting.attribution == Attribution.NAMED and sighting.organisation_id
    return {
        "id": sighting.pk,
        "label": str(participation.sighting_label(sighting)),
        # Never the organisation of a pseudonymous or anonymous sighting.
        "organisation": sighting.organisation.slug if named else None,
        "attribution": sighting.attribution,
        "observable": {"kind": sighting.observable.kind, "value": sighting.observable.value}
        if sighting.observable_id
        else None,
        "count": sighting.count,
        "seen_at": sighting.seen_at,
        "note": sighting.note,
    }


@router.get(
    "/reports/{uuid:report_id}/sightings", response=SightingsOut, summary="Sightings and summary"
)
def list_sightings(request: HttpRequest, report_id: UUID) -> dict[str, Any]:
    summary = participation.sighting_summary(_user(request), _report(request, report_id))
    return {
        "summary": _summary(summary),
        "sightings": [_sighting_out(s) for s in summary["sightings"]],
    }


@router.post(
    "/reports/{uuid:report_id}/sightings",
    response={201: SightingOut},
    summary="We saw this too",
)
def add_sighting(request: HttpRequest, report_id: UUID, payload: SightingIn) -> Status:
    """For the whole report, or for one of its observables. An anonymous
    sighting keeps only the day."""
    user = _user(request)
    report = _report(request, report_id)
    organisation_id = _organisation_id(
        payload.organisation,
        policy.sharing_context(user).good_org_ids,
        _("Not one of your organisations in good standing."),
    )
    with _refusals():
        sighting = participation.record_sighting(
            user,
            report,
            observable=payload.observable,
            count=payload.count,
            seen_at=payload.seen_at,
            note=payload.note,
            attribution=payload.attribution,
            organisation_id=organisation_id,
            request=request,
        )
    return Status(201, _sighting_out(sighting))


# --- Attachments ----------------------------------------------------------------------------------


def _attachment(request: HttpRequest, report_id: UUID, attachment_id: UUID) -> Attachment:
    report = _report(request, report_id)
    found = policy.attachments_visible_to(_user(request), report).filter(pk=attachment_id).first()
    if found is None:
        raise policy.NotVisible()
    return found


@router.get(
    "/reports/{uuid:report_id}/attachments",
    response=list[AttachmentOut],
    summary="Attachments of a report",
)
def list_attachments(request: HttpRequest, report_id: UUID) -> Any:
    return policy.attachments_visible_to(_user(request), _report(request, report_id))


@router.post(
    "/reports/{uuid:report_id}/attachments",
    response={201: AttachmentOut},
    summary="Attach a file (the reporting organisation)",
)
def add_attachment(request: HttpRequest, report_id: UUID, file: File[UploadedFile]) -> Status:
    """Multipart form with one ``file``. The type is checked by content, not only by name."""
    report = _report(request, report_id)
    with _refusals():
        attachment = attachment_services.add_attachment(
            _user(request), report, file, request=request
        )
    return Status(201, attachment)


@router.get(
    "/reports/{uuid:report_id}/attachments/{uuid:attachment_id}",
    summary="Download an attachment",
)
def download_attachment(request: HttpRequest, report_id: UUID, attachment_id: UUID) -> Any:
    attachment = _attachment(request, report_id, attachment_id)
    path = attachment_services.stored_path(attachment)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
    except OSError as exc:
        raise HttpError(404, _("The file of this attachment is missing.")) from exc
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.name, content_type=attachment.content_type
    )
    # Never rendered by the browser, never kept in a cache: it may be restricted material.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@router.delete(
    "/reports/{uuid:report_id}/attachments/{uuid:attachment_id}",
    response={204: None},
    summary="Remove an attachment (the reporting organisation)",
)
def remove_attachment(request: HttpRequest, report_id: UUID, attachment_id: UUID) -> Status:
    attachment = _attachment(request, report_id, attachment_id)
    with _refusals():
        attachment_services.remove_attachment(_user(request), attachment, request=request)
    return Status(204, None)


# --- Observables ----------------------------------------------------------------------------------


@router.post(
    "/observables/extract",
    response=ExtractOut,
    tags=["observables"],
    summary="Find observables in text",
)
def extract_observables(request: HttpRequest, payload: ExtractIn) -> dict[str, Any]:
    """IP addresses, domains, URLs, e-mail addresses, hashes, CVE ids and AS
    numbers, defanged or not, each once and normalised. Nothing is stored."""
    if len(payload.text.encode("utf-8")) > MAX_EXTRACT_BYTES:
        raise HttpError(
            413,
            _("The text is too long: at most %(mb)d MB.")
            % {"mb": MAX_EXTRACT_BYTES // (1024 * 1024)},
        )
    found = extract(payload.text, limit=MAX_OBSERVABLES + 1)
    return {
        "observables": [
            {"kind": item.kind, "value": item.value, "raw": item.raw}
            for item in found[:MAX_OBSERVABLES]
        ],
        "truncated": len(found) > MAX_OBSERVABLES,
    }


@router.get(
    "/observables/lookup",
    response=LookupOut,
    tags=["observables"],
    summary="Look up one observable",
)
def look_up_observable(request: HttpRequest, query: Query[LookupQuery]) -> dict[str, Any]:
    """The value normalised, and where it appears among the reports you may see."""
    try:
        kind, normalised = parse(query.value, query.kind or None)
    except InvalidObservable as exc:
        raise HttpError(422, f"value: {exc}") from exc
    found = correlation.correlations_for_values(_user(request), [(kind, normalised)])[0]
    data = found.as_dict()
    return {
        "kind": data["kind"],
        "value": data["value"],
        "too_common": data["too_common"],
        "common_note": data["common_note"],
        "reports": data["other_reports"],
        "sectors": data["sectors"],
        "first_seen": data["first_seen"],
        "last_seen": data["last_seen"],
        "report_ids": data["reports"],
    }


# --- The network's sharing settings ---------------------------------------------------------------


def _settings_out(user: Any) -> dict[str, Any]:
    current = network_settings.network_settings()
    weights = current.severity_weights
    return {
        "factors": [
            {
                "code": factor.code,
                "label": str(factor.label),
                "question": str(factor.question),
                "help": str(factor.help),
                "weight": weights.get(factor.code, 0),
                "options": [
                    {"code": o.code, "label": str(o.label), "help": str(o.help), "value": o.value}
                    for o in factor.options
                ],
            }
            for factor in FACTORS
        ],
        "weights": weights,
        "thresholds": current.severity_thresholds,
        "levels": [
            {"level": level, "code": code, "label": str(label), "help": str(text)}
            for level, code, label, text in LEVELS
        ],
        "updated_at": current.updated_at,
        "can_edit": policy.can_manage_sharing_settings(user),
    }


@router.get(
    "/sharing/settings",
    response=SettingsOut,
    tags=["sharing settings"],
    summary="Severity factors, weights and levels",
)
def get_settings(request: HttpRequest) -> dict[str, Any]:
    user = _user(request)
    policy.require_restricted(user)
    return _settings_out(user)


@router.put(
    "/sharing/settings",
    response=SettingsOut,
    tags=["sharing settings"],
    summary="Change the severity weights and thresholds (coordinators)",
)
def put_settings(request: HttpRequest, payload: SettingsIn) -> dict[str, Any]:
    """Every factor needs a weight (0-1000); five ascending thresholds (1-100) are
    the lowest scores of levels 1 to 5. Stored scores are recomputed in the background."""
    user = _user(request)
    with _refusals():
        network_settings.update_severity_settings(
            user,
            weights=dict(payload.weights),
            thresholds=list(payload.thresholds),
            request=request,
        )
    return _settings_out(user)


@router.get(
    "/sharing/common-values",
    response=list[CommonValueOut],
    tags=["sharing settings"],
    summary="Values too common to correlate",
)
@paginate(BoundedPagination)
def list_common_values(request: HttpRequest) -> Any:
    policy.require_restricted(_user(request))
    return CommonValue.objects.order_by("kind", "value")


@router.post(
    "/sharing/common-values",
    response={201: CommonValueOut},
    tags=["sharing settings"],
    summary="Add a value too common to correlate (coordinators)",
)
def add_common_value(request: HttpRequest, payload: CommonValueIn) -> Status:
    with _refusals():
        entry = network_settings.add_common_value(
            _user(request),
            kind=payload.kind,
            value=payload.value,
            note=payload.note.strip(),
            request=request,
        )
    return Status(201, entry)


@router.delete(
    "/sharing/common-values/{entry_id}",
    response={204: None},
    tags=["sharing settings"],
    summary="Remove a value from the list (coordinators)",
)
def remove_common_value(request: HttpRequest, entry_id: int) -> Status:
    user = _user(request)
    if not policy.can_manage_sharing_settings(user):
        raise policy.PolicyDenied(_("Only coordinators can edit the list of common values."))
    entry = CommonValue.objects.filter(pk=entry_id).first() if 1 <= entry_id <= MAX_ID else None
    if entry is None:
        raise policy.NotVisible()
    with _refusals():
        network_settings.remove_common_value(user, entry, request=request)
    return Status(204, None)


# --- Vocabularies ---------------------------------------------------------------------------------


@router.get(
    "/taxonomies/effects", response=list[EffectOut], tags=["taxonomies"], summary="CISSM effects"
)
def list_effects(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "label": str(label),
            "family": EFFECT_FAMILY[code],
            "family_label": str(EFFECT_FAMILY_LABELS[EFFECT_FAMILY[code]]),
            "help": str(EFFECT_HELP[code]),
        }
        for code, label in Effect.choices
    ]


@router.get(
    "/taxonomies/incident-types",
    response=list[IncidentTypeOut],
    tags=["taxonomies"],
    summary="Incident types (RSIT)",
)
def list_incident_types(request: HttpRequest) -> list[Any]:
    return incident_types()


@router.get(
    "/taxonomies/core-components",
    response=list[CoreComponentOut],
    tags=["taxonomies"],
    summary="Components of the internet's public core",
)
def list_core_components(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"code": code, "label": str(label), "help": str(CORE_COMPONENT_HELP[code])}
        for code, label in CoreComponent.choices
    ]


# The enums above are spelled out for the OpenAPI document; the models stay the truth.
for _choices, _literal in (
    (Kind, KindCode),
    (Marking, MarkingCode),
    (Audience, AudienceCode),
    (Attribution, AttributionCode),
):
    if set(_choices.values) != set(_literal.__args__):  # type: ignore[attr-defined]
        raise RuntimeError(f"accord.sharing.api: {_choices.__name__} and its schema differ")
