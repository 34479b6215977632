"""Domain errors. ``str(error)`` is a sentence safe to show the user."""
from __future__ import annotations

from carespace_app.policy import HASH_QUEUE_LIMIT, in_words

# Password hashing is queued (services/identity/security.py) and the queue is full.
BUSY = ("Many people are signing in right now. "
        f"Please try again in {in_words(HASH_QUEUE_LIMIT, article=True)}.")


class DomainError(Exception):
    """Something the user can fix or should be told; never carries a secret.

    ``keeps_writes``: what the service wrote before raising stands (the unit of work,
    ``db.session_scope``, commits it): a refusal's audit row, a failed sign-in, a wrong
    answer's count. Such errors are raised by checks that come before the action's own
    writes. Every other error rolls the whole action back.
    """

    keeps_writes = False

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

    keeps_writes = True  # the refusal's audit row

    def __init__(self, message: str = "You don't have access to that.", **kw):
        super().__init__(message, **kw)


class AuthenticationFailed(DomainError):
    keeps_writes = True  # the failure counts towards the throttle

    def __init__(self, message: str = "That email and password don't match our records.", **kw):
        super().__init__(message, **kw)


class Throttled(DomainError):
    keeps_writes = True

    def __init__(self, message: str = "Too many attempts. Please wait a few minutes and try again.", retry_after_seconds: int = 60, **kw):
        super().__init__(message, **kw)
        self.retry_after_seconds = retry_after_seconds


class Busy(DomainError):
    """Refused before any work: the password-hashing queue would take longer than
    policy.HASH_QUEUE_LIMIT. Nothing was looked up, checked or written."""

    def __init__(self, message: str = BUSY, **kw):
        super().__init__(message, **kw)


class LinkError(DomainError):
    """A registration, reset or confirmation link that cannot be used.

    ``reason`` is one of: invalid, expired, used, superseded, locked.
    """

    keeps_writes = True  # a wrong access code counts towards the lock

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
