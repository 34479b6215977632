"""The office resets a patient's or a caregiver's two-step sign-in (a lost phone), from the
patient's page (administrators only; issue #17).

Only accounts with access to that patient now (the patient's own portal account, or a
caregiver's) can be reset there; the reset is audited on the patient's record and the
person is emailed in their language. Staff are reset in Admin › Staff
(``mfa.reset_for_staff``). Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.models import RELATION_SELF, PatientAccess, User
from carespace_app.services.audit import trail
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity import mfa
from carespace_app.services.permissions import access, scopes

ACTION = "patient.two_step_reset"


@dataclass(frozen=True)
class ResettableAccount:
    user_id: int
    name: str
    email: str
    relation: str  # "self" (the patient's own account) or "caregiver"


def _linked(db: Session, patient_id: int, now) -> list[tuple[PatientAccess, User]]:
    """The portal accounts that can open this patient's portal now, with the second step on."""
    rows = db.exec(select(PatientAccess, User).join(User, User.id == PatientAccess.user_id).where(
        PatientAccess.patient_id == patient_id, PatientAccess.revoked_at.is_(None),
        User.is_active.is_(True), User.is_staff.is_(False), User.two_step_since.is_not(None))
        .order_by(PatientAccess.relation.desc(), User.full_name)).all()
    return [(grant, user) for grant, user in rows if not scopes.has_ended(grant.ends_on, now)]


def resettable_accounts(db: Session, admin: User, patient_id, *, clock: Clock,
                        client_ip: Optional[str] = None) -> list[ResettableAccount]:
    """The patient's page: whose two-step sign-in an administrator may reset here."""
    access.require_admin(db, admin, action=ACTION, clock=clock, client_ip=client_ip)
    if not access.row_id(patient_id):
        return []
    return [ResettableAccount(user_id=user.id, name=user.full_name, email=user.email,
                              relation=grant.relation)
            for grant, user in _linked(db, patient_id, clock())]


def reset_for_patient_account(db: Session, admin: User, patient_id, user_id, *, clock: Clock,
                              client_ip: Optional[str] = None) -> str:
    """"Reset two-step sign-in" for the patient's own account or a caregiver's: their name."""
    access.require_admin(db, admin, action=ACTION, clock=clock, client_ip=client_ip)
    target = db.get(User, user_id) if access.row_id(user_id) else None
    grant = None
    if target is not None and access.row_id(patient_id):
        grant = db.exec(select(PatientAccess).where(
            PatientAccess.patient_id == patient_id, PatientAccess.user_id == target.id,
            PatientAccess.revoked_at.is_(None))).first()
    if grant is None or scopes.has_ended(grant.ends_on, clock()) or target.is_staff:
        raise ValidationError(mfa.RESET_NOT_THIS_PATIENT)
    if target.two_step_since is None:
        raise ValidationError(mfa.RESET_NOT_ON, params={"name": target.full_name})
    mfa._turn_off(db, target, clock())
    trail.record(db, "two_step.reset", actor=admin, patient_id=patient_id, client_ip=client_ip,
                 clock=clock, detail=f"For user #{target.id} ("
                 + ("the patient's own account" if grant.relation == RELATION_SELF
                    else "a caregiver") + ")")
    mfa._notify(db, target, "reset_by_office", clock)
    return target.full_name
