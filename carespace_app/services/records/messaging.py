"""Secure messaging: conversations between a patient's side and the office.

A patient or their caregiver starts a conversation and replies in it; staff answer
from the message queue. What was read is kept per reader (ThreadRead), so the
patient opening a reply does not clear it for their caregiver. Emails that tell
someone a message is waiting never carry the message, its subject or its category.

Triage (issue #15): a message from the patient's side that names a red flag
(records/red_flags.py) is refused with ``RedFlagsFound`` until the patient chooses "Send
anyway"; sent anyway, its conversation is urgent and an urgent item goes on top of the
office's queue (records/urgent.py). Every new conversation gets the practice's automatic
first reply (``Message.automatic``, written by nobody, no email of its own) saying when
the answer is due (records/business_hours.py); ``MessageThread.due_at`` holds that time
until staff answer or close it, and is set again when the patient side writes after an
answer. A new conversation goes to the staff member its category is routed to
(records/practice_settings.py). ``message_count`` counts what people wrote.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import and_, bindparam, case, func, or_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from carespace_app import routes, timefmt
from carespace_app.clock import Clock, utcnow
from carespace_app.config import get_settings
from carespace_app.models import (
    MESSAGE_CATEGORIES,
    THREAD_CLOSED,
    THREAD_NEW,
    THREAD_OPEN,
    Message,
    MessageDraft,
    MessageThread,
    Patient,
    ThreadRead,
    User,
)
from carespace_app import i18n
from carespace_app.i18n import N_, OFFICE_
from carespace_app.services import paging
from carespace_app.services.permissions import access, scopes
from carespace_app.services.audit import trail
from carespace_app.services.mail import notifications
from carespace_app.services.errors import NotAllowed, NotFound, ValidationError
from carespace_app.services.records import business_hours, practice_settings, red_flags, urgent
from carespace_app.services.records.symptoms import call_now
from carespace_app.services.text_rules import check_text
from carespace_app.policy import DRAFT_KEPT

CATEGORIES = MESSAGE_CATEGORIES
# MESSAGE_CATEGORIES as patients read them: the stored value is the English word, shown
# through the catalogue in the reader's language (category_in_words).
CATEGORY_WORDS = (N_("Appointment"), N_("Prescription refill"), N_("Billing"),
                  N_("Test results"), N_("Medical question"), N_("Symptoms or side effects"),
                  N_("Other"))
SUBJECT_MAX = 200
BODY_MAX = 5000
CLIENT_KEY_MAX = 64
# A conversation shows its latest messages; older ones stay stored but unrendered.
THREAD_MESSAGE_CAP = 500
# "Never read by staff" compares as read at the epoch, so any patient message is newer.
EPOCH = datetime(1970, 1, 1)
REPLY_NEWS = N_("A new message from your care team is waiting")
# The list shows the start of each conversation's newest message, on one line.
PREVIEW_MAX = 100
PREVIEW_READ = 4 * PREVIEW_MAX  # enough for PREVIEW_MAX after blank lines fold away
# A closed conversation takes no more replies from the patient's side: they start a new one.
CLOSED_NOTE = N_("The office closed this conversation on {day}. "
                 "To ask something new, start a new message.")
REPLY_TO_CLOSED = N_("The office closed this conversation, so it takes no more replies. "
                     "To ask something new, start a new message.")
# Who wrote the practice's automatic first reply, wherever a conversation is shown.
AUTOMATIC_AUTHOR = N_("Automatic reply from the office")
# Before a red-flag message is sent (the page adds symptoms.call_now() and "Send anyway").
RED_FLAG_FOUND = N_("Your message mentions {flags}. This may need care right away.")
TOO_LONG = N_("The {label} can be at most {limit} characters; yours has {count}. "
              "Shorten it and send again.")
# The words the sentences above name a field by.
LABEL_WORDS = {"message": N_("message"), "subject": N_("subject")}
WRITE_FIRST = N_("Write your message before sending.")
KEY_REFUSED = N_("Your message could not be sent. Reload the page and send it again.")
CHOOSE_CATEGORY = N_("Choose a message category.")
SUBJECT_MISSING = N_("Enter a subject, like \"Question about my visit\".")
ASSIGN_WHO = OFFICE_("Choose a staff member from the list, or nobody.")


class RedFlagsFound(ValidationError):
    """A message from the patient's side names a red flag and the patient has not chosen
    "Send anyway": nothing was stored. ``flags``: what was found, as the office wrote it."""

    def __init__(self, flags: list[str]):
        self.flags = list(flags)
        super().__init__(RED_FLAG_FOUND, field="body",
                         params={"flags": lambda lang: red_flags.in_words(self.flags, lang)})
        # The error's own text adds the call-now sentence, for any caller that shows only that.
        self.message = self.sentence("en")
        self.args = (self.message,)

    def found(self, lang: str) -> str:
        """What was found, in ``lang`` (the page puts the call-now box beside it)."""
        return super().sentence(lang)

    def sentence(self, lang: str) -> str:
        return self.found(lang) + " " + call_now(lang)


def category_in_words(category: str, lang: str) -> str:
    """A message category in ``lang`` (one the catalogue lacks reads as stored)."""
    return i18n.gettext(lang, category)


@dataclass
class ThreadSummary:
    id: int
    category: str
    subject: str
    status: str
    last_message_at: datetime
    unread: bool
    message_count: int
    last_from_staff: bool
    preview: str = ""


@dataclass
class MessageView:
    id: int
    author_name: str
    from_staff: bool
    body: str
    created_at: datetime
    mine: bool
    automatic: bool = False  # the practice's automatic first reply (author_name: AUTOMATIC_AUTHOR)


@dataclass
class ThreadView:
    id: int
    patient_id: int
    category: str
    subject: str
    status: str
    created_at: datetime
    messages: list[MessageView]
    patient_name: str
    closed_at: Optional[datetime] = None
    urgent: bool = False
    due_at: Optional[datetime] = None
    assigned_to_user_id: Optional[int] = None


@dataclass
class QueueItem:
    id: int
    patient_id: int
    patient_name: str
    mrn: str
    category: str
    subject: str
    status: str
    last_message_at: datetime
    unread_by_staff: bool
    last_replied_by: Optional[str]
    urgent: bool = False
    due_at: Optional[datetime] = None
    overdue: bool = False  # an answer is due and the time has passed
    assigned_to: Optional[str] = None  # the staff member's name
    assigned_to_user_id: Optional[int] = None
    # Issue #17: a conversation a caregiver started: "Maria Alvarez, for Rosa Alvarez".
    started_by: str = ""


# --- small shared pieces -----------------------------------------------------------


audit_role = trail.role_in  # the audit log's words: patient | caregiver | staff | admin

# How the office sees a message a caregiver wrote (issue #17).
WRITTEN_FOR = "{author}, for {patient}"


def written_for(author: str, patient: str) -> str:
    return WRITTEN_FOR.format(author=author, patient=patient)


def _text(value, *, field: str, missing: str, label: str, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError(missing, field=field)
    if len(text) > limit:
        raise ValidationError(TOO_LONG, field=field, params={
            "label": lambda lang: i18n.gettext(lang, LABEL_WORDS.get(label, label)),
            "limit": f"{limit:,}", "count": f"{len(text):,}"})
    return text


def _body(body) -> str:
    return _text(body, field="body", missing=WRITE_FIRST,
                 label="message", limit=BODY_MAX)


def _client_key(key) -> Optional[str]:
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > CLIENT_KEY_MAX or not key.isprintable():
        raise ValidationError(KEY_REFUSED)
    return key


def _sent_before(db: Session, author_id: int, key: Optional[str]) -> Optional[Message]:
    """The message a browser retry already stored, found by its idempotency key."""
    if not key:
        return None
    return db.exec(select(Message).where(Message.author_user_id == author_id,
                                         Message.client_key == key)).first()


def _mark_read(db: Session, thread_id: int, user_id: int, now: datetime) -> None:
    """Upsert this reader's ThreadRead; a single statement, so two tabs cannot collide."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # SQLite: the only other database we ship on
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(ThreadRead).values(thread_id=thread_id, user_id=user_id, last_read_at=now)
    db.exec(statement.on_conflict_do_update(index_elements=["thread_id", "user_id"],
                                            set_={"last_read_at": now}))


def _thread_for(db: Session, actor: User, thread_id: int, *, action: str,
                clock: Clock, patient_id: Optional[int] = None) -> tuple[MessageThread, str]:
    """The thread and the reader's relation to its patient; ids come from the browser.

    ``patient_id``: the patient the reader's tab shows; a conversation of another patient
    (even one they may see in another tab) is answered as an unknown one.
    """
    thread = db.get(MessageThread, thread_id) if isinstance(thread_id, int) else None
    if thread is None:
        raise access.refuse_unknown(db, actor, action=action, what=f"conversation {thread_id!r}",
                                    clock=clock)
    relation = access.require_access(db, actor, thread.patient_id, area=scopes.AREA_MESSAGES, action=action, clock=clock)
    if patient_id is not None and thread.patient_id != patient_id:
        raise access.refuse_other_portal(db, actor, thread.patient_id, action=action,
                                         what=f"conversation {thread_id}", clock=clock)
    return thread, relation


def _tell_patient_side(db: Session, patient_id: int, thread_id: int, *, clock: Clock) -> None:
    # Only that a message waits, with a link to its conversation: email is not a secure
    # channel for what it says.
    notifications.tell_patient_side(db, patient_id, news=REPLY_NEWS,
                                    path=f"{routes.MESSAGES}?thread={thread_id}",
                                    kind=notifications.MESSAGE_KIND, clock=clock)


# --- triage -----------------------------------------------------------------------


def _due(rules: practice_settings.PracticeRules, now: datetime) -> Optional[datetime]:
    return business_hours.due_by(now, rules.hours, rules.holidays, timefmt.practice_tz())


def automatic_reply_text(rules: practice_settings.PracticeRules, due: Optional[datetime],
                         lang: str = "en") -> str:
    """The automatic reply, in ``lang``: the language of the person who wrote."""
    return business_hours.automatic_reply(due, rules.hours, tz=timefmt.practice_tz(),
                                          office_phone=get_settings().office_phone,
                                          after_hours_phone=rules.phone_after_hours, lang=lang)


def _red_flags(rules: practice_settings.PracticeRules, category: str, subject: str, body: str,
               send_anyway: bool) -> list[str]:
    """The red flags of a message from the patient's side; refused unless sent anyway."""
    flags = red_flags.find_in_message(category, subject, body, rules.red_flags)
    if flags and not send_anyway:
        raise RedFlagsFound(flags)
    return flags


# --- sending ----------------------------------------------------------------------


def start_thread(db: Session, actor: User, patient_id: int, *, category: str, subject: str,
                 body: str, client_key: Optional[str], clock: Clock,
                 send_anyway: bool = False) -> int:
    """A new conversation from the patient's side; returns its id (the same id on a retry).

    A red flag in it raises RedFlagsFound (nothing stored) unless ``send_anyway``: the
    patient saw the call-now banner and chose to send it.
    """
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_MESSAGES, action="message.send", clock=clock)
    if relation == access.RELATION_STAFF:
        raise NotAllowed(OFFICE_("Staff answer in an existing conversation, from the message queue."))
    if category not in CATEGORIES:
        raise ValidationError(CHOOSE_CATEGORY, field="category")
    subject = _text(subject, field="subject", missing=SUBJECT_MISSING,
                    label="subject", limit=SUBJECT_MAX)
    body = _body(body)
    subject = check_text(subject, field="subject", label="subject", single_line=True)
    body = check_text(body, field="body", label="message", single_line=False)
    key = _client_key(client_key)
    author_id = actor.id
    earlier = _sent_before(db, author_id, key)
    if earlier is not None:
        return earlier.thread_id
    rules = practice_settings.current(db)
    flags = _red_flags(rules, category, subject, body, send_anyway)
    now = clock()
    due = _due(rules, now)
    try:
        thread = MessageThread(patient_id=patient_id, category=category, subject=subject,
                               status=THREAD_NEW, created_by_user_id=author_id, created_at=now,
                               last_message_at=now, last_patient_message_at=now, message_count=1,
                               urgent=bool(flags), due_at=due,
                               assigned_to_user_id=practice_settings.assignee_for(db, rules, category))
        db.add(thread)
        db.flush()
        thread_id = thread.id
        db.add(Message(thread_id=thread_id, author_user_id=author_id, from_staff=False,
                       body=body, created_at=now, client_key=key))
        db.flush()
        # The practice's answer, at once and by nobody: it is no staff reply (the patient's
        # side is not emailed, the conversation stays new and unread by staff).
        db.add(Message(thread_id=thread_id, author_user_id=None, from_staff=True, automatic=True,
                       body=automatic_reply_text(rules, due, i18n.normalize(actor.language)),
                       created_at=now))
        db.flush()
        if flags:
            urgent.raise_for_message(db, patient_id, thread_id, flags, clock=clock)
        _mark_read(db, thread_id, author_id, now)
        _forget_draft(db, author_id, patient_id, NEW_MESSAGE)
        notifications.tell_staff_patient_wrote(db, patient_id, thread_id, clock=clock)
        trail.record(db, "message.sent", actor=actor, role=audit_role(actor, relation),
                     patient_id=patient_id,
                     detail=f"new conversation {thread_id}" + (", urgent" if flags else ""),
                     clock=clock)
    except IntegrityError:
        # The same send raced in from another tab or worker (its insert hit the unique
        # key at our flush): it is stored once. The failed flush ends the transaction,
        # and this send keeps nothing of its own, so the rollback loses nothing.
        db.rollback()
        earlier = _sent_before(db, author_id, key)
        if earlier is None:
            raise
        return earlier.thread_id
    return thread_id


def reply(db: Session, actor: User, thread_id: int, *, body: str, client_key: Optional[str],
          clock: Clock, patient_id: Optional[int] = None, send_anyway: bool = False) -> int:
    """A reply from the patient's side or from staff; returns the message id.

    ``patient_id``: the patient the replying tab shows (the portal always passes it).
    ``send_anyway``: the patient's side chose to send a reply that names a red flag
    (else RedFlagsFound, as for start_thread).
    """
    thread, relation = _thread_for(db, actor, thread_id, action="message.reply", clock=clock,
                                   patient_id=patient_id)
    body = _body(body)
    body = check_text(body, field="body", label="message", single_line=False)
    key = _client_key(client_key)
    author_id, patient_id = actor.id, thread.patient_id
    earlier = _sent_before(db, author_id, key)
    if earlier is not None:
        return earlier.id
    from_staff = relation == access.RELATION_STAFF
    if not from_staff and thread.status == THREAD_CLOSED:
        # The page shows a closed conversation without a reply box; a tab opened before the
        # office closed it gets the same answer here.
        raise ValidationError(REPLY_TO_CLOSED, field="body")
    rules = flags = None
    if not from_staff:
        rules = practice_settings.current(db)
        flags = _red_flags(rules, thread.category, "", body, send_anyway)
    now = clock()
    try:
        message = Message(thread_id=thread.id, author_user_id=author_id, from_staff=from_staff,
                          body=body, created_at=now, client_key=key)
        db.add(message)
        thread.last_message_at = now
        thread.message_count = MessageThread.message_count + 1  # in SQL: no lost count
        if from_staff:
            if thread.status == THREAD_NEW:
                thread.status = THREAD_OPEN
            thread.last_staff_message_at = now
            thread.staff_read_at = now
            thread.due_at = None  # answered
        else:
            # A new conversation stays new until staff answer it.
            thread.last_patient_message_at = now
            if thread.due_at is None:  # written after an answer: a new answer is due
                thread.due_at = _due(rules, now)
            if flags:
                thread.urgent = True
        db.add(thread)
        db.flush()
        message_id = message.id
        if flags:
            urgent.raise_for_message(db, patient_id, thread.id, flags, clock=clock)
        if from_staff:
            _tell_patient_side(db, patient_id, thread.id, clock=clock)
        else:
            _mark_read(db, thread_id, author_id, now)
            _forget_draft(db, author_id, patient_id, thread.id)
            notifications.tell_staff_patient_wrote(db, patient_id, thread.id, clock=clock)
        trail.record(db, "message.sent", actor=actor, role=audit_role(actor, relation),
                     patient_id=patient_id, detail=f"reply in conversation {thread_id}", clock=clock)
    except IntegrityError:  # a raced send, as in start_thread
        db.rollback()
        earlier = _sent_before(db, author_id, key)
        if earlier is None:
            raise
        return earlier.id
    return message_id


# --- reading ----------------------------------------------------------------------


def _unread_for_portal(last_staff: Optional[datetime], last_read: Optional[datetime]) -> bool:
    return last_staff is not None and (last_read is None or last_staff > last_read)


def _unread_for_staff(last_patient: Optional[datetime], staff_read: Optional[datetime]) -> bool:
    return last_patient is not None and last_patient > (staff_read or EPOCH)


def _preview(text: Optional[str]) -> str:
    """One line of at most PREVIEW_MAX characters, an ellipsis when there is more."""
    line = " ".join((text or "").split())
    if len(line) <= PREVIEW_MAX:
        return line + "\u2026" if len(text or "") >= PREVIEW_READ else line
    return line[:PREVIEW_MAX - 1].rstrip() + "\u2026"


def list_threads(db: Session, actor: User, patient_id: int, *, offset: int = 0, limit: int = 20,
                 clock: Clock) -> paging.Page[ThreadSummary]:
    """The patient's conversations, latest activity first, with unread for this reader."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_MESSAGES, action="messages.list", clock=clock)
    offset, limit = paging.clamp(offset, limit)
    # The newest message's start, per row, read through ix_messages_thread: no query per row.
    newest_start = (
        select(func.substr(Message.body, 1, PREVIEW_READ))
        .where(Message.thread_id == MessageThread.id, Message.automatic.is_(False))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
        .correlate(MessageThread)
        .scalar_subquery()
    )
    rows = db.exec(
        select(MessageThread, ThreadRead.last_read_at, newest_start.label("newest_start"))
        .outerjoin(ThreadRead, and_(ThreadRead.thread_id == MessageThread.id,
                                    ThreadRead.user_id == actor.id))
        .where(MessageThread.patient_id == patient_id)
        .order_by(MessageThread.last_message_at.desc(), MessageThread.id.desc())
        .offset(offset).limit(limit + 1)
    ).all()
    staff_reader = relation == access.RELATION_STAFF
    items = [
        ThreadSummary(
            id=t.id, category=t.category, subject=t.subject, status=t.status,
            last_message_at=t.last_message_at, message_count=t.message_count,
            unread=(_unread_for_staff(t.last_patient_message_at, t.staff_read_at) if staff_reader
                    else _unread_for_portal(t.last_staff_message_at, last_read)),
            last_from_staff=(t.last_staff_message_at is not None
                             and t.last_staff_message_at >= (t.last_patient_message_at or EPOCH)),
            preview=_preview(newest),
        )
        for t, last_read, newest in rows
    ]
    trail.record(db, "messages.listed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, detail=f"offset {offset}", clock=clock)
    return paging.page_of(items, offset, limit)


# The badge looks at the patient's most recently active conversations only, so every page
# load costs the same for 10 conversations as for 10,000 (it is in every page's frame).
# A new message is its conversation's latest activity, so an unopened reply sits at the
# top of this window and leaves it only after 500 other conversations have had newer
# activity; the inbox itself still marks every unread conversation, however old.
UNREAD_WINDOW = 500


def unread_count(db: Session, actor: User, patient_id: int, *, clock: Clock = utcnow) -> int:
    """How many conversations wait to be read by this reader: the Messages tab badge."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_MESSAGES, action="messages.unread_count",
                                     clock=clock)
    if relation == access.RELATION_STAFF:
        return int(db.exec(_UNREAD_FOR_STAFF, params={"patient_id": patient_id}).one())
    return int(db.exec(_UNREAD_FOR_READER, params={"patient_id": patient_id,
                                                   "reader_id": actor.id}).one())


# The badge is in every portal page's frame: its two queries are built once (no statement
# or cache key to build per page open; docs/PERFORMANCE.md). Counted within the
# UNREAD_WINDOW most recently active conversations (a reply is its conversation's latest
# activity, so an unopened reply is always inside it).
_RECENT = (select(MessageThread.id).where(MessageThread.patient_id == bindparam("patient_id"))
           .order_by(MessageThread.last_message_at.desc()).limit(UNREAD_WINDOW)
           .scalar_subquery())
_UNREAD_FOR_STAFF = (select(func.count(MessageThread.id)).where(MessageThread.id.in_(_RECENT))
                     .where(MessageThread.last_patient_message_at
                            > func.coalesce(MessageThread.staff_read_at, EPOCH)))
_UNREAD_FOR_READER = (
    select(func.count(MessageThread.id)).where(MessageThread.id.in_(_RECENT))
    .outerjoin(ThreadRead, and_(ThreadRead.thread_id == MessageThread.id,
                                ThreadRead.user_id == bindparam("reader_id")))
    .where(MessageThread.last_staff_message_at.is_not(None),
           or_(ThreadRead.last_read_at.is_(None),
               MessageThread.last_staff_message_at > ThreadRead.last_read_at)))


def open_thread(db: Session, actor: User, thread_id: int, *, clock: Clock,
                patient_id: Optional[int] = None) -> ThreadView:
    """One conversation, oldest message first; opening it marks it read for this reader.

    ``patient_id``: the patient the reading tab shows (the portal always passes it).
    """
    thread, relation = _thread_for(db, actor, thread_id, action="thread.view", clock=clock,
                                   patient_id=patient_id)
    patient = db.get(Patient, thread.patient_id)
    rows = db.exec(
        select(Message, User.full_name)
        .outerjoin(User, User.id == Message.author_user_id)  # the automatic reply: nobody
        .where(Message.thread_id == thread.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(THREAD_MESSAGE_CAP)
    ).all()
    patient_user_id = patient.user_id if patient else None
    by_caregiver = (lambda m: relation == access.RELATION_STAFF and not m.from_staff
                    and m.author_user_id is not None and m.author_user_id != patient_user_id)
    messages = [MessageView(id=m.id, author_name=AUTOMATIC_AUTHOR if m.automatic else (
                                written_for(name or "", patient.full_name) if by_caregiver(m)
                                else (name or "")),
                            from_staff=m.from_staff, body=m.body, created_at=m.created_at,
                            mine=m.author_user_id is not None and m.author_user_id == actor.id,
                            automatic=m.automatic)
                for m, name in reversed(rows)]
    view = ThreadView(id=thread.id, patient_id=thread.patient_id, category=thread.category,
                      subject=thread.subject, status=thread.status, created_at=thread.created_at,
                      messages=messages, patient_name=patient.full_name if patient else "",
                      closed_at=thread.closed_at if thread.status == THREAD_CLOSED else None,
                      urgent=thread.urgent, due_at=thread.due_at,
                      assigned_to_user_id=thread.assigned_to_user_id)
    now = clock()
    if relation == access.RELATION_STAFF:
        thread.staff_read_at = now
        db.add(thread)
    else:
        _mark_read(db, thread.id, actor.id, now)
    trail.record(db, "thread.viewed", actor=actor, role=audit_role(actor, relation),
                 patient_id=thread.patient_id, detail=f"conversation {thread.id}", clock=clock)
    return view


# --- the office's message queue ------------------------------------------------------


# The queue's order: what is due first. Urgent conversations awaiting an answer, then by
# due time (earliest first; nothing due last), then latest activity.
_QUEUE_ORDER = (
    case((and_(MessageThread.urgent.is_(True), MessageThread.due_at.is_not(None)), 0), else_=1),
    case((MessageThread.due_at.is_(None), 1), else_=0),
    MessageThread.due_at,
    MessageThread.last_message_at.desc(),
    MessageThread.id.desc(),
)


def staff_queue(db: Session, actor: User, *, category: Optional[str] = None,
                status: Optional[str] = None, unread_only: bool = False, mine: bool = False,
                offset: int = 0, limit: int = 25, clock: Clock) -> paging.Page[QueueItem]:
    """Conversations across patients, what is due first (``_QUEUE_ORDER``), filtered in SQL.

    ``mine``: only the conversations assigned to the actor.
    """
    access.require_staff(db, actor, action="messages.queue", clock=clock)
    offset, limit = paging.clamp(offset, limit)
    if category and category not in CATEGORIES:
        raise ValidationError(OFFICE_("Choose a category from the list."), field="category")
    if status and status not in (THREAD_NEW, THREAD_OPEN, THREAD_CLOSED):
        raise ValidationError(OFFICE_("Choose a status from the list."), field="status")
    # The latest staff author, per row, read through ix_messages_thread.
    last_replied_by = (
        select(User.full_name)
        .join(Message, Message.author_user_id == User.id)
        .where(Message.thread_id == MessageThread.id, Message.from_staff.is_(True))
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
        .correlate(MessageThread)
        .scalar_subquery()
    )
    assignee, starter = aliased(User), aliased(User)
    query = (select(MessageThread, Patient.first_name, Patient.last_name, Patient.mrn,
                    last_replied_by.label("last_replied_by"), assignee.full_name,
                    case((and_(starter.id.is_not(None), starter.is_staff.is_(False),
                               starter.id != func.coalesce(Patient.user_id, 0)),
                          starter.full_name), else_=None))
             .join(Patient, Patient.id == MessageThread.patient_id)
             .outerjoin(assignee, assignee.id == MessageThread.assigned_to_user_id)
             .outerjoin(starter, starter.id == MessageThread.created_by_user_id))
    if category:
        query = query.where(MessageThread.category == category)
    if status:
        query = query.where(MessageThread.status == status)
    if unread_only:
        query = query.where(MessageThread.last_patient_message_at
                            > func.coalesce(MessageThread.staff_read_at, EPOCH))
    if mine:
        query = query.where(MessageThread.assigned_to_user_id == actor.id)
    rows = db.exec(query.order_by(*_QUEUE_ORDER).offset(offset).limit(limit + 1)).all()
    now = clock()
    items = [
        QueueItem(id=t.id, patient_id=t.patient_id, patient_name=f"{first} {last}", mrn=mrn,
                  category=t.category, subject=t.subject, status=t.status,
                  last_message_at=t.last_message_at,
                  unread_by_staff=_unread_for_staff(t.last_patient_message_at, t.staff_read_at),
                  last_replied_by=replied_by, urgent=bool(t.urgent), due_at=t.due_at,
                  overdue=t.due_at is not None and t.due_at <= now,
                  assigned_to=assigned_name, assigned_to_user_id=t.assigned_to_user_id,
                  started_by=written_for(caregiver, f"{first} {last}") if caregiver else "")
        for t, first, last, mrn, replied_by, assigned_name, caregiver in rows
    ]
    filters = ", ".join(f for f in (category or "", status or "", "unread" if unread_only else "",
                                    "mine" if mine else "") if f)
    trail.record(db, "messages.queue_viewed", actor=actor, detail=filters or "all", clock=clock)
    return paging.page_of(items, offset, limit)


def set_thread_status(db: Session, actor: User, thread_id: int, status: str, *, clock: Clock) -> None:
    """Staff close a conversation that needs nothing more, or open it again."""
    access.require_staff(db, actor, action="thread.set_status", clock=clock)
    if status not in (THREAD_OPEN, THREAD_CLOSED):
        raise ValidationError(OFFICE_("Choose open or closed."), field="status")
    thread = db.get(MessageThread, thread_id) if isinstance(thread_id, int) else None
    if thread is None:
        raise NotFound(OFFICE_("That conversation was not found."))
    if status == THREAD_CLOSED:
        thread.closed_at = clock()
        thread.closed_by_user_id = actor.id
        thread.due_at = None  # nothing more is due
    else:
        thread.closed_at = None
        thread.closed_by_user_id = None
    thread.status = status
    db.add(thread)
    trail.record(db, "thread.closed" if status == THREAD_CLOSED else "thread.reopened",
                 actor=actor, patient_id=thread.patient_id, detail=f"conversation {thread.id}",
                 clock=clock)


def assign(db: Session, actor: User, thread_id: int, assignee_id: Optional[int], *,
           clock: Clock) -> Optional[str]:
    """Staff give a conversation to a staff member (None: to nobody); returns their name."""
    access.require_staff(db, actor, action="thread.assign", clock=clock)
    thread = db.get(MessageThread, thread_id) if access.row_id(thread_id) else None
    if thread is None:
        raise NotFound(OFFICE_("That conversation was not found."))
    name = None
    if assignee_id is not None:
        chosen = db.get(User, assignee_id) if access.row_id(assignee_id) else None
        if chosen is None or not (chosen.is_staff and chosen.is_active):
            raise ValidationError(ASSIGN_WHO, field="assignee")
        name = chosen.full_name
    thread.assigned_to_user_id = assignee_id
    db.add(thread)
    trail.record(db, "thread.assigned", actor=actor, patient_id=thread.patient_id,
                 detail=f"conversation {thread.id} to " + (f"user {assignee_id}" if assignee_id
                                                            else "nobody"), clock=clock)
    return name


# --- drafts: what a person typed and has not sent ---------------------------------------
# Kept so that a session that ends (idle, a closed tab) loses nothing: for the person who
# typed it, in the portal of the patient it was typed for, and no one else (staff in "View
# as patient" keep none). Not audited: nobody reads another person's draft, and a refused
# id (another portal's conversation) is audited by the access checks as always.

NEW_MESSAGE = 0  # the thread of a draft that starts a new conversation


@dataclass
class DraftView:
    thread_id: int  # NEW_MESSAGE: a new conversation
    thread_subject: str  # a reply's conversation
    category: str
    subject: str
    body: str
    updated_at: datetime
    # A reply to a conversation closed since: it can only be sent as a new message.
    thread_closed: bool = False
    thread_category: str = ""


def _draft_of(user_id: int, patient_id: int, thread_id: int):
    """The one draft of this person, in this portal, for this conversation (or a new one)."""
    return select(MessageDraft).where(MessageDraft.user_id == user_id,
                                      MessageDraft.patient_id == patient_id,
                                      MessageDraft.thread_id == thread_id)


def _view(draft: MessageDraft, thread_subject: Optional[str], thread_status: Optional[str],
          thread_category: Optional[str]) -> DraftView:
    return DraftView(thread_id=draft.thread_id, thread_subject=thread_subject or "",
                     category=draft.category, subject=draft.subject, body=draft.body,
                     updated_at=draft.updated_at, thread_closed=thread_status == THREAD_CLOSED,
                     thread_category=thread_category or "")


def _forget_draft(db: Session, user_id: int, patient_id: int, thread_id: int) -> None:
    for draft in db.exec(_draft_of(user_id, patient_id, thread_id)).all():
        db.delete(draft)


def _draft_place(db: Session, actor: User, patient_id: int, thread_id, *, action: str,
                 clock: Clock) -> tuple[int, Optional[MessageThread]]:
    """The (thread id, thread) a draft belongs to, checked as the patient's side of this tab."""
    if thread_id == NEW_MESSAGE:
        relation = access.require_access(db, actor, patient_id, area=scopes.AREA_MESSAGES, action=action, clock=clock)
        thread = None
    else:
        thread, relation = _thread_for(db, actor, thread_id, action=action, clock=clock,
                                       patient_id=patient_id)
    if relation == access.RELATION_STAFF:
        raise NotAllowed(OFFICE_("The office keeps no drafts in a patient's portal."))
    return (thread.id if thread is not None else NEW_MESSAGE), thread


def _draft_text(value, *, limit: int, label: str) -> str:
    # Loosely: a draft may be empty or half-written; only what no keyboard types is refused.
    text = value if isinstance(value, str) else ""
    return check_text(text[:limit], field="body", label=label, single_line=False)


def save_draft(db: Session, actor: User, patient_id: int, *, thread_id: int = NEW_MESSAGE,
               category: str = "", subject: str = "", body: str = "",
               client_key: Optional[str] = None, clock: Clock) -> bool:
    """Keep (or, all empty, forget) what the actor typed; False when nothing was kept.

    ``client_key``: the send this text belongs to. Once a message with that key is stored,
    a save that was still on its way is late and changes nothing.
    """
    thread_id, _ = _draft_place(db, actor, patient_id, thread_id, action="draft.save",
                                clock=clock)
    category = category if category in CATEGORIES else ""
    subject = _draft_text(subject, limit=SUBJECT_MAX, label="subject")
    body = _draft_text(body, limit=BODY_MAX, label="message")
    key = _client_key(client_key)
    if _sent_before(db, actor.id, key) is not None:
        return False
    if not (category or subject.strip() or body.strip()):
        _forget_draft(db, actor.id, patient_id, thread_id)
        return False
    values = dict(category=category, subject=subject, body=body, updated_at=clock())
    for attempt in range(2):
        draft = db.exec(_draft_of(actor.id, patient_id, thread_id)).first()
        if draft is None:
            draft = MessageDraft(user_id=actor.id, patient_id=patient_id, thread_id=thread_id)
        for name, value in values.items():
            setattr(draft, name, value)
        db.add(draft)
        try:
            db.flush()
            return True
        except IntegrityError:  # the same draft saved from another tab at the same moment
            db.rollback()  # the failed flush ends the transaction; this save wrote nothing else
            if attempt:
                raise
    return False


def drafts_for(db: Session, actor: User, patient_id: int, *, clock: Clock) -> list[DraftView]:
    """The actor's own unsent drafts in this patient's portal, newest first (none for staff).

    A draft older than policy.DRAFT_DAYS is deleted here.
    """
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_MESSAGES, action="draft.list", clock=clock)
    if relation == access.RELATION_STAFF:
        return []
    rows = db.exec(
        select(MessageDraft, MessageThread.subject, MessageThread.status,
               MessageThread.category)
        .outerjoin(MessageThread, and_(MessageThread.id == MessageDraft.thread_id,
                                       MessageThread.patient_id == MessageDraft.patient_id))
        .where(MessageDraft.user_id == actor.id, MessageDraft.patient_id == patient_id)
        .order_by(MessageDraft.updated_at.desc(), MessageDraft.id.desc())
    ).all()
    oldest = clock() - DRAFT_KEPT
    found = []
    for draft, thread_subject, status, thread_category in rows:
        if draft.updated_at < oldest or (draft.thread_id != NEW_MESSAGE and thread_subject is None):
            db.delete(draft)
            continue
        found.append(_view(draft, thread_subject, status, thread_category))
    return found


def get_draft(db: Session, actor: User, patient_id: int, thread_id: int, *,
              clock: Clock) -> Optional[DraftView]:
    """One of the actor's drafts, to restore into its form (None: there is none)."""
    thread_id, thread = _draft_place(db, actor, patient_id, thread_id, action="draft.restore",
                                     clock=clock)
    draft = db.exec(_draft_of(actor.id, patient_id, thread_id)).first()
    if draft is None or draft.updated_at < clock() - DRAFT_KEPT:
        return None
    if thread is None:
        return _view(draft, None, None, None)
    return _view(draft, thread.subject, thread.status, thread.category)


def discard_draft(db: Session, actor: User, patient_id: int, thread_id: int, *,
                  clock: Clock) -> None:
    """"Discard": the actor's draft is gone for good."""
    thread_id, _ = _draft_place(db, actor, patient_id, thread_id, action="draft.discard",
                                clock=clock)
    _forget_draft(db, actor.id, patient_id, thread_id)


def move_draft_to_new_message(db: Session, actor: User, patient_id: int, thread_id: int, *,
                              clock: Clock) -> None:
    """A reply drafted for a conversation the office has since closed becomes the draft of
    a new message (its subject and category): that is how it can still be sent."""
    draft = get_draft(db, actor, patient_id, thread_id, clock=clock)
    if draft is None or not draft.thread_closed:
        return
    save_draft(db, actor, patient_id, thread_id=NEW_MESSAGE, category=draft.thread_category,
               subject=draft.thread_subject, body=draft.body, clock=clock)
    discard_draft(db, actor, patient_id, thread_id, clock=clock)
