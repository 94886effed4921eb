"""What moderation and staff edits refuse with: one message for the person who asked.

Views catch `ModerationError` and show its message; `InvalidRecord` also names the
fields. Kept apart from the services so each of them, and the views, import the
errors without importing one another.
"""

from __future__ import annotations


class ModerationError(Exception):
    """A request the rules refuse, with a message for the person who asked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AlreadyDecided(ModerationError):
    """Someone else decided (or the author withdrew) this revision first; the message
    says who and when."""


class StaleRevision(ModerationError):
    """The revision was made against an older version of the listing than the live one."""


class InvalidRecord(ModerationError):
    """The proposed listing breaks a rule; `errors` says which fields."""

    def __init__(self, errors: dict[str, str], message: str = "Some fields need attention."):
        super().__init__(message)
        self.errors = errors
