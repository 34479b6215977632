"""Appointments: upcoming (soonest first) and past, each paged on its own."""
from __future__ import annotations

from .. import routes, timefmt
from ..clock import utcnow
from ..db import session_scope
from ..models import APPOINTMENT_CANCELLED
from ..services import appointments
from .portal import PortalState, problem_message
from .session import Viewer

PAGE_SIZE = 10


def _row(a: appointments.AppointmentView) -> dict[str, str]:
    return {
        "id": str(a.id),
        "day": timefmt.day(a.starts_at),
        "time": f"{timefmt.time_only(a.starts_at)} – {timefmt.time_only(a.ends_at)}",
        "type": a.appointment_type,
        "provider": a.provider,
        "location": a.location,
        "instructions": a.instructions,
        "cancelled": "yes" if a.status == APPOINTMENT_CANCELLED else "",
        # A backend route: the browser asks for it with its session cookie, and the
        # route checks access to this appointment itself.
        "calendar": f"{routes.CALENDAR}/{a.id}.ics",
    }


def _pages(viewer: Viewer):
    with session_scope() as db:
        soon = appointments.upcoming(db, viewer.user, viewer.patient_id, limit=PAGE_SIZE,
                                     clock=utcnow)
        before = appointments.past(db, viewer.user, viewer.patient_id, limit=PAGE_SIZE,
                                   clock=utcnow)
    return soon, before


def _more(viewer: Viewer, upcoming_ones: bool, offset: int):
    read = appointments.upcoming if upcoming_ones else appointments.past
    with session_scope() as db:
        return read(db, viewer.user, viewer.patient_id, offset=offset, limit=PAGE_SIZE,
                    clock=utcnow)


class AppointmentsState(PortalState):
    upcoming: list[dict[str, str]] = []
    past: list[dict[str, str]] = []
    upcoming_more: bool = False
    past_more: bool = False
    loaded: bool = False
    error: str = ""

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")
        self.error = ""
        try:
            soon, before = await self._run(_pages, viewer)
        except Exception as exc:
            self.error = problem_message(exc, "appointments")
            self.loaded = True
            return
        self.upcoming = [_row(a) for a in soon.items]
        self.past = [_row(a) for a in before.items]
        self.upcoming_more, self.past_more = soon.has_more, before.has_more
        self.loaded = True

    async def _append(self, upcoming_ones: bool) -> None:
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")
        shown = self.upcoming if upcoming_ones else self.past
        try:
            page = await self._run(_more, viewer, upcoming_ones, len(shown))
        except Exception as exc:
            self.error = problem_message(exc, "more appointments")
            return
        # Ids already on screen are skipped: a visit may have moved while the page was open.
        seen = {row["id"] for row in shown}
        rows = shown + [_row(a) for a in page.items if str(a.id) not in seen]
        if upcoming_ones:
            self.upcoming, self.upcoming_more = rows, page.has_more
        else:
            self.past, self.past_more = rows, page.has_more

    async def more_upcoming(self):
        return await self._append(True)

    async def more_past(self):
        return await self._append(False)
