"""What the import commands (VERIS, STIX, MISP) share: who files the imported
reports, and which files to read. Errors are ``CommandError``s with a sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db.models import Q

from accord import policy
from accord.membership.models import Membership, Organisation

MISSING_ORGANISATION = "Give the reporting organisation: --organisation SLUG."


def reporting_organisation(slug: str | None, missing: str = MISSING_ORGANISATION) -> Organisation:
    """The organisation that files the reports: it must be in good standing."""
    if not slug:
        raise CommandError(missing)
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise CommandError(f"No organisation with the slug '{slug}'.")
    if not policy.organisations_in_good_standing().filter(pk=organisation.pk).exists():
        raise CommandError(
            f"'{slug}' is not in good standing (verified, current rules accepted): "
            "it cannot share reports."
        )
    return organisation


def filing_user(organisation: Organisation, username: str | None) -> Any:
    """The person the reports are filed by: the one named, who must be able to file
    for the organisation, or else its longest-standing analyst or representative."""
    if username:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account with the username '{username}'.")
        if organisation.pk not in policy.sharing_organisation_ids(user):
            raise CommandError(
                f"'{username}' is not an active analyst or representative of "
                f"'{organisation.slug}': they cannot file its reports."
            )
        return user
    memberships = (
        Membership.objects.filter(organisation=organisation, user__is_active=True)
        .filter(Q(is_analyst=True) | Q(is_representative=True))
        .select_related("user")
        .order_by("joined_at", "pk")
    )
    for membership in memberships:
        if organisation.pk in policy.sharing_organisation_ids(membership.user):
            return membership.user
    raise CommandError(
        f"'{organisation.slug}' has no active analyst or representative to file the "
        "reports: add one, or name one with --as."
    )


def json_files(paths: list[str]) -> list[Path]:
    """The files named, with a directory standing for the .json files in it."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"No such file or directory: {raw}")
    return files
