"""The JSON API: one NinjaAPI, one router per app, one place that maps errors.

Authentication is Ninja's job (bearer token or session); what an
authenticated caller may see is the access policy's (``accord.policy``).
Every error is JSON ``{"detail": ...}`` with a 4xx status.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import APIKeyCookie, HttpBearer

from accord import policy
from accord.accounts.services import authenticate_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class ReadOnlyToken(Exception):
    pass


class SecondFactorNeeded(Exception):
    pass


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer acc_…``. Read-only tokens may only read."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        if request.method not in SAFE_METHODS and not api_token.can_write:
            raise ReadOnlyToken()
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The browser session, with CSRF protection for unsafe methods, and only once
    the second factor was given where the person has or needs one."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        from accord.accounts.middleware import has_confirmed_device

        if not user.is_verified() and (
            has_confirmed_device(user) or policy.requires_two_factor(user)
        ):
            raise SecondFactorNeeded()
        return user


api = NinjaAPI(
    title="Accord API",
    version="1",
    description=(
        "The JSON API of an Accord installation. Authenticate with a personal API "
        "token (`Authorization: Bearer …`) or a browser session. Errors are "
        '`{"detail": …}` with a 4xx status.'
    ),
    urls_namespace="api",
    auth=[BearerTokenAuth(), SessionAuth()],
    docs_url="/docs",
)


def _detail(request: HttpRequest, message: Any, status: int) -> HttpResponse:
    return api.create_response(request, {"detail": message}, status=status)


@api.exception_handler(policy.PolicyDenied)
def on_policy_denied(request: HttpRequest, exc: policy.PolicyDenied) -> HttpResponse:
    return _detail(request, exc.message, exc.status)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _detail(request, _("Not found."), 404)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _detail(
        request, _("Authentication required: send a valid API token or sign in."), 401
    )
    response["WWW-Authenticate"] = 'Bearer realm="accord"'
    return response


@api.exception_handler(ReadOnlyToken)
def on_read_only(request: HttpRequest, exc: ReadOnlyToken) -> HttpResponse:
    return _detail(
        request, _("This API token is read-only; create a read-write token to change data."), 403
    )


@api.exception_handler(SecondFactorNeeded)
def on_second_factor(request: HttpRequest, exc: SecondFactorNeeded) -> HttpResponse:
    return _detail(request, _("Finish two-factor sign-in in the browser first."), 403)


@api.exception_handler(ValidationError)
def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _detail(request, exc.errors, 422)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _detail(request, str(exc), exc.status_code)


def _mount() -> None:
    from accord.accounts.api import router as accounts_router
    from accord.audit.api import router as audit_router
    from accord.contacts.api import router as contacts_router
    from accord.exchange.api_export import router as stix_export_router
    from accord.exchange.api_import import router as stix_import_router
    from accord.exchange.api_misp import router as misp_router
    from accord.exchange.api_peers import router as peers_router
    from accord.membership.api import router as membership_router
    from accord.rules.api import router as rules_router
    from accord.sharing.api import router as sharing_router
    from accord.sharing.api_notifications import router as notifications_router
    from accord.workgroups.api import router as workgroups_router

    api.add_router("/", accounts_router)
    api.add_router("/", membership_router)
    api.add_router("/", rules_router)
    api.add_router("/", workgroups_router)
    api.add_router("/", audit_router)
    api.add_router("/", sharing_router)
    api.add_router("/", notifications_router)
    api.add_router("/", contacts_router)
    api.add_router("/", misp_router)
    api.add_router("/", stix_export_router)
    api.add_router("/", stix_import_router)
    api.add_router("/", peers_router)


_mount()
