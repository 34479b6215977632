"""Emails that tell someone news is waiting in CareSpace, never what the news says.

Email is not a secure channel: a notification names no test, value, subject, message
text, provider or place. It says one short sentence (``news``) and links to the item's
own page; opened signed out, that page sends the reader to sign in and back.
The patient reads the news about themself; a caregiver reads whose portal it is in.
Staff hear that a patient wrote, when they have that email on in Settings.
Callers commit: these only queue rows in the outbox, inside the caller's transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from sqlmodel import Session, select

from carespace_app import i18n, routes
from carespace_app.clock import Clock, utcnow
from carespace_app.config import get_settings
from carespace_app.i18n import N_, OFFICE_
from carespace_app.models import RELATION_CAREGIVER, Patient, PatientAccess, User
from carespace_app.services.mail import outbox
from carespace_app.services.permissions import scopes

# Every kind of email the outbox holds, in the office's words (the Outbox page shows these).
KIND_WORDS = OFFICE_({
    "invitation": "Invitation to register",
    "password_reset": "Password reset link",
    "email_change": "New email address to confirm",
    "address_in_use": "Email address already in use",
    "account_notice": "Account change notice",
    "message_notification": "New message notice",
    "lab_results_notification": "New lab results notice",
    "lab_notification": "New lab results notice",  # the first release's name for it
    "appointment_notification": "Appointment notice",
    "staff_message_notification": "Patient wrote (staff notice)",
    "checkin_notification": "Symptom check-in is open",
    "checkin_reminder": "Symptom check-in reminder",
    "record_copy": "A copy of a health record (attached)",  # Download my record › Email it
    "access_changed": "Caregiver's access changed",
    "access_end_notice": "Caregiver's access ends soon",
})

MESSAGE_KIND = "message_notification"
LAB_RESULTS_KIND = "lab_results_notification"
APPOINTMENT_KIND = "appointment_notification"
STAFF_MESSAGE_KIND = "staff_message_notification"
CHECKIN_KIND = "checkin_notification"
CHECKIN_REMINDER_KIND = "checkin_reminder"

# Subjects carry no name and no detail: the same for the patient and every caregiver
# (each in the reader's own language).
SUBJECTS = {
    MESSAGE_KIND: N_("You have a new message in CareSpace"),
    LAB_RESULTS_KIND: N_("New results are available in CareSpace"),
    APPOINTMENT_KIND: N_("News about an appointment in CareSpace"),
    CHECKIN_KIND: N_("A check-in is waiting in CareSpace"),
    CHECKIN_REMINDER_KIND: N_("A check-in is still waiting in CareSpace"),
}
DEFAULT_SUBJECT = N_("You have news in CareSpace")
# Someone with no account could not sign in to see new results or answer a check-in: they
# get no email for them.
ACCOUNT_NEEDED_KINDS = frozenset({LAB_RESULTS_KIND, CHECKIN_KIND, CHECKIN_REMINDER_KIND})

GREETING = N_("Hello,")
PATIENT_NEWS = N_("{news} in your CareSpace portal.")
CAREGIVER_NEWS = N_("{news} in {patient}'s CareSpace portal.")
OPEN_LINE = N_("To see it, sign in here: {link}")
QUESTIONS_TEMPLATE = N_("If you have a question in the meantime, call the office at {phone}.")
QUESTIONS_LINE = i18n.fmt("en", QUESTIONS_TEMPLATE, phone=get_settings().office_phone)

# Staff notices stay in English (the office works in English): not catalogue entries.
STAFF_SUBJECT = OFFICE_("A patient sent a new message")
STAFF_NEWS = OFFICE_("A patient sent a new message in CareSpace.")
STAFF_OPEN_LINE = OFFICE_("To read it, sign in here: {link}")
STAFF_SETTING_LABEL = OFFICE_("Email me when a patient sends a message")
STAFF_WHY_LINE = OFFICE_(f'You get this email because "{STAFF_SETTING_LABEL}" is on in your '
                         "CareSpace Settings; you can turn it off there.")


@dataclass(frozen=True)
class Recipient:
    address: str
    is_patient: bool  # the patient themself (or their address on file), not a caregiver
    lang: str = "en"  # the language this person reads CareSpace in


# Which area of the portal each kind of news is about: a caregiver whose access does not
# reach it (issue #17) does not hear of it.
KIND_AREAS = {
    MESSAGE_KIND: scopes.AREA_MESSAGES,
    LAB_RESULTS_KIND: scopes.AREA_LABS,
    APPOINTMENT_KIND: scopes.AREA_APPOINTMENTS,
    CHECKIN_KIND: scopes.AREA_CHECKINS,
    CHECKIN_REMINDER_KIND: scopes.AREA_CHECKINS,
}


def _recipients(db: Session, patient_id: int, *, include_unregistered: bool,
                area: Optional[str] = None, now=None) -> list[Recipient]:
    patient = db.get(Patient, patient_id)
    if patient is None:
        return []
    found: list[Recipient] = []
    owner = db.get(User, patient.user_id) if patient.user_id else None
    if owner is not None and owner.is_active:
        found.append(Recipient(owner.email, True, i18n.normalize(owner.language)))
    elif owner is None and include_unregistered and patient.email:
        # No account yet: the language the office noted for the patient.
        found.append(Recipient(patient.email, True, i18n.normalize(patient.language)))
    now = now or utcnow()
    caregivers = [(address, language) for address, language, scope, ends_on in db.exec(
        select(User.email, User.language, PatientAccess.scope, PatientAccess.ends_on)
        .join(PatientAccess, PatientAccess.user_id == User.id)
        .where(PatientAccess.patient_id == patient_id,
               PatientAccess.relation == RELATION_CAREGIVER,
               PatientAccess.revoked_at.is_(None),
               User.is_active.is_(True))
        .order_by(PatientAccess.id)
    ).all() if not scopes.has_ended(ends_on, now)
        and (area is None or scopes.reaches(RELATION_CAREGIVER, scope, area))]
    taken = {r.address for r in found}
    for address, language in caregivers:
        if address not in taken:
            taken.add(address)
            found.append(Recipient(address, False, i18n.normalize(language)))
    return found


def notification_addresses(db: Session, patient_id: int, *,
                           include_unregistered: bool = True) -> list[str]:
    """Who hears that something is waiting: the patient's account (or, with no account,
    the address on file) and every caregiver whose access is active now."""
    return [r.address for r in _recipients(db, patient_id,
                                           include_unregistered=include_unregistered)]


def patient_side_body(news: str, *, link: str, patient_name: Optional[str] = None,
                      lang: str = "en", news_params: Optional[dict[str, Any]] = None) -> str:
    """The email's text in ``lang``: about the reader (``patient_name`` None) or naming
    whose portal. ``news``: a catalogue sentence, its ``news_params`` filled (a parameter
    may be a callable of the language: a day said in each language)."""
    said_news = i18n.fmt(lang, news, **(news_params or {})).strip().rstrip(".")
    if patient_name is None:
        said = i18n.fmt(lang, PATIENT_NEWS, news=said_news)
    else:
        said = i18n.fmt(lang, CAREGIVER_NEWS, news=said_news, patient=patient_name)
    return "\n\n".join([i18n.gettext(lang, GREETING), said, i18n.fmt(lang, OPEN_LINE, link=link),
                        i18n.fmt(lang, QUESTIONS_TEMPLATE, phone=get_settings().office_phone)])


def tell_patient_side(db: Session, patient_id: int, *, news: str, path: str, kind: str,
                      clock: Clock, include_unregistered: Optional[bool] = None,
                      news_params: Optional[dict[str, Any]] = None) -> None:
    """One email per person who hears about this patient: no medical details, a link to
    ``path``, in each reader's own language. ``news``: a catalogue sentence (``N_``), with
    ``news_params`` for its placeholders. ``include_unregistered`` defaults by kind (new
    results need an account)."""
    patient = db.get(Patient, patient_id)
    if patient is None:
        return
    if include_unregistered is None:
        include_unregistered = kind not in ACCOUNT_NEEDED_KINDS
    link = routes.item_link(path)
    subject = SUBJECTS.get(kind, DEFAULT_SUBJECT)
    for person in _recipients(db, patient_id, include_unregistered=include_unregistered,
                              area=KIND_AREAS.get(kind), now=clock()):
        body = patient_side_body(news, link=link, lang=person.lang, news_params=news_params,
                                 patient_name=None if person.is_patient else patient.full_name)
        outbox.enqueue(db, to=person.address, subject=i18n.gettext(person.lang, subject),
                       body=body, kind=kind, patient_id=patient_id, clock=clock,
                       lang=person.lang)


def staff_message_link(thread_id: int) -> str:
    return routes.item_link(f"{routes.ADMIN_MESSAGES}?thread={thread_id}")


def staff_to_tell(db: Session) -> list[str]:
    """Active staff who have "Email me when a patient sends a message" on."""
    return list(db.exec(
        select(User.email)
        .where(User.is_staff.is_(True), User.is_active.is_(True),
               User.email_on_patient_message.is_(True))
        .order_by(User.id)
    ).all())


def tell_staff_patient_wrote(db: Session, patient_id: int, thread_id: int, *,
                             clock: Clock) -> None:
    """That a patient wrote, and a link to the conversation: never who, what or about what."""
    body = "\n\n".join([GREETING, STAFF_NEWS,
                        STAFF_OPEN_LINE.format(link=staff_message_link(thread_id)),
                        STAFF_WHY_LINE])
    for address in staff_to_tell(db):
        outbox.enqueue(db, to=address, subject=STAFF_SUBJECT, body=body,
                       kind=STAFF_MESSAGE_KIND, patient_id=patient_id, clock=clock)


def kind_in_words(kind: str) -> str:
    """The Outbox's words for a kind; an unknown kind reads as itself, made readable."""
    return KIND_WORDS.get(kind) or kind.replace("_", " ").strip().capitalize() or OFFICE_("Email")
