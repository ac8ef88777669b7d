"""National points of contact and the communication checks that test them.

A contact is this country's (entered here) or a peer's (arrived over the peer
link: ``peer`` set, ``external_id`` the STIX id it carries there). A check is
sent to some contacts; each recipient gets one-time acknowledgement links
(only their hashes are stored) and the time to acknowledge is recorded.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .languages import language_name


class Role(models.TextChoices):
    POLICY = "policy", _("Policy / diplomatic")
    TECHNICAL = "technical", _("Technical")


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("e-mail")
    PHONE = "phone", _("phone")
    MOBILE = "mobile", _("mobile phone")
    FAX = "fax", _("fax")
    SECURE = "secure-messaging", _("secure messaging")
    VIDEO = "video", _("video conference")
    WEB = "web", _("web form")
    OTHER = "other", _("other")


class Contact(models.Model):
    """One point of contact: a person, or a team or duty desk when ``name`` is empty."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    name = models.CharField(_("person"), max_length=200, blank=True)
    function = models.CharField(_("function"), max_length=200, blank=True)
    # A local member organisation, or free text (always filled: a copy of the
    # member's name when linked, so the directory keeps it if the member goes).
    organisation = models.ForeignKey(
        "membership.Organisation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="points_of_contact",
        verbose_name=_("member organisation"),
    )
    organisation_name = models.CharField(_("organisation"), max_length=200)
    email = models.EmailField(_("e-mail"), max_length=254)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # ISO 639-1 codes, comma-separated ("en,fr"): filterable the same way on every database.
    languages = models.CharField(_("languages"), max_length=200, blank=True)
    # [{"kind": ChannelKind, "value": "..."}]
    channels = models.JSONField(_("channels"), default=list, blank=True)
    hours = models.CharField(_("hours"), max_length=200, blank=True)
    always_available = models.BooleanField(_("reachable 24/7"), default=False)
    country = CountryField(_("country"))
    # Where it comes from: here (no peer) or a peer installation.
    peer = models.ForeignKey(
        "exchange.Peer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # a peer's contacts go with the peer
        related_name="contacts",
        verbose_name=_("peer"),
    )
    external_id = models.CharField(max_length=120, blank=True)
    # The STIX ``modified`` last applied from the peer, so an older version never wins.
    external_modified = models.DateTimeField(null=True, blank=True)
    # The local account of the person, if any: they then see checks in the app too.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_points",
        verbose_name=_("local account"),
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["country", "role", "organisation_name", "name"]
        verbose_name = _("point of contact")
        verbose_name_plural = _("points of contact")
        constraints = [
            models.UniqueConstraint(
                "peer",
                "external_id",
                condition=Q(peer__isnull=False),
                name="one_contact_per_peer_id",
            )
        ]
        indexes = [models.Index(fields=["country", "role"], name="contact_country_role")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.function or self.organisation_name

    @property
    def is_local(self) -> bool:
        return self.peer_id is None

    @property
    def language_list(self) -> list[str]:
        return [code for code in self.languages.split(",") if code]

    @property
    def language_names(self) -> list[str]:
        return [language_name(code) for code in self.language_list]

    @property
    def channel_list(self) -> list[tuple[str, str]]:
        """(kind in words, value) of each channel, for pages."""
        labels = dict(ChannelKind.choices)
        return [(str(labels.get(c["kind"], c["kind"])), c["value"]) for c in self.channels]

    @property
    def stix_id(self) -> str:
        return self.external_id if self.peer_id else f"identity--{self.pk}"


class ContactCheck(models.Model):
    """One communication check: a message to some contacts, to be acknowledged by a deadline."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled = models.BooleanField(_("sent by the schedule"), default=False)
    deadline = models.DateTimeField(_("deadline"))
    message = models.TextField(_("message"), max_length=2000, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("communication check")
        indexes = [models.Index(fields=["escalated_at", "deadline"], name="contact_check_due")]

    def __str__(self) -> str:
        return f"check of {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_overdue(self) -> bool:
        return self.deadline <= timezone.now()


class Via(models.TextChoices):
    LINK = "link", _("e-mailed link")
    APP = "app", _("in the platform")
    API = "api", _("JSON API")


class CheckRecipient(models.Model):
    """A contact in a check. The contact's details are copied: the history stays
    readable when the contact changes or is removed."""

    contact_check = models.ForeignKey(
        ContactCheck, on_delete=models.CASCADE, related_name="recipients"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="check_recipients"
    )
    contact_name = models.CharField(max_length=200)
    organisation_name = models.CharField(max_length=200)
    email = models.EmailField(max_length=254)
    country = CountryField()
    role = models.CharField(max_length=16, choices=Role.choices)
    sent_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # acknowledged_at - sent_at, in whole seconds.
    response_seconds = models.PositiveIntegerField(null=True, blank=True)
    acknowledged_via = models.CharField(max_length=8, choices=Via.choices, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["country", "organisation_name", "contact_name", "pk"]
        constraints = [
            models.UniqueConstraint("contact_check", "contact", name="one_recipient_per_contact")
        ]

    def __str__(self) -> str:
        return f"{self.contact_name} in {self.contact_check}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def on_time(self) -> bool:
        return self.acknowledged_at is not None and (
            self.acknowledged_at <= self.contact_check.deadline
        )


def hash_token(token: str) -> str:
    # 256 random bits: a fast hash suffices, there is nothing to guess.
    return hashlib.sha256(token.encode()).hexdigest()


class AckLink(models.Model):
    """A one-time acknowledgement link. Only the hash of its token is stored."""

    class Purpose(models.TextChoices):
        CHECK = "check", _("the check")
        REMINDER = "reminder", _("the reminder after the deadline")

    recipient = models.ForeignKey(CheckRecipient, on_delete=models.CASCADE, related_name="links")
    token_hash = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.CHECK)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"link {self.pk} for {self.recipient_id}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)


class Notice(models.Model):
    """An in-app notice about a check, for a local account."""

    class Kind(models.TextChoices):
        CHECK = "check", _("Please acknowledge this communication check")
        REMINDER = "reminder", _("Reminder: a communication check is waiting for you")
        SILENT = "silent", _("Contacts did not acknowledge a check in time")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_notices"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    contact_check = models.ForeignKey(ContactCheck, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(
        CheckRecipient, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="contact_notice_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class Interval(models.TextChoices):
    OFF = "off", _("Off")
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Every three months")


class CheckSchedule(models.Model):
    """The network's one schedule of automatic checks to every contact (row pk=1)."""

    interval = models.CharField(
        _("send a check"), max_length=10, choices=Interval.choices, default=Interval.OFF
    )
    deadline_hours = models.PositiveIntegerField(_("hours to acknowledge"), default=72)
    next_run_at = models.DateTimeField(_("next check"), null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"schedule: {self.interval}"

    @classmethod
    def current(cls) -> CheckSchedule:
        schedule, _created = cls.objects.get_or_create(pk=1)
        return schedule
