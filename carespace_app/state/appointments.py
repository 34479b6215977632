"""Appointments: upcoming (soonest first) and past, each paged on its own."""
from __future__ import annotations

import dataclasses

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.models import APPOINTMENT_CANCELLED
from carespace_app.services.permissions import scopes
from carespace_app.services.records import appointments
from carespace_app.state.portal import PortalState
from carespace_app.state.session import RELOAD_ON_LANGUAGE, Viewer

PAGE_SIZE = 10
CANCELLED = N_("Cancelled")
PAST = N_("Past")
TIME_SPAN = N_("{start} – {end}")


@dataclasses.dataclass
class AppointmentRow:
    id: str = ""
    day: str = ""
    # A word beside the day: a cancelled visit stays listed; a visit before now is past.
    status: str = ""
    time: str = ""
    type: str = ""
    provider: str = ""
    location: str = ""
    instructions: str = ""
    cancelled: bool = False
    # A backend route: the browser asks for it with its session cookie, and the route
    # checks access to this appointment itself.
    calendar: str = ""


def _row(a: appointments.AppointmentView, lang: str = "en") -> AppointmentRow:
    cancelled = a.status == APPOINTMENT_CANCELLED
    status = CANCELLED if cancelled else PAST if a.starts_at < utcnow() else ""
    return AppointmentRow(
        id=str(a.id),
        day=timefmt.day(a.starts_at, lang=lang),
        status=i18n.gettext(lang, status),
        time=i18n.fmt(lang, TIME_SPAN, start=timefmt.time_only(a.starts_at, lang=lang),
                      end=timefmt.time_only(a.ends_at, lang=lang)),
        type=appointments.type_in_words(a.appointment_type, lang),
        provider=a.provider,
        location=a.location,
        instructions=a.instructions,
        cancelled=cancelled,
        calendar=f"{routes.CALENDAR}/{a.id}.ics",
    )


def _pages(db, viewer: Viewer):
    soon = appointments.upcoming(db, viewer.user, viewer.patient_id, limit=PAGE_SIZE, clock=utcnow,
                                 include_cancelled=True)
    before = appointments.past(db, viewer.user, viewer.patient_id, limit=PAGE_SIZE, clock=utcnow)
    return soon, before


def _more(upcoming_ones: bool, offset: int):
    if upcoming_ones:
        return lambda db, viewer: appointments.upcoming(
            db, viewer.user, viewer.patient_id, offset=offset, limit=PAGE_SIZE, clock=utcnow,
            include_cancelled=True)
    return lambda db, viewer: appointments.past(db, viewer.user, viewer.patient_id, offset=offset,
                                                limit=PAGE_SIZE, clock=utcnow)


class AppointmentsState(PortalState):
    upcoming: list[AppointmentRow] = []
    past: list[AppointmentRow] = []
    upcoming_more: bool = False
    past_more: bool = False
    loaded: bool = False
    error: str = ""

    async def load(self):
        got = await self._open_page(_pages, area=scopes.AREA_APPOINTMENTS, what="appointments")
        if got.left:
            return
        self.loaded = True
        self.error = got.error
        if got.ok:
            soon, before = got.value
            self.upcoming = [_row(a, self.lang) for a in soon.items]
            self.past = [_row(a, self.lang) for a in before.items]
            self.upcoming_more, self.past_more = soon.has_more, before.has_more

    async def _append(self, upcoming_ones: bool) -> None:
        shown = self.upcoming if upcoming_ones else self.past
        got = await self._portal(_more(upcoming_ones, len(shown)), what="more appointments")
        if not got.ok:
            self.error = got.error
            return
        page = got.value
        # Ids already on screen are skipped: a visit may have moved while the page was open.
        seen = {row.id for row in shown}
        rows = shown + [_row(a, self.lang) for a in page.items if str(a.id) not in seen]
        if upcoming_ones:
            self.upcoming, self.upcoming_more = rows, page.has_more
        else:
            self.past, self.past_more = rows, page.has_more

    async def more_upcoming(self):
        return await self._append(True)

    async def more_past(self):
        return await self._append(False)


# No form: after the language switch the list loads again, its dates in the new language.
RELOAD_ON_LANGUAGE[routes.APPOINTMENTS] = AppointmentsState.load
