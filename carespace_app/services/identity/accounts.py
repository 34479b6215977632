"""Accounts: new accounts and password change.

Sign-in is ``signin.py``; Forgot Password ``resets.py``; Settings > Email
``email_change.py``. bcrypt is deliberately slow, so these functions are synchronous: the
Reflex handlers run them in the bcrypt thread pool (``security.run_in_bcrypt_pool``).
Nothing here commits: the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from carespace_app import i18n
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.config import get_settings
from carespace_app.models import User
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.identity import links, security, sessions, signin
from carespace_app.services.identity import emails
from carespace_app.services.identity.emails import validate_email_address
from carespace_app.services.identity.passwords import validate_password
from carespace_app.services.mail import outbox
from carespace_app.services.text import one_line
from carespace_app.services.text_rules import check_text

DUPLICATE_EMAIL = N_("An account with that email already exists.")
NOT_FOUND = N_("That account was not found.")
NO_NAME = N_("Enter your full name.")
PASSWORD_CHANGED_SUBJECT = N_("Your CareSpace password was changed")
PASSWORD_CHANGED = N_("The password of your CareSpace account was just changed, and you were "
                      "signed out on your other devices.")


def active_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(NOT_FOUND)
    return user


def add_account(db: Session, *, email: str, full_name: str, password_hash: str,
                now: datetime) -> User:
    """The account row, flushed; IntegrityError if the address was taken a moment ago.

    The one place an account is made: ``create_user`` and registration from an
    invitation (which hashes the password before it claims the link).
    """
    user = User(email=email, full_name=full_name, password_hash=password_hash,
                created_at=now, password_changed_at=now)
    db.add(user)
    db.flush()
    return user


def create_user(db: Session, *, email: str, full_name: str, password: str, clock: Clock,
                confirm_password: Optional[str] = None, audited: bool = True) -> User:
    """A new account. ``audited=False``: the caller records who made it (the office, the
    command line) instead of a sign-up."""
    email = validate_email_address(email)
    full_name = check_text(full_name, field="full_name", label=N_("full name"), single_line=True,
                           breaks_become_spaces=True)
    full_name = one_line(full_name if isinstance(full_name, str) else "")[:200]
    if not full_name:
        raise ValidationError(NO_NAME, field="full_name")
    validate_password(password, email=email, confirm=confirm_password)
    if emails.email_owner(db, email) is not None:
        raise ValidationError(DUPLICATE_EMAIL, field="email")
    try:
        user = add_account(db, email=email, full_name=full_name,
                           password_hash=security.hash_password(password), now=clock())
    except IntegrityError:  # the same address registered a moment ago (the unit of work rolls back)
        raise ValidationError(DUPLICATE_EMAIL, field="email") from None
    if audited:
        trail.record(db, "account.created", actor=user, clock=clock)
    return user


NOTICE_BODY = N_("Hello {name},\n\n{what}\n\nIf this wasn't you, call the office right away "
                 "at {phone}.")


def security_notice(db: Session, user: User, to: str, subject: str, what: str, *,
                    clock: Clock, lang: str = "en") -> None:
    """Tell the person about a change to their account, in case it wasn't them. No link.
    ``subject`` and ``what`` are already in ``lang``."""
    outbox.enqueue(db, to=to, subject=subject, kind="account_notice", clock=clock, lang=lang,
                   body=i18n.fmt(lang, NOTICE_BODY, name=user.full_name, what=what,
                                 phone=get_settings().office_phone))


def change_password(db: Session, user_id: int, *, current_password: str, new_password: str,
                    confirm_password: str, clock: Clock, keep_session_id: Optional[int] = None,
                    client_ip: str = "") -> None:
    """Settings > Password. Every other session (other devices) ends."""
    user = active_user(db, user_id)
    signin.check_current_password(db, user, current_password, client_ip=client_ip, clock=clock)
    validate_password(new_password, email=user.email, confirm=confirm_password)
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = clock()
    db.add(user)
    sessions.end_user_sessions(db, user.id, reason=sessions.ENDED_PASSWORD_CHANGED, clock=clock,
                               except_session_id=keep_session_id)
    # A reset link sent before the change (perhaps by someone else) must not undo it.
    links.supersede(db, links.RESET, clock(), user_id=user.id)
    trail.record(db, "password.changed", actor=user, client_ip=client_ip or None, clock=clock)
    lang = i18n.normalize(user.language)
    security_notice(db, user, user.email, i18n.gettext(lang, PASSWORD_CHANGED_SUBJECT),
                    i18n.gettext(lang, PASSWORD_CHANGED), clock=clock, lang=lang)
