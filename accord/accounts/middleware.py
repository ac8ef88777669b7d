"""Enforce the two-factor policy for web sessions."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accord import policy

# Paths a signed-in person can reach before finishing the second factor.
EXEMPT_PREFIXES = (
    "/accounts/",
    "/static/",
    "/api/",
    "/invitations/",
    "/i18n/",
    "/contacts/ack/",  # a contact acknowledging a check by its link, signed in or not
    "/taxii2/",  # TAXII clients authenticate each request; they have no session
)


def has_confirmed_device(user: object) -> bool:
    from django_otp import user_has_device

    return user_has_device(user, confirmed=True)


class TwoFactorMiddleware:
    """A person with a TOTP device must enter a code after the password; a person
    whom the policy obliges to use 2FA but who has no device must enrol first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        pending = (
            user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
        )
        if pending and has_confirmed_device(user):
            return redirect(_with_next("accounts:verify_otp", request))
        if pending and policy.requires_two_factor(user):
            return redirect(_with_next("accounts:enrol_otp", request))
        return self.get_response(request)


def _with_next(view: str, request: HttpRequest) -> str:
    return f"{reverse(view)}?{urlencode({'next': request.get_full_path()})}"
