"""Never lose what a person wrote: typing keeps them signed in, and if the session ends
anyway, the unsent message is offered again after signing back in.

The idle limit is 15 minutes, so the tests age the session row in the running server's
database instead of waiting (as tests/e2e/test_idle.py does).
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from playwright.sync_api import Page, expect
from sqlmodel import select

from carespace_app.models import MessageDraft, UserSession
from carespace_app.policy import IDLE_TIMEOUT, in_words

from .people import registered_patient, sign_in
from .phone import assert_fits_phone
from .records_office import _user, office

# components/idle.py looks at its countdown every second: an answer comes within a few.
ASKED = 8_000
IDLE_MESSAGE = f"You were signed out after {in_words(IDLE_TIMEOUT)} without activity"
SIGNED_IN_AGAIN = r"/(home|messages)/?(\?.*)?$"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _age_session(server, person, idle: timedelta) -> None:
    with office(server) as db:
        user = _user(db, person)
        rows = db.exec(select(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.ended_at.is_(None))).all()
        assert rows
        for row in rows:
            row.last_seen_at = _utcnow() - idle
            db.add(row)
        db.commit()


def _last_seen(server, person) -> datetime:
    with office(server) as db:
        user = _user(db, person)
        return max(db.exec(select(UserSession.last_seen_at).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None))).all())


def _kept(server, person) -> list[str]:
    with office(server) as db:
        user = _user(db, person)
        return list(db.exec(select(MessageDraft.body).where(MessageDraft.user_id == user.id)).all())


def _until(check, what: str, timeout: float = 20.0):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.25)


def test_typing_a_long_message_slowly_is_activity(server, page: Page):
    patient = registered_patient(server, page, first="Edna", last="Pike")
    page.goto("/messages")
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Medical question")
    dialog.get_by_label("Subject").fill("Tired after the infusion")
    body = dialog.get_by_label("Message")
    body.press_sequentially("Since Monday I")
    _until(lambda: "Since Monday I" in " ".join(_kept(server, patient)), "the draft kept")
    # She stops to think for a long while (14 minutes, the server is told), then types on.
    _age_session(server, patient, timedelta(minutes=14, seconds=5))
    body.press_sequentially(" feel")
    _until(lambda: _utcnow() - _last_seen(server, patient) < timedelta(minutes=1),
           "the keystrokes counted as activity on the server")
    # No "Are you still there?", nothing lost. (The page's countdown starting again from
    # the deadline the keystrokes' answer brought: tests/e2e/test_idle.py, on the Help page.)
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(body).to_have_value("Since Monday I feel")


def test_an_unsent_message_is_offered_again_after_signing_back_in(server, phone_page: Page):
    page = phone_page
    patient = registered_patient(server, page, first="Greta", last="Hale")
    page.goto("/messages")
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()
    page.clock.install()  # the page's countdown runs on a clock the test moves
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Prescription refill")
    dialog.get_by_label("Subject").fill("Refill before my trip")
    dialog.get_by_label("Message").press_sequentially("I leave on the 12th and have five pills left")
    # She is called away mid-sentence; the page keeps what she typed after a pause...
    _until(lambda: "five pills left" in " ".join(_kept(server, patient)),
           "the draft kept on the server")
    # ...and the session ends while she is away.
    _age_session(server, patient, timedelta(minutes=15, seconds=5))
    page.clock.fast_forward(15 * 60_000 + 5_000)
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible(timeout=ASKED)
    expect(page.get_by_text(IDLE_MESSAGE)).to_be_visible()

    sign_in(page, patient, lands_on=SIGNED_IN_AGAIN)
    if not re.search(r"/messages", page.url):
        page.goto("/messages")
    offer = page.get_by_role("list", name="Unsent messages").get_by_role("listitem")
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text("You have an unsent message")
    expect(offer).to_contain_text("five pills left")
    assert_fits_phone(page)
    offer.get_by_role("button", name="Restore").click()

    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Subject")).to_have_value("Refill before my trip")
    expect(dialog.get_by_label("Category")).to_have_value("Prescription refill")
    expect(dialog.get_by_label("Message")).to_have_value("I leave on the 12th and have five pills left")
    dialog.get_by_label("Message").press("ControlOrMeta+End")
    dialog.get_by_label("Message").press_sequentially(".")
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", name="Refill before my trip")).to_be_visible()
    expect(page.get_by_role("list", name="Messages in this conversation")).to_contain_text(
        "I leave on the 12th and have five pills left.")
    # Sent: it is not offered again, and nothing is kept.
    page.get_by_role("link", name="All messages").click()
    expect(page.get_by_role("list", name="Your conversations")).to_contain_text("Refill before my trip")
    expect(page.get_by_role("list", name="Unsent messages")).to_have_count(0)
    _until(lambda: _kept(server, patient) == [], "the draft forgotten once sent")


def test_an_unsent_reply_comes_back_in_its_conversation_or_is_discarded(server, page: Page):
    patient = registered_patient(server, page, first="Opal", last="Reyes")
    page.goto("/messages")
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Appointment")
    dialog.get_by_label("Subject").fill("Moving my scan")
    dialog.get_by_label("Message").fill("Can I move Friday's scan?")
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", name="Moving my scan")).to_be_visible()

    page.get_by_label("Reply").press_sequentially("Monday morning would suit me")
    page.get_by_role("link", name="All messages").focus()  # leaving the box keeps it at once
    _until(lambda: "Monday morning" in " ".join(_kept(server, patient)), "the reply kept")
    page.reload()  # a closed tab, a crash: the box is empty, the reply is not lost
    expect(page.get_by_label("Reply")).to_have_value("")
    offer = page.get_by_role("list", name="Unsent messages").get_by_role("listitem")
    expect(offer).to_contain_text("Reply in “Moving my scan”")
    offer.get_by_role("button", name="Restore").click()
    expect(page.get_by_label("Reply")).to_have_value("Monday morning would suit me")
    expect(page.get_by_role("list", name="Unsent messages")).to_have_count(0)

    page.reload()
    page.get_by_role("list", name="Unsent messages").get_by_role("button", name="Discard").click()
    expect(page.get_by_role("list", name="Unsent messages")).to_have_count(0)
    _until(lambda: _kept(server, patient) == [], "the draft discarded")
