"""Dates as people say them, in the practice's time zone: "Thu, Dec 4, 9:30 AM".

A date outside the current year carries its year ("Fri, Jan 8, 2027, 9:30 AM"):
without it a visit next January reads as if it were last January.

Every function takes ``lang``: Spanish is formatted by Babel with the US Spanish locale
("jue, 4 de dic, 9:30 a.m."; ``long_day``: "martes, 3 de marzo"). English keeps the
practice's own short form, which CLDR's en_US only nearly matches (it puts a narrow
no-break space before AM, which people cannot type when they search a page).
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


def _babel_locale(lang: str) -> str:
    from carespace_app.i18n import BABEL_LOCALES, normalize

    return BABEL_LOCALES[normalize(lang)]


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _date_text(value: date, now: datetime | None, lang: str = "en") -> str:
    """ "Tue, Dec 2" this year, "Fri, Jan 8, 2027" any other year (``now``: naive UTC);
    Spanish: "mar, 2 de dic", "vie, 8 de ene de 2027"."""
    this_year = to_local(now if now is not None else utcnow()).year
    if lang == "es":
        from babel.dates import format_date

        pattern = "EEE, d 'de' MMM" if value.year == this_year else "EEE, d 'de' MMM 'de' y"
        return _plain(format_date(value, pattern, locale=_babel_locale(lang)))
    text = f"{value:%a, %b} {value.day}"
    return text if value.year == this_year else f"{text}, {value.year}"


def when(utc_naive: datetime | None, *, now: datetime | None = None, lang: str = "en") -> str:
    if utc_naive is None:
        return ""
    local = to_local(utc_naive)
    return f"{_date_text(local.date(), now, lang)}, {_clock_text(local, lang)}"


def day(value: date | datetime | None, *, now: datetime | None = None, lang: str = "en") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return _date_text(value, now, lang)


def long_day(value: date, lang: str = "en") -> str:
    """ "Tuesday, March 3"; Spanish "martes, 3 de marzo"."""
    from babel.dates import format_date

    pattern = "EEEE, d 'de' MMMM" if lang == "es" else "EEEE, MMMM d"
    return _plain(format_date(value, pattern, locale=_babel_locale(lang)))


def _clock_text(local: datetime, lang: str) -> str:
    if lang == "es":
        from babel.dates import format_time

        return _plain(format_time(local, "short", locale=_babel_locale(lang)))
    return f"{local.strftime('%I').lstrip('0')}:{local:%M %p}"


def time_only(utc_naive: datetime, lang: str = "en") -> str:
    return _clock_text(to_local(utc_naive), lang)
