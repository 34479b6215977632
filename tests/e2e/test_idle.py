"""Idle sign-out: a warning a minute before, "Stay signed in", and the sign-in page after 15 minutes.

The page does not poll: it counts down from the deadline the server sent and asks only at
the warning and at the end (components/idle.py). Instead of waiting, a test moves both
clocks: it ages the session row in the running server's database (the server's view) and
moves the page's fake clock forward by as much (Playwright's clock).

The fake clock is installed once the page is open (``_fake_clock``): the page's socket then
keeps its own timers, so a jump of 14 minutes does not also time out the socket and
reconnect it (a reconnection reloads the page's state, and its load is activity).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from carespace_app.policy import IDLE_TIMEOUT, IDLE_WARNING, in_words

from .people import hydrated, next_action_signs_in_again, registered_patient, sign_out

# components/idle.py looks at its countdown every second: an answer comes within a few.
ASKED = 8_000
IDLE_MESSAGE = f"You were signed out after {in_words(IDLE_TIMEOUT)} without activity"


@pytest.fixture
def server_db(server):
    engine = create_engine(server.env["REFLEX_DB_URL"])
    yield engine
    engine.dispose()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _age_sessions(engine, email: str, idle: timedelta, page: Page) -> None:
    # Wait for the page's load event to have run: it is activity and would undo the ageing.
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with engine.begin() as conn:
        changed = conn.execute(text(
            "UPDATE user_sessions SET last_seen_at = :at WHERE ended_at IS NULL AND user_id = "
            "(SELECT id FROM users WHERE email = :email)"), {"at": _utcnow() - idle, "email": email})
        assert changed.rowcount >= 1


def _fake_clock(page: Page) -> None:
    """From now on the page's Date runs on a clock the test moves (see the module's note)."""
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.clock.install()


def _step_away(engine, email: str, idle: timedelta, page: Page) -> None:
    """Nobody touches the page for ``idle``: as the server and as the browser see it."""
    _age_sessions(engine, email, idle, page)
    page.clock.fast_forward(int(idle.total_seconds() * 1000))


def _events_sent(page: Page) -> list[str]:
    """The Reflex events this page sends from now on (socket.io EVENT packets)."""
    sent: list[str] = []

    def watch(ws):
        ws.on("framesent", lambda payload: sent.append(payload)
              if isinstance(payload, str) and payload.startswith("42") else None)

    page.on("websocket", watch)
    return sent


def _last_seen(engine, email: str) -> datetime:
    with engine.connect() as conn:
        value = conn.execute(text(
            "SELECT max(last_seen_at) FROM user_sessions WHERE ended_at IS NULL AND user_id = "
            "(SELECT id FROM users WHERE email = :email)"), {"email": email}).scalar_one()
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # SQLite: text


def test_after_15_idle_minutes_the_next_action_lands_on_sign_in(server, server_db, page: Page):
    patient = registered_patient(server, page, first="Irma", last="Stone")
    _age_sessions(server_db, patient.email, timedelta(minutes=16), page)
    next_action_signs_in_again(page, page.get_by_role("link", name="Help").first)
    expect(page.get_by_text(IDLE_MESSAGE)).to_be_visible()
    page.goto("/home")  # the session is over on the server, not only in this tab
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()


def test_warning_a_minute_before_and_stay_signed_in(server, server_db, page: Page):
    patient = registered_patient(server, page, first="Otto", last="Reed")
    _fake_clock(page)
    _step_away(server_db, patient.email, timedelta(minutes=14, seconds=10), page)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=ASKED)
    expect(dialog).to_contain_text(
        f"signed out in about {in_words(IDLE_TIMEOUT - IDLE_WARNING, article=True)}")

    dialog.get_by_role("button", name="Stay signed in").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert _utcnow() - _last_seen(server_db, patient.email) < timedelta(minutes=1)
    page.get_by_role("link", name="Help").first.click()
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()


def test_an_unattended_tab_signs_itself_out(server, server_db, page: Page):
    patient = registered_patient(server, page, first="Pia", last="Lowe")
    _fake_clock(page)
    _step_away(server_db, patient.email, timedelta(minutes=15, seconds=5), page)
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible(timeout=ASKED)
    expect(page.get_by_text(IDLE_MESSAGE)).to_be_visible()


def test_an_idle_tab_sends_nothing(server, page: Page):
    """No polling: 13 minutes of an open, untouched page cost the server no event (the
    page asks at the warning: the tests above). Here every timer of the page runs on the
    fake clock from the start, so a timer that sent events would fire 13 minutes' worth."""
    page.clock.install()
    registered_patient(server, page, first="Nell", last="Vance")
    page.get_by_role("link", name="Help").first.click()
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
    page.wait_for_timeout(1_500)  # the page load's own events are answered
    sent = _events_sent(page)
    for _minute in range(13):
        page.clock.run_for(60_000)
    page.wait_for_timeout(1_500)
    assert sent == []
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()


def test_a_keystroke_in_the_page_is_activity(server, server_db, page: Page):
    patient = registered_patient(server, page, first="Vera", last="Quill")
    page.get_by_role("link", name="Help").first.click()
    _fake_clock(page)
    # The keystroke is heard by a listener React adds once it owns the page: on a loaded
    # machine the heading shows (server-rendered) well before that (seen once in CI).
    hydrated(page, page.get_by_role("heading", name="Help", level=1))
    _age_sessions(server_db, patient.email, timedelta(minutes=14, seconds=5), page)
    page.keyboard.press("Tab")  # reading, moving through the page with the keyboard
    deadline = _utcnow() + timedelta(seconds=20)
    while _utcnow() - _last_seen(server_db, patient.email) >= timedelta(minutes=1):
        assert _utcnow() < deadline, "the keystroke never counted as activity"
        page.wait_for_timeout(250)
    # 14 minutes and a half later, as the page counts: the page asks at the warning of the
    # new deadline the keystroke's answer brought, and the server finds her active. (Had
    # the keystroke not counted, the page would ask at its old warning and the server,
    # idle for over 14 minutes, would warn.)
    page.clock.fast_forward(14 * 60_000 + 30_000)
    page.wait_for_timeout(3_000)
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()


def test_signing_out_in_another_tab_clears_this_one_without_a_click(server, page: Page):
    """The shared computer: Sign out in one tab, and the other tab of the same browser
    leaves the patient's page on its own, within seconds, sending one question."""
    patient = registered_patient(server, page, first="Lars", last="Udall")
    page.get_by_role("link", name="Help").first.click()
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
    other = page.context.new_page()
    other.goto("/home")
    expect(other.get_by_role("heading", level=1)).to_be_visible()
    sign_out(other)
    expect(other.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible(timeout=ASKED)
    expect(page.get_by_text(patient.name)).to_have_count(0)
