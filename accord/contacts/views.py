"""Web pages of the points of contact and the communication checks.

The directory is for people in good standing (``policy.require_read_contacts``
→ the 403 page with the reason); managing it and running checks is for
coordinators. The acknowledgement page is public: its token is the
credential, GET only shows a button and POST acknowledges.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accord import policy

from . import chart, checks, services, stats
from .forms import LOCAL, CheckForm, ContactFilterForm, ContactForm, ScheduleForm
from .models import CheckSchedule, Contact, ContactCheck, Notice


def filter_contacts(qs: QuerySet[Contact], data: dict[str, Any]) -> QuerySet[Contact]:
    """The directory's filters (pages and API): q, country, role, language, source."""
    if q := (data.get("q") or "").strip():
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(organisation_name__icontains=q)
            | Q(function__icontains=q)
            | Q(email__icontains=q)
        )
    if data.get("country"):
        qs = qs.filter(country=data["country"])
    if data.get("role"):
        qs = qs.filter(role=data["role"])
    if language := data.get("language"):
        # Codes are stored "en,fr": pad with commas so "en" never matches "ken".
        qs = qs.annotate(_langs=Concat(Value(","), "languages", Value(","))).filter(
            _langs__contains=f",{language},"
        )
    source = data.get("source")
    if source == LOCAL:
        qs = qs.filter(peer__isnull=True)
    elif source:
        qs = qs.filter(peer__slug=source)
    return qs


# --- The directory ---------------------------------------------------------------------


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    policy.require_read_contacts(request.user)
    contacts = policy.contacts_visible_to(request.user).select_related("peer", "organisation")
    filters = ContactFilterForm(request.GET or None)
    if filters.is_valid():
        contacts = filter_contacts(contacts, filters.cleaned_data)
    page = Paginator(
        contacts.order_by("country", "role", "organisation_name", "name", "pk"), 50
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "contacts/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "can_manage": policy.can_manage_contacts(request.user),
            "can_run_checks": policy.can_run_checks(request.user),
        },
    )


@login_required
def contact_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    policy.require_read_contacts(request.user)
    contact = policy.get_contact(request.user, pk)
    history = []
    if policy.can_run_checks(request.user):
        history = list(
            contact.check_recipients.select_related("contact_check").order_by(
                "-contact_check__created_at"
            )[:10]
        )
    return render(
        request,
        "contacts/detail.html",
        {
            "contact": contact,
            "can_edit": policy.can_edit_contact(request.user, contact),
            "can_run_checks": policy.can_run_checks(request.user),
            "history": history,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    policy.require_manage_contacts(request.user)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.create_contact(by=request.user, request=request, **form.values())
        except services.ContactError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("%(name)s was added to the directory.") % {"name": contact})
            return redirect("contacts:detail", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contacts/form.html", {"form": form}, status=status)


def _editable(request: HttpRequest, pk: Any) -> Contact:
    policy.require_manage_contacts(request.user)
    contact = policy.get_contact(request.user, pk)
    if not policy.can_edit_contact(request.user, contact):
        raise policy.PolicyDenied(_("A peer's contact is kept up to date by that peer."))
    return contact


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: Any) -> HttpResponse:
    contact = _editable(request, pk)
    form = ContactForm(request.POST or None, initial=ContactForm.initial_for(contact))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_contact(contact, by=request.user, request=request, **form.values())
        except services.ContactError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The contact was saved."))
            return redirect("contacts:detail", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contacts/form.html", {"form": form, "contact": contact}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete(request: HttpRequest, pk: Any) -> HttpResponse:
    contact = _editable(request, pk)
    if request.method == "POST":
        name = str(contact)
        services.delete_contact(contact, by=request.user, request=request)
        messages.success(request, _("%(name)s was removed from the directory.") % {"name": name})
        return redirect("contacts:list")
    return render(request, "contacts/delete.html", {"contact": contact})


# --- Checks ------------------------------------------------------------------------------


@login_required
def check_list(request: HttpRequest) -> HttpResponse:
    policy.require_run_checks(request.user)
    page = Paginator(
        policy.checks_visible_to(request.user).order_by("-created_at", "pk"), 25
    ).get_page(request.GET.get("page"))
    schedule = CheckSchedule.current()
    return render(
        request,
        "contacts/checks.html",
        {
            "page": page,
            "rows": stats.figures_for_many(page.object_list),
            "schedule": schedule,
            "schedule_form": ScheduleForm(
                initial={"interval": schedule.interval, "deadline_hours": schedule.deadline_hours}
            ),
            "query": "",
        },
    )


@login_required
@require_POST
def schedule(request: HttpRequest) -> HttpResponse:
    policy.require_run_checks(request.user)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            checks.set_schedule(by=request.user, request=request, **form.cleaned_data)
        except services.ContactError as exc:
            messages.error(request, exc.as_detail())
        else:
            messages.success(request, _("The schedule was saved."))
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("The schedule was not saved: %(e)s") % {"e": errors})
    return redirect("contacts:checks")


@login_required
@require_http_methods(["GET", "POST"])
def check_create(request: HttpRequest) -> HttpResponse:
    policy.require_run_checks(request.user)
    form = CheckForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            check = checks.send_check(
                by=request.user,
                contacts=form.chosen(),
                deadline=form.cleaned_data["deadline"],
                message=form.cleaned_data["message"],
                request=request,
            )
        except services.ContactError as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
            if not exc.errors:
                form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The check was sent to %(n)d point(s) of contact.")
                % {"n": check.recipients.count()},
            )
            return redirect("contacts:check", pk=check.pk)
    status = 400 if request.method == "POST" else 200
    has_contacts = Contact.objects.exists()
    return render(
        request,
        "contacts/check_form.html",
        {"form": form, "has_contacts": has_contacts},
        status=status,
    )


@login_required
def check_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    policy.require_run_checks(request.user)
    check = policy.get_check(request.user, pk)
    figures = stats.figures_for(check)
    recipients = list(
        check.recipients.select_related("contact").order_by(
            "country", "organisation_name", "contact_name", "pk"
        )
    )
    for recipient in recipients:
        recipient.contact_check = check
    return render(
        request,
        "contacts/check_detail.html",
        {
            "check": check,
            "figures": figures,
            "recipients": recipients,
            "now": timezone.now(),
            "can_escalate": check.escalated_at is None and check.deadline <= timezone.now(),
        },
    )


@login_required
@require_POST
def check_escalate(request: HttpRequest, pk: Any) -> HttpResponse:
    policy.require_run_checks(request.user)
    check = policy.get_check(request.user, pk)
    try:
        reminded = checks.escalate_check(check, by=request.user, request=request)
    except services.ContactError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(n)d silent point(s) of contact were reminded.") % {"n": reminded}
        )
    return redirect("contacts:check", pk=check.pk)


@login_required
def check_stats(request: HttpRequest) -> HttpResponse:
    policy.require_run_checks(request.user)
    series = stats.over_time(policy.checks_visible_to(request.user))
    return render(
        request,
        "contacts/stats.html",
        {
            "series": series,
            "overall": stats.overall(series),
            "chart": chart.build(series),
        },
    )


# --- Acknowledging -------------------------------------------------------------------------

STATUS = {"open": 200, "acknowledged": 200, "already": 200, "used": 409, "expired": 410}


@never_cache
@require_http_methods(["GET", "POST"])
def acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the link in the e-mail. GET asks for confirmation, POST acknowledges.

    The token is in the address; the site-wide same-origin referrer policy keeps it
    from other sites ("no-referrer" would make browsers send "Origin: null" with the
    POST, which the CSRF check refuses)."""
    posted = request.method == "POST"
    result = checks.acknowledge(token) if posted else checks.inspect_link(token)
    status = STATUS.get(result.state, 404)
    if request.method == "GET" and result.state == "used":
        status = 200  # a second visit is not an error; a second POST is
    return render(
        request,
        "contacts/acknowledge.html",
        {
            "result": result,
            "token": token,
            "check": result.recipient.contact_check if result.recipient else None,
        },
        status=status,
    )


@login_required
def notices(request: HttpRequest) -> HttpResponse:
    """The signed-in person's notices: checks to acknowledge, silent contacts to chase."""
    mine = Notice.objects.filter(user=request.user).select_related("contact_check", "recipient")[
        :100
    ]
    return render(
        request,
        "contacts/notices.html",
        {
            "notices": list(mine),
            "pending": checks.pending_for(request.user),
            "can_run_checks": policy.can_run_checks(request.user),
        },
    )


@login_required
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    Notice.objects.filter(user=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("contacts:notices")


@login_required
@require_POST
def check_acknowledge(request: HttpRequest, pk: Any) -> HttpResponse:
    """A contact with a local account acknowledges in the platform."""
    try:
        check = ContactCheck.objects.get(pk=pk)
    except (ContactCheck.DoesNotExist, ValueError, TypeError) as exc:
        raise policy.NotVisible() from exc
    checks.acknowledge_in_app(request.user, check)
    messages.success(request, _("Thank you: your acknowledgement was recorded."))
    return redirect("contacts:notices")
