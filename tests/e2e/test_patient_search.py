"""Staff find a patient the way they say them: "last, first", or a phone number as written."""
from __future__ import annotations

import random
import re
import string

from playwright.sync_api import Page, expect

from .people import make_staff, sign_in, unique

ADMIN_HOME = r"/admin/?$"
SEARCH = "Search by name, MRN, email or date of birth"
NOTHING = "No patients match. Check the spelling, or create the record below."


def _search(page: Page, typed: str) -> None:
    page.get_by_label(SEARCH).fill(typed)
    page.get_by_role("button", name="Search", exact=True).click()


def test_staff_find_a_patient_by_last_first_and_by_a_punctuated_phone(server, page: Page):
    # A surname and a phone number no other test's patient has.
    last = "Zabala" + "".join(random.choices(string.ascii_lowercase, k=6))
    area, exchange, line = random.randint(200, 989), random.randint(200, 999), random.randint(0, 9999)
    server.cli("create-patient", "--mrn", unique("MRN"), "--first", "Inés", "--last", last,
               "--dob", "1948-02-11", "--email", f"{unique('ines')}@example.com",
               "--phone", f"({area}) {exchange}-{line:04d}")
    listed = f"{last}, Inés"
    staff = make_staff(server, name="Paula Frontdesk")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    expect(page.get_by_text("a phone number typed any way")).to_be_visible()

    # On the phone, the patient says her surname first; staff type it as they hear it.
    _search(page, f"{last.lower()}, inés")
    expect(page.get_by_role("link", name=listed)).to_be_visible()
    expect(page.get_by_text(NOTHING)).to_have_count(0)

    # Someone finds nothing, and the page says so.
    _search(page, f"{last}, Zoe")
    expect(page.get_by_text(NOTHING)).to_be_visible()
    expect(page.get_by_role("link", name=listed)).to_have_count(0)

    # A message slip has her number written with dots.
    # Typed without her accent, as a keyboard without one types it.
    _search(page, f"ines {last.lower()}")
    expect(page.get_by_role("link", name=listed)).to_be_visible()
    _search(page, f"{last.upper()}, INE")
    expect(page.get_by_role("link", name=listed)).to_be_visible()

    _search(page, f"{area}.{exchange}.{line:04d}")
    expect(page.get_by_role("link", name=listed)).to_be_visible()
    page.get_by_role("link", name=listed).click()
    expect(page).to_have_url(re.compile(r"/admin/patient\?id=\d+"))
    expect(page.get_by_role("heading", name=f"Inés {last}")).to_be_visible()
