"""Subscriptions and notifications of trusted sharing.

A person subscribes to the reports they want to hear about (by kind, affected
sector, effect and minimum severity level). When a report is filed the
``notify_subscribers`` task calls ``notify_for_report``, which creates one
in-app notification per matching person — but only for people the access
policy lets see the report, asked person by person through
``policy.reports_visible_to``. A daily task (``send_digests``) e-mails each
person who asked for it a list of their unread notifications; it asks the
policy again at sending time, so a report withdrawn or closed to them since
is not mailed.

Anonymity: nobody is notified of their own organisation's anonymous report
(they filed it; skipping them changes only their own list, so it tells nobody
else anything), and a notification of an anonymous report carries the
report's day, not the moment it was filed.

E-mails carry the title, kind, marking, the reporter as others see it, and a
link; never the summary or any other content of the report.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import policy
from accord.core.notifications import send_templated_email
from accord.membership.models import Sector

from .classification import LEVELS, Effect
from .models import Kind, Marking, Notification, Report, Subscription, anonymous_date
from .services import SharingError
from .services.reports import public_reporter_label

MAX_SUBSCRIPTIONS = 50
MAX_NAME = 120
MAX_LEVEL = len(LEVELS) - 1
DIGEST_TEMPLATE = "sharing/email/digest"


# --- Matching -------------------------------------------------------------------------


def subscription_matches(subscription: Subscription, report: Report, sector_ids: set[int]) -> bool:
    """Whether the report passes the subscription's filters. An empty filter means any;
    ``sector_ids`` are the report's affected sectors (fetched once by the caller)."""
    if subscription.kinds and report.kind not in subscription.kinds:
        return False
    wanted_sectors = {s.pk for s in subscription.sectors.all()}
    if wanted_sectors and not wanted_sectors & sector_ids:
        return False
    if subscription.effects and not set(subscription.effects) & set(report.effects or []):
        return False
    # None and 0 both mean "any level, or none".
    level = report.severity_level
    return not subscription.min_level or (level is not None and level >= subscription.min_level)


def _load_report(report_id: Any) -> Report | None:
    try:
        return (
            Report.objects.select_related("reporter_organisation", "reporter_sector")
            .filter(pk=report_id)
            .first()
        )
    except (ValueError, TypeError, ValidationError):
        return None


def notify_for_report(report_id: Any) -> int:
    """Create the notifications for a newly filed report; return how many were created."""
    report = _load_report(report_id)
    if report is None or report.is_withdrawn:
        return 0
    sector_ids = set(report.sectors.values_list("pk", flat=True))
    chosen: dict[int, Subscription] = {}
    subscriptions = (
        Subscription.objects.filter(user__is_active=True)
        .prefetch_related("sectors")
        # A person with several matching subscriptions gets one notification, tied
        # to a subscription that asked for e-mail if any did.
        .order_by("user_id", "-email_digest", "name", "pk")
    )
    for subscription in subscriptions:
        if subscription.user_id in chosen:
            continue
        if subscription_matches(subscription, report, sector_ids):
            chosen[subscription.user_id] = subscription
    if report.created_by_id is not None:
        chosen.pop(report.created_by_id, None)
    if not chosen:
        return 0
    already = set(
        Notification.objects.filter(report=report, user_id__in=chosen).values_list(
            "user_id", flat=True
        )
    )
    # Fresh user rows: the policy caches what a person may see on the user object.
    people = get_user_model().objects.in_bulk([pk for pk in chosen if pk not in already])
    created_at = anonymous_date(report.created_at) if report.is_anonymous else timezone.now()
    notices = []
    for user_id, person in people.items():
        if report.is_anonymous and policy.is_reporter(person, report):
            continue  # their own organisation's anonymous report
        if not policy.reports_visible_to(person).filter(pk=report.pk).exists():
            continue
        notices.append(
            Notification(
                user=person,
                report=report,
                subscription=chosen[user_id],
                created_at=created_at,
            )
        )
    # ignore_conflicts: the task may run twice for one report (a retry, a re-queue).
    Notification.objects.bulk_create(notices, ignore_conflicts=True)
    return len(notices)


# --- What people see ------------------------------------------------------------------------


def reporter_label_for(user: Any, report: Report) -> str:
    """The reporter as this person may see it: their own organisation is named as such."""
    public = public_reporter_label(report)
    if policy.is_reporter(user, report):
        return _("Your organisation (others see: %(label)s)") % {"label": public}
    return public


def notifications_for(user: Any) -> QuerySet[Notification]:
    """This person's notifications of reports they can still see, unread first, newest first."""
    if not (user and user.is_authenticated):
        return Notification.objects.none()
    visible = policy.reports_visible_to(user).filter(withdrawn_at__isnull=True).values("pk")
    return (
        Notification.objects.filter(user=user, report__in=visible)
        .select_related("report", "report__reporter_organisation", "report__reporter_sector")
        .select_related("subscription")
        .annotate(is_read=ExpressionWrapper(Q(read_at__isnull=False), output_field=BooleanField()))
        .order_by("is_read", "-created_at", "id")
    )


def unread_count(user: Any) -> int:
    """Shown on every page: start from the person's few unread notifications and ask
    the policy about those reports only."""
    if not (user and user.is_authenticated):
        return 0
    unread = list(
        Notification.objects.filter(user=user, read_at__isnull=True).values_list(
            "report_id", flat=True
        )[:1000]
    )
    if not unread:
        return 0
    return policy.reports_visible_to(user).filter(pk__in=unread, withdrawn_at__isnull=True).count()


def _parse_ids(ids: Iterable[Any]) -> list[uuid.UUID]:
    parsed = []
    for value in ids:
        try:
            parsed.append(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except (ValueError, TypeError, AttributeError) as exc:
            raise SharingError(
                _("Not a notification id: %(value)s.") % {"value": str(value)[:40]},
                {"ids": _("Give notification ids (UUIDs).")},
            ) from exc
    return parsed


def mark_read(user: Any, ids: Iterable[Any] | None = None) -> int:
    """Mark this person's unread notifications read: the ones named, or all. Ids that
    are not theirs are ignored. Returns how many changed."""
    if not (user and user.is_authenticated):
        raise policy.PolicyDenied(_("Sign in first."))
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=_parse_ids(ids))
    return unread.update(read_at=timezone.now())


# --- Subscriptions ------------------------------------------------------------------------


def subscriptions_for(user: Any) -> QuerySet[Subscription]:
    if not (user and user.is_authenticated):
        return Subscription.objects.none()
    return Subscription.objects.filter(user=user).prefetch_related("sectors").order_by("name", "pk")


def get_subscription(user: Any, pk: Any) -> Subscription:
    """One of this person's subscriptions; anyone else's does not exist for them."""
    try:
        return subscriptions_for(user).get(pk=pk)
    except (Subscription.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise policy.NotVisible() from exc


def _codes(value: Any, field: str, known: Iterable[str], errors: dict[str, str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        errors[field] = _("Give a list of codes.")
        return []
    items = list(value)
    known = set(known)
    unknown = [str(c)[:40] for c in items if not isinstance(c, str) or c not in known]
    if unknown:
        errors[field] = _("Unknown: %(codes)s.") % {"codes": ", ".join(unknown[:5])}
        return []
    return list(dict.fromkeys(items))


def _clean_level(value: Any, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        level = int(value)
        if isinstance(value, bool) or str(level) != str(value).strip():
            raise ValueError
    except (ValueError, TypeError):
        level = -1
    if not 0 <= level <= MAX_LEVEL:
        errors["min_level"] = _("Give a severity level from 0 to %(n)d, or none.") % {
            "n": MAX_LEVEL
        }
        return None
    return level


@transaction.atomic
def create_subscription(
    user: Any,
    name: str,
    kinds: Any = None,
    sectors: Any = None,
    effects: Any = None,
    min_level: Any = None,
    email_digest: bool = True,
) -> Subscription:
    """Add a subscription; every invalid field is reported at once (``SharingError``)."""
    if not (user and user.is_authenticated and user.is_active):
        raise policy.PolicyDenied(_("Sign in first."))
    errors: dict[str, str] = {}
    clean_name = " ".join(str(name or "").split())
    if not clean_name:
        errors["name"] = _("Give the subscription a name.")
    elif len(clean_name) > MAX_NAME:
        errors["name"] = _("Keep the name under %(n)d characters.") % {"n": MAX_NAME}
    elif Subscription.objects.filter(user=user, name__iexact=clean_name).exists():
        errors["name"] = _("You already have a subscription with this name.")
    clean_kinds = _codes(kinds, "kinds", Kind.values, errors)
    sector_codes = _codes(sectors, "sectors", Sector.objects.values_list("code", flat=True), errors)
    clean_effects = _codes(effects, "effects", Effect.values, errors)
    level = _clean_level(min_level, errors)
    if not isinstance(email_digest, bool):
        errors["email_digest"] = _("Give true or false.")
    if errors:
        raise SharingError(
            _("The subscription was not saved: please correct the marked fields."), errors
        )
    # Locks nothing on SQLite (writes are serialised), enough on PostgreSQL for a limit.
    if Subscription.objects.filter(user=user).count() >= MAX_SUBSCRIPTIONS:
        raise SharingError(
            _("You can have at most %(n)d subscriptions; delete one first.")
            % {"n": MAX_SUBSCRIPTIONS}
        )
    # Not written to the audit trail: what a person follows is their own business,
    # and the trail is readable by their organisation.
    subscription = Subscription.objects.create(
        user=user,
        name=clean_name,
        kinds=clean_kinds,
        effects=clean_effects,
        min_level=level,
        email_digest=email_digest,
    )
    subscription.sectors.set(Sector.objects.filter(code__in=sector_codes))
    return subscription


@transaction.atomic
def delete_subscription(user: Any, subscription: Subscription) -> None:
    """Delete one of this person's subscriptions. Its notifications stay in the list
    but are no longer e-mailed."""
    if subscription.user_id != getattr(user, "pk", None):
        raise policy.NotVisible()
    subscription.delete()


@dataclass
class Filter:
    label: str
    values: list[str]


def describe(subscription: Subscription) -> list[Filter]:
    """The subscription's filters in words, for pages and e-mails."""
    level = subscription.min_level
    return [
        Filter(
            _("Kinds"),
            [str(Kind(k).label) for k in subscription.kinds if k in Kind.values] or [_("any")],
        ),
        Filter(_("Sectors"), [str(s.name) for s in subscription.sectors.all()] or [_("any")]),
        Filter(
            _("Effects"),
            [str(Effect(e).label) for e in subscription.effects if e in Effect.values]
            or [_("any")],
        ),
        Filter(
            _("Severity"),
            [_("level %(n)d (%(label)s) or higher") % {"n": level, "label": LEVELS[level][2]}]
            if level
            else [_("any")],
        ),
    ]


# --- The e-mail digest ------------------------------------------------------------------------


@dataclass
class DigestItem:
    title: str
    kind: str
    marking: str
    reporter: str
    path_id: str


def _digest_item(user: Any, report: Report) -> DigestItem:
    return DigestItem(
        title=report.title,
        kind=str(Kind(report.kind).label) if report.kind in Kind.values else report.kind,
        marking=str(Marking(report.marking).label),
        reporter=reporter_label_for(user, report),
        path_id=str(report.pk),
    )


def _pending() -> QuerySet[Notification]:
    return Notification.objects.filter(
        read_at__isnull=True,
        emailed_at__isnull=True,
        subscription__email_digest=True,
        user__is_active=True,
    ).exclude(user__email="")


def send_digests() -> int:
    """E-mail every person with unread, not yet e-mailed notifications (from subscriptions
    that ask for e-mail) one digest of the reports they can still see. Returns the
    number of e-mails queued. Safe to run twice at once: each notification is claimed
    by one run before it is mailed."""
    by_user: dict[int, list[Any]] = defaultdict(list)
    for user_id, pk in _pending().values_list("user_id", "pk"):
        by_user[user_id].append(pk)
    sent = 0
    for user_id, ids in by_user.items():
        person = get_user_model().objects.filter(pk=user_id).first()
        if person is not None and _send_digest(person, ids):
            sent += 1
    return sent


def _send_digest(user: Any, ids: list[Any]) -> bool:
    visible = policy.reports_visible_to(user).filter(withdrawn_at__isnull=True).values("pk")
    with transaction.atomic():
        candidates = list(
            _pending().filter(pk__in=ids, report__in=visible).values_list("pk", flat=True)
        )
        if not candidates:
            return False
        now = timezone.now()
        # Claim first, then read back what this run claimed: a concurrent run gets the rest.
        Notification.objects.filter(pk__in=candidates, emailed_at__isnull=True).update(
            emailed_at=now
        )
        claimed = list(
            Notification.objects.filter(pk__in=candidates, emailed_at=now)
            .select_related("report", "report__reporter_organisation", "report__reporter_sector")
            .order_by("-created_at", "id")
        )
        if not claimed:
            return False
        items = [_digest_item(user, n.report) for n in claimed]
        send_templated_email(
            [user.email],
            DIGEST_TEMPLATE,
            {"user": user, "items": items, "count": len(items)},
        )
    return True
