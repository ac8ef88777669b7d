"""Shared reports and everything hanging off them: versions, observables,
comments, sightings, attachments; the network's sharing settings; and
subscriptions with their notifications.

Every table that could place an anonymous report in time or next to its
author's other actions uses random UUID keys, and anonymous rows carry dates
truncated to the day (see docs/anonymity.md). Who may see what is decided in
``accord.policy``, never here.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from .classification import CoreComponent, Effect
from .observables import ObservableKind


class Kind(models.TextChoices):
    INCIDENT = "incident", _("Incident")
    VULNERABILITY = "vulnerability", _("Vulnerability")
    ADVISORY = "advisory", _("Advisory")
    MEASURE = "measure", _("Security measure")


KIND_HELP = {
    Kind.INCIDENT: _("An attack your organisation experienced or is handling."),
    Kind.VULNERABILITY: _("A weakness or hole you found in software, a product or a service."),
    Kind.ADVISORY: _("An alert or warning for others, typically from government or a CERT."),
    Kind.MEASURE: _("A security measure or good practice that worked for you."),
}


class Marking(models.TextChoices):
    """TLP 2.0 (FIRST). Ordered from least to most restrictive."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


MARKING_RANK: dict[str, int] = {m.value: rank for rank, m in enumerate(Marking)}

MARKING_HELP = {
    Marking.CLEAR: _("Public: anyone may see it, also outside the network."),
    Marking.GREEN: _("The chosen audience within the network; not public."),
    Marking.AMBER: _(
        "The audience's organisations, on a need-to-know basis, and the clients "
        "they serve when that is needed to protect them."
    ),
    Marking.AMBER_STRICT: _("The audience's organisations only, and nobody they serve."),
    Marking.RED: _("Only the people you name. Nothing leaves their hands."),
}


class Audience(models.TextChoices):
    NETWORK = "network", _("The whole network")
    GROUPS = "groups", _("Members of chosen working groups")
    ORGANISATIONS = "organisations", _("Chosen organisations")
    GOVERNMENT = "government", _("Government bodies only")
    COORDINATION = "coordination", _("The coordinating CERT only")


class Attribution(models.TextChoices):
    NAMED = "named", _("Named: your organisation is shown")
    PSEUDONYMOUS = (
        "pseudonymous",
        _("Pseudonymous: others see your sector; only the coordinator can find out who"),
    )
    ANONYMOUS = "anonymous", _("Anonymous: nobody on the platform can tell who")


class ReportQuerySet(models.QuerySet):
    def live(self) -> ReportQuerySet:
        return self.filter(withdrawn_at__isnull=True)


class Report(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("what happened"), max_length=20000, blank=True)
    first_seen = models.DateTimeField(_("first seen"), null=True, blank=True)
    last_seen = models.DateTimeField(_("last seen"), null=True, blank=True)
    sectors = models.ManyToManyField(
        "membership.Sector", verbose_name=_("affected sectors"), blank=True, related_name="+"
    )
    country_of_origin = CountryField(_("country of origin"), blank=True)
    references = models.JSONField(_("references"), default=list, blank=True)

    marking = models.CharField(_("marking"), max_length=16, choices=Marking.choices)
    audience = models.CharField(
        _("audience"), max_length=16, choices=Audience.choices, default=Audience.NETWORK
    )
    audience_groups = models.ManyToManyField(
        "workgroups.WorkingGroup", verbose_name=_("working groups"), blank=True, related_name="+"
    )
    audience_organisations = models.ManyToManyField(
        "membership.Organisation", verbose_name=_("organisations"), blank=True, related_name="+"
    )
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("named recipients"), blank=True, related_name="+"
    )

    attribution = models.CharField(
        _("attribution"), max_length=16, choices=Attribution.choices, default=Attribution.NAMED
    )
    # Empty for anonymous reports; authorship is then proven by ``authorship_tag``.
    reporter_organisation = models.ForeignKey(
        "membership.Organisation",
        verbose_name=_("reporting organisation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reports",
    )
    # The reporter's consent for an AMBER report to cross to peers whose
    # agreement allows AMBER (GREEN and CLEAR need none; stricter never cross).
    abroad_consent = models.BooleanField(_("may be shared abroad"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What a pseudonymous reporter discloses: its sector and stakeholder group.
    reporter_sector = models.ForeignKey(
        "membership.Sector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_stakeholder_group = models.CharField(max_length=32, blank=True)
    authorship_tag = models.CharField(max_length=64, blank=True, db_index=True)

    effects = models.JSONField(_("effects"), default=list, blank=True)
    incident_type = models.CharField(_("incident type"), max_length=80, blank=True)
    task_areas = models.ManyToManyField(
        "membership.Task", verbose_name=_("task areas"), blank=True, related_name="+"
    )
    core_components = models.JSONField(_("public-core components"), default=list, blank=True)
    severity_answers = models.JSONField(default=dict, blank=True)
    severity_score = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    severity_level = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)

    created_at = models.DateTimeField(_("shared"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawal_reason = models.CharField(max_length=500, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["-created_at", "id"], name="report_feed_order"),
            models.Index(fields=["marking", "audience"], name="report_access"),
            models.Index(fields=["attribution"], name="report_attribution"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def is_anonymous(self) -> bool:
        return self.attribution == Attribution.ANONYMOUS

    @property
    def is_named(self) -> bool:
        return self.attribution == Attribution.NAMED

    @property
    def is_incident(self) -> bool:
        return self.kind == Kind.INCIDENT

    def effect_labels(self) -> list[str]:
        return [str(Effect(code).label) for code in self.effects if code in Effect.values]

    def core_component_labels(self) -> list[str]:
        return [
            str(CoreComponent(code).label)
            for code in self.core_components
            if code in CoreComponent.values
        ]


class ReportVersion(models.Model):
    """A snapshot of a report after each change; the first is the report as filed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed = models.JSONField(default=list)
    note = models.CharField(max_length=500, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["report", "number"]
        constraints = [models.UniqueConstraint("report", "number", name="one_version_number")]

    def __str__(self) -> str:
        return f"version {self.number}"


class Observable(models.Model):
    """One normalised value, shared by every report that mentions it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=ObservableKind.choices)
    value = models.CharField(max_length=2048)

    class Meta:
        constraints = [models.UniqueConstraint("kind", "value", name="one_observable_per_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ReportObservable(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes: the two composite ones below serve both directions,
    # and each index more slows every filing of many observables.
    report = models.ForeignKey(
        Report, on_delete=models.CASCADE, related_name="observations", db_index=False
    )
    observable = models.ForeignKey(
        Observable, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    position = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint("report", "observable", name="one_mention_per_report")
        ]
        indexes = [models.Index(fields=["observable", "report"], name="observation_lookup")]

    def __str__(self) -> str:
        return f"observation {self.pk}"


class CommonValue(models.Model):
    """A value too common to correlate (public resolvers, big CDNs). A value
    starting with ``*.`` matches a domain and all its subdomains."""

    kind = models.CharField(max_length=8, choices=ObservableKind.choices)
    value = models.CharField(max_length=2048)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "value"]
        constraints = [models.UniqueConstraint("kind", "value", name="one_common_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField(max_length=10000)
    marking = models.CharField(max_length=16, choices=Marking.choices)
    attribution = models.CharField(
        max_length=16, choices=Attribution.choices, default=Attribution.NAMED
    )
    organisation = models.ForeignKey(
        "membership.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_sector = models.ForeignKey(
        "membership.Sector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_stakeholder_group = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class Sighting(models.Model):
    """ "We saw this too", for a whole report or one of its observables."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="sightings")
    observable = models.ForeignKey(
        Observable, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attribution = models.CharField(
        max_length=16, choices=Attribution.choices, default=Attribution.NAMED
    )
    organisation = models.ForeignKey(
        "membership.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_sector = models.ForeignKey(
        "membership.Sector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reporter_stakeholder_group = models.CharField(max_length=32, blank=True)
    authorship_tag = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=1)
    seen_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-seen_at", "id"]

    def __str__(self) -> str:
        return f"sighting {self.pk}"


class Attachment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class NetworkSettings(models.Model):
    """The network's own sharing settings; one row (pk=1)."""

    severity_weights = models.JSONField(default=dict)
    severity_thresholds = models.JSONField(default=list)
    # A new random value whenever the set of anonymous reports changes, so that each
    # process may keep its organisations' recognised anonymous reports between requests.
    anonymity_generation = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("network settings")
        verbose_name_plural = _("network settings")

    def __str__(self) -> str:
        return "network settings"


class Subscription(models.Model):
    """What a person wants to hear about. Empty filters mean "any"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    name = models.CharField(_("name"), max_length=120)
    kinds = models.JSONField(default=list, blank=True)
    sectors = models.ManyToManyField("membership.Sector", blank=True, related_name="+")
    effects = models.JSONField(default=list, blank=True)
    min_level = models.PositiveSmallIntegerField(null=True, blank=True)
    email_digest = models.BooleanField(_("e-mail digest"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [models.UniqueConstraint("user", "report", name="one_notice_per_report")]

    def __str__(self) -> str:
        return f"notification {self.pk}"


def anonymous_date(moment: Any) -> Any:
    """Midnight UTC of the day: the only precision an anonymous row keeps."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
