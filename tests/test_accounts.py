"""Signing in, lock-out, the second factor, the profile, passwords and time zones."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accord.audit.models import AuditEntry
from tests import factories as f

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client: Any, username: str, password: str = f.PASSWORD, **extra: str) -> Any:
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"


def is_verified(client: Any) -> bool:
    return "otp_device_id" in client.session


# --- Signing in -------------------------------------------------------------------------


def test_url_names_are_the_agreed_ones() -> None:
    assert reverse("accounts:login") == "/accounts/login/"
    assert reverse("accounts:logout") == "/accounts/logout/"
    assert reverse("accounts:verify_otp") == "/accounts/2fa/verify/"
    assert reverse("accounts:enrol_otp") == "/accounts/2fa/enrol/"
    assert reverse("accounts:profile") == "/accounts/profile/"
    assert reverse("accounts:tokens") == "/accounts/tokens/"
    assert reverse("accounts:token_revoke", args=[3]) == "/accounts/tokens/3/revoke/"
    for name in (
        "password_reset",
        "password_reset_done",
        "password_reset_complete",
        "password_change",
    ):
        reverse(f"accounts:{name}")


def test_login_page(client: Any) -> None:
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html
    assert "Sign in</button>" in html
    assert reverse("accounts:password_reset") in html
    assert reverse("membership:apply") in html
    assert "Apply for membership" in html


def test_login_success_goes_to_next_or_dashboard(client: Any, analyst: Any) -> None:
    response = sign_in(client, "ana", next="/rules/")
    assert response.status_code == 302
    assert response["Location"] == "/rules/"
    assert client.session["_auth_user_id"] == str(analyst.pk)
    assert AuditEntry.objects.filter(action="auth.signed_in", actor=analyst).exists()


def test_login_refuses_offsite_next(client: Any, analyst: Any) -> None:
    response = sign_in(client, "ana", next="https://evil.example/steal")
    assert response["Location"] == reverse("core:dashboard")


def test_login_failure(client: Any, analyst: Any) -> None:
    response = sign_in(client, "ana", "wrong password")
    assert response.status_code == 200
    assert "The username or password is not right." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.sign_in_failed").count() == 1


def test_login_empty_form_shows_field_errors(client: Any) -> None:
    response = client.post(LOGIN, {"username": "", "password": ""})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()


def test_lockout_after_failures(client: Any, analyst: Any) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for _ in range(limit - 1):
        assert sign_in(client, "ana", "wrong password").status_code == 200
    # The failure that reaches the limit already shows the lock-out page.
    response = sign_in(client, "ana", "wrong password")
    assert response.status_code == 429
    assert "Sign-in is locked for now" in response.content.decode()
    # The right password does not help while locked out.
    response = sign_in(client, "ana")
    assert response.status_code == 429
    assert "Sign-in is locked for now" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.sign_in_failed").count() >= limit


def test_already_signed_in_skips_login(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    assert client.get(LOGIN)["Location"] == reverse("core:dashboard")


def test_logout_is_post_only(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_session_expiry_is_configured() -> None:
    assert 0 < settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_HTTPONLY


# --- Second factor -------------------------------------------------------------------------


def test_representative_without_device_must_enrol(client: Any, representative: Any) -> None:
    response = sign_in(client, "rep", next="/rules/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:enrol_otp"))
    # Every other page sends them back to enrolment until they finish.
    assert client.get("/dashboard/")["Location"].startswith(reverse("accounts:enrol_otp"))
    assert client.get("/accounts/tokens/")["Location"].startswith(reverse("accounts:enrol_otp"))

    page = client.get(response["Location"])
    html = page.content.decode()
    assert '<div class="qr"><svg' in html
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=representative)
    assert not device.confirmed
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key

    # A wrong code changes nothing.
    enrol = reverse("accounts:enrol_otp")
    bad = client.post(enrol, {"code": wrong_code(device), "next": "/rules/"})
    assert bad.status_code == 200
    assert "That code does not match" in bad.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    device.throttle_reset()  # a wrong code makes the next try wait a second

    code = f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"
    done = client.post(reverse("accounts:enrol_otp"), {"code": code, "next": "/rules/"})
    assert done.status_code == 302
    assert done["Location"] == "/rules/"
    device.refresh_from_db()
    assert device.confirmed
    assert is_verified(client)
    assert client.get("/dashboard/").status_code == 200
    assert AuditEntry.objects.filter(
        action="auth.second_factor_enrolled", actor=representative
    ).exists()


def test_enrol_reuses_pending_device(client: Any, representative: Any) -> None:
    f.login(client, representative, verified=False)
    first = client.get(reverse("accounts:enrol_otp"))
    second = client.get(reverse("accounts:enrol_otp"))
    assert first.status_code == second.status_code == 200
    assert TOTPDevice.objects.filter(user=representative).count() == 1


def test_enrol_with_confirmed_device_goes_to_profile(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    assert client.get(reverse("accounts:enrol_otp"))["Location"] == reverse("accounts:profile")


def test_user_with_device_must_verify(client: Any, analyst: Any) -> None:
    device = f.confirmed_device(analyst)
    response = sign_in(client, "ana", next="/rules/")
    assert response["Location"].startswith(reverse("accounts:verify_otp"))
    assert client.get("/dashboard/")["Location"].startswith(reverse("accounts:verify_otp"))

    page = client.get(response["Location"])
    assert 'name="code"' in page.content.decode()
    assert "Verify</button>" in page.content.decode()

    verify = reverse("accounts:verify_otp")
    bad = client.post(verify, {"code": wrong_code(device), "next": "/rules/"})
    assert bad.status_code == 200
    assert "That code is not valid" in bad.content.decode()
    assert not is_verified(client)
    assert AuditEntry.objects.filter(action="auth.second_factor_failed", actor=analyst).exists()

    malformed = client.post(reverse("accounts:verify_otp"), {"code": "12ab56"})
    assert "Enter the six digits" in malformed.content.decode()

    device.refresh_from_db()
    device.throttle_reset()  # the wrong code above would otherwise make us wait
    good = client.post(verify, {"code": code_for(device), "next": "/rules/"})
    assert good.status_code == 302
    assert good["Location"] == "/rules/"
    assert is_verified(client)
    assert client.get("/dashboard/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.second_factor", actor=analyst).exists()


def test_verify_refuses_offsite_next(client: Any, analyst: Any) -> None:
    device = f.confirmed_device(analyst)
    f.login(client, analyst, verified=False)
    response = client.post(
        reverse("accounts:verify_otp"), {"code": code_for(device), "next": "//evil.example/"}
    )
    assert response["Location"] == reverse("core:dashboard")


def test_verify_requires_sign_in(client: Any) -> None:
    response = client.get(reverse("accounts:verify_otp"))
    assert response["Location"].startswith(LOGIN)


# --- Profile ------------------------------------------------------------------------------


def test_profile_shows_account(client: Any, representative: Any, member_org: Any) -> None:
    f.login(client, representative)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "Rita Representative" in html
    assert "rep@example.test" in html
    assert member_org.name in html
    assert "representative" in html
    assert "Two-factor authentication is on." in html
    assert reverse("accounts:password_change") in html
    assert reverse("accounts:tokens") in html
    # Their role requires 2FA: no button to turn it off.
    assert reverse("accounts:remove_otp") not in html


def test_profile_change_and_bad_input(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    response = client.post(
        reverse("accounts:profile"), {"full_name": "Ana B. Analyst", "timezone": "Europe/Paris"}
    )
    assert response.status_code == 302
    analyst.refresh_from_db()
    assert (analyst.full_name, analyst.timezone) == ("Ana B. Analyst", "Europe/Paris")

    response = client.post(
        reverse("accounts:profile"), {"full_name": "Changed", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    analyst.refresh_from_db()
    assert analyst.full_name == "Ana B. Analyst"


def test_profile_needs_second_factor(client: Any, analyst: Any) -> None:
    f.confirmed_device(analyst)
    f.login(client, analyst, verified=False)
    for url in ("accounts:profile", "accounts:tokens", "accounts:password_change"):
        assert client.get(reverse(url))["Location"].startswith(reverse("accounts:verify_otp"))


def test_remove_device_only_when_not_required(
    client: Any, analyst: Any, representative: Any
) -> None:
    f.login(client, analyst)
    profile = client.get(reverse("accounts:profile")).content.decode()
    assert reverse("accounts:remove_otp") in profile
    response = client.post(reverse("accounts:remove_otp"))
    assert response["Location"] == reverse("accounts:profile")
    assert not TOTPDevice.objects.filter(user=analyst).exists()
    assert AuditEntry.objects.filter(action="auth.second_factor_removed", actor=analyst).exists()

    f.login(client, representative)
    response = client.post(reverse("accounts:remove_otp"))
    assert response.status_code == 403
    assert TOTPDevice.objects.filter(user=representative).exists()


def test_timezone_is_the_viewers(client: Any, analyst: Any) -> None:
    analyst.timezone = "Asia/Tokyo"
    analyst.save()
    f.login(client, analyst)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "Times are shown in Asia/Tokyo" in html


# --- Passwords -----------------------------------------------------------------------------


def test_password_reset_by_email(client: Any, analyst: Any) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "ana@example.test"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.test"]
    link = re.search(r"https?://\S+(/accounts/password/reset/\S+/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert 'name="new_password1"' in form_page.content.decode()
    new_password = "a much longer new passphrase 42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    analyst.refresh_from_db()
    assert analyst.check_password(new_password)
    assert AuditEntry.objects.filter(action="auth.password_reset", actor=analyst).exists()
    # The link works once.
    assert "not valid any more" in client.get(link, follow=True).content.decode()


def test_password_reset_unknown_address_sends_nothing(client: Any, analyst: Any) -> None:
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.test"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_password_reset_lifts_lockout(client: Any, analyst: Any) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "ana", "wrong password")
    assert sign_in(client, "ana").status_code == 429
    client.post(reverse("accounts:password_reset"), {"email": "ana@example.test"})
    link = re.search(r"(/accounts/password/reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link, follow=True)
    new_password = "a much longer new passphrase 42"
    client.post(
        page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert sign_in(client, "ana", new_password).status_code == 302


def test_password_change(client: Any, analyst: Any) -> None:
    f.login(client, analyst)
    url = reverse("accounts:password_change")
    short = client.post(
        url, {"old_password": f.PASSWORD, "new_password1": "short", "new_password2": "short"}
    )
    assert short.status_code == 200
    new_password = "another long passphrase 2026"
    response = client.post(
        url,
        {"old_password": f.PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response["Location"] == reverse("accounts:profile")
    analyst.refresh_from_db()
    assert analyst.check_password(new_password)
    # Still signed in, second factor included.
    assert client.get(reverse("accounts:profile")).status_code == 200


# --- Django admin -----------------------------------------------------------------------------


def test_admin_is_read_mostly(client: Any, analyst: Any) -> None:
    from accord.accounts.services import create_token

    token, _raw = create_token(analyst, name="admin-visible")
    boss = f.make_user("boss", is_staff=True, is_superuser=True)
    f.login(client, boss)
    assert client.get("/django-admin/accounts/user/").status_code == 200
    page = client.get(f"/django-admin/accounts/user/{analyst.pk}/change/")
    assert page.status_code == 200
    assert 'name="is_coordinator"' not in page.content.decode()  # changed only via the app
    assert client.get("/django-admin/accounts/user/add/").status_code == 403
    tokens = client.get("/django-admin/accounts/apitoken/")
    assert tokens.status_code == 200 and "admin-visible" in tokens.content.decode()
    detail = client.get(f"/django-admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert token.secret_hash not in detail
    assert client.get("/django-admin/accounts/apitoken/add/").status_code == 403
    client.post(
        "/django-admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None
