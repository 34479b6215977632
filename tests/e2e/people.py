"""The people of an end-to-end story, made the way the office makes them."""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import Page, expect

from .harness import Server, link_in

PASSWORD = "Quiet-Harbor-42!"
STAFF_PASSWORD = "Front-Desk-2026!"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Person:
    email: str
    password: str
    first: str = ""
    last: str = ""
    mrn: str = ""
    dob: str = ""
    # A caregiver's access codes, by the name of the patient who told them (portal_people.py).
    access_codes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}".strip()

    def access_code_from(self, first_name: str) -> str:
        """The code the patient the form names ("Access code from Rosa") told this person."""
        heard = [code for patient, code in self.access_codes.items()
                 if patient == first_name or patient.startswith(first_name + " ")]
        assert len(heard) == 1, f"{self.email} heard no single code from {first_name}: {self.access_codes}"
        return heard[0]


def make_staff(server: Server, *, admin: bool = False, name: str = "Olivia Frontdesk") -> Person:
    email = f"{unique('staff')}@clinic.example.org"
    args = ["create-staff", "--email", email, "--name", name]
    if admin:
        args.append("--admin")
    server.cli(*args, input=STAFF_PASSWORD + "\n")
    first, _, last = name.partition(" ")
    return Person(email=email, password=STAFF_PASSWORD, first=first, last=last)


def make_patient(server: Server, *, first: str = "Rose", last: str = "Whitaker",
                 dob: str = "1952-07-19") -> Person:
    """A patient record with an invitation sent (not yet registered)."""
    mrn = unique("MRN")
    email = f"{unique(first.lower())}@example.com"
    server.cli("create-patient", "--mrn", mrn, "--first", first, "--last", last, "--dob", dob,
               "--email", email)
    server.cli("invite", "--mrn", mrn)
    return Person(email=email, password=PASSWORD, first=first, last=last, mrn=mrn, dob=dob)


def register_from_email(server: Server, page: Page, person: Person, *, subject: str = "invitation") -> None:
    """Open the emailed link and fill in Create Password; ends signed in on Home."""
    link = link_in(server.mailbox.wait_for(person.email, subject), "/register")
    page.goto(link)
    page.get_by_label("Email address").fill(person.email)
    fill_access_code(page, person)
    page.get_by_label("Password", exact=True).fill(person.password)
    confirm = page.get_by_label("Confirm password")
    if confirm.count():
        confirm.fill(person.password)
    dob = page.get_by_label("Date of birth")
    if person.dob and dob.count():
        dob.fill(person.dob)
    page.get_by_role("checkbox", name="I agree to the terms of service").check()
    page.get_by_role("button", name="Create Password").click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)


def fill_access_code(page: Page, person: Person) -> None:
    """A caregiver's form asks for the code from the patient it names: the one they told."""
    code_field = page.get_by_label(re.compile(r"^Access code from "))
    if not code_field.count():
        return
    label = page.locator("label[for='access_code']").inner_text()
    code_field.fill(person.access_code_from(label.removeprefix("Access code from ").strip()))


def registered_patient(server: Server, page: Page, **kw) -> Person:
    person = make_patient(server, **kw)
    register_from_email(server, page, person)
    return person


def open_page(page: Page, path: str) -> None:
    """page.goto, once more if it was aborted by a navigation the page had started itself
    (seen once in CI: a goto("/") right after a sign-out's redirect landed)."""
    try:
        page.goto(path)
    except PlaywrightError as exc:
        if "ERR_ABORTED" not in str(exc):
            raise
        page.wait_for_load_state()
        page.goto(path)


def sign_in(page: Page, person: Person, *, lands_on: str = r"/home/?$") -> None:
    open_page(page, "/")
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(lands_on), timeout=30_000)


def hydrated(page: Page, locator, timeout: float = 30.0) -> None:
    """Wait until React owns this element: a click on the server-rendered HTML before
    hydration does nothing (a menu that never opens). The locator is looked up afresh
    each time: a reconnecting page may render the element anew."""
    deadline = time.time() + timeout
    while True:
        try:
            if locator.evaluate("el => Object.keys(el).some(k => k.startsWith('__reactProps'))"):
                return
        except PlaywrightError:  # replaced, or the page navigated, while being looked at
            pass
        if time.time() > deadline:
            raise AssertionError(f"{locator} never became live (React did not hydrate it)")
        page.wait_for_timeout(100)


def choose_in_menu(page: Page, trigger, item) -> None:
    """Open the menu behind ``trigger`` (once React owns it) and choose ``item`` (a name or
    a pattern). A page still settling (a hydrate's or an on_load's delta) can close a menu
    under the click; it is opened again then, as a person would."""
    hydrated(page, trigger)
    for attempt in range(3):
        trigger.click()
        try:
            page.get_by_role("menuitem", name=item).click(timeout=5_000)
            return
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")


def choose_in_account_menu(page: Page, item: str) -> None:
    """The account menu (named for who is signed in, so the page knows who that is)."""
    choose_in_menu(page, page.get_by_role("button", name=re.compile(r"Account menu for \S")), item)


def switch_patient(page: Page, name) -> None:
    """A caregiver's "Switch patient" menu: choose whose portal to open."""
    choose_in_menu(page, page.get_by_role("button", name="Switch patient"), name)


def next_action_signs_in_again(tab: Page, control) -> None:
    """A tab whose session ended elsewhere (signed out, password changed, deactivated,
    idle): clicking ``control`` lands on sign in. The tab may see the end first (its idle
    countdown, or its browser signing out: components/idle.py) and go there by itself; then there is nothing left to click, and
    the tab is where the click would have taken it."""
    try:
        control.click(timeout=5_000)
    except PlaywrightTimeoutError:
        pass
    expect(tab.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()


def sign_out(page: Page) -> None:
    choose_in_account_menu(page, "Sign out")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()


def open_patient_page(page: Page, patient: Person) -> None:
    """The office finds a patient by MRN on the admin page and opens their page."""
    page.get_by_label("Search by name, MRN, email or date of birth").fill(patient.mrn)
    page.get_by_role("button", name="Search", exact=True).click()
    found = page.get_by_role("link", name=f"{patient.last}, {patient.first}")
    expect(found).to_have_count(1)  # the search's answer, not the list shown before it
    found.click()
    expect(page).to_have_url(re.compile(r"/admin/patient\?id=\d+"))
    expect(page.get_by_role("heading", name=patient.name)).to_be_visible()


def desk_page(browser, server) -> Page:
    """A second browser at the office's desk (its own context: its own cookies), in the
    practice's zone."""
    page = browser.new_context(base_url=server.base_url, locale="en-US",
                               timezone_id="America/Chicago").new_page()
    page.set_default_timeout(20_000)
    return page
