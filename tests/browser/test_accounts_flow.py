"""Signing in with a second factor and creating a token, in a real browser
(console errors, e.g. CSP violations, fail the test: see conftest.py)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from accord.accounts.models import ApiToken, hash_token
from tests import factories as f

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_enrol_verify_and_create_token(page: Page, live_server: Any) -> None:
    f.publish_rules()
    org = f.make_organisation("Harbour Water")
    f.accept_rules(org)
    rep = f.make_user("rita", full_name="Rita Rep")
    f.add_member(rep, org, representative=True)

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # A representative must set up TOTP first.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/enrol/"))
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Two-factor authentication is on")

    # A token, shown once.
    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("Nightly export")
    page.get_by_label("Expires in").select_option("30")
    page.get_by_role("button", name="Create token").click()
    raw = page.locator("#new-token").inner_text().strip()
    assert ApiToken.objects.get(user=rep).secret_hash == hash_token(raw)
    expect(page.get_by_role("button", name="Revoke Nightly export")).to_be_visible()

    # Next time: password, then the code.
    page.get_by_role("button", name="Sign out").click()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("rita")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".errorlist")).to_contain_text("not valid")
