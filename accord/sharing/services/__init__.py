"""Business rules of trusted sharing. Views, the API, commands and the demo call
these functions; visibility questions go to ``accord.policy``."""

from __future__ import annotations


class SharingError(Exception):
    """A request that cannot be carried out. ``errors`` maps field names to
    messages when the problem is in particular fields."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def as_detail(self) -> str | dict[str, str]:
        if self.errors:
            return "; ".join(f"{field}: {text}" for field, text in self.errors.items())
        return self.message
