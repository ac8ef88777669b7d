"""Template helpers for the sharing pages: TLP badges, severity levels, reporter
labels and dates that never say more than a report's attribution allows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accord import policy
from accord.rules.services import render_markdown

from ..classification import LEVELS, get_incident_type
from ..models import MARKING_HELP, Marking
from ..observables import ObservableKind
from ..services import participation
from ..services.reports import public_reporter_label

register = template.Library()

_LEVELS = {level: (code, label) for level, code, label, _help in LEVELS}


@register.simple_tag
def marking_badge(marking: str) -> SafeString | str:
    """A TLP label in FIRST's colours (see sharing.css)."""
    try:
        value = Marking(marking)
    except ValueError:
        return ""
    return format_html(
        '<span class="tlp tlp-{}" title="{}">{}</span>',
        value.value.replace("+", "-"),
        MARKING_HELP[value],
        value.label,
    )


@register.simple_tag
def severity_badge(level: Any) -> SafeString:
    if level is None or level == "" or int(level) not in _LEVELS:
        return format_html('<span class="severity severity-none">{}</span>', _("not scored"))
    level = int(level)
    _code, label = _LEVELS[level]
    return format_html(
        '<span class="severity severity-{}">{}</span>',
        level,
        _("Level %(level)d · %(label)s") % {"level": level, "label": label},
    )


@register.filter
def level_label(level: Any) -> str:
    try:
        return str(_LEVELS[int(level)][1])
    except (KeyError, TypeError, ValueError):
        return ""


@register.simple_tag(takes_context=True)
def reporter_label(context: template.Context, report: Any) -> str:
    """Who filed it, as this viewer may know: their own organisation recognises its
    reports (anonymous ones through the policy); everyone else sees the public label."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is not None and policy.is_reporter(user, report):
        if report.is_anonymous:
            return _("Your organisation (anonymous)")
        return _("Your organisation")
    return public_reporter_label(report)


@register.simple_tag
def shown_time(moment: Any, day_only: bool = False) -> SafeString | str:
    """A moment as people read it. ``day_only`` for anonymous rows: they keep only
    the day (midnight UTC), which is shown as that UTC day, never as a local time."""
    if not moment:
        return ""
    if day_only or not isinstance(moment, dt.datetime):
        day = moment
        if isinstance(moment, dt.datetime):
            day = (moment.astimezone(dt.UTC) if timezone.is_aware(moment) else moment).date()
        return format_html(
            '<time datetime="{}">{}</time>', day.isoformat(), dateformat.format(day, "j M Y")
        )
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return format_html(
        '<time datetime="{}">{}</time>',
        local.isoformat(timespec="minutes"),
        dateformat.format(local, "j M Y H:i"),
    )


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text or "")


@register.filter
def incident_type_label(code: str) -> str:
    if not code:
        return ""
    try:
        item = get_incident_type(code)
    except ValueError:
        return code
    return f"{item.category_label}: {item.label}"


@register.filter
def comment_author(comment: Any) -> str:
    return participation.comment_author_label(comment)


@register.filter
def sighting_author(sighting: Any) -> str:
    return participation.sighting_label(sighting)


@register.filter
def is_list(value: Any) -> bool:
    return isinstance(value, list)


@register.filter
def is_dict(value: Any) -> bool:
    return isinstance(value, dict)


@register.filter
def observable_kind_label(kind: str) -> str:
    try:
        return str(ObservableKind(kind).label)
    except ValueError:
        return kind
