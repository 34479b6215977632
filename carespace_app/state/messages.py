"""Messages: the patient's conversations with the office.

The patient is the one this tab shows (viewer.patient_id, resolved on every event),
never a value from the browser; a thread id from the browser goes to the service,
which checks that the conversation belongs to that patient and that this person may
see it now.
"""
from __future__ import annotations

import uuid

import reflex as rx

from .. import routes, timefmt
from ..clock import utcnow
from ..services import messaging
from .portal import PortalState
from .session import Viewer

PAGE_SIZE = 20
SENT = "Your message was sent. The office answers during normal business hours."
MAX_FIELD = messaging.BODY_MAX + 100  # longer is refused by the service with the reason


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _thread_row(t: messaging.ThreadSummary) -> dict[str, str]:
    return {"id": str(t.id), "category": t.category, "subject": t.subject,
            "when": timefmt.when(t.last_message_at), "unread": "yes" if t.unread else "",
            "count": str(t.message_count), "preview": t.preview,
            "href": thread_link(t.id)}


def thread_link(thread_id: int) -> str:
    """A conversation's own address: Back returns to the list, a reload keeps it open."""
    return f"{routes.MESSAGES}?thread={thread_id}"


def _message_row(m: messaging.MessageView) -> dict[str, str]:
    if m.mine:
        author = "You"
    elif m.from_staff:
        author = f"{m.author_name} (care team)"
    else:
        author = m.author_name  # the patient, or a caregiver writing for them
    return {"id": str(m.id), "author": author, "when": timefmt.when(m.created_at), "body": m.body,
            "from_staff": "yes" if m.from_staff else "", "mine": "yes" if m.mine else ""}


def _list_page(offset: int):
    def read(db, viewer: Viewer):
        page = messaging.list_threads(db, viewer.user, viewer.patient_id, offset=offset,
                                      limit=PAGE_SIZE, clock=utcnow)
        unread = messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)
        return page, unread
    return read


def _open(thread_id: int):
    def read(db, viewer: Viewer):
        view = messaging.open_thread(db, viewer.user, thread_id, clock=utcnow,
                                     patient_id=viewer.patient_id)
        unread = messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)
        return view, unread
    return read


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
    # "" while the conversation takes replies; else why not and how to write again.
    thread_closed_note: str = ""
    reply_error: str = ""
    replying: bool = False
    # One key per compose / per reply: a double click or a retry is stored once.
    _compose_key: str = ""
    _reply_key: str = ""
    # The conversation just started here: its page says it was sent.
    _sent_thread: str = ""

    async def load(self):
        got = await self._open_page(_list_page(0), unread=False, what="message list")
        if got.left:
            return
        self.error = self.notice = ""
        self.compose_open = False
        self.thread_id = ""
        self._show_list(got)
        wanted = self.router.url.query_parameters.get("thread", "")
        just_sent, self._sent_thread = self._sent_thread, ""
        if wanted:
            await self._open_thread(wanted)
            if self.thread_id and self.thread_id == just_sent:
                self.notice = SENT

    def _show_list(self, got) -> None:
        self.loaded = True
        if not got.ok:
            self.error = got.error
            return
        page, unread = got.value
        self.threads = [_thread_row(t) for t in page.items]
        self.offset, self.has_more = page.offset, page.has_more
        self.unread_messages = unread

    async def _show_page(self, offset: int) -> None:
        got = await self._portal(_list_page(max(0, offset)), what="message list")
        if not got.left:
            self._show_list(got)

    async def _open_thread(self, thread_id: str) -> None:
        try:
            wanted = int(thread_id)
        except (TypeError, ValueError):
            self.error = "That conversation was not found. Open it again from the list."
            return
        got = await self._portal(_open(wanted), what="open conversation")
        if not got.ok:
            self.error = got.error
            return
        view, unread = got.value
        self.thread_id = str(view.id)
        self.thread_subject = view.subject
        self.thread_category = view.category
        self.thread_messages = [_message_row(m) for m in view.messages]
        self.thread_closed_note = (messaging.CLOSED_NOTE.format(day=timefmt.day(view.closed_at))
                                   if view.closed_at is not None else "")
        self.unread_messages = unread
        self.reply_error = ""
        self._reply_key = uuid.uuid4().hex
        # The opened conversation is read now: the list's marker goes too.
        self.threads = [{**t, "unread": ""} if t["id"] == self.thread_id else t for t in self.threads]

    # --- events ---

    async def next_page(self):
        await self._show_page(self.offset + PAGE_SIZE)

    async def previous_page(self):
        await self._show_page(self.offset - PAGE_SIZE)

    async def open_thread(self, thread_id: str):
        self.error = self.notice = ""
        await self._open_thread(thread_id)

    async def close_thread(self):
        self.thread_id = ""
        self.thread_messages = []
        await self._show_page(self.offset)

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
        if not self._compose_key:
            # The second click of a double click after the first was sent, or a send replayed
            # after a restart: nothing to store. The answer still says "not sending".
            self.sending = False
            return
        category, subject, body = _text(form, "category"), _text(form, "subject"), _text(form, "body")
        key = self._compose_key
        self.sending = True
        self.compose_error = ""
        yield
        got = await self._portal(lambda db, v: messaging.start_thread(
            db, v.user, v.patient_id, category=category, subject=subject, body=body,
            client_key=key, clock=utcnow), what="send message", writes=True)
        self.sending = False
        if not got.ok:
            self.compose_error = got.error  # the form keeps the text
            return
        self.compose_open = False
        self._compose_key = ""
        # The new conversation opens at its own address (its load shows the notice).
        self._sent_thread = str(got.value)
        yield rx.redirect(thread_link(got.value))

    @rx.event
    async def send_reply(self, form: dict):
        if not self.thread_id or not self._reply_key:
            self.replying = False  # nothing to send; the answer still says so
            return
        body, key = _text(form, "reply"), self._reply_key
        try:
            thread_id = int(self.thread_id)
        except ValueError:
            return
        self.replying = True
        self.reply_error = ""
        yield
        got = await self._portal(lambda db, v: messaging.reply(
            db, v.user, thread_id, body=body, client_key=key, clock=utcnow,
            patient_id=v.patient_id), what="send reply", writes=True)
        self.replying = False
        if not got.ok:
            self.reply_error = got.error  # closed meanwhile, too: the typed text stays
            return
        await self._open_thread(str(thread_id))
        yield self._flash("success", "Reply sent.")
        yield rx.set_value("reply", "")
