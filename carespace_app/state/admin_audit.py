"""Admin › Audit log: who did what, for which patient, when; newest first."""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Optional

from carespace_app.clock import utcnow
from carespace_app.services.audit import office_log
from carespace_app.timefmt import when
from carespace_app.state.admin import AdminState

PAGE_SIZE = 50
FILTERS = ("mrn", "actor_email", "action", "from_day", "to_day")


def _day(text: str) -> Optional[date]:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


@dataclasses.dataclass
class AuditRow:
    id: str = ""
    at: str = ""
    actor: str = ""
    role: str = ""
    patient: str = ""
    action: str = ""
    detail: str = ""
    ip: str = ""


class AdminAuditState(AdminState):
    filters: dict[str, str] = {name: "" for name in FILTERS}
    events: list[AuditRow] = []
    offset: int = 0
    has_more: bool = False

    def _page(self, offset: int, filters: Optional[dict[str, str]] = None):
        f = dict(self.filters if filters is None else filters)
        return lambda db, v: office_log.list_events(
            db, v.user, mrn=f["mrn"], actor_email=f["actor_email"], action=f["action"],
            from_day=_day(f["from_day"]), to_day=_day(f["to_day"]), offset=offset,
            limit=PAGE_SIZE, clock=utcnow, client_ip=v.client_ip)

    def _show(self, got):
        if not got.ok:
            return self._flash("error", got.error)
        page = got.value
        self.offset, self.has_more = page.offset, page.has_more
        self.events = [AuditRow(id=str(e.id), at=when(e.at),
                                actor=(f"{e.actor_name} <{e.actor_email}>" if e.actor_email
                                       else e.actor_name or "—"),
                                role=e.actor_role,
                                patient=f"{e.patient_name} ({e.mrn})" if e.mrn else "",
                                action=e.action, detail=e.detail, ip=e.client_ip)
                       for e in page.items]

    async def _refresh(self, offset: int):
        got = await self._office(self._page(offset), what="audit log")
        if got.left:
            return
        return self._show(got)

    async def load(self):
        got = await self._open_section(self._page(0), what="audit log")
        if got.left:
            return
        return self._show(got)

    async def apply_filters(self, form: dict):
        filters = {name: str(form.get(name, ""))[:320] for name in FILTERS}
        got = await self._office(self._page(0, filters), what="audit log")
        if got.left:
            return
        self.filters = filters
        return self._show(got)

    async def next_page(self):
        return await self._refresh(self.offset + PAGE_SIZE)

    async def previous_page(self):
        return await self._refresh(max(0, self.offset - PAGE_SIZE))
