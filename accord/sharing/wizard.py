"""Placeholder: replaced by the real module."""

from django.http import Http404


def _missing(*args, **kwargs):
    raise Http404


new_report = _missing
audience_preview = _missing
extract_observables = _missing
edit_report = _missing
