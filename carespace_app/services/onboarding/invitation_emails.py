"""The invitation emails: a patient's, and a caregiver's (which names the patient).

The link itself goes in as ``{link}`` (the outbox seals it); how long it works comes from
the policy (``INVITATION_TTL``). Each email is written in one language: a patient's in
the preferred language the office recorded (``Patient.language``), a caregiver's in the
inviting patient's (issue #17). The sentences are catalogue entries (carespace_app/i18n).
"""
from __future__ import annotations

from datetime import datetime

from carespace_app import i18n
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.models import CaregiverGrant, Patient
from carespace_app.policy import INVITATION_TTL, in_words
from carespace_app.timefmt import day, to_local, when

PATIENT_SUBJECT = N_("Your invitation to CareSpace")
PATIENT_BODY = N_(
    "Hello {first_name},\n\n"
    "{practice} invites you to CareSpace, our patient portal. There you can send secure "
    "messages to our office, see your upcoming appointments and read your lab results.\n\n"
    "To create your password, open this link:\n\n{link}\n\n"
    "{expires} You will be asked for this email address and your date of birth.\n\n"
    "Do not forward this email; the link won't work if forwarded.\n\n"
    "Questions? Call our office at {phone}. We're glad to help.\n\n"
    "Warm regards,\n{practice}")
CAREGIVER_SUBJECT = N_("Your invitation to {patient}'s CareSpace portal")
CAREGIVER_BODY = N_(
    "Hello {name},\n\n"
    "{patient} has given you access to their CareSpace patient portal at {practice}. {what}\n\n"
    "To accept, open this link and create a password (or, if you already use CareSpace, enter "
    "your existing password):\n\n{link}\n\n"
    "{expires} You will be asked for this email address and an access code.\n\n"
    "{access_code}\n\n"
    "Do not forward this email; the link won't work if forwarded.\n\n"
    "If you weren't expecting this, or have questions, call our office at {phone}.\n\n"
    "Warm regards,\n{practice}")
EXPIRES = N_("This link expires in {time} (on {date}).")


def _expiry_text(expires_at: datetime, lang: str) -> str:
    # Read against the day the link was sent (the email's "now"), not the server's clock.
    sent = expires_at - INVITATION_TTL
    return f"{when(expires_at, now=sent, lang=lang)} {to_local(expires_at):%Z}".strip()


def _expires(expires_at: datetime, lang: str) -> str:
    return i18n.fmt(lang, EXPIRES, time=in_words(INVITATION_TTL, lang=lang),
                    date=_expiry_text(expires_at, lang))


def patient_email(patient: Patient, expires_at: datetime,
                  lang: str | None = None) -> tuple[str, str]:
    """(subject, body) of a patient's invitation, in ``lang`` (default: the patient's)."""
    lang = i18n.normalize(lang or patient.language)
    practice = get_settings()
    return i18n.gettext(lang, PATIENT_SUBJECT), i18n.fmt(
        lang, PATIENT_BODY, first_name=patient.first_name, practice=practice.practice_name,
        link="{link}", expires=_expires(expires_at, lang), phone=practice.office_phone)


# What the invitation says the person will see (issue #17: the patient chose it).
WHAT_THEY_SEE = {
    "full": N_("You will have full access to the portal, including all of their medical "
               "records and messages."),
    "appointments_labs": N_("You will see their appointments, lab results and resources (not "
                            "their messages)."),
    "appointments": N_("You will see their appointments and resources (not their lab results "
                       "or messages)."),
}
UNTIL = N_("Your access ends on {day}.")
NO_END = N_("Your access has no end date.")


def what_they_see(grant: CaregiverGrant, lang: str = "en", *, say_no_end: bool = False) -> str:
    """The caregiver's access in their words: what they see, and until when (``say_no_end``:
    also when there is no end date, for a change that removed it)."""
    said = i18n.gettext(lang, WHAT_THEY_SEE.get(grant.scope or "full", WHAT_THEY_SEE["full"]))
    if grant.ends_on is not None:
        said += " " + i18n.fmt(lang, UNTIL, day=day(grant.ends_on, lang=lang))
    elif say_no_end:
        said += " " + i18n.gettext(lang, NO_END)
    return said


def caregiver_email(grant: CaregiverGrant, patient: Patient, expires_at: datetime,
                    access_code_sentence: str, lang: str = "en") -> tuple[str, str]:
    """(subject, body) of a caregiver's invitation; ``access_code_sentence`` says the code
    will come from the patient (invitations.ACCESS_CODE_TEXT["email"], in ``lang``)."""
    lang = i18n.normalize(lang)
    practice = get_settings()
    return i18n.fmt(lang, CAREGIVER_SUBJECT, patient=patient.full_name), i18n.fmt(
        lang, CAREGIVER_BODY, name=grant.name, patient=patient.full_name,
        practice=practice.practice_name, link="{link}", expires=_expires(expires_at, lang),
        what=what_they_see(grant, lang), access_code=access_code_sentence, phone=practice.office_phone)
