"""Urgent items: what a nurse must act on now, on top of the office's queue (issue #15).

A check-in's escalated answers (services/records/checkins.py) and a red-flag message the
patient sent anyway (services/records/messaging.py) each raise one item. It stays on top
of the queue until a staff member acknowledges it ("Called the patient", or a note of
their own); one left unacknowledged for ``policy.URGENT_HIGHLIGHT_AFTER`` is highlighted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from carespace_app import policy, routes, timefmt
from carespace_app.clock import Clock
from carespace_app.models import (URGENT_CHECKIN, URGENT_MESSAGE, Patient, UrgentItem, User)
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.permissions import access
from carespace_app.services.records import symptoms
from carespace_app.services.text_rules import check_text

NOTE_MAX = 1000
CALLED = "Called the patient"  # the quick acknowledgement
ALREADY = "{name} acknowledged this on {when}."
SOMEONE = "Someone"  # ALREADY's {name} when the account is gone
NOTE_MISSING = "Say what was done, for example “Called the patient”."
NOTE_TOO_LONG = "Keep the note under {limit} characters."
NOTE_LABEL = "note"
ITEM_NOT_FOUND = "That urgent item was not found. Reload the page."
QUEUE_MAX = 200  # unacknowledged items shown at once (oldest first)


@dataclass(frozen=True)
class UrgentView:
    id: int
    patient_id: int
    patient_name: str
    mrn: str
    kind: str
    lines: list[str]  # "Pain: Severe (3), last time Mild (1)"
    created_at: datetime
    overdue: bool  # unacknowledged for URGENT_HIGHLIGHT_AFTER or more
    link: str  # where the office reads more: the patient's page, or the conversation


def raise_for_checkin(db: Session, patient_id: int, checkin_id: int,
                      found: list[symptoms.Finding], *, clock: Clock) -> UrgentItem:
    item = UrgentItem(patient_id=patient_id, kind=URGENT_CHECKIN, checkin_id=checkin_id,
                      findings=json.dumps([f.as_json() for f in found]), created_at=clock())
    db.add(item)
    db.flush()
    return item


def raise_for_message(db: Session, patient_id: int, thread_id: int, flags: list[str], *,
                      clock: Clock) -> UrgentItem:
    item = UrgentItem(patient_id=patient_id, kind=URGENT_MESSAGE, thread_id=thread_id,
                      findings=json.dumps([{"flag": f} for f in flags]), created_at=clock())
    db.add(item)
    db.flush()
    return item


MESSAGE_LINE = "Message mentions: {flags}"


def lines_of(kind: str, findings_json: str) -> list[str]:
    try:
        found = json.loads(findings_json or "[]")
    except ValueError:
        found = []
    if kind == URGENT_MESSAGE:
        flags = [str(f.get("flag", "")) for f in found if isinstance(f, dict)]
        return [MESSAGE_LINE.format(flags=", ".join(f for f in flags if f))]
    return [symptoms.Finding(str(f.get("symptom", "")), int(f.get("grade", 0)),
                             f.get("previous")).describe()
            for f in found if isinstance(f, dict)]


def _link(item: UrgentItem) -> str:
    if item.kind == URGENT_MESSAGE and item.thread_id:
        return f"{routes.ADMIN_MESSAGES}?thread={item.thread_id}"
    return f"{routes.ADMIN_PATIENT}?id={item.patient_id}"


def open_items(db: Session, actor: User, *, clock: Clock) -> list[UrgentView]:
    """Unacknowledged items, oldest first: the longest waiting is on top."""
    access.require_staff(db, actor, action="urgent.list", clock=clock)
    now = clock()
    # Names and symptoms of many patients at once: the look is on the office's log.
    trail.record(db, "urgent.queue_viewed", actor=actor, role=trail.role_of(actor),
                 detail="", clock=clock)
    rows = db.exec(
        select(UrgentItem, Patient.first_name, Patient.last_name, Patient.mrn)
        .join(Patient, Patient.id == UrgentItem.patient_id)
        .where(UrgentItem.acknowledged_at.is_(None))
        .order_by(UrgentItem.created_at, UrgentItem.id)
        .limit(QUEUE_MAX)
    ).all()
    return [UrgentView(id=item.id, patient_id=item.patient_id,
                       patient_name=f"{first} {last}".strip(), mrn=mrn or "", kind=item.kind,
                       lines=lines_of(item.kind, item.findings), created_at=item.created_at,
                       overdue=now - item.created_at >= policy.URGENT_HIGHLIGHT_AFTER,
                       link=_link(item))
            for item, first, last, mrn in rows]


def open_ids(db: Session, actor: User, *, clock: Clock) -> list[int]:
    """The unacknowledged items' ids in the queue's order, and nothing else: for the page's
    timer to see whether the queue changed, then read it (open_items, audited) only when it
    did, so a queue left on screen does not write a row on the office's log every time."""
    access.require_staff(db, actor, action="urgent.list", clock=clock)
    return list(db.exec(select(UrgentItem.id).where(UrgentItem.acknowledged_at.is_(None))
                        .order_by(UrgentItem.created_at, UrgentItem.id).limit(QUEUE_MAX)).all())


def acknowledge(db: Session, actor: User, item_id: int, *, note: str, clock: Clock) -> None:
    """The item leaves the top of the queue; who, when and the note are kept and audited.
    Two staff acknowledging at once: the first stands, the second is told who did."""
    access.require_staff(db, actor, action="urgent.acknowledge", clock=clock)
    note = check_text(note if isinstance(note, str) else "", field="note", label=NOTE_LABEL,
                      single_line=False).strip()
    if not note:
        raise ValidationError(NOTE_MISSING, field="note")
    if len(note) > NOTE_MAX:
        raise ValidationError(NOTE_TOO_LONG.format(limit=NOTE_MAX), field="note")
    item = db.get(UrgentItem, item_id) if access.row_id(item_id) else None
    if item is None:
        raise NotFound(ITEM_NOT_FOUND)
    now = clock()
    done = db.exec(
        update(UrgentItem)
        .where(UrgentItem.id == item.id, UrgentItem.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_user_id=actor.id, note=note)
    ).rowcount
    if not done:
        db.refresh(item)
        who = db.get(User, item.acknowledged_by_user_id) if item.acknowledged_by_user_id else None
        raise ValidationError(ALREADY.format(name=who.full_name if who else SOMEONE,
                                             when=timefmt.when(item.acknowledged_at, now=now)))
    trail.record(db, "urgent.acknowledged", actor=actor, role=trail.role_of(actor),
                 patient_id=item.patient_id, detail=f"urgent item {item.id}", clock=clock)
