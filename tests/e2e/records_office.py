"""What the office does to a record while the admin page is still being built.

The e2e stories need a staff reply, appointments and lab reports. Until the admin
page can make them in the browser, these helpers call the same service functions
the admin page will call, as the staff member the test made with the CLI, against
the running server's own database. Access checks, audit and the notification
emails (delivered by the server's outbox sender over real SMTP) all run for real.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

from sqlmodel import Session, select

from carespace_app.clock import utcnow
from carespace_app.db import make_engine, session_scope
from carespace_app.models import MessageThread, Patient, User
from carespace_app.services.records import appointments
from carespace_app.services.records import labs
from carespace_app.services.records import messaging

from .harness import Server
from .people import Person


@contextmanager
def office(server: Server) -> Iterator[Session]:
    engine = make_engine(server.env["REFLEX_DB_URL"])
    try:
        with session_scope(engine) as db:  # one unit of work, as the admin page's would be
            yield db
    finally:
        engine.dispose()


def _user(db: Session, person: Person) -> User:
    return db.exec(select(User).where(User.email == person.email)).one()


def _patient_id(db: Session, patient: Person) -> int:
    return db.exec(select(Patient.id).where(Patient.mrn == patient.mrn)).one()


def staff_reply(server: Server, staff: Person, patient: Person, subject: str, body: str) -> None:
    """Staff answer the patient's conversation with this subject."""
    with office(server) as db:
        thread_id = db.exec(select(MessageThread.id).where(
            MessageThread.patient_id == _patient_id(db, patient),
            MessageThread.subject == subject)).one()
        messaging.reply(db, _user(db, staff), thread_id, body=body, client_key=None, clock=utcnow)


def book(server: Server, staff: Person, patient: Person, *, in_days: float, kind: str,
         provider: str, location: str, instructions: str = "") -> int:
    starts = (utcnow() + timedelta(days=in_days)).replace(second=0, microsecond=0)
    with office(server) as db:
        return appointments.create_appointment(
            db, _user(db, staff), _patient_id(db, patient), starts_at=starts, duration_minutes=45,
            appointment_type=kind, provider=provider, location=location,
            instructions=instructions, clock=utcnow)


def enter_report(server: Server, staff: Person, patient: Person, *, days_ago: float, panel: str,
                 results: list[labs.ResultInput]) -> int:
    collected = utcnow() - timedelta(days=days_ago)
    with office(server) as db:
        return labs.enter_report(
            db, _user(db, staff), _patient_id(db, patient), panel=panel, collected_at=collected,
            resulted_at=collected + timedelta(hours=6) if days_ago > 1 else collected,
            ordering_provider="Dr. Lena Park", results=results, clock=utcnow)


def wbc(value: float) -> labs.ResultInput:
    return labs.ResultInput(test_name="White blood cells", value=value, unit="K/uL",
                            ref_low=4.0, ref_high=11.0, critical_low=1.0, critical_high=30.0)


def hemoglobin(value: float) -> labs.ResultInput:
    return labs.ResultInput(test_name="Hemoglobin", value=value, unit="g/dL", ref_low=12.0,
                            ref_high=16.0)

