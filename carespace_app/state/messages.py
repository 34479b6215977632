"""Messages: the patient's conversations with the office.

The patient is the one this tab shows (viewer.patient_id, resolved on every event),
never a value from the browser; a thread id from the browser goes to the service,
which checks that the conversation belongs to that patient and that this person may
see it now.

What the person types is kept as a draft as they type (messaging.save_draft), so a
session that ends loses nothing: the page offers it again ("Restore" / "Discard").
Each form carries its send's key: a second tap of the same form, or a draft save still
on its way after the send, is recognised by its old key and changes nothing.

A message that names a red flag (messaging.RedFlagsFound) is not sent: the form shows the
call-now banner in its place, keeps what was typed, and offers "Send anyway" and "Edit
message". "Send anyway" sends exactly the text that was checked (the form's fields as the
banner found them); anything changed since is checked again.
"""
from __future__ import annotations

import dataclasses
import uuid
from typing import Optional

import reflex as rx

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.errors import NotAllowed
from carespace_app.services.permissions import scopes
from carespace_app.services.records import messaging
from carespace_app.state.portal import PortalState
from carespace_app.state.session import NO_ACCESS, Viewer

PAGE_SIZE = 20
SENT = N_("Your message was sent. The reply below says when to expect an answer from the care team.")
SENT_URGENT = N_("Your message was sent and marked urgent for the care team. "
                 "If you have not called the office yet, please call now.")
REPLY_SENT = N_("Your reply was sent.")
REPLY_SENT_URGENT = N_("Your reply was sent and marked urgent for the care team. "
                       "If you have not called the office yet, please call now.")
DRAFT_OFFER = N_("You have an unsent message")
DRAFT_NEW = N_("New message")
DRAFT_REPLY = N_("Reply in “{subject}”")
DRAFT_CLOSED = N_("The office closed that conversation, so your reply is in a new message "
                  "instead. Check it and send it.")
DRAFT_GONE = N_("That unsent message is no longer kept.")
DRAFT_DISCARDED = N_("Your unsent message was discarded.")
NOT_FOUND = N_("That conversation was not found. Open it again from the list.")
# Who wrote a message, as the conversation shows it.
AUTHOR_YOU = N_("You")
AUTHOR_STAFF = N_("{name} (care team)")
# How long typing pauses before what was typed is kept (and when a field is left).
DRAFT_SAVE_MS = 3000
DRAFT_PREVIEW = 80
MAX_FIELD = messaging.BODY_MAX + 100  # longer is refused by the service with the reason
COMPOSE_FIELDS = ("category", "subject", "body")


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _as_id(value) -> Optional[int]:
    """A conversation id from the browser or the address; None when it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _late(form: dict, current: str) -> bool:
    """A form's key that is not the one the page shows now: sent or left already."""
    key = form.get("key") if isinstance(form, dict) else None
    return key is not None and key != current


@dataclasses.dataclass
class ThreadRow:
    id: str = ""
    category: str = ""
    subject: str = ""
    when: str = ""
    unread: bool = False
    count: int = 0
    preview: str = ""
    href: str = ""


@dataclasses.dataclass
class DraftRow:
    # The conversation's id, or messaging.NEW_MESSAGE's for a new message.
    thread: str = ""
    what: str = ""
    preview: str = ""
    when: str = ""


@dataclasses.dataclass
class MessageRow:
    id: str = ""
    author: str = ""
    when: str = ""
    body: str = ""
    from_staff: bool = False
    mine: bool = False
    automatic: bool = False


@dataclasses.dataclass
class Flagged:
    """A send refused for its red flags: nothing was stored. ``found``: what was found."""

    found: messaging.RedFlagsFound


def _thread_row(t: messaging.ThreadSummary, lang: str = "en") -> ThreadRow:
    return ThreadRow(id=str(t.id), category=messaging.category_in_words(t.category, lang),
                     subject=t.subject, when=timefmt.when(t.last_message_at, lang=lang),
                     unread=t.unread,
                     count=t.message_count, preview=t.preview, href=thread_link(t.id))


def _draft_row(d: messaging.DraftView, lang: str = "en") -> DraftRow:
    what = (i18n.gettext(lang, DRAFT_NEW) if d.thread_id == messaging.NEW_MESSAGE
            else i18n.fmt(lang, DRAFT_REPLY, subject=d.thread_subject))
    text = " ".join((d.subject if d.thread_id == messaging.NEW_MESSAGE else "").split()
                    + d.body.split())
    preview = text if len(text) <= DRAFT_PREVIEW else text[:DRAFT_PREVIEW - 1].rstrip() + "…"
    return DraftRow(thread=str(d.thread_id), what=what, preview=preview,
                    when=timefmt.when(d.updated_at, lang=lang))


def thread_link(thread_id: int) -> str:
    """A conversation's own address: Back returns to the list, a reload keeps it open."""
    return f"{routes.MESSAGES}?thread={thread_id}"


def _message_row(m: messaging.MessageView, lang: str = "en") -> MessageRow:
    if m.automatic:
        author = i18n.gettext(lang, m.author_name)  # messaging.AUTOMATIC_AUTHOR
    elif m.mine:
        author = i18n.gettext(lang, AUTHOR_YOU)
    elif m.from_staff:
        author = i18n.fmt(lang, AUTHOR_STAFF, name=m.author_name)
    else:
        author = m.author_name  # the patient, or a caregiver writing for them
    return MessageRow(id=str(m.id), author=author, when=timefmt.when(m.created_at, lang=lang),
                      body=m.body,
                      from_staff=m.from_staff, mine=m.mine, automatic=m.automatic)


def _list_page(offset: int, *, thread: Optional[int] = None, start=None):
    """The list (and the unread count and the kept drafts) in one unit of work.

    ``thread``: a conversation to open too (the page's address names it); ``start``: a new
    conversation to store first (send), which is then the one opened. A conversation the
    reader may not open leaves the list shown, with the refusal's sentence beside it.
    """
    def read(db, viewer: Viewer):
        opening = start(db, viewer) if start is not None else thread
        page = messaging.list_threads(db, viewer.user, viewer.patient_id, offset=offset,
                                      limit=PAGE_SIZE, clock=utcnow)
        drafts = messaging.drafts_for(db, viewer.user, viewer.patient_id, clock=utcnow)
        view, refused = None, ""
        if opening is not None:
            try:
                view = messaging.open_thread(db, viewer.user, opening, clock=utcnow,
                                             patient_id=viewer.patient_id)
            except NotAllowed:  # its audit row stands, as a refusal's does
                refused = NO_ACCESS
        # Counted after the open: the conversation just read is no longer unread.
        unread = messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)
        return ListView(page, unread, drafts, view, refused)
    return read


def _send_new(category: str, subject: str, body: str, key: str, anyway: bool):
    """Store a new conversation, then read the list and open it (one unit of work); a red
    flag stores nothing and comes back as Flagged."""
    def start(db, viewer: Viewer):
        return messaging.start_thread(db, viewer.user, viewer.patient_id, category=category,
                                      subject=subject, body=body, client_key=key, clock=utcnow,
                                      send_anyway=anyway)

    def work(db, viewer: Viewer):
        try:
            return _list_page(0, start=start)(db, viewer)
        except messaging.RedFlagsFound as found:  # raised before anything was written
            return Flagged(found)
    return work


def _send_reply(thread_id: int, body: str, key: str, anyway: bool):
    def work(db, viewer: Viewer):
        try:
            return messaging.reply(db, viewer.user, thread_id, body=body, client_key=key,
                                   clock=utcnow, patient_id=viewer.patient_id,
                                   send_anyway=anyway)
        except messaging.RedFlagsFound as found:  # raised before anything was written
            return Flagged(found)
    return work


def _open(thread_id: int):
    def read(db, viewer: Viewer):
        view = messaging.open_thread(db, viewer.user, thread_id, clock=utcnow,
                                     patient_id=viewer.patient_id)
        unread = messaging.unread_count(db, viewer.user, viewer.patient_id, clock=utcnow)
        return view, unread
    return read


@dataclasses.dataclass
class ListView:
    page: object
    unread: int
    drafts: list
    thread: Optional[messaging.ThreadView] = None
    refused: str = ""


class MessagesState(PortalState):
    threads: list[ThreadRow] = []
    offset: int = 0
    has_more: bool = False
    loaded: bool = False
    error: str = ""
    notice: str = ""

    compose_open: bool = False
    compose_error: str = ""
    sending: bool = False
    # What the compose form opens with: empty, or a restored draft.
    compose_category: str = ""
    compose_subject: str = ""
    compose_body: str = ""

    thread_id: str = ""
    thread_subject: str = ""
    thread_category: str = ""
    thread_messages: list[MessageRow] = []
    # "" while the conversation takes replies; else why not and how to write again.
    thread_closed_note: str = ""
    reply_error: str = ""
    replying: bool = False
    # Next to the reply box (not a toast over it): the reply went.
    reply_note: str = ""
    # What the reply box opens with; a new round shows the box afresh.
    reply_text: str = ""
    reply_round: int = 0
    # Unsent drafts of this person in this portal, offered again.
    drafts: list[DraftRow] = []
    # One key per compose / per reply: a double click or a retry is stored once. The
    # forms carry the public copy; the private one is what the server trusts.
    compose_key: str = ""
    reply_key: str = ""
    _compose_key: str = ""
    _reply_key: str = ""
    # What the compose form holds so far (each field's change comes on its own).
    _compose_draft: dict[str, str] = {}
    # The conversation just started here: its page says it was sent.
    _sent_thread: str = ""
    # A reply draft to put back in its conversation's reply box once it opens.
    _restore_thread: str = ""
    # The red-flag banner over a form ("" when none): what was found, as a sentence.
    compose_alert: str = ""
    reply_alert: str = ""
    # The text the banner was shown for: "Send anyway" sends exactly this, nothing else.
    _compose_flagged: dict[str, str] = {}
    _reply_flagged: str = ""
    # The conversation just started was sent anyway (its page says so).
    _sent_urgent: bool = False

    async def load(self):
        wanted = self.router.url.query_parameters.get("thread", "")
        just_sent, self._sent_thread = self._sent_thread, ""
        sent_urgent, self._sent_urgent = self._sent_urgent, False
        restore, self._restore_thread = self._restore_thread, ""
        if just_sent and wanted == just_sent == self.thread_id:
            # The send showed the list and the new conversation already, in its own unit of
            # work: this load of its address only says so (the tab guard has run).
            if await self._tab_viewer() is None:
                return
            self.error = self.reply_note = ""
            self.compose_open = False
            notice = SENT_URGENT if sent_urgent else SENT
            self.notice = self._tr(notice)
            return
        opening = _as_id(wanted) if wanted else None
        got = await self._open_page(_list_page(0, thread=opening), area=scopes.AREA_MESSAGES, unread=False,
                                    what="message list")
        if got.left:
            return
        self.error = self.notice = self.reply_note = ""
        self.compose_open = False
        self.thread_id = ""
        self._show_list(got)
        if wanted and opening is None:
            self.error = self._tr(NOT_FOUND)
        if self.thread_id and self.thread_id == restore:
            await self._restore(restore)

    def _show_list(self, got) -> None:
        """The list, and the conversation opened with it (if any)."""
        self.loaded = True
        if not got.ok:
            self.error = got.error
            return
        shown: ListView = got.value
        self.threads = [_thread_row(t, self.lang) for t in shown.page.items]
        self.offset, self.has_more = shown.page.offset, shown.page.has_more
        self.unread_messages = shown.unread
        self.drafts = [_draft_row(d, self.lang) for d in shown.drafts]
        if shown.refused:
            self.error = self._tr(shown.refused)
        elif shown.thread is not None:
            self._show_thread(shown.thread, shown.unread)

    async def _show_page(self, offset: int) -> None:
        got = await self._portal(_list_page(max(0, offset)), what="message list")
        if not got.left:
            self._show_list(got)

    def _new_reply_key(self) -> None:
        self._reply_key = self.reply_key = uuid.uuid4().hex

    def _new_compose_key(self) -> None:
        self._compose_key = self.compose_key = uuid.uuid4().hex

    def _show_reply_box(self, text: str) -> None:
        self.reply_text = text
        self.reply_round += 1

    async def _open_thread(self, thread_id: str) -> None:
        wanted = _as_id(thread_id)
        if wanted is None:
            self.error = self._tr(NOT_FOUND)
            return
        got = await self._portal(_open(wanted), what="open conversation")
        if not got.ok:
            self.error = got.error
            return
        self._show_thread(*got.value)

    def _show_thread(self, view: messaging.ThreadView, unread: int) -> None:
        self.thread_id = str(view.id)
        self.thread_subject = view.subject
        self.thread_category = messaging.category_in_words(view.category, self.lang)
        self.thread_messages = [_message_row(m, self.lang) for m in view.messages]
        self.thread_closed_note = (
            self._tr(messaging.CLOSED_NOTE, day=timefmt.day(view.closed_at, lang=self.lang))
            if view.closed_at is not None else "")
        self.unread_messages = unread
        self.reply_error = ""
        self._clear_reply_alert()
        self._new_reply_key()
        self._show_reply_box("")
        # The opened conversation is read now: the list's marker goes too.
        self.threads = [dataclasses.replace(t, unread=False) if t.id == self.thread_id else t
                        for t in self.threads]

    def _clear_compose_alert(self) -> None:
        if self.compose_alert:
            self.compose_alert = ""
        self._compose_flagged = {}

    def _clear_reply_alert(self) -> None:
        if self.reply_alert:
            self.reply_alert = ""
        self._reply_flagged = ""

    def _open_compose(self, category: str = "", subject: str = "", body: str = "") -> None:
        self._clear_compose_alert()
        self._new_compose_key()
        self.compose_category, self.compose_subject, self.compose_body = category, subject, body
        self._compose_draft = {"category": category, "subject": subject, "body": body}
        self.compose_error = ""
        self.compose_open = True

    def _drop_offer(self, thread: str) -> None:
        self.drafts = [d for d in self.drafts if d.thread != thread]

    async def _restore(self, thread: str) -> None:
        """Put a draft back in its form: compose for a new message, else the reply box."""
        wanted = _as_id(thread)
        if wanted is None:
            return
        got = await self._portal(lambda db, v: messaging.get_draft(
            db, v.user, v.patient_id, wanted, clock=utcnow), what="restore draft", writes=True)
        if got.left:
            return
        self._drop_offer(thread)
        if not got.ok or got.value is None:
            self._flash("error", got.error or self._tr(DRAFT_GONE))
            return
        draft = got.value
        if draft.thread_id == messaging.NEW_MESSAGE:
            self._open_compose(draft.category, draft.subject, draft.body)
        elif draft.thread_closed:
            # It can only go as a new message: kept as one from now on (unless one is kept
            # already, which stays offered and is not overwritten).
            self._open_compose(draft.thread_category, draft.thread_subject, draft.body)
            self.compose_error = self._tr(DRAFT_CLOSED)
            if not any(d.thread == str(messaging.NEW_MESSAGE) for d in self.drafts):
                await self._portal(lambda db, v: messaging.move_draft_to_new_message(
                    db, v.user, v.patient_id, wanted, clock=utcnow), what="restore draft",
                    writes=True)
        elif self.thread_id == str(draft.thread_id):
            self._new_reply_key()
            self._show_reply_box(draft.body)
        else:
            self._restore_thread = str(draft.thread_id)
            return rx.redirect(thread_link(draft.thread_id))

    # --- events ---

    async def next_page(self):
        await self._show_page(self.offset + PAGE_SIZE)

    async def previous_page(self):
        await self._show_page(self.offset - PAGE_SIZE)

    async def open_thread(self, thread_id: str):
        self.error = self.notice = self.reply_note = ""
        await self._open_thread(thread_id)

    async def close_thread(self):
        self.thread_id = ""
        self.thread_messages = []
        await self._show_page(self.offset)

    def start_compose(self):
        self._open_compose()

    def set_compose_open(self, is_open: bool):
        # Closing without sending forgets the key; the next compose gets its own. What was
        # typed stays kept as a draft, offered again on the list.
        self.compose_open = bool(is_open)
        if not is_open:
            self._compose_key = self.compose_key = ""
            self._clear_compose_alert()

    def edit_message(self):
        """"Edit message" on the red-flag banner: back to the text as typed, to change it."""
        self._clear_compose_alert()
        return rx.set_focus("body")

    def edit_reply(self):
        """"Edit message" on the red-flag banner of a reply."""
        self._clear_reply_alert()
        return rx.set_focus("reply")

    async def restore_draft(self, thread_id: str):
        """"Restore": the unsent message back in its form."""
        return await self._restore(thread_id)

    async def discard_draft(self, thread_id: str):
        """"Discard": the unsent message is gone for good."""
        wanted = _as_id(thread_id)
        if wanted is None:
            return
        got = await self._portal(lambda db, v: messaging.discard_draft(
            db, v.user, v.patient_id, wanted, clock=utcnow), what="discard draft", writes=True)
        if got.left:
            return
        if not got.ok:
            return self._flash("error", got.error)
        self._drop_offer(str(wanted))
        self._flash("success", self._tr(DRAFT_DISCARDED))

    async def keep_compose(self, form: dict):
        """A compose field changed (the page waits for a pause in typing): keep the draft."""
        if not isinstance(form, dict) or _late(form, self._compose_key):
            return
        for name in COMPOSE_FIELDS:
            if name in form:
                self._compose_draft = {**self._compose_draft, name: _text(form, name)}
        kept, key = dict(self._compose_draft), self._compose_key or None
        # A failure is not shown: the person is typing, and the send says what is wrong.
        await self._portal(lambda db, v: messaging.save_draft(
            db, v.user, v.patient_id, thread_id=messaging.NEW_MESSAGE,
            category=kept.get("category", ""), subject=kept.get("subject", ""),
            body=kept.get("body", ""), client_key=key, clock=utcnow),
            what="keep draft", writes=True)

    async def keep_reply(self, form: dict):
        """The reply box changed (after a pause in typing, or when left): keep the draft."""
        if not isinstance(form, dict) or not self.thread_id or _late(form, self._reply_key):
            return
        thread_id = _as_id(self.thread_id)
        if thread_id is None:
            return
        body, key = _text(form, "reply"), self._reply_key or None
        await self._portal(lambda db, v: messaging.save_draft(
            db, v.user, v.patient_id, thread_id=thread_id, body=body, client_key=key,
            clock=utcnow), what="keep draft", writes=True)

    @rx.event
    async def send_message(self, form: dict):
        if not self._compose_key or _late(form, self._compose_key):
            # The second click of a double click after the first was sent, or a send replayed
            # after a restart: nothing to store. The answer still says "not sending".
            self.sending = False
            return
        category, subject, body = _text(form, "category"), _text(form, "subject"), _text(form, "body")
        key = self._compose_key
        typed = {"category": category, "subject": subject, "body": body}
        # "Send anyway": the banner is up and this is the text it was shown for.
        anyway = bool(self.compose_alert) and self._compose_flagged == typed
        self.sending = True
        self.compose_error = ""
        yield
        # Stored, and the list and the new conversation read, in one unit of work.
        got = await self._portal(_send_new(category, subject, body, key, anyway),
                                 what="send message", writes=True)
        self.sending = False
        if not got.ok:
            self._clear_compose_alert()
            self.compose_error = got.error  # the form keeps the text
            return
        if isinstance(got.value, Flagged):
            # Nothing was sent: the banner, and the form as typed under it.
            self.compose_alert = got.value.found.found(self.lang)
            self._compose_flagged = typed
            return
        self._clear_compose_alert()
        self._sent_urgent = anyway
        self.compose_open = False
        self._compose_key = self.compose_key = ""
        self.error = self.notice = self.reply_note = ""
        self._show_list(got)
        # The new conversation's own address (Back, a reload); its load shows the notice.
        if self.thread_id:
            self._sent_thread = self.thread_id
            yield rx.redirect(thread_link(self.thread_id))

    @rx.event
    async def send_reply(self, form: dict):
        if not self.thread_id or not self._reply_key or _late(form, self._reply_key):
            self.replying = False  # nothing to send (a second tap of a sent form)
            return
        body, key = _text(form, "reply"), self._reply_key
        thread_id = _as_id(self.thread_id)
        if thread_id is None:
            return
        typed = f"{thread_id}\n{body}"
        anyway = bool(self.reply_alert) and self._reply_flagged == typed
        self.replying = True
        self.reply_error = self.reply_note = ""
        yield
        got = await self._portal(_send_reply(thread_id, body, key, anyway), what="send reply",
                                 writes=True)
        self.replying = False
        if not got.ok:
            self._clear_reply_alert()
            self.reply_error = got.error  # closed meanwhile, too: the typed text stays
            return
        if isinstance(got.value, Flagged):
            self.reply_alert = got.value.found.found(self.lang)
            self._reply_flagged = typed
            return
        self._drop_offer(str(thread_id))
        await self._open_thread(str(thread_id))  # a new key and an empty reply box
        note = REPLY_SENT_URGENT if anyway else REPLY_SENT
        self.reply_note = self._tr(note)
