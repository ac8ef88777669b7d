"""Sign-in events go to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accord.audit.services import record


@receiver(user_logged_in)
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("auth.signed_in", f"{user.get_username()} signed in", actor=user, request=request)


@receiver(user_logged_out)
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("auth.signed_out", f"{user.get_username()} signed out", actor=user, request=request)


@receiver(user_login_failed)
def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    # The attempted name is kept as a label only: it may not be an account at all.
    record(
        "auth.sign_in_failed",
        f"Failed sign-in for '{username}'",
        actor=f"unauthenticated ({username})",
        request=request,
    )
