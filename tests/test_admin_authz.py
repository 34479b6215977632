"""The office's pages refuse anyone who isn't staff, in the services as well as the states.

Which roles may call which admin handler, driven with real sessions for every role
(patients and caregivers are sent away with one admin.refused each; signed-out
people go to sign in, unaudited), is the access matrix: tests/security/matrix.py
and tests/security/test_access_matrix.py, which find every handler by
introspection. Here: the non-admin staff case in detail, and every office service
called directly by a patient and a caregiver.
"""
from __future__ import annotations

import asyncio
import inspect

import pytest
import reflex as rx
from sqlmodel import select

from carespace_app.models import AuditEvent, UserSession
from carespace_app.pages import admin_pages  # noqa: F401  (imports every admin state)
from carespace_app.services import audit_log, invitations, labs, messaging, office_outbox, patients
from carespace_app.services import appointments, resources, staff
from carespace_app.services.errors import NotAllowed
from carespace_app.state.admin import AdminState
from carespace_app.state.session import Viewer

from .factories import make_practice
from .security.matrix import ADMIN_ONLY, MATRIX, STAFF


def _admin_states() -> list[type]:
    found, todo = [AdminState], [AdminState]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def test_every_admin_handler_is_for_the_office_in_the_matrix():
    for cls in _admin_states():
        for name in set(cls.event_handlers) - {"setvar"}:
            assert MATRIX.get((cls.__name__, name)) in (STAFF, ADMIN_ONLY), f"{cls.__name__}.{name}"


def _args(fn) -> list:
    """Plausible browser-sent arguments: a form for form handlers, an id for the rest."""
    args = []
    for name in list(inspect.signature(fn).parameters)[1:]:
        args.append({"query": "", "reply": "hello", "value": "1", "result_id": "1"} if name == "form"
                    else "up" if name == "direction" else "1")
    return args


def _run_handler(cls, name, viewer, monkeypatch):
    async def fake_viewer(self, touch=True):
        return viewer

    monkeypatch.setattr(AdminState, "_viewer", fake_viewer)
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(cls.get_full_name().split("."))
    fn = cls.event_handlers[name].fn
    asyncio.run(fn(state, *_args(fn)))
    return state


def _viewer_for(db, user, patient_id, relation) -> Viewer:
    session = UserSession(id=999_999, token_hash="x", user_id=user.id, expires_at=user.created_at)
    return Viewer(user=user, session=session, patient_id=patient_id, relation=relation,
                  client_ip="203.0.113.5")


@pytest.mark.parametrize("name", sorted(h for (s, h), e in MATRIX.items()
                                         if s == "AdminStaffState" and e == ADMIN_ONLY))
def test_staff_who_are_not_admins_are_refused_staff_accounts(db, monkeypatch, name):
    from carespace_app.state.admin_staff import AdminStaffState

    p = make_practice(db)
    nurse_id = p.staff.id
    viewer = _viewer_for(db, p.staff, None, None)
    state = _run_handler(AdminStaffState, name, viewer, monkeypatch)
    assert not state.navigate_to  # staff stay on the admin page, refused by the service
    assert state.members == []
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    assert [e.actor_user_id for e in refused] == [nurse_id]


def _service_calls(db, p, actor, clock):
    """Every office service behind an admin handler, called by ``actor``."""
    return {
        "patients.search": lambda: patients.search_patients(db, actor, "", clock=clock),
        "patients.create": lambda: patients.create_patient(
            db, actor, mrn="Z-1", first_name="A", last_name="B", date_of_birth=p.alice.date_of_birth,
            email="ab@example.test", clock=clock),
        "patients.get": lambda: patients.get_patient(db, actor, p.alice.id, clock=clock),
        "invitations.send": lambda: invitations.send_patient_invitation(db, p.alice.id, sent_by=actor,
                                                                        clock=clock),
        "messaging.queue": lambda: messaging.staff_queue(db, actor, clock=clock),
        "messaging.status": lambda: messaging.set_thread_status(db, actor, 1, "closed", clock=clock),
        "appointments.create": lambda: appointments.create_appointment(
            db, actor, p.alice.id, starts_at=clock(), duration_minutes=30,
            appointment_type="Office visit", provider="Dr. X", location="Suite 1", clock=clock),
        "appointments.cancel": lambda: appointments.cancel_appointment(db, actor, 1, clock=clock),
        "labs.enter": lambda: labs.enter_report(
            db, actor, p.alice.id, panel="CBC", collected_at=clock(), resulted_at=clock(),
            ordering_provider="Dr. X", results=[labs.ResultInput(test_name="WBC", value=5.0)], clock=clock),
        "labs.correct": lambda: labs.correct_result(db, actor, 1, value=1.0, clock=clock),
        "resources.create": lambda: resources.create_resource(db, actor, title="T",
                                                              url="https://example.org", clock=clock),
        "resources.delete": lambda: resources.delete_resource(db, actor, 1, clock=clock),
        "outbox.list": lambda: office_outbox.list_emails(db, actor, clock=clock),
        "outbox.retry": lambda: office_outbox.retry_email(db, actor, 1, clock=clock),
        "audit.list": lambda: audit_log.list_events(db, actor, clock=clock),
        "staff.list": lambda: staff.list_staff(db, actor, clock=clock),
        "staff.deactivate": lambda: staff.deactivate(db, actor, p.staff.id, clock=clock),
    }


@pytest.mark.parametrize("who", ["alice_user", "carer"])
def test_office_services_refuse_patients_and_caregivers(db, clock, who):
    p = make_practice(db)
    actor = getattr(p, who)
    calls = _service_calls(db, p, actor, clock)
    for label, call in calls.items():
        with pytest.raises(NotAllowed):
            call()
    refused = db.exec(select(AuditEvent).where(AuditEvent.action.in_(
        ("admin.refused", "access.refused")))).all()
    assert len(refused) == len(calls)
    assert {e.actor_user_id for e in refused} == {actor.id}
