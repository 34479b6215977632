"""The one place that answers "may this person read or act for this patient?".

Every portal and admin action asks here, on every event, from the database as it is
now: a revoked caregiver or a deactivated account loses access on the next click.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import bindparam
from sqlmodel import Session, select

from carespace_app.clock import Clock, utcnow
from carespace_app.config import STAFF_MFA_REQUIRED, get_settings
from carespace_app.models import RELATION_CAREGIVER, RELATION_SELF, Patient, PatientAccess, User
from carespace_app.services.permissions import scopes
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotAllowed

RELATION_STAFF = "staff"
ROLE_SYSTEM = "system"  # the office's command line: no signed-in person


def _active(user: Optional[User]) -> bool:
    return user is not None and user.id is not None and bool(user.is_active)


def two_step_missing(user: Optional[User]) -> bool:
    """A staff member without two-step sign-in while the practice requires it
    (CARESPACE_STAFF_MFA=required): no office action, no view of a patient as the office,
    until they set it up (services/identity/mfa.py)."""
    return (user is not None and bool(user.is_staff) and user.two_step_since is None
            and get_settings().staff_mfa == STAFF_MFA_REQUIRED)


def _is_staff(user: Optional[User]) -> bool:
    return _active(user) and bool(user.is_staff) and not two_step_missing(user)


def _is_admin(user: Optional[User]) -> bool:
    return _is_staff(user) and bool(user.is_admin)


# Asked several times in every event: built once (no statement or cache key to build).
_RELATIONS = select(PatientAccess.relation, PatientAccess.scope, PatientAccess.ends_on).where(
    PatientAccess.user_id == bindparam("user_id"),
    PatientAccess.patient_id == bindparam("patient_id"),
    PatientAccess.revoked_at.is_(None),
)


@dataclass(frozen=True)
class Access:
    """A viewer's live access to one patient: the relation and (for a caregiver) its scope."""

    relation: str
    scope: str = scopes.SCOPE_FULL

    @property
    def areas(self) -> frozenset[str]:
        return scopes.areas_for(self.relation, self.scope)

    def reaches(self, area: str) -> bool:
        return area in self.areas


def access_to(db: Session, user: Optional[User], patient_id: Optional[int], *,
              now: Optional[datetime] = None) -> Optional[Access]:
    """The viewer's access now, or None. An access whose end date has come is none, even
    before the sweep records it (so it ends at the next event, between sweeps)."""
    if not _active(user) or patient_id is None:
        return None
    now = now or utcnow()
    rows = [(relation, scope) for relation, scope, ends_on in
            db.exec(_RELATIONS, params={"user_id": user.id, "patient_id": patient_id}).all()
            if not scopes.has_ended(ends_on, now)]
    relations = {relation for relation, _scope in rows}
    # A staff member who is also this patient (or their caregiver) sees it as such.
    if RELATION_SELF in relations:
        return Access(RELATION_SELF)
    if RELATION_CAREGIVER in relations:
        held = {scope for relation, scope in rows if relation == RELATION_CAREGIVER}
        widest = next((s for s in scopes.SCOPE_ORDER if s in held), None)
        return Access(RELATION_CAREGIVER, widest) if widest else None
    if _is_staff(user):
        return Access(RELATION_STAFF)
    return None


def relation_to(db: Session, user: Optional[User], patient_id: Optional[int], *,
                now: Optional[datetime] = None) -> Optional[str]:
    """"self", "caregiver", "staff" or None (no access, or an access whose end has come)."""
    found = access_to(db, user, patient_id, now=now)
    return found.relation if found is not None else None


def _refuse(db: Session, user: Optional[User], *, audit_action: str, action: str,
            patient_id: Optional[int], clock: Clock, client_ip: Optional[str]) -> NotAllowed:
    """Record the refusal and return the error for the caller to raise.

    NotAllowed keeps its writes: the unit of work (db.session_scope) commits the audit
    row. Every check comes before the action's own writes, so the row is all it keeps.
    """
    detail = action
    if patient_id is not None and not _patient_exists(db, patient_id):
        # No such record: the same answer as someone else's, and still on the trail
        # (on no patient's: the row can only point at a record that exists).
        detail, patient_id = f"{action}: patient {patient_id!r}, no such record", None
    trail.record_refusal(db, audit_action, actor=user if _active(user) else None,
                         patient_id=patient_id, detail=detail, client_ip=client_ip, clock=clock)
    return NotAllowed()


def row_id(value) -> bool:
    """An id a table could hold (the browser may send anything; SQLite refuses huge ints)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _patient_exists(db: Session, patient_id) -> bool:
    # An id no database column could hold names nothing (SQLite refuses to look it up).
    return (isinstance(patient_id, int) and -2**63 <= patient_id < 2**63
            and db.get(Patient, patient_id) is not None)


def refuse_unknown(db: Session, user: Optional[User], *, action: str, what: str, clock: Clock,
                   client_ip: Optional[str] = None) -> NotAllowed:
    """For an id that names nothing (a thread, a grant, an appointment): audited, and the
    same error as an id that belongs to someone else, so ids cannot be probed.

    ``what`` says what was asked for ("conversation 42"); it goes into the detail.
    """
    return _refuse(db, user, audit_action="access.refused", action=f"{action}: {what}, not found",
                   patient_id=None, clock=clock, client_ip=client_ip)


def refuse_other_portal(db: Session, user: Optional[User], patient_id: int, *, action: str,
                        what: str, clock: Clock, client_ip: Optional[str] = None) -> NotAllowed:
    """An id of a patient this person may see, sent from a tab that shows another patient
    (a caregiver of two, a stale tab): refused like any foreign id, on that patient's trail."""
    return _refuse(db, user, audit_action="access.refused",
                   action=f"{action}: {what}, not the portal this tab shows",
                   patient_id=patient_id, clock=clock, client_ip=client_ip)


def require_access(db: Session, user: Optional[User], patient_id: int, *, area: str, action: str,
                   clock: Clock, client_ip: Optional[str] = None) -> str:
    """The viewer's relation to the patient, or NotAllowed (audited as access.refused).

    ``area`` (scopes.AREA_*): what the call reads or acts on; a caregiver whose access
    does not reach it is refused like anyone without access.
    """
    found = access_to(db, user, patient_id, now=clock())
    if found is None:
        raise _refuse(db, user, audit_action="access.refused", action=action,
                      patient_id=patient_id, clock=clock, client_ip=client_ip)
    if not found.reaches(area):
        raise _refuse(db, user, audit_action="access.refused",
                      action=f"{action}: outside the caregiver's {found.scope} access",
                      patient_id=patient_id, clock=clock, client_ip=client_ip)
    return found.relation


def require_areas(db: Session, user: Optional[User], patient_id: int, *, action: str,
                  clock: Clock, client_ip: Optional[str] = None) -> Access:
    """Any access to the patient (refused, audited, without); the caller shows only the
    areas it reaches (Home's summary, the Messages badge)."""
    found = access_to(db, user, patient_id, now=clock())
    if found is None:
        raise _refuse(db, user, audit_action="access.refused", action=action,
                      patient_id=patient_id, clock=clock, client_ip=client_ip)
    return found


def require_self(db: Session, user: Optional[User], patient_id: int, *, action: str,
                 clock: Clock, client_ip: Optional[str] = None) -> User:
    """Only the patient themself: Manage Users belongs to them alone, not to caregivers."""
    if relation_to(db, user, patient_id, now=clock()) != RELATION_SELF:
        raise _refuse(db, user, audit_action="access.refused", action=action,
                      patient_id=patient_id, clock=clock, client_ip=client_ip)
    return user


def require_staff(db: Session, user: Optional[User], *, action: str, clock: Clock,
                  client_ip: Optional[str] = None) -> User:
    if not _is_staff(user):
        raise _refuse(db, user, audit_action="admin.refused", action=action,
                      patient_id=None, clock=clock, client_ip=client_ip)
    return user


def require_admin(db: Session, user: Optional[User], *, action: str, clock: Clock,
                  client_ip: Optional[str] = None) -> User:
    if not _is_admin(user):
        raise _refuse(db, user, audit_action="admin.refused", action=action,
                      patient_id=None, clock=clock, client_ip=client_ip)
    return user


def require_staff_or_system(db: Session, actor: Optional[User], *, system: bool, action: str,
                            clock: Clock, client_ip: Optional[str] = None) -> str:
    """For office actions the command line may also take: returns the audit role.

    No actor means the command line only when the caller says so explicitly
    (``system=True``); a forgotten actor anywhere else is refused, never trusted.
    """
    if actor is None and system:
        return ROLE_SYSTEM
    user = require_staff(db, actor, action=action, clock=clock, client_ip=client_ip)
    return trail.role_of(user)


def require_self_or_staff(db: Session, user: Optional[User], patient_id: int, *, action: str,
                          clock: Clock, client_ip: Optional[str] = None) -> str:
    """The patient themself or the office (not a caregiver): returns the relation."""
    relation = relation_to(db, user, patient_id, now=clock())
    if relation not in (RELATION_SELF, RELATION_STAFF):
        raise _refuse(db, user, audit_action="access.refused", action=action,
                      patient_id=patient_id, clock=clock, client_ip=client_ip)
    return relation


def portal_patients(db: Session, user: Optional[User], *,
                    now: Optional[datetime] = None) -> list[tuple[Patient, str]]:
    """The patients whose portal this person may open: their own first, then by name."""
    if not _active(user):
        return []
    now = now or utcnow()
    rows = db.exec(
        select(Patient, PatientAccess.relation, PatientAccess.ends_on)
        .join(PatientAccess, PatientAccess.patient_id == Patient.id)
        .where(PatientAccess.user_id == user.id, PatientAccess.revoked_at.is_(None))
    ).all()
    best: dict[int, tuple[Patient, str]] = {}
    for patient, relation, ends_on in rows:
        if scopes.has_ended(ends_on, now):
            continue
        # Two rows for one patient (e.g. re-granted) collapse; "self" wins over "caregiver".
        if patient.id not in best or relation == RELATION_SELF:
            best[patient.id] = (patient, relation)
    return sorted(
        best.values(),
        key=lambda pr: (pr[1] != RELATION_SELF, pr[0].last_name_key or pr[0].last_name.casefold(),
                        pr[0].first_name.casefold(), pr[0].id),
    )
