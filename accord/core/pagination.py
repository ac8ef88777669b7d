"""The pagination classes every API list uses.

Django Ninja's limit/offset are unbounded; a huge value overflows the database
driver (a 500). These bounds turn that into a clear 422.
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 10**9


class BoundedPagination(LimitOffsetPagination):
    class Input(LimitOffsetPagination.Input):
        limit: int = Field(50, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CappedCountPagination(BoundedPagination):
    """For lists that can hold more rows than a caller will ever page through
    (reports): ``count`` is exact up to a horizon past the requested page and
    ``count_is_lower_bound`` says when there are more. Counting every report a
    member may see costs more than the page itself."""

    COUNT_AHEAD = 1000

    class Output(Schema):
        items: list[Any]
        count: int
        count_is_lower_bound: bool

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any
    ) -> Any:
        offset = pagination.offset
        limit = min(pagination.limit, self.max_limit)
        horizon = offset + limit + self.COUNT_AHEAD
        items = list(queryset[offset : offset + limit])
        if len(items) < limit and (items or offset == 0):
            count = offset + len(items)  # the last page: the count is known exactly
        else:
            count = queryset[:horizon].count()
        return {
            "items": items,
            "count": count,
            "count_is_lower_bound": count >= horizon,
        }
