"""On a phone (375 px): the page menu and the person's name are labelled, Help says where
things are as the phone shows them, phone links are big enough to tap, amber notes are
readable."""
from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .people import choose_in_menu, hydrated, registered_patient
from .phone import assert_fits_phone

TAP = 44  # px: the smallest target a finger hits reliably


def _header(page: Page):
    return page.locator("header")


def test_on_a_phone_menu_and_name_are_labelled_and_help_matches_what_is_there(server, phone_page: Page):
    page = phone_page
    registered_patient(server, page, first="Marguerite", last="Delacroix-Lindqvist")
    header = _header(page)

    # The page menu reads "Menu"; the account button shows whose account it is.
    menu = header.get_by_role("button", name=re.compile("^Menu"))
    expect(menu.get_by_text("Menu", exact=True)).to_be_visible()
    account = header.get_by_role("button", name=re.compile("Account menu for Marguerite"))
    expect(account.get_by_text(re.compile("Marguerite"))).to_be_visible()
    for button in (menu, account):
        box = button.bounding_box()
        assert box["height"] >= TAP and box["width"] >= TAP, box
    assert_fits_phone(page)

    # Help, from the menu, tells a phone user where things are on a phone.
    choose_in_menu(page, menu, "Help")
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
    assert_fits_phone(page)
    where = page.get_by_role("region", name="Finding your way")
    expect(where).to_contain_text("On a phone, tap Menu")
    expect(where).to_contain_text("your name at the top of the page")

    # Following it as written: Menu lists the tabs it names...
    hydrated(page, menu)
    menu.click()
    for tab in ("Home", "Messages", "Appointments", "Labs", "Resources", "Help", "Manage Users"):
        expect(page.get_by_role("menuitem", name=tab)).to_be_visible()
    page.keyboard.press("Escape")

    # ...and "How to change your password" leads to the Password tab.
    steps = page.get_by_role("region", name="How to change your password")
    expect(steps).to_contain_text("Select your name at the top of the page, then Settings")
    choose_in_menu(page, account, "Settings")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    page.get_by_role("button", name="Change email address or password").click()
    page.get_by_role("dialog").get_by_role("tab", name="Password").click()
    expect(page.get_by_role("dialog").get_by_label("Current password")).to_be_visible()


def test_on_a_phone_every_phone_number_link_is_big_enough_to_tap(server, phone_page: Page):
    page = phone_page
    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    _phone_links_are_tappable(page, at_least=1)

    registered_patient(server, page, first="Noel", last="Ibarra")
    for path in ("/help", "/messages"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        _phone_links_are_tappable(page, at_least=1)


def _phone_links_are_tappable(page: Page, at_least: int) -> None:
    links = page.locator("main a[href^='tel:']")
    expect(links.first).to_be_visible()
    assert links.count() >= at_least
    for i in range(links.count()):
        link = links.nth(i)
        if not link.is_visible():
            continue
        box = link.bounding_box()
        assert box["height"] >= TAP, f"{link.inner_text()!r} on {page.url} is {box['height']:.0f} px tall"


def test_amber_notes_reach_aa_contrast(server, phone_page: Page):
    page = phone_page
    registered_patient(server, page, first="Ines", last="Vargas")
    page.goto("/manage-users")
    note = page.locator(".rt-CalloutRoot").filter(has_text="full access to your portal")
    expect(note).to_be_visible()
    results = Axe().run(page, context=".rt-CalloutRoot", options={"runOnly": ["color-contrast"]})
    failing = [node["failureSummary"] for v in results.response["violations"] for node in v["nodes"]]
    assert not failing, failing
    # The same from the colours the browser computed (WCAG AA: 4.5:1 for body text).
    ratio = note.evaluate(CONTRAST)
    assert ratio >= 4.5, ratio


# The contrast of an element's text on its background, the background's alpha laid over
# what is beneath it (a Radix callout's is translucent).
CONTRAST = """(el) => {
  const rgba = (s) => { const m = s.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const text = el.querySelector('.rt-CalloutText') || el;
  const fg = rgba(getComputedStyle(text).color);
  const layers = [];
  for (let n = el; n; n = n.parentElement) {
    const bg = rgba(getComputedStyle(n).backgroundColor);
    if (bg[3] > 0) layers.push(bg);
    if (bg[3] >= 1) break;
  }
  let base = [255, 255, 255];
  for (const [r, g, b, a] of layers.reverse()) base = [r * a + base[0] * (1 - a), g * a + base[1] * (1 - a), b * a + base[2] * (1 - a)];
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const [hi, lo] = [lum(fg.slice(0, 3)), lum(base)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}"""
