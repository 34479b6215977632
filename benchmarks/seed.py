"""Signed-in people straight into the database, so 200 sessions don't cost 200 bcrypt
sign-ins: patients with conversations and lab results, and a live session for each
(the cookie token a browser would hold after /auth/session)."""
from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CARESPACE_SECRET_KEY", "benchmark-only")

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from carespace_app import models  # noqa: E402
from carespace_app.clock import utcnow  # noqa: E402
from carespace_app.db import make_engine  # noqa: E402
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions

PASSWORD = "Bench-Mark-Heron-2026!"
LAB_TEST = "Potassium"  # every seeded lab result is of this test: its history is `items` long
_migrated: dict[str, bool] = {}


@dataclass
class Person:
    user_id: int
    patient_id: int
    email: str
    token: str  # the carespace_session cookie's value
    thread_ids: list[int]


def _patient(db: Session, label: str, password_hash: str) -> tuple[models.User, models.Patient]:
    tag = uuid.uuid4().hex[:8]
    email = f"bench-{label}-{tag}@example.com"
    user = models.User(email=email, full_name=f"Bench {label}", password_hash=password_hash)
    db.add(user)
    db.flush()
    patient = models.Patient(mrn=f"B-{tag}", first_name="Bench", last_name=label, last_name_key=label.lower(),
                             date_of_birth=date(1950, 1, 1), email=email, user_id=user.id)
    db.add(patient)
    db.flush()
    db.add(models.PatientAccess(patient_id=patient.id, user_id=user.id, relation=models.RELATION_SELF))
    db.commit()
    return user, patient


def fill(db: Session, user: models.User, patient_id: int, count: int, *, now=None) -> list[int]:
    """``count`` conversations (half answered by staff, one message each, an hour apart up
    to an hour before ``now``) and ``count`` lab reports of one result each, all of the same
    test, so its history is ``count`` long; returns the newest conversations' ids."""
    start = (now or utcnow()) - timedelta(hours=count + 1)
    for chunk in range(0, count, 2000):
        rows = range(chunk, min(count, chunk + 2000))
        db.execute(insert(models.MessageThread), [
            dict(patient_id=patient_id, category="Other", subject=f"Thread {n}", status="open",
                 created_by_user_id=user.id, created_at=start, last_message_at=start + timedelta(hours=n),
                 last_patient_message_at=start + timedelta(hours=n),
                 last_staff_message_at=start + timedelta(hours=n) if n % 2 else None, message_count=1)
            for n in rows])
        db.execute(insert(models.LabReport), [
            dict(patient_id=patient_id, panel=f"Panel {n}", collected_at=start + timedelta(hours=n),
                 resulted_at=start + timedelta(hours=n, minutes=30), ordering_provider="Dr. Park",
                 created_at=start, released_at=start)
            for n in rows])
    db.commit()
    threads = db.exec(select(models.MessageThread.id, models.MessageThread.last_message_at)
                      .where(models.MessageThread.patient_id == patient_id)).all()
    for chunk in range(0, len(threads), 2000):
        db.execute(insert(models.Message), [
            dict(thread_id=tid, author_user_id=user.id, from_staff=False, body="How are my results?",
                 created_at=at)
            for tid, at in threads[chunk:chunk + 2000]])
    reports = db.exec(select(models.LabReport.id, models.LabReport.collected_at)
                      .where(models.LabReport.patient_id == patient_id)).all()
    for chunk in range(0, len(reports), 2000):
        db.execute(insert(models.LabResult), [
            dict(report_id=rid, patient_id=patient_id, test_name=LAB_TEST, value=4.0 + (rid % 10) / 10,
                 unit="mmol/L", ref_low=3.5, ref_high=5.0, flag="normal", collected_at=at)
            for rid, at in reports[chunk:chunk + 2000]])
    db.commit()
    newest = sorted(threads, key=lambda row: row[1], reverse=True)[:20]
    return [tid for tid, _ in newest]


def signed_in_token(db: Session, user: models.User) -> str:
    """A live session as the sign-in page would open it: ticket, then redeemed for the token."""
    ticket = sessions.start_session(db, user, clock=utcnow, client_ip="127.0.0.1", user_agent="bench")
    token = sessions.redeem_ticket(db, ticket, clock=utcnow)
    assert token
    db.commit()  # the seed is its own unit of work: the server must see the session
    return token


def make_people(database_url: str, count: int, *, items: int = 10, label: str = "p",
                password_hash: str | None = None) -> list[Person]:
    """``count`` registered patients with ``items`` conversations and lab reports each,
    each signed in once."""
    if not _migrated.get(database_url):
        from benchmarks import serve

        serve.migrate(database_url)
        _migrated[database_url] = True
    engine = make_engine(database_url)
    password_hash = password_hash or security.hash_password(PASSWORD, rounds=4)
    people = []
    with Session(engine, expire_on_commit=False) as db:
        for n in range(count):
            user, patient = _patient(db, f"{label}{n}", password_hash)
            thread_ids = fill(db, user, patient.id, items) if items else []
            people.append(Person(user.id, patient.id, user.email, signed_in_token(db, user), thread_ids))
    engine.dispose()
    return people


def new_tokens(database_url: str, people: list[Person]) -> list[Person]:
    """A second, fresh session for each person (tokens are cheap; sessions idle out)."""
    engine = make_engine(database_url)
    with Session(engine, expire_on_commit=False) as db:
        out = [Person(p.user_id, p.patient_id, p.email, signed_in_token(db, db.get(models.User, p.user_id)),
                      p.thread_ids) for p in people]
    engine.dispose()
    return out


def analyze(database_url: str) -> None:
    """As autovacuum would soon after a real import: the PostgreSQL planner needs row counts."""
    if not database_url.startswith("postgresql"):
        return
    from sqlalchemy import text

    engine = make_engine(database_url)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()
