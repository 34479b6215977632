"""The patient's record to take anywhere (issue #16): what is in it, as a FHIR R4 Bundle, as a PDF.

``collect`` reads one patient's record for a date range (access-checked, nothing written
but a refusal); ``fhir_bundle`` and ``pdf_bytes`` turn what it read into the two files.
The caller audits the download ("record.downloaded") in its own unit of work.

FHIR: ``fhir.resources`` 8 is R5 with an R4B subpackage; its R4 releases (6.x) need
pydantic 1, which Reflex cannot run beside. R4B changed nothing in the resources used here
(Patient, Appointment, DiagnosticReport, Observation, Communication, ServiceRequest), so
the R4B models validate what an R4 reader expects. Emoji and scripts Roboto lacks (CJK)
are left out of the PDF (fpdf2 logs which); the FHIR file keeps every character.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Optional

import font_roboto
from fhir.resources.R4B.bundle import Bundle
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlmodel import Session, select

from carespace_app import i18n, timefmt
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.models import (
    APPOINTMENT_CANCELLED,
    FLAG_CRITICAL_HIGH,
    FLAG_CRITICAL_LOW,
    FLAG_HIGH,
    FLAG_LOW,
    FLAG_NORMAL,
    Appointment,
    LabReport,
    LabResult,
    Message,
    MessageThread,
    Patient,
    User,
)
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.permissions import access, scopes
from carespace_app.services.records.labs import FLAG_LABELS, format_number, reference_text, shown_value
from carespace_app.services.records.messaging import AUTOMATIC_AUTHOR

ACTION = "record.export"  # the refusal's detail when someone asks for a record not theirs

# --- what people read --------------------------------------------------------------------

RANGE_BACKWARDS = N_("The start date must be on or before the end date.")
NO_SUCH_RECORD = N_("That record could not be found.")
PDF_TITLE = N_("Health record")
PDF_DOCUMENT_TITLE = N_("Health record of {name}")
FHIR_APPOINTMENT_DESCRIPTION = "{kind} with {provider}"
PDF_PRACTICE_LINE = N_("From CareSpace")
PDF_PATIENT = N_("Patient: {name}")
PDF_BIRTH = N_("Date of birth: {day}")
PDF_MRN = N_("Medical record number: {mrn}")
PDF_RANGE = N_("Covers {start} to {end}")
PDF_MADE = N_("Made {when} for {who}")
PDF_PAGE = N_("Page {page} of {pages}")
PDF_APPOINTMENTS = N_("Appointments")
PDF_NO_APPOINTMENTS = N_("No appointments in these dates.")
PDF_APPOINTMENT_LINE = N_("{when} · {kind} with {provider} · {minutes} min")
PDF_APPOINTMENT_PLACE = N_("At {location}")
PDF_APPOINTMENT_CANCELLED = N_("Cancelled")
PDF_APPOINTMENT_INSTRUCTIONS = N_("Instructions: {text}")
PDF_LABS = N_("Lab results")
PDF_NO_LABS = N_("No lab results in these dates.")
PDF_REPORT_HEADING = "{panel}"
PDF_REPORT_DATES = N_("Collected {collected} · Resulted {resulted} · Ordered by {provider}")
PDF_COLUMNS = (N_("Test"), N_("Result"), N_("Unit"), N_("Reference range"), N_("Flag"))
PDF_CORRECTED = N_(" (corrected)")
PDF_CRITICAL_LIMITS = N_("Critical limits: {limits}")
PDF_CRITICAL_BELOW = N_("at or below {value}")
PDF_CRITICAL_ABOVE = N_("at or above {value}")
PDF_LIMITS_JOIN = ", "
PDF_MESSAGES = N_("Messages")
PDF_NO_MESSAGES = N_("No messages in these dates.")
PDF_THREAD_HEADING = N_("{subject} ({category})")
PDF_MESSAGE_BYLINE = N_("{author}, {when}")
PDF_MESSAGES_LEFT_OUT = N_("Messages are not included in this copy.")
# The flag a PDF reader sees, in words (a normal value says so instead of a blank).
FLAG_WORDS = {**FLAG_LABELS, FLAG_NORMAL: N_("Normal")}
UNKNOWN_AUTHOR = N_("A former account")

# --- FHIR vocabulary ------------------------------------------------------------------------

INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOINC_SYSTEM = "http://loinc.org"
INTERPRETATION = {  # our flag -> (code, display) in the v3 ObservationInterpretation system
    FLAG_NORMAL: ("N", "Normal"),
    FLAG_LOW: ("L", "Low"),
    FLAG_HIGH: ("H", "High"),
    FLAG_CRITICAL_LOW: ("LL", "Critical low"),
    FLAG_CRITICAL_HIGH: ("HH", "Critical high"),
}
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0074"
REFERENCE_MEANING_SYSTEM = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
MRN_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_SYSTEM = "urn:carespace:mrn"
# Stable ids: the same record exported twice names its resources the same way.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:carespace:record-export")


# --- what collect() returns -----------------------------------------------------------------


@dataclass
class PatientPart:
    id: int
    mrn: str
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    phone: Optional[str]

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class AppointmentPart:
    id: int
    starts_at: datetime  # naive UTC
    duration_minutes: int
    appointment_type: str
    provider: str
    location: str
    instructions: str
    status: str

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


@dataclass
class ResultPart:
    id: int
    test_name: str
    value: float
    value_text: str  # as the office entered it
    unit: str
    ref_low: Optional[float]
    ref_high: Optional[float]
    critical_low: Optional[float]
    critical_high: Optional[float]
    flag: str
    corrected: bool
    loinc: str = ""  # as the office entered it, or ""

    @property
    def flag_words(self) -> str:
        return FLAG_WORDS.get(self.flag, self.flag.capitalize())


@dataclass
class ReportPart:
    id: int
    panel: str
    collected_at: datetime  # naive UTC
    resulted_at: datetime
    ordering_provider: str
    results: list[ResultPart]


@dataclass
class MessagePart:
    id: int
    author_name: str
    by_patient: bool  # written by the patient themself (not a caregiver, not staff)
    from_staff: bool
    automatic: bool
    body: str
    created_at: datetime  # naive UTC


@dataclass
class ConversationPart:
    id: int
    category: str
    subject: str
    messages: list[MessagePart]


@dataclass
class RecordExport:
    patient: PatientPart
    start: date  # practice-local, inclusive
    end: date
    include_messages: bool
    made_at: datetime  # naive UTC
    made_for: str  # who asked: the patient, a caregiver or staff (their name)
    appointments: list[AppointmentPart] = field(default_factory=list)
    reports: list[ReportPart] = field(default_factory=list)
    conversations: list[ConversationPart] = field(default_factory=list)


# --- reading the record ---------------------------------------------------------------------


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The practice-local days start..end (inclusive) as a half-open naive-UTC interval."""
    return (timefmt.to_utc_naive(datetime.combine(start, time.min)),
            timefmt.to_utc_naive(datetime.combine(end + timedelta(days=1), time.min)))


def collect(db: Session, actor: Optional[User], patient_id: int, *, start: date, end: date,
            include_messages: bool, clock: Clock, client_ip: Optional[str] = None) -> RecordExport:
    """Everything the record holds for the practice-local dates ``start``..``end``.

    Appointments by their start, lab reports by when the sample was collected, messages by
    when they were sent. The patient, a caregiver or staff; anyone else is refused (audited).
    """
    access.require_access(db, actor, patient_id, area=scopes.AREA_RECORD, action=ACTION, clock=clock, client_ip=client_ip)
    if not isinstance(start, date) or not isinstance(end, date) or start > end:
        raise ValidationError(RANGE_BACKWARDS, field="start")
    patient = db.get(Patient, patient_id)
    if patient is None:  # require_access already refused an unknown id; kept for clarity
        raise NotFound(NO_SUCH_RECORD)
    low, high = _utc_bounds(start, end)
    export = RecordExport(
        patient=PatientPart(id=patient.id, mrn=patient.mrn, first_name=patient.first_name,
                            last_name=patient.last_name, date_of_birth=patient.date_of_birth,
                            email=patient.email, phone=patient.phone),
        start=start, end=end, include_messages=bool(include_messages), made_at=clock(),
        made_for=actor.full_name,
        appointments=_appointments(db, patient_id, low, high),
        reports=_reports(db, patient_id, low, high),
    )
    if export.include_messages:
        export.conversations = _conversations(db, patient, low, high)
    return export


def _appointments(db: Session, patient_id: int, low: datetime, high: datetime) -> list[AppointmentPart]:
    rows = db.exec(select(Appointment).where(
        Appointment.patient_id == patient_id, Appointment.starts_at >= low,
        Appointment.starts_at < high).order_by(Appointment.starts_at, Appointment.id)).all()
    return [AppointmentPart(id=a.id, starts_at=a.starts_at, duration_minutes=a.duration_minutes,
                            appointment_type=a.appointment_type, provider=a.provider,
                            location=a.location, instructions=a.instructions or "", status=a.status)
            for a in rows]


def _reports(db: Session, patient_id: int, low: datetime, high: datetime) -> list[ReportPart]:
    reports = db.exec(select(LabReport).where(
        LabReport.patient_id == patient_id, LabReport.collected_at >= low,
        LabReport.collected_at < high,
        LabReport.released_at.is_not(None),  # a held report is not the patient's to see yet
    ).order_by(LabReport.collected_at, LabReport.id)).all()
    if not reports:
        return []
    results: dict[int, list[ResultPart]] = {r.id: [] for r in reports}
    rows = db.exec(select(LabResult).where(LabResult.report_id.in_(list(results)))
                   .order_by(LabResult.report_id, LabResult.id)).all()
    for r in rows:
        results[r.report_id].append(ResultPart(
            id=r.id, test_name=r.test_name, value=r.value, value_text=shown_value(r), unit=r.unit,
            ref_low=r.ref_low, ref_high=r.ref_high, critical_low=r.critical_low,
            critical_high=r.critical_high, flag=r.flag, corrected=r.corrected_at is not None,
            loinc=r.loinc))
    return [ReportPart(id=r.id, panel=r.panel, collected_at=r.collected_at,
                       resulted_at=r.resulted_at, ordering_provider=r.ordering_provider,
                       results=results[r.id]) for r in reports]


def _conversations(db: Session, patient: Patient, low: datetime, high: datetime) -> list[ConversationPart]:
    rows = db.exec(
        select(Message, MessageThread, User.full_name)
        .join(MessageThread, MessageThread.id == Message.thread_id)
        .outerjoin(User, User.id == Message.author_user_id)  # the automatic reply: nobody
        .where(MessageThread.patient_id == patient.id, Message.created_at >= low,
               Message.created_at < high)
        .order_by(MessageThread.created_at, MessageThread.id, Message.created_at, Message.id)).all()
    conversations: dict[int, ConversationPart] = {}
    for message, thread, name in rows:
        conversation = conversations.setdefault(thread.id, ConversationPart(
            id=thread.id, category=thread.category, subject=thread.subject, messages=[]))
        if message.automatic:
            author = AUTOMATIC_AUTHOR
        else:
            author = name or UNKNOWN_AUTHOR
        conversation.messages.append(MessagePart(
            id=message.id, author_name=author,
            by_patient=(not message.from_staff and message.author_user_id is not None
                        and message.author_user_id == patient.user_id),
            from_staff=message.from_staff, automatic=message.automatic, body=message.body,
            created_at=message.created_at))
    return list(conversations.values())


# --- FHIR R4 Bundle ------------------------------------------------------------------------


def _urn(kind: str, row_id: int) -> str:
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, f'{kind}/{row_id}')}"


def _instant(naive_utc: datetime) -> str:
    return naive_utc.replace(tzinfo=timezone.utc).isoformat()


def _decimal(result: ResultPart):
    """The value with the precision the office entered ("1.0" stays 1.0 in JSON)."""
    try:
        return Decimal(result.value_text)
    except (InvalidOperation, ValueError):
        return result.value


def _quantity(value: Optional[float], unit: str) -> Optional[dict]:
    if value is None:
        return None
    quantity = {"value": Decimal(format_number(value))}
    if unit:
        quantity["unit"] = unit
    return quantity


def _critical_text(result: ResultPart, lang: str = "en") -> str:
    """The critical limits in words (English in the FHIR file, whose data stays as is)."""
    limits = []
    if result.critical_low is not None:
        limits.append(i18n.fmt(lang, PDF_CRITICAL_BELOW, value=format_number(result.critical_low)))
    if result.critical_high is not None:
        limits.append(i18n.fmt(lang, PDF_CRITICAL_ABOVE, value=format_number(result.critical_high)))
    return i18n.fmt(lang, PDF_CRITICAL_LIMITS, limits=PDF_LIMITS_JOIN.join(limits)) if limits else ""


def _reference_range(result: ResultPart) -> list[dict]:
    # One range (several would read as "any of these is normal"); the critical limits,
    # which FHIR has no range meaning for, ride in its text.
    if result.ref_low is None and result.ref_high is None and not _critical_text(result):
        return []
    text = " ".join(t for t in (reference_text(result.ref_low, result.ref_high),
                                _critical_text(result)) if t)
    entry = {"text": text,
             "type": {"coding": [{"system": REFERENCE_MEANING_SYSTEM, "code": "normal",
                                  "display": "Normal Range"}]}}
    if result.ref_low is not None:
        entry["low"] = _quantity(result.ref_low, result.unit)
    if result.ref_high is not None:
        entry["high"] = _quantity(result.ref_high, result.unit)
    return [entry]


def _patient_resource(p: PatientPart) -> dict:
    telecom = [{"system": "email", "value": p.email, "use": "home"}] if p.email else []
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone})
    return {
        "resourceType": "Patient",
        "identifier": [{"type": {"coding": [{"system": MRN_TYPE_SYSTEM, "code": "MR"}]},
                        "system": MRN_SYSTEM, "value": p.mrn}],
        "name": [{"use": "official", "family": p.last_name, "given": [p.first_name],
                  "text": p.full_name}],
        "birthDate": p.date_of_birth.isoformat(),
        "telecom": telecom or None,
    }


def _appointment_resource(a: AppointmentPart, patient_ref: dict) -> dict:
    return {
        "resourceType": "Appointment",
        "status": "cancelled" if a.status == APPOINTMENT_CANCELLED else "booked",
        "appointmentType": {"text": a.appointment_type},
        "description": FHIR_APPOINTMENT_DESCRIPTION.format(kind=a.appointment_type, provider=a.provider),
        "start": _instant(a.starts_at), "end": _instant(a.ends_at),
        "minutesDuration": a.duration_minutes,
        "comment": a.instructions or None,
        "participant": [
            {"actor": patient_ref, "status": "accepted", "required": "required"},
            {"actor": {"display": a.provider}, "status": "accepted"},
            {"actor": {"display": a.location}, "status": "accepted"},
        ],
    }


def _observation_resource(r: ResultPart, report: ReportPart, patient_ref: dict) -> dict:
    code, display = INTERPRETATION[r.flag]
    quantity = {"value": _decimal(r)}
    if r.unit:
        quantity["unit"] = r.unit
    return {
        "resourceType": "Observation",
        "status": "corrected" if r.corrected else "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY_SYSTEM, "code": "laboratory",
                                  "display": "Laboratory"}]}],
        # The LOINC code when the office entered one; the test's name always.
        "code": ({"coding": [{"system": LOINC_SYSTEM, "code": r.loinc}], "text": r.test_name}
                 if r.loinc else {"text": r.test_name}),
        "subject": patient_ref,
        "effectiveDateTime": _instant(report.collected_at),
        "issued": _instant(report.resulted_at),
        "valueQuantity": quantity,
        "interpretation": [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": code,
                                        "display": display}], "text": r.flag_words}],
        "referenceRange": _reference_range(r) or None,
    }


def _report_resource(report: ReportPart, patient_ref: dict) -> dict:
    corrected = any(r.corrected for r in report.results)
    return {
        "resourceType": "DiagnosticReport",
        "status": "corrected" if corrected else "final",
        "category": [{"coding": [{"system": DIAGNOSTIC_SERVICE_SYSTEM, "code": "LAB",
                                  "display": "Laboratory"}]}],
        "code": {"text": report.panel},
        "subject": patient_ref,
        "effectiveDateTime": _instant(report.collected_at),
        "issued": _instant(report.resulted_at),
        # Who ordered it is the order's requester: a contained ServiceRequest the report is based on.
        "contained": [{"resourceType": "ServiceRequest", "id": "order", "status": "completed",
                       "intent": "order", "code": {"text": report.panel}, "subject": patient_ref,
                       "requester": {"display": report.ordering_provider}}],
        "basedOn": [{"reference": "#order"}],
        "result": [{"reference": _urn("Observation", r.id), "display": r.test_name}
                   for r in report.results] or None,
    }


def _communication_resource(m: MessagePart, c: ConversationPart, patient_ref: dict) -> dict:
    sender = patient_ref if m.by_patient else {"display": m.author_name}
    return {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"text": c.category}],
        "subject": patient_ref,
        "topic": {"text": c.subject},
        "sent": _instant(m.created_at),
        "sender": sender,
        "payload": [{"contentString": m.body}],
    }


def _clean(value):
    """Drops the None and empty members the builders leave (FHIR forbids empty elements)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None and v != [] and v != ""}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def fhir_bundle(export: RecordExport) -> dict:
    """A FHIR Bundle (type "collection"), validated by fhir.resources' R4B models, as JSON-ready data."""
    patient_url = _urn("Patient", export.patient.id)
    patient_ref = {"reference": patient_url, "display": export.patient.full_name}
    entries = [(patient_url, _patient_resource(export.patient))]
    entries += [(_urn("Appointment", a.id), _appointment_resource(a, patient_ref))
                for a in export.appointments]
    for report in export.reports:
        entries.append((_urn("DiagnosticReport", report.id), _report_resource(report, patient_ref)))
        entries += [(_urn("Observation", r.id), _observation_resource(r, report, patient_ref))
                    for r in report.results]
    for conversation in export.conversations:
        entries += [(_urn("Communication", m.id), _communication_resource(m, conversation, patient_ref))
                    for m in conversation.messages]
    bundle = Bundle.model_validate(_clean({
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_ID_NAMESPACE, f"Bundle/{export.patient.id}/{export.start}/{export.end}/"
                                            f"{export.include_messages}/{export.made_at.isoformat()}")),
        "type": "collection",
        "timestamp": _instant(export.made_at),
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries],
    }))
    return json.loads(bundle.model_dump_json(exclude_none=True))


# --- PDF --------------------------------------------------------------------------------------


def _long_day(value: date, lang: str = "en") -> str:
    """Always with the year: a record outlives the year it was printed in."""
    if i18n.normalize(lang) == "en":
        return f"{value:%a, %b} {value.day}, {value.year}"
    from babel.dates import format_date

    return format_date(value, "EEE, d MMM y", locale=i18n.BABEL_LOCALES[i18n.normalize(lang)])


def _long_when(naive_utc: datetime, lang: str = "en") -> str:
    return (f"{_long_day(timefmt.to_local(naive_utc).date(), lang)}, "
            f"{timefmt.time_only(naive_utc, lang=lang)}")


class _RecordPDF(FPDF):
    FONT = "Roboto"

    def __init__(self, footer_text: str):
        super().__init__(format="Letter")
        self._footer_text = footer_text
        # A TTF font, so every name and unit prints ("Inés", "°F", "µmol/L", "–").
        self.add_font(self.FONT, "", font_roboto.Roboto)
        self.add_font(self.FONT, "B", font_roboto.RobotoBold)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.FONT, "", 8)
        self.cell(0, 6, self._footer_text.format(page=self.page_no(), pages="{nb}"), align="C")


def _heading(pdf: _RecordPDF, text: str, size: int = 13) -> None:
    pdf.ln(3)
    pdf.set_font(pdf.FONT, "B", size)
    pdf.multi_cell(0, 7, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.FONT, "", 10)


def _line(pdf: _RecordPDF, text: str, *, bold: bool = False, size: int = 10) -> None:
    pdf.set_font(pdf.FONT, "B" if bold else "", size)
    pdf.multi_cell(0, 5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(pdf.FONT, "", 10)


def _pdf_appointments(pdf: _RecordPDF, export: RecordExport, lang: str) -> None:
    _heading(pdf, i18n.gettext(lang, PDF_APPOINTMENTS))
    if not export.appointments:
        _line(pdf, i18n.gettext(lang, PDF_NO_APPOINTMENTS))
    for a in export.appointments:
        _line(pdf, i18n.fmt(lang, PDF_APPOINTMENT_LINE, when=_long_when(a.starts_at, lang),
                            kind=a.appointment_type, provider=a.provider, minutes=a.duration_minutes),
              bold=True)
        _line(pdf, i18n.fmt(lang, PDF_APPOINTMENT_PLACE, location=a.location))
        if a.status == APPOINTMENT_CANCELLED:
            _line(pdf, i18n.gettext(lang, PDF_APPOINTMENT_CANCELLED))
        if a.instructions:
            _line(pdf, i18n.fmt(lang, PDF_APPOINTMENT_INSTRUCTIONS, text=a.instructions))
        pdf.ln(2)


def _pdf_reports(pdf: _RecordPDF, export: RecordExport, lang: str) -> None:
    _heading(pdf, i18n.gettext(lang, PDF_LABS))
    if not export.reports:
        _line(pdf, i18n.gettext(lang, PDF_NO_LABS))
    for report in export.reports:
        _line(pdf, PDF_REPORT_HEADING.format(panel=report.panel), bold=True, size=11)
        _line(pdf, i18n.fmt(lang, PDF_REPORT_DATES, collected=_long_when(report.collected_at, lang),
                            resulted=_long_when(report.resulted_at, lang),
                            provider=report.ordering_provider))
        pdf.ln(1)
        with pdf.table(col_widths=(30, 12, 12, 30, 16), text_align="LEFT", line_height=5,
                       first_row_as_headings=True) as table:
            table.row(tuple(i18n.gettext(lang, column) for column in PDF_COLUMNS))
            for r in report.results:
                flag = i18n.gettext(lang, r.flag_words) + (
                    i18n.gettext(lang, PDF_CORRECTED) if r.corrected else "")
                reference = reference_text(r.ref_low, r.ref_high)
                critical = _critical_text(r, lang)
                table.row((r.test_name, r.value_text, r.unit,
                           "\n".join(t for t in (reference, critical) if t), flag))
        pdf.ln(3)


def _pdf_messages(pdf: _RecordPDF, export: RecordExport, lang: str) -> None:
    _heading(pdf, i18n.gettext(lang, PDF_MESSAGES))
    if not export.include_messages:
        _line(pdf, i18n.gettext(lang, PDF_MESSAGES_LEFT_OUT))
        return
    if not export.conversations:
        _line(pdf, i18n.gettext(lang, PDF_NO_MESSAGES))
    for conversation in export.conversations:
        _line(pdf, PDF_THREAD_HEADING.format(subject=conversation.subject,
                                             category=conversation.category), bold=True, size=11)
        for m in conversation.messages:
            author = i18n.gettext(lang, UNKNOWN_AUTHOR) if m.author_name == UNKNOWN_AUTHOR else m.author_name
            _line(pdf, i18n.fmt(lang, PDF_MESSAGE_BYLINE, author=author,
                                when=_long_when(m.created_at, lang)), bold=True)
            _line(pdf, m.body)
            pdf.ln(1)
        pdf.ln(2)


def pdf_bytes(export: RecordExport, lang: str = "en") -> bytes:
    """The record as a PDF a person can read and print, in ``lang`` (the downloader's)."""
    lang = i18n.normalize(lang)
    pdf = _RecordPDF(i18n.gettext(lang, PDF_PAGE))
    pdf.set_title(i18n.fmt(lang, PDF_DOCUMENT_TITLE, name=export.patient.full_name))
    pdf.set_lang(lang)
    pdf.add_page()
    _line(pdf, i18n.gettext(lang, PDF_TITLE), bold=True, size=18)
    _line(pdf, i18n.gettext(lang, PDF_PRACTICE_LINE))
    pdf.ln(2)
    _line(pdf, i18n.fmt(lang, PDF_PATIENT, name=export.patient.full_name), bold=True, size=12)
    _line(pdf, i18n.fmt(lang, PDF_BIRTH, day=_long_day(export.patient.date_of_birth, lang)))
    _line(pdf, i18n.fmt(lang, PDF_MRN, mrn=export.patient.mrn))
    _line(pdf, i18n.fmt(lang, PDF_RANGE, start=_long_day(export.start, lang),
                        end=_long_day(export.end, lang)))
    _line(pdf, i18n.fmt(lang, PDF_MADE, when=_long_when(export.made_at, lang), who=export.made_for))
    _pdf_appointments(pdf, export, lang)
    _pdf_reports(pdf, export, lang)
    _pdf_messages(pdf, export, lang)
    return bytes(pdf.output())
