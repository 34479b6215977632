"""The office's pages refuse anyone who isn't staff, in the services as well as the states.

Which roles may call which admin handler, driven with real sessions for every role
(patients and caregivers stay signed in and are told the page is for the office,
with one admin.refused each; signed-out people go to sign in, unaudited), is the access matrix: tests/security/matrix.py
and tests/security/test_access_matrix.py, which find every handler by
introspection. Here: the non-admin staff case in detail, and every office service
called directly by a patient and a caregiver.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import Optional
from urllib.parse import urlencode

import pytest
import reflex as rx
from reflex_base.event.context import EventContext
from sqlmodel import select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.models import AuditEvent, CaregiverGrant, Invitation, PatientAccess, UserSession
from carespace_app.pages import admin_pages  # noqa: F401  (imports every admin state)
from carespace_app.services.audit import office_log
from carespace_app.services.onboarding import invitations
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.mail import office_outbox
from carespace_app.services.records import patients
from carespace_app.services.records import appointments
from carespace_app.services.records import resources
from carespace_app.services.identity import sessions
from carespace_app.services.onboarding import staff
from carespace_app.services.errors import NotAllowed
from carespace_app.state.admin import AdminState

from .factories import make_practice
from .security.matrix import ADMIN_ONLY, MATRIX, STAFF

CLIENT_IP = "203.0.113.5"


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


def _signed_in(db, user) -> str:
    """A real session, made as sign-in makes it: the token the HttpOnly cookie carries."""
    ticket = sessions.start_session(db, user, clock=utcnow, client_ip=CLIENT_IP, user_agent="pytest")
    token = sessions.redeem_ticket(db, ticket, clock=utcnow)
    db.commit()  # the test is the unit of work: the handler's own session must see the session
    return token


async def _nothing(*_args, **_kwargs):
    return None


def _run_handler(cls, name, token: str, *, page: str = routes.ADMIN_STAFF,
                 query: Optional[dict] = None, args: Optional[list] = None):
    """Call the handler as the event loop does: a fresh tab whose Cookie header holds the
    session token, so the real session lookup decides who is acting."""
    root = rx.State(_reflex_internal_init=True)
    root.router_data = root._update_router_vars({
        "token": "client-authz", "sid": "sid-authz", "ip": CLIENT_IP,
        "headers": {"origin": "http://localhost:3000", "host": "localhost:3000",
                    "user-agent": "pytest", "cookie": f"{routes.SESSION_COOKIE}={token}"},
        "pathname": page, "query": query or {},
        "asPath": f"{page}?{urlencode(query)}" if query else page}, {})
    state = root.get_substate(cls.get_full_name().split(".")[1:])
    fn = cls.event_handlers[name].fn

    async def run():
        async with EventContext(token="authz", state_manager=None, enqueue_impl=_nothing):
            result = fn(state, *(_args(fn) if args is None else args))
            if inspect.isasyncgen(result):  # a handler that yields (a busy button) runs whole
                async for _ in result:
                    pass
            else:
                await result

    asyncio.run(run())
    return state


@pytest.mark.parametrize("name", sorted(h for (s, h), e in MATRIX.items()
                                         if s == "AdminStaffState" and e == ADMIN_ONLY))
def test_staff_who_are_not_admins_are_refused_staff_accounts(db, name):
    from carespace_app.state.admin_staff import AdminStaffState

    p = make_practice(db)
    nurse_id = p.staff.id
    state = _run_handler(AdminStaffState, name, _signed_in(db, p.staff))
    assert not state.navigate_to  # staff stay on the admin page, refused by the service
    assert not state.office_only  # and are not told the page is for the office
    assert state.members == []
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    assert [e.actor_user_id for e in refused] == [nurse_id]


def _grant_of(db, patient) -> CaregiverGrant:
    return db.exec(select(CaregiverGrant).where(CaregiverGrant.patient_id == patient.id)).one()


@pytest.mark.parametrize("name", ["send_caregiver_link", "revoke_caregiver"])
def test_a_patients_page_cannot_touch_another_patients_caregiver(db, name):
    """On Bob's page, a grant id of Alice's (sent by a tampered event) is an unknown one."""
    from carespace_app.state.admin_patient import AdminPatientState

    p = make_practice(db)
    alices = _grant_of(db, p.alice)
    nurse_id, grant_id = p.staff.id, alices.id
    state = _run_handler(AdminPatientState, name, _signed_in(db, p.staff),
                         page=routes.ADMIN_PATIENT, query={"id": str(p.bob.id)},
                         args=[str(grant_id)])
    assert state.flash.get("kind") == "error"
    db.expire_all()
    assert db.get(CaregiverGrant, grant_id).revoked_at is None
    assert db.exec(select(PatientAccess).where(PatientAccess.patient_id == p.alice.id,
                                               PatientAccess.revoked_at.is_not(None))).all() == []
    assert db.exec(select(Invitation)).all() == []  # no new link was sent
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).all()
    assert [e.actor_user_id for e in refused] == [nurse_id]


def test_view_as_patient_opens_that_patients_portal_in_this_tab(db):
    from carespace_app.state.admin_patient import AdminPatientState

    p = make_practice(db)
    nurse_id, alice_id = p.staff.id, p.alice.id
    token = _signed_in(db, p.staff)
    state = _run_handler(AdminPatientState, "view_as_patient", token, page=routes.ADMIN_PATIENT,
                         query={"id": str(alice_id)}, args=[])
    assert state.navigate_to.startswith(f"{routes.HOME}?")
    assert state._tab_patient_id == alice_id
    db.expire_all()
    session = db.exec(select(UserSession).where(UserSession.user_id == nurse_id)).one()
    assert session.active_patient_id == alice_id
    viewed = db.exec(select(AuditEvent).where(AuditEvent.action == "portal.viewed_as_patient")).all()
    assert [(e.actor_user_id, e.patient_id) for e in viewed] == [(nurse_id, alice_id)]


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
        "audit.list": lambda: office_log.list_events(db, actor, clock=clock),
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
    # Every attempt counted (repeats share a row: tests/test_audit_flood.py).
    assert sum(e.repeat_count for e in refused) == len(calls)
    assert {e.actor_user_id for e in refused} == {actor.id}
