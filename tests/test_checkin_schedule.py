"""When check-ins open and close: 8:00 AM practice time (America/Chicago in tests) on
every 7th or 14th day from the start, open until the next one opens (issue #15)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from carespace_app import timefmt
from carespace_app.services.records import checkin_schedule as schedule
from carespace_app.services.records.checkin_schedule import current, next_opening, occurrence

MON = date(2026, 1, 5)  # a Monday in winter: 8:00 AM CST is 14:00 UTC
NOW = datetime(2026, 1, 5, 15, 0)  # "this year" for the sentences


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A practice wall-clock time as stored (naive UTC)."""
    return timefmt.to_utc_naive(datetime(day.year, day.month, day.day, hour, minute))


def test_the_practice_is_in_chicago_for_these_tests():
    assert str(timefmt.practice_tz()) == "America/Chicago"


# --- daylight saving --------------------------------------------------------------------


def test_a_weekly_plan_across_the_november_change_still_opens_at_8_am_local():
    start = date(2026, 10, 26)  # CDT; clocks go back on Sun, Nov 1
    before, after = occurrence(start, 7, 0), occurrence(start, 7, 1)
    assert before.opens_at == datetime(2026, 10, 26, 13, 0)  # 8:00 CDT = 13:00 UTC
    assert after.opens_at == datetime(2026, 11, 2, 14, 0)  # 8:00 CST = 14:00 UTC
    assert before.closes_at == after.opens_at  # open until the next one opens
    assert timefmt.to_local(after.opens_at).strftime("%H:%M") == "08:00"
    # 13:30 UTC on Nov 2 is 7:30 AM there: last week's is still the one open.
    assert current(start, 7, None, datetime(2026, 11, 2, 13, 30)).index == 0
    assert current(start, 7, None, datetime(2026, 11, 2, 14, 0)).index == 1
    assert next_opening(start, 7, None, datetime(2026, 11, 2, 13, 30)).opens_at == after.opens_at


def test_a_weekly_plan_across_the_march_change_still_opens_at_8_am_local():
    start = date(2026, 3, 2)  # CST; clocks go forward on Sun, Mar 8
    before, after = occurrence(start, 7, 0), occurrence(start, 7, 1)
    assert before.opens_at == datetime(2026, 3, 2, 14, 0)
    assert after.opens_at == datetime(2026, 3, 9, 13, 0)  # 8:00 CDT
    assert after.opens_at - before.opens_at == timedelta(days=7, hours=-1)
    # 8:30 AM on Mar 9 (13:30 UTC): the new one is open, though 7 × 24 h have not passed.
    assert current(start, 7, None, datetime(2026, 3, 9, 13, 30)).index == 1
    assert current(start, 7, None, datetime(2026, 3, 9, 12, 59)).index == 0
    for index in range(6):
        opens = occurrence(start, 7, index).opens_at
        assert timefmt.to_local(opens).strftime("%a %H:%M") == "Mon 08:00"


# --- end dates ---------------------------------------------------------------------------


def test_the_end_date_is_inclusive():
    ends = MON + timedelta(days=14)  # the third check-in's own day
    third = current(MON, 7, ends, local(ends, 9))
    assert third.index == 2 and third.day == ends
    assert third.closes_at == local(ends + timedelta(days=7), 8)  # a whole week to answer
    assert current(MON, 7, ends, local(ends + timedelta(days=6), 23)).index == 2
    assert current(MON, 7, ends, local(ends + timedelta(days=7), 8)) is None  # no fourth
    assert next_opening(MON, 7, ends, local(ends, 9)) is None
    assert next_opening(MON, 7, ends, local(ends, 7)).index == 2
    assert schedule.last_index(MON, 7, ends) == 2


def test_an_end_date_between_two_check_ins_ends_after_the_earlier_one():
    ends = MON + timedelta(days=13)  # the day before the third
    assert schedule.last_index(MON, 7, ends) == 1
    assert current(MON, 7, ends, local(MON + timedelta(days=14), 7, 59)).index == 1
    assert current(MON, 7, ends, local(MON + timedelta(days=14), 8)) is None
    assert next_opening(MON, 7, ends, local(MON + timedelta(days=8), 12)) is None


def test_a_plan_that_ends_on_its_first_day_has_one_check_in():
    assert current(MON, 7, MON, local(MON, 9)).index == 0
    assert current(MON, 7, MON, local(MON + timedelta(days=7), 9)) is None
    assert next_opening(MON, 7, MON, local(MON, 7)).index == 0
    assert next_opening(MON, 7, MON, local(MON, 9)) is None


def test_a_plan_ending_before_its_first_day_never_opens():
    ends = MON - timedelta(days=1)
    assert schedule.last_index(MON, 7, ends) == -1
    for at in (local(MON, 7), local(MON, 9), local(MON + timedelta(days=7), 9),
               local(MON - timedelta(days=3), 12)):
        assert current(MON, 7, ends, at) is None
        assert next_opening(MON, 7, ends, at) is None


def test_until_stopped_goes_on():
    far = MON + timedelta(days=7 * 100)
    assert current(MON, 7, None, local(far, 9)).index == 100
    assert next_opening(MON, 7, None, local(far, 9)).index == 101


# --- a missed week, the hour of the day ------------------------------------------------------


def test_a_missed_week_the_current_one_is_open_and_the_earlier_one_closed():
    # Nothing ran for 10 days after the first opened.
    now = local(MON, 8) + timedelta(days=10)
    now_open = current(MON, 7, None, now)
    assert (now_open.index, now_open.day) == (1, MON + timedelta(days=7))
    assert now_open.opens_at <= now < now_open.closes_at
    first = occurrence(MON, 7, 0)
    assert first.closes_at == now_open.opens_at <= now  # expired when the second opened
    assert next_opening(MON, 7, None, now).day == MON + timedelta(days=14)


def test_before_8_am_on_the_first_day_nothing_is_open_yet():
    assert current(MON, 7, None, local(MON, 7, 59)) is None
    assert current(MON, 7, None, local(MON - timedelta(days=2), 12)) is None
    assert next_opening(MON, 7, None, local(MON, 7, 59)).opens_at == local(MON, 8)
    assert next_opening(MON, 7, None, local(MON - timedelta(days=2), 12)).index == 0
    assert current(MON, 7, None, local(MON, 8)).index == 0  # on the minute


def test_before_8_am_on_a_later_day_last_weeks_is_still_open():
    day = MON + timedelta(days=7)
    assert current(MON, 7, None, local(day, 7, 59)).index == 0
    assert next_opening(MON, 7, None, local(day, 7, 59)).opens_at == local(day, 8)
    assert current(MON, 7, None, local(day, 8)).index == 1


def test_every_14_days():
    assert current(MON, 14, None, local(MON + timedelta(days=7), 9)).index == 0
    assert current(MON, 14, None, local(MON + timedelta(days=13), 23)).index == 0
    second = current(MON, 14, None, local(MON + timedelta(days=14), 8))
    assert (second.index, second.day) == (1, MON + timedelta(days=14))
    assert occurrence(MON, 14, 0).closes_at == second.opens_at
    assert next_opening(MON, 14, None, local(MON + timedelta(days=7), 9)).day == MON + timedelta(days=14)
    assert schedule.last_index(MON, 14, MON + timedelta(days=27)) == 1


@pytest.mark.parametrize("every,ends,said", [
    (7, None, "Weekly from Mon, Jan 5, until stopped"),
    (14, date(2026, 3, 30), "Every 14 days from Mon, Jan 5, to Mon, Mar 30"),
    (14, date(2027, 1, 4), "Every 14 days from Mon, Jan 5, to Mon, Jan 4, 2027"),
])
def test_describe(every, ends, said):
    assert schedule.describe(every, MON, ends, now=NOW) == said
