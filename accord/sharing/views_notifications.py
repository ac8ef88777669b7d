"""Pages for notifications and subscriptions.

Every page needs a signed-in person and shows only their own rows. The list of
notifications starts from ``notifications.notifications_for`` (which asks the
policy), so a report the person can no longer see drops out of it.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accord import policy
from accord.membership.forms import PlainLabels, SectorChoiceField

from . import notifications as service
from .classification import LEVELS, Effect
from .models import Kind
from .services import SharingError

PAGE_SIZE = 50


class SubscriptionForm(PlainLabels, forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=service.MAX_NAME,
        help_text=gettext_lazy("For you only, e.g. “Ransomware in energy”."),
    )
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Kinds of report"),
        choices=Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("None ticked: every kind."),
    )
    sectors = SectorChoiceField(
        label=gettext_lazy("Affected sectors"),
        help_text=gettext_lazy("None ticked: every sector, and reports that name none."),
    )
    effects = forms.MultipleChoiceField(
        label=gettext_lazy("Effects"),
        choices=Effect.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("None ticked: any effect, and reports that give none."),
    )
    min_level = forms.TypedChoiceField(
        label=gettext_lazy("Minimum severity"),
        choices=[("", gettext_lazy("Any, also reports without a severity"))]
        + [(str(level), f"{level} – {label}") for level, _code, label, _help in LEVELS[1:]],
        coerce=int,
        empty_value=None,
        required=False,
    )
    email_digest = forms.BooleanField(
        label=gettext_lazy("E-mail me a daily digest"),
        required=False,
        initial=True,
        help_text=gettext_lazy(
            "Titles, kinds and markings only, with links; never the content of a report."
        ),
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = request.user
    rows = service.notifications_for(user)
    context = {
        "page_obj": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "unread": service.unread_count(user),
        "has_subscriptions": service.subscriptions_for(user).exists(),
        "can_share": policy.can_share(user),
    }
    return render(request, "sharing/notifications.html", context)


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the notifications named in ``id`` fields read, or all of them without any."""
    ids = request.POST.getlist("id")
    try:
        count = service.mark_read(request.user, ids or None)
    except SharingError as exc:
        messages.error(request, exc.message)
        return redirect("sharing:notifications")
    if not ids:
        messages.success(request, _("All notifications are marked read."))
    elif count:
        messages.success(request, _("Marked read."))
    return redirect("sharing:notifications")


@login_required
@require_http_methods(["GET", "POST"])
def subscriptions(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription = service.create_subscription(
                user,
                name=data["name"],
                kinds=data["kinds"],
                sectors=[s.code for s in data["sectors"]],
                effects=data["effects"],
                min_level=data["min_level"],
                email_digest=data["email_digest"],
            )
        except SharingError as exc:
            for field, message in exc.errors.items():
                form.add_error(field if field in form.fields else None, message)
            if not exc.errors:
                form.add_error(None, exc.message)
        else:
            messages.success(
                request, _("You are subscribed: %(name)s.") % {"name": subscription.name}
            )
            return redirect("sharing:subscriptions")
    rows = [(s, service.describe(s)) for s in service.subscriptions_for(user)]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "sharing/subscriptions.html",
        {
            "form": form,
            "rows": rows,
            "max_subscriptions": service.MAX_SUBSCRIPTIONS,
            "can_share": policy.can_share(user),
        },
        status=status,
    )


@login_required
@require_POST
def delete_subscription(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = service.get_subscription(request.user, pk)
    service.delete_subscription(request.user, subscription)
    messages.success(request, _("Subscription deleted: %(name)s.") % {"name": subscription.name})
    return redirect("sharing:subscriptions")
