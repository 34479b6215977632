"""Admin › Outbox: every email and how it went. Never the link or the body."""
from __future__ import annotations

import dataclasses
from typing import Optional

from carespace_app.clock import utcnow
from carespace_app.services.mail import notifications
from carespace_app.services.mail import office_outbox
from carespace_app.timefmt import when
from carespace_app.state.admin import AdminState, int_or_none

PAGE_SIZE = 50
ANY = "any"


@dataclasses.dataclass
class EmailRow:
    """An email as the Outbox lists it: never its link or body."""

    id: str = ""
    to_address: str = ""
    subject: str = ""
    kind: str = ""
    status: str = ""
    attempts: int = 0
    error: str = ""
    created: str = ""
    retry: bool = False


class AdminOutboxState(AdminState):
    status: str = ANY
    statuses: list[str] = [ANY, *office_outbox.STATUSES]
    emails: list[EmailRow] = []
    offset: int = 0
    has_more: bool = False

    def _page(self, offset: int, status: Optional[str] = None):
        status = self.status if status is None else status
        wanted = "" if status == ANY else status
        return lambda db, v: office_outbox.list_emails(
            db, v.user, status=wanted, offset=offset, limit=PAGE_SIZE, clock=utcnow,
            client_ip=v.client_ip)

    def _show(self, got):
        if not got.ok:
            return self._flash("error", got.error)
        page = got.value
        self.offset, self.has_more = page.offset, page.has_more
        self.emails = [EmailRow(id=str(e.id), to_address=e.to_address, subject=e.subject,
                                kind=notifications.kind_in_words(e.kind),
                                status=e.status, attempts=e.attempts, error=e.last_error,
                                created=when(e.created_at),
                                retry=e.status in office_outbox.RETRYABLE)
                       for e in page.items]

    async def _refresh(self, offset: int):
        got = await self._office(self._page(offset), what="outbox")
        if got.left:
            return
        return self._show(got)

    async def load(self):
        got = await self._open_section(self._page(0), what="outbox")
        if got.left:
            return
        return self._show(got)

    async def filter_status(self, form: dict):
        status = str(form.get("status", ANY))
        status = status if status in self.statuses else ANY
        got = await self._office(self._page(0, status), what="outbox")
        if got.left:
            return
        self.status = status
        return self._show(got)

    async def next_page(self):
        return await self._refresh(self.offset + PAGE_SIZE)

    async def previous_page(self):
        return await self._refresh(max(0, self.offset - PAGE_SIZE))

    async def retry(self, email_id: str):
        wanted = int_or_none(email_id)
        done = await self._office(lambda db, v: office_outbox.retry_email(
            db, v.user, wanted, clock=utcnow, client_ip=v.client_ip), what="retry email")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh(self.offset)
        return self._flash("success", f"The email to {done.value.to_address} will be sent again now.")
