"""The network's rules: versioned documents that every member organisation accepts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RuleDocument(models.Model):
    class Kind(models.TextChoices):
        CHARTER = "charter", _("Charter")
        SHARING_POLICY = "sharing-policy", _("Sharing policy")
        CODE_OF_CONDUCT = "code-of-conduct", _("Code of conduct")

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, unique=True)
    title = models.CharField(_("title"), max_length=200)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("rule document")

    def __str__(self) -> str:
        return self.title

    @property
    def current_version(self) -> RuleVersion | None:
        return self.versions.filter(published_at__isnull=False).order_by("-number").first()


class RuleVersion(models.Model):
    document = models.ForeignKey(RuleDocument, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text (Markdown)"), max_length=200_000)
    change_summary = models.CharField(_("what changed"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["document", "-number"]
        constraints = [
            models.UniqueConstraint("document", "number", name="unique_rule_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.document.title} v{self.number}"


class RuleAcceptance(models.Model):
    """A representative's acceptance, on behalf of an organisation, of one version."""

    organisation = models.ForeignKey(
        "membership.Organisation", on_delete=models.CASCADE, related_name="rule_acceptances"
    )
    version = models.ForeignKey(RuleVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint("organisation", "version", name="one_acceptance_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.organisation} accepted {self.version}"
