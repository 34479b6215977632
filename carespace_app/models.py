"""Every table of CareSpace. Times are naive UTC (``UTCNaive``: the same on SQLite and
PostgreSQL, compared without time-zone surprises); secrets are stored only as hashes.

Indexes follow the listings: each per-patient list has a composite index
(patient_id, sort column) so a page is read from the index, whatever the total.
"""
from __future__ import annotations

import unicodedata
from datetime import date
from typing import Optional

from pydantic import NaiveDatetime as UTCNaive
from sqlalchemy import Column, Index, Text, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from carespace_app.clock import utcnow
from carespace_app.i18n import N_

# --- value sets (kept as plain strings in the database) -----------------------

ROLE_PATIENT = "patient"
ROLE_CAREGIVER = "caregiver"
ROLE_STAFF = "staff"

RELATION_SELF = "self"
RELATION_CAREGIVER = "caregiver"

# Issue #17: what a caregiver's access reaches (services/permissions/scopes.py says which
# areas each one opens). The patient themself and the office are never scoped.
SCOPE_FULL = "full"
SCOPE_APPOINTMENTS_LABS = "appointments_labs"
SCOPE_APPOINTMENTS = "appointments"
SCOPES = (SCOPE_FULL, SCOPE_APPOINTMENTS_LABS, SCOPE_APPOINTMENTS)

INVITE_PATIENT = "patient"
INVITE_CAREGIVER = "caregiver"

MESSAGE_CATEGORIES = (
    "Appointment",
    "Prescription refill",
    "Billing",
    "Test results",
    "Medical question",
    "Symptoms or side effects",  # issue #15: checked for red flags (records/red_flags.py)
    "Other",
)
THREAD_NEW = "new"
THREAD_OPEN = "open"
THREAD_CLOSED = "closed"

APPOINTMENT_TYPES = ("Office visit", "Lab services", "Infusion", "Imaging", "Telehealth", "Other")
APPOINTMENT_SCHEDULED = "scheduled"
APPOINTMENT_CANCELLED = "cancelled"

FLAG_NORMAL = "normal"
FLAG_LOW = "low"
FLAG_HIGH = "high"
FLAG_CRITICAL_LOW = "critical low"
FLAG_CRITICAL_HIGH = "critical high"

# Issue #16: the patient chooses per category whether new results show at once.
RESULT_CATEGORIES = (N_("Tumour markers"), N_("Pathology"), N_("Imaging"), N_("Other labs"))
HOLD_PATIENT = "patient"
HOLD_CLINICIAN = "clinician"

OUTBOX_QUEUED = "queued"
OUTBOX_SENDING = "sending"
OUTBOX_SENT = "sent"
OUTBOX_LOGGED = "delivered to log"
OUTBOX_FAILED = "failed"


# --- people -------------------------------------------------------------------


class User(SQLModel, table=True):
    """One account per person, whatever roles they hold."""

    __tablename__ = "users"

    id: Optional[int] = Field(default=None, primary_key=True)
    # NFKC + casefold of the address: the key every look-up uses.
    email: str = Field(index=True, unique=True, max_length=320)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=100)
    is_staff: bool = Field(default=False)
    is_admin: bool = Field(default=False)
    is_active: bool = Field(default=True)
    created_at: UTCNaive = Field(default_factory=utcnow)
    password_changed_at: UTCNaive = Field(default_factory=utcnow)
    deactivated_at: Optional[UTCNaive] = None
    # Staff only: "Email me when a patient sends a message" (Settings), on unless turned off.
    email_on_patient_message: bool = Field(default=True)
    # Two-step sign-in (services/identity/mfa.py): on since this moment, None when off.
    two_step_since: Optional[UTCNaive] = None
    # The portal's language for this person ("en" or "es", carespace_app/i18n): the switch
    # saves it; their emails use it.
    language: str = Field(default="en", max_length=5, sa_column_kwargs={"server_default": "en"})
    # False until the person chose it (the switch, or registering in it): an account made
    # before languages, or by the office, takes the browser's at its next sign-in
    # (services/identity/language.py::adopt_at_sign_in).
    language_chosen: bool = Field(default=False)


class Patient(SQLModel, table=True):
    """A record at the practice, created by the office before any account exists."""

    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_name", "last_name", "first_name"),
        Index("ix_patients_last_name_key", "last_name_key"),
        Index("ix_patients_first_name_key", "first_name_key"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    mrn: str = Field(index=True, unique=True, max_length=40)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    # casefolded last name, for indexed prefix search by staff
    last_name_key: str = Field(default="", max_length=100)
    # the first name as search compares it (fold_name, kept by _keep_name_keys below)
    first_name_key: str = Field(default="", max_length=100)
    date_of_birth: date = Field(index=True)
    email: str = Field(index=True, max_length=320)  # the address on file, normalised
    phone: Optional[str] = Field(default=None, max_length=40)
    user_id: Optional[int] = Field(default=None, foreign_key="users.id", index=True)
    created_at: UTCNaive = Field(default_factory=utcnow)
    updated_at: UTCNaive = Field(default_factory=utcnow)
    # The office's "Preferred language" ("en" or "es"): the invitation's language.
    language: str = Field(default="en", max_length=5, sa_column_kwargs={"server_default": "en"})

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def fold_name(text: str) -> str:
    """How staff search compares names: case, keyboard and accents aside ("Inés" → "ines")."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare).strip().casefold()


@event.listens_for(Patient, "before_insert")
@event.listens_for(Patient, "before_update")
def _keep_name_keys(mapper, connection, patient: Patient) -> None:
    # Every write of a name, wherever it comes from (office, demo, tests), refreshes its keys.
    patient.first_name_key = fold_name(patient.first_name)[:100]
    patient.last_name_key = fold_name(patient.last_name)[:100]


class PatientAccess(SQLModel, table=True):
    """Who may open which patient's portal: the patient themself or a caregiver."""

    __tablename__ = "patient_access"
    __table_args__ = (
        Index("ix_patient_access_user", "user_id", "revoked_at"),
        Index("ix_patient_access_patient", "patient_id", "revoked_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    user_id: int = Field(foreign_key="users.id")
    relation: str = Field(max_length=20)  # RELATION_SELF | RELATION_CAREGIVER
    granted_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    granted_at: UTCNaive = Field(default_factory=utcnow)
    revoked_at: Optional[UTCNaive] = None
    revoked_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    # A caregiver's: what it reaches, and the day it ends (at the start of that day in the
    # practice's time zone; every check reads it, the sweep only records it).
    scope: str = Field(default=SCOPE_FULL, max_length=20, sa_column_kwargs={"server_default": SCOPE_FULL})
    ends_on: Optional[date] = None


class CaregiverGrant(SQLModel, table=True):
    """A patient's decision to give a named person access, before and after they register.

    Manage Users lists these: invited, expired, active or revoked.
    """

    __tablename__ = "caregiver_grants"
    __table_args__ = (Index("ix_caregiver_grants_patient", "patient_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)  # normalised
    granted_by_user_id: int = Field(foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    access_id: Optional[int] = Field(default=None, foreign_key="patient_access.id")
    revoked_at: Optional[UTCNaive] = None
    # Issue #17: the patient's choice, copied to the access row when the person accepts.
    scope: str = Field(default=SCOPE_FULL, max_length=20, sa_column_kwargs={"server_default": SCOPE_FULL})
    ends_on: Optional[date] = None
    end_notice_sent_at: Optional[UTCNaive] = None  # the week-before email went out (once)
    ended_at: Optional[UTCNaive] = None  # the end date came (revoked_at is set with it)


class Invitation(SQLModel, table=True):
    """A registration link. Only the SHA-256 of the token is kept."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_patient", "patient_id", "kind", "created_at"),
        Index("ix_invitations_email", "email"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    kind: str = Field(max_length=20)  # INVITE_PATIENT | INVITE_CAREGIVER
    patient_id: int = Field(foreign_key="patients.id")
    grant_id: Optional[int] = Field(default=None, foreign_key="caregiver_grants.id")
    email: str = Field(max_length=320)  # the invited address, normalised
    invitee_name: str = Field(max_length=200)
    created_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    expires_at: UTCNaive
    used_at: Optional[UTCNaive] = None
    used_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    superseded_at: Optional[UTCNaive] = None  # a newer link (or an email change) killed it
    failed_attempts: int = Field(default=0)
    locked_at: Optional[UTCNaive] = None
    outbox_id: Optional[int] = Field(default=None, foreign_key="outbox_emails.id")
    # A caregiver link also needs the short code the patient tells the caregiver, which a
    # forwarded email doesn't carry. Kept as SHA-256 of (the link's token, the code): the
    # database never holds the token, so a copy of it can't be used to try the codes.
    access_code_hash: Optional[str] = Field(default=None, max_length=64)
    # Sealed (services/identity/security.py) so the patient and the office can read it out again
    # while the link is pending; cleared when the link is used, replaced, revoked or locked.
    access_code_sealed: Optional[str] = Field(default=None, max_length=200)


# --- sign-in and sessions -----------------------------------------------------


class UserSession(SQLModel, table=True):
    """A server-side session; the browser holds only the token, in an HttpOnly cookie."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user", "user_id", "ended_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    last_seen_at: UTCNaive = Field(default_factory=utcnow)
    expires_at: UTCNaive  # the absolute limit
    ended_at: Optional[UTCNaive] = None
    ended_reason: Optional[str] = Field(default=None, max_length=40)
    active_patient_id: Optional[int] = Field(default=None, foreign_key="patients.id")
    client_ip: Optional[str] = Field(default=None, max_length=64)
    user_agent: Optional[str] = Field(default=None, max_length=300)


class SignInTicket(SQLModel, table=True):
    """A one-time, seconds-long ticket the browser swaps for the session cookie."""

    __tablename__ = "sign_in_tickets"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    session_id: int = Field(foreign_key="user_sessions.id")
    # The session token, sealed with the server key until the cookie route swaps it.
    sealed_session_token: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: UTCNaive
    used_at: Optional[UTCNaive] = None
    # SHA-256 of the nonce cookie of the browser that signed in: only that browser can
    # swap the ticket (another site cannot sign a visitor into someone else's account).
    browser_nonce_hash: Optional[str] = Field(default=None, max_length=64)


class SignInFailure(SQLModel, table=True):
    """One failed sign-in; counted per account and per client to throttle guessing."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_email", "email", "at"),
        Index("ix_sign_in_failures_client", "client_ip", "at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=320)
    client_ip: str = Field(max_length=64)
    at: UTCNaive = Field(default_factory=utcnow)


class PasswordReset(SQLModel, table=True):
    __tablename__ = "password_resets"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: UTCNaive = Field(default_factory=utcnow)
    expires_at: UTCNaive
    used_at: Optional[UTCNaive] = None
    superseded_at: Optional[UTCNaive] = None


class EmailChange(SQLModel, table=True):
    __tablename__ = "email_changes"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    new_email: str = Field(max_length=320)
    created_at: UTCNaive = Field(default_factory=utcnow)
    expires_at: UTCNaive
    used_at: Optional[UTCNaive] = None
    superseded_at: Optional[UTCNaive] = None


# --- two-step sign-in (services/identity/mfa.py) ---------------------------------------


class TwoStepKey(SQLModel, table=True):
    """A person's authenticator key. Secrets are sealed (security.seal): readable to check a
    code, never shown again after set-up, never logged."""

    __tablename__ = "two_step_keys"

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", unique=True)
    # The key in use (None while only being set up).
    sealed_secret: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    # A key being set up: shown once as a QR code and text, on only after a right code.
    sealed_pending: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    # The last 30-second step a code was accepted for: a code is never taken twice.
    last_step: int = Field(default=0)


class RecoveryCode(SQLModel, table=True):
    """One single-use recovery code, kept only as a keyed hash."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user", "user_id", "used_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    code_hash: str = Field(max_length=64)
    created_at: UTCNaive = Field(default_factory=utcnow)
    used_at: Optional[UTCNaive] = None


class TwoStepPending(SQLModel, table=True):
    """"The password was right": a few minutes in which the code may follow. Its token lives
    only in the signing-in tab's server-side state; the table keeps its hash."""

    __tablename__ = "two_step_pending"

    id: Optional[int] = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: UTCNaive = Field(default_factory=utcnow)
    expires_at: UTCNaive
    used_at: Optional[UTCNaive] = None
    superseded_at: Optional[UTCNaive] = None
    # A recovery code was accepted: the sign-in finishes when the person has read how many
    # are left (state/auth.py), still within the expiry.
    passed_at: Optional[UTCNaive] = None


# --- secure messaging ---------------------------------------------------------


class MessageThread(SQLModel, table=True):
    __tablename__ = "message_threads"
    __table_args__ = (
        Index("ix_threads_patient_last", "patient_id", "last_message_at"),
        Index("ix_threads_queue", "status", "last_message_at"),
        Index("ix_threads_category", "category", "last_message_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    category: str = Field(max_length=40)
    subject: str = Field(max_length=200)
    status: str = Field(default=THREAD_NEW, max_length=10)
    created_by_user_id: int = Field(foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    last_message_at: UTCNaive = Field(default_factory=utcnow)
    # What the staff queue and the patient's unread counts are computed from.
    last_patient_message_at: Optional[UTCNaive] = None
    last_staff_message_at: Optional[UTCNaive] = None
    staff_read_at: Optional[UTCNaive] = None
    closed_at: Optional[UTCNaive] = None
    closed_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    message_count: int = Field(default=0)
    # Triage (issue #15): a red flag the patient sent anyway; when the practice's answer is
    # due (from the business hours; None once staff answered or closed it); who has it.
    urgent: bool = Field(default=False)
    due_at: Optional[UTCNaive] = None
    assigned_to_user_id: Optional[int] = Field(default=None, foreign_key="users.id")


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread", "thread_id", "created_at"),
        # A browser retry of the same send carries the same key: stored once.
        UniqueConstraint("author_user_id", "client_key", name="uq_messages_client_key"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="message_threads.id")
    # None for the practice's automatic first reply (``automatic``): written by nobody.
    author_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    from_staff: bool = Field(default=False)
    automatic: bool = Field(default=False)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: UTCNaive = Field(default_factory=utcnow)
    client_key: Optional[str] = Field(default=None, max_length=64)


class ThreadRead(SQLModel, table=True):
    """When a portal reader last read a thread (per reader: patient and caregivers apart)."""

    __tablename__ = "thread_reads"
    __table_args__ = (UniqueConstraint("thread_id", "user_id", name="uq_thread_reads"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="message_threads.id")
    user_id: int = Field(foreign_key="users.id", index=True)
    last_read_at: UTCNaive = Field(default_factory=utcnow)


class MessageDraft(SQLModel, table=True):
    """What a person typed and has not sent yet: theirs alone, for one patient's portal.

    ``thread_id`` 0 is a new message (a NULL would not be unique); a reply names its
    conversation. Deleted on send or discard; older than policy.DRAFT_DAYS is gone.
    """

    __tablename__ = "message_drafts"
    __table_args__ = (
        UniqueConstraint("user_id", "patient_id", "thread_id", name="uq_message_drafts"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    patient_id: int = Field(foreign_key="patients.id")
    thread_id: int = Field(default=0)
    category: str = Field(default="", max_length=40)
    subject: str = Field(default="", max_length=200)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    updated_at: UTCNaive = Field(default_factory=utcnow)


# --- between visits: symptom check-ins and urgent items (issue #15) -------------

CHECKIN_OPEN = "open"
CHECKIN_DONE = "done"
CHECKIN_EXPIRED = "expired"

URGENT_CHECKIN = "checkin"
URGENT_MESSAGE = "message"


class CheckinPlan(SQLModel, table=True):
    """A patient's symptom check-in schedule, set by the office. One live plan per patient
    (``stopped_at`` None); a changed plan is the same row, a stopped one stays for history."""

    __tablename__ = "checkin_plans"
    __table_args__ = (Index("ix_checkin_plans_patient", "patient_id", "stopped_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    every_days: int = Field(default=7)  # 7 or 14
    starts_on: date
    ends_on: Optional[date] = None  # None: until stopped
    symptoms: str = Field(default="", max_length=400)  # the keys asked, comma-separated
    created_by_user_id: int = Field(foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    updated_at: UTCNaive = Field(default_factory=utcnow)
    stopped_at: Optional[UTCNaive] = None
    stopped_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")


class Checkin(SQLModel, table=True):
    """One check-in of a plan: open from ``opens_at`` until ``closes_at`` (the next one
    opens), then done (answered) or expired."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("plan_id", "opens_at", name="uq_checkins_plan_opens"),
        Index("ix_checkins_patient_opens", "patient_id", "opens_at"),
        Index("ix_checkins_status_closes", "status", "closes_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="checkin_plans.id")
    patient_id: int = Field(foreign_key="patients.id")
    opens_at: UTCNaive
    closes_at: UTCNaive
    symptoms: str = Field(default="", max_length=400)  # what this one asks (the plan's then)
    status: str = Field(default=CHECKIN_OPEN, max_length=10)
    reminded_at: Optional[UTCNaive] = None
    submitted_at: Optional[UTCNaive] = None
    submitted_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    submitted_as: str = Field(default="", max_length=20)  # patient | caregiver


class CheckinAnswer(SQLModel, table=True):
    """One symptom's grade in one check-in: 0–4 (None … Very severe); a yes/no item 0 or 1."""

    __tablename__ = "checkin_answers"
    __table_args__ = (
        UniqueConstraint("checkin_id", "symptom", name="uq_checkin_answers"),
        Index("ix_checkin_answers_patient", "patient_id", "symptom", "answered_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="checkins.id")
    patient_id: int = Field(foreign_key="patients.id")
    symptom: str = Field(max_length=40)
    grade: int
    answered_at: UTCNaive = Field(default_factory=utcnow)


class CheckinDraft(SQLModel, table=True):
    """The answers a person has chosen so far in an open check-in, theirs alone: a session
    that ends mid-way (the idle sign-out, a phone call) loses nothing. Gone once the check-in
    is answered or closed."""

    __tablename__ = "checkin_drafts"
    __table_args__ = (UniqueConstraint("checkin_id", "user_id", name="uq_checkin_drafts"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="checkins.id")
    user_id: int = Field(foreign_key="users.id")
    patient_id: int = Field(foreign_key="patients.id")
    answers: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))  # {"pain": 3}
    updated_at: UTCNaive = Field(default_factory=utcnow)


class UrgentItem(SQLModel, table=True):
    """Something a nurse must act on now: a check-in's severe answer or a red-flag message.
    Stays on top of the office's queue until acknowledged."""

    __tablename__ = "urgent_items"
    __table_args__ = (Index("ix_urgent_items_open", "acknowledged_at", "created_at"),
                      Index("ix_urgent_items_patient", "patient_id", "created_at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    kind: str = Field(max_length=10)  # URGENT_CHECKIN | URGENT_MESSAGE
    checkin_id: Optional[int] = Field(default=None, foreign_key="checkins.id")
    thread_id: Optional[int] = Field(default=None, foreign_key="message_threads.id")
    # What was found, as JSON: [{"symptom": key, "grade": 3, "previous": 1 | null}, ...]
    # for a check-in; [{"flag": "chest pain"}, ...] for a message.
    findings: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    created_at: UTCNaive = Field(default_factory=utcnow)
    acknowledged_at: Optional[UTCNaive] = None
    acknowledged_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))


class PracticeSettings(SQLModel, table=True):
    """The office's own rules for messages (one row, id 1): business hours, holidays, the
    after-hours number, the red-flag words, and who gets each category by default.
    JSON text columns; services/records/practice_settings reads and validates them."""

    __tablename__ = "practice_settings"

    id: Optional[int] = Field(default=None, primary_key=True)
    # {"mon": ["08:00", "17:00"], ..., "sun": null}
    hours: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    holidays: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # ["2026-12-25", ...]
    red_flags: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # ["chest pain", ...]
    routing: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))  # {"Billing": user_id}
    after_hours_phone: str = Field(default="", max_length=40)
    updated_at: UTCNaive = Field(default_factory=utcnow)
    updated_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")


# --- appointments and labs -----------------------------------------------------


class Appointment(SQLModel, table=True):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_patient_start", "patient_id", "starts_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    starts_at: UTCNaive  # UTC
    duration_minutes: int = Field(default=30)
    appointment_type: str = Field(max_length=40)
    provider: str = Field(max_length=200)
    location: str = Field(max_length=300)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=APPOINTMENT_SCHEDULED, max_length=20)
    created_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    updated_at: UTCNaive = Field(default_factory=utcnow)


class LabReport(SQLModel, table=True):
    __tablename__ = "lab_reports"
    __table_args__ = (
        Index("ix_lab_reports_patient_resulted", "patient_id", "resulted_at"),
        Index("ix_lab_reports_held", "released_at", "release_by"),  # the release sweep
        # A retried save of the same form carries the same key: stored once. (A unique
        # index, not a constraint: SQLite adds it without rebuilding the table.)
        Index("uq_lab_reports_client_key", "created_by_user_id", "client_key", unique=True),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    panel: str = Field(max_length=200)
    collected_at: UTCNaive
    resulted_at: UTCNaive
    ordering_provider: str = Field(max_length=200)
    created_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    created_at: UTCNaive = Field(default_factory=utcnow)
    client_key: Optional[str] = Field(default=None, max_length=64)
    # Issue #16 (services/records/result_release.py): when the patient's side may see it.
    # RESULT_CATEGORIES; the patient's hold follows the category.
    category: str = Field(default="Other labs", max_length=40)
    # None while held: nothing of the report reaches the patient's side. Set when it is
    # stored (result_release: at once, unless held); reports from before #16 were shown
    # when entered (the migration copies created_at).
    released_at: Optional[UTCNaive] = None
    release_by: Optional[UTCNaive] = None  # a held report releases by itself then
    hold_kind: str = Field(default="", max_length=12)  # "" | HOLD_PATIENT | HOLD_CLINICIAN
    hold_reason: str = Field(default="", max_length=60)  # CLINICIAN_HOLD_REASONS
    hold_note: str = Field(default="", max_length=500)
    held_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    reviewed_at: Optional[UTCNaive] = None
    reviewed_by_user_id: Optional[int] = Field(default=None, foreign_key="users.id")


class ResultHoldChoice(SQLModel, table=True):
    """A patient's own choice for one category of results: shown at once (no row, or
    hold_days 0) or held until reviewed, at most hold_days. Set only by the patient."""

    __tablename__ = "result_hold_choices"
    __table_args__ = (UniqueConstraint("patient_id", "category", name="uq_result_hold_choice"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    category: str = Field(max_length=40)
    hold_days: int = Field(default=0)
    updated_at: UTCNaive = Field(default_factory=utcnow)


class ShareLink(SQLModel, table=True):
    """A link a patient gives someone to read their record (issue #16): the token and the
    passcode are stored only as hashes; it expires, can be revoked, and locks after too
    many wrong passcodes."""

    __tablename__ = "share_links"
    __table_args__ = (Index("ix_share_links_patient", "patient_id", "created_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patients.id")
    created_by_user_id: int = Field(foreign_key="users.id")
    token_hash: str = Field(max_length=64, unique=True)
    passcode_hash: str = Field(max_length=64)
    label: str = Field(default="", max_length=120)  # who it is for, as the patient wrote it
    # What it shows: the record from..to, messages or not.
    from_day: Optional[date] = None
    to_day: Optional[date] = None
    include_messages: bool = False
    created_at: UTCNaive = Field(default_factory=utcnow)
    expires_at: UTCNaive
    revoked_at: Optional[UTCNaive] = None
    wrong_passcodes: int = Field(default=0)
    last_viewed_at: Optional[UTCNaive] = None


class LabResult(SQLModel, table=True):
    __tablename__ = "lab_results"
    __table_args__ = (
        Index("ix_lab_results_history", "patient_id", "test_name", "collected_at"),
        Index("ix_lab_results_report", "report_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="lab_reports.id")
    patient_id: int = Field(foreign_key="patients.id")  # copied from the report for history
    test_name: str = Field(max_length=120)
    value: float  # for flags and the chart
    value_text: str = Field(default="", max_length=40)  # as entered: "1.0" stays "1.0"
    unit: str = Field(default="", max_length=40)
    ref_low: Optional[float] = None
    ref_high: Optional[float] = None
    critical_low: Optional[float] = None
    critical_high: Optional[float] = None
    flag: str = Field(default=FLAG_NORMAL, max_length=20)
    collected_at: UTCNaive  # copied from the report for history
    corrected_at: Optional[UTCNaive] = None
    loinc: str = Field(default="", max_length=16)  # optional, as the office entered it (#16)


# --- practice content, audit and email ------------------------------------------


class Resource(SQLModel, table=True):
    __tablename__ = "resources"

    id: Optional[int] = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    url: str = Field(max_length=500)
    description: str = Field(default="", max_length=1000)
    position: int = Field(default=0, index=True)
    updated_at: UTCNaive = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only: who did what, for which patient, when (UTC). Never a secret.

    The one update: a repeated refusal counts up ``repeat_count`` on its first row.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_patient_at", "patient_id", "at"),
        Index("ix_audit_actor_at", "actor_user_id", "at"),
        Index("ix_audit_action_at", "action", "at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: UTCNaive = Field(default_factory=utcnow, index=True)
    actor_user_id: Optional[int] = Field(default=None, foreign_key="users.id")
    actor_role: str = Field(default="", max_length=20)  # patient | caregiver | staff | admin | system | anonymous
    patient_id: Optional[int] = Field(default=None, foreign_key="patients.id")
    action: str = Field(max_length=60)
    detail: str = Field(default="", max_length=1000)
    client_ip: Optional[str] = Field(default=None, max_length=64)
    # A refusal repeated by the same person on the same patient within a short window
    # is counted on its first row (services/audit/trail.py), so nobody can flood a trail.
    repeat_count: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class OutboxEmail(SQLModel, table=True):
    """Every email, durable before it is sent. Links inside are sealed, never in clear."""

    __tablename__ = "outbox_emails"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_created", "created_at"),
        Index("ix_outbox_patient", "patient_id", "created_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    # The body with {link} where a secret link goes; the link itself is in sealed_link.
    body_template: str = Field(sa_column=Column(Text, nullable=False))
    sealed_link: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    kind: str = Field(max_length=40)
    patient_id: Optional[int] = Field(default=None, foreign_key="patients.id")
    status: str = Field(default=OUTBOX_QUEUED, max_length=20)
    # The language the email is written in: its footer is added in the same one.
    language: str = Field(default="en", max_length=5, sa_column_kwargs={"server_default": "en"})
    attempts: int = Field(default=0)
    next_attempt_at: UTCNaive = Field(default_factory=utcnow)
    last_error: Optional[str] = Field(default=None, max_length=500)
    claimed_at: Optional[UTCNaive] = None
    created_at: UTCNaive = Field(default_factory=utcnow)
    sent_at: Optional[UTCNaive] = None
    # A file sent with the email (issue #16: a patient's record): its name and type, and the
    # bytes only sealed (security.seal of their base64), dropped once delivered or logged.
    attachment_name: Optional[str] = Field(default=None, max_length=120)
    attachment_type: Optional[str] = Field(default=None, max_length=60)
    sealed_attachment: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
