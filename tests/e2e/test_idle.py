"""Idle sign-out: a warning a minute before, "Stay signed in", and the sign-in page after 15 minutes.

The server's limits are fixed (15 minutes idle), so instead of waiting the test
ages the session row in the running server's database.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, text

from carespace_app.policy import IDLE_TIMEOUT, IDLE_WARNING, in_words

from .people import next_action_signs_in_again, registered_patient

TICK = 10  # components/idle.py TICK_SECONDS
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
    _age_sessions(server_db, patient.email, timedelta(minutes=14, seconds=10), page)
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible(timeout=(TICK + 5) * 1000)
    expect(dialog).to_contain_text(
        f"signed out in about {in_words(IDLE_TIMEOUT - IDLE_WARNING, article=True)}")

    dialog.get_by_role("button", name="Stay signed in").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    assert _utcnow() - _last_seen(server_db, patient.email) < timedelta(minutes=1)
    page.get_by_role("link", name="Help").first.click()
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()


def test_an_unattended_tab_signs_itself_out(server, server_db, page: Page):
    patient = registered_patient(server, page, first="Pia", last="Lowe")
    _age_sessions(server_db, patient.email, timedelta(minutes=15, seconds=5), page)
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible(
        timeout=(TICK + 5) * 1000)
    expect(page.get_by_text(IDLE_MESSAGE)).to_be_visible()


def test_a_keystroke_in_the_page_is_activity(server, server_db, page: Page):
    patient = registered_patient(server, page, first="Vera", last="Quill")
    page.get_by_role("link", name="Help").first.click()
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
    _age_sessions(server_db, patient.email, timedelta(minutes=14, seconds=5), page)
    page.keyboard.press("Tab")  # reading, moving through the page with the keyboard
    deadline = _utcnow() + timedelta(seconds=20)
    while _utcnow() - _last_seen(server_db, patient.email) >= timedelta(minutes=1):
        assert _utcnow() < deadline, "the keystroke never counted as activity"
        page.wait_for_timeout(250)
    page.wait_for_timeout((TICK + 2) * 1000)  # the next idle checks find her active
    expect(page.get_by_role("alertdialog")).to_have_count(0)
