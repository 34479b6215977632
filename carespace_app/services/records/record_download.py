"""Download my record (issue #16): the patient's record as a file, downloaded, emailed, or
printed at the desk.

record_export.py reads the record and makes the two files; this module is the door to
them: it reads the date range people type, checks who may do what, bounds the work
(policy.MAX_RECORD_RANGE_YEARS, the emails a day, the size of an attachment) and audits
each download, send and print in the caller's unit of work. Nothing here commits.

Who may do what: the patient and their caregivers download and send; the office's
read-only "View as patient" downloads but never sends (the state refuses first, and
``send_record`` refuses staff again); staff print a copy from the office's patient page.

The audit trail names the format in the action ("record.downloaded.pdf"), so "Who
viewed my record" can say which file was made; the detail holds the range and whether
messages were in it. A send's detail names the address's domain and the outbox email's
number, never the whole address: the audit trail is kept for good and read by every
staff member, while the address itself stays on the outbox row (which the office can
find by that number) for as long as the outbox keeps it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from carespace_app import i18n, timefmt
from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import AuditEvent, User
from carespace_app.policy import (
    DEFAULT_RECORD_RANGE_MONTHS,
    MAX_EMAILED_RECORD_BYTES,
    MAX_RECORD_EMAILS_PER_DAY,
    MAX_RECORD_RANGE_YEARS,
    RECORD_EMAIL_LIMIT_WINDOW,
)
from carespace_app.i18n import N_
from carespace_app.services.audit import trail
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity.emails import validate_email_address
from carespace_app.services.mail import outbox
from carespace_app.services.onboarding.invitations import locked_patient
from carespace_app.services.permissions import access, scopes
from carespace_app.services.records import record_export, render_pool

PDF = "pdf"
FHIR = "fhir"


@dataclass(frozen=True)
class Format:
    key: str
    words: str  # as the page and "Who viewed my record" say it
    content_type: str
    extension: str


FORMATS = {
    PDF: Format(PDF, N_("PDF"), "application/pdf", "pdf"),
    FHIR: Format(FHIR, N_("FHIR file"), "application/fhir+json", "json"),
}
FILENAME = "carespace-record-{day}.{extension}"
EMAIL_KIND = "record_copy"

# Audit actions (their plain words: services/audit/patient_activity.py).
DOWNLOADED = "record.downloaded.{format}"
SENT = "record.sent.{format}"
PRINTED = "record.printed_at_desk"

# --- what people read ------------------------------------------------------------------

EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
ENTER_START = N_("Enter the first day, like {example}.")
ENTER_END = N_("Enter the last day, like {example}.")
NOT_A_DATE = N_("Enter a real date, like {example}.")
RANGE_TOO_LONG_TEMPLATE = N_("Choose at most {years} years at a time. For older years, "
                             "download them separately.")
RANGE_TOO_LONG = i18n.fmt("en", RANGE_TOO_LONG_TEMPLATE, years=MAX_RECORD_RANGE_YEARS)
CHOOSE_FORMAT = N_("Choose PDF or FHIR file.")
TOO_MANY_SENDS = N_("This record was emailed {count} times today. To protect "
                    "people from unwanted email, you can send it again tomorrow, download it "
                    "instead, or call the office at {phone}.")
TOO_BIG_TO_EMAIL = N_("This file is too big to send by email. Choose fewer dates, leave the "
                      "messages out, or download it instead.")
OFFICE_CANNOT_SEND = N_("The office can't email a patient's record from the portal.")
# The email goes to an address the sender typed: in the sender's language (their tab's).
EMAIL_SUBJECT = N_("A copy of a health record from {practice}")
EMAIL_BODY = N_(
    "Hello,\n\n"
    "Attached is a copy of a health record from {practice}, sent through CareSpace, the "
    "practice's patient portal, by the patient or someone they trust.\n\n"
    "The file is {what}. If you did not expect it, please delete this email."
)
EMAIL_WHAT = {
    PDF: N_("a PDF you can open and print"),
    FHIR: N_("a FHIR file, a standard format that a doctor's or hospital's computer system can read"),
}


@dataclass(frozen=True)
class RecordFile:
    filename: str
    content_type: str
    data: bytes
    format: str


@dataclass(frozen=True)
class Sent:
    to: str
    format: str
    filename: str


# --- the range people type ----------------------------------------------------------------


def today(clock: Clock) -> date:
    """The practice's date now."""
    return timefmt.to_local(clock()).date()


def _months_back(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + (day.month - 1) - months, 12)
    month += 1
    for last in (31, 30, 29, 28):  # the same day of that month, or its last day
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def default_range(clock: Clock) -> tuple[date, date]:
    """The range the page starts with: the last DEFAULT_RECORD_RANGE_MONTHS months."""
    end = today(clock)
    return _months_back(end, DEFAULT_RECORD_RANGE_MONTHS), end


def _day(text, *, field: str, blank: str, example: date) -> date:
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationError(blank, params={"example": example.isoformat()}, field=field)
    try:
        value = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        value = None
    if value is None or not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(NOT_A_DATE, params={"example": example.isoformat()}, field=field)
    return value


def parse_range(start_text, end_text, *, clock: Clock) -> tuple[date, date]:
    """The practice-local days a patient typed (YYYY-MM-DD, as a date field sends them),
    or ValidationError beside the field to fix ("start" or "end")."""
    example_start, example_end = default_range(clock)
    start = _day(start_text, field="start", blank=ENTER_START, example=example_start)
    end = _day(end_text, field="end", blank=ENTER_END, example=example_end)
    if start > end:
        raise ValidationError(record_export.RANGE_BACKWARDS, field="start")
    if end > _years_later(start, MAX_RECORD_RANGE_YEARS):
        raise ValidationError(RANGE_TOO_LONG_TEMPLATE, params={"years": MAX_RECORD_RANGE_YEARS},
                              field="start")
    return start, end


def _format(key) -> Format:
    found = FORMATS.get(key) if isinstance(key, str) else None
    if found is None:
        raise ValidationError(CHOOSE_FORMAT, field="format")
    return found


# --- making the file ------------------------------------------------------------------------


def _render(export: record_export.RecordExport, fmt: Format, made_on: date,
            lang: str = "en") -> RecordFile:
    """The file, made in the render process (render_pool): call it before anything is written.
    The PDF's headings and labels in ``lang``; the FHIR file's data as it is."""
    data = render_pool.pdf(export, lang) if fmt.key == PDF else render_pool.fhir_json(export)
    return RecordFile(filename=FILENAME.format(day=made_on.isoformat(), extension=fmt.extension),
                      content_type=fmt.content_type, data=data, format=fmt.key)


def _detail(fmt: Format, start: date, end: date, include_messages: bool) -> str:
    # The trail's words (English, for the office's log).
    return ", ".join([f"format {fmt.key}", f"{start.isoformat()} to {end.isoformat()}",
                      f"messages {'yes' if include_messages else 'no'}"])


def _make(db: Session, actor: User, patient_id: int, *, start_text, end_text, include_messages,
          fmt_key, clock: Clock, client_ip: Optional[str], lang: str = "en"):
    """(relation, format, start, end, the file): access first, then the form, then the work."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_RECORD, action=record_export.ACTION,
                                     clock=clock, client_ip=client_ip)
    start, end = parse_range(start_text, end_text, clock=clock)
    fmt = _format(fmt_key)
    export = record_export.collect(db, actor, patient_id, start=start, end=end,
                                   include_messages=bool(include_messages), clock=clock,
                                   client_ip=client_ip)
    return relation, fmt, start, end, _render(export, fmt, today(clock), lang)


def download_record(db: Session, actor: User, patient_id: int, *, start_text, end_text,
                    include_messages: bool, fmt: str, clock: Clock,
                    client_ip: Optional[str] = None, lang: str = "en") -> RecordFile:
    """The record for the range as a file (the patient, a caregiver, the office viewing)."""
    relation, found, start, end, made = _make(
        db, actor, patient_id, start_text=start_text, end_text=end_text,
        include_messages=include_messages, fmt_key=fmt, clock=clock, client_ip=client_ip,
        lang=lang)
    trail.record(db, DOWNLOADED.format(format=found.key), actor=actor, patient_id=patient_id,
                 role=trail.role_in(actor, relation),
                 detail=_detail(found, start, end, bool(include_messages)),
                 client_ip=client_ip, clock=clock)
    return made


def _sends_today(db: Session, patient_id: int, now) -> int:
    return db.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.patient_id == patient_id,
        AuditEvent.action.in_([SENT.format(format=k) for k in FORMATS]),
        AuditEvent.at > now - RECORD_EMAIL_LIMIT_WINDOW)).one()


def send_record(db: Session, actor: User, patient_id: int, *, to: str, start_text, end_text,
                include_messages: bool, fmt: str, clock: Clock,
                client_ip: Optional[str] = None, lang: str = "en") -> Sent:
    """Email the record for the range, attached, to an address the patient or a caregiver
    typed. At most MAX_RECORD_EMAILS_PER_DAY a patient within RECORD_EMAIL_LIMIT_WINDOW."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_RECORD, action="record.send", clock=clock,
                                     client_ip=client_ip)
    if relation == access.RELATION_STAFF:
        raise ValidationError(OFFICE_CANNOT_SEND)
    address = validate_email_address(to)
    start, end = parse_range(start_text, end_text, clock=clock)
    found = _format(fmt)
    too_many = {"count": MAX_RECORD_EMAILS_PER_DAY, "phone": get_settings().office_phone}
    if _sends_today(db, patient_id, clock()) >= MAX_RECORD_EMAILS_PER_DAY:
        raise ValidationError(TOO_MANY_SENDS, params=too_many)  # said before the file is made for nothing
    export = record_export.collect(db, actor, patient_id, start=start, end=end,
                                   include_messages=bool(include_messages), clock=clock,
                                   client_ip=client_ip)
    # Made before the lock below: no lock is held while the file is made (seconds, for a
    # long record), and on SQLite the lock is the whole database's.
    lang = i18n.normalize(lang)
    made = _render(export, found, today(clock), lang)
    if len(made.data) > MAX_EMAILED_RECORD_BYTES:
        raise ValidationError(TOO_BIG_TO_EMAIL)
    locked_patient(db, patient_id)  # two sends at once are counted one after the other
    if _sends_today(db, patient_id, clock()) >= MAX_RECORD_EMAILS_PER_DAY:
        raise ValidationError(TOO_MANY_SENDS, params=too_many)
    practice = get_settings().practice_name
    email = outbox.enqueue(
        db, to=address, subject=i18n.fmt(lang, EMAIL_SUBJECT, practice=practice),
        body=i18n.fmt(lang, EMAIL_BODY, practice=practice,
                      what=i18n.gettext(lang, EMAIL_WHAT[found.key])),
        kind=EMAIL_KIND, patient_id=patient_id, clock=clock, lang=lang,
        attachment=outbox.Attachment(made.filename, made.content_type, made.data))
    domain = address.rpartition("@")[2]
    trail.record(db, SENT.format(format=found.key), actor=actor, patient_id=patient_id,
                 role=trail.role_in(actor, relation),
                 detail=f"{_detail(found, start, end, bool(include_messages))}, "
                        f"to an address at {domain}, email {email.id}",
                 client_ip=client_ip, clock=clock)
    return Sent(to=address, format=found.key, filename=made.filename)


def print_at_desk(db: Session, staff: User, patient_id: int, *, start_text, end_text,
                  include_messages: bool, clock: Clock,
                  client_ip: Optional[str] = None) -> RecordFile:
    """The office prints the record for a patient who asks at the desk (right of access)."""
    access.require_staff(db, staff, action="record.print", clock=clock, client_ip=client_ip)
    _relation, found, start, end, made = _make(
        db, staff, patient_id, start_text=start_text, end_text=end_text,
        include_messages=include_messages, fmt_key=PDF, clock=clock, client_ip=client_ip)
    trail.record(db, PRINTED, actor=staff, patient_id=patient_id,
                 detail=_detail(found, start, end, bool(include_messages)),
                 client_ip=client_ip, clock=clock)
    return made
