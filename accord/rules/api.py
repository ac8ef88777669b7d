"""JSON API for rules (mounted under /api/v1/ by accord.api)."""

from ninja import Router

router = Router(tags=["rules"])
