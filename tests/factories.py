"""Small helpers that put people straight into the database for service tests.

They insert rows with SQLModel, bypassing invitations and registration, so a
test can start from "a registered patient with a caregiver" in one line.
Every helper commits, so the rows have ids and survive a service's rollback.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterator, Optional

from sqlalchemy import event
from sqlmodel import Session, select

from carespace_app.models import (
    RELATION_CAREGIVER,
    RELATION_SELF,
    CaregiverGrant,
    Patient,
    PatientAccess,
    TwoStepKey,
    User,
)
from carespace_app.services.identity import security
from carespace_app.services.records.patients import name_key

PASSWORD = "Blue-Heron-Kayak-42!"
_serial = itertools.count(1)
_password_hash: Optional[str] = None


def _hash() -> str:
    # Cost 4 and hashed once: tests never check these passwords, they need a real hash.
    global _password_hash
    if _password_hash is None:
        _password_hash = security.hash_password(PASSWORD, rounds=4)
    return _password_hash


def _save(db: Session, *rows):
    for row in rows:
        db.add(row)
    db.commit()
    for row in rows:
        db.refresh(row)
    return rows[0] if len(rows) == 1 else rows


def make_user(
    db: Session,
    *,
    full_name: str = "Jordan Example",
    email: Optional[str] = None,
    is_staff: bool = False,
    is_admin: bool = False,
    is_active: bool = True,
) -> User:
    n = next(_serial)
    user = User(
        email=email or f"user{n}@example.test",
        full_name=full_name,
        password_hash=_hash(),
        is_staff=is_staff or is_admin,
        is_admin=is_admin,
        is_active=is_active,
    )
    return _save(db, user)


def make_staff(db: Session, *, full_name: str = "Sam Nurse", is_admin: bool = False,
               email: Optional[str] = None, two_step: bool = False) -> User:
    """``two_step``: with two-step sign-in on (key TWO_STEP_SECRET), as the practice's rule
    CARESPACE_STAFF_MFA=required wants of staff."""
    user = make_user(db, full_name=full_name, email=email, is_staff=True, is_admin=is_admin)
    if two_step:
        turn_on_two_step(db, user)
    return user


# A base32 authenticator key for tests (pyotp.TOTP(TWO_STEP_SECRET).now() is a right code).
TWO_STEP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def not_a_code(secret: str, at: datetime) -> str:
    """Six digits that are no code of the 30-second steps around ``at``: always refused."""
    from carespace_app.services.identity.mfa_codes import code_at

    near = {code_at(secret, at + timedelta(seconds=shift)) for shift in (-60, -30, 0, 30, 60)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def turn_on_two_step(db: Session, user: User, secret: str = TWO_STEP_SECRET) -> str:
    """Two-step sign-in on for this person, as if set up in Settings (no recovery codes)."""
    db.add(TwoStepKey(user_id=user.id, sealed_secret=security.seal(secret)))
    user.two_step_since = datetime(2026, 1, 5, 9, 0)
    _save(db, user)
    return secret


def make_patient(
    db: Session,
    *,
    first_name: str = "Pat",
    last_name: str = "Example",
    with_account: bool = True,
    email: Optional[str] = None,
    mrn: Optional[str] = None,
    date_of_birth: date = date(1958, 3, 14),
) -> Patient:
    """A patient record; with_account=True also registers them (User + PatientAccess self).

    The account is ``patient_user(db, patient)``.
    """
    n = next(_serial)
    email = email or f"{first_name}.{last_name}.{n}@example.test".lower()
    patient = Patient(
        mrn=mrn or f"T-{n:05d}",
        first_name=first_name,
        last_name=last_name,
        last_name_key=name_key(last_name),
        date_of_birth=date_of_birth,
        email=email,
    )
    _save(db, patient)
    if with_account:
        user = make_user(db, full_name=f"{first_name} {last_name}", email=email)
        patient.user_id = user.id
        _save(db, patient, PatientAccess(patient_id=patient.id, user_id=user.id, relation=RELATION_SELF))
    return patient


def patient_user(db: Session, patient: Patient) -> User:
    return db.get(User, patient.user_id)


def grant_caregiver(
    db: Session,
    patient: Patient,
    *,
    user: Optional[User] = None,
    full_name: str = "Casey Helper",
    email: Optional[str] = None,
    scope: str = "full",
    ends_on: Optional[date] = None,
) -> User:
    """A registered caregiver of ``patient`` (grant + access), as after they accept the invitation."""
    user = user or make_user(db, full_name=full_name, email=email)
    access = _save(db, PatientAccess(patient_id=patient.id, user_id=user.id,
                                     relation=RELATION_CAREGIVER, granted_by_user_id=patient.user_id,
                                     scope=scope, ends_on=ends_on))
    _save(db, CaregiverGrant(patient_id=patient.id, name=user.full_name, email=user.email,
                             granted_by_user_id=patient.user_id or user.id, access_id=access.id,
                             scope=scope, ends_on=ends_on))
    return user


def revoke_caregiver(db: Session, patient: Patient, user: User, *, at: Optional[datetime] = None) -> None:
    """What Manage Users' "Revoke access" leaves behind: the access row marked revoked."""
    at = at or datetime(2026, 1, 1)
    rows = db.exec(select(PatientAccess).where(PatientAccess.patient_id == patient.id,
                                               PatientAccess.user_id == user.id)).all()
    for row in rows:
        row.revoked_at = at
        row.revoked_by_user_id = patient.user_id
        db.add(row)
    grants = db.exec(select(CaregiverGrant).where(CaregiverGrant.patient_id == patient.id,
                                                  CaregiverGrant.email == user.email)).all()
    for grant in grants:
        grant.revoked_at = at
        db.add(grant)
    db.commit()


@dataclass
class Practice:
    """Two registered patients, a caregiver of the first, and a staff member."""

    alice: Patient
    alice_user: User
    bob: Patient
    bob_user: User
    carer: User
    staff: User


def make_practice(db: Session) -> Practice:
    alice = make_patient(db, first_name="Alice", last_name="Moreno")
    bob = make_patient(db, first_name="Bob", last_name="Lindqvist")
    return Practice(
        alice=alice, alice_user=patient_user(db, alice),
        bob=bob, bob_user=patient_user(db, bob),
        carer=grant_caregiver(db, alice, full_name="Carla Moreno"),
        staff=make_staff(db, full_name="Nora Quinn"),
    )


@contextmanager
def recorded_queries(db: Session) -> Iterator[list[tuple[str, object]]]:
    """Every (SQL, parameters) the session's engine runs inside the block: to check
    that a page reads limit + 1 rows and that nothing runs once per row (N+1)."""
    statements: list[tuple[str, object]] = []
    engine = db.get_bind()

    def _before(_conn, _cursor, statement, parameters, _context, _executemany):
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", _before)


def selects(statements: list[tuple[str, object]], table: str) -> list[tuple[str, object]]:
    """The SELECTs that read FROM ``table``."""
    return [(sql, params) for sql, params in statements
            if sql.lstrip().upper().startswith("SELECT") and f"FROM {table}" in sql]
