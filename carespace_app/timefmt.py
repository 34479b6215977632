"""Dates as people say them, in the practice's time zone: "Thu, Dec 4, 9:30 AM".

A date outside the current year carries its year ("Fri, Jan 8, 2027, 9:30 AM"):
without it a visit next January reads as if it were last January.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from carespace_app.clock import utcnow
from carespace_app.config import get_settings


def practice_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def to_local(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(practice_tz())


def to_utc_naive(local_naive: datetime) -> datetime:
    """A wall-clock time typed in the practice's zone, as stored (naive UTC)."""
    return local_naive.replace(tzinfo=practice_tz()).astimezone(timezone.utc).replace(tzinfo=None)


def _date_text(value: date, now: datetime | None) -> str:
    """ "Tue, Dec 2" this year, "Fri, Jan 8, 2027" any other year (``now``: naive UTC)."""
    this_year = to_local(now if now is not None else utcnow()).year
    text = f"{value:%a, %b} {value.day}"
    return text if value.year == this_year else f"{text}, {value.year}"


def when(utc_naive: datetime | None, *, now: datetime | None = None) -> str:
    if utc_naive is None:
        return ""
    local = to_local(utc_naive)
    hour = local.strftime("%I").lstrip("0")
    return f"{_date_text(local.date(), now)}, {hour}:{local:%M %p}"


def day(value: date | datetime | None, *, now: datetime | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return _date_text(value, now)


def time_only(utc_naive: datetime) -> str:
    local = to_local(utc_naive)
    return f"{local.strftime('%I').lstrip('0')}:{local:%M %p}"
