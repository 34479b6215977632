"""Domain errors. ``str(error)`` is a sentence safe to show the user (in English).

A sentence with values is raised as its catalogue template and ``params``:
``ValidationError(N_("Use at least {n} characters."), params={"n": 12})``. ``str(err)``
is the English sentence (logs, tests); ``error.sentence(lang)`` is the one to show
(``SessionState`` shows it in the tab's language). A parameter may be a callable of the
language (``i18n.duration(policy.X)``: "an hour" / "una hora").
"""
from __future__ import annotations

from typing import Any, Mapping, Optional

from carespace_app import i18n
from carespace_app.i18n import N_
from carespace_app.policy import HASH_QUEUE_LIMIT

# Password hashing is queued (services/identity/security.py) and the queue is full.
BUSY_TEMPLATE = N_("Many people are signing in right now. Please try again in {time}.")
BUSY_PARAMS = {"time": i18n.duration(HASH_QUEUE_LIMIT, article=True)}
BUSY = i18n.fmt("en", BUSY_TEMPLATE, **BUSY_PARAMS)  # the English sentence


class DomainError(Exception):
    """Something the user can fix or should be told; never carries a secret.

    ``keeps_writes``: what the service wrote before raising stands (the unit of work,
    ``db.session_scope``, commits it): a refusal's audit row, a failed sign-in, a wrong
    answer's count. Such errors are raised by checks that come before the action's own
    writes. Every other error rolls the whole action back.
    """

    keeps_writes = False

    def __init__(self, message: str, *, field: str | None = None,
                 params: Optional[Mapping[str, Any]] = None):
        english = i18n.format_params("en", message, params)
        super().__init__(english)
        self.message = english
        self.msgid = message  # the catalogue's template
        self.params = dict(params or {})
        self.field = field

    def sentence(self, lang: str) -> str:
        """The sentence in ``lang`` (the English one when the catalogue lacks it)."""
        return i18n.fmt(lang, self.msgid, **self.params)


class ValidationError(DomainError):
    """Input refused; ``field`` names the form field when there is one."""


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """The signed-in user may not do this (or not for this patient)."""

    keeps_writes = True  # the refusal's audit row

    def __init__(self, message: str = N_("You don't have access to that."), **kw):
        super().__init__(message, **kw)


class AuthenticationFailed(DomainError):
    keeps_writes = True  # the failure counts towards the throttle

    def __init__(self, message: str = N_("That email and password don't match our records."), **kw):
        super().__init__(message, **kw)


class Throttled(DomainError):
    keeps_writes = True

    def __init__(self, message: str = N_("Too many attempts. Please wait a few minutes and try again."),
                 retry_after_seconds: int = 60, **kw):
        super().__init__(message, **kw)
        self.retry_after_seconds = retry_after_seconds


class Busy(DomainError):
    """Refused before any work: the password-hashing queue would take longer than
    policy.HASH_QUEUE_LIMIT. Nothing was looked up, checked or written."""

    def __init__(self, message: str = BUSY_TEMPLATE, **kw):
        if message == BUSY_TEMPLATE:
            kw.setdefault("params", BUSY_PARAMS)
        super().__init__(message, **kw)


class LinkError(DomainError):
    """A registration, reset or confirmation link that cannot be used.

    ``reason`` is one of: invalid, expired, used, superseded, locked.
    """

    keeps_writes = True  # a wrong access code counts towards the lock

    def __init__(self, reason: str, message: str, params: Optional[Mapping[str, Any]] = None):
        super().__init__(message, params=params)
        self.reason = reason
