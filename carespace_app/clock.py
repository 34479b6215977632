"""Time is passed in, never read directly by the domain: tests move it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Naive UTC: what both SQLite and PostgreSQL columns store and return."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class FrozenClock:
    """A clock tests can move: ``clock.advance(hours=96)``."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2026, 1, 5, 15, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> datetime:
        self.now = self.now + timedelta(**kwargs)
        return self.now
