"""One tab, one person, one patient: a model-based test of sequences over the real handlers.

Hypothesis drives random sequences of what people do at a practice — sign in and out
(also on one shared computer used by successive people), open any page, load more,
switch patient, send, reply, grant, revoke, deactivate, change a password, go idle,
reach the 12-hour limit, view as patient and come back — through the real State
handlers, CareSpace's TabGuard and the real session lookup (tests/tabs.py), and
checks after every step:

(a) no tab's state tree holds a value of a patient its current person may not see
    now: neither the acting tab's whole tree (every var, server-only ones included)
    nor what any tab would be sent by its next page load; a tab whose browser has no
    live session would be sent no patient's data at all;
(b) every message, reply or grant stored by a step is on the patient the acting tab
    displayed when the step began;
(c) a step that had to be refused (signed out, access ended, the office's read-only
    view) changed no row (the audit trail and session bookkeeping aside);
(d) a lab report held (issue #16: a clinician's hold, or the patient's choice for its
    category) reaches no patient-side state of any tab while it is held — not the
    patient's own, not their caregiver's, not the office's "view as patient" (only the
    office's own pages show it) — nor a downloaded or shared record; staff release it
    through the office's page, and only staff; the patient's choice for new results
    changes only when the person is the patient the tab shows, and only for that patient;
(e) a share link is made or turned off only for the patient the acting tab showed, by that
    patient or their caregiver; an anonymous browser that opens /shared with a link and its
    passcode holds only that link's patient's record (messages only if the link has them,
    never a held report), and nothing of any record after its next event once the link is
    revoked, expired, locked or its maker has lost access.
"""
from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func
from sqlmodel import Session, select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.db import session_scope
from carespace_app.models import (
    CHECKIN_DONE, CHECKIN_OPEN, RELATION_CAREGIVER, RELATION_SELF, RESULT_CATEGORIES, AuditEvent,
    CaregiverGrant, Checkin, CheckinAnswer, CheckinPlan, LabReport, Message, MessageDraft, MessageThread,
    Patient, PatientAccess, ResultHoldChoice, ShareLink, UrgentItem, User, UserSession,
)
from carespace_app.policy import SHARE_LINK_MAX_WRONG
from carespace_app.services.permissions import access
from carespace_app.services.records import appointments
from carespace_app.services.records import checkins
from carespace_app.services.records import symptoms
from carespace_app.services.permissions import caregivers
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.records import result_release
from carespace_app.services.records import share_links
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.services.onboarding import staff
from carespace_app import timefmt
from carespace_app.state.admin import AdminState
from carespace_app.state.admin_checkins import AdminCheckinsState
from carespace_app.state.admin_labs import AdminLabsState
from carespace_app.state.admin_messages import AdminMessagesState
from carespace_app.state.admin_patient import AdminPatientState
from carespace_app.state.checkin import CheckinState
from carespace_app.state.labs import LabsState
from carespace_app.state.manage_users import ManageUsersState
from carespace_app.state.messages import MessagesState
from carespace_app.state.my_record import MyRecordState
from carespace_app.state.session import SessionState
from carespace_app.state.settings import SettingsState
from carespace_app.state.share_links import FIELD_IDS as SHARE_FIELDS, ShareLinksState
from carespace_app.state.shared_record import SharedRecordState
from tests.conftest import _truncate
from tests.factories import grant_caregiver, make_patient, make_staff, patient_user
from tests.tabs import Browser, Tab, sign_in_token

pytestmark = pytest.mark.slow

CHECKIN_HISTORY = f"{routes.CHECKIN}?view=history"
PAGES = (routes.HOME, routes.MESSAGES, routes.LABS, routes.APPOINTMENTS, routes.MANAGE_USERS,
         routes.RECORD_ACTIVITY, routes.SETTINGS, routes.ACCESS, routes.ADMIN, routes.ADMIN_MESSAGES,
         routes.ADMIN_AUDIT, routes.CHECKIN, CHECKIN_HISTORY, "patient-page", "thread-page",
         "report-page", "held-report-page", routes.RECORD)
# Pages that open one item by an id in the address (a bookmark, an emailed link): opened
# with the id of either patient's item, whatever the tab shows.
ITEM_PAGES = {"patient-page": (routes.ADMIN_PATIENT, "id", "patient"),
              "thread-page": (routes.MESSAGES, "thread", "thread"),
              "report-page": (routes.LABS, "report", "report"),
              # The first held report (the emailed "results are ready" link, opened early).
              "held-report-page": (routes.LABS, "report", "held")}
PEOPLE = ("rosa", "james", "maria", "sam")
# Rows a refused step may still write: the refusal's own audit row and the session's clock.
BOOKKEEPING = {AuditEvent.__tablename__, UserSession.__tablename__}
COUNTED = (Message, MessageThread, CaregiverGrant, PatientAccess, CheckinAnswer, UrgentItem, ShareLink,
           ResultHoldChoice, LabReport)
LAB_REPORTS = 11  # one more than a Labs page, so "Load more" has something to load
HELD_CATEGORY = RESULT_CATEGORIES[0]  # the category James holds at the start ("Tumour markers")


def _records(db: Session, patient, account, office, tag: str, ids: dict) -> list[str]:
    """A conversation, lab reports, a visit and a pending invitation; the markers that must
    never reach a tab that may not see this patient. ``ids``: the patient's, its
    conversation's and its first lab report's, for the pages that open one by its id."""
    now = utcnow()
    thread = messaging.start_thread(db, account, patient.id, category="Billing",
                                    subject=f"{tag} subject line", body=f"{tag} message body",
                                    client_key=None, clock=utcnow)
    messaging.reply(db, office, thread, body=f"{tag} care team reply", client_key=None, clock=utcnow)
    ids.update(patient=patient.id, thread=thread)
    for n in range(LAB_REPORTS):
        report = labs.enter_report(db, office, patient.id, panel=f"{tag} panel {n:02d}",
                                   collected_at=now - timedelta(days=30 + n),
                                   resulted_at=now - timedelta(days=29 + n),
                                   ordering_provider=f"Dr. {tag} Park",
                                   results=[labs.ResultInput(test_name=f"{tag}-Sodium", value=130.0 + n,
                                                             unit=f"{tag}-unit", ref_low=135, ref_high=145)],
                                   clock=utcnow)
        ids.setdefault("report", report)
    appointments.create_appointment(db, office, patient.id, starts_at=now + timedelta(days=3),
                                    duration_minutes=30, appointment_type="Office visit",
                                    provider=f"Dr. {tag} Lee", location=f"{tag} suite 4", clock=utcnow)
    caregivers.grant_access(db, account, patient.id, name="Pending Friend",
                             email=f"friend.{tag.lower()}@example.org", clock=utcnow)
    # Check-ins from today; the first answered by the patient (a history to show).
    checkins.enrol(db, office, patient.id, every_days=7, starts_on=timefmt.to_local(now).date(),
                   ends_on=None, keys=symptoms.DEFAULT_KEYS, clock=utcnow)
    first = db.exec(select(Checkin.id).where(Checkin.patient_id == patient.id)).first()
    checkins.submit(db, account, patient.id, first, {k: 1 for k in symptoms.DEFAULT_KEYS
                                                     if k != "fever"} | {"fever": 0}, clock=utcnow)
    return [patient.mrn, patient.email, f"{tag} subject line", f"{tag} message body",
            f"{tag} care team reply", f"{tag} panel", f"{tag}-Sodium", f"{tag}-unit",
            f"Dr. {tag} Park", f"Dr. {tag} Lee", f"{tag} suite 4", f"friend.{tag.lower()}@example.org"]


def _held_markers(tag: str, n: int) -> list[str]:
    """A held report's own words: its panel, its result's unit and value (the test's name is
    the patient's usual one, so the lab history is tried too)."""
    return [f"{tag} held panel {n}", f"{tag}-heldunit-{n}", f"{9000 + n}.125"]


def _held_report(db: Session, office, patient_id: int, tag: str, n: int, *, category: str,
                 hold: result_release.ClinicianHold | None) -> int:
    """A report entered by the office, the newest of the patient's (first on every list)."""
    now = utcnow()
    panel, unit, value = _held_markers(tag, n)
    return labs.enter_report(db, office, patient_id, panel=panel, collected_at=now - timedelta(days=1),
                             resulted_at=now - timedelta(hours=2), ordering_provider=f"Dr. {tag} Park",
                             results=[labs.ResultInput(test_name=f"{tag}-Sodium", value=value, unit=unit,
                                                       ref_low=135, ref_high=145)],
                             category=category, hold=hold, clock=utcnow)


def _choices(db: Session) -> dict[tuple[int, str], int]:
    return {(r.patient_id, r.category): r.hold_days for r in db.exec(select(ResultHoldChoice)).all()}


def _rows(db: Session) -> dict[str, int]:
    return {m.__tablename__: db.exec(select(func.count()).select_from(m)).one() for m in COUNTED}


class Practice(RuleBasedStateMachine):
    """Rosa and James (patients), Maria (caregiver of both), Sam (office), Ada (administrator,
    acting from elsewhere). Browsers: Rosa's (two tabs), Maria's (two tabs), Sam's, and one
    shared family computer that anyone signs in on."""

    engine = None  # set by the test

    @initialize()
    def build(self):
        _truncate(self.engine)
        self.serial = itertools.count(1)
        with session_scope(self.engine) as db:  # the test is the unit of work
            rosa = make_patient(db, first_name="Rosa", last_name="Alvarez", mrn="RZQ-00001",
                                email="rosa.rzq@example.com")
            james = make_patient(db, first_name="James", last_name="Okafor", mrn="JZQ-00002",
                                 email="james.jzq@example.org")
            self.users = {"rosa": patient_user(db, rosa), "james": patient_user(db, james)}
            maria = grant_caregiver(db, rosa, full_name="Maria Alvarez", email="maria@example.net")
            grant_caregiver(db, james, user=maria)
            self.users["maria"] = maria
            self.users["sam"] = make_staff(db, full_name="Sam Nurse", email="sam@example.net")
            self.ada = make_staff(db, full_name="Ada Lovell", email="ada@example.net", is_admin=True)
            self.patients = {"rosa": rosa.id, "james": james.id}
            self.ids = {"rosa": {}, "james": {}}
            self.markers = {rosa.id: _records(db, rosa, self.users["rosa"], self.ada, "Rzq", self.ids["rosa"]),
                            james.id: _records(db, james, self.users["james"], self.ada, "Jzq",
                                               self.ids["james"])}
            self.tags = {rosa.id: "Rzq", james.id: "Jzq"}
            self.names = {rosa.id: "Rosa Alvarez", james.id: "James Okafor"}
            # What a link without messages must not show: the conversation's words.
            self.message_markers = {pid: ms[2:5] for pid, ms in self.markers.items()}
            # Held reports (issue #16): Rosa's by a clinician, James's by his own choice for
            # the category. report id -> (patient id, its words).
            self.held: dict[int, tuple[int, list[str]]] = {}
            release_on = timefmt.to_local(utcnow()).date() + timedelta(days=3)
            held = _held_report(db, self.ada, rosa.id, "Rzq", 0, category=result_release.DEFAULT_CATEGORY,
                                hold=result_release.ClinicianHold(reason=result_release.CLINICIAN_HOLD_REASONS[0],
                                                                  note="", release_on=release_on))
            self.held[held] = (rosa.id, _held_markers("Rzq", 0))
            self.ids["rosa"]["held"] = held
            result_release.set_choices(db, self.users["james"], james.id, {HELD_CATEGORY: 5}, clock=utcnow)
            held = _held_report(db, self.ada, james.id, "Jzq", 0, category=HELD_CATEGORY, hold=None)
            self.held[held] = (james.id, _held_markers("Jzq", 0))
            self.ids["james"]["held"] = held
            for report, (pid, words) in self.held.items():
                self.markers[pid] += words
        assert len(self._held_now()) == 2, "the world starts with a held report for each patient"
        self.report_serial = itertools.count(1)
        # Share links made in the model: id -> (token, passcode). A link's token is its
        # patient's, like any of the record's words (a marker of that patient).
        self.links: dict[int, tuple[str, str]] = {}
        share_links.misses.clear()  # the per-address count of refused look-ups (per process)
        self.browsers = {"rosa": Browser("rosa"), "maria": Browser("maria"), "sam": Browser("sam"),
                         "shared": Browser("shared")}
        for name, count in (("rosa", 2), ("maria", 2), ("sam", 1), ("shared", 1)):
            for _ in range(count):
                self.browsers[name].tab()
        self.tabs: list[Tab] = [t for b in self.browsers.values() for t in b.tabs]
        self.acted: Tab | None = None
        # Someone a patient gave a share link and its passcode: an anonymous browser, two tabs.
        stranger = Browser("stranger")
        self.strangers = [LinkTab(stranger, f"stranger-{n}") for n in range(2)]
        stranger.tabs.extend(self.strangers)
        self.stranger_acted: LinkTab | None = None
        self.stranger_texts: list[str] = []  # what the acting stranger tab downloaded
        # Unsent drafts typed in the model: text -> (writer's user id, patient id).
        self.drafts: dict[str, tuple[int, int]] = {}

    # --- who may see what, now ---

    def _person(self, browser: Browser) -> User | None:
        if not browser.token:
            return None
        with session_scope() as db:
            found = sessions.resolve(db, browser.token, clock=utcnow, touch=False)
            return found[1] if found else None

    def _visible(self, user: User | None) -> set[int]:
        if user is None:
            return set()
        with session_scope() as db:
            return {pid for pid in self.patients.values() if access.relation_to(db, user, pid)}

    def _foreign(self, user: User | None) -> list[str]:
        visible = self._visible(user)
        return [m for pid, ms in self.markers.items() if pid not in visible for m in ms]

    # --- steps ---

    def _tab(self, index: int) -> Tab:
        return self.tabs[index % len(self.tabs)]

    @rule(index=st.integers(0, 5), person=st.sampled_from(PEOPLE))
    def sign_in(self, index, person):
        """Sign in on a tab's browser: its own person, or anyone on the shared computer."""
        tab = self._tab(index)
        who = person if tab.browser.name == "shared" else tab.browser.name
        tab.browser.token = sign_in_token(self.users[who])
        self._step(tab, lambda: tab.open(routes.ADMIN if who == "sam" else routes.HOME))

    @rule(index=st.integers(0, 5))
    def sign_out(self, index):
        tab = self._tab(index)
        self._step(tab, lambda: tab.call(SessionState, "sign_out"))

    @rule(index=st.integers(0, 5), page=st.sampled_from(PAGES), patient=st.sampled_from(("rosa", "james")))
    def open_page(self, index, page, patient):
        tab = self._tab(index)
        if page in ITEM_PAGES:
            path, parameter, item = ITEM_PAGES[page]
            url = f"{path}?{parameter}={self.ids[patient][item]}"
        else:
            url = page
        self._step(tab, lambda: tab.open(url))

    @rule(index=st.integers(0, 5))
    def load_more_labs(self, index):
        tab = self._tab(index)
        self._step(tab, lambda: tab.call(LabsState, "more_reports"))

    @rule(index=st.integers(0, 5), patient=st.sampled_from(("rosa", "james")))
    def switch_patient(self, index, patient):
        tab = self._tab(index)
        self._step(tab, lambda: tab.call(SessionState, "switch_patient",
                                         patient_id=str(self.patients[patient])))

    @rule(index=st.integers(0, 5))
    def send_message(self, index):
        tab = self._tab(index)
        text = f"model message {next(self.serial)}"

        def send():
            where = tab.path
            tab.call(MessagesState, "start_compose")
            if tab.path != where:  # the click found the tab cleared and sent it away: no form
                return
            tab.call(MessagesState, "send_message",
                     form={"category": "Billing", "subject": text, "body": text})

        self._write_step(tab, send, writes_as=("self", "caregiver"))

    @rule(index=st.integers(0, 5))
    def send_red_flag_anyway(self, index):
        """A message with a red flag: the banner, then "Send anyway" (issue #15). It and its
        urgent item land on the patient the tab shows."""
        tab = self._tab(index)
        text = f"model chest pain {next(self.serial)}"
        form = {"category": "Medical question", "subject": text, "body": f"I have chest pain. {text}"}

        def send():
            where = tab.path
            tab.call(MessagesState, "start_compose")
            if tab.path != where:
                return
            tab.call(MessagesState, "send_message", form=form)  # the banner
            if tab.path != where:
                return
            tab.call(MessagesState, "send_message", form=form)  # Send anyway

        self._write_step(tab, send, writes_as=("self", "caregiver"))

    @rule(patient=st.sampled_from(("rosa", "james")))
    def office_acknowledges(self, patient):
        """Sam's queue: the oldest urgent item acknowledged ("Called the patient")."""
        tab = self.browsers["sam"].tabs[0]

        def acknowledge():
            tab.open(routes.ADMIN_MESSAGES)
            items = tab.state(AdminMessagesState).urgent_items
            if items:
                tab.call(AdminMessagesState, "acknowledge",
                         form={"item_id": items[0].id, "note": "Called the patient"})

        self._step(tab, acknowledge)

    @rule(patient=st.sampled_from(("rosa", "james")), every=st.sampled_from(("7", "14")))
    def office_changes_checkins(self, patient, every):
        tab = self.browsers["sam"].tabs[0]

        def change():
            tab.open(f"{routes.ADMIN_PATIENT}?id={self.patients[patient]}")
            tab.call(AdminCheckinsState, "save_plan", form={
                "every_days": every, "starts_on": timefmt.to_local(utcnow()).date().isoformat(),
                "ends_on": "", **{f"symptom_{k}": "on" for k in symptoms.DEFAULT_KEYS}})

        self._step(tab, change)

    @rule(index=st.integers(0, 5))
    def reply(self, index):
        tab = self._tab(index)
        threads = tab.state(MessagesState).threads
        if not threads:
            return
        text = f"model reply {next(self.serial)}"

        def send():
            where = tab.path
            tab.call(MessagesState, "open_thread", thread_id=threads[0].id)
            if tab.path != where:  # sent away (see send_message): the reply box is gone
                return
            tab.call(MessagesState, "send_reply", form={"reply": text})

        self._write_step(tab, send, writes_as=("self", "caregiver"))

    @rule(index=st.integers(0, 5))
    def keep_draft(self, index):
        """Typing in New message keeps a draft: the writer's own, for the tab's patient."""
        tab = self._tab(index)
        text = f"model draft {next(self.serial)}"
        shown = tab.session_state._tab_patient_id
        person = self._person(tab.browser)
        self._step(tab, lambda: tab.call(MessagesState, "keep_compose", form={"body": text}))
        with session_scope() as db:
            draft = db.exec(select(MessageDraft).where(MessageDraft.body == text)).first()
            relation = access.relation_to(db, person, shown) if person and shown else None
        if draft is None:
            return
        assert relation in ("self", "caregiver"), f"{tab.name} ({relation}) kept a draft"
        assert (draft.user_id, draft.patient_id) == (person.id, shown), \
            f"{tab.name} showed {shown} for {person.id}; its draft went to {draft.user_id}/{draft.patient_id}"
        self.drafts[text] = (draft.user_id, draft.patient_id)

    def _foreign_drafts(self, tab: Tab) -> list[str]:
        """Drafts this tab must never hold: another person's, or another patient's portal's."""
        person = self._person(tab.browser)
        mine = (person.id if person else None, tab.session_state._tab_patient_id)
        return [text for text, owner in self.drafts.items() if owner != mine]

    @rule(patient=st.sampled_from(("rosa", "james")))
    def checkin_opens(self, patient):
        """A week passes for the patient's check-ins: a new one opens (the server's sweep)."""
        with session_scope(self.engine) as db:  # the test is the unit of work
            plan = db.exec(select(CheckinPlan).where(
                CheckinPlan.patient_id == self.patients[patient])).first()
            if db.exec(select(Checkin).where(Checkin.plan_id == plan.id,
                                             Checkin.status == CHECKIN_OPEN)).first() is None:
                at = utcnow() - timedelta(seconds=next(self.serial))
                db.add(Checkin(plan_id=plan.id, patient_id=plan.patient_id, opens_at=at,
                               closes_at=at + timedelta(days=7), symptoms=plan.symptoms))
        self.acted = None

    @rule(index=st.integers(0, 5), grade=st.integers(0, 4))
    def answer_checkin(self, index, grade):
        """Open the check-in, answer every question, send: it lands on the tab's patient."""
        tab = self._tab(index)

        def answer():
            tab.open(routes.CHECKIN)
            state = tab.state(CheckinState)
            for _ in range(len(state.questions)):
                if state.mode != "form":
                    return
                words = state.questions[state.step].words
                tab.call(CheckinState, "choose", value=min(grade, len(words) - 1))
                tab.call(CheckinState, "next_question")
            tab.call(CheckinState, "send_answers")

        shown = tab.session_state._tab_patient_id
        with session_scope() as db:
            done_before = {c for c in db.exec(select(Checkin.id).where(
                Checkin.status == CHECKIN_DONE)).all()}
        self._write_step(tab, answer, writes_as=("self", "caregiver"))
        with session_scope() as db:
            done = db.exec(select(Checkin).where(Checkin.status == CHECKIN_DONE)).all()
        for checkin in done:
            if checkin.id not in done_before:
                assert checkin.patient_id == shown, \
                    f"{tab.name} showed {shown}; a check-in of {checkin.patient_id} was answered"

    @rule(patient=st.sampled_from(("rosa", "james")))
    def office_reads_checkins(self, patient):
        tab = self.browsers["sam"].tabs[0]

        def read():
            tab.open(f"{routes.ADMIN_PATIENT}?id={self.patients[patient]}")
            tab.call(AdminCheckinsState, "show_history")

        self._step(tab, read)

    @rule(index=st.integers(0, 5))
    def grant(self, index):
        tab = self._tab(index)
        n = next(self.serial)
        self._write_step(tab, lambda: tab.call(
            ManageUsersState, "grant", form={"name": f"Helper {n}", "email": f"helper{n}@example.net"}),
            writes_as=("self",))

    @rule(patient=st.sampled_from(("rosa", "james")))
    def revoke_maria(self, patient):
        """The patient revokes Maria from another device."""
        with session_scope(self.engine) as db:  # the test is the unit of work
            grant = db.exec(select(CaregiverGrant).where(
                CaregiverGrant.patient_id == self.patients[patient],
                CaregiverGrant.email == "maria@example.net",
                CaregiverGrant.revoked_at.is_(None))).first()
            if grant is not None:
                caregivers.revoke_access(db, self.users[patient], grant.id, clock=utcnow)
        self.acted = None

    @rule(patient=st.sampled_from(("rosa", "james")))
    def regrant_maria(self, patient):
        with session_scope(self.engine) as db:  # the test is the unit of work
            if access.relation_to(db, self.users["maria"], self.patients[patient]) is None:
                grant_caregiver(db, _patient(db, self.patients[patient]), user=self.users["maria"])
        self.acted = None

    @rule()
    def deactivate_sam(self):
        with session_scope(self.engine) as db:  # the test is the unit of work
            staff.deactivate(db, self.ada, self.users["sam"].id, clock=utcnow)
        self.acted = None

    @rule()
    def reactivate_sam(self):
        with session_scope(self.engine) as db:  # the test is the unit of work
            staff.reactivate(db, self.ada, self.users["sam"].id, clock=utcnow)
        self.acted = None

    @rule(person=st.sampled_from(PEOPLE))
    def password_changed_elsewhere(self, person):
        """A password change on another device ends every other session of the person."""
        with session_scope(self.engine) as db:  # the test is the unit of work
            sessions.end_user_sessions(db, self.users[person].id,
                                      reason=sessions.ENDED_PASSWORD_CHANGED, clock=utcnow)
        self.acted = None

    @rule(index=st.integers(0, 5), absolute=st.booleans())
    def time_passes(self, index, absolute):
        """The tab's session goes idle for 16 minutes, or reaches its 12-hour limit."""
        tab = self._tab(index)
        if not tab.browser.token:
            return
        with Session(self.engine, expire_on_commit=False) as db:
            mine = db.exec(select(UserSession).where(
                UserSession.token_hash == security.token_hash(tab.browser.token))).all()
            for r in mine:
                if absolute:
                    r.expires_at = utcnow() - timedelta(seconds=1)
                else:
                    r.last_seen_at = utcnow() - timedelta(minutes=16)
                db.add(r)
            db.commit()
        self._step(tab, lambda: tab.call(SessionState, "check_idle"))

    @rule(patient=st.sampled_from(("rosa", "james")))
    def view_as_patient(self, patient):
        tab = self.browsers["sam"].tabs[0]

        def view():
            tab.open(f"{routes.ADMIN_PATIENT}?id={self.patients[patient]}")
            tab.call(AdminPatientState, "view_as_patient")

        self._step(tab, view)

    @rule(index=st.integers(0, 5), fmt=st.sampled_from(("pdf", "fhir")))
    def download_record(self, index, fmt):
        """Download my record (issue #16): the file holds only what the tab's person may see
        now, of the patient the tab shows."""
        tab = self._tab(index)
        today = timefmt.to_local(utcnow()).date()
        form = {"start": (today - timedelta(days=400)).isoformat(),
                "end": (today + timedelta(days=400)).isoformat(), "messages": True}
        events = []
        self._step(tab, lambda: events.extend(tab.call(MyRecordState, "submit", form=form,
                                                        button=fmt)))
        foreign = self._foreign(self._person(tab.browser))
        for text in _downloaded_texts(events):
            for marker in foreign:
                assert marker not in text, f"{tab.name} downloaded {marker!r}"

    @rule(index=st.integers(0, 5))
    def back_to_admin(self, index):
        tab = self._tab(index)
        self._step(tab, lambda: tab.call(SessionState, "back_to_admin"))

    # --- the checks ---

    def _step(self, tab: Tab, act) -> None:
        self.loads_before = len(tab.hydrations)
        act()
        self.acted = tab
        RUN["steps"] += 1

    def _write_step(self, tab: Tab, act, *, writes_as: tuple[str, ...]) -> None:
        """A write: where it lands (b), and that a write that had to be refused wrote nothing (c)."""
        shown = tab.session_state._tab_patient_id
        person = self._person(tab.browser)
        with session_scope() as db:
            relation = access.relation_to(db, person, shown) if person and shown else None
            before = _rows(db)
            high = db.exec(select(func.coalesce(func.max(Message.id), 0))).one()
            grants_high = db.exec(select(func.coalesce(func.max(CaregiverGrant.id), 0))).one()
            urgent_high = db.exec(select(func.coalesce(func.max(UrgentItem.id), 0))).one()
        self._step(tab, act)
        with session_scope() as db:
            after = _rows(db)
            new_messages = db.exec(select(Message, MessageThread.patient_id).join(
                MessageThread, MessageThread.id == Message.thread_id).where(Message.id > high)).all()
            new_grants = db.exec(select(CaregiverGrant).where(CaregiverGrant.id > grants_high)).all()
            new_urgent = db.exec(select(UrgentItem).where(UrgentItem.id > urgent_high)).all()
        for _message, patient_id in new_messages:
            assert patient_id == shown, f"{tab.name} showed patient {shown}; a message went to {patient_id}"
        for grant in new_grants:
            assert grant.patient_id == shown, f"{tab.name} showed {shown}; a grant went to {grant.patient_id}"
        for item in new_urgent:
            assert item.patient_id == shown, f"{tab.name} showed {shown}; an urgent item went to {item.patient_id}"
        if relation not in writes_as:
            assert after == before, f"a refused write by {tab.name} changed rows: {before} -> {after}"

    @invariant()
    def the_acting_tab_holds_only_what_its_person_may_see(self):
        tab = getattr(self, "acted", None)
        if tab is None:
            return
        foreign = self._foreign(self._person(tab.browser))
        sent, kept = tab.serialised(), tab.at_rest()
        for marker in foreign:
            assert marker not in sent, f"{tab.name} would send {marker!r} to its person"
            assert marker not in kept, f"{tab.name} keeps {marker!r} on the server"
        for hydration in tab.hydrations[self.loads_before:]:  # the page loads of this step
            text = str(hydration)
            for marker in foreign:
                assert marker not in text, f"{tab.name} was sent {marker!r} on a page load"
        for draft in self._foreign_drafts(tab):
            assert draft not in sent, f"{tab.name} would send someone else's draft {draft!r}"
            assert draft not in kept, f"{tab.name} keeps someone else's draft {draft!r}"

    @invariant()
    def no_tab_would_be_sent_anything_its_person_may_not_see(self):
        """What each tab's next page load would send (on a copy: the model's tab is untouched)."""
        for tab in getattr(self, "tabs", []):
            person = self._person(tab.browser)
            foreign = self._foreign(person)
            drafts = self._foreign_drafts(tab)
            if not foreign and not drafts:
                continue
            sent = tab.clone().reload_snapshot()
            text = str(sent)
            for marker in foreign:
                assert marker not in text, f"reloading {tab.name} would send {marker!r}"
            for draft in drafts:
                assert draft not in text, f"reloading {tab.name} would send the draft {draft!r}"


def _downloaded_texts(events) -> list[str]:
    """The text of every file an event list downloads (rx.download's data: URL)."""
    import base64
    import io

    from pypdf import PdfReader

    texts = []
    for event in events:
        args = {str(k): str(getattr(v, "_var_value", v)) for k, v in getattr(event, "args", ())}
        url = args.get("url", "")
        if not url.startswith("data:"):
            continue
        head, _, payload = url.partition(",")
        data = base64.b64decode(payload)
        if head.startswith("data:application/pdf"):
            texts.append("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))
        else:
            texts.append(data.decode("utf-8"))
    return texts


def _patient(db, patient_id):
    return db.get(Patient, patient_id)


RUN = {"steps": 0}  # steps that drove a tab, over the whole run (reported, and checked)


@pytest.fixture
def practice_machine(engine):
    Practice.engine = engine
    yield Practice
    Practice.engine = None


def test_one_tab_one_person_one_patient(practice_machine):
    from hypothesis.stateful import run_state_machine_as_test

    RUN["steps"] = 0
    run_state_machine_as_test(practice_machine, settings=settings(
        max_examples=int(os.environ.get("ISOLATION_EXAMPLES", "40")), stateful_step_count=50,
        derandomize=True, deadline=None, suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False, database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        + ([Phase.shrink] if os.environ.get("ISOLATION_SHRINK") else [])))
    # A run that drove (almost) no tab proves nothing: the sequences must have happened.
    assert RUN["steps"] >= 8 * int(os.environ.get("ISOLATION_EXAMPLES", "40")), RUN
    print(f"isolation model: {RUN['steps']} tab steps")
