"""JSON API for peer installations and their agreements (coordinators only),
mounted under /api/v1/ by accord.api.

The same services as the pages: a ``PeerError`` is a 422 when it names fields
and a 400 otherwise. A peer's secrets are never returned: the token a peer
signs in with is shown once, in the answer that issues it.

No ``from __future__ import annotations`` here: Ninja reads the annotations at
run time.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StrictBool, StrictInt

from accord import policy
from accord.exchange.models import Agreement, Peer, PeerDelivery, PeerPullRun, ReportOrigin
from accord.exchange.peers import services
from accord.sharing.models import Kind

router = Router(tags=["peers"])

KindCode = Literal["incident", "vulnerability", "advisory", "measure"]
# All five, so that AMBER+STRICT and RED get the agreement's own explanation.
MarkingCode = Literal["clear", "green", "amber", "amber+strict", "red"]
DirectionCode = Literal["outbound", "inbound"]


class PeerIn(Schema):
    name: str = Field(..., max_length=120)
    slug: str = Field("", max_length=60, description="sign-in name of the peer here")
    country: str = Field(..., max_length=2, description="ISO 3166-1 alpha-2 code")
    api_root_url: str = Field(..., max_length=500, description="the peer's TAXII API root")
    collection_id: str = Field("", max_length=64, description="empty: the first readable one")
    remote_username: str = Field("", max_length=150)
    remote_secret: str = Field("", max_length=300, description="our token at the peer")
    pull_every_minutes: StrictInt = 15


class PeerPatch(Schema):
    name: str | None = Field(None, max_length=120)
    slug: str | None = Field(None, max_length=60)
    country: str | None = Field(None, max_length=2)
    api_root_url: str | None = Field(None, max_length=500)
    collection_id: str | None = Field(None, max_length=64)
    remote_username: str | None = Field(None, max_length=150)
    remote_secret: str | None = Field(None, max_length=300, description="left out: kept")
    pull_every_minutes: StrictInt | None = None


class PeerOut(Schema):
    name: str
    slug: str
    country: str
    api_root_url: str
    collection_id: str
    remote_username: str
    has_remote_secret: bool
    has_token: bool
    active: bool
    pull_every_minutes: int
    cursor: str
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str
    consecutive_failures: int
    next_pull_at: dt.datetime | None
    objects_received: int
    reports_received: int


class AgreementIn(Schema):
    kinds: list[KindCode] = Field(default_factory=lambda: list(Kind.values), max_length=4)
    highest_marking: MarkingCode = "green"
    name_reporters: StrictBool = False
    working_groups: list[str] = Field(
        default_factory=list, max_length=200, description="working-group slugs"
    )
    pass_on_third_party: StrictBool = False


class AgreementOut(Schema):
    direction: str
    kinds: list[str]
    highest_marking: str
    name_reporters: bool
    working_groups: list[str]
    pass_on_third_party: bool
    updated_at: dt.datetime


class PullRunOut(Schema):
    started_at: dt.datetime
    finished_at: dt.datetime | None
    trigger: str
    ok: bool | None
    cursor_before: str
    cursor_after: str
    pages: int
    objects_received: int
    objects_refused: int
    objects_accepted: int
    objects_failed: int
    reports_created: int
    reports_updated: int
    reports_withdrawn: int
    error: str


class PeerDetailOut(PeerOut):
    outbound: AgreementOut | None
    inbound: AgreementOut | None
    reports_allowed: int
    reports_delivered: int
    reports_retracted: int
    reports_from_peer: int
    recent_pulls: list[PullRunOut]


class TokenOut(Schema):
    username: str = Field(..., description="the peer signs in to our TAXII server with this")
    token: str = Field(..., description="shown once; only its hash is kept")


class QueuedOut(Schema):
    detail: str


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except services.PeerError as exc:
        raise HttpError(422 if exc.errors else 400, exc.as_detail()) from exc


def _coordinator(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    policy.require_can_manage_peers(user)
    return user


def _peer(request: HttpRequest, slug: str) -> tuple[Any, Peer]:
    user = _coordinator(request)
    return user, get_object_or_404(Peer, slug=slug)


def _peer_out(peer: Peer) -> dict[str, Any]:
    return {
        "name": peer.name,
        "slug": peer.slug,
        "country": peer.country.code,
        "api_root_url": peer.api_root_url,
        "collection_id": peer.collection_id,
        "remote_username": peer.remote_username,
        "has_remote_secret": bool(peer.remote_secret),
        "has_token": bool(peer.inbound_token_hash),
        "active": peer.active,
        "pull_every_minutes": peer.pull_every_minutes,
        "cursor": peer.cursor,
        "last_attempt_at": peer.last_attempt_at,
        "last_success_at": peer.last_success_at,
        "last_error": peer.last_error,
        "consecutive_failures": peer.consecutive_failures,
        "next_pull_at": peer.next_pull_at,
        "objects_received": peer.objects_received,
        "reports_received": peer.reports_received,
    }


def _agreement_out(agreement: Agreement | None) -> dict[str, Any] | None:
    if agreement is None:
        return None
    return {
        "direction": agreement.direction,
        **services.agreement_summary(agreement),
        "updated_at": agreement.updated_at,
    }


def _detail(peer: Peer) -> dict[str, Any]:
    agreements = {a.direction: a for a in peer.agreements.all()}
    deliveries = PeerDelivery.objects.filter(peer=peer)
    runs = PeerPullRun.objects.filter(peer=peer)[:20]
    return {
        **_peer_out(peer),
        "outbound": _agreement_out(agreements.get(Agreement.Direction.OUTBOUND)),
        "inbound": _agreement_out(agreements.get(Agreement.Direction.INBOUND)),
        "reports_allowed": policy.reports_for_peer(peer).count(),
        "reports_delivered": deliveries.filter(retracted_at__isnull=True).count(),
        "reports_retracted": deliveries.filter(retracted_at__isnull=False).count(),
        "reports_from_peer": ReportOrigin.objects.filter(peer=peer).count(),
        "recent_pulls": list(runs),
    }


@router.get("/peers", response=list[PeerOut], summary="Peer installations (coordinators)")
def list_peers(request: HttpRequest) -> list[dict[str, Any]]:
    _coordinator(request)
    return [_peer_out(peer) for peer in Peer.objects.order_by("name")]


@router.post("/peers", response={201: PeerOut}, summary="Add a peer installation")
def create_peer(request: HttpRequest, payload: PeerIn) -> Status:
    user = _coordinator(request)
    data = services.PeerData(**payload.dict())
    with _refusals():
        peer = services.create_peer(user, data, request=request)
    return Status(201, _peer_out(peer))


@router.get("/peers/{slug}", response=PeerDetailOut, summary="A peer with its status")
def get_peer(request: HttpRequest, slug: str) -> dict[str, Any]:
    _user, peer = _peer(request, slug)
    return _detail(peer)


@router.patch("/peers/{slug}", response=PeerOut, summary="Change a peer's settings")
def update_peer(request: HttpRequest, slug: str, payload: PeerPatch) -> dict[str, Any]:
    user, peer = _peer(request, slug)
    given = payload.dict(exclude_unset=True)
    if any(value is None for name, value in given.items() if name != "remote_secret"):
        raise HttpError(422, _("Leave a setting out to keep it; null is not a value."))
    current = {
        "name": peer.name,
        "slug": peer.slug,
        "country": peer.country.code,
        "api_root_url": peer.api_root_url,
        "collection_id": peer.collection_id,
        "remote_username": peer.remote_username,
        "remote_secret": None,
        "pull_every_minutes": peer.pull_every_minutes,
    }
    with _refusals():
        peer = services.update_peer(
            user, peer, services.PeerData(**{**current, **given}), request=request
        )
    return _peer_out(peer)


@router.post("/peers/{slug}/token", response=TokenOut, summary="Issue or replace its token")
def issue_token(request: HttpRequest, slug: str) -> dict[str, str]:
    user, peer = _peer(request, slug)
    raw = services.issue_token(user, peer, request=request)
    return {"username": peer.slug, "token": raw}


@router.post("/peers/{slug}/pause", response=PeerOut, summary="Pause the link")
def pause(request: HttpRequest, slug: str) -> dict[str, Any]:
    user, peer = _peer(request, slug)
    return _peer_out(services.set_active(user, peer, False, request=request))


@router.post("/peers/{slug}/resume", response=PeerOut, summary="Resume the link")
def resume(request: HttpRequest, slug: str) -> dict[str, Any]:
    user, peer = _peer(request, slug)
    return _peer_out(services.set_active(user, peer, True, request=request))


@router.post("/peers/{slug}/pull", response={202: QueuedOut}, summary="Pull now")
def pull_now(request: HttpRequest, slug: str) -> Status:
    user, peer = _peer(request, slug)
    with _refusals():
        services.request_pull(user, peer, request=request)
    return Status(202, {"detail": _("A pull was queued.")})


@router.post(
    "/peers/{slug}/reset-cursor", response=PeerOut, summary="Take everything again next pull"
)
def reset_cursor(request: HttpRequest, slug: str) -> dict[str, Any]:
    user, peer = _peer(request, slug)
    return _peer_out(services.reset_cursor(user, peer, request=request))


@router.get("/peers/{slug}/pulls", response=list[PullRunOut], summary="Recent pulls")
def pulls(request: HttpRequest, slug: str) -> Any:
    _user, peer = _peer(request, slug)
    return list(PeerPullRun.objects.filter(peer=peer)[:100])


@router.get(
    "/peers/{slug}/agreements/{direction}",
    response=AgreementOut,
    summary="One direction's agreement",
)
def get_agreement(request: HttpRequest, slug: str, direction: DirectionCode) -> dict[str, Any]:
    _user, peer = _peer(request, slug)
    agreement = get_object_or_404(Agreement, peer=peer, direction=direction)
    return _agreement_out(agreement) or {}


@router.put(
    "/peers/{slug}/agreements/{direction}",
    response=AgreementOut,
    summary="Set one direction's agreement (outbound narrowing retracts at once)",
)
def set_agreement(
    request: HttpRequest, slug: str, direction: DirectionCode, payload: AgreementIn
) -> dict[str, Any]:
    user, peer = _peer(request, slug)
    data = services.AgreementData(
        kinds=list(payload.kinds),
        highest_marking=payload.highest_marking,
        name_reporters=payload.name_reporters,
        working_groups=list(payload.working_groups),
        pass_on_third_party=payload.pass_on_third_party,
    )
    with _refusals():
        agreement = services.set_agreement(user, peer, direction, data, request=request)
    return _agreement_out(agreement) or {}


@router.delete(
    "/peers/{slug}/agreements/{direction}",
    response={204: None},
    summary="End one direction's agreement",
)
def remove_agreement(request: HttpRequest, slug: str, direction: DirectionCode) -> Status:
    user, peer = _peer(request, slug)
    with _refusals():
        services.remove_agreement(user, peer, direction, request=request)
    return Status(204, None)
