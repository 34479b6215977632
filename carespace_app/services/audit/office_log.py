"""The audit log as the office reads it: filtered, paged, newest first.

Staff only. Each filter maps onto one of the audit table's composite indexes
(ix_audit_patient_at, ix_audit_actor_at, ix_audit_action_at), so a page is read
from an index range, never by scanning the whole trail.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional

from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.models import AuditEvent, Patient, User
from carespace_app.timefmt import to_utc_naive
from carespace_app.services import paging
from carespace_app.services.permissions import access
from carespace_app.services.audit import trail
from carespace_app.services.permissions.access import ROLE_SYSTEM
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity.emails import normalize_email


@dataclass
class AuditRow:
    id: int
    at: datetime
    actor_name: str
    actor_email: str
    actor_role: str
    patient_name: str
    mrn: str
    action: str
    detail: str  # with the count of a repeated refusal: "thread.view (10 times)"
    client_ip: str
    repeat_count: int = 1


# How the log names who acted: the roles as the office says them.
ROLE_WORDS = {"system": "command line", "anonymous": "not signed in"}
COMMAND_LINE = "Command line"  # the actor of what the office's command line did


def role_in_words(role: str) -> str:
    return ROLE_WORDS.get(role, role)


def _counted(detail: str, repeat_count: Optional[int]) -> str:
    # A refusal repeated within its window is one row (services/trail.py): say how often.
    return f"{detail} ({repeat_count} times)" if (repeat_count or 1) > 1 else detail


def _day_start_utc(day: Optional[date]) -> Optional[datetime]:
    # The office thinks in its own days: "from Dec 4" means from local midnight.
    return to_utc_naive(datetime.combine(day, time())) if day else None


def list_events(db: Session, actor: User, *, mrn: str = "", actor_email: str = "",
                action: str = "", from_day: Optional[date] = None,
                to_day: Optional[date] = None, offset: int = 0, limit: int = 50,
                clock: Clock, client_ip: Optional[str] = None) -> paging.Page[AuditRow]:
    """Events matching every filter given; an unknown MRN or email matches nothing."""
    access.require_staff(db, actor, action="audit.view", clock=clock, client_ip=client_ip)
    offset, limit = paging.clamp(offset, limit)
    if from_day and to_day and from_day > to_day:
        raise ValidationError("The 'from' date must be on or before the 'to' date.", field="from_day")
    actor_user = aliased(User)
    query = (select(AuditEvent, actor_user.full_name, actor_user.email, Patient.first_name,
                    Patient.last_name, Patient.mrn)
             .outerjoin(actor_user, actor_user.id == AuditEvent.actor_user_id)
             .outerjoin(Patient, Patient.id == AuditEvent.patient_id))
    mrn = (mrn or "").strip()[:40]
    if mrn:
        patient_id = db.exec(select(Patient.id).where(Patient.mrn == mrn)).first()
        query = query.where(AuditEvent.patient_id == (patient_id if patient_id else -1))
    actor_email = (actor_email or "").strip()[:320]
    if actor_email:
        user_id = db.exec(select(User.id).where(User.email == normalize_email(actor_email))).first()
        query = query.where(AuditEvent.actor_user_id == (user_id if user_id else -1))
    action = (action or "").strip()[:60]
    if action:
        query = query.where(AuditEvent.action == action)
    start, end = _day_start_utc(from_day), _day_start_utc(to_day + timedelta(days=1) if to_day else None)
    if start:
        query = query.where(AuditEvent.at >= start)
    if end:
        query = query.where(AuditEvent.at < end)
    rows = db.exec(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                   .offset(offset).limit(limit + 1)).all()
    items = [AuditRow(id=e.id, at=e.at,
                      actor_name=name or (COMMAND_LINE if e.actor_role == ROLE_SYSTEM else ""),
                      actor_email=email or "", actor_role=role_in_words(e.actor_role), patient_name=f"{first} {last}" if first else "",
                      mrn=p_mrn or "", action=e.action, detail=_counted(e.detail, e.repeat_count),
                      client_ip=e.client_ip or "", repeat_count=e.repeat_count or 1)
             for e, name, email, first, last, p_mrn in rows]
    # Reading the trail is itself recorded: who looked at whose history.
    filters = ", ".join(f"{k}={v}" for k, v in (("mrn", mrn), ("actor", actor_email),
                                                ("action", action), ("from", from_day),
                                                ("to", to_day)) if v)
    trail.record(db, "audit.viewed", actor=actor, detail=filters or "all", client_ip=client_ip,
                 clock=clock)
    return paging.page_of(items, offset, limit)
