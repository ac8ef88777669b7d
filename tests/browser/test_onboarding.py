"""The path of a new member organisation, in a real browser:
apply → coordinator verifies → invitation → password + 2FA → accept the rules → directory."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.core import mail
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from accord.membership.models import Membership, Organisation
from tests import factories as f

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def code_for_secret(secret_b32: str) -> str:
    padded = secret_b32 + "=" * (-len(secret_b32) % 8)
    return f"{totp(base64.b32decode(padded)):06d}"


def code_for_device(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def sign_in(page: Page, username: str, password: str = f.PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_apply_verify_invite_enrol_accept_and_see_directory(page: Page, live_server: Any) -> None:
    f.publish_rules()
    existing = f.make_organisation("Northern Grid Operator", sectors=["energy"])
    f.accept_rules(existing)
    coordinator = f.make_user("coord", coordinator=True)
    device = f.confirmed_device(coordinator)

    # 1. The organisation applies through the public form.
    page.goto("/apply/")
    page.locator("#id_name").fill("Harbour Water Authority")
    page.locator("#id_country").select_option("NL")
    page.locator("#id_stakeholder_group").select_option("government-civilian")
    page.get_by_label("Drinking water").check()
    page.locator("#id_contact_name").fill("Hanna Harbour")
    page.locator("#id_contact_email").fill("hanna@harbour-water.example")
    page.get_by_role("button", name="Submit application").click()
    expect(page.locator("main")).to_contain_text("review")
    org = Organisation.objects.get(name="Harbour Water Authority")
    assert org.status == "pending"

    # 2. The coordinator signs in with password and TOTP and verifies it.
    sign_in(page, "coord")
    page.get_by_label("Code").fill(code_for_device(device))
    page.get_by_role("button", name="Verify").click()
    page.goto(f"/applications/{org.slug}/")
    page.get_by_role("button", name="Verify and admit").click()
    expect(page.locator(".messages")).to_be_visible()
    org.refresh_from_db()
    assert org.status == "verified"
    sign_out(page)

    # 3. The contact follows the e-mailed invitation and sets a password.
    invitation_mail = next(
        m
        for m in mail.outbox
        if "hanna@harbour-water.example" in m.to and "/invitations/" in m.body
    )
    path = re.search(r"/invitations/[^\s/]+/", invitation_mail.body).group(0)
    page.goto(path)
    page.get_by_label("Username").fill("hanna")
    page.locator("#id_password1").fill("a long and unusual passphrase 42")
    page.locator("#id_password2").fill("a long and unusual passphrase 42")
    page.get_by_role("button", name="Join").click()

    # 4. As a representative she must enrol a second factor before anything else.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/enrol/"))
    secret = page.locator("#totp-secret").inner_text().strip().replace(" ", "")
    page.get_by_label("Code").fill(code_for_secret(secret))
    page.get_by_role("button", name="Confirm").click()
    membership = Membership.objects.get(user__username="hanna", organisation=org)
    assert membership.is_representative and membership.is_org_admin
    assert TOTPDevice.objects.filter(user=membership.user, confirmed=True).exists()

    # 5. Until the rules are accepted, restricted material is closed, with a banner.
    page.goto("/directory/")
    expect(page.locator("#standing-banner")).to_contain_text("has not accepted")
    expect(page.locator("main")).not_to_contain_text("Northern Grid Operator")

    page.goto("/rules/")
    page.get_by_role("button", name="Accept the current rules").click()

    # 6. Now the directory opens.
    page.goto("/directory/")
    expect(page.locator("#standing-banner")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Northern Grid Operator")
    expect(page.locator("main")).to_contain_text("Harbour Water Authority")


def test_member_without_acceptance_is_blocked_with_banner(page: Page, live_server: Any) -> None:
    f.publish_rules()
    other = f.make_organisation("Accepted Bank", sectors=["banking"])
    f.accept_rules(other)
    laggard = f.make_organisation("Slow Telecom", sectors=["telecom"])
    analyst = f.make_user("slowana")
    f.add_member(analyst, laggard, analyst=True)

    sign_in(page, "slowana")
    expect(page.locator("#standing-banner")).to_contain_text("Slow Telecom has not accepted")
    page.goto("/directory/")
    expect(page.locator("main")).not_to_contain_text("Accepted Bank")
    page.goto("/groups/")
    expect(page.locator("#standing-banner")).to_be_visible()

    # The API gives the same reason as JSON.
    response = page.request.get("/api/v1/groups")
    assert response.status == 403
    assert "has not accepted" in response.json()["detail"]


def test_layout_works_on_a_phone(browser: Any, live_server: Any) -> None:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/")
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    expect(page.get_by_role("link", name="Apply for membership").first).to_be_visible()
    context.close()
