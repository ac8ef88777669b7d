"""Web pages for accounts: signing in, the second factor, the profile and API tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from axes.helpers import get_lockout_response
from axes.utils import reset as reset_lockout
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from accord import policy
from accord.audit.services import record

from . import services
from .forms import CodeForm, LoginForm, ProfileForm, TokenForm
from .middleware import has_confirmed_device
from .models import ApiToken

View = Callable[..., HttpResponse]


# --- Helpers ---------------------------------------------------------------------


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` URL if it stays on this site, else the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _to(view: str, next_url: str) -> str:
    return f"{reverse(view)}?{urlencode({'next': next_url})}"


def _second_factor_step(request: HttpRequest, next_url: str) -> str | None:
    """Where a signed-in person must go before anything else, if anywhere."""
    user = request.user
    # django-otp adds is_verified() to the user it loads; a user signed in during
    # this very request has not given a second factor yet.
    if getattr(user, "is_verified", lambda: False)():
        return None
    if has_confirmed_device(user):
        return _to("accounts:verify_otp", next_url)
    if policy.requires_two_factor(user):
        return _to("accounts:enrol_otp", next_url)
    return None


def second_factor_required(view: View) -> View:
    """The middleware leaves /accounts/ open so people can finish signing in;
    pages here that change the account (tokens, password, profile) must not be
    reachable with the password alone."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        step = _second_factor_step(request, request.get_full_path())
        if step:
            return redirect(step)
        return view(request, *args, **kwargs)

    return wrapped


# --- Signing in --------------------------------------------------------------------


def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        # django-axes flags the request once the failure limit is reached; its
        # middleware would swap in the same page, but we do not rely on order.
        if getattr(request, "axes_locked_out", False):
            return get_lockout_response(request, None, getattr(request, "axes_credentials", None))
        if user is None:
            form.add_error(None, _("The username or password is not right."))
        else:
            auth_login(request, user)
            next_url = _safe_next(request)
            return redirect(_second_factor_step(request, next_url) or next_url)
    next_param = request.POST.get("next") or request.GET.get("next") or ""
    return render(request, "accounts/login.html", {"form": form, "next": next_param})


@login_required
def verify_otp(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _safe_next(request)
    if user.is_verified():  # type: ignore[union-attr]
        return redirect(next_url)
    if not has_confirmed_device(user):
        return redirect(_second_factor_step(request, next_url) or next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            record(
                "auth.second_factor",
                f"{user.get_username()} gave the second factor",
                actor=user,
                request=request,
            )
            return redirect(next_url)
        record(
            "auth.second_factor_failed",
            f"{user.get_username()} entered a wrong second-factor code",
            actor=user,
            request=request,
        )
        form.add_error(
            "code",
            _(
                "That code is not valid. Check that your phone's clock is right and enter "
                "the newest code. After several wrong codes, wait a little before trying again."
            ),
        )
    return render(request, "accounts/verify_otp.html", {"form": form, "next": next_url})


@login_required
def enrol_otp(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = _safe_next(request)
    if has_confirmed_device(user):
        return redirect("accounts:profile")
    # Reuse the pending device so reloading the page does not invalidate a scanned QR code.
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                # Only one app per person: drop any other pending devices.
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                record(
                    "auth.second_factor_enrolled",
                    f"{user.get_username()} set up two-factor authentication",
                    actor=user,
                    request=request,
                )
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect(next_url)
        form.add_error(
            "code",
            _("That code does not match. Scan the QR code again and enter the newest code."),
        )
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    # segno escapes the title; the SVG holds nothing but the generated path.
    qr_svg = mark_safe(  # noqa: S308
        segno.make(device.config_url).svg_inline(
            scale=4, omitsize=True, title=_("QR code for your authenticator app")
        )
    )
    context = {
        "form": form,
        "next": next_url,
        "secret": secret,
        "qr_svg": qr_svg,
        "required": policy.requires_two_factor(user),
    }
    return render(request, "accounts/enrol_otp.html", context)


@require_POST
@second_factor_required
def remove_otp(request: HttpRequest) -> HttpResponse:
    user = request.user
    if policy.requires_two_factor(user):
        raise policy.PolicyDenied(
            _("Your role requires two-factor authentication, so it cannot be turned off.")
        )
    with transaction.atomic():
        deleted, _rows = TOTPDevice.objects.filter(user=user).delete()
        if deleted:
            record(
                "auth.second_factor_removed",
                f"{user.get_username()} turned off two-factor authentication",
                actor=user,
                request=request,
            )
    messages.success(request, _("Two-factor authentication is off."))
    return redirect("accounts:profile")


# --- Profile -------------------------------------------------------------------------


@second_factor_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile was saved."))
        return redirect("accounts:profile")
    context = {
        "form": form,
        "memberships": policy.active_memberships(user),
        "has_device": has_confirmed_device(user),
        "requires_two_factor": policy.requires_two_factor(user),
        "is_coordinator": policy.is_coordinator(user),
    }
    return render(request, "accounts/profile.html", context)


# --- API tokens ----------------------------------------------------------------------


@second_factor_required
def tokens(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = TokenForm(request.POST or None)
    new_token = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = services.create_token(
                user,
                name=form.cleaned_data["name"],
                can_write=form.cleaned_data["can_write"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                request=request,
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            # The raw value is rendered once, straight into this response; it is
            # never put in the session or a message, where it would outlive the page.
            form = TokenForm()
            status = 201
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": ApiToken.objects.filter(user=user),
        "api_url": f"{settings.SITE_URL}/api/v1/",
    }
    return render(request, "accounts/tokens.html", context, status=status)


@require_POST
@second_factor_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(user=request.user, pk=pk).first()
    if token is None:
        raise policy.NotVisible()
    try:
        services.revoke_token(token, by=request.user, request=request)
    except services.AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The token '%(name)s' was revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


# --- Passwords ------------------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    @property
    def extra_email_context(self) -> dict[str, str]:  # type: ignore[override]
        # The link is built from the configured address, not the request's Host header.
        return {"site_url": settings.SITE_URL, "network_name": settings.NETWORK_NAME}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user = form.user
        # The owner of the mailbox proved who they are: lift any sign-in lock-out.
        reset_lockout(username=user.get_username())
        record(
            "auth.password_reset",
            f"{user.get_username()} set a new password through a reset link",
            actor=user,
            request=self.request,
        )
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        record(
            "auth.password_changed",
            f"{self.request.user.get_username()} changed their password",
            actor=self.request.user,
            request=self.request,
        )
        messages.success(self.request, _("Your password was changed."))
        return response


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html"
)
password_change = second_factor_required(PasswordChangeView.as_view())
logout_view = auth_views.LogoutView.as_view()
