"""The audit trail: append-only, one row per read or change of a patient's record."""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session

from ..clock import Clock, utcnow
from ..models import AuditEvent, User


def _clean(text: str, limit: int) -> str:
    # Line breaks and control characters could forge lines in an exported log.
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return cleaned[:limit]


def role_of(user: Optional[User], relation: Optional[str] = None) -> str:
    if user is None:
        return "anonymous"
    if user.is_admin:
        return "admin"
    if user.is_staff:
        return "staff"
    return relation or "patient"


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
        detail=_clean(detail, 1000),
        client_ip=(client_ip or None) and _clean(client_ip, 64),
    )
    db.add(event)
    return event

