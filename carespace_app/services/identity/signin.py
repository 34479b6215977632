"""Sign-in: email + password, with throttling of failures per account and per client.

bcrypt is deliberately slow, so these functions are synchronous: the Reflex handlers run
them in the bcrypt thread pool (``security.run_in_bcrypt_pool``). A failure is written and
the refusal raised (``AuthenticationFailed``, ``Throttled``): the unit of work keeps it.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.models import SignInFailure, User, UserSession
from carespace_app.policy import (
    ACCOUNT_BURST,
    ACCOUNT_BURST_PAUSE,
    ACCOUNT_BURST_WINDOW,
    ACCOUNT_LIMIT,
    ACCOUNT_WINDOW,
    CLIENT_LIMIT,
    CLIENT_WINDOW,
)
from carespace_app.services.audit import trail
from carespace_app.i18n import N_
from carespace_app.services.errors import AuthenticationFailed, Throttled
from carespace_app.services.identity import security
from carespace_app.services.identity.emails import email_owner, normalize_email

WRONG_CURRENT_PASSWORD = N_("Your current password is not correct.")
ACCOUNT_THROTTLED = N_("Too many unsuccessful sign-ins for this account. Try again in about "
                       "{minutes} minutes, or use Forgot Password.")
NETWORK_THROTTLED = N_("Too many unsuccessful sign-ins from your network. Try again in about "
                       "{minutes} minutes.")
BURST_THROTTLED = N_("Too many attempts. Please wait {seconds} seconds and try again.")


def _failures(db: Session, *conditions) -> tuple[int, Optional[datetime], Optional[datetime]]:
    """How many failures match, the oldest and the latest."""
    return tuple(db.exec(select(func.count(SignInFailure.id), func.min(SignInFailure.at),
                                func.max(SignInFailure.at)).where(*conditions)).one())


def _wait_seconds(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def check_throttle(db: Session, email: str, client_ip: str, *, user: Optional[User], clock: Clock) -> None:
    """Raise Throttled if this account or this client has failed too often lately."""
    now = clock()
    # Guesses at a password that has since been changed (a reset proves the person holds
    # the mailbox) say nothing about the new one: they no longer count, so "use Forgot
    # Password" really lets a patient locked out by a stranger back in.
    window_start = now - ACCOUNT_WINDOW
    if user is not None and user.password_changed_at is not None \
            and user.password_changed_at > window_start:
        window_start = user.password_changed_at - timedelta(microseconds=1)
    count, oldest, _latest = _failures(
        db, SignInFailure.email == email, SignInFailure.at > window_start)
    if count >= ACCOUNT_LIMIT:
        wait = _wait_seconds(oldest + ACCOUNT_WINDOW, now)
        raise Throttled(ACCOUNT_THROTTLED, params={"minutes": max(1, wait // 60)},
                        retry_after_seconds=wait)
    if client_ip:
        count, oldest, _latest = _failures(
            db, SignInFailure.client_ip == client_ip, SignInFailure.at > now - CLIENT_WINDOW)
        if count >= CLIENT_LIMIT:
            wait = _wait_seconds(oldest + CLIENT_WINDOW, now)
            raise Throttled(NETWORK_THROTTLED, params={"minutes": max(1, wait // 60)},
                            retry_after_seconds=wait)
    # Consecutive failures: those since the last successful sign-in (its session's start).
    since = max(now - ACCOUNT_BURST_WINDOW, window_start)
    if user is not None:
        last_success = db.exec(
            select(func.max(UserSession.created_at)).where(UserSession.user_id == user.id)
        ).one()
        if last_success is not None and last_success > since:
            since = last_success
    count, _oldest, latest = _failures(db, SignInFailure.email == email, SignInFailure.at > since)
    if count >= ACCOUNT_BURST and now - latest < ACCOUNT_BURST_PAUSE:
        wait = _wait_seconds(latest + ACCOUNT_BURST_PAUSE, now)
        raise Throttled(BURST_THROTTLED, params={"seconds": wait}, retry_after_seconds=wait)


def sign_in_pause(db: Session, email: str, client_ip: str, *, clock: Clock) -> int:
    """Seconds until this address may try to sign in again from this client (0: now).

    The sign-in page asks after a refusal, to count the pause down. It answers alike for
    an address with or without an account (failures are counted by the address typed).
    """
    email = normalize_email(email if isinstance(email, str) else "")
    user = email_owner(db, email)
    try:
        check_throttle(db, email, client_ip or "", user=user, clock=clock)
    except Throttled as paused:
        return paused.retry_after_seconds
    return 0


def record_failure(db: Session, email: str, client_ip: str, *, clock: Clock) -> None:
    # Without an "@" the "email" may well be a password typed in the wrong box: keep it out.
    db.add(SignInFailure(email=(email if "@" in email else "")[:320],
                         client_ip=(client_ip or "")[:64], at=clock()))


def authenticate(db: Session, email: str, password: str, *, client_ip: str, clock: Clock) -> User:
    """The user for a right email + password; AuthenticationFailed or Throttled otherwise.

    The answer (and its time) is the same for an unknown address as for a wrong password.
    """
    email = normalize_email(email if isinstance(email, str) else "")
    client_ip = client_ip or ""
    user = email_owner(db, email)
    check_throttle(db, email, client_ip, user=user, clock=clock)
    if user is None:
        security.check_password(password, security.dummy_hash())  # spend the same time
        record_failure(db, email, client_ip, clock=clock)
        trail.record(db, "sign_in.failed", detail="No account for that address",
                     client_ip=client_ip, clock=clock)
        raise AuthenticationFailed()
    if not security.check_password(password, user.password_hash):
        record_failure(db, email, client_ip, clock=clock)
        trail.record(db, "sign_in.failed", detail=f"Wrong password for user #{user.id}",
                     role="anonymous", client_ip=client_ip, clock=clock)
        raise AuthenticationFailed()
    if not user.is_active:
        trail.record(db, "sign_in.failed", detail=f"Deactivated account, user #{user.id}",
                     role="anonymous", client_ip=client_ip, clock=clock)
        raise AuthenticationFailed()
    # With two-step sign-in on, the session waits for the code (services/identity/mfa.py).
    trail.record(db, "sign_in.password_passed" if user.two_step_since is not None else "sign_in",
                 actor=user, client_ip=client_ip, clock=clock)
    return user


def check_current_password(db: Session, user: User, password: str, *, client_ip: str,
                           clock: Clock) -> None:
    """Settings' "current password". Counted like sign-in failures: a borrowed open session
    must not allow guessing."""
    check_throttle(db, user.email, client_ip, user=user, clock=clock)
    if not security.check_password(password, user.password_hash):
        record_failure(db, user.email, client_ip, clock=clock)
        raise AuthenticationFailed(WRONG_CURRENT_PASSWORD, field="current_password")
