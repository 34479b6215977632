"""Every line the server logs is one line of bounded length, whoever supplied its text.

Reflex and its socket layer log parts of what a browser sent: "Received event data as
a string … Event data: <raw>", and the raw text again inside an EventDeserializationError
traceback that engineio logs. An anonymous socket could thus add hundreds of kilobytes
and forge lines that read like ours. Installed once, before the app starts: every log
record's message has its line breaks and control characters escaped and is cut at
MAX_MESSAGE_CHARS; an exception whose text came from the network is logged as one line.
"""
from __future__ import annotations

import logging

from carespace_app.frontend_errors import one_line

MAX_MESSAGE_CHARS = 2000
# Exceptions whose text is whatever a socket sent, not our code's state.
NETWORK_TEXT_ERRORS = ("EventDeserializationError",)

_installed = False


def _network_error(exc_info) -> BaseException | None:
    if not exc_info or exc_info is True:
        return None
    error = exc_info[1]
    return error if type(error).__name__ in NETWORK_TEXT_ERRORS else None


def install() -> None:
    """Wrap the log record factory (idempotent)."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def safe_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed format: keep what the caller gave, made safe
            message = f"{record.msg!r} {record.args!r}"
        error = _network_error(record.exc_info)
        if error is not None:
            message = f"{message} ({type(error).__name__}: {one_line(str(error), 200)})"
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = one_line(message, MAX_MESSAGE_CHARS), ()
        return record

    logging.setLogRecordFactory(safe_record)
    _installed = True
