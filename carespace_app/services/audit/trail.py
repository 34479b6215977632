"""The audit trail: append-only, one row per read or change of a patient's record.

The one exception is a refusal repeated by the same person on the same patient: it is
counted on the first row of its window (``record_refusal``), so a script cannot fill
someone's "Who viewed my record" with copies of one attempt.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Optional

from sqlalchemy import update
from sqlmodel import Session, select

from carespace_app.clock import Clock, utcnow
from carespace_app.models import (RELATION_CAREGIVER, RELATION_SELF, ROLE_CAREGIVER, ROLE_PATIENT,
                                  AuditEvent, User)


DETAIL_LIMIT = 1000


def _clean(text: str, limit: int) -> str:
    # Line breaks and control characters could forge lines in an exported log.
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return cleaned[:limit]


def role_of(user: Optional[User]) -> str:
    """The audit role of a person (AuditEvent.actor_role); a caregiver's is the caller's to say."""
    if user is None:
        return "anonymous"
    if user.is_admin:
        return "admin"
    if user.is_staff:
        return "staff"
    return ROLE_PATIENT


def role_in(user: User, relation: str) -> str:
    """The audit role of a person acting for a patient, from their relation to that patient
    (access.require_access): patient | caregiver | staff | admin."""
    if relation == RELATION_SELF:
        return ROLE_PATIENT
    if relation == RELATION_CAREGIVER:
        return ROLE_CAREGIVER
    return role_of(user)


def record(
    db: Session,
    action: str,
    *,
    actor: Optional[User] = None,
    patient_id: Optional[int] = None,
    detail: str = "",
    role: Optional[str] = None,
    client_ip: Optional[str] = None,
    clock: Clock = utcnow,
) -> AuditEvent:
    """Add an event to the caller's transaction (it commits or rolls back with the change)."""
    event = AuditEvent(
        at=clock(),
        actor_user_id=actor.id if actor else None,
        actor_role=role or role_of(actor),
        patient_id=patient_id,
        action=_clean(action, 60),
        detail=_clean(detail, DETAIL_LIMIT),
        client_ip=(client_ip or None) and _clean(client_ip, 64),
    )
    db.add(event)
    return event


# Refusals of one person on one patient within this window share one row and a count.
REFUSAL_WINDOW = timedelta(minutes=15)


def record_refusal(
    db: Session,
    action: str,
    *,
    actor: Optional[User] = None,
    patient_id: Optional[int] = None,
    detail: str = "",
    client_ip: Optional[str] = None,
    clock: Clock = utcnow,
) -> None:
    """A refusal: a new row, or one more on the count of the same refusal in its window.

    "The same" is the same action code, actor (or no account) and patient (or none): a
    script trying many ids or handlers is one line with a count. The row's detail gathers
    each different thing tried, as long as it fits. Like ``record``, nothing is committed.
    """
    now = clock()
    actor_id = actor.id if actor else None
    detail = _clean(detail, DETAIL_LIMIT)
    same = (
        AuditEvent.action == _clean(action, 60),
        AuditEvent.actor_user_id == actor_id if actor_id is not None
        else AuditEvent.actor_user_id.is_(None),
        AuditEvent.patient_id == patient_id if patient_id is not None
        else AuditEvent.patient_id.is_(None),
        AuditEvent.at > now - REFUSAL_WINDOW,
        AuditEvent.at <= now,
    )
    earlier = db.exec(select(AuditEvent.id, AuditEvent.detail).where(*same)
                      .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(1)).first()
    if earlier is None:
        record(db, action, actor=actor, patient_id=patient_id, detail=detail,
               client_ip=client_ip, clock=lambda: now)
        return
    earlier_id, tried = earlier
    # The count goes up in the statement itself: two refusals at once both count.
    values = {"repeat_count": AuditEvent.repeat_count + 1}
    if detail and detail not in tried.split("; ") and len(tried) + 2 + len(detail) <= DETAIL_LIMIT:
        values["detail"] = f"{tried}; {detail}"
    db.execute(update(AuditEvent).where(AuditEvent.id == earlier_id).values(**values))
