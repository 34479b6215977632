"""The Outbox as staff see it: what was sent to whom and how it went.

outbox.py is the delivery machinery and checks no role; these wrappers are the
staff-only door to it. A row never carries the sealed link or the body: only
to, subject, kind and delivery status, so no secret link reaches a browser.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.models import (
    OUTBOX_FAILED,
    OUTBOX_LOGGED,
    OUTBOX_QUEUED,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    Invitation,
    OutboxEmail,
    User,
)
from carespace_app.services import paging
from carespace_app.services.permissions import access
from carespace_app.services.audit import trail
from carespace_app.services.mail import outbox
from carespace_app.services.errors import ValidationError

STATUSES = (OUTBOX_QUEUED, OUTBOX_SENDING, OUTBOX_SENT, OUTBOX_LOGGED, OUTBOX_FAILED)
RETRYABLE = (OUTBOX_QUEUED, OUTBOX_FAILED)


@dataclass
class OutboxRow:
    id: int
    to_address: str
    subject: str
    kind: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    sent_at: Optional[datetime]


def _row(e: OutboxEmail) -> OutboxRow:
    return OutboxRow(id=e.id, to_address=e.to_address, subject=e.subject, kind=e.kind,
                     status=e.status, attempts=e.attempts, last_error=e.last_error or "",
                     created_at=e.created_at, sent_at=e.sent_at)


def list_emails(db: Session, actor: User, *, status: str = "", offset: int = 0, limit: int = 50,
                clock: Clock, client_ip: Optional[str] = None) -> paging.Page[OutboxRow]:
    access.require_staff(db, actor, action="outbox.view", clock=clock, client_ip=client_ip)
    if status and status not in STATUSES:
        raise ValidationError("Choose a status from the list.", field="status")
    found = outbox.list_outbox(db, status=status or None, offset=offset, limit=limit)
    return paging.Page(items=[_row(e) for e in found.items], offset=found.offset,
                       limit=found.limit, has_more=found.has_more)


def retry_email(db: Session, actor: User, email_id: int, *, clock: Clock,
                client_ip: Optional[str] = None) -> OutboxRow:
    access.require_staff(db, actor, action="outbox.retry", clock=clock, client_ip=client_ip)
    email = outbox.retry(db, email_id, clock=clock)
    trail.record(db, "outbox.retried", actor=actor, patient_id=email.patient_id,
                 detail=f"email {email.id}", client_ip=client_ip, clock=clock)
    return _row(email)


def invitation_delivery(db: Session, actor: User, invitation: Optional[Invitation], *,
                        clock: Clock) -> str:
    """How the email of an invitation went ("sent", "queued", "failed"…), or ""."""
    access.require_staff(db, actor, action="outbox.view", clock=clock)
    if invitation is None or invitation.outbox_id is None:
        return ""
    return db.exec(select(OutboxEmail.status).where(OutboxEmail.id == invitation.outbox_id)).first() or ""
