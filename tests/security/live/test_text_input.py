"""Text that no person types, sent over the real event socket: a right-to-left override in
a message's subject and a NUL byte in its body. A browser's fields never send them; a
forged event does. On PostgreSQL the NUL used to end as "Something went wrong on our side"
and on SQLite it was stored; the override reversed what the office's queue showed.
"""
from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from carespace_app.services.text_rules import CONTROL_CHARACTER, DIRECTION_CHARACTER
from tests.e2e.people import hydrated, registered_patient

from .attack import rewrite_events, scalar, server_db

# Typed into the fields; the rewritten socket frame carries the character instead.
OVERRIDE_MARK = "RLOMARK"
NUL_MARK = "NULMARK"


def _stored(server, tag: str) -> tuple[int, int]:
    with server_db(server) as engine:
        return (scalar(engine, "SELECT count(*) FROM message_threads WHERE subject LIKE :t",
                       t=f"%{tag}%"),
                scalar(engine, "SELECT count(*) FROM messages WHERE body LIKE :t", t=f"%{tag}%"))


def test_an_override_in_the_subject_and_a_nul_in_the_message_are_refused_and_the_text_stays(
        server, page: Page):
    registered_patient(server, page, first="Tilda", last="Textfield")
    # Only sockets opened from here on pass through the rewrite: the next page load's.
    rewrite_events(page, {OVERRIDE_MARK: "\u202e", NUL_MARK: "\x00"})
    page.goto("/messages")
    new_message = page.get_by_role("button", name="New message")
    hydrated(page, new_message)
    new_message.click()
    dialog = page.get_by_role("dialog")
    tag = uuid.uuid4().hex[:8]
    subject = f"{tag} Refill {OVERRIDE_MARK}tseuqer"
    body = f"{tag} Please refill my{NUL_MARK} prescription."
    dialog.get_by_label("Category").select_option("Prescription refill")
    dialog.get_by_label("Subject").fill(subject)
    dialog.get_by_label("Message").fill(body)
    send = dialog.get_by_role("button", name="Send message")

    send.click()
    expect(dialog.get_by_role("alert")).to_have_text(DIRECTION_CHARACTER.format(label="subject"))
    expect(dialog.get_by_label("Subject")).to_have_value(subject)
    expect(dialog.get_by_label("Message")).to_have_value(body)
    assert _stored(server, tag) == (0, 0)

    # The patient retypes the subject; the message still holds the NUL.
    dialog.get_by_label("Subject").fill(f"{tag} Refill request")
    send.click()
    expect(dialog.get_by_role("alert")).to_have_text(CONTROL_CHARACTER.format(label="message"))
    expect(dialog.get_by_label("Message")).to_have_value(body)
    assert _stored(server, tag) == (0, 0)

    dialog.get_by_label("Message").fill(f"{tag} Please refill my prescription.")
    send.click()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    expect(page.get_by_role("heading", name=f"{tag} Refill request")).to_be_visible()  # it opens
    assert _stored(server, tag) == (1, 1)
    assert "Something went wrong" not in page.content()
