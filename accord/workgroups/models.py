"""Self-organising working groups."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkingGroup(models.Model):
    class Visibility(models.TextChoices):
        OPEN = "open", _("Open: any member may join")
        INVITE_ONLY = "invite-only", _("Invite-only: owners admit members")
        CONFIDENTIAL = (
            "confidential",
            _("Confidential: invite-only, and members cannot see who else is in it"),
        )

    name = models.CharField(_("name"), max_length=120, unique=True)
    slug = models.SlugField(_("short name"), max_length=80, unique=True)
    description = models.TextField(_("purpose"), max_length=4000, blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.OPEN
    )
    sector = models.ForeignKey(
        "membership.Sector",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("sector"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("working group")

    def __str__(self) -> str:
        return self.name

    @property
    def is_confidential(self) -> bool:
        return self.visibility == self.Visibility.CONFIDENTIAL


class GroupMembership(models.Model):
    """A person in a group, on behalf of one of their organisations."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Member")
        INVITED = "invited", _("Invited")
        REQUESTED = "requested", _("Asked to join")

    group = models.ForeignKey(WorkingGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="group_memberships"
    )
    organisation = models.ForeignKey(
        "membership.Organisation", on_delete=models.CASCADE, related_name="group_memberships"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    is_owner = models.BooleanField(_("owner"), default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["group", "-is_owner", "joined_at"]
        constraints = [
            models.UniqueConstraint("group", "user", name="one_group_membership_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"
