"""Builders for test data. They create real rows through the real models and
services; nothing here bypasses the code under test except where a test needs
a starting state (a verified organisation, an accepted charter)."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accord.membership.models import Membership, Organisation, Sector, Task
from accord.rules.models import RuleAcceptance, RuleDocument, RuleVersion

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_user(username: str | None = None, *, coordinator: bool = False, **extra: Any) -> Any:
    n = next(_counter)
    username = username or f"person{n}"
    return get_user_model().objects.create_user(
        username=username,
        email=extra.pop("email", f"{username}@example.test"),
        password=PASSWORD,
        full_name=extra.pop("full_name", f"Person {n}"),
        is_coordinator=coordinator,
        **extra,
    )


def make_organisation(
    name: str | None = None, *, status: str = "verified", **extra: Any
) -> Organisation:
    n = next(_counter)
    name = name or f"Organisation {n}"
    sectors = extra.pop("sectors", ["energy"])
    tasks = extra.pop("tasks", ["incident-response"])
    org = Organisation.objects.create(
        name=name,
        slug=extra.pop("slug", f"org-{n}"),
        country=extra.pop("country", "NL"),
        stakeholder_group=extra.pop("stakeholder_group", "private-sector"),
        contact_name=extra.pop("contact_name", "Contact Person"),
        contact_email=extra.pop("contact_email", f"contact{n}@example.test"),
        contact_phone=extra.pop("contact_phone", "+31 70 000 0000"),
        status=status,
        decided_at=timezone.now() if status != "pending" else None,
        **extra,
    )
    org.sectors.set(Sector.objects.filter(code__in=sectors))
    org.tasks.set(Task.objects.filter(code__in=tasks))
    return org


def add_member(
    user: Any,
    org: Organisation,
    *,
    representative: bool = False,
    analyst: bool = True,
    admin: bool = False,
) -> Membership:
    return Membership.objects.create(
        user=user,
        organisation=org,
        is_representative=representative,
        is_analyst=analyst,
        is_org_admin=admin,
    )


def publish_rules(body: str = "# Charter\n\nWe share responsibly.") -> list[RuleVersion]:
    """Publish version 1 of every rule document (or the next version if one exists)."""
    versions = []
    for document in RuleDocument.objects.all():
        number = (document.versions.count() or 0) + 1
        versions.append(RuleVersion.objects.create(document=document, number=number, body=body))
    return versions


def accept_rules(org: Organisation, by: Any = None) -> None:
    for document in RuleDocument.objects.all():
        version = document.current_version
        if version is not None:
            RuleAcceptance.objects.get_or_create(
                organisation=org, version=version, defaults={"accepted_by": by}
            )


def confirmed_device(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def login(client: Any, user: Any, *, verified: bool = True) -> None:
    """Sign in through the session, with the second factor given if the person
    has (or gets) a TOTP device."""
    client.force_login(user)
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or confirmed_device(
            user
        )
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
