"""States of the portal pages: each page's load goes through SessionState's call path."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Optional

from sqlmodel import Session

from carespace_app import routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.services.permissions import access, scopes
from carespace_app.services.records import appointments
from carespace_app.services.records import checkins
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.i18n import N_
from carespace_app.state.session import LEFT, NO_ACCESS, RELOAD_ON_LANGUAGE, SOMETHING_WRONG, Outcome, SessionState, Viewer

log = logging.getLogger("carespace.portal")

__all__ = ["PortalState", "HomeState", "NO_ACCESS", "SOMETHING_WRONG", "flag_icon"]
HOME_LIST = 3  # Home shows a glimpse; each tab has the whole list


def flag_icon(flag: str) -> str:
    """Icon beside a flag's words (the words carry the meaning; the icon only helps)."""
    if flag.startswith("critical"):
        return "triangle-alert"
    if flag == "high":
        return "arrow-up"
    if flag == "low":
        return "arrow-down"
    return ""


class PortalState(SessionState):
    """Base of the portal pages' states: who is signed in, which patient this tab shows."""

    # The Messages tab's badge: conversations with a care-team reply this reader hasn't opened.
    unread_messages: int = 0

    async def _open_page(self, work: Optional[Callable[[Session, Viewer], Any]] = None, *,
                         area: Optional[str], unread: bool = True, what: str = "") -> Outcome:
        """A portal page's load: the header, the unread badge, then the page's own work.

        ``area`` (scopes.AREA_*, None for the person's own pages): a caregiver whose access
        does not reach it gets the notice instead of the page, and the refusal is audited,
        in the same trip (the viewer's scope came with the tab's own look-up).
        ``unread=False`` for a page that counts the unread conversations itself (Messages).
        """
        viewer = await self._tab_viewer()
        if viewer is None:
            return LEFT
        if area is not None and area not in viewer.areas:
            await self._open_with_header(viewer, _refuse_area(area, what), what)
            self._set_changed({"blocked_area": area, "unread_messages": 0,
                               "blocked_notice": scopes.outside_scope_text(self.patient_name, area, self.lang)})
            return LEFT
        self._set_changed({"blocked_area": "", "blocked_notice": ""})
        # A caregiver whose access leaves messages out has no badge: nothing is counted.
        badge = (lambda db, v: messaging.unread_count(db, v.user, v.patient_id, clock=utcnow)) \
            if unread and scopes.AREA_MESSAGES in viewer.areas else None
        got, counted = await self._open_with_header(viewer, work, what, extra=badge)
        if counted is not None and counted != self.unread_messages:
            self.unread_messages = counted
        return got


def _refuse_area(area: str, what: str) -> Callable[[Session, Viewer], Any]:
    """A page load outside the caregiver's access: refused by the access check (audited)."""
    return lambda db, v: access.require_access(db, v.user, v.patient_id, area=area,
                                               action=f"page: {what or area}", clock=utcnow,
                                               client_ip=v.client_ip)


@dataclasses.dataclass
class VisitRow:
    id: str = ""
    when: str = ""
    type: str = ""
    provider: str = ""
    location: str = ""


@dataclasses.dataclass
class ThreadRow:
    id: str = ""
    subject: str = ""
    category: str = ""
    when: str = ""
    unread: bool = False


@dataclasses.dataclass
class ReportRow:
    id: str = ""
    panel: str = ""
    resulted: str = ""
    # "Hemoglobin low, Platelets critical low"; "" when every result is within the range.
    abnormal: str = ""
    abnormal_count: int = 0


def _home_summary(db: Session, viewer: Viewer, lang: str = "en") -> dict:
    """Home's glimpse of each area the viewer's access reaches (the services check it too)."""
    reached = access.require_areas(db, viewer.user, viewer.patient_id, action="home.view",
                                   clock=utcnow, client_ip=viewer.client_ip).areas
    visits = appointments.upcoming(db, viewer.user, viewer.patient_id, limit=HOME_LIST,
                                   clock=utcnow).items if scopes.AREA_APPOINTMENTS in reached else []
    threads = messaging.list_threads(db, viewer.user, viewer.patient_id, limit=HOME_LIST,
                                     clock=utcnow).items if scopes.AREA_MESSAGES in reached else []
    reports = (labs.latest_reports(db, viewer.user, viewer.patient_id, limit=HOME_LIST, clock=utcnow)
               if scopes.AREA_LABS in reached else [])
    due = (checkins.due_for(db, viewer.user, viewer.patient_id, clock=utcnow)
           if scopes.AREA_CHECKINS in reached else None)
    return {
        "checkin_due": due is not None,
        "visits": [VisitRow(id=str(v.id), when=timefmt.when(v.starts_at, lang=lang), type=v.appointment_type,
                            provider=v.provider, location=v.location)
                   for v in visits],
        "threads": [ThreadRow(id=str(t.id), subject=t.subject, category=t.category,
                              when=timefmt.when(t.last_message_at, lang=lang), unread=t.unread)
                    for t in threads],
        "reports": [ReportRow(id=str(r.id), panel=r.panel, resulted=timefmt.when(r.resulted_at, lang=lang),
                              abnormal=", ".join(f"{v.test_name} {v.flag_label.lower()}"
                                                 for v in r.results if v.flag_label),
                              abnormal_count=r.abnormal_count)
                    for r in reports],
    }


WELCOME = N_("Welcome, {first_name}")
OFFICE_VIEW = N_("{patient}'s portal")  # the office viewing it: not greeted by their own name
OWN_VISITS = N_("Your next visits")
THEIR_VISITS = N_("{first_name}'s next visits")  # a caregiver, or the office viewing


class HomeState(PortalState):
    first_name: str = ""
    greeting: str = ""
    visits_title: str = OWN_VISITS
    visits: list[VisitRow] = []
    threads: list[ThreadRow] = []
    reports: list[ReportRow] = []
    # "Your check-in is due" on top, while a symptom check-in waits for an answer.
    checkin_due: bool = False
    loaded: bool = False
    error: str = ""

    async def load(self):
        lang = self.lang
        got = await self._open_page(lambda db, v: _home_summary(db, v, lang),
                                    area=scopes.AREA_HOME, what="home summary")
        if got.left:
            return
        patient_first = self.patient_name.split(" ")[0]
        first_name = self.user_name.split(" ")[0]
        shown = {
            "first_name": first_name,
            "greeting": (self._tr(OFFICE_VIEW, patient=self.patient_name) if self.view_as
                         else self._tr(WELCOME, first_name=first_name)),
            "visits_title": (self._tr(OWN_VISITS) if self.relation == "self"
                             else self._tr(THEIR_VISITS, first_name=patient_first)),
            "error": got.error,
            "loaded": True,
        }
        if got.ok:
            shown.update(got.value)
        self._set_changed(shown)


# Home has no form: after the language switch it loads again (dates, greeting, the header).
RELOAD_ON_LANGUAGE[routes.HOME] = HomeState.load
