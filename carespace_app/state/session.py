"""The one way into every handler: who is signed in, which patient this tab shows.

A tab's state lives on the server and is re-sent whole on every page load, so it
belongs to one (session, patient) pair. On every event (tab_guard.py runs it before
Reflex sends anything, a handler's call path runs it when called directly) the
cookie's session and the tab's patient are resolved against the database
(services/permissions/tab_access.py); when the person or the patient differs from what the tab
holds, the whole state tree is reset first.

Handlers then go through one call path:

    got = await self._portal(lambda db, v: labs.list_reports(db, v.user, v.patient_id, ...))
    if not got.ok:
        self.error = got.error      # a sentence; "" when the tab was sent away
        return
    ...got.value...

``_portal`` (a patient's portal), ``_office`` (staff pages) and ``_person`` (any
signed-in person) resolve the tab, send it away when the session or access ended,
run the work in a thread with a database session, and map refusals and domain
errors to plain sentences. States hold no SQL and decide no access themselves.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import quote
from typing import Any, Callable, Optional, TypeVar

import reflex as rx
from sqlmodel import Session

from carespace_app import i18n, policy, routes
from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.db import session_scope
from carespace_app.models import User, UserSession
from carespace_app.i18n import N_
from carespace_app.services.identity import language, sessions
from carespace_app.services.permissions import access, scopes, tab_access
from carespace_app.services.errors import DomainError, LinkError, NotAllowed
from carespace_app.services.identity.security import run_in_bcrypt_pool
from carespace_app.services.permissions.tab_access import TabAccess

log = logging.getLogger("carespace.state")
T = TypeVar("T")

SOMETHING_WRONG_TEMPLATE = N_("Something went wrong on our side. Please try again in a minute; "
                              "if it keeps happening, call the office at {phone}.")
SOMETHING_WRONG = SOMETHING_WRONG_TEMPLATE.format(phone=get_settings().office_phone)  # English
NO_ACCESS = N_("You don't have access to that. Go back to Home and try again.")
READ_ONLY = N_("You are viewing this portal as the office: it is read-only. "
               "Go back to the admin page to make changes.")
NO_PATIENT_ACCESS = N_("You don't have access to that patient's portal.")
YOUR_RECORD = N_("Your record")
CAREGIVER_OF = N_("{name} (you're a caregiver)")
# The language switch remembers the choice in this browser for a year (not a secret).
LANG_COOKIE = "carespace_lang"
# Pages whose text the server made (a list's dates, a greeting) and whose load may run again
# at any moment, keeping nothing typed: path -> its load handler. After the language switch
# such a page loads again, in the new language (its state module registers it).
# Pages with a form or a one-time view (Settings' recovery codes) are not listed: a load
# there would close the form or lose what is shown once.
RELOAD_ON_LANGUAGE: dict[str, Any] = {}


@dataclass
class Viewer:
    """Who is acting, and for which patient (None outside a patient's portal)."""

    user: User
    session: UserSession
    patient_id: Optional[int]
    relation: Optional[str]
    client_ip: str
    scope: str = ""  # a caregiver's scope (models.SCOPE_*); "" for the patient and staff

    @property
    def view_as(self) -> bool:
        return self.relation == "staff"

    @property
    def areas(self) -> frozenset[str]:
        """The portal areas this viewer reaches (scopes.py); every one but a caregiver's."""
        return scopes.areas_for(self.relation, self.scope)


@dataclass
class Outcome:
    """What a call came to: its value, or the sentence to show (and the form field)."""

    ok: bool
    value: Any = None
    error: str = ""
    field: str = ""
    refused: bool = False
    left: bool = False  # the tab was sent away (signed out, access ended): show nothing
    link: str = ""  # a link that cannot be used: invalid, expired, used, superseded, locked
    msgid: str = ""  # the error's catalogue template (compare this, not the translated error)


LEFT = Outcome(ok=False, left=True)


def form_errors(outcome: Outcome, blank: dict[str, str]) -> tuple[dict[str, str], str]:
    """(the form's errors by field, the sentence over the form) for an outcome: a refusal's
    sentence goes beside its field when the form has that field, else over the form."""
    errors = dict(blank)
    if outcome.ok:
        return errors, ""
    if outcome.field in errors:
        errors[outcome.field] = outcome.error
        return errors, ""
    return errors, outcome.error


@dataclass
class PatientChoice:
    """A portal the header's "Switch patient" menu offers."""

    id: str = ""
    name: str = ""
    label: str = ""


# This event's answer, so the guard's lookup (tab_guard.py) serves the handler too.
# Each Reflex event runs in its own task, so a value never outlives its event.
_EVENT_TAB: ContextVar[Optional[tuple[int, TabAccess]]] = ContextVar("carespace_tab", default=None)


def token_from_cookie_header(header: str, name: str = routes.SESSION_COOKIE) -> Optional[str]:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is just "no session"
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None


def _resolve(token: Optional[str], session_id: int, patient_id: int, client_ip: str,
             touch: bool) -> TabAccess:
    with session_scope() as db:
        return tab_access.resolve_tab(db, token, patient_id or None, clock=utcnow, touch=touch,
                                      client_ip=client_ip, tab_session_id=session_id)


def _trimmed(path: str) -> str:
    return path.rstrip("/") or "/"


def _in_db(work: Callable[[Session], T]) -> T:
    with session_scope() as db:
        return work(db)


def page_header(db: Session, viewer: Viewer) -> tuple[str, list]:
    """What the header shows for a viewer: the patient's name and the portals to switch to."""
    return (tab_access.patient_name(db, viewer.patient_id),
            tab_access.choices(db, viewer.user, now=utcnow()))


def session_clock(session: UserSession, now) -> dict[str, int]:
    """The countdown a page runs for a live session (SessionState.session_clock)."""
    idle_end = session.last_seen_at + policy.IDLE_TIMEOUT
    return {"at": int(idle_end.timestamp()),
            "idle": max(0, int((idle_end - now).total_seconds())),
            "limit": max(0, int((session.expires_at - now).total_seconds())),
            "warn": int((policy.IDLE_TIMEOUT - policy.IDLE_WARNING).total_seconds())}


def _all_substates(cls) -> list[type]:
    found, todo = [], list(cls.get_substates())
    while todo:
        sub = todo.pop()
        found.append(sub)
        todo.extend(sub.get_substates())
    return found


class SessionState(rx.State):
    """Base of every CareSpace state: the tab's person and patient, and the call path."""

    signed_in: bool = False
    user_name: str = ""
    user_email: str = ""
    is_staff: bool = False
    is_admin: bool = False
    patient_name: str = ""
    relation: str = ""
    patient_choices: list[PatientChoice] = []
    error_message: str = ""
    # The office viewing a patient's portal: every form is off (components/shell.py).
    view_as: bool = False
    # "Your access to Rosa Alvarez's portal has ended" (pages/access.py), until the person
    # opens another portal or signs out.
    ended_patient_name: str = ""
    # A patient or caregiver at an office page: the page says it is for the office.
    office_only: bool = False
    # Issue #17: the portal areas (scopes.AREA_*) this viewer's access leaves out: the tabs
    # hide them. Set with the header (only when it changes), cleared with the tab.
    hidden_areas: list[str] = []
    # The area of the page just opened that the access does not reach, and the sentence the
    # page shows instead of itself ("Your access to Rosa Alvarez's portal doesn't include
    # messages."); "" when the page is shown.
    blocked_area: str = ""
    blocked_notice: str = ""
    # A local path the browser loads in full (FullPageNavigate); see components/navigate.py.
    navigate_to: str = ""
    # The page that asked for it: a load of another page ignores it (components/navigate.py).
    navigate_from: str = ""
    # The idle warning a minute before the 15-minute sign-out (components/idle.py).
    idle_warning: bool = False
    # The session's clock for the browser's countdown (components/idle.py), sent only when it
    # moves (activity is written at most every 30 s) and with every page load: "at" marks
    # the deadline (server time, seconds), "idle" and "limit" are the seconds left then until
    # the idle sign-out and the absolute limit, "warn" how long before the idle sign-out
    # the warning shows. The browser counts from when it arrives, so its own clock's error
    # does not matter; the server still ends the session on its own clock.
    session_clock: dict[str, int] = {}
    # The latest toast (components/flash.py); the id makes a repeated message show again.
    flash: dict[str, str] = {}
    # The tab's language, "en" or "es" (carespace_app/i18n): every page's text chooses by it
    # in the browser (components/i18n.py). Derived in _bind_tab (_derive_lang); kept across
    # the tab's resets so a page never flashes in the other language.
    lang: str = "en"
    _lang_known: bool = False
    # What this tab's state belongs to: a session row and a patient (0: none).
    _tab_session_id: int = 0
    _tab_patient_id: int = 0
    # The scope the tab's data was read under ("" unknown; "all" for the patient and staff):
    # when the patient changes it, the tab is cleared at the caregiver's next event.
    _tab_scope: str = ""
    _end_reason: str = ""

    # --- the tab's person and patient ---

    def _client_ip(self) -> str:
        return self.router.session.client_ip or ""

    def _session_token(self) -> Optional[str]:
        return token_from_cookie_header(self.router.headers.cookie or "")

    async def _reset_tab(self) -> None:
        """Forget everything this tab loaded: every substate, loaded or not, back to defaults."""
        root = self._get_root_state()
        for cls in _all_substates(SessionState):
            await root.get_state(cls)  # a state manager may not have loaded it yet
        base = await root.get_state(SessionState)
        lang = base.lang
        base.reset()
        if base.lang != lang:  # re-derived by _bind_tab for the new person
            base.lang = lang

    def _derive_lang(self, tab: TabAccess) -> None:
        """The tab's language: the signed-in person's saved one, else this browser's choice
        (the switch's cookie), else the browser's Accept-Language."""
        if tab.signed_in:
            wanted = i18n.normalize(tab.user.language)
        else:
            chosen = token_from_cookie_header(self.router.headers.cookie or "", LANG_COOKIE)
            wanted = (chosen if chosen in i18n.LANGUAGES
                      else i18n.pick_language(self.router.headers.accept_language))
        if self.lang != wanted:
            self.lang = wanted
        self._lang_known = True

    async def _bind_tab(self, touch: bool = True, hydrating: bool = False) -> TabAccess:
        """Resolve this event's person and patient; clear the tab first when either changed.

        A tab cleared under a click leaves the page it can no longer show (a page load
        needs no push: its own on_load decides where it belongs).
        """
        root = self._get_root_state()
        cached = _EVENT_TAB.get()
        if cached is not None and cached[0] == id(root):
            return cached[1]
        token = self._session_token()
        if token is None and not self._tab_session_id:
            tab = tab_access.SIGNED_OUT  # nothing to look up: a stranger costs no query
        else:
            tab = await asyncio.to_thread(_resolve, token, self._tab_session_id,
                                          self._tab_patient_id, self._client_ip(), touch)
        was_signed_in = bool(self._tab_session_id)
        if tab.session_id != self._tab_session_id:
            await self._reset_tab()
            if was_signed_in and not hydrating:
                self._leave_for(tab)
        elif tab.lost:
            await self._reset_tab()
            self.ended_patient_name = tab.lost_patient_name
            if not hydrating:
                self._leave_for(tab)
        elif (tab.patient_id and tab.patient_id == self._tab_patient_id and self._tab_scope
              and self._tab_scope != (tab.scope or "all")):
            # The patient changed this caregiver's access: nothing read under the old one
            # stays, and the page is opened again under the new one (it may refuse itself).
            await self._reset_tab()
            if not hydrating:
                url = self.router.url
                self._go(routes.return_path(f"{url.path}?{url.query}" if url.query else url.path)
                         or routes.HOME)
        # Assigned on activity even when unchanged: with Redis, a write renews this state's
        # expiry (rxconfig.py), so an active tab's state never lapses under the person.
        if touch or self._tab_session_id != tab.session_id:
            self._tab_session_id = tab.session_id
        if self._tab_patient_id != (tab.patient_id or 0):
            self._tab_patient_id = tab.patient_id or 0
        scope_key = (tab.scope or "all") if tab.patient_id else ""
        if self._tab_scope != scope_key:
            self._tab_scope = scope_key
        if self._end_reason != tab.ended:
            self._end_reason = tab.ended
        if tab.signed_in and touch and self.idle_warning:
            self.idle_warning = False
        if not self._lang_known:  # a new tab, or one just reset for another person
            self._derive_lang(tab)
        self._send_clock(tab, hydrating)
        _EVENT_TAB.set((id(root), tab))
        return tab

    def _send_clock(self, tab: TabAccess, fresh: bool = False) -> None:
        """The deadline for the browser's countdown, when it moved (or ``fresh``: a page load
        re-sends the whole state, and an old "seconds left" would count from the wrong time)."""
        if not tab.signed_in:
            if self.session_clock:
                self.session_clock = {}
            return
        clock = session_clock(tab.session, utcnow())
        if fresh or self.session_clock.get("at") != clock["at"]:
            self.session_clock = clock

    def _leave_for(self, tab: TabAccess) -> None:
        """Where a cleared tab goes: sign-in, the access page, or the person's start page."""
        if not tab.signed_in:
            self._end_reason = tab.ended
            self._signed_out()
        elif tab.lost == tab_access.LOST_REVOKED:
            self._go(routes.ACCESS)
        elif tab.user.is_staff:
            self._go(routes.ADMIN)
        else:
            self._go(routes.HOME)

    async def _switch_tab_to(self, patient_id: Optional[int]) -> None:
        """This tab now shows another patient (or none): nothing of the last one stays."""
        await self._reset_tab()
        tab = await self._bind_tab(touch=False)
        self._tab_session_id = tab.session_id
        self._tab_patient_id = patient_id or 0
        root = self._get_root_state()
        _EVENT_TAB.set((id(root), TabAccess(user=tab.user, session=tab.session, ended="",
                                            patient_id=patient_id)))

    async def _tab_viewer(self, writes: bool = False) -> Optional[Viewer]:
        """The person, for this tab's patient (choosing the default patient for a new tab).

        A write needs a patient the tab already shows: it never lands on a default choice.
        """
        tab = await self._bind_tab()
        if not tab.signed_in:
            self._signed_out()
            return None
        if tab.patient_id is None:
            if self.ended_patient_name:  # never fall through to another patient
                self._go(routes.ACCESS)
                return None
            if writes:
                self._go(routes.ADMIN if tab.user.is_staff else routes.HOME)
                return None
            chosen = await asyncio.to_thread(
                _in_db, lambda db: tab_access.default_patient(db, tab.user, tab.session,
                                                              now=utcnow()))
            if chosen is None:
                self._go(routes.ADMIN if tab.user.is_staff else routes.ACCESS)
                return None
            self._tab_patient_id = chosen[0]
            self._tab_scope = chosen[2] or "all"
            tab = TabAccess(user=tab.user, session=tab.session, ended="", patient_id=chosen[0],
                            relation=chosen[1], scope=chosen[2])
            _EVENT_TAB.set((id(self._get_root_state()), tab))
        return Viewer(user=tab.user, session=tab.session, patient_id=tab.patient_id,
                      relation=tab.relation, client_ip=self._client_ip(), scope=tab.scope)

    async def _person(self) -> Optional[Viewer]:
        """Any signed-in person, outside a patient's portal."""
        tab = await self._bind_tab()
        if not tab.signed_in:
            self._signed_out()
            return None
        return Viewer(user=tab.user, session=tab.session, patient_id=tab.patient_id,
                      relation=tab.relation, client_ip=self._client_ip(), scope=tab.scope)

    async def _staff_viewer(self) -> Optional[Viewer]:
        """A staff member, or None: signed-out people go to sign in; patients and caregivers
        stay signed in and the page says it is for the office (audited as admin.refused)."""
        viewer = await self._person()
        if viewer is None:
            return None
        if not viewer.user.is_staff:
            where = type(self).__name__
            await asyncio.to_thread(_in_db, lambda db: tab_access.refuse_office_page(
                db, viewer.user, where=where, clock=utcnow, client_ip=viewer.client_ip))
            if not self.office_only:
                self.office_only = True
            return None
        if access.two_step_missing(viewer.user):
            # CARESPACE_STAFF_MFA=required: the set-up first (Settings never asks this, so
            # no loop); the services refuse office work until then (access.require_staff).
            self._go(routes.SETTINGS_TWO_STEP)
            return None
        return viewer

    # --- the call path ---

    async def _call_service(self, work: Callable[[Session], Any], *, what: str, hashes: bool = False,
                            refusal: Optional[str] = NO_ACCESS, opens_db: bool = True) -> Outcome:
        """Run ``work(db)`` off the event loop and turn what it raises into a sentence.

        ``hashes``: the work checks or sets a password, so it runs in the bcrypt pool.
        ``refusal``: the sentence for a refusal (None: the service's own).
        ``opens_db``: False for work that reads no database: ``work()``, no unit of work.
        """
        run = run_in_bcrypt_pool if hashes else asyncio.to_thread
        try:
            value = await (run(_in_db, work) if opens_db else run(work))
            return Outcome(ok=True, value=value)
        except NotAllowed as exc:
            return Outcome(ok=False, error=self._tr(refusal) if refusal else exc.sentence(self.lang),
                           refused=True, msgid=refusal or exc.msgid)
        except LinkError as exc:
            return Outcome(ok=False, error=exc.sentence(self.lang), link=exc.reason, msgid=exc.msgid)
        except DomainError as exc:
            return Outcome(ok=False, error=exc.sentence(self.lang), field=exc.field or "",
                           msgid=exc.msgid)
        except Exception:
            log.exception("%s failed unexpectedly in %s", what or "an action", type(self).__name__)
            return Outcome(ok=False, error=self._something_wrong(), msgid=SOMETHING_WRONG_TEMPLATE)

    async def _run_work(self, viewer: Viewer, work: Optional[Callable[[Session, Viewer], Any]],
                        what: str, hashes: bool = False, refusal: Optional[str] = NO_ACCESS) -> Outcome:
        """``work(db, viewer)`` through the service call; no work: the viewer itself."""
        if work is None:
            return Outcome(ok=True, value=viewer)
        return await self._call_service(lambda db: work(db, viewer), what=what, hashes=hashes,
                                        refusal=refusal)

    async def _portal(self, work: Optional[Callable[[Session, Viewer], Any]] = None, *,
                      what: str = "", writes: bool = False) -> Outcome:
        """Work for the patient this tab shows. ``writes``: refused while the office views."""
        viewer = await self._tab_viewer(writes)
        if viewer is None:
            return LEFT
        if writes and viewer.view_as:
            return Outcome(ok=False, error=self._tr(READ_ONLY), refused=True, msgid=READ_ONLY)
        return await self._run_work(viewer, work, what)

    async def _office(self, work: Optional[Callable[[Session, Viewer], Any]] = None, *,
                      what: str = "") -> Outcome:
        """Work on an office page (staff only; the services check the role again)."""
        viewer = await self._staff_viewer()
        if viewer is None:
            return LEFT
        return await self._run_work(viewer, work, what, refusal=None)

    async def _own(self, work: Optional[Callable[[Session, Viewer], Any]] = None, *,
                   what: str = "", hashes: bool = False) -> Outcome:
        """Work on the signed-in person's own account (Settings)."""
        viewer = await self._person()
        if viewer is None:
            return LEFT
        return await self._run_work(viewer, work, what, hashes)

    async def _public(self, work: Callable[[Session], Any], *, what: str = "",
                      hashes: bool = False) -> Outcome:
        """Work of a signed-out flow (a link's token, a password): no person yet."""
        return await self._call_service(work, what=what, hashes=hashes, refusal=None)

    async def _no_db(self, work: Callable[[], Any], *, what: str) -> Outcome:
        """Work that reads no database (making a file from what was read): off the event
        loop, what it raises turned into a sentence, and no unit of work opened for it."""
        return await self._call_service(work, what=what, refusal=None, opens_db=False)

    async def _show_identity(self, viewer: Viewer) -> None:
        """The header: the person, the patient shown, the portals they can switch to."""
        self._apply_header(viewer, await asyncio.to_thread(_in_db, lambda db: page_header(db, viewer)))

    async def _open_with_header(self, viewer: Viewer,
                                work: Optional[Callable[[Session, Viewer], Any]], what: str,
                                extra: Optional[Callable[[Session, Viewer], Any]] = None,
                                refusal: Optional[str] = NO_ACCESS) -> tuple[Outcome, Any]:
        """A page's load in one unit of work and one trip to a thread: the header, ``extra``
        (the Messages badge; a refusal there leaves it out, never breaks the page), then the
        page's own work. Returns (the work's outcome, what ``extra`` gave or None).

        When the work is refused or fails, the header is still shown (read in a second
        unit: the first one's writes stand or roll back as the error says, db.session_scope).
        """
        def page(db: Session, v: Viewer):
            header = page_header(db, v)
            more = None
            if extra is not None:
                try:
                    more = extra(db, v)
                except NotAllowed:
                    more = None
            return header, more, (work(db, v) if work is not None else v)

        got = await self._run_work(viewer, page, what, refusal=refusal)
        if got.ok:
            header, more, value = got.value
            self._apply_header(viewer, header)
            return Outcome(ok=True, value=value), more
        header = await self._run_work(viewer, page_header, what="page header")
        if header.ok:
            self._apply_header(viewer, header.value)
        return got, None

    def _apply_header(self, viewer: Viewer, header: tuple[str, list]) -> None:
        """Sets only what changed: Reflex sends every var that was set, on every page open."""
        name, choices = header
        shown = {
            "signed_in": True,
            "user_name": viewer.user.full_name,
            "user_email": viewer.user.email,
            "is_staff": viewer.user.is_staff,
            "is_admin": viewer.user.is_admin,
            "patient_name": name,
            "relation": viewer.relation or "",
            "view_as": viewer.view_as,
            "hidden_areas": scopes.hidden_areas(viewer.relation, viewer.scope),
            "patient_choices": [
                PatientChoice(id=str(c.id), name=c.name,
                              label=self._tr(YOUR_RECORD) if c.relation == "self"
                              else self._tr(CAREGIVER_OF, name=c.name))
                for c in choices
            ],
        }
        self._set_changed(shown)

    def _set_changed(self, values: dict[str, Any]) -> None:
        """Sets only the vars whose value changed: Reflex sends every var that was set."""
        for var, value in values.items():
            if getattr(self, var) != value:
                setattr(self, var, value)

    # --- helpers (underscore: not callable from the browser) ---

    def _tr(self, msgid: str, **params: Any) -> str:
        """A sentence in the tab's language, its ``{placeholders}`` filled (a parameter may
        be a callable of the language: ``i18n.duration(policy.X)``)."""
        return i18n.fmt(self.lang, msgid, **params)

    def _something_wrong(self) -> str:
        return self._tr(SOMETHING_WRONG_TEMPLATE, phone=get_settings().office_phone)

    def _go(self, path: str) -> None:
        """Leave this page with a real page load (backend routes, or a fresh start).

        The nonce makes every navigation distinct, so a page that is reloaded with
        the same state does not navigate again.
        """
        joiner = "&" if "?" in path else "?"
        self.navigate_from = self.router.url.path or ""
        self.navigate_to = f"{path}{joiner}n={secrets.token_hex(6)}"

    def _flash(self, kind: str, text: str) -> None:
        """A toast ("success", "error" or "info"). Use instead of returning rx.toast (CSP).

        It names the page it was said on: the state outlives the page, and a page loaded
        afterwards (the next page, sign-in after signing out) must not say it again
        (components/flash.py shows each toast once, on its own page).
        """
        self.flash = {"kind": kind, "text": text, "id": secrets.token_hex(4),
                      "path": self.router.url.path or ""}

    def _signed_out(self, reason: str = "expired") -> None:
        # A page says "expired"; say more precisely why when the session lookup knows.
        if reason == "expired" and self._end_reason:
            reason = self._end_reason
        self.signed_in = False
        self.idle_warning = False
        # Back to this page after signing in again (a bookmark, an emailed link):
        # http.py and the sign-in page honour only our own page paths.
        url = self.router.url
        here = f"{url.path}?{url.query}" if url.query else url.path
        back = routes.return_path(here)
        self._go(f"{routes.AUTH_SIGN_OUT}?reason={reason}"
                 + (f"&next={quote(back, safe='/')}" if back else ""))

    # --- events ---

    async def sign_out(self):
        token = self._session_token()
        if token:
            await asyncio.to_thread(
                _in_db, lambda db: sessions.end_session(db, token, clock=utcnow))
        await self._reset_tab()
        self._go(routes.AUTH_SIGN_OUT)

    async def switch_patient(self, patient_id: str):
        try:
            wanted = int(patient_id)
        except (TypeError, ValueError):
            return
        viewer = await self._person()
        if viewer is None:
            return
        got = await self._run_work(viewer, lambda db, v: tab_access.switch_patient(
            db, v.user, v.session, wanted, clock=utcnow, client_ip=v.client_ip), what="switch patient")
        if not got.ok:
            return self._flash("error", self._tr(NO_PATIENT_ACCESS) if got.refused else got.error)
        await self._switch_tab_to(wanted)
        self._go(routes.HOME)

    async def back_to_admin(self):
        """End "View as patient" (in every tab of this session) and return to the admin page."""
        viewer = await self._person()
        if viewer is None or not viewer.user.is_staff:
            return
        await asyncio.to_thread(_in_db, lambda db: tab_access.end_view_as(db, viewer.user, viewer.session))
        await self._switch_tab_to(None)
        self._go(routes.ADMIN)

    def show_problem(self):
        """Shown after an error no handler caught (see carespace_app.calm_error)."""
        self._flash("error", self._something_wrong())

    async def set_language(self, lang: str):
        """The "English / Español" switch: the page changes at once (every text is in it
        already); a signed-in person's choice is saved to them (audited as a settings
        change), and the browser remembers it (components/i18n.py writes the cookie).
        Anyone may call it: it changes only this tab and, signed in, the caller's own
        account, which the service looks up from the tab's session."""
        if lang not in i18n.LANGUAGES:
            return
        tab = await self._bind_tab(touch=True)  # first: a reset here re-derives the language
        if self.lang != lang:
            self.lang = lang
        self._lang_known = True
        if not tab.signed_in:
            return
        viewer = Viewer(user=tab.user, session=tab.session, patient_id=tab.patient_id,
                        relation=tab.relation, client_ip=self._client_ip())
        got = await self._run_work(viewer, lambda db, v: language.choose_language(
            db, v.user, lang, clock=utcnow, client_ip=v.client_ip), what="language choice")
        if not got.ok:
            self._flash("error", got.error)
            return
        return RELOAD_ON_LANGUAGE.get(_trimmed(self.router.url.path or ""))

    async def check_idle(self):
        """"Am I still signed in?": the page asks when its countdown reaches the warning or
        the end (components/idle.py), and when another tab of the browser signed in or out.
        The question is not activity itself. A session still live (activity in another tab
        moved its deadline) sends the new deadline, so the countdown starts again."""
        tab = await self._bind_tab(touch=False)
        if not tab.signed_in:
            self._signed_out()
            return
        idle = (utcnow() - tab.session.last_seen_at).total_seconds()
        warn = idle >= policy.IDLE_WARNING.total_seconds()
        # Only a change is sent: an unchanged var set would still go to the browser and
        # re-render the page under the user's hands (an open menu, a form).
        if warn != self.idle_warning:
            self.idle_warning = warn
        self._send_clock(tab, fresh=True)

    async def stay_signed_in(self):
        """"Stay signed in", and a keystroke or press in the page (components/idle.py, at most
        once every 30 s): this event is the activity (the lookup records it)."""
        tab = await self._bind_tab(touch=True)
        if not tab.signed_in:
            return self._signed_out()
        if self.idle_warning:  # only a change is sent: typing must not re-render the page
            self.idle_warning = False
