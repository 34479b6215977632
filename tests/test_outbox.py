"""The outbox: sealed links, exclusive claims, SMTP delivery and retry, the sender loop."""
from __future__ import annotations

import asyncio
import dataclasses
import email
import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import text
from sqlmodel import Session, select

from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.models import OutboxEmail
from carespace_app.services.mail import sender
from carespace_app.services.mail import outbox
from carespace_app.services.errors import ValidationError

SECRET = "s3cr3t-t0ken-value-that-must-never-be-stored-in-clear"
LINK = f"http://localhost:3000/reset-password?token={SECRET}"
SMTP_PASSWORD = "smtp-password-never-in-errors"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Capture:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


class SmtpServer:
    """A real SMTP server on a loopback port, started and stopped by the test."""

    def __init__(self, port: int, **kw):
        self.capture = Capture()
        self.controller = Controller(self.capture, hostname="127.0.0.1", port=port, **kw)

    def __enter__(self):
        self.controller.start()
        return self.capture

    def __exit__(self, *exc):
        self.controller.stop()


def smtp_settings(port: int, **kw):
    # aiosmtpd here speaks no TLS, as with CARESPACE_SMTP_STARTTLS=false.
    values = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, **kw}
    return dataclasses.replace(get_settings(), **values)


def queue(db, clock, *, to="jane@example.org", link=LINK, subject="Reset your CareSpace password"):
    row = outbox.enqueue(db, to=to, subject=subject, kind="password_reset", link=link, clock=clock,
                         body="Hello,\n\nOpen this link:\n\n{link}\n" if link else "Hello.\n")
    db.commit()
    return row


def raw_dump(db) -> str:
    return repr(db.execute(text("SELECT * FROM outbox_emails")).all())


def state(engine, email_id) -> OutboxEmail:
    with Session(engine, expire_on_commit=False) as fresh:
        return fresh.get(OutboxEmail, email_id)


# --- storing and rendering --------------------------------------------------------------


def test_link_is_never_stored_in_clear(engine, db, clock):
    row = queue(db, clock)
    assert SECRET not in raw_dump(db)
    subject, body = outbox.render(row)
    assert SECRET in body and subject == "Reset your CareSpace password"
    with SmtpServer(port := free_port()):
        outbox.deliver_due(engine, smtp_settings(port), clock=clock)
    assert SECRET not in raw_dump(db)
    assert state(engine, row.id).sealed_link is None  # gone once handed over


def test_enqueue_joins_the_callers_transaction(db, clock):
    outbox.enqueue(db, to="jane@example.org", subject="Hi", body="Hello.", kind="notice", clock=clock)
    db.rollback()
    assert db.exec(select(OutboxEmail)).all() == []


def test_a_link_needs_its_placeholder(db, clock):
    with pytest.raises(ValueError):
        outbox.enqueue(db, to="a@example.org", subject="x", body="no placeholder", kind="k",
                       link=LINK, clock=clock)
    # Text that merely looks like the placeholder (a name, say) is left alone.
    plain = outbox.enqueue(db, to="a@example.org", subject="x", body="Hello {link}", kind="k",
                           clock=clock)
    assert outbox.render(plain)[1].startswith("Hello {link}")


def test_render_adds_the_footer(db, clock):
    _subject, body = outbox.render(queue(db, clock, link=None))
    assert body.startswith("Hello.")
    assert "This message was sent by CareSpace" in body
    assert "Do not reply" in body and get_settings().office_phone in body


# --- delivery -----------------------------------------------------------------------------


def test_smtp_delivery(engine, db, clock):
    row = queue(db, clock)
    port = free_port()
    with SmtpServer(port) as server:
        assert outbox.deliver_due(engine, smtp_settings(port, smtp_starttls=True), clock=clock) == 1
    (message,) = server.messages
    assert message["From"] == "CareSpace <noreply@carespaceportal.com>"
    assert message["To"] == "jane@example.org"
    assert message["Subject"] == "Reset your CareSpace password"
    assert message["Date"] and message["Message-ID"].endswith("@carespaceportal.com>")
    assert LINK in message.get_payload(decode=True).decode()
    sent = state(engine, row.id)
    assert (sent.status, sent.sent_at, sent.attempts) == ("sent", clock(), 0)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login(engine, db, clock):
    def authenticator(server, session, envelope, mechanism, auth_data):
        # handled=False: aiosmtpd answers 535 itself on a refusal.
        return AuthResult(success=auth_data.password == SMTP_PASSWORD.encode(), handled=False)

    row = queue(db, clock)
    port = free_port()
    with SmtpServer(port, authenticator=authenticator, auth_required=True,
                    auth_require_tls=False) as server:
        wrong = smtp_settings(port, smtp_user="mailer", smtp_password=SMTP_PASSWORD + "x")
        assert outbox.deliver_due(engine, wrong, clock=clock) == 0
        failed = state(engine, row.id)
        assert failed.status == "queued" and failed.attempts == 1
        assert SMTP_PASSWORD not in (failed.last_error or "")
        clock.advance(seconds=30)
        right = smtp_settings(port, smtp_user="mailer", smtp_password=SMTP_PASSWORD)
        assert outbox.deliver_due(engine, right, clock=clock) == 1
    assert len(server.messages) == 1


def test_smtp_down_then_up_delivers_exactly_once(engine, db, clock):
    row = queue(db, clock)
    port = free_port()  # nothing listens here yet
    settings = smtp_settings(port)
    assert outbox.deliver_due(engine, settings, clock=clock) == 0
    waiting = state(engine, row.id)
    assert waiting.status == "queued" and waiting.attempts == 1
    assert waiting.next_attempt_at == clock() + timedelta(seconds=30)
    assert waiting.last_error.startswith("ConnectionRefusedError")
    assert waiting.sealed_link  # still needed for the retry
    with SmtpServer(port) as server:
        clock.advance(seconds=29)
        assert outbox.deliver_due(engine, settings, clock=clock) == 0  # not due yet
        clock.advance(seconds=1)
        assert outbox.deliver_due(engine, settings, clock=clock) == 1
        assert outbox.deliver_due(engine, settings, clock=clock) == 0
        clock.advance(hours=1)
        assert outbox.deliver_due(engine, settings, clock=clock) == 0
    assert len(server.messages) == 1
    assert state(engine, row.id).status == "sent"


def test_backoff_doubles_up_to_30_minutes():
    assert [outbox.backoff(n).total_seconds() for n in range(1, 9)] == [
        30, 60, 120, 240, 480, 960, 1800, 1800]


def test_gives_up_after_12_attempts_and_staff_can_retry(engine, db, clock):
    row = queue(db, clock)
    row.attempts = 11
    db.add(row)
    db.commit()
    settings = smtp_settings(free_port())
    outbox.deliver_due(engine, settings, clock=clock)
    failed = state(engine, row.id)
    assert (failed.status, failed.attempts) == ("failed", 12)
    clock.advance(days=1)
    assert outbox.claim_due(engine, clock=clock) == []
    outbox.retry(db, row.id, clock=clock)
    db.commit()  # the test is the unit of work
    retried = state(engine, row.id)
    assert (retried.status, retried.attempts, retried.next_attempt_at) == ("queued", 12, clock())
    with SmtpServer(settings.smtp_port):
        assert outbox.deliver_due(engine, settings, clock=clock) == 1
    with pytest.raises(ValidationError):
        outbox.retry(db, row.id, clock=clock)


def test_without_smtp_the_email_goes_to_the_log(engine, db, clock, caplog):
    row = queue(db, clock)
    settings = get_settings()
    assert not settings.smtp_enabled
    with caplog.at_level(logging.INFO, logger="carespace.mail"):
        assert outbox.deliver_due(engine, settings, clock=clock) == 1
    assert "Reset your CareSpace password" in caplog.text and "Open this link" in caplog.text
    logged = state(engine, row.id)
    assert logged.status == "delivered to log"
    # Kept so the admin Outbox can show the link on a laptop without a mail server.
    assert outbox.render(logged)[1].count(SECRET) == 1


# --- claiming ---------------------------------------------------------------------------


def test_two_claims_never_return_the_same_row(engine, db, clock):
    ids = {queue(db, clock, to=f"p{n}@example.org").id for n in range(6)}
    a = {e.id for e in outbox.claim_due(engine, clock=clock, limit=4)}
    b = {e.id for e in outbox.claim_due(engine, clock=clock, limit=4)}
    assert a.isdisjoint(b) and a | b == ids


def test_concurrent_senders_claim_each_row_once(engine, db, clock):
    ids = {queue(db, clock, to=f"p{n}@example.org").id for n in range(30)}
    claimed: list[int] = []
    lock = threading.Lock()

    def sender():
        for _ in range(10):
            got = [e.id for e in outbox.claim_due(engine, clock=clock, limit=3)]
            with lock:
                claimed.extend(got)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)


def test_locked_rows_are_skipped_on_postgresql(engine, db, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite is covered by the tests above")
    first, second = queue(db, clock), queue(db, clock)
    with Session(engine) as holder:
        holder.exec(select(OutboxEmail).where(OutboxEmail.id == first.id).with_for_update()).one()
        got = [e.id for e in outbox.claim_due(engine, clock=clock)]  # must not wait
        holder.rollback()
    assert got == [second.id]


def test_a_crashed_senders_claim_is_taken_back_after_5_minutes(engine, db, clock):
    row = queue(db, clock)
    assert [e.id for e in outbox.claim_due(engine, clock=clock)] == [row.id]
    clock.advance(minutes=4, seconds=59)
    assert outbox.claim_due(engine, clock=clock) == []
    clock.advance(seconds=2)
    assert [e.id for e in outbox.claim_due(engine, clock=clock)] == [row.id]


def test_deliver_ignores_an_unclaimed_email(engine, db, clock):
    row = queue(db, clock)
    assert outbox.deliver(engine, row.id, get_settings(), clock=clock) == "queued"


# --- the staff list ------------------------------------------------------------------------


def test_list_outbox_newest_first_with_paging(db, clock):
    for n in range(3):
        queue(db, clock, to=f"p{n}@example.org", link=None)
        clock.advance(minutes=1)
    page = outbox.list_outbox(db, limit=2)
    assert [e.to_address for e in page.items] == ["p2@example.org", "p1@example.org"]
    assert page.has_more
    rest = outbox.list_outbox(db, offset=2, limit=2)
    assert [e.to_address for e in rest.items] == ["p0@example.org"] and not rest.has_more
    assert outbox.list_outbox(db, status="failed").items == []
    assert len(outbox.list_outbox(db, status="queued").items) == 3


# --- the sender loop ------------------------------------------------------------------------


def _run_sender_until(condition, *, interval: float, after_start=None, timeout: float = 5.0) -> float:
    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run_sender(stop, interval=interval))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        if after_start:
            await asyncio.to_thread(after_start)
        while not await asyncio.to_thread(condition):
            if time.monotonic() - started > timeout:
                break
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        stop.set()
        await asyncio.wait_for(task, timeout=2)
        return took

    return asyncio.run(main())


def test_wake_sends_at_once_without_waiting_for_the_interval(engine):
    holder = {}

    def enqueue_from_another_thread():
        with Session(engine, expire_on_commit=False) as own:
            holder["id"] = queue(own, utcnow, link=None).id  # commit wakes the sender

    def delivered():
        return "id" in holder and state(engine, holder["id"]).status == "delivered to log"

    took = _run_sender_until(delivered, interval=30, after_start=enqueue_from_another_thread)
    assert delivered() and took < 2


def test_the_sender_survives_an_error(engine, monkeypatch):
    calls = {"n": 0}
    real = outbox.deliver_due

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(*args, **kw)

    monkeypatch.setattr(outbox, "deliver_due", flaky)
    with Session(engine, expire_on_commit=False) as own:
        email_id = queue(own, utcnow, link=None).id
    _run_sender_until(lambda: state(engine, email_id).status == "delivered to log", interval=0.05)
    assert calls["n"] >= 2 and state(engine, email_id).status == "delivered to log"


def test_wake_without_a_sender_is_harmless():
    sender.wake()
