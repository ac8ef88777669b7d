"""Web pages for the network's rules: reading, accepting and publishing them.

Reading is public (the charter is what an applicant agrees to); accepting,
publishing and the acceptance history need a signed-in person.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accord import policy
from accord.membership.models import Membership, Organisation

from . import services
from .forms import AcceptRulesForm, PublishForm
from .models import RuleDocument


def _organisation_panels(user: Any) -> list[dict[str, Any]]:
    """For each of the viewer's organisations: what is outstanding and who may accept it."""
    panels = []
    for membership in policy.active_memberships(user):
        organisation = membership.organisation
        outstanding = policy.outstanding_rules(organisation)
        can_accept = policy.can_accept_rules(user, organisation)
        representatives = []
        if outstanding and not can_accept:
            representatives = [
                m.user
                for m in Membership.objects.active()
                .representatives()
                .filter(organisation=organisation)
                .select_related("user")
            ]
        panels.append(
            {
                "organisation": organisation,
                "outstanding": outstanding,
                "can_accept": can_accept,
                "representatives": representatives,
            }
        )
    return panels


@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    form_errors: dict[str, Any] = {}
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        form = AcceptRulesForm(request.POST, user=user)
        if form.is_valid():
            organisation = form.cleaned_data["organisation"]
            # PolicyDenied (not a representative) becomes the 403 page in the middleware.
            accepted = services.accept_all_current(organisation, by=user, request=request)
            if accepted:
                messages.success(
                    request,
                    _("%(org)s accepted the current rules.") % {"org": organisation.name},
                )
            else:
                messages.info(request, _("There was nothing left to accept."))
            return redirect("rules:index")
        form_errors = form.errors
    documents = [(doc, doc.current_version) for doc in RuleDocument.objects.all()]
    context = {
        "documents": documents,
        "panels": _organisation_panels(user) if user.is_authenticated else [],
        "form_errors": form_errors,
        "can_publish": policy.can_publish_rules(user),
    }
    return render(request, "rules/index.html", context, status=400 if form_errors else 200)


def _published_versions(document: RuleDocument) -> Any:
    return document.versions.filter(published_at__isnull=False).select_related("published_by")


def document(request: HttpRequest, kind: str) -> HttpResponse:
    doc = get_object_or_404(RuleDocument, kind=kind)
    current = doc.current_version
    context = {
        "document": doc,
        "version": current,
        "current": current,
        "html": services.render_markdown(current.body) if current else "",
        "versions": _published_versions(doc),
        "can_publish": policy.can_publish_rules(request.user),
    }
    return render(request, "rules/document.html", context)


def version(request: HttpRequest, kind: str, number: int) -> HttpResponse:
    doc = get_object_or_404(RuleDocument, kind=kind)
    shown = get_object_or_404(_published_versions(doc), number=number)
    context = {
        "document": doc,
        "version": shown,
        "current": doc.current_version,
        "html": services.render_markdown(shown.body),
        "versions": _published_versions(doc),
        "can_publish": policy.can_publish_rules(request.user),
    }
    return render(request, "rules/document.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def publish(request: HttpRequest, kind: str) -> HttpResponse:
    if not policy.can_publish_rules(request.user):
        raise policy.NotVisible()
    doc = get_object_or_404(RuleDocument, kind=kind)
    current = doc.current_version
    status = 200
    if request.method == "POST":
        form = PublishForm(request.POST)
        if form.is_valid():
            try:
                new = services.publish_version(
                    doc,
                    body=form.cleaned_data["body"],
                    change_summary=form.cleaned_data["change_summary"],
                    by=request.user,
                    request=request,
                )
            except services.RulesError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Version %(number)s of %(title)s was published.")
                    % {"number": new.number, "title": doc.title},
                )
                return redirect("rules:document", kind=doc.kind)
        status = 400
    else:
        form = PublishForm(initial={"body": current.body if current else ""})
    return render(
        request,
        "rules/publish.html",
        {"document": doc, "current": current, "form": form},
        status=status,
    )


@login_required
def acceptances(request: HttpRequest) -> HttpResponse:
    user = request.user
    history = Paginator(policy.acceptances_visible_to(user).order_by("-accepted_at", "-pk"), 50)
    page = history.get_page(request.GET.get("page"))
    standings = None
    if policy.is_coordinator(user):
        good = set(policy.organisations_in_good_standing().values_list("pk", flat=True))
        standings = [
            {
                "organisation": org,
                "good": org.pk in good,
                "outstanding": [] if org.pk in good else policy.outstanding_rules(org),
            }
            for org in Organisation.objects.verified()
        ]
    context = {"page": page, "standings": standings}
    return render(request, "rules/acceptances.html", context)
