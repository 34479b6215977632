"""The invitation emails: a patient's, and a caregiver's (which names the patient).

The link itself goes in as ``{link}`` (the outbox seals it); how long it works comes from
the policy (``INVITATION_TTL``).
"""
from __future__ import annotations

from datetime import datetime

from carespace_app.config import get_settings
from carespace_app.models import CaregiverGrant, Patient
from carespace_app.policy import INVITATION_TTL, in_words
from carespace_app.timefmt import day, to_local, when


def _expiry_text(expires_at: datetime) -> str:
    # Read against the day the link was sent (the email's "now"), not the server's clock.
    sent = expires_at - INVITATION_TTL
    return f"{when(expires_at, now=sent)} {to_local(expires_at):%Z}".strip()


def _expires(expires_at: datetime) -> str:
    return f"This link expires in {in_words(INVITATION_TTL)} (on {_expiry_text(expires_at)})."


def patient_email(patient: Patient, expires_at: datetime) -> tuple[str, str]:
    """(subject, body) of a patient's invitation."""
    practice = get_settings()
    return "Your invitation to CareSpace", (
        f"Hello {patient.first_name},\n\n"
        f"{practice.practice_name} invites you to CareSpace, our patient portal. There you can send "
        "secure messages to our office, see your upcoming appointments and read your lab "
        "results.\n\n"
        "To create your password, open this link:\n\n{link}\n\n"
        f"{_expires(expires_at)} You will be asked for "
        "this email address and your date of birth.\n\n"
        "Do not forward this email; the link won't work if forwarded.\n\n"
        f"Questions? Call our office at {practice.office_phone}. We're glad to help.\n\n"
        f"Warm regards,\n{practice.practice_name}"
    )


# What the invitation says the person will see (issue #17: the patient chose it).
WHAT_THEY_SEE = {
    "full": "You will have full access to the portal, including all of their medical records "
            "and messages.",
    "appointments_labs": "You will see their appointments, lab results and resources (not "
                         "their messages).",
    "appointments": "You will see their appointments and resources (not their lab results "
                    "or messages).",
}
UNTIL = " Your access ends on {day}."


def _what_they_see(grant: CaregiverGrant) -> str:
    said = WHAT_THEY_SEE.get(grant.scope or "full", WHAT_THEY_SEE["full"])
    if grant.ends_on is not None:
        said += UNTIL.format(day=day(grant.ends_on))
    return said


def caregiver_email(grant: CaregiverGrant, patient: Patient, expires_at: datetime,
                    access_code_sentence: str) -> tuple[str, str]:
    """(subject, body) of a caregiver's invitation; ``access_code_sentence`` says the code
    will come from the patient (invitations.ACCESS_CODE_TEXT["email"])."""
    practice = get_settings()
    return f"Your invitation to {patient.full_name}'s CareSpace portal", (
        f"Hello {grant.name},\n\n"
        f"{patient.full_name} has given you access to their CareSpace patient portal at "
        f"{practice.practice_name}. {_what_they_see(grant)}\n\n"
        "To accept, open this link and create a password (or, if you already use CareSpace, "
        "enter your existing password):\n\n{link}\n\n"
        f"{_expires(expires_at)} You will be asked for "
        "this email address and an access code.\n\n"
        + access_code_sentence + "\n\n"
        "Do not forward this email; the link won't work if forwarded.\n\n"
        f"If you weren't expecting this, or have questions, call our office at {practice.office_phone}.\n\n"
        f"Warm regards,\n{practice.practice_name}"
    )
