from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from accord import policy


def accord(request: HttpRequest) -> dict[str, Any]:
    """What every page needs: the network's name, the viewer's standing and roles."""
    user = getattr(request, "user", None)
    context: dict[str, Any] = {"network_name": settings.NETWORK_NAME}
    if user is not None and user.is_authenticated:
        context["standing"] = policy.standing(user)
        context["is_coordinator"] = policy.is_coordinator(user)
        context["my_memberships"] = list(policy.active_memberships(user))
        from accord.sharing.notifications import unread_count

        # A callable: templates call it only where they show it, so other pages pay nothing.
        context["unread_notifications"] = lambda: unread_count(user)
    return context
