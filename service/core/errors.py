"""Domain errors of the service. They know nothing of HTTP; service/api/errors.py maps them to status codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause or be told about; `message` is shown to the person."""

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(DomainError):
    """A request that cannot mean anything (a tile off the grid): 400."""


class InvalidInput(DomainError):
    """Input that cannot be accepted (a malformed file, an unknown kind, a value out of range)."""


class TooLarge(DomainError):
    """A request body or a file larger than its configured limit (the message names the limit and its setting)."""


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the asker)."""


class Conflict(DomainError):
    """The request conflicts with the current state (stale version, illegal transition, duplicate)."""


class NotAuthenticated(DomainError):
    """No valid session or token."""


class PermissionDenied(DomainError):
    """The user is known but their role does not allow this."""


class TooManyAttempts(DomainError):
    """Too many failed logins or query-code lookups: try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (the database) is not reachable right now."""
