"""Toasts: said once, on the page they belong to, never over the form just used.

A toast confirms what just happened on this page. It must not come back on the next
page (Home after granting access), nor greet the sign-in page after signing out, nor
sit on top of a phone's form and buttons, nor say again what the page already says inline.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .people import choose_in_menu, registered_patient, sign_out
from .portal_people import caregiver

TOAST = "[data-sonner-toast]"
# A toast shows as soon as its page has its state; this long after, a repeat would be up.
SETTLE_MS = 1500


def _toasts(page: Page) -> list[str]:
    """The toasts on screen now (not waiting: a toast leaves by itself after a few seconds)."""
    page.wait_for_timeout(SETTLE_MS)
    return page.locator(TOAST).all_inner_texts()


def _grant(page: Page, person) -> None:
    page.goto("/manage-users")
    page.get_by_label("Name").fill(person.name)
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_role("button", name="Grant access").click()
    expect(page.get_by_role("status").filter(has_text=f"invitation to {person.email}")).to_be_visible()


def _settled_box(page: Page, locator) -> dict:
    """Where the toast rests once it has slid in (it moves while it arrives)."""
    last = None
    for _ in range(50):
        box = locator.bounding_box()
        if box == last:
            return box
        last = box
        page.wait_for_timeout(150)
    return last


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_on_a_phone_a_toast_leaves_the_form_just_used_clear_and_is_not_said_again_later(
        server, phone_page: Page):
    page = phone_page
    registered_patient(server, page, first="Opal", last="Reyes")
    carer = caregiver("Jun", "Reyes")
    page.goto("/manage-users")
    page.get_by_label("Name").fill(carer.name)
    page.get_by_label("Email", exact=True).fill(carer.email)
    # Held in one hand: the page scrolled so the button is at the bottom, under the thumb.
    button = page.get_by_role("button", name="Grant access")
    button.evaluate("el => el.scrollIntoView({block: 'end'})")
    button.tap()
    toast = page.locator(TOAST).filter(has_text=f"Invitation sent to {carer.name}.")
    expect(toast).to_be_visible()

    # The form just used (to add the next person) is not under the toast: every control of it
    # on the screen. Since the form asks what they can see and until when (issue #17) it is
    # taller than a phone's screen, so with the button under the thumb the first fields are
    # scrolled above the top, where no toast at the top can leave them clear; it leaves by
    # itself (below) while the person reads it.
    where = _settled_box(page, toast)
    assert not _overlap(where, button.bounding_box()), "the toast covers the Grant access button"
    height = page.viewport_size["height"]
    for control in (page.get_by_label("Name"), page.get_by_label("Email", exact=True)):
        box = control.bounding_box()
        if box["y"] >= 0 and box["y"] + box["height"] <= height:
            assert not _overlap(where, box), f"the toast covers {control}"
    expect(toast).to_have_count(0)  # read, and gone by itself

    # On to Home with the menu: the invitation was confirmed already; it is not said again.
    choose_in_menu(page, page.get_by_role("button", name=re.compile("^Menu")), "Home")
    expect(page.get_by_role("heading", name="Welcome, Opal")).to_be_visible()
    assert not [t for t in _toasts(page) if "Invitation sent" in t]


def test_a_toast_set_just_before_signing_out_does_not_greet_the_sign_in_page(server, page: Page):
    registered_patient(server, page, first="Hugo", last="Brandt")
    _grant(page, caregiver("Ada", "Brandt"))

    sign_out(page)
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    assert _toasts(page) == []
    # A reload of the sign-in page doesn't bring it back either.
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    assert _toasts(page) == []


def test_what_the_page_says_inline_is_not_repeated_in_a_toast(server, page: Page):
    registered_patient(server, page, first="Wren", last="Adler")
    carer = caregiver("Moss", "Adler")
    _grant(page, carer)

    page.get_by_role("button", name=f"Send new link to {carer.email}").click()
    notice = page.get_by_role("status").filter(has_text="A new link is on its way")
    expect(notice).to_be_visible()
    said = notice.inner_text().strip()
    shown = _toasts(page)
    assert f"New link sent to {carer.name}." in shown  # it is confirmed where the tap was...
    assert said not in shown  # ...without the notice's words a second time
