"""A caregiver's end date (issue #17): what a patient may type, and the sweep that records it.

Access ends at the start of the end date in the practice's time zone. Every check reads
the date itself (``access.access_to`` with ``now``), so it takes effect at the caregiver's
next event; the sweep only records the end ("access.ended") and, a week before, emails
the patient once so they can extend it from Manage Users.
Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlmodel import Session, select

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.models import CaregiverGrant, PatientAccess, User
from carespace_app.policy import ACCESS_END_MAX_YEARS, ACCESS_END_NOTICE_BEFORE
from carespace_app.services.audit import trail
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity import links
from carespace_app.services.mail import outbox
from carespace_app.services.permissions import access, scopes

END_DATE_FIELD = "ends_on"
END_DATE_NOT_A_DATE = N_("Enter the day access ends as a date, for example March 1, {year}.")
END_DATE_NOT_AHEAD = N_("Choose an end date after today.")
END_DATE_TOO_FAR_TEMPLATE = N_("Choose an end date at most {years} years from today.")
END_DATE_TOO_FAR = i18n.fmt("en", END_DATE_TOO_FAR_TEMPLATE, years=ACCESS_END_MAX_YEARS)
SCOPE_MISSING = N_("Choose what they can see.")

END_NOTICE_KIND = "access_end_notice"
# The week-before email, in the patient's language (User.language).
END_NOTICE_SUBJECT = N_("Someone's access to your CareSpace portal ends soon")
END_NOTICE_BODY = N_("Hello,\n\n"
                     "{name}'s access to your portal ends on {day}.\n\n"
                     "To keep their access longer, or remove the end date, go to Manage Users: "
                     "{link}")


def _local_today(now: datetime) -> date:
    return timefmt.to_local(now).date()


def _years_ahead(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # February 29th
        return day.replace(year=day.year + years, day=28)


def parse_end_date(text, *, clock: Clock) -> Optional[date]:
    """The end date a patient typed ("" or None: no end), or ValidationError on its field."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    today = _local_today(clock())
    try:
        if not isinstance(text, str) or len(text) > 10:
            raise ValueError(text)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(END_DATE_NOT_A_DATE, params={"year": today.year + 1},
                              field=END_DATE_FIELD) from None
    if day <= today:
        raise ValidationError(END_DATE_NOT_AHEAD, field=END_DATE_FIELD)
    if day > _years_ahead(today, ACCESS_END_MAX_YEARS):
        raise ValidationError(END_DATE_TOO_FAR_TEMPLATE, params={"years": ACCESS_END_MAX_YEARS},
                              field=END_DATE_FIELD)
    return day


def parse_scope(value) -> str:
    if not scopes.is_scope(value):
        raise ValidationError(SCOPE_MISSING, field="scope")
    return value


def _end(db: Session, grant: CaregiverGrant, now: datetime, clock: Clock) -> None:
    grant.ended_at = now
    grant.revoked_at = now
    if grant.access_id is not None:
        granted = db.get(PatientAccess, grant.access_id)
        if granted is not None and granted.revoked_at is None:
            granted.revoked_at = now
    links.supersede(db, links.INVITATION, now, grant_id=grant.id)
    trail.record(db, "access.ended", role=access.ROLE_SYSTEM, patient_id=grant.patient_id,
                 detail=f"{grant.name} <{grant.email}>: end date {grant.ends_on.isoformat()}",
                 clock=clock)


def _warn(db: Session, grant: CaregiverGrant, now: datetime, clock: Clock) -> None:
    grant.end_notice_sent_at = now
    patient_user = db.get(User, grant.granted_by_user_id)
    if patient_user is None or not patient_user.is_active:
        return
    lang = i18n.normalize(patient_user.language)
    body = i18n.fmt(lang, END_NOTICE_BODY, name=grant.name, day=timefmt.day(grant.ends_on, lang=lang),
                    link=routes.item_link(routes.MANAGE_USERS))
    outbox.enqueue(db, to=patient_user.email, subject=i18n.gettext(lang, END_NOTICE_SUBJECT),
                   body=body, kind=END_NOTICE_KIND, patient_id=grant.patient_id, clock=clock,
                   lang=lang)
    trail.record(db, "access.end_notice_sent", role=access.ROLE_SYSTEM,
                 patient_id=grant.patient_id, detail=f"{grant.name}: ends {grant.ends_on.isoformat()}",
                 clock=clock)


def sweep(db: Session, *, clock: Clock) -> tuple[int, int]:
    """Record the grants whose end has come; email the week-before notice once.
    Returns (ended, warned). Idempotent: each runs once per grant (per end date)."""
    now = clock()
    ended = warned = 0
    grants = db.exec(select(CaregiverGrant).where(
        CaregiverGrant.revoked_at.is_(None), CaregiverGrant.ends_on.is_not(None))
        .with_for_update()).all()
    for grant in grants:
        end = scopes.ends_at(grant.ends_on)
        if now >= end:
            _end(db, grant, now, clock)
            ended += 1
        elif grant.end_notice_sent_at is None and end - now <= ACCESS_END_NOTICE_BEFORE:
            _warn(db, grant, now, clock)
            warned += 1
    return ended, warned
