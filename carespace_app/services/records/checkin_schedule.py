"""When a plan's check-ins open and close: pure date arithmetic, no database (issue #15).

A plan asks every 7 or 14 days from its start date, on the practice's wall clock: each
check-in opens at ``OPENS_AT`` local time on its day (so 8:00 AM stays 8:00 AM across a
daylight-saving change) and stays open until the next one opens. The last one of a plan
with an end date closes a whole interval after it opened. Times in and out are naive UTC,
as stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional

from carespace_app import timefmt

INTERVALS = (7, 14)  # the schedules the office can choose
INTERVAL_WORDS = {7: "Weekly", 14: "Every 14 days"}
OPENS_AT = time(8, 0)  # practice time


@dataclass(frozen=True)
class Occurrence:
    index: int  # 0 for the check-in on the start date
    day: date  # the local date it opens
    opens_at: datetime  # naive UTC
    closes_at: datetime  # naive UTC: the next one's opening


def opening(day: date) -> datetime:
    """A day's opening time (OPENS_AT, practice time), as naive UTC."""
    return timefmt.to_utc_naive(datetime.combine(day, OPENS_AT))


def occurrence(starts_on: date, every_days: int, index: int) -> Occurrence:
    day = starts_on + timedelta(days=every_days * index)
    return Occurrence(index=index, day=day, opens_at=opening(day),
                      closes_at=opening(day + timedelta(days=every_days)))


def last_index(starts_on: date, every_days: int, ends_on: Optional[date]) -> Optional[int]:
    """The last check-in's index (its day on or before ``ends_on``); None: until stopped;
    -1: the plan ends before its first check-in."""
    if ends_on is None:
        return None
    if ends_on < starts_on:
        return -1
    return (ends_on - starts_on).days // every_days


def current(starts_on: date, every_days: int, ends_on: Optional[date],
            now: datetime) -> Optional[Occurrence]:
    """The check-in open at ``now`` (naive UTC), or None: before the first, after the last.

    A week the server did not run (or the patient did not answer) is simply past: the
    one open now is the latest whose opening has come.
    """
    local_day = timefmt.to_local(now).date()
    if local_day < starts_on:
        return None
    index = (local_day - starts_on).days // every_days
    found = occurrence(starts_on, every_days, index)
    if found.opens_at > now:  # today is its day, but it is not 8 AM yet
        index -= 1
        if index < 0:
            return None
        found = occurrence(starts_on, every_days, index)
    last = last_index(starts_on, every_days, ends_on)
    if last is not None and index > last:
        return None
    return found


def next_opening(starts_on: date, every_days: int, ends_on: Optional[date],
                 now: datetime) -> Optional[Occurrence]:
    """The next check-in to open after ``now``; None when the plan has no more."""
    now_one = current(starts_on, every_days, ends_on, now)
    if now_one is not None:
        index = now_one.index + 1
    elif timefmt.to_local(now).date() < starts_on or opening(starts_on) > now:
        index = 0
    else:
        return None  # past the last one
    last = last_index(starts_on, every_days, ends_on)
    if last is not None and index > last:
        return None
    return occurrence(starts_on, every_days, index)


UNTIL_STOPPED = "until stopped"
SUMMARY = "{how} from {start}, {end}"
ENDS = "to {day}"


def describe(every_days: int, starts_on: date, ends_on: Optional[date], *,
             now: Optional[datetime] = None) -> str:
    """ "Weekly from Tue, Dec 1, until stopped"; "Every 14 days from … to …". ``now``
    (naive UTC) decides whether a date carries its year (timefmt.day)."""
    how = INTERVAL_WORDS.get(every_days, f"Every {every_days} days")
    end = UNTIL_STOPPED if ends_on is None else ENDS.format(day=timefmt.day(ends_on, now=now))
    return SUMMARY.format(how=how, start=timefmt.day(starts_on, now=now), end=end)
