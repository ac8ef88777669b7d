"""The one pagination class every API list uses.

Django Ninja's limit/offset are unbounded; a huge value overflows the database
driver (a 500). These bounds turn that into a clear 422.
"""

from ninja import Field
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 10**9


class BoundedPagination(LimitOffsetPagination):
    class Input(LimitOffsetPagination.Input):
        limit: int = Field(50, ge=1, le=MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)
