"""One tab, one person, one patient (issue 10), as people at a practice would notice it.

Reflex keys a tab's server-side state by a token in the tab's sessionStorage, not by
who is signed in, and re-sends the whole state on every page load. So these stories
keep the SAME page (the same token) from one person to the next and read both the
page and every websocket frame the browser receives (tests/e2e/frames.py): what the
next person at the computer could find in the developer tools counts as much as what
the page shows.
"""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .frames import FrameRecorder, client_token, fill_record, page_leaks, tag
from .people import (
    PASSWORD, Person, hydrated, make_patient, make_staff, register_from_email, registered_patient,
    sign_in, sign_out, switch_patient, unique,
)
from .portal_people import caregiver, grant_access, new_page, user_card

# A page the server sends the tab to carries a nonce (?n=…); one the person opens does not.
ADMIN_HOME = r"/admin/?(\?n=\w+)?$"
HOME = r"/home/?(\?n=\w+)?$"
ACCESS = r"/access/?(\?n=\w+)?$"
ENDED = "Your access to {name}'s portal has ended"


def _viewing(page: Page):
    return page.get_by_role("status").filter(has_text="You are viewing")


def _registered_elsewhere(server, browser: Browser, **kw) -> Person:
    """A patient who registered on their own device (and is not signed in here)."""
    other = new_page(browser, server)
    try:
        return registered_patient(server, other, **kw)
    finally:
        other.context.close()


def _no_leaks(recorder: FrameRecorder, page: Page, markers: list[str], who: str) -> None:
    recorder.settle()
    in_page = page_leaks(page, markers)
    assert not in_page, f"{who} sees {in_page} in the page"
    in_frames = recorder.leaks(markers)
    assert not in_frames, f"{who}'s browser received:\n" + "\n".join(in_frames[:5])


def _visit(page: Page, path: str, shows) -> None:
    page.goto(path)
    expect(shows).to_be_visible()


def _next_action(control) -> None:
    """The person's next click. The tab may find the change first (its browser
    signed in or out: components/idle.py asks) and take the tab where the click would have; then there is nothing left to click, and
    what follows checks where the tab is."""
    try:
        control.click(timeout=5_000)
    except PlaywrightTimeoutError:
        pass


# --- 1. the shared computer ------------------------------------------------------------


def test_the_next_person_at_a_shared_computer_gets_nothing_of_the_last_one(server, page: Page, browser):
    recorder = FrameRecorder(page)
    staff = make_staff(server, name="Nora Labdesk")
    walt = _registered_elsewhere(server, browser, first="Walt", last="Brennan")
    rosa = registered_patient(server, page, first="Rosa", last="Quintero")
    record = fill_record(server, staff, rosa)
    token = client_token(page)

    # Rosa reads her record at the family computer: every page loads her data into the tab.
    _visit(page, "/home", page.get_by_text(record.location))
    page.goto("/messages")
    page.get_by_role("list", name="Your conversations").get_by_role("link").first.click()
    expect(page.get_by_text("Try the ginger tea")).to_be_visible()
    _visit(page, "/labs", page.get_by_role("heading", name=record.panel))
    _visit(page, "/appointments", page.get_by_text(record.location).first)

    recorder.quiet()
    recorder.start()
    sign_out(page)
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    _no_leaks(recorder, page, record.markers, "the sign-in page after Rosa signed out")

    # Walt sits down at the same tab and signs in.
    sign_in(page, walt)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Walt")
    _visit(page, "/messages", page.get_by_text("No messages yet"))
    _visit(page, "/labs", page.get_by_text("No lab results yet"))
    _visit(page, "/appointments", page.get_by_role("heading", name="Appointments", level=1))
    assert client_token(page) == token, "the story needs the same tab (the same state token)"
    _no_leaks(recorder, page, record.markers, "Walt")
    assert walt.email in recorder.text()  # the recorder does see what the tab is sent


# --- 2. the front desk -------------------------------------------------------------------


def test_a_patient_signing_in_at_the_front_desk_gets_no_office_data(server, page: Page, browser):
    recorder = FrameRecorder(page)
    staff = make_staff(server, name="Olivia Frontdesk")
    paula = _registered_elsewhere(server, browser, first="Paula", last="Lindqvist")
    edith = Person(email=f"{unique('edith')}@example.com", password=PASSWORD, first="Edith",
                   last="Marchetti", mrn=unique("MRN"), dob="1947-11-23")
    server.cli("create-patient", "--mrn", edith.mrn, "--first", edith.first, "--last", edith.last,
               "--dob", edith.dob, "--email", edith.email, "--phone", "(479) 555-0142")
    office_data = [edith.mrn, edith.email, "555-0142", "Nov 23, 1947", edith.dob, "Marchetti"]

    sign_in(page, staff, lands_on=ADMIN_HOME)
    token = client_token(page)
    page.get_by_label("Search by name, MRN, email or date of birth").fill(edith.mrn)
    page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row").filter(has_text=edith.mrn)
    for shown in (edith.email, "(479) 555-0142", "Nov 23, 1947"):
        expect(row).to_contain_text(shown)
    page.get_by_role("link", name=f"{edith.last}, {edith.first}").click()
    expect(page.get_by_role("heading", name=edith.name)).to_be_visible()
    page.get_by_role("link", name="← All patients").click()
    expect(row).to_be_visible()  # the list, with the search, is what is on screen at sign-out

    recorder.quiet()
    recorder.start()
    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    _no_leaks(recorder, page, office_data, "the sign-in page after the office signed out")

    sign_in(page, paula)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Paula")
    _visit(page, "/messages", page.get_by_text("No messages yet"))
    assert client_token(page) == token, "the story needs the same tab (the same state token)"
    _no_leaks(recorder, page, office_data + [staff.email], "Paula")
    assert paula.email in recorder.text()


# --- 3. the caregiver with two tabs ---------------------------------------------------------


def _family(server, browser: Browser):
    """Rosa and James, each signed in on their own device; Maria cares for both."""
    rosa_page, james_page = new_page(browser, server), new_page(browser, server)
    rosa = registered_patient(server, rosa_page, first="Rosa", last="Alvarez")
    james = registered_patient(server, james_page, first="James", last="Okafor")
    maria = caregiver("Maria", "Alvarez")
    grant_access(rosa_page, maria)  # each tells Maria the access code their page shows
    grant_access(james_page, maria)
    maria_page = new_page(browser, server)
    register_from_email(server, maria_page, maria, subject=f"{rosa.name}'s CareSpace portal")
    register_from_email(server, maria_page, maria, subject=f"{james.name}'s CareSpace portal")
    return rosa, rosa_page, james, james_page, maria, maria_page


def _open_portal_of(page: Page, name: str) -> None:
    page.goto("/home")
    expect(_viewing(page)).to_be_visible()
    if f"{name}'s portal" not in _viewing(page).inner_text():
        switch_patient(page, re.compile(name))
    expect(_viewing(page)).to_contain_text(f"{name}'s portal")


def test_a_caregiver_with_two_tabs_writes_to_the_patient_each_tab_shows(server, browser: Browser):
    staff = make_staff(server, name="Nora Labdesk")
    rosa, rosa_page, james, james_page, maria, tab1 = _family(server, browser)
    rosa_labs = fill_record(server, staff, rosa, reports=11, conversation=False, visit=False)
    james_labs = fill_record(server, staff, james, reports=2, conversation=False, visit=False)
    try:
        _open_portal_of(tab1, rosa.name)
        tab1.goto("/labs")
        reports = tab1.get_by_role("list", name="Lab reports").get_by_role("listitem")
        expect(reports).to_have_count(10)

        # Tab 2 of the same browser: Maria switches to James there.
        tab2 = tab1.context.new_page()
        _open_portal_of(tab2, james.name)

        # Back in tab 1, still under Rosa's banner: "Show more reports" brings Rosa's 11th.
        tab1.get_by_role("button", name="Show more reports").click()
        expect(reports).to_have_count(11)
        expect(_viewing(tab1)).to_contain_text(f"{rosa.name}'s portal")
        assert not page_leaks(tab1, [james_labs.markers[0]]), "James's reports under Rosa's banner"

        # And writes to the office from Rosa's Messages.
        tab1.get_by_role("navigation", name="Portal sections").get_by_role(
            "link", name=re.compile("^Messages")).click()
        expect(tab1.get_by_role("heading", name="Messages", exact=True)).to_be_visible()
        expect(_viewing(tab1)).to_contain_text(f"{rosa.name}'s portal")
        subject = f"Ride to Thursday's infusion {tag()}"
        new_message = tab1.get_by_role("button", name="New message")
        hydrated(tab1, new_message)
        new_message.click()
        dialog = tab1.get_by_role("dialog")
        dialog.get_by_label("Category").select_option("Medical question")
        dialog.get_by_label("Subject").fill(subject)
        dialog.get_by_label("Message").fill("Rosa needs a ride on Thursday; can the infusion start at 10?")
        dialog.get_by_role("button", name="Send message").click()
        expect(tab1.get_by_text("Your message was sent.")).to_be_visible()
        expect(tab1.get_by_role("heading", name=subject)).to_be_visible()  # it opens

        # It is in Rosa's record, as Rosa sees it on her own device, and not in James's.
        _visit(rosa_page, "/messages", rosa_page.get_by_role("list", name="Your conversations"))
        expect(rosa_page.get_by_role("list", name="Your conversations")).to_contain_text(subject)
        _visit(james_page, "/messages", james_page.get_by_text("No messages yet"))

        # Tab 1 reloaded still shows Rosa; tab 2 still James, without Rosa's message.
        tab1.reload()
        expect(_viewing(tab1)).to_contain_text(f"{rosa.name}'s portal")
        expect(tab1.get_by_role("heading", name=subject)).to_be_visible()  # still open
        tab2.goto("/messages")
        expect(_viewing(tab2)).to_contain_text(f"{james.name}'s portal")
        expect(tab2.get_by_text("No messages yet")).to_be_visible()
        assert rosa_labs.markers[0] not in tab2.content()
    finally:
        for p in (rosa_page, james_page, tab1):
            p.context.close()


# --- 4. revocation while the caregiver reads Labs -------------------------------------------


def test_a_revoked_caregiver_reading_labs_is_told_and_never_shown_another_patient(server, browser: Browser):
    staff = make_staff(server, name="Nora Labdesk")
    rosa, rosa_page, james, james_page, maria, maria_page = _family(server, browser)
    carl = caregiver("Carl", "Alvarez")  # cares for Rosa only
    grant_access(rosa_page, carl)
    carl_page = new_page(browser, server)
    rosa_labs = fill_record(server, staff, rosa, conversation=False, visit=False)
    james_labs = fill_record(server, staff, james, conversation=False, visit=False)
    maria_frames = FrameRecorder(maria_page)
    carl_frames = FrameRecorder(carl_page)
    try:
        register_from_email(server, carl_page, carl, subject=f"{rosa.name}'s CareSpace portal")
        for page in (maria_page, carl_page):
            _open_portal_of(page, rosa.name)
            page.goto("/labs")
            expect(page.get_by_role("heading", name=rosa_labs.panel)).to_be_visible()

        maria_frames.quiet()
        carl_frames.quiet()
        maria_frames.start()
        carl_frames.start()

        # Rosa takes access away from both, from Manage Users on her own device.
        rosa_page.goto("/manage-users")
        for person in (maria, carl):
            user_card(rosa_page, person).get_by_role(
                "button", name=f"Revoke access for {person.email}").click()
            rosa_page.get_by_role("alertdialog").get_by_role("button", name="Yes, revoke access").click()
            expect(user_card(rosa_page, person)).to_contain_text("Access revoked")

        # Maria's next click on Rosa's Labs: the tab says her access ended, and offers James.
        history = maria_page.get_by_role("button", name=f"History of {rosa_labs.test_name}").first
        _next_action(history)
        expect(maria_page.get_by_role("heading", name=ENDED.format(name=rosa.name))).to_be_visible()
        expect(maria_page).to_have_url(re.compile(ACCESS))
        open_james = maria_page.get_by_role("button", name=f"Open {james.name}'s portal")
        expect(open_james).to_be_visible()
        expect(maria_page.get_by_role("button", name=re.compile(rosa.name))).to_have_count(0)
        maria_frames.settle()
        assert not maria_frames.leaks(james_labs.markers[:1]), "James's results before Maria chose him"
        assert not maria_frames.leaks(rosa_labs.markers[:1]), "Rosa's results after her access ended"
        maria_page.reload()
        expect(maria_page.get_by_role("heading", name=ENDED.format(name=rosa.name))).to_be_visible()

        hydrated(maria_page, open_james)
        open_james.click()
        expect(maria_page).to_have_url(re.compile(HOME))
        expect(_viewing(maria_page)).to_contain_text(f"{james.name}'s portal")
        maria_page.goto("/labs")
        expect(maria_page.get_by_role("heading", name=james_labs.panel)).to_be_visible()
        expect(_viewing(maria_page)).to_contain_text(f"{james.name}'s portal")
        assert rosa_labs.markers[0] not in maria_page.content()
        maria_frames.settle()
        assert james_labs.markers[0] in maria_frames.text()  # the recorder sees what the tab is sent

        # Carl cares for no one else: the same news, and a way to sign out.
        _next_action(carl_page.get_by_role("button", name=f"History of {rosa_labs.test_name}").first)
        expect(carl_page.get_by_role("heading", name=ENDED.format(name=rosa.name))).to_be_visible()
        expect(carl_page.get_by_role("button", name=re.compile(r"^Open "))).to_have_count(0)
        carl_frames.settle()
        assert not carl_frames.leaks(rosa_labs.markers[:1]), "Rosa's results after Carl's access ended"
        assert ENDED.format(name=rosa.name) in carl_frames.text()
        sign_out_link = carl_page.get_by_role("link", name="Sign out")
        expect(sign_out_link).to_be_visible()
        sign_out_link.click()
        expect(carl_page.get_by_text("You have signed out.")).to_be_visible()
        # Signing in again explains, instead of bouncing him back to sign in.
        sign_in(carl_page, carl, lands_on=ACCESS)
        expect(carl_page.get_by_role("heading", name="You don't have access to a patient's portal right now")
               ).to_be_visible()
        expect(carl_page.get_by_text("Manage Users")).to_be_visible()
    finally:
        for p in (rosa_page, james_page, maria_page, carl_page):
            p.context.close()


# --- 5. a patient at /admin ------------------------------------------------------------------


def test_a_patient_at_the_admin_page_is_told_it_is_for_the_office_and_stays_signed_in(server, page: Page):
    recorder = FrameRecorder(page)
    staff = make_staff(server, name="Nora Labdesk")
    stranger = make_patient(server, first="Greta", last="Halvorsen")  # in the office's list
    ida = registered_patient(server, page, first="Ida", last="Marsh")
    record = fill_record(server, staff, ida, visit=False)

    recorder.quiet()
    recorder.start()
    page.goto("/admin")
    expect(page.get_by_role("heading", name="This page is for the office staff")).to_be_visible()
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_have_count(0)
    _no_leaks(recorder, page, [stranger.mrn, stranger.email, "Halvorsen"], "Ida at /admin")

    portal = page.get_by_role("link", name="Go to your portal")
    hydrated(page, portal)
    portal.click()
    expect(page).to_have_url(re.compile(HOME))
    expect(page.get_by_role("link", name=record.subject)).to_be_visible()  # still signed in: her own record
    recorder.settle()
    assert record.subject in recorder.text()


# --- 6. view as patient -------------------------------------------------------------------------


def test_view_as_patient_is_read_only_and_back_to_the_admin_page_ends_it_in_every_tab(server, page: Page,
                                                                                     browser: Browser):
    staff = make_staff(server, name="Olivia Frontdesk")
    hana = _registered_elsewhere(server, browser, first="Hana", last="Sato")
    record = fill_record(server, staff, hana, visit=False)

    sign_in(page, staff, lands_on=ADMIN_HOME)
    page.get_by_label("Search by name, MRN, email or date of birth").fill(hana.mrn)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"{hana.last}, {hana.first}").click()
    expect(page.get_by_role("heading", name=hana.name)).to_be_visible()
    view_as = page.get_by_role("button", name="View as patient")
    hydrated(page, view_as)
    view_as.click()

    expect(page).to_have_url(re.compile(HOME))
    expect(_viewing(page)).to_contain_text(f"{hana.name}'s portal as the office")
    expect(_viewing(page)).to_contain_text("read-only")
    # Home is Hana's: the office is not welcomed by its own name.
    expect(page.get_by_role("heading", level=1, name=f"{hana.name}'s portal")).to_be_visible()
    expect(page.get_by_role("heading", name=f"{hana.first}'s next visits")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_have_count(0)
    page.get_by_role("navigation", name="Portal sections").get_by_role(
        "link", name=re.compile("^Messages")).click()
    expect(page.get_by_role("button", name="New message")).to_be_disabled()
    page.get_by_role("list", name="Your conversations").get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=record.subject)).to_be_visible()
    expect(page.get_by_role("button", name="Send reply")).to_be_disabled()
    expect(page.get_by_role("note").filter(has_text="Read-only").first).to_be_visible()

    # A second tab of the office's browser shows Hana's portal too, while the view lasts.
    second = page.context.new_page()
    second.goto("/messages")
    expect(_viewing(second)).to_contain_text(f"{hana.name}'s portal as the office")
    conversation = second.get_by_role("list", name="Your conversations").get_by_role("link").first
    expect(conversation).to_contain_text(record.subject)

    back = page.get_by_role("button", name="Back to the admin page")
    hydrated(page, back)
    back.click()
    expect(page).to_have_url(re.compile(ADMIN_HOME))
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    page.goto("/home")  # the portal no longer opens on Hana
    expect(page).to_have_url(re.compile(ADMIN_HOME))

    # The second tab's next action ends the view there too: the admin page, not Hana.
    _next_action(conversation)
    expect(second).to_have_url(re.compile(ADMIN_HOME))
    expect(second.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    expect(_viewing(second)).to_have_count(0)
    assert record.markers[0] not in second.content()
    second.reload()
    expect(second.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    assert record.markers[0] not in second.content()
