"""What the live attack tests share: the running server's database, a trip-wire for
injected script, and a way to send what a browser form would never let through."""
from __future__ import annotations

import contextlib
import re
from datetime import datetime, timezone
from typing import Iterator

from playwright.sync_api import Page, WebSocketRoute
from sqlalchemy import text
from sqlalchemy.engine import Engine

from carespace_app.db import make_engine


def utcnow() -> datetime:
    """The server's clock: naive UTC, as stored."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextlib.contextmanager
def server_db(server) -> Iterator[Engine]:
    engine = make_engine(server.env["REFLEX_DB_URL"])
    try:
        yield engine
    finally:
        engine.dispose()


def scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def as_datetime(value) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # SQLite: text


# --- script injection -------------------------------------------------------------

PWNED = "window.__pwned=1"
SCRIPT_PAYLOADS = (
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=1</script>",
    '"><svg onload=window.__pwned=1>',
    "[click](javascript:window.__pwned=1)",
    "{{7*7}} ${7*7}",
)
SQL_PAYLOADS = ("'; DROP TABLE users; --", "Robert'); DELETE FROM patients;--")

# Anything a payload above would have made, had it been parsed as HTML.
INJECTED = ("img[src='x'], svg[onload], [onerror], [onload], script:not([src])"
            ":has-text('__pwned'), a[href^='javascript:' i]")


class Tripwire:
    """Fails the test if a page ran or built anything from a payload.

    ``page.on("dialog")`` catches alert/confirm/prompt; ``window.__pwned`` catches a
    payload that ran quietly; the selector catches markup that was parsed, even if
    our CSP kept it from running.
    """

    def __init__(self, *pages: Page):
        self.dialogs: list[str] = []
        self.pages = list(pages)
        for page in pages:
            self.watch(page)

    def watch(self, page: Page) -> Page:
        if page not in self.pages:
            self.pages.append(page)
        page.on("dialog", self._dialog)
        return page

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_inert(self) -> None:
        assert self.dialogs == [], f"a payload opened a dialog: {self.dialogs}"
        for page in self.pages:
            if page.is_closed():
                continue
            assert page.evaluate("() => typeof window.__pwned") == "undefined", page.url
            found = page.locator(INJECTED).evaluate_all("els => els.map(e => e.outerHTML)")
            assert found == [], f"injected markup on {page.url}: {found}"


# --- what a browser form won't send ------------------------------------------------


def rewrite_events(page: Page, replacements: dict[str, str]) -> None:
    """Rewrite the page's outgoing Reflex events on the wire, as an attacker with a
    proxy (or their own script) would: each key typed into a field arrives at the
    server as its value. Values are JSON-escaped into the socket.io frame, so a
    ``"\\n"`` in a value arrives as a real line break, which an ``<input>`` strips."""
    import json

    escaped = {marker: json.dumps(value)[1:-1] for marker, value in replacements.items()}

    def handler(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def outgoing(message):
            if isinstance(message, str):
                for marker, value in escaped.items():
                    message = message.replace(marker, value)
            upstream.send(message)

        ws.on_message(outgoing)

    page.route_web_socket(re.compile(r"/_event"), handler)


def skip_browser_checks(page: Page) -> None:
    """Let the form submit what the browser's own checks (type=email, required) refuse:
    an attacker's browser does not run them; only the server's checks count."""
    page.locator("form").first.evaluate("f => { f.noValidate = true; }")
