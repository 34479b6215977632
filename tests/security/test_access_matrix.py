"""The generated access matrix: every event handler of every Reflex State, called as every role.

The handlers are found by introspection (every subclass of Reflex's BaseState once
the app is imported, Reflex's own internal states and the built-in ``setvar``
included), so a new handler fails ``test_every_handler_has_a_matrix_entry`` until
``tests/security/matrix.py`` says what each role may do with it.

Each case runs the handler the way the event loop does: a fresh state tree whose
router data carries a ``Cookie`` header with a real session token (made by the
sessions service), so ``SessionState._viewer`` does the real lookup — revocation,
deactivation, the caregiver relation — on every call. The arguments are ids that
belong to someone else: B's ids for patient A and A's caregiver, A's ids for
everyone else. What is checked per outcome is described in matrix.py.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Optional

import pytest
from reflex.state import BaseState, State
from reflex_base.event.context import EventContext
from sqlalchemy import func, or_, select
from sqlmodel import Session, SQLModel

import carespace_app.carespace_app  # noqa: F401  (registers every page, so every state)
from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app import timefmt
from carespace_app.models import AuditEvent, Checkin, LabResult, UserSession
from carespace_app.services.records import checkins, symptoms
from carespace_app.services.records import appointments
from carespace_app.services.permissions import caregivers
from carespace_app.services.records import labs, result_release
from carespace_app.services.records import messaging
from carespace_app.services.records import resources
from carespace_app.services.identity import sessions
from carespace_app.services.errors import NotAllowed
from carespace_app.state.admin import AdminState
from carespace_app.state.admin_appointments import OfficeAppointmentRow
from carespace_app.state.admin_messages import OpenThread
from carespace_app.state.admin_resources import LinkRow
from carespace_app.state.checkin import QuestionRow
from carespace_app.services.identity import security
from carespace_app.state.session import SessionState
from tests.conftest import _truncate
from tests.tabs import _nothing, drive
from tests.factories import (
    PASSWORD, grant_caregiver, make_patient, make_staff, patient_user, revoke_caregiver,
)

from .matrix import (
    ALLOWED, AUDITED, DISPLAY, LIMITED_ROLES, MATRIX, PUBLIC, REFUSED, ROLES, SENT_AWAY,
    SIGNED_OUT, SetVar,
)

CLIENT_IP = "203.0.113.9"
REFUSALS = ("access.refused", "admin.refused")
# A signed-out flow may record a failed sign-in, a reset request and its email; nothing else.
PUBLIC_TABLES = {"sign_in_failures", "password_resets", "outbox_emails"}


# --- introspection ---------------------------------------------------------------------


def all_states() -> list[type[BaseState]]:
    found, todo = [], [BaseState]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def enumerated_pairs() -> dict[tuple[str, str], type[BaseState]]:
    pairs = {}
    for cls in all_states():
        for name in cls.event_handlers:
            pairs[(cls.__name__, name)] = cls
    return pairs


STATES = {cls.__name__: cls for cls in all_states()}
PAIRS = enumerated_pairs()


def test_state_names_are_unique():
    names = [cls.__name__ for cls in all_states()]
    assert len(names) == len(set(names)), "two states share a name: key the matrix by module too"


def test_every_handler_has_a_matrix_entry():
    missing = sorted(set(PAIRS) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(PAIRS))
    assert not missing, (
        "handlers with no access-matrix entry (every public method of a State is callable from "
        "the browser): add to MATRIX in tests/security/matrix.py, e.g.\n"
        + "\n".join(f'    ("{s}", "{h}"): PORTAL,  # or STAFF, PATIENT_ONLY, same(DISPLAY), ...'
                    for s, h in missing))
    assert not stale, f"matrix entries for handlers that no longer exist (remove them): {stale}"


def test_the_matrix_covers_reflex_internals_and_every_setvar():
    assert ("UpdateVarsInternalState", "update_vars_internal") in PAIRS
    assert ("OnLoadInternalState", "on_load_internal") in PAIRS
    assert ("FrontendEventExceptionState", "handle_frontend_exception") in PAIRS
    for cls in all_states():
        if "setvar" in cls.event_handlers:
            assert isinstance(MATRIX.get((cls.__name__, "setvar")), SetVar), cls.__name__


# --- the practice: two patients, a caregiver, a revoked caregiver, staff, an administrator ---


@dataclass
class Ids:
    """One patient's record: what a foreign caller aims at, and what must never leak."""

    patient: int
    email: str
    thread: int
    result: int
    test_name: str
    appointment: int
    grant: int
    outbox_email: int
    markers: list[str]
    checkin: int = 0
    held_report: int = 0  # a lab report held by a clinician (issue #16)


@dataclass
class World:
    a: Ids
    b: Ids
    tokens: dict[str, Optional[str]]
    users: dict[str, Optional[int]]
    resource: int
    staff_id: int
    admin_id: int
    baseline: dict = field(default_factory=dict)
    fingerprint: Optional[dict] = None
    audit_high: int = 0  # the newest audit event before the case
    counted: dict = field(default_factory=dict)  # id -> repeat_count of rows counted more than once


def _records(db, patient, patient_account, staff, tag: str, test_name: str) -> dict:
    """A conversation with a reply, a lab report, a visit and a pending caregiver invitation."""
    now = utcnow()
    thread = messaging.start_thread(db, patient_account, patient.id, category="Billing",
                                    subject=f"{tag} subject line", body=f"{tag} message body",
                                    client_key=None, clock=utcnow)
    messaging.reply(db, staff, thread, body=f"{tag} care team reply", client_key=None, clock=utcnow)
    labs.enter_report(db, staff, patient.id, panel=f"{tag} panel", collected_at=now - timedelta(days=3),
                      resulted_at=now - timedelta(days=2), ordering_provider=f"Dr. {tag} Park",
                      results=[labs.ResultInput(test_name=test_name, value=6.1, unit=f"{tag}-unit",
                                                ref_low=3.5, ref_high=5.0)], clock=utcnow)
    result = db.exec(select(LabResult.id).where(LabResult.patient_id == patient.id)).first()[0]
    # A report held until reviewed (issue #16): its values reach no patient-side state.
    held = labs.enter_report(
        db, staff, patient.id, panel=f"{tag} held panel", collected_at=now - timedelta(days=1),
        resulted_at=now - timedelta(hours=2), ordering_provider=f"Dr. {tag} Park",
        results=[labs.ResultInput(test_name=f"{tag}-CA-125", value=88, unit="U/mL", ref_high=35)],
        category="Tumour markers", clock=utcnow,
        hold=result_release.ClinicianHold(reason=result_release.CLINICIAN_HOLD_REASONS[0],
                                          note=f"{tag} hold note",
                                          release_on=timefmt.to_local(now).date() + timedelta(days=3)))
    visit = appointments.create_appointment(
        db, staff, patient.id, starts_at=now + timedelta(days=3), duration_minutes=30,
        appointment_type="Office visit", provider=f"Dr. {tag} Lee", location=f"{tag} suite 4",
        instructions=f"{tag} bring your medication list", clock=utcnow)
    caregivers.grant_access(db, patient_account, patient.id, name=f"Pending {tag} Friend",
                             email=f"friend.{tag.lower()}@example.org", clock=utcnow)
    # Symptom check-ins from today: the first one is open (issue #15).
    checkins.enrol(db, staff, patient.id, every_days=7, starts_on=timefmt.to_local(now).date(),
                   ends_on=None, keys=symptoms.DEFAULT_KEYS, clock=utcnow)
    checkin = db.exec(select(Checkin.id).where(Checkin.patient_id == patient.id)).first()[0]
    return dict(thread=thread, result=result, appointment=visit, checkin=checkin, held=held)


def _signed_in(db, user) -> str:
    ticket = sessions.start_session(db, user, clock=utcnow, client_ip=CLIENT_IP, user_agent="pytest")
    return sessions.redeem_ticket(db, ticket, clock=utcnow)


def build_world(engine) -> World:
    from carespace_app.models import CaregiverGrant, OutboxEmail

    _truncate(engine)
    with Session(engine, expire_on_commit=False) as db:
        alice = make_patient(db, first_name="Alice", last_name="Qxa-Moreno",
                             email="alice.qxa@example.com", mrn="QXA-00001")
        bob = make_patient(db, first_name="Bob", last_name="Qxb-Lindqvist",
                           email="bob.qxb@example.org", mrn="QXB-00002")
        alice_user, bob_user = patient_user(db, alice), patient_user(db, bob)
        carer = grant_caregiver(db, alice, full_name="Carla Qxa-Helper", email="carla.qxa@example.com")
        former = grant_caregiver(db, alice, full_name="Rita Former", email="rita@example.com")
        # Issue #17: Alice limited what these two see.
        limited = grant_caregiver(db, alice, full_name="Lena Limited", email="lena@example.com",
                                  scope="appointments")
        labs_carer = grant_caregiver(db, alice, full_name="Lars Labs", email="lars@example.com",
                                     scope="appointments_labs")
        staff = make_staff(db, full_name="Nora Quinn", email="nora@example.com")
        admin = make_staff(db, full_name="Ada Lovell", email="ada@example.com", is_admin=True)
        rec_a = _records(db, alice, alice_user, staff, "Qxa", "Qxa-Potassium")
        rec_b = _records(db, bob, bob_user, staff, "Qxb", "Qxb-Potassium")
        resource = resources.create_resource(db, staff, title="Cancer support group",
                                             url="https://example.org/support", clock=utcnow)
        tokens = {"anonymous": None, "patient_a": _signed_in(db, alice_user),
                  "patient_b": _signed_in(db, bob_user), "caregiver": _signed_in(db, carer),
                  "revoked_caregiver": _signed_in(db, former), "staff": _signed_in(db, staff),
                  "admin": _signed_in(db, admin), "limited_caregiver": _signed_in(db, limited),
                  "labs_caregiver": _signed_in(db, labs_carer)}
        # Revoked after signing in: the open tab still holds a live session.
        revoke_caregiver(db, alice, former)
        # Earlier attempts on each other's records: refused, and in the audit trail.
        for actor, thread in ((bob_user, rec_a["thread"]), (alice_user, rec_b["thread"]),
                              (carer, rec_b["thread"])):
            with pytest.raises(NotAllowed):
                messaging.open_thread(db, actor, thread, clock=utcnow)
        db.commit()  # the world is built: the test is its unit of work

        def ids(patient, rec, test_name, markers) -> Ids:
            grant = db.exec(select(CaregiverGrant.id).where(CaregiverGrant.patient_id == patient.id)
                            .order_by(CaregiverGrant.id)).first()[0]
            mail = db.exec(select(OutboxEmail.id).where(OutboxEmail.patient_id == patient.id)
                           .order_by(OutboxEmail.id)).first()[0]
            return Ids(patient=patient.id, email=patient.email, thread=rec["thread"],
                       result=rec["result"], test_name=test_name, appointment=rec["appointment"],
                       grant=grant, outbox_email=mail, markers=markers, checkin=rec["checkin"],
                       held_report=rec["held"])

        def markers(tag: str, patient, extra=()) -> list[str]:
            return [patient.last_name, patient.mrn, patient.email, f"{tag} subject line",
                    f"{tag} message body", f"{tag} care team reply", f"{tag} panel",
                    f"Dr. {tag} Park", f"{tag}-Potassium", f"{tag}-unit", f"Dr. {tag} Lee",
                    f"{tag} suite 4", f"{tag} bring your medication list", f"Pending {tag} Friend",
                    f"friend.{tag.lower()}@example.org", f"{tag} held panel", f"{tag}-CA-125",
                    f"{tag} hold note", *extra]

        world = World(
            a=ids(alice, rec_a, "Qxa-Potassium", markers("Qxa", alice, ("Carla Qxa-Helper",))),
            b=ids(bob, rec_b, "Qxb-Potassium", markers("Qxb", bob)),
            tokens=tokens,
            users={"anonymous": None, "patient_a": alice_user.id, "patient_b": bob_user.id,
                   "caregiver": carer.id, "revoked_caregiver": former.id, "staff": staff.id,
                   "admin": admin.id, "limited_caregiver": limited.id,
                   "labs_caregiver": labs_carer.id},
            resource=resource, staff_id=staff.id, admin_id=admin.id)
    world.baseline = dump(engine, audit=True)
    world.fingerprint = fingerprint(engine)
    mark_audit(engine, world)
    return world


# --- what changed: every row, and whose it is ----------------------------------------------

TABLES = list(SQLModel.metadata.sorted_tables)
AUDIT_TABLE = AuditEvent.__tablename__


def dump(engine, audit: bool = False) -> dict[str, list[tuple]]:
    """Every row of every table; the audit trail only when asked (for restoring)."""
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for t in TABLES if audit or t.name != AUDIT_TABLE}


def _comparable(table: str, rows: list[tuple]) -> list[tuple]:
    if table == UserSession.__tablename__:  # a session touched by a click is not a change
        seen = _column(table, "last_seen_at")
        return [r[:seen] + r[seen + 1:] for r in rows]
    return rows


def _column(table: str, name: str) -> int:
    return list(SQLModel.metadata.tables[table].columns.keys()).index(name)


def changed(before: dict, after: dict) -> set[tuple[str, str]]:
    """(table, owner) of every row added, removed or changed, the audit trail aside. Owner:
    "p<id>" (a patient's record), "u<id>" (an account's own rows) or "office"."""
    moved = set()
    threads = {r[0]: r[_column("message_threads", "patient_id")]
               for r in before["message_threads"] + after["message_threads"]}
    session_users = {r[0]: r[_column("user_sessions", "user_id")]
                     for r in before["user_sessions"] + after["user_sessions"]}
    accounts = {r[_column("users", "email")]: r[0] for r in before["users"] + after["users"]}
    for t in TABLES:
        if t.name == AUDIT_TABLE:
            continue
        old, new = _comparable(t.name, before[t.name]), _comparable(t.name, after[t.name])
        if old == new:
            continue
        columns = list(t.columns.keys())
        if t.name == UserSession.__tablename__:
            columns.remove("last_seen_at")
        for row in set(old) ^ set(new):
            values = dict(zip(columns, row))
            if t.name == "patients":
                owner = f"p{values['id']}"
            elif t.name == "users":
                owner = f"u{values['id']}"
            elif values.get("patient_id") is not None:
                owner = f"p{values['patient_id']}"
            elif values.get("thread_id") is not None:
                owner = f"p{threads.get(values['thread_id'])}"
            elif values.get("user_id") is not None:
                owner = f"u{values['user_id']}"
            elif values.get("session_id") is not None:
                owner = f"u{session_users.get(values['session_id'])}"
            elif t.name == "outbox_emails":
                # An email that is no patient's: the account it goes to, or an address
                # that is nobody's (a new address being confirmed, an invitee).
                account = accounts.get(values["to_address"])
                owner = f"u{account}" if account else "nobody"
            else:
                owner = "office"
            moved.add((t.name, owner))
    return moved


def restore(engine, rows: dict[str, list[tuple]]) -> None:
    """Put every table back as it was (one transaction: far cheaper than building again)."""
    with engine.begin() as conn:
        for t in reversed(TABLES):
            conn.execute(t.delete())
        for t in TABLES:
            if rows[t.name]:
                keys = list(t.columns.keys())
                conn.execute(t.insert(), [dict(zip(keys, r)) for r in rows[t.name]])


def fingerprint(engine) -> Optional[dict]:
    """On PostgreSQL, one round trip that says whether any table changed (a dump is ~20)."""
    if engine.dialect.name != "postgresql":
        return None
    sql = " UNION ALL ".join(
        f"SELECT '{t.name}', md5(coalesce(string_agg((to_jsonb(x) - 'last_seen_at')::text, ',' "
        f"ORDER BY (to_jsonb(x) - 'last_seen_at')::text), '')) FROM \"{t.name}\" x"
        for t in TABLES if t.name != AUDIT_TABLE)
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql(sql).all())


def current(engine, world: World) -> dict:
    """The rows now: the baseline itself when the fingerprint says nothing changed."""
    if world.fingerprint is not None and fingerprint(engine) == world.fingerprint:
        return world.baseline
    return dump(engine)


def _audit_rows(engine, after_id: int) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(AuditEvent.id, AuditEvent.action, AuditEvent.actor_user_id, AuditEvent.detail,
                   AuditEvent.repeat_count)
            .where(or_(AuditEvent.id > after_id, AuditEvent.repeat_count > 1))
            .order_by(AuditEvent.id)).all()


def new_audit(engine, world: World) -> list[tuple[int, str, Optional[int], str]]:
    """The events since the last mark: new rows, and refusals counted again on an older row
    (a refusal repeated within its window counts up its first row; services/audit/trail.py)."""
    rows = _audit_rows(engine, world.audit_high)
    fresh = [r for r in rows if r.id > world.audit_high or r.repeat_count > world.counted.get(r.id, 1)]
    world.audit_high = max([world.audit_high] + [r.id for r in rows])
    world.counted = {r.id: r.repeat_count for r in rows if r.repeat_count > 1}
    return [tuple(r[:4]) for r in fresh]


def mark_audit(engine, world: World) -> None:
    """Everything in the audit trail now counts as before the next case."""
    world.audit_high = last_audit_id(engine)
    world.counted = {r.id: r.repeat_count for r in _audit_rows(engine, world.audit_high)}


def last_audit_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.max(AuditEvent.id), 0))).scalar_one()


# --- running one handler the way the event loop does ---------------------------------------


def target(world: World, role: str) -> Ids:
    """Whose ids the role is given: always someone else's."""
    return world.b if role in ("patient_a", "caregiver", *LIMITED_ROLES) else world.a


# Patient A's markers of an area a limited caregiver's access leaves out (build_world's markers).
MESSAGE_MARKERS = ("Qxa subject line", "Qxa message body", "Qxa care team reply")
LAB_MARKERS = ("Qxa panel", "Qxa-Potassium", "Qxa-unit", "Qxa held panel", "Qxa-CA-125",
               "Qxa hold note")


def foreign_markers(world: World, role: str) -> list[str]:
    return {"anonymous": world.a.markers + world.b.markers,
            "patient_a": world.b.markers, "patient_b": world.a.markers,
            "caregiver": world.b.markers,
            "revoked_caregiver": world.a.markers + world.b.markers,
            "limited_caregiver": world.b.markers + list(MESSAGE_MARKERS + LAB_MARKERS),
            "labs_caregiver": world.b.markers + list(MESSAGE_MARKERS),
            "staff": [], "admin": []}[role]


def own_owners(world: World, role: str) -> Optional[set[str]]:
    """Whose rows an allowed action of this role may change (None: anyone's, the office)."""
    uid = world.users[role]
    return {"anonymous": set(),
            "patient_a": {f"p{world.a.patient}", f"u{uid}", "nobody"},
            "patient_b": {f"p{world.b.patient}", f"u{uid}", "nobody"},
            "caregiver": {f"p{world.a.patient}", f"u{uid}", "nobody"},
            "limited_caregiver": {f"p{world.a.patient}", f"u{uid}", "nobody"},
            "labs_caregiver": {f"p{world.a.patient}", f"u{uid}", "nobody"},
            "revoked_caregiver": {f"u{uid}", "nobody"},
            "staff": None, "admin": None}[role]


def a_form(world: World, role: str, ids: Ids) -> dict[str, str]:
    """One plausible form for every form handler, each field aimed at someone else."""
    other_member = world.admin_id if role == "staff" else world.staff_id
    return {
        # messages
        "category": "Billing", "subject": "Can you check this?", "body": "Please look.",
        "reply": "Replying here.", "patient_id": str(ids.patient), "thread_id": str(ids.thread),
        "user_id": str(ids.patient),
        # sign in, register, reset, settings
        "email": ids.email, "password": "Wrong-Guess-Horse-9!", "confirm_password": "Wrong-Guess-Horse-9!",
        "date_of_birth": "1958-03-14", "terms": "on",
        "current_password": PASSWORD, "new_email": "fresh.address@example.com",
        "new_password": "Amber-Falcon-Lantern-73!", "confirm_new_password": "Amber-Falcon-Lantern-73!",
        # Manage Users (issue #17: what they see; "Change access" names someone else's grant)
        "name": "Trusted Person", "scope": "full", "grant_id": str(ids.grant),
        # admin: patients
        "query": "", "mrn": "NEW-77001", "first_name": "Newly", "last_name": "Registered",
        "phone": "479-555-0101",
        # admin: appointments
        "start_date": (utcnow() + timedelta(days=9)).strftime("%Y-%m-%d"), "start_time": "10:30",
        "duration_minutes": "30", "appointment_type": "Office visit", "provider": "Dr. Staff",
        "location": "Suite 2", "instructions": "Arrive early.",
        # admin: labs
        "panel": "Chemistry", "collected_at": "2026-01-05T09:00", "resulted_at": "2026-01-05T15:00",
        "ordering_provider": "Dr. Staff", "test_0": "Sodium", "value_0": "140", "unit_0": "mmol/L",
        "low_0": "135", "high_0": "145", "result_id": str(ids.result), "value": "4.2",
        # admin: resources, staff, outbox, audit, message filters
        "title": "Nutrition during treatment", "url": "https://example.org/nutrition",
        "description": "Eating well.", "full_name": "New Staffer", "is_admin": "on",
        "member_id": str(other_member), "status": "sent", "unread_only": "", "actor_email": "",
        "action": "", "from_day": "", "to_day": "",
        # admin: a patient's check-ins
        "every_days": "14", "starts_on": utcnow().strftime("%Y-%m-%d"), "ends_on": "",
        "symptom_pain": "on", "symptom_fever": "on",
        # Download my record, Print record (PDF): a range, messages in, the format to email
        "start": (utcnow() - timedelta(days=30)).strftime("%Y-%m-%d"),
        "end": (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d"), "messages": "on",
        "format": "pdf",
    }


def arguments(world: World, role: str, fn, state_name: str) -> dict[str, Any]:
    ids = target(world, role)
    member = world.admin_id if role == "staff" else world.staff_id
    by_name = {
        "thread_id": str(ids.thread), "test_name": ids.test_name, "is_open": True,
        "grant_id": str(ids.grant), "patient_id": str(ids.patient),
        "appointment_id": str(ids.appointment), "resource_id": str(world.resource),
        "email_id": str(ids.outbox_email), "member_id": str(member), "direction": "up",
        "form": a_form(world, role, ids), "info": "TypeError: x is undefined",
        "component_stack": "at Page", "hashes": [],
        # the check-in: an answer's position, a symptom of the history
        "index": 0, "key": "pain",
        # Download my record: the form's button (email: the record leaves the practice)
        "button": "email",
        # results on the patient's terms (issue #16)
        "report_id": str(ids.held_report), "category": "Tumour markers", "mode": "hold",
        "days": "3",
        # a share link: an id that names no link of this tab's patient (refused, audited)
        "link_id": str(ids.grant),
        # the language switch: it saves to the caller's own account only
        "lang": "es",
        # the office's two-step reset on a patient's page: an account not linked to it
        "user_id": str(member),
    }
    kwargs = {}
    for name, param in list(inspect.signature(fn).parameters.items())[1:]:
        if name == "vars":
            kwargs[name] = security_var_updates()
        elif name == "value":
            annotation = str(param.annotation)
            kwargs[name] = True if "bool" in annotation else 0 if "int" in annotation else "password"
        else:
            assert name in by_name, f"{state_name}.{fn.__name__} takes {name!r}: add a foreign value"
            kwargs[name] = by_name[name]
    return kwargs


def preset(state, world: World, role: str) -> None:
    """Vars a handler reads an id from are forced to someone else's record (the browser cannot
    set them — see the setvar test — but the handler must not rely on that alone)."""
    ids = target(world, role)
    name = type(state).__name__
    if name == "MessagesState":
        state.thread_id, state._reply_key, state._compose_key = str(ids.thread), "key-1", "key-2"
    elif name == "AdminMessagesState":
        state.thread, state._reply_key = OpenThread(id=str(ids.thread)), "key-3"
    elif name == "AdminAppointmentsState":
        state.editing = OfficeAppointmentRow(id=str(ids.appointment))
    elif name == "AdminResourcesState":
        state.editing = LinkRow(id=str(world.resource))
    elif name == "CheckinState":
        # A form on screen whose check-in is someone else's, every question answered.
        state.mode, state._checkin_id = "form", ids.checkin
        state.questions = [QuestionRow(key=k, words=list(symptoms.BY_KEY[k].words))
                           for k in symptoms.DEFAULT_KEYS]
        state.answers = [0] * len(symptoms.DEFAULT_KEYS)


def router_data(world: World, role: str) -> dict:
    ids = target(world, role)
    headers = {"origin": "http://localhost:3000", "user-agent": "pytest",
               "host": "localhost:3000"}
    if world.tokens[role]:
        headers["cookie"] = f"theme=light; {routes.SESSION_COOKIE}={world.tokens[role]}"
    query = {"id": str(ids.patient), "thread": str(ids.thread), "token": "not-a-real-link-token",
             "reason": "expired"}
    return {"token": f"client-{role}", "sid": f"sid-{role}", "ip": CLIENT_IP, "headers": headers,
            "pathname": routes.MESSAGES, "query": query,
            "asPath": f"{routes.MESSAGES}?thread={ids.thread}&id={ids.patient}"}


def new_tree(data: dict) -> State:
    root = State(_reflex_internal_init=True)
    root.router_data = root._update_router_vars(data, {})
    return root


def displayed(root: State) -> str:
    """The tree as sent to the browser, less the one sentence that may name a patient the person
    can no longer see: "Your access to <name>'s portal has ended" (state/access_page.py)."""
    from carespace_app.state.access_page import AccessState

    shown = json.dumps(root.dict(), default=str)
    ended = substate(root, AccessState)
    for text in (ended.title, ended.text, ended.ended_patient_name):
        if text:
            shown = shown.replace(json.dumps(text)[1:-1], "")
    return shown.casefold()


def tab_of(engine, world: World, role: str, root: State) -> None:
    """The tab as its page load left it: bound to the role's session and to the patient it
    showed (a revoked caregiver's tab still shows patient A, whose access has since ended)."""
    token = world.tokens[role]
    if not token:
        return
    with engine.connect() as conn:
        session_id = conn.execute(select(UserSession.id).where(
            UserSession.token_hash == security.token_hash(token))).scalar_one()
    shown = {"patient_a": world.a.patient, "patient_b": world.b.patient, "caregiver": world.a.patient,
             "revoked_caregiver": world.a.patient, "limited_caregiver": world.a.patient,
             "labs_caregiver": world.a.patient}.get(role, 0)
    base = substate(root, SessionState)
    base._tab_session_id, base._tab_patient_id = session_id, shown


def reachable(cls) -> bool:
    try:
        substate(State(_reflex_internal_init=True), cls)
    except ValueError:
        return False
    return True


def substate(root: State, cls: type[BaseState]) -> BaseState:
    return root if cls is State else root.get_substate(cls.get_full_name().split(".")[1:])


def call(root: State, cls, handler: str, kwargs: dict) -> list:
    state = substate(root, cls)
    fn = cls.event_handlers[handler].fn

    async def run():
        async with EventContext(token="matrix", state_manager=None, enqueue_impl=_nothing):
            return await drive(fn(state, **kwargs))

    return asyncio.run(run())


def navigations(root: State, events: list) -> list[str]:
    """Where the tab is sent: SessionState.navigate_to of every state, and returned redirects."""
    found = sorted({s.navigate_to for s in _tree(root) if isinstance(s, SessionState) and s.navigate_to})
    for event in events:
        for _key, value in getattr(event, "args", ()) or ():
            text = str(getattr(value, "_var_value", value))
            if text.strip('"').startswith("/"):
                found.append(text.strip('"'))
    return found


def _tree(state: BaseState):
    yield state
    for sub in state.substates.values():
        yield from _tree(sub)


def to_sign_in(paths: list[str]) -> bool:
    return any(p.startswith(routes.AUTH_SIGN_OUT) or p.split("?")[0] == routes.SIGN_IN for p in paths)


# --- the cases --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(engine):
    return build_world(engine)


def _cases():
    for (state_name, handler), entry in sorted(MATRIX.items()):
        if isinstance(entry, SetVar) or (state_name, handler) not in PAIRS:
            continue
        for role in ROLES:
            yield pytest.param(state_name, handler, role, entry[role],
                               id=f"{state_name}.{handler}-{role}")


@pytest.mark.parametrize("state_name,handler,role,outcome", list(_cases()))
def test_matrix(engine, world, state_name, handler, role, outcome):
    cls = PAIRS[(state_name, handler)]
    uid = world.users[role]
    after = None
    if not reachable(cls):
        # Not in the app's state tree (a base for per-component states): no event can name it.
        with pytest.raises(ValueError):
            substate(State(_reflex_internal_init=True), cls)
        return
    try:
        root = new_tree(router_data(world, role))
        tab_of(engine, world, role, root)
        preset(substate(root, cls), world, role)
        kwargs = arguments(world, role, cls.event_handlers[handler].fn, state_name)
        before = world.baseline

        events = call(root, cls, handler, kwargs)  # a raise is a failure (the user sees an error)

        after = current(engine, world)
        rows = new_audit(engine, world)
        audit = [r[1:] for r in rows]
        paths = navigations(root, events)
        shown = displayed(root)
        sent = json.dumps(kwargs, default=str).casefold()
        where = f"{state_name}.{handler} as {role} ({outcome})"

        # Nothing of a record this role may not see reaches its tab (what it sent aside).
        leaked = [m for m in foreign_markers(world, role)
                  if m.casefold() in shown and m.casefold() not in sent]
        assert not leaked, f"{where}: another patient's data in the state: {leaked}"
        moved = changed(before, after)
        if role == "revoked_caregiver":
            # The tab's first event that looks the session up makes it forget patient A,
            # audited on A's trail (services/permissions/tab_access.py resolve_tab): the caller's own
            # session row, and one audit row of its own, whatever the handler then does.
            moved = {key for key in moved if key != ("user_sessions", f"u{uid}")}
            forgot = [e for e in audit if e[2] == REVOKED_TAB]
            assert forgot in ([], [("access.refused", uid, REVOKED_TAB)]), f"{where}: {audit}"
            audit = [e for e in audit if e[2] != REVOKED_TAB]
        refusals = [(a, actor) for a, actor, _ in audit if a in REFUSALS]

        if outcome == ALLOWED:
            owners = own_owners(world, role)
            if owners is not None:
                foreign = {key for key in moved if key[1] not in owners}
                assert not foreign, f"{where}: changed rows that are not this person's: {foreign}"
            assert not refusals, f"{where}: refused ({audit})"
            wanted = AUDITED.get((state_name, handler), {}).get(role)
            if wanted:
                assert (wanted, uid) in [(a, actor) for a, actor, _ in audit], f"{where}: {audit}"
            if handler != "sign_out":  # signing out goes to the sign-out route, as it should
                assert not to_sign_in(paths), f"{where}: sent to sign in ({paths})"
        elif outcome == REFUSED:
            assert not moved, f"{where}: a refused call changed {moved}"
            assert uid is not None and any(actor == uid for _a, actor in refusals), \
                f"{where}: refusal not audited: {audit}"
            assert all(actor == uid for _a, actor in refusals), f"{where}: {audit}"
            if issubclass(cls, AdminState):
                # The office's door: one admin.refused; the person stays signed in and the
                # page says it is for the office.
                if role != "staff":
                    assert [(a, actor) for a, actor, _ in audit] == [("admin.refused", uid)], where
                    assert substate(root, SessionState).office_only, f"{where}: no office-only page"
                assert not to_sign_in(paths), f"{where}: sent to sign in ({paths})"
        elif outcome == SENT_AWAY:
            assert not moved, f"{where}: changed {moved}"
            assert not refusals, f"{where}: {audit}"
            assert not to_sign_in(paths), f"{where}: sent to sign in ({paths})"
            assert any(p.split("?")[0] in (routes.ACCESS, routes.ADMIN) for p in paths), \
                f"{where}: not sent to choose a portal ({paths})"
        elif outcome == SIGNED_OUT:
            assert not moved, f"{where}: changed {moved}"
            assert to_sign_in(paths), f"{where}: not sent to sign in ({paths})"
            if role == "anonymous":
                assert audit == [], f"{where}: {audit}"
        elif outcome == DISPLAY:
            assert not moved, f"{where}: a display-only handler changed {moved}"
            assert not refusals, f"{where}: {audit}"
        elif outcome == PUBLIC:
            assert {table for table, _owner in moved} <= PUBLIC_TABLES, f"{where}: changed {moved}"
            assert not any(p.startswith(routes.AUTH_SESSION) for p in paths), \
                f"{where}: someone was signed in ({paths})"
        else:  # pragma: no cover
            pytest.fail(f"unknown outcome {outcome!r}")
    finally:
        if changed(world.baseline, after if after is not None else current(engine, world)):
            restore(engine, world.baseline)
            mark_audit(engine, world)


# --- setvar and update_vars_internal: the browser sets nothing that matters -----------------

REVOKED_TAB = "portal.open_after_revocation"  # the audit detail of a revoked caregiver's tab

SECURITY_VARS = ("navigate_to", "navigate_from", "signed_in", "is_admin", "is_staff", "relation", "patient_choices",
                 "patient_name", "user_name", "user_email", "thread_id", "thread", "editing",
                 "found", "patient", "allowed", "members", "refused", "view", "kind")


def all_var_names() -> set[str]:
    names = set(SECURITY_VARS) | {"_end_reason", "_compose_key", "_reply_key", "_token", "router",
                                  "router_data", "rx_router_headers", "rx_router_session",
                                  "dirty_vars", "substates", "parent_state", "state",
                                  "SessionState.is_admin", "State.is_hydrated"}
    for cls in all_states():
        names |= set(getattr(cls, "vars", {})) | _private_vars(cls)
    return names


def _private_vars(cls, ours_only: bool = False) -> set[str]:
    """Server-only vars (``_name``); ours_only leaves out Reflex's own bookkeeping."""
    return {n for c in cls.__mro__ for n in getattr(c, "__annotations__", {})
            if n.startswith("_") and not n.startswith("__")
            and (not ours_only or c.__module__.startswith("carespace_app"))}


def _security_view(root: State) -> dict:
    view = {}
    for state in _tree(root):
        for name in SECURITY_VARS:
            if name in type(state).vars:
                view[f"{type(state).__name__}.{name}"] = repr(getattr(state, name))
        for name in _private_vars(type(state), ours_only=True):
            view[f"{type(state).__name__}.{name}"] = repr(getattr(state, name, None))
    return view


@pytest.mark.parametrize("state_name", sorted(s for (s, h), e in MATRIX.items()
                                              if isinstance(e, SetVar) and (s, h) in PAIRS))
def test_setvar_reaches_only_the_listed_display_vars(state_name):
    cls = STATES[state_name]
    if not reachable(cls):
        with pytest.raises(ValueError):  # no event can name a state outside the tree
            substate(State(_reflex_internal_init=True), cls)
        return
    allowed = MATRIX[(state_name, "setvar")].names
    setvar = cls.event_handlers["setvar"].fn
    accepted = set()
    fresh = {"token": "t", "sid": "s", "ip": CLIENT_IP, "headers": {}, "pathname": routes.HOME,
             "query": {}}
    root = new_tree(fresh)
    before = _security_view(root)
    for name in sorted(all_var_names()):
        try:
            setvar(substate(root, cls), name, "/admin")
        except Exception:
            continue  # refused: there is no setter for it
        accepted.add(name)
        assert _security_view(root) == before, f"setvar({name!r}) on {state_name} moved a guarded var"
        root = new_tree(fresh)
    assert accepted == set(allowed), (
        f"setvar on {state_name} reaches {sorted(accepted)}; the matrix lists {sorted(allowed)}")


@functools.lru_cache(maxsize=1)
def _security_var_updates() -> tuple:
    updates = {}
    for cls in all_states():
        if cls is BaseState or not reachable(cls):
            continue
        for name in (*SECURITY_VARS, "_end_reason", "_compose_key", "is_hydrated"):
            updates[f"{cls.get_full_name()}.{name}"] = "/admin"
    return tuple(updates.items())


def security_var_updates() -> dict[str, Any]:
    """Every guarded var of every state, by its full name, as update_vars_internal takes them."""
    return dict(_security_var_updates())


def test_update_vars_internal_sets_nothing_of_ours():
    from reflex.state import UpdateVarsInternalState

    root = new_tree({"token": "t", "sid": "s", "ip": CLIENT_IP, "headers": {},
                     "pathname": routes.HOME, "query": {}})
    before = _security_view(root)
    call(root, UpdateVarsInternalState, "update_vars_internal", {"vars": security_var_updates()})
    assert _security_view(root) == before
