"""Admin › Messages: every conversation across patients, filtered, opened and answered.

Opening a conversation marks it read by staff; the patient is emailed a
content-free "You have a new message" when staff reply (messaging.reply does it).

Triage (issue #15): the urgent items (a check-in's severe answer, a red-flag message sent
anyway) sit on top of the page until someone acknowledges them; the page asks for new ones
every policy.URGENT_REFRESH_EVERY while it is visible (``refresh_urgent``, which is not the
staff member's activity: state/tab_guard.py). The queue is ordered by what is due, says
what is overdue, and filters to "Mine"; a conversation can be assigned to a staff member.
"""
from __future__ import annotations

import dataclasses
import secrets
from datetime import timezone
from typing import Optional

from carespace_app import policy
from carespace_app.clock import utcnow
from carespace_app.models import (MESSAGE_CATEGORIES, THREAD_CLOSED, THREAD_NEW, THREAD_OPEN,
                                  URGENT_CHECKIN)
from carespace_app.services.records import messaging, practice_settings, urgent
from carespace_app.timefmt import when
from carespace_app.state.admin import AdminState, Outcome, int_or_none

PAGE_SIZE = 25
ANY = "any"
REPLY_SENT = "Reply sent. The patient gets an email telling them to sign in."
CLOSED = "Conversation closed."
REOPENED = "Conversation reopened."
ACKNOWLEDGED = "Done: the urgent item for {patient} is acknowledged."
ASSIGNED = "Assigned to {name}."
UNASSIGNED = "Nobody is assigned now."
NOBODY = "Nobody"
KIND_WORDS = {URGENT_CHECKIN: "Symptom check-in"}
KIND_MESSAGE = "Message"


@dataclasses.dataclass
class QueueRow:
    id: str = ""
    patient: str = ""
    mrn: str = ""
    patient_id: str = ""
    category: str = ""
    subject: str = ""
    status: str = ""
    last: str = ""
    unread: bool = False
    replied_by: str = ""
    urgent: bool = False
    overdue: bool = False
    due: str = ""  # when the answer is due ("" once answered or closed)
    assigned: str = ""
    started_by: str = ""  # "Maria Alvarez, for Rosa Alvarez": a caregiver started it


@dataclasses.dataclass
class UrgentRow:
    id: str = ""
    patient: str = ""
    mrn: str = ""
    kind: str = ""
    lines: list[str] = dataclasses.field(default_factory=list)
    since: str = ""
    overdue: bool = False
    link: str = ""


@dataclasses.dataclass
class StaffOption:
    id: str = ""
    name: str = ""


@dataclasses.dataclass
class OpenThread:
    id: str = ""
    subject: str = ""
    category: str = ""
    status: str = ""
    patient: str = ""
    patient_id: str = ""
    started: str = ""
    urgent: bool = False
    due: str = ""
    assigned_id: str = ""


@dataclasses.dataclass
class ThreadMessage:
    id: str = ""
    author: str = ""
    # Written by the office (else by the patient or a caregiver).
    from_staff: bool = False
    body: str = ""
    at: str = ""


class AdminMessagesState(AdminState):
    category: str = ANY
    status: str = ANY
    unread_only: bool = False
    offset: int = 0
    has_more: bool = False
    queue: list[QueueRow] = []
    categories: list[str] = [ANY, *MESSAGE_CATEGORIES]
    statuses: list[str] = [ANY, THREAD_NEW, THREAD_OPEN, THREAD_CLOSED]
    # The open conversation.
    thread: Optional[OpenThread] = None
    thread_messages: list[ThreadMessage] = []
    reply_error: str = ""
    # Under the conversation, next to the reply box (not a toast over it).
    reply_note: str = ""
    reply_version: int = 0
    replying: bool = False
    # One key per reply form shown: a double-click or a retried event is stored once. The
    # form carries the public copy; a second tap of a sent form carries the old one.
    reply_key: str = ""
    _reply_key: str = ""
    # Only the conversations assigned to the person reading ("Mine").
    mine: bool = False
    # On top of the page until acknowledged, the longest waiting first.
    urgent_items: list[UrgentRow] = []
    # Who a conversation can be assigned to.
    staff: list[StaffOption] = []
    assign_error: str = ""
    # An acknowledgement's error, beside the urgent item it was for (that item's id).
    note_error: str = ""
    note_error_for: str = ""
    acknowledging: str = ""
    # When (epoch seconds) the next urgent item shown turns highlighted; 0: none waiting.
    _urgent_recheck_at: float = 0.0

    def _queue(self, offset: int, category: Optional[str] = None, status: Optional[str] = None,
               unread_only: Optional[bool] = None, mine: Optional[bool] = None):
        category = self.category if category is None else category
        status = self.status if status is None else status
        unread = self.unread_only if unread_only is None else unread_only
        only_mine = self.mine if mine is None else mine
        return lambda db, v: messaging.staff_queue(
            db, v.user, category=None if category == ANY else category,
            status=None if status == ANY else status, unread_only=unread, mine=only_mine,
            offset=offset, limit=PAGE_SIZE, clock=utcnow)

    def _show_queue(self, got):
        if not got.ok:
            return self._flash("error", got.error)
        page = got.value
        self.offset, self.has_more = page.offset, page.has_more
        self.queue = [QueueRow(id=str(t.id), patient=t.patient_name, mrn=t.mrn,
                               patient_id=str(t.patient_id), category=t.category,
                               subject=t.subject, status=t.status, last=when(t.last_message_at),
                               unread=t.unread_by_staff, replied_by=t.last_replied_by or "",
                               urgent=t.urgent, overdue=t.overdue, due=when(t.due_at),
                               assigned=t.assigned_to or "", started_by=t.started_by)
                      for t in page.items]

    def _show_urgent(self, items: list) -> bool:
        """The urgent items (set only when they changed: the page refreshes them on its
        own, under the staff member's hands). True when one appeared that was not shown."""
        rows = [UrgentRow(id=str(u.id), patient=u.patient_name, mrn=u.mrn,
                          kind=KIND_WORDS.get(u.kind, KIND_MESSAGE), lines=list(u.lines),
                          since=when(u.created_at), overdue=u.overdue, link=u.link)
                for u in items]
        shown = {r.id for r in self.urgent_items}
        if rows != self.urgent_items:
            self.urgent_items = rows
        # When the next shown item will be highlighted: the timer reads the items again then.
        waiting = [u.created_at + policy.URGENT_HIGHLIGHT_AFTER for u in items if not u.overdue]
        self._urgent_recheck_at = min(waiting).replace(tzinfo=timezone.utc).timestamp() if waiting else 0.0
        return any(r.id not in shown for r in rows)

    async def _refresh(self, offset: int):
        got = await self._office(self._queue(offset), what="message queue")
        if got.left:
            return
        return self._show_queue(got)

    async def load(self):
        got = await self._open_section(lambda db, v: (
            urgent.open_items(db, v.user, clock=utcnow),
            practice_settings.staff_choices(db, v.user, clock=utcnow)), what="message queue")
        if got.left:
            return
        if got.ok:
            items, staff = got.value
            self._show_urgent(items)
            self.staff = [StaffOption(id=str(m.id), name=m.name) for m in staff]
        self.thread, self.thread_messages = None, []
        self.note_error = self.note_error_for = self.assign_error = ""
        self.reply_note = ""
        wanted = int_or_none(self._page_param("thread"))
        if wanted:
            await self._open(wanted)
        return await self._refresh(0)

    async def apply_filters(self, form: dict):
        category, status = str(form.get("category", ANY)), str(form.get("status", ANY))
        category = category if category in self.categories else ANY
        status = status if status in self.statuses else ANY
        unread_only = str(form.get("unread_only", "")) in ("on", "true", "yes")
        mine = str(form.get("mine", "")) in ("on", "true", "yes")
        got = await self._office(self._queue(0, category, status, unread_only, mine),
                                 what="message queue")
        if got.left:
            return
        self.category, self.status, self.unread_only, self.mine = category, status, unread_only, mine
        return self._show_queue(got)

    async def next_page(self):
        return await self._refresh(self.offset + PAGE_SIZE)

    async def previous_page(self):
        return await self._refresh(max(0, self.offset - PAGE_SIZE))

    async def _open(self, thread_id) -> Outcome:
        got = await self._office(lambda db, v: messaging.open_thread(db, v.user, thread_id,
                                                                     clock=utcnow),
                                 what="open conversation")
        if got.left:
            return got
        if not got.ok:
            self.thread, self.thread_messages = None, []
            self._flash("error", got.error)
            return got
        t = got.value
        self.thread = OpenThread(id=str(t.id), subject=t.subject, category=t.category,
                                 status=t.status, patient=t.patient_name,
                                 patient_id=str(t.patient_id), started=when(t.created_at),
                                 urgent=t.urgent, due=when(t.due_at),
                                 assigned_id=str(t.assigned_to_user_id or ""))
        self.assign_error = ""
        self.thread_messages = [
            ThreadMessage(id=str(m.id), author=m.author_name, from_staff=m.from_staff, body=m.body,
                          at=when(m.created_at)) for m in t.messages]
        self._reply_key = self.reply_key = secrets.token_hex(16)
        self.reply_error = ""
        return got

    async def open_thread(self, thread_id: str):
        self.reply_note = ""
        if (await self._open(int_or_none(thread_id))).left:
            return
        await self._refresh(self.offset)  # it is read now

    async def close_thread_view(self):
        got = await self._office()
        if got.left:
            return
        self.thread, self.thread_messages = None, []

    async def send_reply(self, form: dict):
        sent_key = form.get("key") if isinstance(form, dict) else None
        if sent_key is not None and sent_key != self._reply_key:
            self.replying = False  # a second tap of a form already sent: stored once
            return
        thread_id, key = int_or_none(self.thread.id if self.thread else ""), self._reply_key
        body = str(form.get("reply", "")) if isinstance(form, dict) else ""
        self.replying = True
        self.reply_error = self.reply_note = ""
        yield
        sent = await self._office(lambda db, v: messaging.reply(
            db, v.user, thread_id, body=body, client_key=key, clock=utcnow),
            what="send reply")
        self.replying = False
        if sent.left:
            return
        if not sent.ok:
            self.reply_error = sent.error
            return
        self.reply_version += 1
        await self._open(thread_id)
        await self._refresh(self.offset)
        self.reply_note = REPLY_SENT

    async def _set_status(self, status: str, said: str):
        thread_id = int_or_none(self.thread.id if self.thread else "")
        done = await self._office(lambda db, v: messaging.set_thread_status(
            db, v.user, thread_id, status, clock=utcnow), what="conversation status")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        if self.thread:
            self.thread = dataclasses.replace(self.thread, status=status)
        await self._refresh(self.offset)
        return self._flash("success", said)

    async def close_thread(self):
        """After the page's "Close this conversation?" was confirmed."""
        self.reply_note = ""
        return await self._set_status(THREAD_CLOSED, CLOSED)

    async def reopen_thread(self):
        self.reply_note = ""
        return await self._set_status(THREAD_OPEN, REOPENED)

    # --- triage ---

    async def assign_thread(self, form: dict):
        """The open conversation's "Assigned to" (a staff member's id, or "" for nobody)."""
        thread_id = int_or_none(self.thread.id if self.thread else "")
        chosen = str(form.get("assignee", "")) if isinstance(form, dict) else ""
        assignee = int_or_none(chosen) if chosen.strip() else None
        if chosen.strip() and assignee is None:
            self.assign_error = messaging.ASSIGN_WHO
            return
        done = await self._office(lambda db, v: messaging.assign(
            db, v.user, thread_id, assignee, clock=utcnow), what="assign conversation")
        if done.left:
            return
        if not done.ok:
            self.assign_error = done.error
            return
        self.assign_error = ""
        if self.thread:
            self.thread = dataclasses.replace(self.thread, assigned_id=str(assignee or ""))
        await self._refresh(self.offset)
        return self._flash("success", ASSIGNED.format(name=done.value) if done.value else UNASSIGNED)

    async def acknowledge(self, form: dict):
        """An urgent item's acknowledgement: its "Called the patient" button, or a note in
        the staff member's own words (each a small form naming the item)."""
        form = form if isinstance(form, dict) else {}
        item_id = str(form.get("item_id", ""))[:20]
        note = str(form.get("note", ""))[:urgent.NOTE_MAX + 100]
        wanted = int_or_none(item_id)
        patient = next((u.patient for u in self.urgent_items if u.id == item_id), "")
        self.acknowledging = item_id if wanted else ""
        yield
        done = await self._office(lambda db, v: (
            urgent.acknowledge(db, v.user, wanted, note=note, clock=utcnow),
            urgent.open_items(db, v.user, clock=utcnow))[1], what="acknowledge urgent item")
        self.acknowledging = ""
        if done.left:
            return
        if not done.ok:
            self.note_error, self.note_error_for = done.error, item_id
            return
        self.note_error = self.note_error_for = ""
        self._show_urgent(done.value)
        self._flash("success", ACKNOWLEDGED.format(patient=patient or "the patient"))

    async def refresh_urgent(self):
        """The page's own timer (components in pages/admin_pages/messages.py): new urgent
        items appear without a reload. Not the staff member's activity (tab_guard.py); a new
        item brings the queue up to date too, so its conversation is ordered first."""
        # Only the ids (not audited) every time; the items themselves (an audited read of
        # the queue) only when they changed or one is due to be highlighted: a queue left on
        # screen all day does not write a row on the office's log twice a minute.
        ids = await self._office(lambda db, v: urgent.open_ids(db, v.user, clock=utcnow),
                                 what="urgent items")
        if not ids.ok:
            return
        highlight_due = 0 < self._urgent_recheck_at <= utcnow().timestamp()
        if [str(i) for i in ids.value] == [r.id for r in self.urgent_items] and not highlight_due:
            return
        got = await self._office(lambda db, v: urgent.open_items(db, v.user, clock=utcnow),
                                 what="urgent items")
        if not got.ok:
            return
        if self._show_urgent(got.value):
            await self._refresh(self.offset)
