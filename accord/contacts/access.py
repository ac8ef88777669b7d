"""Who may read and manage the points of contact and the communication checks.

These functions belong in ``accord/policy.py`` (section "Points of contact");
they live here until they are moved there, and every page, API endpoint and
service of this app asks them, never anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accord import policy

if TYPE_CHECKING:
    from .models import Contact, ContactCheck


def can_read_contacts(user: Any) -> bool:
    """The directory is restricted material: people in good standing (coordinators always)."""
    return policy.can_read_restricted(user)


def require_read_contacts(user: Any) -> None:
    policy.require_restricted(user)


def can_manage_contacts(user: Any) -> bool:
    """Add, change and remove points of contact: coordinators."""
    return policy.is_coordinator(user)


def can_edit_contact(user: Any, contact: Contact) -> bool:
    """Coordinators change this country's contacts; a peer's contacts change only
    at their origin (the next pull would undo a local edit)."""
    return can_manage_contacts(user) and contact.peer_id is None


def require_manage_contacts(user: Any) -> None:
    if not can_manage_contacts(user):
        require_read_contacts(user)
        raise policy.PolicyDenied(_("Only coordinators manage the points of contact."))


def contacts_visible_to(user: Any) -> QuerySet[Contact]:
    from .models import Contact

    if not can_read_contacts(user):
        return Contact.objects.none()
    return Contact.objects.all()


def get_contact(user: Any, pk: Any) -> Contact:
    from .models import Contact

    try:
        return contacts_visible_to(user).select_related("organisation", "peer", "user").get(pk=pk)
    except (Contact.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise policy.NotVisible() from exc


def can_run_checks(user: Any) -> bool:
    """Send checks, follow them, see their statistics and set the schedule: coordinators."""
    return policy.is_coordinator(user)


def require_run_checks(user: Any) -> None:
    if not can_run_checks(user):
        require_read_contacts(user)
        raise policy.PolicyDenied(_("Only coordinators run communication checks."))


def checks_visible_to(user: Any) -> QuerySet[ContactCheck]:
    from .models import ContactCheck

    if not can_run_checks(user):
        return ContactCheck.objects.none()
    return ContactCheck.objects.all()


def get_check(user: Any, pk: Any) -> ContactCheck:
    from .models import ContactCheck

    try:
        return checks_visible_to(user).get(pk=pk)
    except (ContactCheck.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise policy.NotVisible() from exc
