"""Placeholder: replaced by the real module."""

from ninja import Router

router = Router(tags=["reports"])
