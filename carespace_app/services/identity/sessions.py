"""Server-side sessions and the one-time tickets that turn a sign-in into a cookie.

The browser holds only an opaque token in an HttpOnly cookie; the database
holds its SHA-256. Ending a session is a database write, so sign-out, a
password change or a revocation takes effect on the very next request of an
already open tab. A ticket is a one-time link (``links.TICKET``). Nothing here commits:
the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import bindparam, update
from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.models import SignInTicket, User, UserSession
from carespace_app.services.identity import links, security
from carespace_app.policy import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT

# last_seen_at is written at most this often: every click of every open tab would
# otherwise be a write. The cost is that the idle logoff may come up to 30 s early.
TOUCH_EVERY = timedelta(seconds=30)

ENDED_IDLE = "idle"
ENDED_EXPIRED = "expired"
ENDED_DEACTIVATED = "account deactivated"
ENDED_SIGNED_OUT = "signed out"
ENDED_PASSWORD_CHANGED = "password changed"
ENDED_PASSWORD_RESET = "password reset"


def start_session(
    db: Session,
    user: User,
    *,
    clock: Clock,
    client_ip: Optional[str] = None,
    user_agent: Optional[str] = None,
    browser_nonce: Optional[str] = None,
) -> str:
    """Open a session for a signed-in user; returns the one-time TICKET, not the session token.

    The browser takes the ticket to the backend route, which swaps it for the
    session token in an HttpOnly cookie: the token never passes through page state.
    ``browser_nonce`` (the signing-in browser's nonce cookie) binds the ticket to that
    browser: another one, sent there by someone else's page, cannot swap it.
    """
    now = clock()
    session_token = security.new_token()
    session = UserSession(
        token_hash=security.token_hash(session_token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_TIMEOUT,
        client_ip=(client_ip or None) and client_ip[:64],
        user_agent=(user_agent or None) and user_agent[:300],
    )
    db.add(session)
    db.flush()
    _row, ticket = links.issue(
        db, links.TICKET, now, session_id=session.id,
        sealed_session_token=security.seal(session_token),
        browser_nonce_hash=security.token_hash(browser_nonce) if browser_nonce else None)
    return ticket


class TicketForAnotherBrowser(Exception):
    """A live ticket presented by a browser other than the one that signed in."""


def redeem_ticket(db: Session, ticket: str, *, clock: Clock,
                  browser_nonce: Optional[str] = None) -> Optional[str]:
    """The session token for a fresh, unused ticket; None otherwise. Works once.

    ``browser_nonce`` must be the nonce the ticket was started with (a ticket started
    without one is redeemed only without one: in-process, never by the HTTP route).
    A live ticket with another nonce raises TicketForAnotherBrowser and stays unused,
    so someone else's attempt cannot spend the real browser's ticket.
    """
    if not isinstance(ticket, str) or not ticket:
        return None
    now = clock()
    ticket_hash = security.token_hash(ticket)
    if browser_nonce is None:
        same_browser = SignInTicket.browser_nonce_hash.is_(None)
    else:
        nonce = browser_nonce if isinstance(browser_nonce, str) else ""
        same_browser = SignInTicket.browser_nonce_hash == security.token_hash(nonce)
    this_ticket = SignInTicket.token_hash == ticket_hash
    # Of two concurrent redemptions only one claims the ticket.
    if not links.claim(db, links.TICKET, now, this_ticket, same_browser):
        elsewhere = db.exec(select(SignInTicket.id).where(
            this_ticket, *links.live_conditions(links.TICKET, now))).first()
        if elsewhere is not None:
            raise TicketForAnotherBrowser()
        return None
    row = db.exec(select(SignInTicket).where(SignInTicket.token_hash == ticket_hash)).one()
    db.refresh(row)
    try:
        session_token = security.unseal(row.sealed_session_token)
    except Exception:  # sealed with another key, or already cleared
        session_token = None
    row.sealed_session_token = ""  # the cookie holds it now; the database need not
    db.add(row)
    return session_token


# Every event of every signed-in tab runs this look-up: built once, so each call skips
# building the statement and its cache key (docs/PERFORMANCE.md), and one query brings
# the session and its person.
_LIVE_SESSION = (select(UserSession, User).join(User, User.id == UserSession.user_id)
                 .where(UserSession.token_hash == bindparam("token_hash")))


def _end(session: UserSession, reason: str, now: datetime) -> None:
    session.ended_at = now
    session.ended_reason = reason[:40]


def resolve(
    db: Session,
    token: Optional[str],
    *,
    clock: Clock,
    touch: bool = True,
) -> Optional[tuple[UserSession, User]]:
    """The live session and its user for a cookie token, or None.

    A session found idle (no activity for 15 minutes) or past its 12-hour limit
    is ended in the database here, so it can't be revived by a later request.
    ``touch`` records activity; pass False for a look that isn't the user acting.
    """
    if not isinstance(token, str) or not token:
        return None
    found = db.exec(_LIVE_SESSION, params={"token_hash": security.token_hash(token)}).first()
    if found is None:
        return None
    session, user = found
    if session.ended_at is not None:
        return None
    now = clock()
    ended = None
    if now >= session.expires_at:
        ended = ENDED_EXPIRED
    elif now - session.last_seen_at > IDLE_TIMEOUT:
        ended = ENDED_IDLE
    if ended is None and not user.is_active:
        ended = ENDED_DEACTIVATED
    if ended is not None:
        _end(session, ended, now)
        db.add(session)
        return None
    if touch and now - session.last_seen_at >= TOUCH_EVERY:
        session.last_seen_at = now
        db.add(session)
    return session, user


def end_session(db: Session, token: Optional[str], *, reason: str = ENDED_SIGNED_OUT, clock: Clock) -> None:
    """Sign out: the session stops working at once. Unknown or ended tokens are ignored."""
    if not isinstance(token, str) or not token:
        return
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == security.token_hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=clock(), ended_reason=reason[:40])
    )


def end_user_sessions(
    db: Session,
    user_id: int,
    *,
    reason: str,
    clock: Clock,
    except_session_id: Optional[int] = None,
) -> int:
    """End every live session of a user (all devices), but maybe the one in use; how many."""
    query = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if except_session_id is not None:
        query = query.where(UserSession.id != except_session_id)
    result = db.execute(
        query.values(ended_at=clock(), ended_reason=reason[:40])
    )
    return result.rowcount


def set_active_patient(db: Session, session_id: int, patient_id: Optional[int]) -> None:
    """The patient last chosen in this session: the default for a tab opened later, and the
    office's "View as patient" (services/permissions/tab_access.py). The caller has checked access."""
    db.execute(
        update(UserSession)
        .where(UserSession.id == session_id)
        .values(active_patient_id=patient_id)
    )
