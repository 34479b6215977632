"""Admin › Audit log: who did what, for which patient, when; newest first."""
from __future__ import annotations

from datetime import date
from typing import Optional

import reflex as rx

from ..clock import utcnow
from ..services import audit_log
from ..timefmt import when
from .admin import AdminState

PAGE_SIZE = 50
FILTERS = ("mrn", "actor_email", "action", "from_day", "to_day")


def _day(text: str) -> Optional[date]:
    try:
        return date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


class AdminAuditState(AdminState):
    filters: dict[str, str] = {name: "" for name in FILTERS}
    events: list[dict[str, str]] = []
    offset: int = 0
    has_more: bool = False

    async def _refresh(self, viewer, offset: int):
        f = dict(self.filters)
        got = await self._act(viewer, lambda db, v: audit_log.list_events(
            db, v.user, mrn=f["mrn"], actor_email=f["actor_email"], action=f["action"],
            from_day=_day(f["from_day"]), to_day=_day(f["to_day"]), offset=offset,
            limit=PAGE_SIZE, clock=utcnow, client_ip=v.client_ip))
        if not got.ok:
            return self._flash("error", got.error)
        page = got.value
        self.offset, self.has_more = page.offset, page.has_more
        self.events = [{"id": str(e.id), "at": when(e.at),
                        "actor": f"{e.actor_name} <{e.actor_email}>" if e.actor_email else "—",
                        "role": e.actor_role,
                        "patient": f"{e.patient_name} ({e.mrn})" if e.mrn else "",
                        "action": e.action, "detail": e.detail, "ip": e.client_ip}
                       for e in page.items]

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return
        return await self._refresh(viewer, 0)

    async def apply_filters(self, form: dict):
        viewer = await self._staff()
        if viewer is None:
            return
        self.filters = {name: str(form.get(name, ""))[:320] for name in FILTERS}
        return await self._refresh(viewer, 0)

    async def next_page(self):
        viewer = await self._staff()
        if viewer is None:
            return
        return await self._refresh(viewer, self.offset + PAGE_SIZE)

    async def previous_page(self):
        viewer = await self._staff()
        if viewer is None:
            return
        return await self._refresh(viewer, max(0, self.offset - PAGE_SIZE))
