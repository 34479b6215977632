"""A browser's error report is the sender's word: one bounded, escaped line in the server
log, and only so many a minute. (On the running server: tests/security/live/test_log_forging.py.)
"""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import reflex as rx
from reflex.app import default_backend_exception_handler
from reflex.state import FrontendEventExceptionState

from carespace_app.frontend_errors import MAX_LINE_CHARS, ReportLog, log_frontend_error, one_line

FORGED = "\nINFO carespace: sign-in ok for dana"


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def records():
    """What the report logger writes, as the log file would show it."""
    logger = logging.getLogger("carespace.browser.test")
    logger.propagate = False
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep()
    logger.addHandler(handler)
    yield logger, lines
    logger.removeHandler(handler)


def test_a_forged_line_stays_inside_one_bounded_line():
    report = "TypeError: x is null" + FORGED + "\r\n" + FORGED + "x" * 200_000
    line = one_line(report)
    assert "\n" not in line and "\r" not in line
    assert "\\nINFO carespace: sign-in ok for dana" in line
    assert len(line) <= MAX_LINE_CHARS + 40
    assert line.endswith("more characters)")


def test_control_and_direction_characters_are_escaped_and_ordinary_text_is_kept():
    assert one_line("red \x1b[31m bell \x07 nul \x00 tab \t") == (
        "red \\x1b[31m bell \\x07 nul \\x00 tab \\t")
    assert one_line("gnp.exe\u202efdp and \ud800 and \u2028") == (
        "gnp.exe\\u202efdp and \\ud800 and \\u2028")
    assert one_line("Cannot read properties of null (reading 'café ✓ 日本')") == (
        "Cannot read properties of null (reading 'café ✓ 日本')")


def test_only_the_first_characters_are_looked_at():
    # A 1 MB report costs what a 300-character one does (the rest is only counted).
    assert one_line("\n" * 1_000_000).count("\\n") == MAX_LINE_CHARS // 2


def test_a_flood_writes_the_limit_then_one_line_with_the_count(records):
    logger, lines = records
    clock = FakeClock()
    reports = ReportLog(logger, per_window=5, window_seconds=60, clock=clock)
    for n in range(12):
        reports.report(f"error {n}{FORGED}")
    assert len(lines) == 5
    assert all(line.startswith("browser reported an error (unverified): error ") for line in lines)
    assert not any("\n" in line for line in lines)

    clock.now += 59
    reports.report("still the same minute")
    assert len(lines) == 5

    clock.now += 1  # a new minute: first the count of what was left out, then the report
    reports.report("a new minute")
    assert lines[5] == "8 more browser error reports were not logged (at most 5 a minute)"
    assert lines[6].endswith("a new minute")

    clock.now += 60  # nothing was left out of the last minute: no count line
    reports.report("quiet again")
    assert lines[7:] == ["browser reported an error (unverified): quiet again"]


def test_the_handler_logs_one_line_on_the_carespace_logger(caplog):
    with caplog.at_level(logging.WARNING, logger="carespace.browser"):
        log_frontend_error(Exception("boom" + FORGED + "y" * 100_000))
    [record] = [r for r in caplog.records if r.name == "carespace.browser"]
    message = record.getMessage()
    assert "\n" not in message and len(message) < 500
    assert "\\nINFO carespace: sign-in ok for dana" in message


def test_reflex_accepts_the_handler():
    # What rx.App(frontend_exception_handler=...) checks when the app starts.
    app = SimpleNamespace(frontend_exception_handler=log_frontend_error,
                          backend_exception_handler=default_backend_exception_handler)
    rx.App._validate_exception_handlers(app)


def test_reflex_no_longer_searches_reports_with_its_slow_patterns():
    # One of them took 0.2 s for 8 KB of "TypeError: can't access property \"a\", " and
    # grows with the cube of the length; the reload it served is refused by our CSP.
    assert FrontendEventExceptionState.auto_reload_on_errors == []
