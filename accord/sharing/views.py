"""Web pages for shared reports: the feed, the organisation's own reports, one
report with its correlations, sightings, comments and attachments, its version
history, and the coordinators' sharing settings.

Every page starts from the access policy (``policy.reports_visible_to`` and
``policy.get_report``, which answers 404 alike for what does not exist and what
may not be seen) and every change goes through a service in
``accord.sharing.services``. This module parses input and renders; the
forms live here because they belong to these pages only. Filing and editing a
report is the wizard's job (``wizard.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accord import policy
from accord.core.widgets import QuickSelect
from accord.membership.models import Organisation, Sector

from .classification import (
    FACTORS,
    LEVELS,
    MAX_WEIGHT,
    Effect,
    get_incident_type,
    incident_types,
)
from .models import (
    MARKING_HELP,
    MARKING_RANK,
    Attachment,
    Attribution,
    CommonValue,
    Kind,
    Marking,
    Report,
)
from .observables import ObservableKind
from .services import SharingError, correlation, network_settings, participation, search
from .services import attachments as attachment_services
from .services import reports as report_services

PAGE_SIZE = 50
# Search dates outside this range are typing mistakes, and the far ends overflow
# when converted between time zones.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2100
SNAPSHOT_OBSERVABLES_SHOWN = 500

ATTRIBUTION_SHORT = [
    (Attribution.NAMED.value, gettext_lazy("Named")),
    (Attribution.PSEUDONYMOUS.value, gettext_lazy("Pseudonymous")),
    (Attribution.ANONYMOUS.value, gettext_lazy("Anonymous")),
]
# What decides who saw a version: a snapshot with other values than today's was
# shared with another audience, so only the reporter may open it.
DISTRIBUTION_FIELDS = (
    "marking",
    "audience",
    "audience_groups",
    "audience_organisations",
    "recipients",
)
AUDIENCE_DETAIL_FIELDS = ("audience_groups", "audience_organisations", "recipients")

SNAPSHOT_LABELS = {
    "kind": gettext_lazy("Kind"),
    "title": gettext_lazy("Title"),
    "summary": gettext_lazy("What happened"),
    "first_seen": gettext_lazy("First seen"),
    "last_seen": gettext_lazy("Last seen"),
    "sectors": gettext_lazy("Affected sectors"),
    "country_of_origin": gettext_lazy("Country of origin"),
    "references": gettext_lazy("References"),
    "marking": gettext_lazy("Marking"),
    "audience": gettext_lazy("Audience"),
    "audience_groups": gettext_lazy("Working groups"),
    "audience_organisations": gettext_lazy("Organisations"),
    "recipients": gettext_lazy("Named recipients"),
    "abroad_consent": gettext_lazy("May go to peer platforms"),
    "effects": gettext_lazy("Effects"),
    "incident_type": gettext_lazy("Incident type"),
    "task_areas": gettext_lazy("Task areas"),
    "core_components": gettext_lazy("Public-core components"),
    "severity": gettext_lazy("Severity answers"),
    "severity_score": gettext_lazy("Severity score"),
    "observables": gettext_lazy("Observables"),
    "withdrawn": gettext_lazy("Withdrawn"),
}


# --- Forms ------------------------------------------------------------------------------


def _any(choices: list[Any]) -> list[Any]:
    return [("", _("Any"))] + list(choices)


def _incident_type_choices() -> list[Any]:
    """RSIT types grouped by category; a category's own code matches all its types."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for item in incident_types():
        groups.setdefault((item.category, item.category_label), []).append((item.code, item.label))
    choices: list[Any] = [("", _("Any"))]
    for (category, label), types in groups.items():
        every = (category, _("Any type of “%(category)s”") % {"category": label})
        choices.append((label, [every, *types]))
    return choices


class FeedFilterForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Words, or an observable such as an IP address, domain or hash."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False, widget=QuickSelect)
    marking = forms.ChoiceField(label=gettext_lazy("Marking"), required=False, widget=QuickSelect)
    sector = forms.ChoiceField(label=gettext_lazy("Sector"), required=False, widget=QuickSelect)
    effect = forms.ChoiceField(label=gettext_lazy("Effect"), required=False, widget=QuickSelect)
    type = forms.ChoiceField(
        label=gettext_lazy("Incident type"), required=False, widget=QuickSelect
    )
    min_level = forms.TypedChoiceField(
        label=gettext_lazy("Severity at least"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=QuickSelect,
    )
    since = forms.DateField(
        label=gettext_lazy("Shared since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=gettext_lazy("Shared until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    attribution = forms.ChoiceField(
        label=gettext_lazy("Attribution"), required=False, widget=QuickSelect
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _any(Kind.choices)
        self.fields["marking"].choices = _any(Marking.choices)
        self.fields["sector"].choices = _any(Sector.objects.values_list("code", "name"))
        self.fields["effect"].choices = _any(Effect.choices)
        self.fields["type"].choices = _incident_type_choices()
        self.fields["min_level"].choices = _any(
            (level, _("%(level)d · %(label)s or higher") % {"level": level, "label": label})
            for level, _code, label, _help in LEVELS[1:]
        )
        self.fields["attribution"].choices = _any(ATTRIBUTION_SHORT)

    def _clean_day(self, name: str) -> dt.date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
            raise forms.ValidationError(
                _("Give a date between %(first)d and %(last)d.")
                % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
            )
        return day

    def clean_since(self) -> dt.date | None:
        return self._clean_day("since")

    def clean_until(self) -> dt.date | None:
        return self._clean_day("until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("'Until' cannot be before 'since'."))
        return data

    def filters(self) -> search.ReportFilters:
        data = self.cleaned_data

        def listed(name: str) -> list[str]:
            return [data[name]] if data.get(name) else []

        def midnight(day: dt.date | None) -> dt.datetime | None:
            if day is None:
                return None
            return timezone.make_aware(dt.datetime.combine(day, dt.time()))

        until = data.get("until")
        return search.ReportFilters(
            q=(data.get("q") or "").strip(),
            kinds=listed("kind"),
            markings=listed("marking"),
            sectors=listed("sector"),
            effects=listed("effect"),
            incident_types=listed("type"),
            min_level=data.get("min_level"),
            since=midnight(data.get("since")),
            # "until" includes the day itself
            until=midnight(until + dt.timedelta(days=1)) if until else None,
            attribution=listed("attribution"),
        )


def _acting_choices(user: Any) -> list[tuple[int, str]]:
    """The viewer's organisations that may comment and record sightings."""
    ids = policy.sharing_context(user).good_org_ids
    return list(Organisation.objects.filter(pk__in=ids).order_by("name").values_list("pk", "name"))


class ActingForm(forms.Form):
    """A form whose action is taken for one of the viewer's organisations; the
    choice is hidden when there is only one."""

    organisation = forms.TypedChoiceField(
        label=gettext_lazy("On behalf of"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, organisations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        field.choices = organisations
        field.required = len(organisations) > 1
        if len(organisations) <= 1:
            field.widget = forms.HiddenInput()
            field.initial = organisations[0][0] if organisations else None


class CommentForm(ActingForm):
    body = forms.CharField(
        label=gettext_lazy("Comment"),
        max_length=participation.MAX_COMMENT,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Markdown is allowed."),
    )
    marking = forms.ChoiceField(label=gettext_lazy("Marking"), choices=Marking.choices)
    attribution = forms.ChoiceField(
        label=gettext_lazy("Show as"),
        choices=[
            (Attribution.NAMED.value, gettext_lazy("Named: you and your organisation")),
            (Attribution.PSEUDONYMOUS.value, gettext_lazy("Pseudonymous: your sector only")),
        ],
    )
    parent = forms.UUIDField(required=False, widget=forms.HiddenInput())

    field_order = ["body", "marking", "attribution", "organisation", "parent"]

    def __init__(self, *args: Any, report: Report, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every marking is accepted here so that the service can explain a laxer one;
        # only the report's marking and stricter ones are offered.
        rank = MARKING_RANK[report.marking]
        self.fields["marking"].widget.choices = [
            (value, label) for value, label in Marking.choices if MARKING_RANK[value] >= rank
        ]
        self.fields["marking"].initial = report.marking
        self.fields["marking"].help_text = _("The report's marking or a stricter one.")


class SightingForm(ActingForm):
    observable = forms.ChoiceField(label=gettext_lazy("What you saw"), required=False)
    count = forms.IntegerField(
        label=gettext_lazy("How many times"), min_value=1, max_value=1_000_000, initial=1
    )
    seen_at = forms.DateTimeField(
        label=gettext_lazy("When"),
        required=False,
        help_text=gettext_lazy("Leave empty for now."),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    attribution = forms.ChoiceField(
        label=gettext_lazy("Show as"),
        choices=[
            (Attribution.NAMED.value, gettext_lazy("Named: your organisation")),
            (Attribution.PSEUDONYMOUS.value, gettext_lazy("Pseudonymous: your sector only")),
            (Attribution.ANONYMOUS.value, gettext_lazy("Anonymous: nobody can tell who")),
        ],
    )

    field_order = ["observable", "count", "seen_at", "note", "attribution", "organisation"]

    def clean_seen_at(self) -> dt.datetime | None:
        # Checked here as well as in the service: the far ends of the calendar
        # overflow when converted between time zones.
        moment = self.cleaned_data.get("seen_at")
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise forms.ValidationError(
                _("Give when you saw it: not in the future, not before 1990.")
            )
        return moment

    def __init__(self, *args: Any, observables: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["observable"].choices = [("", _("The report as a whole"))] + [
            (value, f"{value} ({kind})") for kind, value in observables
        ]


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "PDF, images, ZIP, Office documents, PCAP or UTF-8 text. Remove names and "
            "metadata that could identify you before attaching."
        ),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=500, required=False)


class RevealForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that our organisation's name will be shown from now on."),
    )


class SeverityForm(forms.Form):
    """One weight per factor and the lowest score of each level 1-5."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for factor in FACTORS:
            self.fields[self.weight_name(factor.code)] = forms.IntegerField(
                label=factor.label, min_value=0, max_value=MAX_WEIGHT
            )
        for level, _code, label, _help in LEVELS[1:]:
            self.fields[f"threshold_{level}"] = forms.IntegerField(
                label=_("Level %(level)d (%(label)s) from score")
                % {"level": level, "label": label},
                min_value=1,
                max_value=100,
            )

    @staticmethod
    def weight_name(code: str) -> str:
        return "weight_" + code.replace("-", "_")

    @classmethod
    def initial_from(cls, weights: dict[str, int], thresholds: list[int]) -> dict[str, int]:
        initial = {cls.weight_name(code): value for code, value in weights.items()}
        initial.update({f"threshold_{n}": value for n, value in enumerate(thresholds, start=1)})
        return initial

    def weight_fields(self) -> list[Any]:
        return [self[self.weight_name(f.code)] for f in FACTORS]

    def threshold_fields(self) -> list[Any]:
        return [self[f"threshold_{level}"] for level, *_rest in LEVELS[1:]]

    def weights(self) -> dict[str, int]:
        return {f.code: self.cleaned_data[self.weight_name(f.code)] for f in FACTORS}

    def thresholds(self) -> list[int]:
        return [self.cleaned_data[f"threshold_{level}"] for level, *_rest in LEVELS[1:]]


class CommonValueForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ObservableKind.choices)
    value = forms.CharField(
        label=gettext_lazy("Value"),
        max_length=2048,
        help_text=gettext_lazy("A domain written as *.example.com also covers its subdomains."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


def _apply_errors(form: forms.Form, error: SharingError) -> None:
    """Put a service's refusal on the form: per field where it names one."""
    form.add_error(None, error.message)
    for name, message in error.errors.items():
        shown = name in form.fields and not form.fields[name].widget.is_hidden
        form.add_error(name if shown else None, message)


def _surface_hidden_errors(form: forms.Form) -> None:
    """Errors on hidden fields (a reply's parent, the only organisation) would not be
    shown next to anything: show them above the form."""
    for field in form.hidden_fields():
        for message in field.errors:
            form.add_error(None, message)


def _flash_error(request: HttpRequest, error: SharingError) -> None:
    messages.error(request, error.message)
    for message in error.errors.values():
        if message != error.message:
            messages.error(request, message)


# --- Lists --------------------------------------------------------------------------------


class CappedPaginator(Paginator):
    """Counts only as far as the pages around the requested one need: an exact count
    of every report a member may see costs more than the page itself."""

    PAGES_AHEAD = 5

    def __init__(self, object_list: Any, per_page: int, page_number: Any) -> None:
        super().__init__(object_list, per_page)
        try:
            number = max(1, int(page_number))
        except (TypeError, ValueError):
            number = 1
        self.limit = (number + self.PAGES_AHEAD) * per_page + 1

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.limit].count()

    @property
    def count_is_lower_bound(self) -> bool:
        return self.count >= self.limit


def _page(request: HttpRequest, reports: QuerySet[Report]) -> Any:
    reports = (
        reports.select_related("reporter_organisation", "reporter_sector")
        .prefetch_related("sectors")
        .order_by("-created_at", "id")
    )
    number = request.GET.get("page")
    return CappedPaginator(reports, PAGE_SIZE, number).get_page(number)


@require_GET
def feed(request: HttpRequest) -> HttpResponse:
    """Every report the viewer may see (TLP:CLEAR only for visitors), searchable."""
    user = request.user
    form = FeedFilterForm(request.GET)
    page = None
    if form.is_valid():
        # Withdrawn reports stay on the reporter's own list ("mine"), not in the feed.
        page = _page(request, search.search_reports(user, form.filters()).live())
    context = {
        "form": form,
        "page_obj": page,
        "filtered": form.is_valid() and any(form.cleaned_data.get(n) for n in form.fields),
        "can_share": policy.can_share(user),
    }
    return render(request, "sharing/feed.html", context)


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "page_obj": _page(request, policy.reports_of_my_organisations(user)),
        "has_organisation": bool(policy.sharing_context(user).member_org_ids),
        "can_share": policy.can_share(user),
    }
    return render(request, "sharing/mine.html", context)


# --- One report ---------------------------------------------------------------------------


def _audience(report: Report) -> dict[str, Any]:
    """The full audience: for the reporter's organisation and coordinators only."""
    return {
        "groups": list(report.audience_groups.order_by("name").values_list("name", flat=True)),
        "organisations": list(
            report.audience_organisations.order_by("name").values_list("name", flat=True)
        ),
        "recipients": [u.display_name for u in report.recipients.order_by("full_name", "username")],
    }


def _incident_type(code: str) -> Any:
    try:
        return get_incident_type(code) if code else None
    except ValueError:
        return None


def _render_detail(
    request: HttpRequest,
    report: Report,
    *,
    comment_form: CommentForm | None = None,
    sighting_form: SightingForm | None = None,
    attachment_form: AttachmentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    is_reporter = policy.is_reporter(user, report)
    can_participate = policy.can_participate(user, report)
    can_edit = policy.can_edit_report(user, report)
    organisations = _acting_choices(user) if can_participate else []
    correlations = correlation.correlations_for_report(user, report)
    severity = (
        network_settings.current_severity(report.severity_answers)
        if report.severity_answers
        else None
    )
    threads = []
    for comment, depth in participation.comment_threads(user, report):
        reply = None
        if can_participate:
            reply = CommentForm(
                report=report,
                organisations=organisations,
                initial={"parent": comment.pk},
                auto_id=f"reply-{comment.pk.hex[:12]}-%s",
            )
        threads.append((comment, depth, reply))
    sightings = participation.sighting_summary(user, report) if user.is_authenticated else None
    if can_participate:
        comment_form = comment_form or CommentForm(report=report, organisations=organisations)
        sighting_form = sighting_form or SightingForm(
            organisations=organisations,
            observables=[(c.kind, c.value) for c in correlations],
        )
    context = {
        "report": report,
        "marking_help": MARKING_HELP.get(report.marking, ""),
        "is_reporter": is_reporter,
        "public_label": report_services.public_reporter_label(report),
        "audience": _audience(report) if is_reporter or policy.is_coordinator(user) else None,
        "can_look_up": policy.can_look_up_reporter(user, report),
        "can_edit": can_edit,
        "can_participate": can_participate,
        "incident_type": _incident_type(report.incident_type),
        "task_areas": list(report.task_areas.all()),
        "sectors": list(report.sectors.all()),
        "severity": severity,
        "weights_total": sum(row.weight for row in severity.breakdown) if severity else 0,
        "correlations": correlations,
        "sightings": sightings,
        "day_max": max((n for _day, n in sightings["by_day"]), default=0) if sightings else 0,
        "threads": threads,
        "attachments": list(policy.attachments_visible_to(user, report)),
        "comment_form": comment_form,
        "sighting_form": sighting_form,
        "attachment_form": attachment_form or (AttachmentForm() if can_edit else None),
        "withdraw_form": WithdrawForm(auto_id="withdraw-%s") if can_edit else None,
        "reveal_form": RevealForm(auto_id="reveal-%s") if can_edit else None,
    }
    return render(request, "sharing/detail.html", context, status=status)


@require_GET
def detail(request: HttpRequest, pk: Any) -> HttpResponse:
    return _render_detail(request, policy.get_report(request.user, pk))


def _back(report: Report, anchor: str = "") -> HttpResponse:
    url = reverse("sharing:detail", args=[report.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: Any) -> HttpResponse:
    report = policy.get_report(request.user, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Keep the reason under 500 characters."))
        return _back(report)
    try:
        report_services.withdraw_report(
            request.user, report, reason=form.cleaned_data["reason"], request=request
        )
    except SharingError as exc:
        _flash_error(request, exc)
    else:
        messages.success(
            request, _("The report was withdrawn. Only your organisation can still see it.")
        )
    return _back(report)


@login_required
@require_POST
def reveal(request: HttpRequest, pk: Any) -> HttpResponse:
    report = policy.get_report(request.user, pk)
    # Permission first: someone else's report must look the same as a missing one.
    report_services.require_editable(request.user, report)
    if not RevealForm(request.POST).is_valid():
        messages.error(request, _("Tick the box to confirm that you want to be named."))
        return _back(report)
    try:
        report_services.reveal_report(request.user, report, request=request)
    except SharingError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("The report now names your organisation as its reporter."))
    return _back(report)


@login_required
@require_POST
def look_up_reporter(request: HttpRequest, pk: Any) -> HttpResponse:
    """A coordinator finds out who is behind a pseudonym. The service refuses anyone
    else and records every look in the audit trail; the answer is shown once, here."""
    report = policy.get_report(request.user, pk)
    found = report_services.look_up_reporter(request.user, report, request=request)
    context = {"report": report, "organisation": found["organisation"], "person": found["person"]}
    return render(request, "sharing/reporter.html", context)


@login_required
@require_POST
def comment(request: HttpRequest, pk: Any) -> HttpResponse:
    user = request.user
    report = policy.get_report(user, pk)
    policy.require_participation(user, report)
    form = CommentForm(request.POST, report=report, organisations=_acting_choices(user))
    if form.is_valid():
        data = form.cleaned_data
        try:
            participation.add_comment(
                user,
                report,
                body=data["body"],
                marking=data["marking"],
                attribution=data["attribution"],
                parent_id=data["parent"],
                organisation_id=data["organisation"],
                request=request,
            )
        except SharingError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your comment was added."))
            return _back(report, "comments")
    else:
        _surface_hidden_errors(form)
    return _render_detail(request, report, comment_form=form, status=400)


@login_required
@require_POST
def sighting(request: HttpRequest, pk: Any) -> HttpResponse:
    user = request.user
    report = policy.get_report(user, pk)
    policy.require_participation(user, report)
    observables = list(
        report.observations.order_by("position").values_list(
            "observable__kind", "observable__value"
        )
    )
    form = SightingForm(request.POST, organisations=_acting_choices(user), observables=observables)
    if form.is_valid():
        data = form.cleaned_data
        try:
            participation.record_sighting(
                user,
                report,
                observable=data["observable"] or None,
                count=data["count"],
                seen_at=data["seen_at"],
                note=data["note"],
                attribution=data["attribution"],
                organisation_id=data["organisation"],
                request=request,
            )
        except SharingError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Your sighting was recorded."))
            return _back(report, "sightings")
    else:
        _surface_hidden_errors(form)
    return _render_detail(request, report, sighting_form=form, status=400)


@login_required
@require_POST
def attach(request: HttpRequest, pk: Any) -> HttpResponse:
    user = request.user
    report = policy.get_report(user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = attachment_services.add_attachment(
                user, report, form.cleaned_data["file"], request=request
            )
        except SharingError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was attached.") % {"name": attachment.name})
            return _back(report, "attachments")
    else:
        # Permission first, so that a bad upload to someone else's report is a 404.
        report_services.require_editable(user, report)
    return _render_detail(request, report, attachment_form=form, status=400)


def _attachment(user: Any, report: Report, attachment: Any) -> Attachment:
    try:
        return policy.attachments_visible_to(user, report).get(pk=attachment)
    except (Attachment.DoesNotExist, ValueError) as exc:
        raise policy.NotVisible() from exc


@require_GET
def download(request: HttpRequest, pk: Any, attachment: Any) -> HttpResponse:
    report = policy.get_report(request.user, pk)
    item = _attachment(request.user, report, attachment)
    try:
        handle = open(attachment_services.stored_path(item), "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError as exc:
        raise policy.NotVisible() from exc
    response = FileResponse(
        handle, as_attachment=True, filename=item.name, content_type=item.content_type
    )
    # Never let a browser render an upload as a page of ours.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def remove_attachment(request: HttpRequest, pk: Any, attachment: Any) -> HttpResponse:
    report = policy.get_report(request.user, pk)
    item = _attachment(request.user, report, attachment)
    name = item.name
    try:
        attachment_services.remove_attachment(request.user, item, request=request)
    except SharingError as exc:
        _flash_error(request, exc)
    else:
        messages.success(request, _("%(name)s was removed.") % {"name": name})
    return _back(report, "attachments")


# --- Versions -----------------------------------------------------------------------------


def _distribution(snapshot: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        tuple(value) if isinstance(value, list) else value
        for value in (snapshot.get(name) for name in DISTRIBUTION_FIELDS)
    )


def _snapshot_rows(snapshot: dict[str, Any], *, full_audience: bool) -> list[tuple[str, Any, int]]:
    """(label, value, hidden count) rows of a stored snapshot, in a fixed order."""
    rows = []
    for name, label in SNAPSHOT_LABELS.items():
        if name not in snapshot or (name in AUDIENCE_DETAIL_FIELDS and not full_audience):
            continue
        value = snapshot[name]
        hidden = 0
        if name == "observables" and isinstance(value, list):
            hidden = max(0, len(value) - SNAPSHOT_OBSERVABLES_SHOWN)
            value = value[:SNAPSHOT_OBSERVABLES_SHOWN]
        rows.append((str(label), value, hidden))
    return rows


@require_GET
def versions(request: HttpRequest, pk: Any) -> HttpResponse:
    """The history: each version's changes and note; a version's full text only when
    it was shared with the same audience as today (or to the reporter)."""
    user = request.user
    report = policy.get_report(user, pk)
    is_reporter = policy.is_reporter(user, report)
    full_audience = is_reporter or policy.is_coordinator(user)
    current = _distribution(report_services.snapshot(report))
    rows = []
    for version in report.versions.select_related("author").order_by("-number"):
        viewable = is_reporter or _distribution(version.snapshot) == current
        rows.append(
            {
                "version": version,
                "viewable": viewable,
                "changed": [str(SNAPSHOT_LABELS.get(name, name)) for name in version.changed],
                # Only a named report names the person behind each change.
                "author": (
                    version.author.display_name
                    if report.attribution == Attribution.NAMED and version.author
                    else None
                ),
                "day_only": report.is_anonymous or version.author_id is None,
            }
        )
    shown = None
    wanted = request.GET.get("number")
    if wanted is not None:
        match = next((r for r in rows if str(r["version"].number) == wanted.strip()), None)
        if match is None or not match["viewable"]:
            raise policy.NotVisible()
        shown = {
            "version": match["version"],
            "rows": _snapshot_rows(match["version"].snapshot, full_audience=full_audience),
        }
    context = {"report": report, "rows": rows, "shown": shown}
    return render(request, "sharing/versions.html", context)


# --- The network's sharing settings ---------------------------------------------------------


def _require_settings_manager(user: Any) -> None:
    if not policy.can_manage_sharing_settings(user):
        raise policy.PolicyDenied(_("Only coordinators can change the network's sharing settings."))


@login_required
@require_http_methods(["GET", "POST"])
def sharing_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_settings_manager(user)
    current = network_settings.network_settings()
    severity_form = SeverityForm(
        initial=SeverityForm.initial_from(current.severity_weights, current.severity_thresholds)
    )
    common_form = CommonValueForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        status = 400
        if action == "severity":
            severity_form = SeverityForm(request.POST)
            if severity_form.is_valid():
                try:
                    network_settings.update_severity_settings(
                        user,
                        weights=severity_form.weights(),
                        thresholds=severity_form.thresholds(),
                        request=request,
                    )
                except SharingError as exc:
                    _apply_errors(severity_form, exc)
                else:
                    messages.success(
                        request,
                        _(
                            "The severity settings were saved; "
                            "every stored score is being recomputed."
                        ),
                    )
                    return redirect("sharing:settings")
        elif action == "common":
            common_form = CommonValueForm(request.POST)
            if common_form.is_valid():
                data = common_form.cleaned_data
                try:
                    entry = network_settings.add_common_value(
                        user,
                        kind=data["kind"],
                        value=data["value"],
                        note=data["note"],
                        request=request,
                    )
                except SharingError as exc:
                    _apply_errors(common_form, exc)
                else:
                    messages.success(
                        request,
                        _("%(value)s will no longer be correlated.") % {"value": entry.value},
                    )
                    return redirect(reverse("sharing:settings") + "#common-values")
        else:
            return render(
                request, "core/error.html", {"status": 400, "title": _("Bad request")}, status=400
            )
    thresholds = list(current.severity_thresholds)
    levels = [
        {
            "level": level,
            "label": label,
            "help": help_text,
            "low": 0 if level == 0 else thresholds[level - 1],
            "high": thresholds[level] - 1 if level < len(thresholds) else 100,
        }
        for level, _code, label, help_text in LEVELS
    ]
    context = {
        "current": current,
        "severity_form": severity_form,
        "common_form": common_form,
        "factors": FACTORS,
        "weights": current.severity_weights,
        "levels": levels,
        "common_values": CommonValue.objects.order_by("kind", "value"),
    }
    return render(request, "sharing/settings.html", context, status=status)


@login_required
@require_POST
def remove_common_value(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_settings_manager(user)
    entry = CommonValue.objects.filter(pk=pk).first()
    if entry is None:
        raise policy.NotVisible()
    value = entry.value
    network_settings.remove_common_value(user, entry, request=request)
    messages.success(request, _("%(value)s will be correlated again.") % {"value": value})
    return redirect(reverse("sharing:settings") + "#common-values")
