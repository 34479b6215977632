"""Every log record is one bounded line; a socket's text in an exception is not a traceback."""
from __future__ import annotations

import logging

from carespace_app import log_safety


class EventDeserializationError(Exception):
    """Stands in for Reflex's: the rule goes by the error's name."""


def _records(caplog, emit) -> list[logging.LogRecord]:
    log_safety.install()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        emit(logging.getLogger("reflex.app"))
    return caplog.records


def test_a_message_with_line_breaks_is_one_escaped_line(caplog):
    forged = "raw\nINFO carespace: sign-in ok for dana\r\n" + "x" * 10_000
    [record] = _records(caplog, lambda log: log.warning("Event data: %s", forged))
    text = record.getMessage()
    assert "\n" not in text and "\r" not in text
    assert "\\nINFO carespace: sign-in ok for dana" in text
    assert len(text) <= log_safety.MAX_MESSAGE_CHARS + 40


def test_a_network_error_is_logged_as_one_line_without_its_traceback(caplog):
    def emit(log):
        try:
            raise EventDeserializationError("x\nINFO forged line\n" * 1000)
        except EventDeserializationError:
            log.exception("message async handler error")

    [record] = _records(caplog, emit)
    assert record.exc_info is None
    assert "EventDeserializationError: x\\nINFO forged line" in record.getMessage()
    assert "\n" not in logging.Formatter().format(record)


def test_our_own_tracebacks_are_kept(caplog):
    def emit(log):
        try:
            raise ValueError("our bug")
        except ValueError:
            log.exception("home summary failed")

    [record] = _records(caplog, emit)
    assert record.exc_info is not None and "Traceback" in logging.Formatter().format(record)
