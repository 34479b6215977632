"""Staff accounts, run by the practice administrator (admins only).

New staff never get a password by email: the account is made with a random
password nobody knows and a password-reset link goes out, so they choose their own.
Deactivating ends every session at once; an open tab loses access on its next action.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlmodel import Session, select

from carespace_app import routes
from carespace_app.clock import Clock
from carespace_app.config import OFFICE_PHONE
from carespace_app.models import PasswordReset, User
from carespace_app.services.permissions import access
from carespace_app.services.identity import accounts
from carespace_app.services.audit import trail
from carespace_app.services.mail import outbox
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.services.errors import NotFound, ValidationError


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


def _view(u: User) -> StaffMember:
    return StaffMember(id=u.id, full_name=u.full_name, email=u.email, is_admin=bool(u.is_admin),
                       is_active=bool(u.is_active), created_at=u.created_at,
                       deactivated_at=u.deactivated_at,
                       email_on_patient_message=bool(u.email_on_patient_message))


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


def _send_reset_link(db: Session, user: User, *, subject: str, intro: str, clock: Clock) -> None:
    """A one-hour reset link for this exact account (no commit).

    accounts.request_password_reset is for a signed-out stranger and answers
    alike for every address; here the administrator names the account, so the
    link goes out whatever the hourly limit, superseding any earlier one.
    """
    now = clock()
    token = security.new_token()
    accounts._supersede_resets(db, user.id, now)
    db.add(PasswordReset(token_hash=security.token_hash(token), user_id=user.id, created_at=now,
                         expires_at=now + accounts.RESET_TTL))
    outbox.enqueue(
        db, to=user.email, subject=subject, kind="password_reset",
        link=routes.password_reset_link(token),
        body=(f"Hello {user.full_name},\n\n{intro} To choose your password, open this link "
              "within one hour:\n\n{link}\n\nThe link works once. Questions? Call "
              f"{OFFICE_PHONE}."),
        clock=clock)


ROLE_WORDS = accounts.STAFF_ROLE_WORDS


def create_staff_from_command_line(db: Session, *, email: str, full_name: str, password: str,
                                   is_admin: bool = False, clock: Clock) -> User:
    """The first accounts, made on the server before anyone can sign in.

    The trail names the command line as the one who acted (no signed-in person did) and
    the account's role, so the log never shows a staff account as a patient's own sign-up.
    """
    user = accounts.create_user(db, email=email, full_name=full_name, password=password,
                                clock=clock, commit=False, audited=False)
    user.is_staff, user.is_admin = True, bool(is_admin)
    db.add(user)
    role = ROLE_WORDS[user.is_admin]
    trail.record(db, "account.created", role=access.ROLE_SYSTEM, detail=f"user #{user.id}, {role}",
                 clock=clock)
    trail.record(db, "staff.created", role=access.ROLE_SYSTEM, detail=f"user #{user.id}, {role}",
                 clock=clock)
    db.commit()
    return user


def create_staff_member(db: Session, admin: User, *, email: str, full_name: str,
                        is_admin: bool = False, clock: Clock,
                        client_ip: Optional[str] = None) -> StaffMember:
    access.require_admin(db, admin, action="staff.create", clock=clock, client_ip=client_ip)
    user = accounts.create_staff(db, email=email, full_name=full_name,
                                 password=_random_password(), is_admin=bool(is_admin),
                                 clock=clock, created_by=admin)
    _send_reset_link(db, user, subject="Your CareSpace staff account",
                     intro="An account was created for you on the CareSpace admin page.",
                     clock=clock)
    trail.record(db, "staff.reset_link_sent", actor=admin, detail=f"user #{user.id} (new account)",
                 client_ip=client_ip, clock=clock)
    db.commit()
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
        db.commit()
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
        db.commit()
    return _view(user)


def send_password_reset(db: Session, admin: User, user_id: int, *, clock: Clock,
                        client_ip: Optional[str] = None) -> None:
    access.require_admin(db, admin, action="staff.send_reset", clock=clock, client_ip=client_ip)
    user = _staff_member(db, user_id)
    if not user.is_active:
        raise ValidationError(f"{user.full_name}'s account is deactivated. Reactivate it first.")
    _send_reset_link(db, user, subject="Reset your CareSpace password",
                     intro="The practice administrator sent you a link to set a new password.",
                     clock=clock)
    trail.record(db, "staff.reset_link_sent", actor=admin, detail=f"user #{user.id}",
                 client_ip=client_ip, clock=clock)
    db.commit()


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
        db.commit()
    return wanted
