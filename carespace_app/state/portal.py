"""States of the portal pages. Each page's load re-resolves the session from the cookie."""
from __future__ import annotations

import logging
from typing import Optional

from ..clock import utcnow
from ..db import session_scope
from ..services import appointments, labs, messaging
from ..services.errors import DomainError, NotAllowed
from .. import timefmt
from .session import SessionState, Viewer

log = logging.getLogger("carespace.portal")

SOMETHING_WRONG = ("Something went wrong on our side. Please try again in a minute; "
                   "if it keeps happening, call the office at (479) 587-1700.")
NO_ACCESS = "You don't have access to that. Go back to Home and try again."
HOME_LIST = 3  # Home shows a glimpse; each tab has the whole list


def problem_message(exc: BaseException, what: str) -> str:
    """The sentence a person sees for a failed action; unexpected errors are logged, not shown."""
    if isinstance(exc, NotAllowed):
        return NO_ACCESS
    if isinstance(exc, DomainError):
        return str(exc)
    log.error("%s failed unexpectedly", what, exc_info=exc)
    return SOMETHING_WRONG


def flag_icon(flag: str) -> str:
    """Icon beside a flag's words (the words carry the meaning; the icon only helps)."""
    if flag.startswith("critical"):
        return "triangle-alert"
    if flag == "high":
        return "arrow-up"
    if flag == "low":
        return "arrow-down"
    return ""


def _unread(viewer: Viewer) -> int:
    with session_scope() as db:
        return messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)


class PortalState(SessionState):
    """Base of the portal pages' states: who is signed in, which patient is shown."""

    # The Messages tab's badge: conversations with a care-team reply this reader hasn't opened.
    unread_messages: int = 0

    async def _enter(self, unread: bool = True) -> Optional[Viewer]:
        """On every portal page load: None means "send them to sign in".

        ``unread=False`` for a page that counts the unread conversations itself (Messages):
        the count reads every conversation of the patient, so it is done once per load.
        """
        viewer = await self._portal_viewer()
        if viewer is None:
            return None
        await self._show_identity(viewer)
        if unread:
            await self._refresh_unread(viewer)
        return viewer

    async def _refresh_unread(self, viewer: Viewer) -> None:
        try:
            self.unread_messages = await self._run(_unread, viewer)
        except Exception:  # a missing badge must never break the page it sits on
            log.exception("unread count failed")


def _home_summary(viewer: Viewer) -> dict:
    with session_scope() as db:
        visits = appointments.upcoming(db, viewer.user, viewer.patient_id, limit=HOME_LIST,
                                       clock=utcnow).items
        threads = messaging.list_threads(db, viewer.user, viewer.patient_id, limit=HOME_LIST,
                                         clock=utcnow).items
        reports = labs.latest_reports(db, viewer.user, viewer.patient_id, limit=HOME_LIST,
                                      clock=utcnow)
    return {
        "visits": [{"id": str(v.id), "when": timefmt.when(v.starts_at),
                    "type": v.appointment_type, "provider": v.provider, "location": v.location}
                   for v in visits],
        "threads": [{"id": str(t.id), "subject": t.subject, "category": t.category,
                     "when": timefmt.when(t.last_message_at), "unread": "yes" if t.unread else ""}
                    for t in threads],
        "reports": [{"id": str(r.id), "panel": r.panel, "resulted": timefmt.when(r.resulted_at),
                     "abnormal": ", ".join(f"{v.test_name} {v.flag_label.lower()}"
                                           for v in r.results if v.flag_label),
                     "abnormal_count": str(r.abnormal_count)}
                    for r in reports],
    }


class HomeState(PortalState):
    first_name: str = ""
    visits: list[dict[str, str]] = []
    threads: list[dict[str, str]] = []
    reports: list[dict[str, str]] = []
    loaded: bool = False
    error: str = ""

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")
        self.first_name = viewer.user.full_name.split(" ")[0]
        self.error = ""
        try:
            summary = await self._run(_home_summary, viewer)
        except Exception as exc:
            self.error = problem_message(exc, "home summary")
            self.loaded = True
            return
        self.visits = summary["visits"]
        self.threads = summary["threads"]
        self.reports = summary["reports"]
        self.loaded = True
