"""Admin › Messages: every conversation across patients, filtered, opened and answered.

Opening a conversation marks it read by staff; the patient is emailed a
content-free "You have a new message" when staff reply (messaging.reply does it).
"""
from __future__ import annotations

import secrets

import reflex as rx

from ..clock import utcnow
from ..models import MESSAGE_CATEGORIES, THREAD_CLOSED, THREAD_NEW, THREAD_OPEN
from ..services import messaging
from ..timefmt import when
from .admin import AdminState, int_or_none

PAGE_SIZE = 25
ANY = "any"


class AdminMessagesState(AdminState):
    category: str = ANY
    status: str = ANY
    unread_only: bool = False
    offset: int = 0
    has_more: bool = False
    queue: list[dict[str, str]] = []
    categories: list[str] = [ANY, *MESSAGE_CATEGORIES]
    statuses: list[str] = [ANY, THREAD_NEW, THREAD_OPEN, THREAD_CLOSED]
    # The open conversation.
    thread: dict[str, str] = {}
    thread_messages: list[dict[str, str]] = []
    reply_error: str = ""
    reply_version: int = 0
    # One key per reply form shown: a double-click or a retried event is stored once.
    _reply_key: str = ""

    async def _refresh(self, viewer, offset: int):
        category = None if self.category == ANY else self.category
        status = None if self.status == ANY else self.status
        got = await self._act(viewer, lambda db, v: messaging.staff_queue(
            db, v.user, category=category, status=status, unread_only=self.unread_only,
            offset=offset, limit=PAGE_SIZE, clock=utcnow))
        if not got.ok:
            return self._flash("error", got.error)
        page = got.value
        self.offset, self.has_more = page.offset, page.has_more
        self.queue = [{"id": str(t.id), "patient": t.patient_name, "mrn": t.mrn,
                       "patient_id": str(t.patient_id), "category": t.category,
                       "subject": t.subject, "status": t.status, "last": when(t.last_message_at),
                       "unread": "Unread" if t.unread_by_staff else "",
                       "replied_by": t.last_replied_by or ""} for t in page.items]

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return
        self.thread, self.thread_messages = {}, []
        wanted = int_or_none(self._page_param("thread"))
        if wanted:
            await self._open(viewer, wanted)
        return await self._refresh(viewer, 0)

    async def apply_filters(self, form: dict):
        viewer = await self._staff()
        if viewer is None:
            return
        category, status = str(form.get("category", ANY)), str(form.get("status", ANY))
        self.category = category if category in self.categories else ANY
        self.status = status if status in self.statuses else ANY
        self.unread_only = str(form.get("unread_only", "")) in ("on", "true", "yes")
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

    async def _open(self, viewer, thread_id):
        got = await self._act(viewer, lambda db, v: messaging.open_thread(db, v.user, thread_id,
                                                                          clock=utcnow))
        if not got.ok:
            self.thread, self.thread_messages = {}, []
            return self._flash("error", got.error)
        t = got.value
        self.thread = {"id": str(t.id), "subject": t.subject, "category": t.category,
                       "status": t.status, "patient": t.patient_name,
                       "patient_id": str(t.patient_id), "started": when(t.created_at)}
        self.thread_messages = [
            {"id": str(m.id), "author": m.author_name, "from": "Office" if m.from_staff else "Patient side",
             "body": m.body, "at": when(m.created_at)} for m in t.messages]
        self._reply_key = secrets.token_hex(16)
        self.reply_error = ""

    async def open_thread(self, thread_id: str):
        viewer = await self._staff()
        if viewer is None:
            return
        problem = await self._open(viewer, int_or_none(thread_id))
        await self._refresh(viewer, self.offset)  # it is read now
        return problem

    async def close_thread_view(self):
        viewer = await self._staff()
        if viewer is None:
            return
        self.thread, self.thread_messages = {}, []

    async def send_reply(self, form: dict):
        viewer = await self._staff()
        if viewer is None:
            return
        thread_id, key = int_or_none(self.thread.get("id", "")), self._reply_key
        sent = await self._act(viewer, lambda db, v: messaging.reply(
            db, v.user, thread_id, body=str(form.get("reply", "")), client_key=key, clock=utcnow))
        if not sent.ok:
            self.reply_error = sent.error
            return
        self.reply_version += 1
        await self._open(viewer, thread_id)
        await self._refresh(viewer, self.offset)
        return self._flash("success", "Reply sent. The patient gets an email telling them to sign in.")

    async def _set_status(self, status: str, said: str):
        viewer = await self._staff()
        if viewer is None:
            return
        thread_id = int_or_none(self.thread.get("id", ""))
        done = await self._act(viewer, lambda db, v: messaging.set_thread_status(
            db, v.user, thread_id, status, clock=utcnow))
        if not done.ok:
            return self._flash("error", done.error)
        self.thread["status"] = status
        await self._refresh(viewer, self.offset)
        return self._flash("success", said)

    async def close_thread(self):
        return await self._set_status(THREAD_CLOSED, "Conversation closed.")

    async def reopen_thread(self):
        return await self._set_status(THREAD_OPEN, "Conversation reopened.")
