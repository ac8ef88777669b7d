"""Who is calling: a person with an API token, or a peer installation.

- HTTP Basic with a user name and one of that person's API tokens as the password;
- HTTP Basic with a peer's slug and the inbound token we issued to that peer;
- ``Authorization: Bearer <API token>``.

No sessions or cookies: a browser's session is ignored here, which is why the
views need no CSRF protection.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from accord.accounts.models import hash_token
from accord.accounts.services import authenticate_token

from . import conf
from .media import TaxiiError


@dataclass
class Principal:
    """The authenticated caller: exactly one of ``user`` and ``peer``."""

    user: Any = None
    peer: Any = None
    # Whether the credential may change data (read-only API tokens may not).
    token_can_write: bool = False

    @property
    def is_peer(self) -> bool:
        return self.peer is not None


def challenge() -> str:
    return f'Basic realm="{conf.network_name()} TAXII", charset="UTF-8"'


def unauthorized(description: str) -> TaxiiError:
    return TaxiiError(
        401,
        "Authentication required",
        description,
        code="unauthorized",
        headers={"WWW-Authenticate": challenge()},
    )


def authenticate(request: HttpRequest) -> Principal | None:
    """The caller, None without credentials; 401 for credentials that do not work."""
    header = request.META.get("HTTP_AUTHORIZATION", "").strip()
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        username, password = _basic_credentials(credentials.strip())
        # API tokens first: they are what most callers send, and one query finds them.
        principal = _user(username, password) or _peer(username, password)
    elif scheme == "bearer":
        principal = _user(None, credentials.strip())
    else:
        raise unauthorized("Use HTTP Basic (user name and API token) or a Bearer API token.")
    if principal is None:
        raise unauthorized("The user name and token are not valid together.")
    if principal.user is not None:
        # Audit entries and the security headers middleware read request.user.
        request.user = principal.user
    return principal


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise unauthorized("The Basic credentials are not base64 of 'name:token'.") from exc
    username, separator, password = decoded.partition(":")
    if not separator or not username or not password:
        raise unauthorized("The Basic credentials must be 'name:token'.")
    return username, password


def _peer(slug: str, secret: str) -> Principal | None:
    from accord.exchange.models import Peer

    peer = Peer.objects.filter(slug=slug, active=True).exclude(inbound_token_hash="").first()
    if peer is None or not hmac.compare_digest(hash_token(secret), peer.inbound_token_hash):
        return None
    return Principal(peer=peer)


def _user(username: str | None, raw_token: str) -> Principal | None:
    token = authenticate_token(raw_token)
    if token is None:
        return None
    if username is not None and token.user.get_username() != username:
        return None
    return Principal(user=token.user, token_can_write=token.can_write)
