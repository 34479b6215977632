"""Forgot Password: a one-time reset link by email, and the new password set from it.

The link is a ``links.RESET`` (its lifetime, binding and sentences are there).
Nothing here commits: the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from carespace_app import i18n, routes
from carespace_app.i18n import N_
from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import PasswordReset, User
from carespace_app.policy import RESET_REQUEST_WINDOW, RESET_REQUESTS_PER_HOUR, RESET_TTL
from carespace_app.services.audit import trail
from carespace_app.services.identity import accounts, links, security, sessions
from carespace_app.services.identity.emails import email_owner, normalize_email
from carespace_app.services.identity.passwords import validate_password
from carespace_app.services.mail import outbox

# A staff account's link from the administrator (onboarding/staff.py gives the intro): "open
# this link within 1 hour": every reset email says how long its link works. Staff emails are
# in English, as the office's pages are.
STAFF_LINK_BODY = N_("Hello {name},\n\n{intro} To choose {what}, open this link within "
                     "{time}:\n\n{link}\n\nThe link works once.{after} Questions? Call {phone}.")
# Forgot Password's email, in the account's language (User.language).
FORGOT_SUBJECT = N_("Reset your CareSpace password")
FORGOT_BODY = N_(
    "Hello {name},\n\n"
    "Someone (we hope you) asked to reset the password of your CareSpace account. To choose a "
    "new password, open this link within {time}:\n\n{link}\n\n"
    "The link works once. If you didn't ask for this, ignore this email: your password stays "
    "the same. Questions? Call {phone}.")
RESET_DONE_SUBJECT = N_("Your CareSpace password was reset")
RESET_DONE = N_("The password of your CareSpace account was just reset from a Forgot Password "
                "link, and you were signed out everywhere.")


def send_reset_link(db: Session, user: User, *, subject: str, intro: str, clock: Clock,
                    what: str = N_("your password"), after: str = "",
                    token: Optional[str] = None, body: Optional[str] = None) -> None:
    """A reset link for this account (its older links superseded) and its email.

    Forgot Password (below) is for a signed-out stranger and is limited per hour; the
    administrator's "Send reset link" (onboarding/staff.py) names the account, so its
    link goes out whatever the hourly limit.
    """
    _reset, token = links.issue(db, links.RESET, clock(), token=token, user_id=user.id)
    outbox.enqueue(
        db, to=user.email, subject=subject, kind="password_reset",
        link=routes.password_reset_link(token),
        body=body or i18n.fmt("en", STAFF_LINK_BODY, name=user.full_name, intro=intro, what=what,
                              time=i18n.duration(RESET_TTL), link="{link}", after=after,
                              phone=get_settings().office_phone),
        clock=clock, lang=user.language if body else "en")


def request_password_reset(db: Session, email: str, *, clock: Clock) -> None:
    """Forgot Password. Answers nothing, and does the same work, whether or not the address exists."""
    now = clock()
    token = security.new_token()
    security.token_hash(token)  # made either way, so both paths cost alike
    address = normalize_email(email if isinstance(email, str) else "")
    user = email_owner(db, address)
    if user is None or not user.is_active:
        trail.record(db, "password.reset_requested", detail="No active account for that address",
                     clock=clock)
        return
    recent = db.exec(select(func.count(PasswordReset.id)).where(
        PasswordReset.user_id == user.id, PasswordReset.created_at > now - RESET_REQUEST_WINDOW)).one()
    if recent >= RESET_REQUESTS_PER_HOUR:
        trail.record(db, "password.reset_requested", actor=user, role="anonymous",
                     detail="Not sent: too many requests this hour", clock=clock)
        return
    lang = i18n.normalize(user.language)
    send_reset_link(db, user, subject=i18n.gettext(lang, FORGOT_SUBJECT), intro="", clock=clock,
                    token=token, body=i18n.fmt(lang, FORGOT_BODY, name=user.full_name,
                                               time=i18n.duration(RESET_TTL), link="{link}",
                                               phone=get_settings().office_phone))
    trail.record(db, "password.reset_requested", actor=user, role="anonymous", clock=clock)


def inspect_reset(db: Session, token: str, *, clock: Clock) -> PasswordReset:
    """The reset for a link that can still be used; LinkError (with the reason) otherwise."""
    reset, _user = links.usable_account(db, links.RESET, token, clock())
    return reset


def reset_link_email(db: Session, token: str, *, clock: Clock) -> str:
    """The email of the account a usable reset link is for ("" if none): the live password
    checklist's "not your email" rule. Never sent to the browser."""
    _reset, user = links.usable_account(db, links.RESET, token, clock())
    return user.email


def reset_password(db: Session, token: str, *, new_password: str, confirm_password: str,
                   clock: Clock) -> User:
    """Set a new password from a reset link; every session of the account ends."""
    reset, user = links.usable_account(db, links.RESET, token, clock())
    # Rules first: a refused password must not use up the link.
    validate_password(new_password, email=user.email, confirm=confirm_password)
    new_hash = security.hash_password(new_password)  # slow: before any row is locked
    now = clock()
    links.claim_or_refuse(db, links.RESET, reset, now)
    user.password_hash = new_hash
    user.password_changed_at = now
    db.add(user)
    links.supersede(db, links.RESET, now, except_id=reset.id, user_id=user.id)
    sessions.end_user_sessions(db, user.id, reason=sessions.ENDED_PASSWORD_RESET, clock=clock)
    trail.record(db, "password.reset", actor=user, clock=clock)
    lang = i18n.normalize(user.language)
    accounts.security_notice(db, user, user.email, i18n.gettext(lang, RESET_DONE_SUBJECT),
                             i18n.gettext(lang, RESET_DONE), clock=clock, lang=lang)
    return user
