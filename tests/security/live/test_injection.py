"""Attacks by typing: script and markup where people write (subjects, messages, names,
resource links), SQL-like strings, and line breaks meant to forge log lines.

Each story carries many payloads. Inert means: no dialog opens, ``window.__pwned`` stays
undefined, no element the payload describes exists, and the text reads back literally.
"""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import inspect, text

from carespace_app.policy import RESET_TTL, in_words

from tests.e2e.harness import Server
from tests.e2e.people import PASSWORD, Person, make_staff, register_from_email, registered_patient, \
    sign_in, unique
from tests.e2e.portal_people import grant_access, new_page, user_card, wait_for_hydration

from .attack import SCRIPT_PAYLOADS, SQL_PAYLOADS, Tripwire, rewrite_events, scalar, server_db, \
    skip_browser_checks

ADMIN_HOME = r"/admin/?$"
BAD_LINK = "starts with https://"
TABLES = {"users", "patients", "messages", "message_threads", "audit_events"}


def _tables_intact(server: Server) -> None:
    with server_db(server) as engine:
        assert TABLES <= set(inspect(engine).get_table_names())
        assert scalar(engine, "SELECT count(*) FROM users") > 0
        assert scalar(engine, "SELECT count(*) FROM patients") > 0


def test_payloads_in_a_conversation_are_inert_for_the_patient_and_the_office(
        server, page: Page, browser: Browser):
    staff = make_staff(server, name="Quentin Queue")
    registered_patient(server, page, first="Polly", last="Payload")
    wire = Tripwire(page)
    tag = uuid.uuid4().hex[:6]
    subject = f"{tag} {SCRIPT_PAYLOADS[0]} {SQL_PAYLOADS[0]}"
    body = "\n".join(SCRIPT_PAYLOADS + SQL_PAYLOADS)
    reply = "\n".join((SCRIPT_PAYLOADS[1], SCRIPT_PAYLOADS[2], SCRIPT_PAYLOADS[3], SCRIPT_PAYLOADS[4],
                       SQL_PAYLOADS[1]))

    page.goto("/messages")
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Other")
    dialog.get_by_label("Subject").fill(subject)
    dialog.get_by_label("Message").fill(body)
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    expect(page.get_by_role("heading", level=2)).to_contain_text(tag)  # the new conversation opens
    wire.assert_inert()

    office = wire.watch(new_page(browser, server))
    try:
        sign_in(office, staff, lands_on=ADMIN_HOME)
        office.get_by_role("link", name="Messages").click()
        office.get_by_role("button", name=f"Open conversation {subject}").click()
        for line in SCRIPT_PAYLOADS + SQL_PAYLOADS:
            expect(office.get_by_text(line, exact=False).first).to_be_visible()
        office.get_by_label("Reply", exact=True).fill(reply)
        office.get_by_role("button", name="Send reply").click()
        expect(office.get_by_text(SQL_PAYLOADS[1], exact=False).last).to_be_visible()
        wire.assert_inert()
    finally:
        office.context.close()

    page.reload()  # the conversation stays open (its address is ?thread=N)
    # The patient's message, the practice's automatic reply (issue #15), the office's reply.
    thread = page.get_by_role("list", name="Messages in this conversation").get_by_role("listitem")
    expect(thread).to_have_count(3)
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    for line in reply.splitlines():
        expect(thread.nth(2)).to_contain_text(line)
    # No template was evaluated: the reply's text (not its time, which may say 12:49).
    reply_text = thread.nth(2).get_by_role("paragraph").last
    expect(reply_text).to_contain_text("{{7*7}} ${7*7}")
    expect(reply_text).not_to_contain_text("49")
    wire.assert_inert()

    with server_db(server) as engine:
        assert scalar(engine, "SELECT count(*) FROM message_threads WHERE subject = :s", s=subject) == 1
        assert scalar(engine, "SELECT count(*) FROM messages WHERE body = :b", b=body) == 1
        assert scalar(engine, "SELECT count(*) FROM messages WHERE body = :b", b=reply) == 1
    _tables_intact(server)


def _add_link(page: Page, title: str, url: str) -> None:
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Link", exact=True).fill(url)
    page.get_by_role("button", name="Add link").click()


def test_payloads_in_names_and_links_are_inert_and_script_links_are_refused(
        server, page: Page, browser: Browser):
    """The office makes a patient whose name is markup and adds a resource whose title is;
    the patient registers, reads both, and names a caregiver with markup."""
    staff = make_staff(server, name="Nora Names")
    tag = uuid.uuid4().hex[:6]
    person = Person(email=f"{unique('mallory')}@example.com", password=PASSWORD,
                    first=SCRIPT_PAYLOADS[0], last=f"{SQL_PAYLOADS[1]} {tag}", mrn=unique("MRN"),
                    dob="1970-01-02")
    wire = Tripwire(page)
    sign_in(page, staff, lands_on=ADMIN_HOME)

    page.get_by_label("MRN", exact=True).fill(person.mrn)
    page.get_by_label("First name", exact=True).fill(person.first)
    page.get_by_label("Last name", exact=True).fill(person.last)
    page.get_by_label("Date of birth", exact=True).fill(person.dob)
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_role("button", name="Create patient record").click()
    expect(page.get_by_role("heading", name=person.name, level=1)).to_be_visible()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("[data-invitation-status='invited']")).to_be_visible()
    wire.assert_inert()
    # From here on, a marker typed into a field reaches the server as the control
    # character it names (set before the page opens its event socket: only sockets
    # opened later pass through the route).
    rewrite_events(page, {"LEADTAB": "\t", "LEADNL": "\n", "MIDTAB": "\t"})
    page.goto("/admin")
    page.get_by_label("Search by name, MRN, email or date of birth").fill(person.mrn)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=f"{person.last}, {person.first}")).to_be_visible()
    wire.assert_inert()

    # Resources: every way of writing a script link is refused, and says what to do.
    page.get_by_role("link", name="Resources").click()
    expect(page.get_by_role("heading", name="Resources", level=1)).to_be_visible()
    title = f"{SCRIPT_PAYLOADS[2]} {tag}"
    skip_browser_checks(page)
    for url in ("javascript:window.__pwned=1", "JaVaScRiPt:window.__pwned=1",
                " javascript:window.__pwned=1", "LEADTABjavascript:window.__pwned=1",
                "LEADNLjavascript:window.__pwned=1", "javaMIDTABscript:window.__pwned=1",
                "data:text/html,<script>window.__pwned=1</script>", "vbscript:msgbox(1)"):
        _add_link(page, title, url)
        expect(page.get_by_role("alert").filter(has_text=BAD_LINK)).to_be_visible()
        expect(page.get_by_label("Title", exact=True)).to_have_value(title)
    link = "https://www.cancer.gov/about-cancer?ref=%22%3E%3Csvg%20onload%3Dwindow.__pwned%3D1%3E"
    _add_link(page, title, link)
    row = page.get_by_role("row").filter(has_text=tag)
    expect(row).to_contain_text(SCRIPT_PAYLOADS[2])
    expect(row.get_by_role("link")).to_have_attribute("href", link)
    expect(row.get_by_role("link")).to_have_attribute("rel", re.compile(r"(?=.*noopener)(?=.*noreferrer)"))
    wire.assert_inert()
    with server_db(server) as engine:
        assert scalar(engine, "SELECT count(*) FROM resources WHERE url NOT LIKE 'http%'") == 0

    patient_page = wire.watch(new_page(browser, server))
    try:
        register_from_email(server, patient_page, person)
        expect(patient_page.get_by_text(person.name).first).to_be_visible()
        patient_page.goto("/resources")
        resource = patient_page.get_by_role("link", name=re.compile(re.escape(tag)))
        expect(resource).to_contain_text(SCRIPT_PAYLOADS[2])
        expect(resource).to_have_attribute("href", link)
        expect(resource).to_have_attribute("target", "_blank")
        expect(resource).to_have_attribute("rel", re.compile(r"(?=.*noopener)(?=.*noreferrer)"))
        wire.assert_inert()

        helper = Person(email=f"{unique('helper')}@example.net", password=PASSWORD,
                        first=SCRIPT_PAYLOADS[1], last=SQL_PAYLOADS[0])
        grant_access(patient_page, helper)
        expect(user_card(patient_page, helper)).to_contain_text(helper.name)
        wire.assert_inert()
    finally:
        patient_page.context.close()

    # The office's view of the record shows the caregiver's name just as literally.
    page.goto("/admin")
    page.get_by_label("Search by name, MRN, email or date of birth").fill(person.mrn)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"{person.last}, {person.first}").click()
    expect(page.get_by_role("row").filter(has_text=helper.email)).to_contain_text(helper.name)
    wire.assert_inert()

    with server_db(server) as engine:
        assert scalar(engine, "SELECT first_name FROM patients WHERE mrn = :m", m=person.mrn) == person.first
        assert scalar(engine, "SELECT last_name FROM patients WHERE mrn = :m", m=person.mrn) == person.last
    _tables_intact(server)

    page.goto("/admin/resources")
    page.get_by_role("button", name=f"Delete {title}").click()
    expect(page.get_by_role("row").filter(has_text=tag)).to_have_count(0)


def test_line_breaks_cannot_forge_lines_in_the_server_log_or_the_audit_log(server, page: Page):
    """A browser strips line breaks from one-line fields, so the attack rewrites the
    events on the wire: CR/LF followed by what looks like a log line, in the sign-in
    email, a Forgot Password address and a patient's name."""
    forged = f"FORGED-{uuid.uuid4().hex[:8]}"
    fake_line = f"2026-01-01 00:00:00,000 INFO carespace.auth: {forged} admin signed in"
    rewrite_events(page, {"CRLFMARK": "\r\n" + fake_line, "LFMARK": "\n" + fake_line})

    page.goto("/")
    wait_for_hydration(page)
    skip_browser_checks(page)
    page.get_by_label("Email address").fill("eve@example.comLFMARK")
    page.get_by_label("Password").fill("Whatever-1!CRLFMARK")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match")

    page.goto("/forgot-password")
    wait_for_hydration(page)
    skip_browser_checks(page)
    page.get_by_label("Email address").fill("eve@example.comCRLFMARK")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status").filter(has_text=f"link works for {in_words(RESET_TTL)}")).to_be_visible()

    staff = make_staff(server, name="Lionel Logs")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    mrn = unique("MRN")
    page.get_by_label("MRN", exact=True).fill(mrn)
    page.get_by_label("First name", exact=True).fill("EveLFMARK")
    page.get_by_label("Last name", exact=True).fill("ForgerCRLFMARK")
    page.get_by_label("Date of birth", exact=True).fill("1980-05-06")
    page.get_by_label("Email", exact=True).fill(f"{unique('eve')}@example.com")
    page.get_by_role("button", name="Create patient record").click()
    expect(page).to_have_url(re.compile(r"/admin/patient\?id=\d+"))

    lines = server.log_text().splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("2026-01-01", forged))], \
        "a typed line break forged a line in the server log"
    with server_db(server) as engine:
        with engine.connect() as conn:
            details = [row[0] for row in conn.execute(text(
                "SELECT detail FROM audit_events WHERE detail LIKE :f"), {"f": f"%{forged}%"})]
            names = conn.execute(text("SELECT first_name, last_name FROM patients WHERE mrn = :m"),
                                 {"m": mrn}).one()
            # The rewritten event really reached the server (its text is there), and the
            # address is kept as evidence without the break: characters no person types
            # are no part of an address (services/identity/passwords.py normalize_email).
            tried = conn.execute(text("SELECT email FROM sign_in_failures WHERE email LIKE :f"),
                                 {"f": f"%{forged.lower()}%"}).scalars().all()
    assert tried and all(fake_line.lower() in t and "\n" not in t and "\r" not in t for t in tried)
    assert forged in names[0] and forged in names[1]
    assert all("\n" not in d and "\r" not in d for d in details)
    # A name is one line: the break is not kept where names are shown and emailed.
    assert "\n" not in names[0] + names[1] and "\r" not in names[0] + names[1]
