"""Placeholder: replaced by the real module."""

from django.http import Http404


def _missing(*args, **kwargs):
    raise Http404


feed = _missing
mine = _missing
sharing_settings = _missing
remove_common_value = _missing
detail = _missing
versions = _missing
withdraw = _missing
reveal = _missing
look_up_reporter = _missing
comment = _missing
sighting = _missing
attach = _missing
download = _missing
remove_attachment = _missing
