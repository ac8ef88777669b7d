"""The landing page, the dashboard and the error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accord import policy
from accord.membership.models import Organisation
from accord.rules.models import RuleDocument


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:dashboard")
    context = {
        "member_count": Organisation.objects.verified().count(),
        "documents": RuleDocument.objects.all(),
    }
    return render(request, "core/home.html", context)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    context = {
        "pending_applications": (
            Organisation.objects.filter(status=Organisation.Status.PENDING).count()
            if policy.can_review_applications(user)
            else None
        ),
        "memberships": policy.active_memberships(user),
        "recent_audit": policy.audit_entries_visible_to(user).select_related("organisation")[:8],
        "latest_reports": policy.reports_visible_to(user).live().order_by("-created_at", "id")[:6],
        "can_share": policy.can_share(user),
    }
    return render(request, "core/dashboard.html", context)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/error.html", {"status": 400, "title": "Bad request"}, status=400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = getattr(exception, "message", "") or ""
    return render(
        request,
        "core/error.html",
        {"status": 403, "title": "Not allowed", "message": message},
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "core/error.html", {"status": 404, "title": "Not found"}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return render(
        request, "core/error.html", {"status": 500, "title": "Something went wrong"}, status=500
    )
