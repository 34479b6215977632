"""Messages: the patient's conversations with the office.

The patient comes from the server-side session (viewer.patient_id), never from the
browser; a thread id from the browser goes to the service, which checks that the
conversation belongs to a patient this person may see.
"""
from __future__ import annotations

import uuid

import reflex as rx

from .. import timefmt
from ..clock import utcnow
from ..db import session_scope
from ..services import messaging
from .portal import PortalState, problem_message
from .session import Viewer

PAGE_SIZE = 20
MAX_FIELD = messaging.BODY_MAX + 100  # longer is refused by the service with the reason


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _thread_row(t: messaging.ThreadSummary) -> dict[str, str]:
    return {"id": str(t.id), "category": t.category, "subject": t.subject,
            "when": timefmt.when(t.last_message_at), "unread": "yes" if t.unread else "",
            "count": str(t.message_count)}


def _message_row(m: messaging.MessageView) -> dict[str, str]:
    if m.mine:
        author = "You"
    elif m.from_staff:
        author = f"{m.author_name} (care team)"
    else:
        author = m.author_name  # the patient, or a caregiver writing for them
    return {"id": str(m.id), "author": author, "when": timefmt.when(m.created_at), "body": m.body,
            "from_staff": "yes" if m.from_staff else "", "mine": "yes" if m.mine else ""}


def _list_page(viewer: Viewer, offset: int):
    with session_scope() as db:
        page = messaging.list_threads(db, viewer.user, viewer.patient_id, offset=offset,
                                      limit=PAGE_SIZE, clock=utcnow)
        unread = messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)
    return page, unread


def _open(viewer: Viewer, thread_id: int):
    with session_scope() as db:
        view = messaging.open_thread(db, viewer.user, thread_id, clock=utcnow)
        unread = messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)
    return view, unread


class MessagesState(PortalState):
    threads: list[dict[str, str]] = []
    offset: int = 0
    has_more: bool = False
    loaded: bool = False
    error: str = ""
    notice: str = ""

    compose_open: bool = False
    compose_error: str = ""
    sending: bool = False

    thread_id: str = ""
    thread_subject: str = ""
    thread_category: str = ""
    thread_messages: list[dict[str, str]] = []
    reply_error: str = ""
    replying: bool = False
    # One key per compose / per reply: a double click or a retry is stored once.
    _compose_key: str = ""
    _reply_key: str = ""

    async def load(self):
        viewer = await self._enter(unread=False)  # the list below brings the badge's count
        if viewer is None:
            return self._signed_out("expired")
        self.error = self.notice = ""
        self.compose_open = False
        self.thread_id = ""
        await self._show_page(viewer, 0)
        wanted = self.router.url.query_parameters.get("thread", "")
        if wanted:
            await self._open_thread(viewer, wanted)

    async def _show_page(self, viewer: Viewer, offset: int) -> None:
        try:
            page, unread = await self._run(_list_page, viewer, max(0, offset))
        except Exception as exc:
            self.error = problem_message(exc, "message list")
            self.loaded = True
            return
        self.threads = [_thread_row(t) for t in page.items]
        self.offset, self.has_more = page.offset, page.has_more
        self.unread_messages = unread
        self.loaded = True

    async def _open_thread(self, viewer: Viewer, thread_id: str) -> None:
        try:
            wanted = int(thread_id)
        except (TypeError, ValueError):
            self.error = "That conversation was not found. Open it again from the list."
            return
        try:
            view, unread = await self._run(_open, viewer, wanted)
        except Exception as exc:
            self.error = problem_message(exc, "open conversation")
            return
        self.thread_id = str(view.id)
        self.thread_subject = view.subject
        self.thread_category = view.category
        self.thread_messages = [_message_row(m) for m in view.messages]
        self.unread_messages = unread
        self.reply_error = ""
        self._reply_key = uuid.uuid4().hex
        # The opened conversation is read now: the list's marker goes too.
        self.threads = [{**t, "unread": ""} if t["id"] == self.thread_id else t for t in self.threads]

    # --- events ---

    async def next_page(self):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")
        await self._show_page(viewer, self.offset + PAGE_SIZE)

    async def previous_page(self):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")
        await self._show_page(viewer, self.offset - PAGE_SIZE)

    async def open_thread(self, thread_id: str):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")
        self.error = self.notice = ""
        await self._open_thread(viewer, thread_id)

    async def close_thread(self):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")
        self.thread_id = ""
        self.thread_messages = []
        await self._show_page(viewer, self.offset)

    def start_compose(self):
        self._compose_key = uuid.uuid4().hex
        self.compose_error = ""
        self.compose_open = True

    def set_compose_open(self, is_open: bool):
        # Closing without sending forgets the key; the next compose gets its own.
        self.compose_open = bool(is_open)
        if not is_open:
            self._compose_key = ""

    @rx.event
    async def send_message(self, form: dict):
        viewer = await self._portal_viewer()
        if viewer is None:
            self._signed_out("expired")
            return
        if not self._compose_key:
            return  # the second click of a double click, after the first one was sent
        category, subject, body = _text(form, "category"), _text(form, "subject"), _text(form, "body")
        key = self._compose_key
        self.sending = True
        self.compose_error = ""
        yield

        def send():
            with session_scope() as db:
                return messaging.start_thread(db, viewer.user, viewer.patient_id, category=category,
                                              subject=subject, body=body, client_key=key,
                                              clock=utcnow)

        try:
            await self._run(send)
        except Exception as exc:
            self.sending = False
            self.compose_error = problem_message(exc, "send message")  # the form keeps the text
            return
        self.sending = False
        self.compose_open = False
        self._compose_key = ""
        self.notice = "Your message was sent. The office answers during normal business hours."
        await self._show_page(viewer, 0)
        yield self._flash("success", "Message sent.")

    @rx.event
    async def send_reply(self, form: dict):
        viewer = await self._portal_viewer()
        if viewer is None:
            self._signed_out("expired")
            return
        if not self.thread_id or not self._reply_key:
            return
        body, key = _text(form, "reply"), self._reply_key
        try:
            thread_id = int(self.thread_id)
        except ValueError:
            return
        self.replying = True
        self.reply_error = ""
        yield

        def send():
            with session_scope() as db:
                messaging.reply(db, viewer.user, thread_id, body=body, client_key=key, clock=utcnow)

        try:
            await self._run(send)
        except Exception as exc:
            self.replying = False
            self.reply_error = problem_message(exc, "send reply")
            return
        self.replying = False
        await self._open_thread(viewer, str(thread_id))
        yield self._flash("success", "Reply sent.")
        yield rx.set_value("reply", "")
