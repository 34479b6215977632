"""The signed-in person, looked up from the HttpOnly cookie on every event.

Nothing here trusts the browser: the cookie's token is resolved against the
session table each time, and which patient is being viewed lives in that
server-side session row, not in a browser-settable var.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Callable, Optional, TypeVar

import reflex as rx
from sqlmodel import select

from .. import routes
from ..config import OFFICE_PHONE
from ..clock import utcnow
from ..db import session_scope
from ..models import Patient, User, UserSession
from ..services import access, audit, security, sessions
from ..services.errors import DomainError, NotAllowed

log = logging.getLogger("carespace.state")
T = TypeVar("T")


@dataclass
class Viewer:
    """Who is acting, and for which patient (None for staff outside a patient)."""

    user: User
    session: UserSession
    patient_id: Optional[int]
    relation: Optional[str]
    client_ip: str


def _token_from_cookie_header(header: str) -> Optional[str]:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is just "no session"
        return None
    morsel = jar.get(routes.SESSION_COOKIE)
    return morsel.value if morsel else None


# Why a session ended -> the sign-in page's notice (state/auth.py SIGN_IN_NOTICES).
_NOTICE_FOR_ENDED = {
    sessions.ENDED_IDLE: "idle",
    # A page still loading when Sign out was clicked, or another tab of the same browser:
    # its next action finds the session ended and says so truthfully.
    sessions.ENDED_SIGNED_OUT: "signed-out",
    sessions.ENDED_PASSWORD_CHANGED: "password-changed",
    sessions.ENDED_PASSWORD_RESET: "password-changed",
}


def _ended_reason(db, token: Optional[str]) -> str:
    """Why a cookie's session no longer works, in the words of the sign-in page's notices."""
    row = db.exec(select(UserSession.ended_reason).where(
        UserSession.token_hash == security.token_hash(token))).first() if token else None
    return _NOTICE_FOR_ENDED.get(row, "expired")


def _resolve_viewer(token: Optional[str], client_ip: str, touch: bool) -> tuple[Optional[Viewer], str]:
    """The viewer, or None and why (a key of the sign-in page's notices)."""
    with session_scope() as db:
        found = sessions.resolve(db, token, clock=utcnow, touch=touch) if token else None
        if found is None:
            return None, _ended_reason(db, token)
        session, user = found
        patient_id = session.active_patient_id
        relation = access.relation_to(db, user, patient_id) if patient_id else None
        if patient_id and relation is None:
            # Access ended since this session opened the patient's portal (a caregiver
            # revoked): the attempt goes on the patient's trail, once, as the session forgets
            # the patient, and the viewer falls back to what they may still open.
            audit.record(db, "access.refused", actor=user, patient_id=patient_id,
                         detail="portal.open_after_revocation", client_ip=client_ip, clock=utcnow)
            sessions.set_active_patient(db, session.id, None)  # commits both
            patient_id = None
        if patient_id is None and not user.is_staff:
            choices = access.portal_patients(db, user)
            if choices:
                patient_id, relation = choices[0][0].id, choices[0][1]
                sessions.set_active_patient(db, session.id, patient_id)
        return Viewer(user=user, session=session, patient_id=patient_id,
                      relation=relation, client_ip=client_ip), ""


def _idle_seconds(token: Optional[str]) -> Optional[float]:
    """Seconds since the session's last activity, without counting this look as activity."""
    with session_scope() as db:
        found = sessions.resolve(db, token, clock=utcnow, touch=False) if token else None
        if found is None:
            return None
        return (utcnow() - found[0].last_seen_at).total_seconds()


class SessionState(rx.State):
    """Base of every signed-in page's state."""

    signed_in: bool = False
    user_name: str = ""
    user_email: str = ""
    is_staff: bool = False
    is_admin: bool = False
    patient_name: str = ""
    relation: str = ""
    patient_choices: list[dict[str, str]] = []
    error_message: str = ""
    # A local path the browser loads in full (FullPageNavigate); see components/navigate.py.
    navigate_to: str = ""
    # The page that asked for it: a load of another page ignores it (components/navigate.py).
    navigate_from: str = ""
    # The idle warning a minute before the 15-minute sign-out (components/idle.py ticks).
    idle_warning: bool = False
    # The latest toast (components/flash.py); the id makes a repeated message show again.
    flash: dict[str, str] = {}
    _end_reason: str = ""

    # --- helpers (underscore: not callable from the browser) ---

    def _client_ip(self) -> str:
        return self.router.session.client_ip or ""

    def _session_token(self) -> Optional[str]:
        return _token_from_cookie_header(self.router.headers.cookie or "")

    async def _viewer(self, touch: bool = True) -> Optional[Viewer]:
        viewer, self._end_reason = await asyncio.to_thread(
            _resolve_viewer, self._session_token(), self._client_ip(), touch
        )
        if viewer is not None and touch:
            self.idle_warning = False
        return viewer

    async def _run(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Database work runs in a thread so one user's query never stalls another's events."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def _go(self, path: str) -> None:
        """Leave this page with a real page load (backend routes, or a fresh start).

        The nonce makes every navigation distinct, so a page that is reloaded with
        the same state does not navigate again.
        """
        joiner = "&" if "?" in path else "?"
        self.navigate_from = self.router.url.path or ""
        self.navigate_to = f"{path}{joiner}n={secrets.token_hex(6)}"

    def _flash(self, kind: str, text: str) -> None:
        """A toast ("success", "error" or "info"). Use instead of returning rx.toast (CSP)."""
        self.flash = {"kind": kind, "text": text, "id": secrets.token_hex(4)}

    def _signed_out(self, reason: str = "expired"):
        # A page says "expired"; say more precisely why when the session lookup knows.
        if reason == "expired" and self._end_reason:
            reason = self._end_reason
        self.signed_in = False
        self.idle_warning = False
        self._go(f"{routes.AUTH_SIGN_OUT}?reason={reason}")

    async def _show_identity(self, viewer: Viewer) -> None:
        def load():
            with session_scope() as db:
                patient = db.get(Patient, viewer.patient_id) if viewer.patient_id else None
                choices = [] if viewer.user.is_staff else access.portal_patients(db, viewer.user)
                return patient, choices

        patient, choices = await self._run(load)
        self.signed_in = True
        self.user_name = viewer.user.full_name
        self.user_email = viewer.user.email
        self.is_staff = viewer.user.is_staff
        self.is_admin = viewer.user.is_admin
        self.patient_name = patient.full_name if patient else ""
        self.relation = viewer.relation or ""
        self.patient_choices = [
            {"id": str(p.id), "name": p.full_name,
             "label": "Your record" if rel == "self" else f"{p.full_name} (you're a caregiver)"}
            for p, rel in choices
        ]

    async def _portal_viewer(self) -> Optional[Viewer]:
        """The viewer for a portal page, or None after sending them to sign in."""
        viewer = await self._viewer()
        if viewer is None:
            return None
        if viewer.patient_id is None:
            if not viewer.user.is_staff:
                self._end_reason = "revoked"  # a caregiver whose last access was revoked
            return None
        return viewer

    # --- events ---

    async def sign_out(self):
        token = self._session_token()
        if token:
            def end():
                with session_scope() as db:
                    sessions.end_session(db, token, clock=utcnow)

            await self._run(end)
        self.signed_in = False
        self._go(routes.AUTH_SIGN_OUT)

    async def switch_patient(self, patient_id: str):
        viewer = await self._viewer()
        if viewer is None:
            return self._signed_out()
        try:
            wanted = int(patient_id)
        except (TypeError, ValueError):
            return

        def switch():
            with session_scope() as db:
                relation = access.require_access(db, viewer.user, wanted,
                                                 action="portal.switch_patient", clock=utcnow,
                                                 client_ip=viewer.client_ip)
                if relation == access.RELATION_STAFF:
                    # The same as Admin's "View as patient": the office opening a portal is audited.
                    audit.record(db, "portal.viewed_as_patient", actor=viewer.user, patient_id=wanted,
                                 client_ip=viewer.client_ip, clock=utcnow)
                    db.commit()
                sessions.set_active_patient(db, viewer.session.id, wanted)

        try:
            await self._run(switch)
        except NotAllowed:
            return self._flash("error", "You don't have access to that patient's portal.")
        except DomainError as exc:
            return self._flash("error", str(exc))
        self._go(routes.HOME)

    def show_problem(self):
        """Shown after an error no handler caught (see carespace_app.calm_error)."""
        self._flash("error", "Something went wrong on our side. Please try again in a minute. "
                    f"If it keeps happening, call the office at {OFFICE_PHONE}.")

    async def check_idle(self):
        """The page's timer asks every few seconds; the question is not activity itself."""
        idle = await self._run(_idle_seconds, self._session_token())
        if idle is None:
            if self.signed_in:
                await self._viewer(touch=False)  # learns why: idle, or ended elsewhere
                return self._signed_out("expired")
            return
        warn = idle >= sessions.IDLE_WARNING.total_seconds()
        # Only a change is sent: an unchanged var set every tick would still go to the
        # browser and re-render the page under the user's hands (an open menu, a form).
        if warn != self.idle_warning:
            self.idle_warning = warn

    async def stay_signed_in(self):
        """"Stay signed in": this event is the activity (resolve records it)."""
        viewer = await self._viewer(touch=True)
        if viewer is None:
            return self._signed_out("expired")
        self.idle_warning = False
