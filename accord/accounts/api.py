"""JSON API for accounts (mounted under /api/v1/ by accord.api).

``/me`` and ``/tokens`` are about the caller; ``/people`` is the coordinators'
view of every account.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from accord import policy
from accord.core.pagination import BoundedPagination

from . import services
from .models import ApiToken, User

router = Router(tags=["accounts"])

KEY_ID = re.compile(r"[0-9a-f]{1,16}")


# --- Schemas -------------------------------------------------------------------------


class MembershipOut(Schema):
    organisation: str = Field(description="The organisation's short name (slug).")
    name: str
    roles: list[str] = Field(description="Any of: representative, analyst, org_admin.")


class StandingOut(Schema):
    good: bool = Field(description="Whether restricted material is open to this person.")
    reason: str = Field(description="Why not, when it is not.")


class MeOut(Schema):
    username: str
    full_name: str
    email: str
    timezone: str
    is_coordinator: bool
    memberships: list[MembershipOut]
    standing: StandingOut


class TokenOut(Schema):
    key_id: str
    name: str
    user: str = Field(description="Username of the token's owner.")
    scope: str = Field(description="read-only or read-write.")
    can_write: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    state: str = Field(description="active, expired or revoked.")

    @staticmethod
    def resolve_user(obj: ApiToken) -> str:
        return obj.user.get_username()

    @staticmethod
    def resolve_state(obj: ApiToken) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "active" if obj.is_usable else "expired"


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself. Shown only in this response.")


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    can_write: bool = False
    expires_in_days: int = Field(90, ge=1, le=100_000)


class PersonOut(Schema):
    username: str
    full_name: str
    email: str
    is_active: bool
    is_coordinator: bool
    memberships: list[MembershipOut]

    @staticmethod
    def resolve_memberships(obj: User) -> list[dict[str, Any]]:
        return _memberships(obj)


class PersonPatch(Schema):
    is_coordinator: bool


def _memberships(user: User) -> list[dict[str, Any]]:
    result = []
    for m in policy.active_memberships(user):
        roles = [
            code
            for code, held in (
                ("representative", m.is_representative),
                ("analyst", m.is_analyst),
                ("org_admin", m.is_org_admin),
            )
            if held
        ]
        result.append(
            {"organisation": m.organisation.slug, "name": m.organisation.name, "roles": roles}
        )
    return result


def _require_coordinator(user: Any, message: str) -> None:
    if not policy.is_coordinator(user):
        raise policy.PolicyDenied(message)


# --- The caller ------------------------------------------------------------------------


@router.get("/me", response=MeOut, summary="Who you are")
def me(request: HttpRequest) -> dict[str, Any]:
    user = request.auth  # type: ignore[attr-defined]
    state = policy.standing(user)
    return {
        "username": user.get_username(),
        "full_name": user.full_name,
        "email": user.email,
        "timezone": user.timezone,
        "is_coordinator": policy.is_coordinator(user),
        "memberships": _memberships(user),
        "standing": {"good": state.good, "reason": str(state.reason)},
    }


# --- API tokens ---------------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut], summary="Your API tokens")
@paginate(BoundedPagination)
def list_tokens(request: HttpRequest) -> Any:
    return ApiToken.objects.filter(user=request.auth).select_related("user")  # type: ignore[attr-defined]


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token")
def create_token(request: HttpRequest, payload: TokenIn) -> Status:
    user = request.auth  # type: ignore[attr-defined]
    try:
        token, raw = services.create_token(
            user,
            name=payload.name,
            can_write=payload.can_write,
            expires_in_days=payload.expires_in_days,
            request=request,
        )
    except services.AccountError as exc:
        raise HttpError(400, str(exc)) from exc
    token.token = raw  # type: ignore[attr-defined]  # for this response only, never saved
    return Status(201, token)


@router.delete("/tokens/{key_id}", response=TokenOut, summary="Revoke an API token")
def revoke_token(request: HttpRequest, key_id: str) -> ApiToken:
    """Revoke one of your tokens. Coordinators may revoke anyone's."""
    user = request.auth  # type: ignore[attr-defined]
    token = None
    if KEY_ID.fullmatch(key_id):
        token = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
    if token is None or (token.user_id != user.pk and not policy.is_coordinator(user)):
        raise policy.NotVisible()
    try:
        services.revoke_token(token, by=user, request=request)
    except services.AccountError as exc:
        raise HttpError(409, str(exc)) from exc
    return token


# --- People (coordinators) -------------------------------------------------------------------


@router.get("/people", response=list[PersonOut], summary="Everyone with an account")
@paginate(BoundedPagination)
def list_people(request: HttpRequest) -> Any:
    _require_coordinator(request.auth, _("Only coordinators can list everyone's accounts."))  # type: ignore[attr-defined]
    return User.objects.order_by("username")


@router.patch("/people/{username}", response=PersonOut, summary="Appoint or remove a coordinator")
def update_person(request: HttpRequest, username: str, payload: PersonPatch) -> User:
    by = request.auth  # type: ignore[attr-defined]
    _require_coordinator(by, _("Only coordinators can appoint coordinators."))
    person = User.objects.filter(username=username).first()
    if person is None:
        raise policy.NotVisible()
    try:
        services.set_coordinator(
            person, is_coordinator=payload.is_coordinator, by=by, request=request
        )
    except services.AccountError as exc:
        raise HttpError(409, str(exc)) from exc
    return person
