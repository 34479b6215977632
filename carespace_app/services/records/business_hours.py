"""When the office's answer to a message is due, and the automatic reply that says so.

Pure: no database, no clock of its own. The office promises an answer "by the end of the
next business day" (issue #15). A message that arrives on a business day before closing
counts as received that day; one that arrives after closing, on a weekend or on a holiday
counts as received on the next business day, as offices count them. The answer is then
due at closing time of the business day after the day it counts as received:

    Monday 10:00 AM   -> Tuesday 5:00 PM
    Monday 6:00 PM    -> Wednesday 5:00 PM   (after hours: counts as Tuesday's)
    Friday 6:00 PM    -> Tuesday 5:00 PM     (counts as Monday's)
    Saturday, Sunday  -> Tuesday 5:00 PM

Days and closing times are the practice's wall clock (``tz``, timefmt.practice_tz()); the
result is naive UTC as stored, so a change to or from daylight saving time in between
moves the UTC hour, not the promise.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Optional, Sequence
from zoneinfo import ZoneInfo

from carespace_app import i18n
from carespace_app.i18n import N_

Hours = Sequence[Optional[tuple[time, time]]]  # 7 entries, Monday first; None: closed

# A year and a bit: past it, a practice with no open day left (every day a holiday) has
# no date to promise.
SEARCH_DAYS = 400
DAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
             N_("Saturday"), N_("Sunday"))

# The automatic first reply of every new conversation (Message.automatic), stored in the
# language of the person who wrote (the patient or caregiver reads it).
AUTOMATIC_REPLY = N_(
    "Thank you for your message. Our care team answers messages during office hours, "
    "and you can expect an answer {due}.\n\n"
    "Office hours: {hours}.\n\n"
    "If you need to talk to someone sooner, call the office at {office_phone}. "
    "Outside office hours, call {after_hours_phone}. "
    "If this is an emergency, call 9-1-1."
)
DUE_WHEN = N_("by {time} on {day}")  # "by 5:00 PM on Tuesday, December 2"
DUE_UNKNOWN = N_("as soon as the office is open again")
DAY_HOURS = N_("{days}, {opens} to {closes}")
CLOSED_ALL_WEEK = N_("by appointment only")
TWO_DAYS = N_("{first} and {last}")
DAY_SPAN = N_("{first} to {last}")


def _is_open(day: date, hours: Hours, holidays: Iterable[date]) -> bool:
    return hours[day.weekday()] is not None and day not in holidays


def _next_open_day(after: date, hours: Hours, holidays: frozenset[date],
                   *, include: bool = False) -> Optional[date]:
    day = after if include else after + timedelta(days=1)
    for _ in range(SEARCH_DAYS):
        if _is_open(day, hours, holidays):
            return day
        day += timedelta(days=1)
    return None


def _local(utc_naive: datetime, tz: ZoneInfo) -> datetime:
    return utc_naive.replace(tzinfo=timezone.utc).astimezone(tz)


def _utc_naive(day: date, at: time, tz: ZoneInfo) -> datetime:
    return (datetime.combine(day, at).replace(tzinfo=tz).astimezone(timezone.utc)
            .replace(tzinfo=None))


def received_day(received_at: datetime, hours: Hours, holidays: Iterable[date],
                 tz: ZoneInfo) -> Optional[date]:
    """The business day a message counts as received on (see the module's note)."""
    holidays = frozenset(holidays)
    local = _local(received_at, tz)
    today = local.date()
    span = hours[today.weekday()]
    if span is not None and today not in holidays and local.time() < span[1]:
        return today
    return _next_open_day(today, hours, holidays)


def due_by(received_at: datetime, hours: Hours, holidays: Iterable[date],
           tz: ZoneInfo) -> Optional[datetime]:
    """Closing time of the business day after the one the message counts as received on,
    as naive UTC; None when the office has no open day to promise."""
    holidays = frozenset(holidays)
    counted = received_day(received_at, hours, holidays, tz)
    if counted is None:
        return None
    due_day = _next_open_day(counted, hours, holidays)
    if due_day is None:
        return None
    return _utc_naive(due_day, hours[due_day.weekday()][1], tz)


def clock_text(at: time, lang: str = "en") -> str:
    """ "8:00 AM", "12:30 PM"; Spanish "8:00 a.m."."""
    if i18n.normalize(lang) == "es":
        from babel.dates import format_time

        said = format_time(at, "short", locale=i18n.BABEL_LOCALES["es"])
        return said.replace("\u202f", " ").replace("\xa0", " ")
    return f"{at.strftime('%I').lstrip('0')}:{at:%M %p}"


def due_text(due: Optional[datetime], tz: ZoneInfo, lang: str = "en") -> str:
    if due is None:
        return i18n.gettext(lang, DUE_UNKNOWN)
    from carespace_app.timefmt import long_day

    local = _local(due, tz)
    return i18n.fmt(lang, DUE_WHEN, time=clock_text(local.time(), lang),
                    day=long_day(local.date(), lang=i18n.normalize(lang)))


def _days_text(first: int, last: int, lang: str = "en") -> str:
    one, other = i18n.gettext(lang, DAY_NAMES[first]), i18n.gettext(lang, DAY_NAMES[last])
    if first == last:
        return one
    if last == first + 1:
        return i18n.fmt(lang, TWO_DAYS, first=one, last=other)
    return i18n.fmt(lang, DAY_SPAN, first=one, last=other)


def hours_text(hours: Hours, lang: str = "en") -> str:
    """ "Monday to Friday, 8:00 AM to 5:00 PM; Saturday, 9:00 AM to 12:00 PM"."""
    groups: list[tuple[int, int, tuple[time, time]]] = []
    for i, span in enumerate(hours):
        if span is None:
            continue
        if groups and groups[-1][1] == i - 1 and groups[-1][2] == span:
            groups[-1] = (groups[-1][0], i, span)
        else:
            groups.append((i, i, span))
    if not groups:
        return i18n.gettext(lang, CLOSED_ALL_WEEK)
    return "; ".join(i18n.fmt(lang, DAY_HOURS, days=_days_text(first, last, lang),
                              opens=clock_text(span[0], lang), closes=clock_text(span[1], lang))
                     for first, last, span in groups)


def automatic_reply(due: Optional[datetime], hours: Hours, *, tz: ZoneInfo, office_phone: str,
                    after_hours_phone: str, lang: str = "en") -> str:
    """The practice's first reply in a new conversation, in ``lang``: when to expect an
    answer, the hours, the numbers to call, and 9-1-1."""
    return i18n.fmt(lang, AUTOMATIC_REPLY, due=due_text(due, tz, lang), hours=hours_text(hours, lang),
                    office_phone=office_phone, after_hours_phone=after_hours_phone or office_phone)
