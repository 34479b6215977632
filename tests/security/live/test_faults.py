"""Faults, against the dedicated server (https through a TLS proxy, see dedicated.py):

- the mail server is down while invitations go out: they wait in the outbox and
  each goes out once when it is back, and its link works;
- the database is unreachable: the patient is told calmly, nothing is half-written,
  and the portal works again once the database is back, without a restart;
- the server is killed (SIGKILL) as the patient clicks Send: afterwards the message
  is stored once or not at all, and neither the browser's retry nor a replay of
  the same event stores it twice.
"""
from __future__ import annotations

import re
import sqlite3
import time
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text, update
from sqlmodel import Session, select

from carespace_app.clock import utcnow
from carespace_app.db import make_engine
from carespace_app.models import Message, MessageThread, OutboxEmail

from tests.e2e.harness import _Handler
from tests.e2e.people import Person, make_patient, register_from_email, unique

CALM = re.compile("Something went wrong on our side")
RAW_ERROR = re.compile(r"Traceback|OperationalError|sqlite3|psycopg|sqlalchemy|Exception", re.I)


class _MailServer:
    """The mail server on the dedicated server's SMTP port, started and stopped by the tests
    (nothing listens there until one starts it)."""

    def __init__(self, dedicated):
        self.dedicated = dedicated
        self.controller = None

    def __call__(self):
        from aiosmtpd.controller import Controller

        if self.controller is None:
            self.controller = Controller(_Handler(self.dedicated.server.mailbox), hostname="127.0.0.1",
                                         port=self.dedicated.smtp_port)
            self.controller.start()
        return self.dedicated.server.mailbox

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="module")
def mail_server(dedicated):
    mail = _MailServer(dedicated)
    yield mail
    mail.stop()


@pytest.fixture(scope="module")
def db(dedicated):
    # The test reads the database directly, not through the relay a test may cut.
    url = dedicated.database_url
    if dedicated.relay is not None:
        host, port = dedicated.relay.target
        url = url.replace(f"127.0.0.1:{dedicated.relay.port}", f"{host}:{port}")
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def tab(dedicated, browser: Browser):
    context = browser.new_context(base_url=dedicated.server.base_url, ignore_https_errors=True,
                                  locale="en-US", timezone_id="America/Chicago")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _patient_on_new_message(dedicated, mail_server, page: Page, first: str) -> tuple[Person, object]:
    mail_server()
    patient = make_patient(dedicated.server, first=first, last="Faultline", dob="1957-03-14")
    register_from_email(dedicated.server, page, patient)
    page.goto("/messages")
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    return patient, dialog


def _fill(dialog, subject: str, body: str) -> None:
    dialog.get_by_label("Category").select_option("Medical question")
    dialog.get_by_label("Subject").fill(subject)
    dialog.get_by_label("Message").fill(body)


def _threads(db, subject: str) -> list[tuple[int, int]]:
    """(thread id, messages the patient's side stored in it) for every thread with this
    subject (the practice's automatic first reply, issue #15, is not counted)."""
    with Session(db) as s:
        threads = s.exec(select(MessageThread).where(MessageThread.subject == subject)).all()
        return [(t.id, len(s.exec(select(Message).where(Message.thread_id == t.id,
                                                        Message.automatic.is_(False))).all()))
                for t in threads]


def _threads_without_messages(db) -> int:
    with Session(db) as s:
        return s.exec(text("SELECT count(*) FROM message_threads t WHERE NOT EXISTS "
                           "(SELECT 1 FROM messages m WHERE m.thread_id = t.id)")).one()[0]


# --- the mail server is down ------------------------------------------------------------------


def test_invitations_sent_while_the_mail_server_is_down_go_out_once_when_it_is_back(
        dedicated, mail_server, db, tab: Page):
    mail_server.stop()  # the mail server is down (an earlier test may have started it)
    server = dedicated.server
    patients = [make_patient(server, first=f"Outage{i}", last="Patient", dob="1950-01-0" + str(i + 1))
                for i in range(3)]
    addresses = [p.email for p in patients]

    with Session(db) as s:
        rows = s.exec(select(OutboxEmail).where(OutboxEmail.to_address.in_(addresses))).all()
    assert sorted(r.to_address for r in rows) == sorted(addresses), "every invitation is queued, once"
    for row in rows:
        assert row.status == "queued" and row.attempts >= 1, (row.status, row.attempts)
        assert "Connection" in (row.last_error or ""), row.last_error
        assert row.sealed_link, "the link is kept (sealed) until the email is handed over"
    assert not [m for m in server.mailbox.messages if set(m.to) & set(addresses)]

    mailbox = mail_server()
    # The mail server is back; the sender's next try is 30 s after the failure. Age the
    # rows so the test need not wait out the backoff (the sender itself is untouched).
    with Session(db) as s:
        s.exec(update(OutboxEmail).where(OutboxEmail.to_address.in_(addresses))
               .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    for address in addresses:
        mailbox.wait_for(address, "invitation", timeout=30)
    time.sleep(5)  # two more sender rounds: a second copy would arrive now
    for address in addresses:
        assert len(mailbox.all_to(address)) == 1, f"{address} got {len(mailbox.all_to(address))} emails"
    with Session(db) as s:
        statuses = {r.status for r in s.exec(select(OutboxEmail).where(OutboxEmail.to_address.in_(addresses)))}
    assert statuses == {"sent"}

    # The delayed link works: the patient registers with it and lands on Home.
    register_from_email(server, tab, patients[0])
    expect(tab.get_by_role("heading", name=re.compile("Welcome, Outage0"))).to_be_visible()


# --- the database is unreachable ----------------------------------------------------------------


class _DatabaseDown:
    """PostgreSQL: the relay between server and database is cut (connections reset,
    new ones refused). SQLite: another process holds the write lock, so every write
    waits out the busy timeout (CARESPACE_DB_TIMEOUT=5 on this server) and fails."""

    def __init__(self, dedicated):
        self.dedicated = dedicated
        self.lock: sqlite3.Connection | None = None

    def __enter__(self):
        if self.dedicated.relay is not None:
            self.dedicated.relay.cut()
        else:
            path = self.dedicated.database_url[len("sqlite:///"):]
            self.lock = sqlite3.connect(path, isolation_level=None, timeout=10)
            self.lock.execute("BEGIN IMMEDIATE")
        return self

    def back(self):
        if self.dedicated.relay is not None and self.dedicated.relay.cut_off:
            self.dedicated.relay.restore()
        if self.lock is not None:
            self.lock.execute("ROLLBACK")
            self.lock.close()
            self.lock = None

    def __exit__(self, *exc):
        self.back()


def test_with_the_database_unreachable_the_patient_is_told_and_nothing_is_half_written(
        dedicated, mail_server, db, tab: Page, browser: Browser):
    patient, dialog = _patient_on_new_message(dedicated, mail_server, tab, "Dora")
    subject = unique("Question while the database is down")
    _fill(dialog, subject, "Is the rash on my arm a side effect?")

    with _DatabaseDown(dedicated) as outage:
        started = time.monotonic()
        dialog.get_by_role("button", name="Send message").click()
        expect(tab.get_by_text(CALM).first).to_be_visible(timeout=30_000)
        assert time.monotonic() - started < 30
        assert not RAW_ERROR.search(tab.inner_text("body")), "no error text or trace reaches the patient"
        # The draft is still there, and the button is not stuck spinning.
        expect(dialog.get_by_label("Message")).to_have_value("Is the rash on my arm a side effect?")
        expect(dialog.get_by_role("button", name="Send message")).to_be_enabled()

        # Signing in elsewhere meanwhile: a calm sentence too, not a spinner forever.
        other = browser.new_context(base_url=dedicated.server.base_url, ignore_https_errors=True)
        try:
            page2 = other.new_page()
            page2.set_default_timeout(20_000)
            page2.goto("/")
            page2.get_by_label("Email address").fill(patient.email)
            page2.get_by_label("Password").fill(patient.password)
            page2.get_by_role("button", name="Sign in").click()
            expect(page2.get_by_text(CALM).first).to_be_visible(timeout=30_000)
            assert not RAW_ERROR.search(page2.inner_text("body"))
            outage.back()
            # The database is back: the same tab signs in, no restart needed.
            page2.get_by_role("button", name="Sign in").click()
            expect(page2).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
        finally:
            other.close()

    assert _threads(db, subject) == [], "nothing of the failed send was stored"
    dialog.get_by_role("button", name="Send message").click()
    expect(tab.get_by_text("Your message was sent.")).to_be_visible()
    assert len(_threads(db, subject)) == 1 and _threads(db, subject)[0][1] == 1
    assert _threads_without_messages(db) == 0


# --- the server is killed as the patient sends ----------------------------------------------------


# Two moments, two kills: the whole server (process group) as the event arrives, then
# restarted on the same port and database; and only its worker right after the commit,
# before the answer goes out (Granian respawns it), which also spares a second restart.
@pytest.mark.parametrize("moment", ["as the event arrives", "right after the message is stored"])
def test_a_server_killed_while_a_message_is_sent_stores_it_once_or_not_at_all(
        dedicated, mail_server, db, tab: Page, moment):
    subject = unique("Sent as the server died")
    frames: list[str] = []
    armed: list[bool] = []
    killed: list[bool] = []
    sockets: list = []  # the server side of each event socket, newest last
    answers: dict[int, int] = {}  # how many frames each of them has sent to the page

    def route(ws):
        server = ws.connect_to_server()
        sockets.append(server)
        answers[id(server)] = 0

        def to_page(message):
            answers[id(server)] += 1
            ws.send(message)

        server.on_message(to_page)

        def to_server(message):
            if armed and not frames and isinstance(message, str) and "send_message" in message:
                frames.append(message)
                server.send(message)
                if moment == "as the event arrives":
                    dedicated.kill()  # the whole server (process group) dies now
                else:
                    deadline = time.time() + 10
                    while not _threads(db, subject) and time.time() < deadline:
                        time.sleep(0.02)
                    dedicated.kill_worker()  # its worker dies before the reply goes out
                killed.append(True)
                return
            server.send(message)

        ws.on_message(to_server)

    # Every event socket of this tab passes through the route (set before the page opens).
    tab.route_web_socket(re.compile(r"/_event"), route)
    _patient_on_new_message(dedicated, mail_server, tab, "Kiko")
    dialog = tab.get_by_role("dialog")
    body = "Is it safe to take ibuprofen the day before my infusion?"  # no red flag (issue #15)
    _fill(dialog, subject, body)
    armed.append(True)
    dialog.get_by_role("button", name="Send message").click()
    deadline = time.time() + 20
    while not killed and time.time() < deadline:
        tab.wait_for_timeout(100)
    assert frames and killed, "the server was killed as the message went out"

    stored = _threads(db, subject)
    assert len(stored) <= 1 and all(count == 1 for _, count in stored), stored
    assert _threads_without_messages(db) == 0, "no conversation without its first message"
    if moment != "as the event arrives":
        assert stored, "the kill came after the commit"

    if moment == "as the event arrives":
        dedicated.start()  # same port, same database
    else:
        dedicated.wait_for_workers()  # Granian starts a new worker
    # The open tab reconnects by itself (Reflex's client retries with a growing delay).
    expect(tab.get_by_role("button", name="New message")).to_be_enabled(timeout=60_000)
    # A live socket to the restarted server: it has answered the connect and the
    # namespace connect (failed attempts while the server was down never answer).
    deadline = time.time() + 30
    while not (len(sockets) >= 2 and answers[id(sockets[-1])] >= 2) and time.time() < deadline:
        tab.wait_for_timeout(100)
    live = sockets[-1]
    assert len(sockets) >= 2 and answers[id(live)] >= 2, "the tab reconnected to the restarted server"
    # Reflex's client never re-sends an event it wrote to a socket that then died; a
    # client (or a proxy) that did would send this very frame again: still stored once.
    before = answers[id(live)]
    live.send(frames[0])
    deadline = time.time() + 15
    while answers[id(live)] == before and time.time() < deadline:
        tab.wait_for_timeout(100)
    assert answers[id(live)] > before, "the server handled the replayed frame"
    tab.wait_for_timeout(500)
    stored = _threads(db, subject)
    assert len(stored) <= 1 and all(count == 1 for _, count in stored), stored

    # The patient checks the list: what they see tells them whether to send it again.
    tab.goto("/messages")  # the list, whether or not the send got as far as opening it
    conversations = tab.get_by_role("list", name="Your conversations")
    if stored:
        expect(conversations).to_contain_text(subject)
    else:
        expect(tab.get_by_text("No messages yet — start one with New message")).to_be_visible()
        tab.get_by_role("button", name="New message").click()
        _fill(dialog, subject, body)
        dialog.get_by_role("button", name="Send message").click()
        expect(tab.get_by_text("Your message was sent.")).to_be_visible()
        expect(tab.get_by_role("heading", name=subject)).to_be_visible()  # it opens
    stored = _threads(db, subject)
    assert len(stored) == 1 and stored[0][1] == 1, stored
    assert _threads_without_messages(db) == 0
