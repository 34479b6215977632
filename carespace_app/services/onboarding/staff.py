"""Staff accounts, run by the practice administrator (admins only).

New staff never get a password by email: the account is made with a random
password nobody knows and a password-reset link goes out, so they choose their own.
Deactivating ends every session at once; an open tab loses access on its next action.
Nothing here commits: the caller's unit of work does (``db.session_scope``), so a new
account, its email and its audit rows are kept together or not at all.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.models import User
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.identity import accounts, resets, sessions
from carespace_app.services.permissions import access


@dataclass
class StaffMember:
    id: int
    full_name: str
    email: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    deactivated_at: Optional[datetime]
    email_on_patient_message: bool = True
    two_step_on: bool = False


def _view(u: User) -> StaffMember:
    return StaffMember(id=u.id, full_name=u.full_name, email=u.email, is_admin=bool(u.is_admin),
                       is_active=bool(u.is_active), created_at=u.created_at,
                       deactivated_at=u.deactivated_at,
                       email_on_patient_message=bool(u.email_on_patient_message),
                       two_step_on=u.two_step_since is not None)


def _staff_member(db: Session, user_id) -> User:
    user = db.get(User, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if user is None or not user.is_staff:
        raise NotFound("That staff account was not found.")
    return user


def list_staff(db: Session, admin: User, *, clock: Clock,
               client_ip: Optional[str] = None) -> list[StaffMember]:
    """Everyone with a staff account, active first, then by name (a short list)."""
    access.require_admin(db, admin, action="staff.list", clock=clock, client_ip=client_ip)
    rows = db.exec(select(User).where(User.is_staff.is_(True))
                   .order_by(User.is_active.desc(), User.full_name, User.id)).all()
    return [_view(u) for u in rows]


def _random_password() -> str:
    # Meets every password rule and is never shown or sent: the reset link replaces it.
    return "Aa1!" + secrets.token_urlsafe(24)


# A staff account's role as the audit log names it.
ROLE_WORDS = {True: "administrator", False: "staff"}


def create_staff(db: Session, *, email: str, full_name: str, password: str,
                 is_admin: bool = False, clock: Clock, created_by: Optional[User] = None,
                 role: Optional[str] = None) -> User:
    """A staff (or admin) account. An address that already has any account, a patient's
    included, is refused: one person, one account, no silent upgrade.

    The trail names who made it (``created_by``, or ``role``: the command line) and the
    account's role, so the log never shows a staff account as a patient's own sign-up.
    """
    user = accounts.create_user(db, email=email, full_name=full_name, password=password,
                                clock=clock, audited=False)
    user.is_staff, user.is_admin = True, bool(is_admin)
    db.add(user)
    detail = f"user #{user.id}, {ROLE_WORDS[user.is_admin]}"
    for action in ("account.created", "staff.created"):
        trail.record(db, action, actor=created_by, role=role, detail=detail, clock=clock)
    return user


def create_staff_from_command_line(db: Session, *, email: str, full_name: str, password: str,
                                   is_admin: bool = False, clock: Clock) -> User:
    """The first accounts, made on the server before anyone can sign in: the command line
    acted (no signed-in person did)."""
    return create_staff(db, email=email, full_name=full_name, password=password,
                        is_admin=is_admin, clock=clock, role=access.ROLE_SYSTEM)


def create_staff_member(db: Session, admin: User, *, email: str, full_name: str,
                        is_admin: bool = False, clock: Clock,
                        client_ip: Optional[str] = None) -> StaffMember:
    access.require_admin(db, admin, action="staff.create", clock=clock, client_ip=client_ip)
    user = create_staff(db, email=email, full_name=full_name, password=_random_password(),
                        is_admin=bool(is_admin), clock=clock, created_by=admin)
    resets.send_reset_link(db, user, subject="Your CareSpace staff account",
                           intro="An account was created for you on the CareSpace admin page.",
                           clock=clock)
    trail.record(db, "staff.reset_link_sent", actor=admin, detail=f"user #{user.id} (new account)",
                 client_ip=client_ip, clock=clock)
    return _view(user)


def deactivate(db: Session, admin: User, user_id: int, *, clock: Clock,
               client_ip: Optional[str] = None) -> StaffMember:
    access.require_admin(db, admin, action="staff.deactivate", clock=clock, client_ip=client_ip)
    user = _staff_member(db, user_id)
    if user.id == admin.id:
        raise ValidationError("You can't deactivate your own account. Ask another administrator.")
    if user.is_active:
        user.is_active = False
        user.deactivated_at = clock()
        db.add(user)
        # In the same transaction: there is no moment when the account is off but a tab still works.
        ended = sessions.end_user_sessions(db, user.id, reason="account deactivated", clock=clock)
        trail.record(db, "staff.deactivated", actor=admin,
                     detail=f"user #{user.id}, {ended} session(s) ended", client_ip=client_ip,
                     clock=clock)
    return _view(user)


def reactivate(db: Session, admin: User, user_id: int, *, clock: Clock,
               client_ip: Optional[str] = None) -> StaffMember:
    access.require_admin(db, admin, action="staff.reactivate", clock=clock, client_ip=client_ip)
    user = _staff_member(db, user_id)
    if not user.is_active:
        user.is_active = True
        user.deactivated_at = None
        db.add(user)
        trail.record(db, "staff.reactivated", actor=admin, detail=f"user #{user.id}",
                     client_ip=client_ip, clock=clock)
    return _view(user)


def send_password_reset(db: Session, admin: User, user_id: int, *, clock: Clock,
                        client_ip: Optional[str] = None) -> None:
    access.require_admin(db, admin, action="staff.send_reset", clock=clock, client_ip=client_ip)
    user = _staff_member(db, user_id)
    if not user.is_active:
        raise ValidationError(f"{user.full_name}'s account is deactivated. Reactivate it first.")
    resets.send_reset_link(db, user, subject="Reset your CareSpace password",
                           intro="The practice administrator sent you a link to set a new "
                                 "password.",
                           clock=clock)
    trail.record(db, "staff.reset_link_sent", actor=admin, detail=f"user #{user.id}",
                 client_ip=client_ip, clock=clock)


# --- a staff member's own choices (Settings) -------------------------------------------


def message_email_choice(db: Session, actor: Optional[User]) -> Optional[bool]:
    """Whether this person gets "a patient sent a new message" emails; None for anyone
    who is not staff (patients and caregivers never have this choice)."""
    if actor is None or not actor.is_staff or not actor.is_active:
        return None
    user = db.get(User, actor.id)
    return bool(user.email_on_patient_message) if user is not None else None


def choose_message_email(db: Session, actor: User, on: bool, *, clock: Clock,
                         client_ip: Optional[str] = None) -> bool:
    """Settings: "Email me when a patient sends a message", for the staff member themself."""
    access.require_staff(db, actor, action="settings.message_email", clock=clock,
                         client_ip=client_ip)
    user = db.get(User, actor.id)
    wanted = on is True
    if bool(user.email_on_patient_message) != wanted:
        user.email_on_patient_message = wanted
        db.add(user)
        trail.record(db, "settings.message_email", actor=actor, detail="on" if wanted else "off",
                     client_ip=client_ip, clock=clock)
    return wanted
