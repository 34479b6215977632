"""Domain errors. ``str(error)`` is a sentence safe to show the user."""
from __future__ import annotations


class DomainError(Exception):
    """Something the user can fix or should be told; never carries a secret."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """Input refused; ``field`` names the form field when there is one."""


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """The signed-in user may not do this (or not for this patient)."""

    def __init__(self, message: str = "You don't have access to that.", **kw):
        super().__init__(message, **kw)


class AuthenticationFailed(DomainError):
    def __init__(self, message: str = "That email and password don't match our records.", **kw):
        super().__init__(message, **kw)


class Throttled(DomainError):
    def __init__(self, message: str = "Too many attempts. Please wait a few minutes and try again.", retry_after_seconds: int = 60, **kw):
        super().__init__(message, **kw)
        self.retry_after_seconds = retry_after_seconds


class LinkError(DomainError):
    """A registration, reset or confirmation link that cannot be used.

    ``reason`` is one of: invalid, expired, used, superseded, locked.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
