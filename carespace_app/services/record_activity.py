"""Who viewed my record: the patient's own view of the audit trail, in plain words.

Only the patient themself sees it (not a caregiver: the trail shows what the
caregivers did). Office staff appear as "The office (Name)", so the patient can
ask about a read they don't recognise.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlmodel import Session, select

from .. import timefmt
from ..clock import Clock
from ..models import AuditEvent, PatientAccess, User
from . import access
from .paging import Page, clamp, page_of

# Audit action codes the patient sees, in the words of the portal. Anything not
# listed (internal bookkeeping) is left out of their view.
PLAIN_WORDS = {
    "patient.viewed": "Viewed your record details",
    "patient.created": "Created your record",
    "patient.updated": "Updated your record details",
    "labs.viewed": "Viewed lab results",
    "lab_history.viewed": "Viewed lab history",
    "lab_tests.listed": "Viewed lab history",
    "lab_report.entered": "Added a lab report",
    "lab_result.corrected": "Corrected a lab result",
    "appointments.viewed": "Viewed appointments",
    "appointment.created": "Booked an appointment",
    "appointment.updated": "Changed an appointment",
    "appointment.cancelled": "Cancelled an appointment",
    "appointment.calendar_downloaded": "Added an appointment to a calendar",
    "messages.listed": "Viewed messages",
    "thread.viewed": "Read a conversation",
    "message.sent": "Sent a message",
    "thread.closed": "Closed a conversation",
    "thread.reopened": "Reopened a conversation",
    "caregiver.granted": "Gave someone access to your portal",
    "caregiver.revoked": "Ended someone's access to your portal",
    "caregivers.viewed": "Viewed who has access to your portal",
    "invitation.sent": "Sent an invitation link",
    "email.changed": "Changed the email address",
    "access.refused": "Tried to open your record and was refused",
}
OFFICE_ROLES = {"staff", "admin"}


@dataclass
class TrailEntry:
    id: int
    who: str
    what: str
    when: str
    at: datetime


def _who(event: AuditEvent, viewer: User, names: dict[int, str]) -> str:
    if event.actor_user_id is not None and event.actor_user_id == viewer.id:
        return "You"
    name = names.get(event.actor_user_id or -1, "")
    if event.actor_role in OFFICE_ROLES:
        return f"The office ({name})" if name else "The office"
    if event.actor_role == access.ROLE_SYSTEM:
        return "The office"
    if event.actor_user_id is not None:
        # Another patient (or anyone this patient never gave access) who tried and was
        # refused: their name would tell this patient who else is treated here.
        return name or "Someone without access to your record"
    return "Someone without an account"


def patient_trail(db: Session, actor: User, patient_id: int, *, offset: int = 0, limit: int = 20,
                  clock: Clock, client_ip: Optional[str] = None) -> Page[TrailEntry]:
    """Newest first, one page at a time (ix_audit_patient_at keeps this cheap)."""
    access.require_self(db, actor, patient_id, action="record_activity.view", clock=clock,
                        client_ip=client_ip)
    offset, limit = clamp(offset, limit)
    events = db.exec(
        select(AuditEvent)
        .where(AuditEvent.patient_id == patient_id, AuditEvent.action.in_(list(PLAIN_WORDS)))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset(offset).limit(limit + 1)
    ).all()
    actor_ids = {e.actor_user_id for e in events if e.actor_user_id is not None}
    names = {}
    if actor_ids:
        # Named: the office, and the people this patient gave access (revoked ones too).
        known = set(db.exec(select(PatientAccess.user_id)
                            .where(PatientAccess.patient_id == patient_id)).all())
        names = {u.id: u.full_name for u in db.exec(select(User).where(User.id.in_(actor_ids))).all()
                 if u.is_staff or u.id in known}
    entries = [TrailEntry(id=e.id, who=_who(e, actor, names), what=PLAIN_WORDS[e.action],
                          when=timefmt.when(e.at), at=e.at) for e in events]
    return page_of(entries, offset, limit)
