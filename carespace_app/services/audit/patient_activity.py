"""Who viewed my record: the patient's own view of the audit trail, in plain words.

Only the patient themself sees it (not a caregiver: the trail shows what the
caregivers did). Office staff appear as "The office (Name)", so the patient can
ask about a read they don't recognise.

The patient's own looks are most of any trail, so a run of them with nothing else in
between is one line ("Viewed your record 14 times", from the first to the last); what
the office and caregivers did, and everything anyone changed, stays one line each. A
refusal repeated within its window is one row with a count (services/audit/trail.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import and_, case, func
from sqlmodel import Session, select

from carespace_app import i18n, timefmt
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.models import AuditEvent, PatientAccess, ShareLink, User
from carespace_app.services.permissions import access
from carespace_app.services.paging import Page, clamp, page_of

# Audit action codes the patient sees, in the words of the portal. Anything not
# listed (internal bookkeeping) is left out of their view.
PLAIN_WORDS = {
    "patient.viewed": N_("Viewed your record details"),
    "patient.created": N_("Created your record"),
    "patient.updated": N_("Updated your record details"),
    "labs.viewed": N_("Viewed lab results"),
    "lab_history.viewed": N_("Viewed lab history"),
    "lab_tests.listed": N_("Viewed lab history"),
    "lab_report.entered": N_("Added a lab report"),
    "lab_result.corrected": N_("Corrected a lab result"),
    # Results on the patient's terms (issue #16)
    "lab_report.reviewed": N_("Reviewed a lab report"),
    "lab_report.released": N_("Released a held lab report to you"),
    "result_hold.changed": N_("Changed when new results are shown"),
    "appointments.viewed": N_("Viewed appointments"),
    "appointment.created": N_("Booked an appointment"),
    "appointment.updated": N_("Changed an appointment"),
    "appointment.cancelled": N_("Cancelled an appointment"),
    "appointment.calendar_downloaded": N_("Added an appointment to a calendar"),
    "messages.listed": N_("Viewed messages"),
    "thread.viewed": N_("Read a conversation"),
    "message.sent": N_("Sent a message"),
    "thread.closed": N_("Closed a conversation"),
    "thread.reopened": N_("Reopened a conversation"),
    "caregiver.granted": N_("Gave someone access to your portal"),
    "caregiver.revoked": N_("Ended someone's access to your portal"),
    "caregivers.viewed": N_("Viewed who has access to your portal"),
    "invitation.sent": N_("Sent an invitation link"),
    "email.changed": N_("Changed the email address"),
    "access.refused": N_("Tried to open your record and was refused"),
    "portal.viewed_as_patient": N_("Opened your portal to see it as you do"),
    # Symptom check-ins (issue #15)
    "checkins.enrolled": N_("Started your symptom check-ins"),
    "checkins.changed": N_("Changed your symptom check-ins"),
    "checkins.stopped": N_("Stopped your symptom check-ins"),
    "checkin_plan.viewed": N_("Viewed your symptom check-ins"),
    "checkin.latest_viewed": N_("Viewed your symptom check-ins"),
    "checkin.submitted": N_("Answered a symptom check-in"),
    "checkin_history.viewed": N_("Viewed your symptom check-in history"),
    "urgent.acknowledged": N_("Followed up on an urgent answer"),
    # Download my record (issue #16, services/records/record_download.py)
    "record.downloaded.pdf": N_("Downloaded your record (PDF)"),
    "record.downloaded.fhir": N_("Downloaded your record (FHIR file)"),
    "record.sent.pdf": N_("Emailed your record (PDF)"),
    "record.sent.fhir": N_("Emailed your record (FHIR file)"),
    "record.printed_at_desk": N_("The office printed your record"),
    # Share links (issue #16, services/records/share_links.py)
    "share_link.created": N_("Made a share link to your record"),
    "share_link.revoked": N_("Turned off a share link"),
    "share_links.viewed": N_("Viewed your share links"),
    "record.share_viewed": N_("Opened your record through a share link"),
    "record.share_downloaded": N_("Downloaded your record through a share link"),
    "share_link.refused": N_("Tried to open your share link and was refused"),
    "share_link.locked": N_("Locked your share link: too many wrong passcodes"),
}
OFFICE_ROLES = {"staff", "admin"}
# The patient's own reads that collapse into one line when nothing else comes between.
VIEW_ACTIONS = ("patient.viewed", "labs.viewed", "lab_history.viewed", "lab_tests.listed",
                "appointments.viewed", "messages.listed", "thread.viewed", "caregivers.viewed",
                "checkin_plan.viewed", "checkin.latest_viewed", "checkin_history.viewed",
                "share_links.viewed")
OWN_VIEWS = N_("Viewed your record {count} times")
# What someone did with one of the patient's share links: no account, so the link's label
# ("Someone with your share link (Dr. Patel)"); the audit detail names the link.
SHARE_ACTIONS = ("record.share_viewed", "record.share_downloaded", "share_link.refused",
                 "share_link.locked")
SHARE_VIEWER = N_("Someone with your share link ({label})")
_SHARE_LINK_ID = re.compile(r"share\slink\s(\d+)")  # share_links._detail
REPEATED = N_("{what} {count} times")
YOU = N_("You")
THE_OFFICE = N_("The office")
THE_OFFICE_NAMED = N_("The office ({name})")
NO_ACCESS = N_("Someone without access to your record")
NO_ACCOUNT = N_("Someone without an account")
SPAN = N_("{first} – {last}")


@dataclass
class TrailEntry:
    id: int
    who: str
    what: str
    when: str
    at: datetime  # the newest event of the line
    count: int = 1  # events on this line: grouped own views, or a repeated refusal
    mine: bool = False  # the viewer's own line (shown plain; everyone else's in bold)


def _span(first: datetime, last: datetime, now: datetime, lang: str = "en") -> str:
    """"Mon, Dec 1, 9:00 AM – 4:10 PM", or with both days when they differ."""
    if first == last:
        return timefmt.when(first, now=now, lang=lang)
    if timefmt.to_local(first).date() == timefmt.to_local(last).date():
        return i18n.fmt(lang, SPAN, first=timefmt.when(first, now=now, lang=lang),
                        last=timefmt.time_only(last, lang=lang))
    return i18n.fmt(lang, SPAN, first=timefmt.when(first, now=now, lang=lang),
                    last=timefmt.when(last, now=now, lang=lang))


def _who(actor_user_id: Optional[int], actor_role: str, viewer: User, names: dict[int, str],
         lang: str = "en") -> str:
    if actor_user_id is not None and actor_user_id == viewer.id:
        return i18n.gettext(lang, YOU)
    name = names.get(actor_user_id or -1, "")
    if actor_role in OFFICE_ROLES:
        return i18n.fmt(lang, THE_OFFICE_NAMED, name=name) if name else i18n.gettext(lang, THE_OFFICE)
    if actor_role == access.ROLE_SYSTEM:
        return i18n.gettext(lang, THE_OFFICE)
    if actor_user_id is not None:
        # Another patient (or anyone this patient never gave access) who tried and was
        # refused: their name would tell this patient who else is treated here.
        return name or i18n.gettext(lang, NO_ACCESS)
    return i18n.gettext(lang, NO_ACCOUNT)


def patient_trail(db: Session, actor: User, patient_id: int, *, offset: int = 0, limit: int = 20,
                  clock: Clock, client_ip: Optional[str] = None, lang: str = "en") -> Page[TrailEntry]:
    """Newest first, one page at a time (ix_audit_patient_at keeps this cheap); the words
    and dates in ``lang``."""
    access.require_self(db, actor, patient_id, action="record_activity.view", clock=clock,
                        client_ip=client_ip)
    offset, limit = clamp(offset, limit)
    lines = db.exec(_lines_query(patient_id, actor.id).offset(offset).limit(limit + 1)).all()
    actor_ids = {line.actor_user_id for line in lines if line.actor_user_id is not None}
    names = {}
    if actor_ids:
        # Named: the office, and the people this patient gave access (revoked ones too).
        known = set(db.exec(select(PatientAccess.user_id)
                            .where(PatientAccess.patient_id == patient_id)).all())
        names = {u.id: u.full_name for u in db.exec(select(User).where(User.id.in_(actor_ids))).all()
                 if u.is_staff or u.id in known}
    now = clock()
    labels = _share_labels(db, patient_id, lines)
    return page_of([_entry(line, actor, names, now, labels, lang) for line in lines], offset, limit)


def _share_labels(db: Session, patient_id: int, lines) -> dict[int, str]:
    """The labels of this patient's share links named on these lines, by line id."""
    named = {line.id: int(found.group(1)) for line in lines
             if line.action in SHARE_ACTIONS and line.actor_user_id is None
             and (found := _SHARE_LINK_ID.match(line.detail or ""))}
    if not named:
        return {}
    labels = dict(db.exec(select(ShareLink.id, ShareLink.label).where(
        ShareLink.id.in_(set(named.values())), ShareLink.patient_id == patient_id)).all())
    return {line_id: labels[link_id] for line_id, link_id in named.items() if link_id in labels}


def _lines_query(patient_id: int, viewer_id: int):
    """One row per line of the trail, newest first, in one statement.

    Runs of the viewer's own reads are found with two row numbers (newest first): over
    the whole trail, and over own reads and the rest apart. Their difference stays the
    same along a run and changes when anything else comes between.
    """
    newest_first = (AuditEvent.at.desc(), AuditEvent.id.desc())
    own = case((and_(AuditEvent.actor_user_id == viewer_id,
                     AuditEvent.action.in_(VIEW_ACTIONS)), 1), else_=0)
    events = (
        select(AuditEvent.id, AuditEvent.at, AuditEvent.actor_user_id, AuditEvent.actor_role,
               AuditEvent.action, AuditEvent.repeat_count, AuditEvent.detail, own.label("own"),
               (func.row_number().over(order_by=newest_first)
                - func.row_number().over(partition_by=own, order_by=newest_first)).label("run"))
        .where(AuditEvent.patient_id == patient_id, AuditEvent.action.in_(list(PLAIN_WORDS)))
        .subquery()
    )
    line = case((events.c.own == 1, events.c.run), else_=events.c.id)
    newest_at, newest_id = func.max(events.c.at), func.max(events.c.id)
    return (
        select(newest_id.label("id"), func.min(events.c.at).label("first_at"),
               newest_at.label("last_at"), func.count().label("events"),
               func.max(events.c.actor_user_id).label("actor_user_id"),
               func.max(events.c.actor_role).label("actor_role"),
               func.max(events.c.action).label("action"),
               func.max(events.c.repeat_count).label("repeat_count"),
               func.max(events.c.detail).label("detail"))
        .group_by(events.c.own, line)
        .order_by(newest_at.desc(), newest_id.desc())
    )


def _entry(line, viewer: User, names: dict[int, str], now: datetime,
           share_labels: Optional[dict[int, str]] = None, lang: str = "en") -> TrailEntry:
    who = _who(line.actor_user_id, line.actor_role, viewer, names, lang)
    mine = line.actor_user_id is not None and line.actor_user_id == viewer.id
    if share_labels and line.id in share_labels:
        who = i18n.fmt(lang, SHARE_VIEWER, label=share_labels[line.id])
    if line.events > 1:  # the viewer's own reads, run together
        return TrailEntry(id=line.id, who=who, what=i18n.fmt(lang, OWN_VIEWS, count=line.events),
                          when=_span(line.first_at, line.last_at, now, lang), at=line.last_at,
                          count=line.events, mine=mine)
    what, count = i18n.gettext(lang, PLAIN_WORDS[line.action]), line.repeat_count or 1
    if count > 1:
        what = i18n.fmt(lang, REPEATED, what=what, count=count)
    return TrailEntry(id=line.id, who=who, what=what,
                      when=timefmt.when(line.first_at, now=now, lang=lang),
                      at=line.last_at, count=count, mine=mine)
