"""A page is moved only by the answers meant for it.

Reflex keeps a tab's state on the server across full page loads. An event that was
still running when its page was left (a click on Sign out while the page loaded, a
tab closed mid-action) can finish afterwards and ask for a navigation nobody sees;
the next page the tab opens receives it with the rest of the state. Seen in CI as a
sign-out that landed on "Your session has ended" instead of "You have signed out",
and as a page that navigated away on its own right after it was opened.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from playwright.sync_api import Page, WebSocketRoute, expect
from sqlalchemy import create_engine, text

from .people import next_action_signs_in_again, registered_patient, sign_out


def test_a_navigation_asked_for_by_a_page_already_left_is_not_followed(server, page: Page):
    patient = registered_patient(server, page, first="Nadia", last="Hale")

    # Between the page and the server: every frame passes, until the answers are held
    # back, as if they came after the page was gone.
    holding = {"on": False}
    held: list[str] = []

    def relay(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        ws.on_message(upstream.send)

        def down(message):
            if holding["on"]:
                held.append(message if isinstance(message, str) else message.decode(errors="replace"))
            else:
                ws.send(message)
        upstream.on_message(down)

    page.route_web_socket(re.compile(r"/_event"), relay)
    page.goto("/home")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # The session ends (on another device, or its 12 hours are up) and the page's next
    # action is answered "go and sign in", an answer this page never receives.
    holding["on"] = True
    engine = create_engine(server.env["REFLEX_DB_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "UPDATE user_sessions SET ended_at = :now, ended_reason = 'test' WHERE ended_at IS NULL "
                "AND user_id = (SELECT id FROM users WHERE email = :email)"),
                {"now": datetime.now(timezone.utc).replace(tzinfo=None), "email": patient.email})
    finally:
        engine.dispose()
    page.get_by_role("link", name="Messages").first.click()
    deadline = time.time() + 20
    while not any("navigate_to" in frame for frame in held) and time.time() < deadline:
        page.wait_for_timeout(100)
    assert any("navigate_to" in frame for frame in held), "the server asked this page to move"

    # The tab opens Forgot Password: it stays there, whatever the old page was told.
    holding["on"] = False
    page.goto("/forgot-password")
    expect(page.get_by_label("Email address")).to_be_visible()  # the state has arrived
    page.wait_for_timeout(1500)  # time enough to follow it, if it were followed
    expect(page).to_have_url(re.compile(r"/forgot-password/?$"))
    expect(page.get_by_label("Email address")).to_be_visible()


def test_a_second_tab_after_sign_out_in_the_first_says_you_signed_out(server, page: Page):
    """Two tabs of one browser share the session: Sign out in one, and the other's next
    action lands on sign-in saying why (the same words a page still loading when Sign out
    was clicked gets: its answer can arrive before the browser leaves it)."""
    patient = registered_patient(server, page, first="Tove", last="Lind")
    other = page.context.new_page()
    other.goto("/labs")
    expect(other.get_by_role("heading", level=1)).to_be_visible()

    sign_out(page)
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    next_action_signs_in_again(other, other.get_by_role("link", name="Messages").first)
    expect(other.get_by_text("You have signed out.")).to_be_visible()
    assert patient.email not in other.locator("main").inner_text()
