"""Publishing and accepting the network's rules."""

from __future__ import annotations

from typing import Any

import markdown
import nh3
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record
from accord.core.notifications import send_templated_email
from accord.membership.models import Membership, Organisation

from .models import RuleAcceptance, RuleDocument, RuleVersion

ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}


class RulesError(Exception):
    """A request about the rules that cannot be carried out; the message says why."""


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, then sanitised: no scripts, styles, or event handlers survive."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists", "fenced_code"])
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 above


@transaction.atomic
def publish_version(
    document: RuleDocument, *, body: str, change_summary: str, by: Any, request: Any = None
) -> RuleVersion:
    """Publish a new version. Every member organisation must accept it again."""
    if not policy.can_publish_rules(by):
        raise policy.PolicyDenied(_("Only coordinators publish the network's rules."))
    if not body.strip():
        raise RulesError(_("The text of the document is empty."))
    document = RuleDocument.objects.select_for_update().get(pk=document.pk)
    number = (document.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    try:
        with transaction.atomic():
            version = RuleVersion.objects.create(
                document=document,
                number=number,
                body=body,
                change_summary=change_summary,
                published_at=timezone.now(),
                published_by=by,
            )
    except IntegrityError as exc:  # a concurrent publish took the number
        raise RulesError(_("Another version was published at the same time; try again.")) from exc
    record(
        "rules.published",
        f"{document.title} version {number} was published",
        actor=by,
        target=version,
        data={"document": document.kind, "version": number, "change_summary": change_summary},
        request=request,
    )
    representatives = Membership.objects.active().representatives().select_related("user")
    send_templated_email(
        sorted({m.user.email for m in representatives}),
        "rules/email/new_version",
        {"version": version},
    )
    return version


@transaction.atomic
def accept_version(
    version: RuleVersion, organisation: Organisation, *, by: Any, request: Any = None
) -> RuleAcceptance:
    if not policy.can_accept_rules(by, organisation):
        raise policy.PolicyDenied(
            _("Only a representative of %(org)s can accept the rules on its behalf.")
            % {"org": organisation.name}
        )
    current = version.document.current_version
    if current is None or current.pk != version.pk:
        raise RulesError(_("Only the current version of a document can be accepted."))
    acceptance, created = RuleAcceptance.objects.get_or_create(
        organisation=organisation, version=version, defaults={"accepted_by": by}
    )
    if created:
        record(
            "rules.accepted",
            f"{organisation.name} accepted {version.document.title} version {version.number}",
            actor=by,
            organisation=organisation,
            target=acceptance,
            data={"document": version.document.kind, "version": version.number},
            request=request,
        )
    return acceptance


def accept_all_current(
    organisation: Organisation, *, by: Any, request: Any = None
) -> list[RuleAcceptance]:
    """Accept every outstanding current version at once (one transaction)."""
    with transaction.atomic():
        return [
            accept_version(version, organisation, by=by, request=request)
            for version in policy.outstanding_rules(organisation)
        ]
