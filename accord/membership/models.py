"""Organisations, the people in them and how they came to be members."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .taxonomy import GOVERNMENT_GROUPS, StakeholderGroup


class Sector(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        verbose_name = _("critical sector")
        verbose_name_plural = _("critical sectors")

    def __str__(self) -> str:
        return self.name


class Task(models.Model):
    """A security task from the task -> actor table (DeNardis and Raymond, 2013)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    primary_actor = models.CharField(_("primary institutional actor"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        verbose_name = _("security task")
        verbose_name_plural = _("security tasks")

    def __str__(self) -> str:
        return self.name


class OrganisationQuerySet(models.QuerySet):
    def verified(self) -> OrganisationQuerySet:
        return self.filter(status=Organisation.Status.VERIFIED)


class Organisation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Application pending")
        VERIFIED = "verified", _("Verified member")
        REJECTED = "rejected", _("Application rejected")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=80, unique=True)
    country = CountryField(_("country"))
    stakeholder_group = models.CharField(
        _("stakeholder group"), max_length=32, choices=StakeholderGroup.choices
    )
    sectors = models.ManyToManyField(Sector, verbose_name=_("critical sectors"), blank=True)
    tasks = models.ManyToManyField(
        Task, verbose_name=_("security tasks it is responsible for"), blank=True
    )
    description = models.TextField(_("description"), blank=True, max_length=2000)
    website = models.URLField(_("website"), blank=True)

    # Contact details: visible to members only.
    contact_name = models.CharField(_("contact name"), max_length=200)
    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)

    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    applied_at = models.DateTimeField(_("applied"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_reason = models.TextField(_("reason"), blank=True, max_length=2000)
    verification_note = models.TextField(
        _("how it was verified"),
        blank=True,
        max_length=2000,
        help_text=_("For the coordinators' record: how the applicant's identity was checked."),
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint("name", "country", name="unique_organisation_name_per_country")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED

    @property
    def is_government(self) -> bool:
        return self.stakeholder_group in GOVERNMENT_GROUPS


class MembershipQuerySet(models.QuerySet):
    def active(self) -> MembershipQuerySet:
        return self.filter(organisation__status=Organisation.Status.VERIFIED)

    def representatives(self) -> MembershipQuerySet:
        return self.filter(is_representative=True)


class Membership(models.Model):
    """A person's place in one organisation. A person may hold several roles,
    and may belong to more than one organisation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    is_representative = models.BooleanField(
        _("representative"),
        default=False,
        help_text=_(
            "Votes, endorses, accepts the network's rules and speaks for the organisation."
        ),
    )
    is_analyst = models.BooleanField(
        _("analyst"),
        default=False,
        help_text=_("Reports incidents, indicators and sightings; reads the feeds."),
    )
    is_org_admin = models.BooleanField(
        _("organisation admin"),
        default=False,
        help_text=_("Invites people and manages their roles."),
    )
    title = models.CharField(_("job title"), max_length=120, blank=True)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "user__username"]
        constraints = [
            models.UniqueConstraint("user", "organisation", name="one_membership_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"

    @property
    def role_names(self) -> list[str]:
        names = []
        if self.is_representative:
            names.append(str(_("representative")))
        if self.is_analyst:
            names.append(str(_("analyst")))
        if self.is_org_admin:
            names.append(str(_("organisation admin")))
        return names


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def open(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An e-mailed link that lets a person join an organisation. Only the hash
    of the link's secret is stored."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("e-mail"))
    full_name = models.CharField(_("name"), max_length=200, blank=True)
    is_representative = models.BooleanField(_("representative"), default=False)
    is_analyst = models.BooleanField(_("analyst"), default=True)
    is_org_admin = models.BooleanField(_("organisation admin"), default=False)
    secret_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "organisation",
                "email",
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organisation}"

    @staticmethod
    def new_secret() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )

    @property
    def state(self) -> str:
        if self.accepted_at:
            return str(_("accepted"))
        if self.revoked_at:
            return str(_("revoked"))
        if self.expires_at <= timezone.now():
            return str(_("expired"))
        return str(_("open"))
