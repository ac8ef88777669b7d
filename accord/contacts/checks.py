"""Communication checks: send, acknowledge, escalate, schedule.

A check goes to every chosen contact as an e-mail (queued through the tasks
framework after the check is committed) with a one-time acknowledgement
link, and as an in-app notice when the contact has a local account. Opening
the link shows a button; only pressing it (a POST) acknowledges, because mail
scanners follow links. After the deadline the silent recipients get a
reminder with a fresh link and the coordinator a notice naming them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import policy
from accord.audit.services import record
from accord.core.notifications import send_templated_email

from .models import (
    AckLink,
    CheckRecipient,
    CheckSchedule,
    Contact,
    ContactCheck,
    Interval,
    Notice,
    Via,
    hash_token,
)
from .services import ContactError

MIN_DEADLINE = dt.timedelta(minutes=10)
MAX_DEADLINE = dt.timedelta(days=60)
MAX_MESSAGE = 2000
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
CHECK_TEMPLATE = "contacts/email/check"
REMINDER_TEMPLATE = "contacts/email/reminder"
SILENT_TEMPLATE = "contacts/email/silent"


def link_grace() -> dt.timedelta:
    """How long a link stays usable after the deadline (or after a reminder)."""
    return dt.timedelta(days=int(getattr(settings, "ACCORD_CONTACT_LINK_GRACE_DAYS", 7)))


def ack_url(token: str) -> str:
    return settings.SITE_URL + reverse("contacts:acknowledge", args=[token])


def _new_link(recipient: CheckRecipient, purpose: str, expires_at: dt.datetime) -> str:
    token = AckLink.new_token()
    AckLink.objects.create(
        recipient=recipient,
        token_hash=hash_token(token),
        purpose=purpose,
        created_at=timezone.now(),
        expires_at=expires_at,
    )
    return token


def _mail(recipient: CheckRecipient, template: str, token: str, check: ContactCheck) -> None:
    send_templated_email(
        [recipient.email],
        template,
        {"recipient": recipient, "check": check, "url": ack_url(token)},
    )


# --- Sending ---------------------------------------------------------------------------


def clean_deadline(deadline: Any, now: dt.datetime) -> dt.datetime:
    if not isinstance(deadline, dt.datetime):
        raise ContactError(_("Give a deadline."), {"deadline": _("Give a date and time.")})
    if timezone.is_naive(deadline):
        raise ContactError(
            _("Give the deadline with its time zone."),
            {"deadline": _("Give the deadline with its time zone (for example …Z for UTC).")},
        )
    if deadline < now + MIN_DEADLINE:
        raise ContactError(
            _("The deadline must be at least ten minutes from now."),
            {"deadline": _("Choose a moment at least ten minutes from now.")},
        )
    if deadline > now + MAX_DEADLINE:
        raise ContactError(
            _("The deadline may be at most 60 days away."),
            {"deadline": _("Choose a moment within the next 60 days.")},
        )
    return deadline


@transaction.atomic
def send_check(
    *,
    by: Any,
    contacts: Iterable[Contact] | None,
    deadline: Any,
    message: str = "",
    scheduled: bool = False,
    request: Any = None,
    now: dt.datetime | None = None,
) -> ContactCheck:
    """Send a check to the contacts given, or to every contact when ``contacts`` is None."""
    if not scheduled:
        policy.require_run_checks(by)
    now = now or timezone.now()
    deadline = clean_deadline(deadline, now)
    if not isinstance(message, str) or len(message) > MAX_MESSAGE:
        raise ContactError(
            _("The message is too long."),
            {"message": _("Keep the message under %(n)d characters.") % {"n": MAX_MESSAGE}},
        )
    chosen = list(Contact.objects.all() if contacts is None else contacts)
    chosen = list({c.pk: c for c in chosen}.values())
    if not chosen:
        raise ContactError(
            _("Choose at least one contact."), {"contacts": _("Choose at least one contact.")}
        )
    check = ContactCheck.objects.create(
        created_at=now,
        created_by=by if getattr(by, "pk", None) else None,
        scheduled=scheduled,
        deadline=deadline,
        message=message.strip(),
    )
    recipients = CheckRecipient.objects.bulk_create(
        [
            CheckRecipient(
                contact_check=check,
                contact=contact,
                contact_name=contact.display_name,
                organisation_name=contact.organisation_name,
                email=contact.email,
                country=contact.country,
                role=contact.role,
                sent_at=now,
            )
            for contact in chosen
        ]
    )
    by_contact = {c.pk: c for c in chosen}
    expires = deadline + link_grace()
    notices = []
    for recipient in recipients:
        token = _new_link(recipient, AckLink.Purpose.CHECK, expires)
        _mail(recipient, CHECK_TEMPLATE, token, check)
        user_id = by_contact[recipient.contact_id].user_id
        if user_id:
            notices.append(
                Notice(
                    user_id=user_id,
                    kind=Notice.Kind.CHECK,
                    contact_check=check,
                    recipient=recipient,
                    created_at=now,
                )
            )
    Notice.objects.bulk_create(notices)
    record(
        "contact_check.sent",
        f"A communication check was sent to {len(recipients)} point(s) of contact"
        + (" by the schedule" if scheduled else ""),
        actor=by if getattr(by, "pk", None) else "schedule",
        target=check,
        data={
            "recipients": len(recipients),
            "deadline": deadline.isoformat(),
            "scheduled": scheduled,
        },
        request=request,
    )
    return check


# --- Acknowledging ------------------------------------------------------------------------


@dataclass
class LinkState:
    """What a link is worth: ``open`` (may acknowledge), ``acknowledged`` (just now),
    ``already`` (the recipient had acknowledged before), ``used``, ``expired``, ``invalid``."""

    state: str
    recipient: CheckRecipient | None = None
    link: AckLink | None = None

    @property
    def ok(self) -> bool:
        return self.state in ("open", "acknowledged")


def inspect_link(token: str, now: dt.datetime | None = None) -> LinkState:
    """Look at a link without using it (the confirmation page, GET)."""
    now = now or timezone.now()
    if not isinstance(token, str) or not TOKEN.match(token):
        return LinkState("invalid")
    link = (
        AckLink.objects.select_related("recipient__contact_check")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        return LinkState("invalid")
    if link.used_at is not None:
        return LinkState("used", link.recipient, link)
    if link.expires_at <= now:
        return LinkState("expired", link.recipient, link)
    if link.recipient.acknowledged_at is not None:
        return LinkState("already", link.recipient, link)
    return LinkState("open", link.recipient, link)


def _record_ack(recipient: CheckRecipient, now: dt.datetime, via: str, actor: Any) -> bool:
    seconds = max(0, int((now - recipient.sent_at).total_seconds()))
    done = CheckRecipient.objects.filter(pk=recipient.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, response_seconds=seconds, acknowledged_via=via
    )
    if not done:
        return False
    recipient.acknowledged_at, recipient.response_seconds = now, seconds
    recipient.acknowledged_via = via
    Notice.objects.filter(recipient=recipient, read_at__isnull=True).update(read_at=now)
    record(
        "contact_check.acknowledged",
        f"{recipient.contact_name} ({recipient.organisation_name}) acknowledged a "
        f"communication check after {seconds} s",
        actor=actor,
        target=recipient.contact_check,
        data={"recipient": recipient.pk, "seconds": seconds, "via": via},
    )
    return True


@transaction.atomic
def acknowledge(token: str, *, via: str = Via.LINK, now: dt.datetime | None = None) -> LinkState:
    """Use a link: record the acknowledgement once. A used, expired or unknown link
    changes nothing."""
    now = now or timezone.now()
    state = inspect_link(token, now)
    if state.state not in ("open", "already"):
        return state
    assert state.link is not None and state.recipient is not None
    # Claim the link first: of two simultaneous uses, one wins and the other sees "used".
    if not AckLink.objects.filter(pk=state.link.pk, used_at__isnull=True).update(used_at=now):
        return LinkState("used", state.recipient, state.link)
    if not _record_ack(state.recipient, now, via, "acknowledgement link"):
        return LinkState("already", state.recipient, state.link)
    return LinkState("acknowledged", state.recipient, state.link)


def pending_for(user: Any) -> list[CheckRecipient]:
    """Checks waiting for this person's acknowledgement: sent to their contact points,
    with a link still usable."""
    if not (user and user.is_authenticated):
        return []
    now = timezone.now()
    return list(
        CheckRecipient.objects.filter(
            contact__user=user,
            acknowledged_at__isnull=True,
            links__used_at__isnull=True,
            links__expires_at__gt=now,
        )
        .select_related("contact_check")
        .distinct()
        .order_by("contact_check__deadline", "pk")
    )


@transaction.atomic
def acknowledge_in_app(user: Any, check: ContactCheck, *, via: str = Via.APP) -> int:
    """The signed-in person acknowledges a check sent to their contact point(s)."""
    mine = [r for r in pending_for(user) if r.contact_check_id == check.pk]
    if not mine:
        raise policy.NotVisible()
    now = timezone.now()
    done = 0
    for recipient in mine:
        if _record_ack(recipient, now, via, user):
            AckLink.objects.filter(recipient=recipient, used_at__isnull=True).update(used_at=now)
            done += 1
    return done


# --- Escalation --------------------------------------------------------------------------


def coordinators_to_tell(check: ContactCheck) -> list[Any]:
    """Whoever sent the check, if still a coordinator; otherwise every coordinator."""
    sender = check.created_by
    if sender is not None and policy.is_coordinator(sender):
        return [sender]
    return [u for u in get_user_model().objects.filter(is_active=True) if policy.is_coordinator(u)]


@transaction.atomic
def escalate_check(
    check: ContactCheck, *, by: Any = None, request: Any = None, now: dt.datetime | None = None
) -> int:
    """Remind the silent recipients of a check whose deadline has passed and tell the
    coordinator who they are. Once per check; returns the number reminded."""
    now = now or timezone.now()
    if by is not None:
        policy.require_run_checks(by)
    if check.deadline > now:
        raise ContactError(_("The deadline of this check has not passed yet."))
    if not ContactCheck.objects.filter(pk=check.pk, escalated_at__isnull=True).update(
        escalated_at=now
    ):
        return 0  # escalated already (by another run or person)
    check.escalated_at = now
    silent = list(
        check.recipients.filter(acknowledged_at__isnull=True, escalated_at__isnull=True)
        .select_related("contact")
        .order_by("country", "organisation_name", "contact_name")
    )
    notices = []
    for recipient in silent:
        token = _new_link(recipient, AckLink.Purpose.REMINDER, now + link_grace())
        _mail(recipient, REMINDER_TEMPLATE, token, check)
        if recipient.contact is not None and recipient.contact.user_id:
            notices.append(
                Notice(
                    user_id=recipient.contact.user_id,
                    kind=Notice.Kind.REMINDER,
                    contact_check=check,
                    recipient=recipient,
                    created_at=now,
                )
            )
    CheckRecipient.objects.filter(pk__in=[r.pk for r in silent]).update(escalated_at=now)
    if silent:
        coordinators = coordinators_to_tell(check)
        notices += [
            Notice(user=u, kind=Notice.Kind.SILENT, contact_check=check, created_at=now)
            for u in coordinators
        ]
        send_templated_email(
            [u.email for u in coordinators],
            SILENT_TEMPLATE,
            {
                "check": check,
                "silent": silent,
                "url": settings.SITE_URL + reverse("contacts:check", args=[check.pk]),
            },
        )
    Notice.objects.bulk_create(notices)
    record(
        "contact_check.escalated",
        f"{len(silent)} point(s) of contact had not acknowledged a check by its deadline",
        actor=by if by is not None else "schedule",
        target=check,
        data={"silent": len(silent)},
        request=request,
    )
    return len(silent)


def escalate_overdue_checks(now: dt.datetime | None = None) -> int:
    """Escalate every check whose deadline has passed; returns the number of reminders."""
    now = now or timezone.now()
    reminded = 0
    due = ContactCheck.objects.filter(escalated_at__isnull=True, deadline__lte=now)
    for check in due.order_by("deadline"):
        reminded += escalate_check(check, now=now)
    return reminded


# --- The schedule ------------------------------------------------------------------------


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def following(moment: dt.datetime, interval: str) -> dt.datetime:
    if interval == Interval.WEEKLY:
        return moment + dt.timedelta(days=7)
    if interval == Interval.MONTHLY:
        return _add_months(moment, 1)
    if interval == Interval.QUARTERLY:
        return _add_months(moment, 3)
    raise ValueError(interval)


MIN_DEADLINE_HOURS = 1
MAX_DEADLINE_HOURS = 24 * 30


@transaction.atomic
def set_schedule(
    *,
    by: Any,
    interval: str,
    deadline_hours: Any,
    first_run_at: dt.datetime | None = None,
    request: Any = None,
) -> CheckSchedule:
    """Set how often a check goes to every contact automatically (or switch it off)."""
    policy.require_run_checks(by)
    errors = {}
    if interval not in Interval.values:
        errors["interval"] = _("Choose one of: %(v)s.") % {"v": ", ".join(Interval.values)}
    if (
        isinstance(deadline_hours, bool)
        or not isinstance(deadline_hours, int)
        or not MIN_DEADLINE_HOURS <= deadline_hours <= MAX_DEADLINE_HOURS
    ):
        errors["deadline_hours"] = _("Give a whole number of hours from %(a)d to %(b)d.") % {
            "a": MIN_DEADLINE_HOURS,
            "b": MAX_DEADLINE_HOURS,
        }
    now = timezone.now()
    if first_run_at is not None and (timezone.is_naive(first_run_at) or first_run_at < now):
        errors["first_run_at"] = _("Choose a moment in the future.")
    if errors:
        raise ContactError(_("The schedule was not saved."), errors)
    schedule = CheckSchedule.objects.select_for_update().get(pk=CheckSchedule.current().pk)
    schedule.interval = interval
    schedule.deadline_hours = deadline_hours
    if interval == Interval.OFF:
        schedule.next_run_at = None
    else:
        schedule.next_run_at = first_run_at or following(now, interval)
    schedule.updated_by, schedule.updated_at = by, now
    schedule.save()
    record(
        "contact_check.schedule",
        f"Automatic communication checks: {schedule.get_interval_display()}",
        actor=by,
        target=schedule,
        data={
            "interval": interval,
            "deadline_hours": deadline_hours,
            "next_run_at": schedule.next_run_at.isoformat() if schedule.next_run_at else None,
        },
        request=request,
    )
    return schedule


def run_due_check(now: dt.datetime | None = None) -> ContactCheck | None:
    """Send the scheduled check if it is due. Safe to call from two places at once:
    the schedule row is claimed before anything is sent."""
    now = now or timezone.now()
    schedule = CheckSchedule.current()
    if schedule.interval == Interval.OFF or schedule.next_run_at is None:
        return None
    if schedule.next_run_at > now:
        return None
    upcoming = schedule.next_run_at
    while upcoming <= now:  # a server that was down does not send the missed ones
        upcoming = following(upcoming, schedule.interval)
    with transaction.atomic():
        claimed = CheckSchedule.objects.filter(
            pk=schedule.pk, next_run_at=schedule.next_run_at
        ).update(next_run_at=upcoming, last_run_at=now)
        if not claimed or not Contact.objects.exists():
            return None
        return send_check(
            by=None,
            contacts=None,
            deadline=now + dt.timedelta(hours=schedule.deadline_hours),
            scheduled=True,
            now=now,
        )


@dataclass
class RunResult:
    check: ContactCheck | None
    reminded: int


def run_contact_checks(now: dt.datetime | None = None) -> RunResult:
    """What the periodic task does: send the scheduled check if due, then escalate."""
    now = now or timezone.now()
    check = run_due_check(now)
    return RunResult(check, escalate_overdue_checks(now))
