"""Template helpers of the points-of-contact pages."""

from __future__ import annotations

from typing import Any

from django import template

from accord.contacts import stats
from accord.contacts.models import Notice

register = template.Library()


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as 45 s, 12 min, 3.5 h or 2.1 d."""
    return stats.duration(seconds)


@register.filter
def percent(value: Any) -> str:
    """A 0–1 fraction as a whole percentage; "—" for none."""
    return "—" if value is None else f"{value:.0%}"


@register.simple_tag(takes_context=True)
def contact_notice_count(context: Any) -> int:
    """Unread contact-check notices of the signed-in person (for the navigation)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return Notice.objects.filter(user=user, read_at__isnull=True).count()
