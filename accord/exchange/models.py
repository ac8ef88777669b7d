"""What crosses the border: the STIX object store served over TAXII, where an
imported report came from, TAXII status resources, and the peer installations
with their agreements."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from accord.sharing.models import Kind, Marking, Report


class Scope(models.TextChoices):
    """Which rule decides who may read a stored STIX object."""

    REPORT = "report", _("as its report")  # the report's marking and audience
    PUBLIC = "public", _("anyone who may use TAXII")  # e.g. sector-class identities
    NAMED = "named", _("named identity")  # an organisation's identity object
    CONTACT = "contact", _("point of contact")  # the national points-of-contact directory
    # A revoked version written for one peer only (see PeerDelivery.tombstone): it
    # tells that peer to withdraw a report it may no longer have. Nobody else reads it.
    PEER = "peer", _("one peer (retraction)")


class StixObject(models.Model):
    """One version of one STIX object, exactly as TAXII serves it.

    Our own reports are written here by ``accord.exchange.stix.publish``; objects
    that arrive (TAXII POST, bundle import, peer pull) are kept as received.
    Who may read a row is the sharing policy's decision about its report.
    """

    id = models.BigAutoField(primary_key=True)
    stix_id = models.CharField(max_length=100)
    stix_type = models.CharField(max_length=64)
    spec_version = models.CharField(max_length=8, default="2.1")
    # The version: ``modified``, or ``created``, or for objects without either
    # (SCOs) the time it was added.
    modified = models.DateTimeField()
    date_added = models.DateTimeField(default=timezone.now)
    # Indexed by ``stix_object_report`` (report, date_added): no index of its own,
    # which every bulk ingest would have to keep up to date as well.
    report = models.ForeignKey(
        Report,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="stix_objects",
        db_index=False,
    )
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.REPORT)
    # The JSON text served to readers here and to peers allowed to see names.
    body = models.TextField()
    # The same object for peers that must not learn a named reporter (the
    # reporter reduced to sector and country); empty when identical to body.
    body_abroad = models.TextField(blank=True)
    is_latest = models.BooleanField(default=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # Also the index for every look-up by id (an id has a handful of versions,
            # so a separate (stix_id, is_latest) index would only slow the writes).
            models.UniqueConstraint(fields=["stix_id", "modified"], name="stix_object_version")
        ]
        indexes = [
            models.Index(fields=["date_added", "id"], name="stix_object_added"),
            models.Index(fields=["report", "date_added"], name="stix_object_report"),
        ]

    def __str__(self) -> str:
        return f"{self.stix_id} @ {self.modified.isoformat()}"


class Source(models.TextChoices):
    FILE = "file", _("bundle file")
    API = "api", _("JSON API")
    TAXII = "taxii", _("TAXII")
    PEER = "peer", _("peer installation")
    MISP = "misp", _("MISP event")


class ReportOrigin(models.Model):
    """Where an imported report came from. Reports made here have none.

    ``external_id`` is the id the report carries abroad (a STIX id, or
    ``misp-event--<uuid>``): the same report arriving twice, or from two peers,
    finds this row and is one report; only its origin may change it.
    """

    report = models.OneToOneField(
        Report, primary_key=True, on_delete=models.CASCADE, related_name="origin"
    )
    external_id = models.CharField(max_length=120, unique=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    origin_country = CountryField(blank=True)
    peer = models.ForeignKey(
        "exchange.Peer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who reported it, as the origin let us know it ("Energy sector, DE").
    reporter_label = models.CharField(max_length=200, blank=True)
    # The ``modified`` of the version applied last, so older versions never win.
    external_modified = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.external_id


class TaxiiStatus(models.Model):
    """The status resource of one TAXII POST (kept at least 24 hours)."""

    class State(models.TextChoices):
        PENDING = "pending"
        COMPLETE = "complete"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    peer = models.ForeignKey(
        "exchange.Peer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    api_root = models.CharField(max_length=64)
    collection_id = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    request_timestamp = models.DateTimeField(default=timezone.now)
    total_count = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    pending_count = models.PositiveIntegerField(default=0)
    # Lists of {"id", "version", "message"?}, as the status resource shows them.
    successes = models.JSONField(default=list, blank=True)
    failures = models.JSONField(default=list, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["request_timestamp"], name="taxii_status_age")]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class Peer(models.Model):
    """Another country's installation, reached at its TAXII API root."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    country = CountryField(_("country"))
    api_root_url = models.URLField(_("TAXII API root"), max_length=500)
    collection_id = models.CharField(_("collection to pull"), max_length=64, blank=True)
    # How we sign in to them (kept because every pull needs it).
    remote_username = models.CharField(_("user name at the peer"), max_length=150, blank=True)
    remote_secret = models.CharField(_("token or password at the peer"), max_length=300, blank=True)
    # How they sign in to us: HTTP Basic with the slug and a token; only its hash is kept.
    inbound_token_hash = models.CharField(max_length=128, blank=True)
    active = models.BooleanField(_("active"), default=True)
    pull_every_minutes = models.PositiveIntegerField(_("pull every (minutes)"), default=15)
    # The pull cursor: the X-TAXII-Date-Added-Last of the last page applied.
    cursor = models.CharField(max_length=40, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_pull_at = models.DateTimeField(null=True, blank=True)
    objects_received = models.PositiveIntegerField(default=0)
    reports_received = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def default_kinds() -> list[str]:
    return [kind.value for kind in Kind]


class Agreement(models.Model):
    """What may cross to and from one peer. Each direction is its own row."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("to the peer")
        INBOUND = "inbound", _("from the peer")

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="agreements")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kinds = models.JSONField(default=default_kinds)
    # The highest marking that may cross: CLEAR, GREEN (default) or AMBER (then
    # only reports whose reporter consented). AMBER+STRICT and RED never cross.
    highest_marking = models.CharField(
        max_length=16, choices=Marking.choices, default=Marking.GREEN
    )
    name_reporters = models.BooleanField(default=False)
    # Working groups whose material may cross, besides the whole network's.
    working_groups = models.ManyToManyField("workgroups.WorkingGroup", blank=True, related_name="+")
    # Whether material that came from a third country may be passed on.
    pass_on_third_party = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["peer", "direction"], name="one_agreement_per_direction"
            )
        ]

    def __str__(self) -> str:
        return f"{self.peer} ({self.direction})"


class PeerDelivery(models.Model):
    """A report a peer has received from us, so a later retraction reaches it."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="deliveries")
    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="+")
    first_served_at = models.DateTimeField(default=timezone.now)
    last_served_at = models.DateTimeField(default=timezone.now)
    # The last version of the report's main object served to the peer: a
    # retraction revokes exactly what the peer holds, at the marking it had.
    main_object = models.ForeignKey(
        StixObject, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retracted_at = models.DateTimeField(null=True, blank=True)
    # The revoked version written for this peer when the report stopped being allowed.
    tombstone = models.ForeignKey(
        StixObject, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["peer", "report"], name="one_delivery_per_report")
        ]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.peer}"


class PeerPullRun(models.Model):
    """One pull from a peer, for its status page (the last few are kept)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("schedule")
        MANUAL = "manual", _("pull now")
        COMMAND = "command", _("command line")

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="pull_runs")
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.SCHEDULE)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # None while it runs.
    ok = models.BooleanField(null=True)
    cursor_before = models.CharField(max_length=40, blank=True)
    cursor_after = models.CharField(max_length=40, blank=True)
    pages = models.PositiveIntegerField(default=0)
    objects_received = models.PositiveIntegerField(default=0)
    # Left out before ingest because the inbound agreement does not allow them.
    objects_refused = models.PositiveIntegerField(default=0)
    objects_accepted = models.PositiveIntegerField(default=0)
    objects_failed = models.PositiveIntegerField(default=0)
    reports_created = models.PositiveIntegerField(default=0)
    reports_updated = models.PositiveIntegerField(default=0)
    reports_withdrawn = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["peer", "-started_at"], name="peer_pull_run_recent")]

    def __str__(self) -> str:
        return f"{self.peer} @ {self.started_at.isoformat()}"
