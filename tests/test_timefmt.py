"""Dates as people say them: the year appears only when it is not this year."""
from __future__ import annotations

from datetime import date, datetime

from carespace_app import timefmt

NOW = datetime(2026, 11, 30, 15, 0)  # naive UTC: Mon, Nov 30, 2026, 9:00 AM in Chicago


def test_this_years_dates_leave_the_year_out():
    assert timefmt.when(datetime(2026, 12, 2, 15, 30), now=NOW) == "Wed, Dec 2, 9:30 AM"
    assert timefmt.day(datetime(2026, 12, 2, 15, 30), now=NOW) == "Wed, Dec 2"
    assert timefmt.day(date(2026, 3, 4), now=NOW) == "Wed, Mar 4"


def test_another_years_dates_carry_the_year():
    assert timefmt.when(datetime(2027, 1, 8, 15, 30), now=NOW) == "Fri, Jan 8, 2027, 9:30 AM"
    assert timefmt.day(datetime(2027, 1, 8, 15, 30), now=NOW) == "Fri, Jan 8, 2027"
    assert timefmt.day(date(1955, 3, 3), now=NOW) == "Thu, Mar 3, 1955"
    assert timefmt.when(datetime(2025, 12, 31, 18, 0), now=NOW) == "Wed, Dec 31, 2025, 12:00 PM"


def test_the_year_is_the_practices_local_year():
    # 03:00 UTC on Jan 1, 2027 is still New Year's Eve, 9 PM, in Chicago.
    assert timefmt.when(datetime(2027, 1, 1, 3, 0), now=NOW) == "Thu, Dec 31, 9:00 PM"
    new_year = datetime(2027, 1, 1, 7, 0)  # 1 AM on Jan 1 in Chicago
    assert timefmt.day(datetime(2026, 12, 31, 18, 0), now=new_year) == "Thu, Dec 31, 2026"


def test_nothing_shows_nothing():
    assert timefmt.when(None) == "" and timefmt.day(None) == ""
