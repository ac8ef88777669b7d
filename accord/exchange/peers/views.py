"""Pages for peer installations (coordinators only).

Each view asks the policy first (``require_can_manage_peers`` → the 403 page with
the reason), then calls a service; forms only shape the input.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accord import policy
from accord.exchange.models import Agreement, Peer, PeerDelivery, ReportOrigin

from . import services
from .forms import AgreementForm, PeerForm

RECENT_RUNS = 20


def _peer(request: HttpRequest, slug: str) -> Peer:
    policy.require_can_manage_peers(request.user)
    return get_object_or_404(Peer, slug=slug)


def _apply_errors(form: Any, error: services.PeerError) -> None:
    for name, message in error.errors.items():
        form.add_error(name if name in form.fields else None, message)
    if not error.errors:
        form.add_error(None, error.message)


@login_required
def peer_list(request: HttpRequest) -> HttpResponse:
    policy.require_can_manage_peers(request.user)
    peers = Peer.objects.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__retracted_at__isnull=True))
    ).order_by("name")
    return render(request, "exchange/peers/list.html", {"peers": peers})


@login_required
@require_http_methods(["GET", "POST"])
def peer_create(request: HttpRequest) -> HttpResponse:
    policy.require_can_manage_peers(request.user)
    form = PeerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            peer = services.create_peer(request.user, form.to_data(), request=request)
        except services.PeerError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s was added. Set the agreements and issue its token next.")
                % {"name": peer.name},
            )
            return redirect("peers:detail", slug=peer.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "exchange/peers/form.html", {"form": form, "peer": None}, status=status)


def _render_detail(
    request: HttpRequest, peer: Peer, *, token: str = "", status: int = 200
) -> HttpResponse:
    agreements = {a.direction: a for a in peer.agreements.prefetch_related("working_groups")}
    deliveries = PeerDelivery.objects.filter(peer=peer)
    context = {
        "peer": peer,
        "token": token,
        "outbound": agreements.get(Agreement.Direction.OUTBOUND),
        "inbound": agreements.get(Agreement.Direction.INBOUND),
        "runs": peer.pull_runs.all()[:RECENT_RUNS],
        "reports_allowed": policy.reports_for_peer(peer).count(),
        "reports_delivered": deliveries.filter(retracted_at__isnull=True).count(),
        "reports_retracted": deliveries.filter(retracted_at__isnull=False).count(),
        "reports_from_peer": ReportOrigin.objects.filter(peer=peer).count(),
        "names_abroad": policy.peer_may_see_names(peer),
    }
    return render(request, "exchange/peers/detail.html", context, status=status)


@login_required
def peer_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _render_detail(request, _peer(request, slug))


@login_required
@require_http_methods(["GET", "POST"])
def peer_edit(request: HttpRequest, slug: str) -> HttpResponse:
    peer = _peer(request, slug)
    form = PeerForm(request.POST or None, peer=peer)
    if request.method == "POST" and form.is_valid():
        try:
            peer = services.update_peer(request.user, peer, form.to_data(), request=request)
        except services.PeerError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The peer's settings were saved."))
            return redirect("peers:detail", slug=peer.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "exchange/peers/form.html", {"form": form, "peer": peer}, status=status)


@login_required
@require_POST
def peer_token(request: HttpRequest, slug: str) -> HttpResponse:
    peer = _peer(request, slug)
    raw = services.issue_token(request.user, peer, request=request)
    # Shown on this response only; never stored or sent again.
    response = _render_detail(request, peer, token=raw)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def peer_pause(request: HttpRequest, slug: str) -> HttpResponse:
    peer = _peer(request, slug)
    services.set_active(request.user, peer, False, request=request)
    messages.success(request, _("The link with %(name)s is paused.") % {"name": peer.name})
    return redirect("peers:detail", slug=peer.slug)


@login_required
@require_POST
def peer_resume(request: HttpRequest, slug: str) -> HttpResponse:
    peer = _peer(request, slug)
    services.set_active(request.user, peer, True, request=request)
    messages.success(request, _("The link with %(name)s is active again.") % {"name": peer.name})
    return redirect("peers:detail", slug=peer.slug)


@login_required
@require_POST
def peer_pull(request: HttpRequest, slug: str) -> HttpResponse:
    peer = _peer(request, slug)
    try:
        services.request_pull(request.user, peer, request=request)
    except services.PeerError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("A pull from %(name)s was queued; this page shows it when it ran.")
            % {"name": peer.name},
        )
    return redirect("peers:detail", slug=peer.slug)


@login_required
@require_POST
def peer_reset(request: HttpRequest, slug: str) -> HttpResponse:
    peer = _peer(request, slug)
    services.reset_cursor(request.user, peer, request=request)
    messages.success(
        request,
        _("The next pull from %(name)s takes everything it serves us again.") % {"name": peer.name},
    )
    return redirect("peers:detail", slug=peer.slug)


def _direction(direction: str) -> str:
    if direction not in Agreement.Direction.values:
        raise Http404
    return direction


@login_required
@require_http_methods(["GET", "POST"])
def agreement_edit(request: HttpRequest, slug: str, direction: str) -> HttpResponse:
    peer = _peer(request, slug)
    direction = _direction(direction)
    agreement = Agreement.objects.filter(peer=peer, direction=direction).first()
    form = AgreementForm(request.POST or None, agreement=agreement, direction=direction)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_agreement(request.user, peer, direction, form.to_data(), request=request)
        except services.PeerError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The agreement was saved."))
            return redirect("peers:detail", slug=peer.slug)
    context = {
        "peer": peer,
        "form": form,
        "agreement": agreement,
        "direction": direction,
        "outbound": direction == Agreement.Direction.OUTBOUND,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "exchange/peers/agreement.html", context, status=status)


@login_required
@require_POST
def agreement_remove(request: HttpRequest, slug: str, direction: str) -> HttpResponse:
    peer = _peer(request, slug)
    direction = _direction(direction)
    try:
        services.remove_agreement(request.user, peer, direction, request=request)
    except services.PeerError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The agreement was ended."))
    return redirect("peers:detail", slug=peer.slug)
