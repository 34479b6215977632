"""When the office's answer is due: "by the end of the next business day", on the practice's
wall clock, across weekends, holidays, after-hours messages and daylight saving time."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from carespace_app.services.records import business_hours as bh
from carespace_app.services.records.practice_settings import DEFAULT_HOURS

CHICAGO = ZoneInfo("America/Chicago")
NINE_TO_FIVE = DEFAULT_HOURS  # Monday to Friday, 8:00 AM to 5:00 PM


def utc(local: datetime) -> datetime:
    """A Chicago wall-clock time as stored (naive UTC)."""
    return local.replace(tzinfo=CHICAGO).astimezone(timezone.utc).replace(tzinfo=None)


def due(local: datetime, hours=NINE_TO_FIVE, holidays=()) -> datetime:
    """The due time for a message written at ``local``, back on the Chicago wall clock."""
    found = bh.due_by(utc(local), hours, holidays, CHICAGO)
    return found.replace(tzinfo=timezone.utc).astimezone(CHICAGO).replace(tzinfo=None)


# 2026-01-05 is a Monday.
@pytest.mark.parametrize("written,expected", [
    (datetime(2026, 1, 5, 10, 0), datetime(2026, 1, 6, 17, 0)),   # Monday morning -> Tuesday
    (datetime(2026, 1, 5, 7, 15), datetime(2026, 1, 6, 17, 0)),   # before opening: Monday's
    (datetime(2026, 1, 5, 16, 59), datetime(2026, 1, 6, 17, 0)),  # a minute before closing
    (datetime(2026, 1, 5, 17, 0), datetime(2026, 1, 7, 17, 0)),   # at closing: Tuesday's
    (datetime(2026, 1, 5, 22, 30), datetime(2026, 1, 7, 17, 0)),  # after hours -> Wednesday
    (datetime(2026, 1, 9, 11, 0), datetime(2026, 1, 12, 17, 0)),  # Friday -> Monday
    (datetime(2026, 1, 9, 18, 0), datetime(2026, 1, 13, 17, 0)),  # Friday night: Monday's
    (datetime(2026, 1, 10, 9, 0), datetime(2026, 1, 13, 17, 0)),  # Saturday: Monday's
    (datetime(2026, 1, 11, 23, 59), datetime(2026, 1, 13, 17, 0)),  # Sunday night: Monday's
])
def test_the_answer_is_due_at_closing_on_the_next_business_day(written, expected):
    assert due(written) == expected


def test_holidays_are_closed_days():
    holidays = {date(2026, 12, 24), date(2026, 12, 25)}  # Thursday and Friday
    # Wednesday before: the next business day is Monday the 28th.
    assert due(datetime(2026, 12, 23, 10, 0), holidays=holidays) == datetime(2026, 12, 28, 17, 0)
    # Written on the holiday: counts as Monday's, due Tuesday.
    assert due(datetime(2026, 12, 24, 9, 0), holidays=holidays) == datetime(2026, 12, 29, 17, 0)
    # The same Wednesday without the holidays: Thursday.
    assert due(datetime(2026, 12, 23, 10, 0)) == datetime(2026, 12, 24, 17, 0)


def test_a_saturday_morning_office_and_its_own_closing_time():
    hours = list(NINE_TO_FIVE)
    hours[5] = (time(9, 0), time(12, 0))  # Saturday 9 to noon
    hours[4] = (time(8, 0), time(15, 30))  # Friday closes early
    assert due(datetime(2026, 1, 8, 10, 0), hours) == datetime(2026, 1, 9, 15, 30)  # Thu -> Fri
    assert due(datetime(2026, 1, 9, 10, 0), hours) == datetime(2026, 1, 10, 12, 0)  # Fri -> Sat
    assert due(datetime(2026, 1, 10, 12, 30), hours) == datetime(2026, 1, 13, 17, 0)  # Sat pm


def test_a_change_to_daylight_saving_time_moves_the_utc_hour_not_the_promise():
    # Spring forward on Sunday 2026-03-08: Friday's message is due Monday 5 PM CDT.
    written = utc(datetime(2026, 3, 6, 10, 0))
    assert written == datetime(2026, 3, 6, 16, 0)  # CST: UTC-6
    assert bh.due_by(written, NINE_TO_FIVE, (), CHICAGO) == datetime(2026, 3, 9, 22, 0)  # UTC-5
    # Fall back on Sunday 2026-11-01: Friday's (CDT) is due Monday 5 PM CST.
    written = utc(datetime(2026, 10, 30, 10, 0))
    assert written == datetime(2026, 10, 30, 15, 0)
    assert bh.due_by(written, NINE_TO_FIVE, (), CHICAGO) == datetime(2026, 11, 2, 23, 0)


def test_the_day_is_the_practices_not_utcs():
    # 11 PM Monday in Chicago is already Tuesday in UTC: it still counts as Monday after
    # hours (due Wednesday), not as Tuesday morning.
    written = utc(datetime(2026, 1, 5, 23, 0))
    assert written.date() == date(2026, 1, 6)
    assert due(datetime(2026, 1, 5, 23, 0)) == datetime(2026, 1, 7, 17, 0)


def test_an_office_with_no_day_to_promise_promises_no_time():
    closed = (None,) * 7
    assert bh.due_by(datetime(2026, 1, 5, 15, 0), closed, (), CHICAGO) is None
    every_day_off = {date(2026, 1, 1) + timedelta(days=n) for n in range(bh.SEARCH_DAYS + 10)}
    assert bh.due_by(datetime(2026, 1, 5, 15, 0), NINE_TO_FIVE, every_day_off, CHICAGO) is None
    assert bh.due_text(None, CHICAGO) == bh.DUE_UNKNOWN


def test_the_hours_read_as_people_say_them():
    assert bh.hours_text(NINE_TO_FIVE) == "Monday to Friday, 8:00 AM to 5:00 PM"
    hours = list(NINE_TO_FIVE)
    hours[5] = (time(9, 0), time(12, 0))
    hours[2] = None  # closed Wednesdays
    assert bh.hours_text(hours) == ("Monday and Tuesday, 8:00 AM to 5:00 PM; Thursday and "
                                    "Friday, 8:00 AM to 5:00 PM; Saturday, 9:00 AM to 12:00 PM")
    assert bh.hours_text((None,) * 7) == bh.CLOSED_ALL_WEEK


def test_the_automatic_reply_says_when_the_hours_and_whom_to_call():
    when = bh.due_by(utc(datetime(2026, 1, 9, 18, 0)), NINE_TO_FIVE, (), CHICAGO)
    text = bh.automatic_reply(when, NINE_TO_FIVE, tz=CHICAGO, office_phone="(501) 555-0100",
                              after_hours_phone="(479) 555-0199")
    assert "you can expect an answer by 5:00 PM on Tuesday, January 13." in text
    assert "Office hours: Monday to Friday, 8:00 AM to 5:00 PM." in text
    assert "call the office at (501) 555-0100" in text
    assert "Outside office hours, call (479) 555-0199." in text
    assert text.endswith("If this is an emergency, call 9-1-1.")
    # No separate after-hours number: the office's own.
    same = bh.automatic_reply(when, NINE_TO_FIVE, tz=CHICAGO, office_phone="(501) 555-0100",
                              after_hours_phone="")
    assert "Outside office hours, call (501) 555-0100." in same
