"""Web pages for the audit trail: the entries a person may see, and, for
coordinators, a check of the hash chain."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accord import policy
from accord.membership.models import Organisation

from . import services
from .models import AuditEntry


class DateInput(forms.DateInput):
    input_type = "date"


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label=_("Any"),
    )
    actor = forms.CharField(label=_("Actor (user name)"), max_length=150, required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput)

    def __init__(self, *args: Any, user: Any, entries: QuerySet[AuditEntry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actions = entries.order_by("action").values_list("action", flat=True).distinct()
        self.fields["action"].choices = [("", _("Any"))] + [(a, a) for a in actions]
        if policy.is_coordinator(user):
            self.fields["organisation"].queryset = policy.organisations_visible_to(user)
        else:
            # Members see their own organisations' entries only; the filter would add nothing.
            del self.fields["organisation"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


def filter_entries(entries: QuerySet[AuditEntry], data: dict[str, Any]) -> QuerySet[AuditEntry]:
    """Apply validated filters; shared with the API so both answer the same."""
    if data.get("action"):
        entries = entries.filter(action=data["action"])
    organisation = data.get("organisation")
    if organisation:
        slug = organisation if isinstance(organisation, str) else organisation.slug
        entries = entries.filter(organisation__slug=slug)
    if data.get("actor"):
        entries = entries.filter(actor_label__iexact=data["actor"])
    # __date compares in the viewer's time zone, which the middleware activated.
    if data.get("date_from"):
        entries = entries.filter(timestamp__date__gte=data["date_from"])
    if data.get("date_to"):
        entries = entries.filter(timestamp__date__lte=data["date_to"])
    return entries


@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    entries = policy.audit_entries_visible_to(user)
    form = AuditFilterForm(request.GET or None, user=user, entries=entries)
    shown = entries
    if form.is_bound and form.is_valid():
        shown = filter_entries(entries, form.cleaned_data)
    page = Paginator(shown.select_related("organisation").order_by("-sequence"), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "form": form,
        "query": query.urlencode(),
        "can_verify": policy.is_coordinator(user),
    }
    return render(request, "audit/list.html", context)


@login_required
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    if not policy.is_coordinator(request.user):
        raise policy.NotVisible()
    report = services.verify_chain()
    return render(request, "audit/verify.html", {"report": report})
