"""What a browser reports about its own errors, written to the server log safely.

Reflex lets any socket, signed in or not, report a "frontend exception", and its default
handler wrote the text verbatim: multi-line and unbounded (four frames added 594 KB to
the log and a forged "sign-in ok for dana" line). A report is the sender's word, so here
it becomes one line, at most ``MAX_LINE_CHARS`` characters, with line breaks and other
invisible characters escaped, and at most ``LINES_PER_MINUTE`` reports a minute are
written per process; the rest are counted in one line.

Wired with ``rx.App(frontend_exception_handler=log_frontend_error)``. Both of Reflex's
routes for these reports end there: the ``handle_frontend_exception`` state event (an
error boundary, or anyone with a socket) and the ``client_error`` socket event.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from reflex.state import FrontendEventExceptionState

log = logging.getLogger("carespace.browser")

# Enough for an error's first line and where it happened; a stack trace's remainder is
# the sender's to keep (our own code's errors are logged with their traces server-side).
MAX_LINE_CHARS = 300
# A page with a real bug reports once per load; dozens a minute is a flood, not news.
LINES_PER_MINUTE = 20
WINDOW_SECONDS = 60.0
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Reflex's handler first searches the report for a few browser messages, to reload the
# page on them. One pattern backtracks in cubic time ("TypeError: can't access property
# "a", " repeated): 8 KB cost 0.2 s and 1 MB would hold the event loop for hours, for
# everyone. The reload it would send is a script our CSP refuses to run anyway, so the
# search is turned off. (Reflex checks the list's truthiness before searching.)
FrontendEventExceptionState.auto_reload_on_errors = []


def one_line(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """``text`` on one line of at most ``limit`` characters: line breaks, control and
    direction characters escaped (``\\n``, ``\\x1b``, ``\\u202e``), the rest cut off and
    counted. Only the first ``limit`` characters are ever looked at."""
    out: list[str] = []
    used = 0
    shown = 0
    for ch in text[:limit]:
        piece = _ESCAPES.get(ch) or (ch if ch.isprintable() else _escaped(ch))
        if used + len(piece) > limit:
            break
        out.append(piece)
        used += len(piece)
        shown += 1
    if shown < len(text):
        out.append(f"… ({len(text) - shown:,} more characters)")
    return "".join(out)


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class ReportLog:
    """Writes browser reports to ``logger``: one bounded line each, ``per_window`` per
    window, then one line saying how many were left out (written when the next report
    arrives after the window)."""

    def __init__(self, logger: logging.Logger = log, *, per_window: int = LINES_PER_MINUTE,
                 window_seconds: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.per_window = per_window
        self.window_seconds = window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._written = 0
        self._suppressed = 0

    def report(self, text: str) -> None:
        with self._lock:
            now = self.clock()
            if now - self._window_start >= self.window_seconds:
                if self._suppressed:
                    self.logger.warning("%d more browser error reports were not logged "
                                        "(at most %d a minute)", self._suppressed, self.per_window)
                self._window_start, self._written, self._suppressed = now, 0, 0
            if self._written >= self.per_window:
                self._suppressed += 1
                return
            self._written += 1
        # Formatted by the logger with %s: the text is data, never a format string.
        self.logger.warning("browser reported an error (unverified): %s", one_line(text))


_reports = ReportLog()


def log_frontend_error(exception: Exception) -> None:
    """Reflex's ``frontend_exception_handler``: the browser's report, logged safely."""
    try:
        text = str(exception)
    except Exception:  # an exception whose str() fails is still one line in the log
        text = f"<{type(exception).__name__}>"
    _reports.report(text)
