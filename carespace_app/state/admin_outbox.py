"""Admin › Outbox: every email and how it went. Never the link or the body."""
from __future__ import annotations

import reflex as rx

from ..clock import utcnow
from ..services import office_outbox
from ..timefmt import when
from .admin import AdminState, int_or_none

PAGE_SIZE = 50
ANY = "any"


class AdminOutboxState(AdminState):
    status: str = ANY
    statuses: list[str] = [ANY, *office_outbox.STATUSES]
    emails: list[dict[str, str]] = []
    offset: int = 0
    has_more: bool = False

    async def _refresh(self, viewer, offset: int):
        status = "" if self.status == ANY else self.status
        got = await self._act(viewer, lambda db, v: office_outbox.list_emails(
            db, v.user, status=status, offset=offset, limit=PAGE_SIZE, clock=utcnow,
            client_ip=v.client_ip))
        if not got.ok:
            return self._flash("error", got.error)
        page = got.value
        self.offset, self.has_more = page.offset, page.has_more
        self.emails = [{"id": str(e.id), "to": e.to_address, "subject": e.subject, "kind": e.kind,
                        "status": e.status, "attempts": str(e.attempts), "error": e.last_error,
                        "created": when(e.created_at),
                        "retry": "yes" if e.status in office_outbox.RETRYABLE else ""}
                       for e in page.items]

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return
        return await self._refresh(viewer, 0)

    async def filter_status(self, form: dict):
        viewer = await self._staff()
        if viewer is None:
            return
        status = str(form.get("status", ANY))
        self.status = status if status in self.statuses else ANY
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

    async def retry(self, email_id: str):
        viewer = await self._staff()
        if viewer is None:
            return
        wanted = int_or_none(email_id)
        done = await self._act(viewer, lambda db, v: office_outbox.retry_email(
            db, v.user, wanted, clock=utcnow, client_ip=v.client_ip))
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh(viewer, self.offset)
        return self._flash("success", f"The email to {done.value.to_address} will be sent again now.")
