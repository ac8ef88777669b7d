"""The guided form for filing and editing a report.

One Django form, drawn as seven steps that ``static/accord/wizard.js`` shows one
at a time (without JavaScript every step shows and the form still works). Two
small endpoints serve the live parts through htmx: the audience preview and
the extraction of observables from pasted text. Both also work as ordinary
submit buttons, which re-draw the whole page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accord import policy

from .audience import AudiencePreview
from .audience import audience_preview as compute_preview
from .classification import FACTORS
from .forms import (
    MAX_PASTE,
    ReportForm,
    initial_from_draft,
    level_labels,
    paste_digest,
)
from .models import MARKING_RANK, Marking, Report
from .observables import ObservableKind, extract
from .services import SharingError
from .services.attachments import add_attachment, stored_path
from .services.correlation import correlations_for_values
from .services.drafts import clean_draft
from .services.network_settings import current_severity, network_settings
from .services.reports import (
    create_report,
    draft_from_report,
    require_editable,
    update_report,
)

MAX_EXTRACTED = 1000  # rows in the checklist; more are very unlikely to be read

ACTIONS = ("submit", "extract", "preview")


# --- Filing ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def new_report(request: HttpRequest) -> HttpResponse:
    user = request.user
    policy.require_can_share(user)
    posted = request.method == "POST"
    form = ReportForm(
        request.POST if posted else None, request.FILES if posted else None, user=user
    )
    action = _action(request)
    if request.method == "POST":
        valid = form.is_valid()
        if action == "submit" and valid and form.needs_extraction():
            form.add_error(
                "extracted",
                _(
                    "Check the values found in the pasted text — untick any you do not mean to "
                    "share — then submit again."
                ),
            )
        elif action == "submit" and valid:
            try:
                report = _file(request, form)
            except SharingError as exc:
                form.add_service_errors(exc.errors, exc.message)
            else:
                messages.success(
                    request,
                    _("Your report “%(title)s” was shared.") % {"title": report.title},
                )
                return redirect("sharing:detail", pk=report.pk)
        elif action == "submit":
            _add_draft_errors(form)
        if action == "submit" and request.FILES and form.errors and "attachments" in form.fields:
            form.add_error(
                "attachments", _("Nothing was stored: choose your files again before submitting.")
            )
    return _render(request, form, action=action)


def _file(request: HttpRequest, form: ReportForm) -> Report:
    """The report and its attachments, all or nothing."""
    user = request.user
    stored: list[Any] = []
    try:
        with transaction.atomic():
            report = create_report(
                user, form.to_draft(), organisation_id=form.organisation_id(), request=request
            )
            for upload in form.cleaned_data.get("attachments") or []:
                try:
                    stored.append(add_attachment(user, report, upload, request=request))
                except SharingError as exc:
                    raise SharingError(
                        exc.message,
                        {
                            "file": _("%(name)s: %(problem)s")
                            % {"name": upload.name, "problem": exc.message}
                        },
                    ) from exc
    except BaseException:
        # The rows rolled back; the files already written must go too.
        for attachment in stored:
            stored_path(attachment).unlink(missing_ok=True)
        raise
    return report


# --- Editing -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def edit_report(request: HttpRequest, pk: Any) -> HttpResponse:
    user = request.user
    report = policy.get_report(user, pk)
    require_editable(user, report)
    if report.is_withdrawn:
        messages.error(request, _("A withdrawn report cannot be edited."))
        return redirect("sharing:detail", pk=report.pk)
    form = ReportForm(
        request.POST if request.method == "POST" else None,
        user=user,
        report=report,
        initial=initial_from_draft(draft_from_report(report)),
    )
    action = _action(request)
    if request.method == "POST":
        valid = form.is_valid()
        if action == "submit" and valid and form.needs_extraction():
            form.add_error(
                "extracted",
                _("Check the values found in the pasted text, then save again."),
            )
        elif action == "submit" and valid:
            before = report.marking
            try:
                report = update_report(
                    user,
                    report,
                    form.to_draft(),
                    note=form.cleaned_data.get("note", ""),
                    request=request,
                )
            except SharingError as exc:
                form.add_service_errors(exc.errors, exc.message)
            else:
                text = _("Saved version %(n)d of “%(title)s”.") % {
                    "n": report.version,
                    "title": report.title,
                }
                if MARKING_RANK[report.marking] < MARKING_RANK[before]:
                    text += " " + _(
                        "The marking was relaxed from %(old)s to %(new)s; this is recorded."
                    ) % {"old": Marking(before).label, "new": report.get_marking_display()}
                messages.success(request, text)
                return redirect("sharing:detail", pk=report.pk)
        elif action == "submit":
            _add_draft_errors(form, current=report)
    return _render(request, form, action=action, report=report)


# --- The live parts ----------------------------------------------------------------------


@login_required
@require_POST
def audience_preview(request: HttpRequest) -> HttpResponse:
    """Who will see the report and how the reporter will appear (an htmx partial)."""
    user = request.user
    policy.require_can_share(user)
    current = _edited_report(request)
    form = ReportForm(request.POST, user=user, report=current)
    preview = _preview(form, current)
    return render(request, "sharing/_wizard_preview.html", {"preview": preview})


@login_required
@require_POST
def extract_observables(request: HttpRequest) -> HttpResponse:
    """The observables in pasted text, as a checklist (an htmx partial)."""
    policy.require_can_share(request.user)
    text = request.POST.get("paste", "")
    if len(text) > MAX_PASTE:
        # A message in the checklist's place (htmx does not show an error status).
        return render(
            request, "sharing/_wizard_extracted.html", {"too_long": True, "max_paste": MAX_PASTE}
        )
    return render(
        request, "sharing/_wizard_extracted.html", _extraction(request.user, text, checked=None)
    )


# --- Helpers -----------------------------------------------------------------------------


def _action(request: HttpRequest) -> str:
    action = request.POST.get("action", "submit") if request.method == "POST" else ""
    return action if action in ACTIONS else "submit"


def _edited_report(request: HttpRequest) -> Report | None:
    pk = request.POST.get("report")
    if not pk:
        return None
    report = policy.get_report(request.user, pk)
    require_editable(request.user, report)
    return report


def _preview(form: ReportForm, current: Report | None) -> AudiencePreview:
    """The preview from the distribution fields that parsed; their errors otherwise."""
    form.is_valid()
    fields = (
        "organisation",
        "marking",
        "audience",
        "audience_groups",
        "audience_organisations",
        "recipients",
        "attribution",
    )
    problems = {name: form.errors[name][0] for name in fields if name in form.errors}
    if problems:
        return AudiencePreview(errors=problems)
    draft = form.to_draft()
    organisation_id = form.organisation_id()
    if current is not None:
        organisation_id = policy.reporting_organisation_id(form.user, current)
    return compute_preview(form.user, draft, organisation_id, current=current)


def _add_draft_errors(form: ReportForm, current: Report | None = None) -> None:
    """The form refused something; let the service judge the rest too, so that
    every problem shows at once instead of one round at a time."""
    try:
        clean_draft(form.user, form.to_draft(), current=current)
    except SharingError as exc:
        form.add_service_errors(
            {name: text for name, text in exc.errors.items() if name not in form.errors}
        )


def _extraction(user: Any, text: str, *, checked: set[str] | None) -> dict[str, Any]:
    """Rows for the checklist: each value, whether it is ticked and what it matches."""
    found = extract(text, limit=MAX_EXTRACTED + 1) if text.strip() else []
    truncated = len(found) > MAX_EXTRACTED
    found = found[:MAX_EXTRACTED]
    correlations = correlations_for_values(user, [(item.kind, item.value) for item in found])
    rows = []
    for item, correlation in zip(found, correlations, strict=True):
        key = f"{item.kind}:{item.value}"
        rows.append(
            {
                "key": key,
                "kind": item.kind,
                "kind_label": _kind_label(item.kind),
                "value": item.value,
                "raw": item.raw if item.raw != item.value else "",
                "checked": checked is None or key in checked,
                "common": correlation.common,
                "reports": correlation.reports,
                "sectors": correlation.sectors,
            }
        )
    return {
        "rows": rows,
        "truncated": truncated,
        "max_rows": MAX_EXTRACTED,
        "digest": paste_digest(text) if text.strip() else "",
        "searched": bool(text.strip()),
    }


def _kind_label(kind: str) -> str:
    return str(ObservableKind(kind).label)


def _render(
    request: HttpRequest, form: ReportForm, *, action: str, report: Report | None = None
) -> HttpResponse:
    settings_row = network_settings()
    weights = dict(settings_row.severity_weights)
    extraction = None
    paste = form["paste"].value() or ""
    if request.method == "POST" and paste.strip() and len(paste) <= MAX_PASTE:
        # Keep the person's ticks when the checklist was shown for this very text.
        same_text = request.POST.get("extracted_digest") == paste_digest(paste)
        checked = set(request.POST.getlist("extracted")) if same_text else None
        extraction = _extraction(request.user, paste, checked=checked)
    steps = form.steps()
    start = form.first_error_step()
    # On a first visit the page asks for the preview itself (it takes a dry run).
    preview = _preview(form, report) if form.is_bound else None
    if action != "submit":
        # Finding observables or previewing the audience is not a submission:
        # what is still missing is not an error yet.
        form.forget_errors()
        start = [s.slug for s in steps].index(
            "observables" if action == "extract" else "distribution"
        )
    errors_in = {s.slug for s in steps if any(name in form.errors for name in s.fields)}
    context = {
        "form": form,
        "report": report,
        "steps": steps,
        "errors_in": errors_in,
        "start_step": start,
        "extraction": extraction,
        "preview": preview,
        "severity_rows": form.severity_rows(weights),
        "severity": current_severity(form.severity_answers()),
        "total_weight": sum(weights.values()),
        "thresholds": ",".join(str(t) for t in settings_row.severity_thresholds),
        "levels": level_labels(),
        "factors": FACTORS,
    }
    return render(request, "sharing/report_form.html", context)
