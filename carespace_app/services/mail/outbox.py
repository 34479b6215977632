"""The durable outbox: every email is a row before it is a message.

An email is written in the same transaction as the change that causes it (an
invitation, a reset), so it is never lost and never sent for a change that was
rolled back. A sender (``sender.run_sender``, one per worker) claims due rows
and delivers them; a claim is exclusive, so each email goes out once even with
several workers. Secret links are kept only sealed (``security.seal``) and the
seal is dropped once the email has been handed to the SMTP server.

This module knows no sender: a sender asks to hear of new mail (``on_queued``), and
is told after each commit that queued some.
"""
from __future__ import annotations

import base64
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Callable, Optional

from sqlalchemy import and_, event, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.db import session_scope
from carespace_app import i18n
from carespace_app.config import Settings, get_settings
from carespace_app.i18n import N_
from carespace_app.models import (
    OUTBOX_FAILED,
    OUTBOX_LOGGED,
    OUTBOX_QUEUED,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OutboxEmail,
)
from carespace_app.services import paging
from carespace_app.services.identity import security
from carespace_app.services.errors import NotFound, ValidationError

log = logging.getLogger("carespace.mail")

LINK_PLACEHOLDER = "{link}"
# A sender that claimed a row and has not finished in this long has crashed.
# Reclaiming may, rarely, send an email twice; losing it would be worse.
STALE_CLAIM = timedelta(minutes=5)
MAX_ATTEMPTS = 12  # about 4 hours of retries with the backoff below
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=30)
SMTP_TIMEOUT_SECONDS = 20
FOOTER_TEMPLATE = N_("This message was sent by CareSpace, the patient portal of {practice}. "
                     "Do not reply to this email: replies are not read. "
                     "For questions, call the office at {phone}.")


def footer(lang: str = "en") -> str:
    """The line under every email, in the email's language."""
    return "\n\n--\n" + i18n.fmt(lang, FOOTER_TEMPLATE, practice=get_settings().practice_name,
                                   phone=get_settings().office_phone)


FOOTER = footer("en")
DELIVERED = (OUTBOX_SENT, OUTBOX_LOGGED)
# What the log says instead of an attachment (never its content).
ATTACHMENT_LOGGED = "[Attached: {name} ({type}, {size} bytes); not shown]"


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: kept only sealed until it is handed over."""

    filename: str
    content_type: str  # "application/pdf", "application/fhir+json"
    data: bytes


def _seal_attachment(attachment: Attachment) -> str:
    return security.seal(base64.b64encode(attachment.data).decode("ascii"))


def attachment_of(email: OutboxEmail, secret_key: Optional[str] = None) -> Optional[Attachment]:
    """The email's file, unsealed; None when it has none (or it was dropped after sending)."""
    if not email.sealed_attachment:
        return None
    data = base64.b64decode(security.unseal(email.sealed_attachment, secret_key))
    return Attachment(filename=email.attachment_name or "attachment",
                      content_type=email.attachment_type or "application/octet-stream", data=data)


def enqueue(
    db: Session,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    link: Optional[str] = None,
    patient_id: Optional[int] = None,
    attachment: Optional[Attachment] = None,
    clock: Clock,
    lang: str = "en",
) -> OutboxEmail:
    """Queue an email inside the caller's transaction (flush, no commit).

    ``body`` holds ``{link}`` where the link goes; the link itself is stored
    only sealed. The caller's unit of work commits it with the action, and
    whoever listens (``on_queued``) hears of it after that commit.
    ``attachment``: a file sent with it, stored only sealed and dropped once delivered.
    ``lang``: the language the body is written in (the footer follows it).
    """
    if link is not None and LINK_PLACEHOLDER not in body:
        raise ValueError("a link needs the {link} placeholder in the body")
    now = clock()
    email = OutboxEmail(
        to_address=to,
        subject=subject[:300],
        body_template=body,
        sealed_link=security.seal(link) if link is not None else None,
        kind=kind[:40],
        patient_id=patient_id,
        status=OUTBOX_QUEUED,
        language=i18n.normalize(lang),
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    if attachment is not None:
        email.attachment_name = attachment.filename[:120]
        email.attachment_type = attachment.content_type[:60]
        email.sealed_attachment = _seal_attachment(attachment)
    db.add(email)
    db.flush()
    _announce_after_commit(db)
    return email


# --- telling a sender --------------------------------------------------------------

_listeners: list[Callable[[], None]] = []


def on_queued(callback: Callable[[], None]) -> None:
    """Call ``callback()`` after every commit that queued (or re-queued) an email.

    The sender registers its ``wake`` when it starts, so an email (an invitation, a
    reset link) goes out within a second instead of at the next poll. Registering the
    same callback again changes nothing. Callbacks run on the committing thread, once
    its commit is done: they must be quick.
    """
    if callback not in _listeners:
        _listeners.append(callback)


def _announce_after_commit(db: Session) -> None:
    # Announcing before the commit would send the listener looking for a row it cannot
    # see yet; a rollback must announce nothing.
    db.info["outbox_pending"] = True
    if db.info.get("outbox_listening"):
        return
    db.info["outbox_listening"] = True

    @event.listens_for(db, "after_commit")
    def _after_commit(session):
        if session.info.pop("outbox_pending", False):
            for callback in list(_listeners):
                try:
                    callback()
                except Exception:  # the action is committed: a listener cannot undo it
                    log.exception("an outbox listener failed")

    @event.listens_for(db, "after_rollback")
    def _after_rollback(session):
        session.info.pop("outbox_pending", None)


def render(email: OutboxEmail, secret_key: Optional[str] = None) -> tuple[str, str]:
    """(subject, plain-text body) with the link unsealed and the standard footer."""
    body = email.body_template
    if email.sealed_link:
        body = body.replace(LINK_PLACEHOLDER, security.unseal(email.sealed_link, secret_key))
    elif email.status == OUTBOX_SENT:
        body = body.replace(LINK_PLACEHOLDER, "(link removed after sending)")
    return email.subject, body + footer(email.language or "en")


# --- claiming ------------------------------------------------------------------


def _due(now):
    return or_(
        and_(OutboxEmail.status == OUTBOX_QUEUED, OutboxEmail.next_attempt_at <= now),
        and_(OutboxEmail.status == OUTBOX_SENDING, OutboxEmail.claimed_at < now - STALE_CLAIM),
    )


def claim_due(engine: Engine, *, clock: Clock, limit: int = 20) -> list[OutboxEmail]:
    """Mark up to ``limit`` due emails "sending" for this sender, in a transaction of its own.

    The claim is the sender's own unit of work: it must be committed (seen by every
    other sender) before any email is handed to SMTP, and it belongs to no user's action.
    PostgreSQL: rows locked by another sender are skipped (FOR UPDATE SKIP LOCKED).
    SQLite: each row is taken with an UPDATE that only succeeds while it is
    still due, so two senders never both win the same row.
    """
    with session_scope(engine) as db:
        return _claim(db, clock=clock, limit=limit)


def _claim(db: Session, *, clock: Clock, limit: int) -> list[OutboxEmail]:
    now = clock()
    query = (
        select(OutboxEmail)
        .where(_due(now))
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(limit)
    )
    claimed: list[OutboxEmail] = []
    if db.get_bind().dialect.name == "postgresql":
        for email in db.exec(query.with_for_update(skip_locked=True)).all():
            email.status = OUTBOX_SENDING
            email.claimed_at = now
            claimed.append(email)
    else:
        won = []
        for email_id in [email.id for email in db.exec(query).all()]:
            taken = db.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == email_id, _due(now))
                .values(status=OUTBOX_SENDING, claimed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken == 1:
                won.append(email_id)
        claimed = [db.get(OutboxEmail, email_id, populate_existing=True) for email_id in won]
    return claimed


# --- delivering ------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """30 s after the first failure, then doubling: 1 min, 2 min, 4 min … at most 30 min."""
    return min(FIRST_BACKOFF * (2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _message(settings: Settings, email: OutboxEmail, subject: str, body: str, now) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = email.to_address
    message["Subject"] = subject
    message["Date"] = format_datetime(now.replace(tzinfo=timezone.utc))
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "carespaceportal.com"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    attachment = attachment_of(email, settings.secret_key)
    if attachment is not None:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype or "application",
                               subtype=subtype or "octet-stream", filename=attachment.filename)
    return message


def _logged_attachment(email: OutboxEmail, secret_key: Optional[str]) -> str:
    """The line the log shows for an attachment: its name, type and size, never its bytes."""
    if not email.sealed_attachment:
        return ""
    size = len(base64.b64decode(security.unseal(email.sealed_attachment, secret_key)))
    return "\n\n" + ATTACHMENT_LOGGED.format(name=email.attachment_name,
                                               type=email.attachment_type, size=size)


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    with smtp_class(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.ehlo()
        # Only when offered: a server without TLS (a test server) would refuse the command.
        if settings.smtp_starttls and not settings.smtp_ssl and smtp.has_extn("starttls"):
            smtp.starttls()
            smtp.ehlo()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def _describe_failure(exc: BaseException, settings: Settings) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if settings.smtp_password:
        text = text.replace(settings.smtp_password, "***")
    return text[:300]


def deliver(engine: Engine, email_id: int, settings: Settings, *, clock: Clock) -> str:
    """Send one claimed email and record the outcome; returns its new status.

    With SMTP configured (production) it goes to the SMTP server. Without it
    (a laptop, a demo) the rendered email, link included, is written to the
    "carespace.mail" log at INFO and kept readable in the admin Outbox: that is
    the development channel, and why production must set CARESPACE_SMTP_HOST.

    Each email's outcome is a unit of work of its own (the sender's, not a user's):
    what happened to one email is kept whatever happens to the next.
    """
    with session_scope(engine) as db:
        email = db.get(OutboxEmail, email_id)
        if email is None:
            raise NotFound("That email is not in the outbox.")
        if email.status != OUTBOX_SENDING:
            return email.status  # not claimed by a sender: someone else owns it
        now = clock()
        subject, body = render(email, settings.secret_key)
        if not settings.smtp_enabled:
            log.info("Email #%s to %s (no SMTP configured)\nSubject: %s\n\n%s%s",
                     email.id, email.to_address, subject, body,
                     _logged_attachment(email, settings.secret_key))
            email.status = OUTBOX_LOGGED
            email.sent_at = now
            _drop_attachment(email)
        else:
            try:
                _send_smtp(settings, _message(settings, email, subject, body, now))
            except Exception as exc:  # any failure: keep the email and try later
                email.attempts += 1
                email.last_error = _describe_failure(exc, settings)
                if email.attempts >= MAX_ATTEMPTS:
                    email.status = OUTBOX_FAILED
                else:
                    email.status = OUTBOX_QUEUED
                    email.next_attempt_at = now + backoff(email.attempts)
                log.warning("Email #%s not sent (attempt %s): %s",
                            email.id, email.attempts, email.last_error)
            else:
                email.status = OUTBOX_SENT
                email.sent_at = now
                email.last_error = None
                email.sealed_link = None  # handed over: the secret is no longer needed
                _drop_attachment(email)
        email.claimed_at = None
        db.add(email)
        return email.status


def _drop_attachment(email: OutboxEmail) -> None:
    """Delivered (or shown in the log, where nobody can open it): the record is not kept.
    Its name and type stay, so the office's Outbox can say what was attached."""
    if email.sealed_attachment is not None:
        email.sealed_attachment = None


def deliver_due(engine: Engine, settings: Settings, *, clock: Clock, limit: int = 20) -> int:
    """Claim what is due and deliver it; returns how many were delivered."""
    ids = [email.id for email in claim_due(engine, clock=clock, limit=limit)]
    return sum(1 for email_id in ids
               if deliver(engine, email_id, settings, clock=clock) in DELIVERED)


# --- staff view ------------------------------------------------------------------


def retry(db: Session, email_id: int, *, clock: Clock) -> OutboxEmail:
    """Staff's "Send again": a failed or waiting email is due now; attempts are kept."""
    # Conditional UPDATE: a sender may be delivering it at this very moment.
    changed = db.execute(
        update(OutboxEmail)
        .where(OutboxEmail.id == email_id, OutboxEmail.status.in_((OUTBOX_FAILED, OUTBOX_QUEUED)))
        .values(status=OUTBOX_QUEUED, next_attempt_at=clock())
        .execution_options(synchronize_session=False)
    ).rowcount
    email = db.get(OutboxEmail, email_id, populate_existing=True)
    if email is None:
        raise NotFound("That email is not in the outbox.")
    if changed != 1:
        raise ValidationError("This email is already being sent or was sent.")
    _announce_after_commit(db)
    return email


def list_outbox(
    db: Session,
    *,
    status: Optional[str] = None,
    offset: int = 0,
    limit: int = 50,
) -> paging.Page[OutboxEmail]:
    """Newest first, one page at a time."""
    offset, limit = paging.clamp(offset, limit)
    query = select(OutboxEmail)
    if status:
        query = query.where(OutboxEmail.status == status)
    query = query.order_by(OutboxEmail.created_at.desc(), OutboxEmail.id.desc())
    rows = db.exec(query.offset(offset).limit(limit + 1)).all()
    return paging.page_of(rows, offset, limit)
