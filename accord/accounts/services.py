"""Accounts: API tokens, platform roles, second factors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record

from .models import ApiToken, User, hash_token


class AccountError(Exception):
    """A request about an account that cannot be carried out; the message says why."""


@transaction.atomic
def create_token(
    user: User,
    *,
    name: str,
    can_write: bool = False,
    expires_in_days: int | None = 90,
    by: Any = None,
    request: Any = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its raw value, which is never stored."""
    name = name.strip()
    if not name:
        raise AccountError(_("Give the token a name so you can recognise it later."))
    limit = settings.ACCORD_TOKEN_MAX_DAYS
    if expires_in_days is None or not 1 <= expires_in_days <= limit:
        raise AccountError(_("A token must expire within 1 to %(days)d days.") % {"days": limit})
    raw, key_id, secret_hash = ApiToken.generate()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_id=key_id,
        secret_hash=secret_hash,
        can_write=can_write,
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
    )
    record(
        "token.created",
        f"API token '{name}' ({token.scope}) was created for {user.get_username()}",
        actor=by or user,
        target=token,
        data={"key_id": key_id, "scope": token.scope, "expires_at": token.expires_at.isoformat()},
        request=request,
    )
    return token, raw


@transaction.atomic
def revoke_token(token: ApiToken, *, by: Any, request: Any = None) -> ApiToken:
    if token.user_id != by.pk and not policy.is_coordinator(by):
        raise policy.NotVisible()
    if token.revoked_at is not None:
        raise AccountError(_("This token is already revoked."))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        "token.revoked",
        f"API token '{token.name}' of {token.user.get_username()} was revoked",
        actor=by,
        target=token,
        data={"key_id": token.key_id},
        request=request,
    )
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token with this value, or None. Records when it was last used."""
    if not raw or not raw.startswith("acc_"):
        return None
    token = (
        ApiToken.objects.usable()
        .select_related("user")
        .filter(secret_hash=hash_token(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Writing on every request would serialise API reads on SQLite; a minute is precise enough.
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def set_coordinator(user: User, *, is_coordinator: bool, by: Any, request: Any = None) -> User:
    if not policy.is_coordinator(by):
        raise policy.PolicyDenied(_("Only coordinators can appoint coordinators."))
    if user.pk == by.pk and not is_coordinator:
        raise AccountError(_("You cannot remove your own coordinator role."))
    if user.is_coordinator == is_coordinator:
        return user
    user.is_coordinator = is_coordinator
    user.save(update_fields=["is_coordinator"])
    record(
        "account.coordinator_changed",
        f"{user.get_username()} is {'now' if is_coordinator else 'no longer'} a coordinator",
        actor=by,
        target=user,
        data={"is_coordinator": is_coordinator},
        request=request,
    )
    return user
