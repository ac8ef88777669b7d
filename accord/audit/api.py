"""JSON API for audit (mounted under /api/v1/ by accord.api)."""

from ninja import Router

router = Router(tags=["audit"])
