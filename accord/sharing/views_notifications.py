"""Placeholder: replaced by the real module."""

from django.http import Http404


def _missing(*args, **kwargs):
    raise Http404


notifications = _missing
mark_read = _missing
subscriptions = _missing
delete_subscription = _missing
