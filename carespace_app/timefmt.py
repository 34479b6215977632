"""Dates as people say them, in the practice's time zone: "Thu, Dec 4, 9:30 AM"."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from .config import get_settings


def practice_tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def to_local(utc_naive: datetime) -> datetime:
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(practice_tz())


def to_utc_naive(local_naive: datetime) -> datetime:
    """A wall-clock time typed in the practice's zone, as stored (naive UTC)."""
    return local_naive.replace(tzinfo=practice_tz()).astimezone(timezone.utc).replace(tzinfo=None)


def when(utc_naive: datetime | None) -> str:
    if utc_naive is None:
        return ""
    local = to_local(utc_naive)
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%a, %b} {local.day}, {hour}:{local:%M %p}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return f"{value:%a, %b} {value.day}, {value.year}"


def time_only(utc_naive: datetime) -> str:
    local = to_local(utc_naive)
    return f"{local.strftime('%I').lstrip('0')}:{local:%M %p}"
