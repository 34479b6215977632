"""Patient records, kept by the office: create, edit, open and search.

Every function takes the staff member acting (``actor``). The office's command line
passes ``actor=None, system=True``; no other caller may leave the actor out.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Optional

from sqlalchemy import and_, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import Patient, User, fold_name
from carespace_app.timefmt import to_local
from carespace_app.services import paging
from carespace_app.services.permissions import access
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.identity.emails import normalize_email, validate_email_address
from carespace_app.services.text import one_line
from carespace_app.services.text_rules import check_text

EARLIEST_BIRTH_DATE = date(1900, 1, 1)
_PHONE_CHARS = re.compile(r"^[0-9 ()+\-]+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def name_key(text: str) -> str:
    """How names are compared: the same letters whatever the case, keyboard or accents
    ("ine" finds "Inés"). The record's keys are kept by models._keep_name_keys."""
    return fold_name(text)


def _casefolded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def parse_date_of_birth(text: str) -> Optional[date]:
    """YYYY-MM-DD or MM/DD/YYYY (how the office writes it), else None."""
    text = text.strip()
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
        found = _US_DATE.match(text)
        if found:
            month, day, year = (int(g) for g in found.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


# --- validation -------------------------------------------------------------------


def _required(value: Optional[str], field: str, label: str, limit: int) -> str:
    value = one_line(value or "")
    if not value:
        raise ValidationError(f"Enter the patient's {label}.", field=field)
    if len(value) > limit:
        raise ValidationError(f"The {label} can be at most {limit} characters.", field=field)
    return value


def _valid_date_of_birth(value, clock: Clock) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError("Enter the date of birth as a date, like 1956-03-14.",
                              field="date_of_birth")
    today = to_local(clock()).date()  # "the future" is the practice's today, not UTC's
    if value > today:
        raise ValidationError("The date of birth can't be in the future.", field="date_of_birth")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError("The date of birth must be in 1900 or later.", field="date_of_birth")
    return value


def _valid_phone(value: Optional[str]) -> Optional[str]:
    value = (value or "").strip()
    if not value:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE_CHARS.match(value) or not 7 <= digits <= 15 or len(value) > 40:
        raise ValidationError(
            "Enter the phone number with digits, spaces, ( ) + and - only, like "
            f"{get_settings().office_phone}.",
            field="phone",
        )
    return value


def _cleaned(db: Session, *, patient_id: Optional[int], mrn, first_name, last_name,
             date_of_birth, email, phone, clock: Clock, language: str = "en") -> dict:
    mrn = check_text(mrn, field="mrn", label="MRN", single_line=True, breaks_become_spaces=True)
    first_name = check_text(first_name, field="first_name", label="first name", single_line=True,
                            breaks_become_spaces=True)
    last_name = check_text(last_name, field="last_name", label="last name", single_line=True,
                           breaks_become_spaces=True)
    mrn = _required(mrn, "mrn", "MRN", 40)
    holder = db.exec(select(Patient).where(Patient.mrn == mrn)).first()
    if holder is not None and holder.id != patient_id:
        raise ValidationError(f"That MRN is already used by {holder.full_name}.", field="mrn")
    last_name = _required(last_name, "last_name", "last name", 100)
    return {
        "mrn": mrn,
        "first_name": _required(first_name, "first_name", "first name", 100),
        "last_name": last_name,
        "date_of_birth": _valid_date_of_birth(date_of_birth, clock),
        "email": normalize_email(validate_email_address(email or "")),
        "phone": _valid_phone(phone),
        "language": _valid_language(language),
    }


def _valid_language(value) -> str:
    """The patient's preferred language (their invitation's): English or Spanish."""
    from carespace_app import i18n

    if value not in i18n.LANGUAGES:
        raise ValidationError("Choose English or Spanish.", field="language")
    return value


def _flush_or_mrn_taken(db: Session, mrn: str) -> None:
    # Two offices typing the same MRN at once: the unique index decides, the user is told.
    # The failed flush leaves the session unusable; the action is over, so it rolls back.
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise ValidationError(f"That MRN ({mrn}) is already used by another patient.",
                              field="mrn") from None


# --- actions ----------------------------------------------------------------------


def create_patient(db: Session, actor: Optional[User], *, mrn: str, first_name: str,
                   last_name: str, date_of_birth: date, email: str, phone: Optional[str] = None,
                   clock: Clock, system: bool = False, client_ip: Optional[str] = None,
                   language: str = "en") -> Patient:
    role = access.require_staff_or_system(db, actor, system=system, action="patient.create",
                                          clock=clock, client_ip=client_ip)
    fields = _cleaned(db, patient_id=None, mrn=mrn, first_name=first_name, last_name=last_name,
                      date_of_birth=date_of_birth, email=email, phone=phone, clock=clock,
                      language=language)
    now = clock()
    patient = Patient(**fields, created_at=now, updated_at=now)
    db.add(patient)
    _flush_or_mrn_taken(db, fields["mrn"])
    trail.record(db, "patient.created", actor=actor, role=role, patient_id=patient.id,
                 detail=f"MRN {patient.mrn}", client_ip=client_ip, clock=clock)
    return patient


def update_patient(db: Session, actor: Optional[User], patient_id: int, *, mrn: str,
                   first_name: str, last_name: str, date_of_birth: date, email: str,
                   phone: Optional[str], clock: Clock, system: bool = False,
                   client_ip: Optional[str] = None, language: Optional[str] = None) -> Patient:
    from carespace_app.services.onboarding import invitations

    role = access.require_staff_or_system(db, actor, system=system, action="patient.update",
                                          clock=clock, client_ip=client_ip)
    patient = _existing(db, patient_id)
    fields = _cleaned(db, patient_id=patient.id, mrn=mrn, first_name=first_name,
                      last_name=last_name, date_of_birth=date_of_birth, email=email, phone=phone,
                      clock=clock, language=patient.language if language is None else language)
    changed = [name for name, value in fields.items() if getattr(patient, name) != value]
    email_changed = fields["email"] != patient.email
    for name, value in fields.items():
        setattr(patient, name, value)
    patient.updated_at = clock()
    trail.record(db, "patient.updated", actor=actor, role=role, patient_id=patient.id,
                 detail="changed: " + (", ".join(changed) or "nothing"), client_ip=client_ip,
                 clock=clock)
    if email_changed:
        # A link sent to the old address must not open an account for this record.
        invitations.supersede_patient_invitations(
            db, patient.id, actor=actor, role=role, reason="the email on file changed",
            clock=clock, client_ip=client_ip)
    _flush_or_mrn_taken(db, fields["mrn"])
    return patient


def _existing(db: Session, patient_id) -> Patient:
    patient = db.get(Patient, patient_id) if isinstance(patient_id, int) else None
    if patient is None:
        raise NotFound("We couldn't find that patient record.")
    return patient


def get_patient(db: Session, actor: Optional[User], patient_id: int, *, clock: Clock,
                system: bool = False, client_ip: Optional[str] = None) -> Patient:
    role = access.require_staff_or_system(db, actor, system=system, action="patient.view",
                                          clock=clock, client_ip=client_ip)
    patient = _existing(db, patient_id)
    trail.record(db, "patient.viewed", actor=actor, role=role, patient_id=patient.id,
                 client_ip=client_ip, clock=clock)
    return patient


def find_by_mrn(db: Session, actor: Optional[User], mrn: str, *, clock: Clock,
                system: bool = False) -> Patient:
    """The record with exactly this MRN (the command line's way of naming a patient)."""
    access.require_staff_or_system(db, actor, system=system, action="patient.view", clock=clock)
    patient = db.exec(select(Patient).where(Patient.mrn == (mrn or "").strip())).first()
    if patient is None:
        raise NotFound(f"No patient has the MRN {mrn!r}.")
    return patient


def _starts_with(column, text: str):
    # autoescape: a % or _ the user typed is a letter, not a wildcard.
    return column.startswith(text, autoescape=True)


def _contains(column, text: str):
    return column.contains(text, autoescape=True)


def _first_name_starts(text: str):
    # Folded in Python on both sides (first_name_key): the same on SQLite and PostgreSQL,
    # whose lower() differ on letters outside A-Z.
    return _starts_with(Patient.first_name_key, name_key(text))


def _name_conditions(query: str) -> list:
    conditions = [_starts_with(Patient.last_name_key, name_key(query)), _first_name_starts(query)]
    if "," in query:  # "Last, First"
        last, _, first = query.partition(",")
        if last.strip() and first.strip():
            conditions.append(and_(_starts_with(Patient.last_name_key, name_key(last)),
                                   _first_name_starts(first)))
    elif " " in query.strip():  # "First Last" (the first name may itself have a space)
        first, _, last = query.strip().rpartition(" ")
        conditions.append(and_(_starts_with(Patient.last_name_key, name_key(last)),
                               _first_name_starts(first)))
    return conditions


# How staff type a phone number: digits with any of these between them.
_PHONE_PUNCTUATION = " ()+-./"
_PHONE_QUERY = re.compile(r"^[0-9 ()+\-./]+$")
_PHONE_MIN_DIGITS = 7  # fewer is more likely part of an MRN or a date


def _phone_digits_column():
    # The phone is stored as typed, "(479) 555-0101": compare its digits only, in SQL.
    digits = Patient.phone
    for mark in _PHONE_PUNCTUATION:
        digits = func.replace(digits, mark, "")
    return digits


def _phone_conditions(query: str) -> list:
    if not _PHONE_QUERY.match(query):
        return []
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) < _PHONE_MIN_DIGITS:
        return []
    wanted = {digits}
    if len(digits) == 11 and digits.startswith("1"):
        wanted.add(digits[1:])  # "+1 479 555 0101": the country code is rarely on file
    column = _phone_digits_column()
    return [_contains(column, d) for d in sorted(wanted)]


_SUBSTRING_MIN = 3  # "a" or "10" would match nearly every MRN and address


def _part_conditions(query: str) -> list:
    """Part of an MRN ("0042" finds "MRN-00042") or of an email ("garcia@", "maria.g").

    The name searches are prefix matches (last_name_key has its index); a substring
    match can't use one, so a query that has one scans the patients table, which for
    a practice (a few thousand records) takes a few milliseconds. Still paged in SQL.
    """
    if len(query) < _SUBSTRING_MIN:
        return []
    part = _casefolded(query)
    return [_contains(func.lower(Patient.mrn), part), _contains(Patient.email, part)]


def search_patients(db: Session, actor: Optional[User], query: str, *, offset: int = 0,
                    limit: int = 20, clock: Clock, system: bool = False,
                    client_ip: Optional[str] = None) -> paging.Page[Patient]:
    """By name (first, "first last", "last, first"), part of an MRN or email, phone, or
    date of birth; an empty query lists everyone by name. Paged in the database."""
    role = access.require_staff_or_system(db, actor, system=system, action="patients.search",
                                          clock=clock, client_ip=client_ip)
    offset, limit = paging.clamp(offset, limit)
    query = check_text((query or "").strip()[:200], field="query", label="search",
                       single_line=True)
    statement = select(Patient)
    if query:
        conditions = [Patient.mrn == query] + _name_conditions(query)
        conditions += _part_conditions(query) + _phone_conditions(query)
        if "@" in query:
            conditions.append(Patient.email == normalize_email(query))
        born = parse_date_of_birth(query)
        if born is not None:
            conditions.append(Patient.date_of_birth == born)
        statement = statement.where(or_(*conditions))
    statement = statement.order_by(Patient.last_name_key, Patient.first_name_key, Patient.id)
    rows = db.exec(statement.offset(offset).limit(limit + 1)).all()
    trail.record(db, "patients.searched", actor=actor, role=role,
                 detail=f"query: {query}" if query else "all patients", client_ip=client_ip,
                 clock=clock)
    return paging.page_of(rows, offset, limit)
