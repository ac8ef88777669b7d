"""A communication check in a real browser: the coordinator sends it, a point of
contact acknowledges through the e-mailed link, and the chart shows the answer
(console errors, e.g. CSP violations, fail the test: see conftest.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django_otp.oath import totp
from playwright.sync_api import Browser, Page, expect

from accord.contacts import services
from accord.contacts.models import CheckRecipient
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"http://\S+/contacts/ack/[A-Za-z0-9_-]+/")


def test_coordinator_sends_check_contact_acknowledges_chart_shows_it(
    page: Page, browser: Browser, live_server: Any, settings: Any
) -> None:
    settings.SITE_URL = live_server.url  # the links in the e-mails point at this server
    coordinator = f.make_user("mira", coordinator=True, full_name="Mira Solberg")
    device = f.confirmed_device(coordinator)
    katarina = services.create_contact(
        by=coordinator,
        role="technical",
        name="Katarina Ek",
        function="Team lead",
        organisation_name="CERT-AV",
        email="katarina.ek@cert-av.example",
        languages=["en", "sv"],
        country="NL",
    )
    services.create_contact(
        by=coordinator,
        role="policy",
        name="Laurent Dubois",
        organisation_name="Ministry of Foreign Affairs",
        email="laurent.dubois@mfa.example",
        country="NL",
    )

    # The coordinator signs in (with the second factor) and sends a check to Katarina.
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("mira")
    page.get_by_label("Password").fill(f.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/"))
    page.get_by_label("Code").fill(
        f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"
    )
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto("/contacts/")
    expect(page.locator("#contacts")).to_contain_text("Katarina Ek")
    page.get_by_role("link", name="Send a communication check").click()
    page.get_by_label("The contacts chosen below").check()
    page.get_by_label("Katarina Ek — CERT-AV (NL, Technical)").check()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    page.get_by_label("Acknowledge by").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Message").fill("Quarterly test of the national points of contact.")
    page.get_by_role("button", name="Send the check").click()
    expect(page.get_by_role("heading", name=re.compile("Communication check of"))).to_be_visible()
    expect(page.locator("#recipients")).to_contain_text("silent")
    expect(page.locator("#figure-rate")).to_have_text("0%")

    # Katarina gets the e-mail and acknowledges in a browser of her own, not signed in.
    [message] = mail.outbox
    assert message.to == ["katarina.ek@cert-av.example"]
    link = LINK.search(message.body)[0]
    assert link.startswith(live_server.url)
    contact_context = browser.new_context()
    contact_page = contact_context.new_page()
    contact_page.goto(link)
    expect(contact_page.locator("#acknowledgement")).to_contain_text("Katarina Ek (CERT-AV)")
    expect(contact_page.locator("#acknowledgement")).to_contain_text("Quarterly test")
    assert CheckRecipient.objects.get().acknowledged_at is None  # opening is not acknowledging
    contact_page.get_by_role("button", name="Acknowledge receipt").click()
    expect(contact_page.get_by_role("status")).to_have_text(
        "Thank you: your acknowledgement was recorded."
    )
    contact_page.goto(link)
    expect(contact_page.get_by_role("status")).to_contain_text("already used")
    contact_context.close()
    recipient = CheckRecipient.objects.get()
    assert recipient.contact == katarina and recipient.response_seconds is not None

    # The coordinator sees it on the check and in the chart.
    page.reload()
    expect(page.locator("#figure-rate")).to_have_text("100%")
    expect(page.locator("#recipients")).to_contain_text("acknowledged")
    page.get_by_role("link", name="Response statistics").first.click()
    expect(page.locator("#overall-rate")).to_have_text("1 (100%)")
    chart = page.locator("#check-chart svg")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.chart-bar")).to_have_count(1)
    expect(chart.locator("rect.chart-bar title")).to_have_text(
        re.compile(r"100% acknowledged \(1 of 1\)")
    )
    expect(chart.locator("circle.chart-point")).to_have_count(1)
    # The bar fills the plot's full height (100 %) and is coloured by the stylesheet.
    box = chart.locator("rect.chart-bar").bounding_box()
    assert box is not None and box["height"] > 100
    fill = chart.locator("rect.chart-bar").evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(111, 159, 208)"
