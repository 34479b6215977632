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
    revoked, expired, locked or its maker has lost access;
(f) two-step sign-in (issue #17) through the sign-in page's handlers: the password alone opens
    no session, and the "password passed" step never stays in a tab that is signed in (the
    next person on a shared computer starts from nothing of the last one's).
"""
from __future__ import annotations

import itertools
import json
import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
import pyotp
from sqlalchemy import func, update
from sqlmodel import Session, select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.db import session_scope
from carespace_app.models import (
    CHECKIN_DONE, CHECKIN_OPEN, RELATION_CAREGIVER, RELATION_SELF, RESULT_CATEGORIES,
    SCOPE_APPOINTMENTS, SCOPE_APPOINTMENTS_LABS, SCOPE_FULL, AuditEvent,
    CaregiverGrant, Checkin, CheckinAnswer, CheckinPlan, LabReport, Message, MessageDraft, MessageThread,
    Patient, PatientAccess, ResultHoldChoice, ShareLink, TwoStepKey, UrgentItem, User, UserSession,
)
from carespace_app.policy import SHARE_LINK_MAX_WRONG
from carespace_app.services.permissions import access, access_ends, scopes
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
from carespace_app.state.auth import SignInState
from carespace_app.state.settings import SettingsState
from carespace_app.state.share_links import FIELD_IDS as SHARE_FIELDS, ShareLinksState
from carespace_app.state.shared_record import SharedRecordState
from tests.conftest import _truncate
from tests.factories import (
    PASSWORD, TWO_STEP_SECRET, grant_caregiver, make_patient, make_staff, patient_user, turn_on_two_step,
)
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
# How a step reaches its page (Practice._arrive).
ARRIVALS = ("stale", "open", "fresh")
HELD_CATEGORY = RESULT_CATEGORIES[0]  # the category James holds at the start ("Tumour markers")
HELD_MOST = 5  # held reports in one sequence, at most (each adds to every check's work)


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
    return [f"{tag} held panel {n:03d}", f"{tag}-heldunit-{n:03d}", f"{9000 + n}.{sum(map(ord, tag))}"]


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
            # What a caregiver whose access leaves labs out must not hold (issue #17).
            self.lab_markers = {pid: ms[5:9] for pid, ms in self.markers.items()}
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
        assert len(self._held_now()) == 6, "the world starts with a held report for each patient"
        self.report_serial = itertools.count(1)
        self.released: set[int] = set()  # held reports the model saw released (by staff)
        # Share links made in the model: id -> (token, passcode). A link's token is its
        # patient's, like any of the record's words (a marker of that patient).
        self.links: dict[int, tuple[str, str]] = {}
        share_links.misses.clear()  # the per-address count of refused look-ups (per process)
        with session_scope(self.engine) as db:  # the test is the unit of work
            today = timefmt.to_local(utcnow()).date()
            for maker, patient, messages in (("rosa", "rosa", True), ("maria", "james", False)):
                url, passcode = share_links.create(
                    db, self.users[maker], self.patients[patient], label=f"Dr. {maker} start", days=3,
                    start=today - timedelta(days=400), end=today + timedelta(days=400),
                    include_messages=messages, clock=utcnow)
                token = url.partition("#")[2]
                link = db.exec(select(ShareLink).where(ShareLink.token_hash == security.token_hash(token))).one()
                self.links[link.id] = (token, passcode)
                self.markers[link.patient_id].append(token)
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
        foreign = [m for pid, ms in self.markers.items() if pid not in visible for m in ms]
        return foreign + self._outside_scope(user, visible)

    def _outside_scope(self, user: User | None, visible: set[int]) -> list[str]:
        """Issue #17: a limited caregiver's patient's words of the areas the access leaves out
        (the conversation's; the lab reports'; the share links' tokens)."""
        words = []
        with session_scope() as db:
            for pid in visible:
                found = access.access_to(db, user, pid)
                if found is None or found.reaches(scopes.AREA_MESSAGES):
                    continue
                words += self.message_markers[pid]
                words += [t for link_id, (t, _p) in self.links.items()
                          if db.get(ShareLink, link_id).patient_id == pid]
                if not found.reaches(scopes.AREA_LABS):
                    words += self.lab_markers[pid]
        return words

    def _held_now(self) -> list[str]:
        """The words of every report that is held now (no patient-side state may hold them)."""
        with session_scope() as db:
            held = db.exec(select(LabReport.id).where(LabReport.id.in_(list(self.held)),
                                                      LabReport.released_at.is_(None))).all()
        return [word for report in held for word in self.held[report][1]]

    def _relation(self, tab: Tab) -> tuple[User | None, int, str | None]:
        """The tab's person now, the patient it shows, and what that person is to them."""
        shown = tab.session_state._tab_patient_id
        person = self._person(tab.browser)
        with session_scope() as db:
            relation = access.relation_to(db, person, shown) if person and shown else None
        return person, shown, relation

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
        if tab.session_state.signed_in:
            # The tab speaks the new person's language, not the last person's (issue #17).
            with session_scope() as db:
                assert tab.session_state.lang == db.get(User, self.users[who].id).language

    @rule(index=st.integers(0, 5), lang=st.sampled_from(("es", "en")))
    def switch_language(self, index, lang):
        """The "English / Español" switch (issue #17): saved to the tab's person, if any."""
        tab = self._tab(index)
        self._step(tab, lambda: tab.call(SessionState, "set_language", lang=lang))
        RUN["languages"] += 1
        assert tab.session_state.lang == lang
        person = self._person(tab.browser)
        if person is not None and tab.session_state.signed_in:
            with session_scope() as db:
                assert db.get(User, person.id).language == lang, "the choice was not saved"

    @rule(index=st.integers(0, 5), person=st.sampled_from(PEOPLE), finish=st.booleans())
    def sign_in_with_a_code(self, index, person, finish):
        """Two-step sign-in (issue #17) through the sign-in page's own handlers: the password,
        then (``finish``) a code from the person's authenticator app; or left half-way, the
        password passed, for whoever uses the tab next (the invariants then check it)."""
        tab = self._tab(index)
        who = person if tab.browser.name == "shared" else tab.browser.name
        with session_scope() as db:
            account = db.get(User, self.users[who].id)
            if account.two_step_since is None:
                turn_on_two_step(db, account)
            # A fresh code each time: here a person may sign in twice within 30 seconds,
            # and a code is never taken twice.
            db.execute(update(TwoStepKey).where(TwoStepKey.user_id == account.id).values(last_step=0))
            email, active = account.email, account.is_active

        def act():
            if tab.browser.token:
                tab.call(SessionState, "sign_out")
            tab.open(routes.SIGN_IN)
            tab.call(SignInState, "submit", form={"email": email, "password": PASSWORD})
            page = tab.state(SignInState)
            assert tab.browser.token is None, "the password alone opened a session"
            if not active:  # Sam deactivated: no second step to offer
                assert page.step == "password" and not page._second_step
                return
            assert page.step == "code" and page._second_step, page.error
            if finish:
                tab.call(SignInState, "submit_code", form={"code": pyotp.TOTP(TWO_STEP_SECRET).now()})
                assert tab.browser.token, "a right code signs in"
                assert self._person(tab.browser).id == self.users[who].id
            RUN["two_step"] += 1

        self._step(tab, act)

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
            # A page load (the tab cleared and sent away, to another page or to Home again
            # while at Home): the form is gone, nothing to send.
            where = len(tab.hydrations)
            tab.call(MessagesState, "start_compose")
            if len(tab.hydrations) != where:  # the click found the tab cleared and sent it away
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
            where = len(tab.hydrations)  # sent away: see send_message
            tab.call(MessagesState, "start_compose")
            if len(tab.hydrations) != where:
                return
            tab.call(MessagesState, "send_message", form=form)  # the banner
            if len(tab.hydrations) != where:
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
            where = len(tab.hydrations)
            tab.call(MessagesState, "open_thread", thread_id=threads[0].id)
            if len(tab.hydrations) != where:  # sent away (see send_message): the reply box is gone
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
        """Open the check-in, answer every question, send: it lands on the patient the tab
        shows once the page is open (a tab that showed no one yet opens its person's default)."""
        tab = self._tab(index)
        loads = len(tab.hydrations)
        tab.open(routes.CHECKIN)

        def answer():
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
        self.loads_before = loads  # the check-in page's load belongs to this step
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

    def _marias_live_grant(self, db, patient: str):
        grants = db.exec(select(CaregiverGrant).where(
            CaregiverGrant.patient_id == self.patients[patient],
            CaregiverGrant.email == "maria@example.net", CaregiverGrant.revoked_at.is_(None),
            CaregiverGrant.access_id.is_not(None))).all()
        return next((g for g in grants if not scopes.has_ended(g.ends_on, utcnow())), None)

    @rule(patient=st.sampled_from(("rosa", "james")),
          scope=st.sampled_from((SCOPE_APPOINTMENTS, SCOPE_APPOINTMENTS_LABS, SCOPE_FULL)))
    def patient_changes_marias_scope(self, patient, scope):
        """Issue #17: the patient limits (or widens) what Maria sees, from another device; her
        open tabs follow at their next event (the invariants check every tab's next load)."""
        with session_scope(self.engine) as db:  # the test is the unit of work
            grant = self._marias_live_grant(db, patient)
            if grant is not None:
                caregivers.change_access(db, self.users[patient], grant.id, scope=scope, ends_on="",
                                         clock=utcnow)
                RUN["scope_changes"] += 1
        self.acted = None

    @rule(patient=st.sampled_from(("rosa", "james")), swept=st.booleans())
    def marias_end_date_passes(self, patient, swept):
        """Issue #17: the end date the patient chose comes (today began in the practice's
        zone), recorded by the sweep or not yet: her access ends at her next event either way."""
        with session_scope(self.engine) as db:  # the test is the unit of work
            grant = self._marias_live_grant(db, patient)
            if grant is not None:
                today = timefmt.to_local(utcnow()).date()
                grant.ends_on = today
                db.get(PatientAccess, grant.access_id).ends_on = today
                RUN["ended"] += 1
        if swept:
            with session_scope(self.engine) as db:
                access_ends.sweep(db, clock=utcnow)
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
        foreign = self._foreign(self._person(tab.browser)) + self._held_now()
        for text in _downloaded_texts(events):
            for marker in foreign:
                assert marker not in text, f"{tab.name} downloaded {marker!r}"

    @rule(index=st.integers(0, 5))
    def back_to_admin(self, index):
        tab = self._tab(index)
        self._step(tab, lambda: tab.call(SessionState, "back_to_admin"))

    # --- issue #16: held results, the patient's choice, share links ---

    def _arrive(self, tab: Tab, how: str, page: str) -> None:
        """How a step finds its page: "stale" (whatever the tab shows now), "open" (a page load
        first), "fresh" (the browser's own person signs in first if no one is, then the page)."""
        if how == "fresh" and self._person(tab.browser) is None:
            # On the shared computer: James (his own choices, his own links).
            tab.browser.token = sign_in_token(self.users.get(tab.browser.name, self.users["james"]))
        if how != "stale":
            tab.open(page)

    def _office_tab(self, office: bool, index: int) -> Tab:
        """The office's tab (signed in again if its session ended: the office is at work),
        or any tab (a crafted event from a patient's or caregiver's page)."""
        if not office:
            return self._tab(index)
        tab = self.browsers["sam"].tabs[0]
        if self._person(tab.browser) is None:
            tab.browser.token = sign_in_token(self.users["sam"])
        return tab

    @rule(office=st.sampled_from((True, False)), index=st.integers(0, 5),
          patient=st.sampled_from(("rosa", "james")), person=st.sampled_from(("rosa", "james", "maria")))
    def reset_two_step(self, office, index, patient, person):
        """"Reset two-step sign-in" on a patient's admin page (issue #17): tried by the office's
        tab (Sam is staff, not an administrator) or crafted from any tab. Only an administrator
        may: no tab of the model is one, so every try leaves the second step as it was."""
        tab = self._office_tab(office, index)
        target = self.users[person].id
        with session_scope() as db:
            before = db.get(User, target).two_step_since

        def reset():
            tab.open(f"{routes.ADMIN_PATIENT}?id={self.patients[patient]}")
            tab.call(AdminPatientState, "reset_two_step", user_id=str(target))

        self._step(tab, reset)
        with session_scope() as db:
            assert db.get(User, target).two_step_since == before, f"{tab.name} reset {person}'s second step"

    @precondition(lambda self: len(self.held) > len(self.released))
    @rule(office=st.sampled_from((True, True, False)), index=st.integers(0, 5), pick=st.integers(0, 7),
          how=st.sampled_from(("mark_reviewed", "release_now")))
    def release_held(self, office, index, pick, how):
        """"Mark reviewed" / "Release now" on the patient's admin page: by the office's tab, or
        tried from any tab; a held report is released only by staff (then its patient's side
        may show it)."""
        tab = self._office_tab(office, index)
        waiting = sorted(set(self.held) - self.released)
        report = waiting[pick % len(waiting)]
        patient_id, words = self.held[report]
        person = self._person(tab.browser)
        with session_scope() as db:
            was_held = db.get(LabReport, report).released_at is None
            staff_now = access.relation_to(db, person, patient_id) == access.RELATION_STAFF

        def release():
            tab.open(f"{routes.ADMIN_PATIENT}?id={patient_id}")
            if was_held and staff_now and tab.path == routes.ADMIN_PATIENT:
                # The office's page shows it: the words a leak would carry are the real ones.
                assert words[0] in json.dumps(tab.root.dict(), default=str), "the office can't see the held report"
            tab.call(AdminLabsState, how, report_id=str(report))

        self._step(tab, release)
        with session_scope() as db:
            released = db.get(LabReport, report).released_at is not None
        if was_held and released:
            assert staff_now, f"{tab.name} ({person.email if person else 'nobody'}) released a held report"
            RUN["released"] += 1
        if released:
            self.released.add(report)

    @precondition(lambda self: len(self.held) < HELD_MOST)
    @rule(office=st.sampled_from((True, True, False)), index=st.integers(0, 5),
          patient=st.sampled_from(("rosa", "james")), hold=st.sampled_from(("clinician", "category", "none")))
    def office_enters_report(self, office, index, patient, hold):
        """The office enters a report (AdminLabsState.enter_report): held by a clinician, in the
        category the patient may have chosen to hold, or shown at once. Only staff store one."""
        tab = self._office_tab(office, index)
        patient_id = self.patients[patient]
        tag, n = self.tags[patient_id], next(self.report_serial)
        panel, unit, value = words = _held_markers(tag, n)
        now = timefmt.to_local(utcnow())
        form = {"panel": panel, "collected_at": (now - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M"),
                "resulted_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                "ordering_provider": f"Dr. {tag} Park", "test_0": f"{tag}-Sodium", "value_0": value,
                "unit_0": unit, "low_0": "135", "high_0": "145",
                "category": HELD_CATEGORY if hold == "category" else result_release.DEFAULT_CATEGORY}
        if hold == "clinician":
            form |= {"hold": "on", "hold_reason": result_release.CLINICIAN_HOLD_REASONS[1], "hold_note": "",
                     "hold_release_on": (now.date() + timedelta(days=5)).isoformat()}
        person = self._person(tab.browser)
        with session_scope() as db:
            staff_now = access.relation_to(db, person, patient_id) == access.RELATION_STAFF
            high = db.exec(select(func.coalesce(func.max(LabReport.id), 0))).one()

        def enter():
            tab.open(f"{routes.ADMIN_PATIENT}?id={patient_id}")
            tab.call(AdminLabsState, "enter_report",
                     form=form | {"form_key": tab.state(AdminLabsState).form_key})

        # Its words are the patient's from now on (foreign to anyone else), even if a check
        # below fails.
        self.markers[patient_id] += words
        self._step(tab, enter)
        with session_scope() as db:
            new = db.exec(select(LabReport).where(LabReport.id > high)).all()
        for report in new:
            assert staff_now, f"{tab.name} ({person.email if person else 'nobody'}) stored a lab report"
            assert report.patient_id == patient_id and report.panel == panel, (report.patient_id, report.panel)
            if report.released_at is None:
                self.held[report.id] = (patient_id, words)
                RUN["held"] += 1

    @rule(index=st.integers(0, 5) | st.sampled_from((0, 5)), category=st.sampled_from(RESULT_CATEGORIES[:2]),
          days=st.sampled_from(("0", "3", "14")), how=st.sampled_from(ARRIVALS + ("fresh",)))
    def choose_results(self, index, category, days, how):
        """Settings > New test results: "Show me right away" or hold up to N days, then Save —
        on a freshly opened Settings, or on whatever the tab shows (a stale tab). It changes
        only the patient the tab shows, and only when its person is that patient."""
        tab = self._tab(index)
        loads = len(tab.hydrations)
        self._arrive(tab, how, routes.SETTINGS)
        _person, shown, relation = self._relation(tab)
        with session_scope() as db:
            before = _choices(db)

        def choose():
            tab.call(SettingsState, "set_result_mode", category=category, mode="now" if days == "0" else "hold")
            if days != "0":
                tab.call(SettingsState, "set_result_days", category=category, days=days)
            tab.call(SettingsState, "save_result_choices")

        self._write_step(tab, choose, writes_as=(RELATION_SELF,))
        self.loads_before = loads  # the Settings page load belongs to this step
        with session_scope() as db:
            after = _choices(db)
        changed = {key for key in set(before) | set(after) if before.get(key, 0) != after.get(key, 0)}
        for patient_id, _category in changed:
            assert relation == RELATION_SELF and patient_id == shown, \
                f"{tab.name} ({relation} of {shown}) changed the result choice of patient {patient_id}"
        RUN["choices"] += bool(changed)

    @rule(index=st.integers(0, 5), messages=st.booleans(), how=st.sampled_from(ARRIVALS))
    def create_link(self, index, messages, how):
        """Download my record > Share link: it is made for the patient the tab shows, by the
        patient or their caregiver; its URL and passcode are shown once, in that tab."""
        tab = self._tab(index)
        loads = len(tab.hydrations)
        self._arrive(tab, how, routes.RECORD)
        today = timefmt.to_local(utcnow()).date()
        n = next(self.serial)
        form = {SHARE_FIELDS["label"]: f"Dr. Model {n}", SHARE_FIELDS["days"]: "3",
                SHARE_FIELDS["start"]: (today - timedelta(days=400)).isoformat(),
                SHARE_FIELDS["end"]: (today + timedelta(days=400)).isoformat(),
                SHARE_FIELDS["include_messages"]: "on" if messages else ""}
        with session_scope() as db:
            high = db.exec(select(func.coalesce(func.max(ShareLink.id), 0))).one()
        self._write_step(tab, lambda: tab.call(ShareLinksState, "create_link", form=form),
                         writes_as=(RELATION_SELF, RELATION_CAREGIVER))
        self.loads_before = loads
        with session_scope() as db:
            new = db.exec(select(ShareLink).where(ShareLink.id > high)).all()
        assert len(new) <= 1, new
        for link in new:  # (where it landed: _write_step)
            state = tab.state(ShareLinksState)
            token = state.new_url.partition("#")[2]
            assert security.token_hash(token) == link.token_hash, f"{tab.name} shows another link's URL"
            self.links[link.id] = (token, state.new_passcode.replace(" ", ""))
            self.markers[link.patient_id].append(token)
            RUN["links"] += 1

    @rule(index=st.integers(0, 5), pick=st.integers(0, 15), how=st.sampled_from(ARRIVALS))
    def revoke_link(self, index, pick, how):
        """Revoke on a share link (any link's id, as a crafted event could send): turned off
        only for the patient the tab shows, by the patient or their caregiver."""
        if not self.links:
            return
        link_id = sorted(self.links)[pick % len(self.links)]
        tab = self._tab(index)
        loads = len(tab.hydrations)
        self._arrive(tab, how, routes.RECORD)
        _person, shown, relation = self._relation(tab)
        with session_scope() as db:
            before = db.get(ShareLink, link_id).revoked_at
        self._step(tab, lambda: tab.call(ShareLinksState, "revoke", link_id=str(link_id)))
        self.loads_before = loads
        with session_scope() as db:
            link = db.get(ShareLink, link_id)
        if before is None and link.revoked_at is not None:
            assert link.patient_id == shown and relation in (RELATION_SELF, RELATION_CAREGIVER), \
                f"{tab.name} ({relation} of {shown}) revoked a link of patient {link.patient_id}"
            RUN["revoked"] += 1

    @rule(pick=st.integers(0, 15))
    def link_expires(self, pick):
        """A share link's days are over."""
        if not self.links:
            return
        with session_scope(self.engine) as db:  # the test is the unit of work
            link = db.get(ShareLink, sorted(self.links)[pick % len(self.links)])
            link.expires_at = utcnow() - timedelta(seconds=1)
            db.add(link)
        self.acted = None

    @rule(which=st.integers(0, 1), pick=st.integers(0, 15), right=st.sampled_from((True, True, True, False)))
    def stranger_opens_link(self, which, pick, right):
        """Someone given a link opens /shared#<token> in an anonymous browser and types the
        passcode (sometimes a wrong one)."""
        if not self.links:
            return
        token, passcode = self.links[sorted(self.links)[pick % len(self.links)]]
        tab = self.strangers[which]

        def open_it():
            tab.fragment = token
            tab.open(routes.SHARED)
            if tab.state(SharedRecordState).view == "passcode":
                tab.call(SharedRecordState, "open_record", form={"passcode": passcode if right else _wrong(passcode)})
            RUN["shared_views"] += tab.state(SharedRecordState).view == "record"

        self._stranger_step(tab, open_it)

    @precondition(lambda self: any(t.fragment for t in self.strangers))
    @rule(which=st.integers(0, 1), event=st.sampled_from(("reload", "download_pdf", "download_fhir", "leave")))
    def stranger_acts(self, which, event):
        """The open /shared page's next event: a reload, a download, or leaving the page."""
        tab = self.strangers[which]
        if not tab.fragment:
            return

        def act():
            was_open = tab.state(SharedRecordState).view == "record"
            if event == "reload":
                tab.open(routes.SHARED)
            else:
                self.stranger_texts = _downloaded_texts(tab.call(SharedRecordState, event))
            with session_scope() as db:
                link = db.exec(select(ShareLink).where(
                    ShareLink.token_hash == security.token_hash(tab.fragment))).one()
                RUN["shared_after_end"] += was_open and not self._link_works(db, link)

        self._stranger_step(tab, act)

    @precondition(lambda self: any(t.state(SharedRecordState).view == "record" for t in self.strangers))
    @rule(which=st.integers(0, 1), end=st.sampled_from(("revoked", "expired")),
          event=st.sampled_from(("reload", "download_pdf", "download_fhir", "leave")))
    def link_ends_while_open(self, which, end, event):
        """The patient turns a link off (from another device), or its days run out, while the
        recipient's page shows the record; then the page's next event."""
        tab = [t for t in self.strangers if t.state(SharedRecordState).view == "record"][which % 2 - 1]
        with session_scope(self.engine) as db:  # the test is the unit of work
            link = db.exec(select(ShareLink).where(ShareLink.token_hash == security.token_hash(tab.fragment))).one()
            if end == "revoked" and link.revoked_at is None:
                link.revoked_at = utcnow()
            else:
                link.expires_at = min(link.expires_at, utcnow() - timedelta(seconds=1))
            db.add(link)

        def act():
            if event == "reload":
                tab.open(routes.SHARED)
            else:
                self.stranger_texts = _downloaded_texts(tab.call(SharedRecordState, event))
            RUN["shared_after_end"] += 1

        self._stranger_step(tab, act)

    def _stranger_step(self, tab: "LinkTab", act) -> None:
        self.stranger_loads_before = len(tab.hydrations)
        self.stranger_texts = []
        act()
        self.stranger_acted = tab
        self.acted = None
        RUN["steps"] += 1

    def _link_works(self, db: Session, link: ShareLink) -> bool:
        """Whether the link can be opened now (the rules of share_links._live_link, restated)."""
        maker = db.get(User, link.created_by_user_id)
        return (link.revoked_at is None and link.expires_at > utcnow()
                and link.wrong_passcodes < SHARE_LINK_MAX_WRONG
                and access.relation_to(db, maker, link.patient_id) in (RELATION_SELF, RELATION_CAREGIVER))

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
            links_high = db.exec(select(func.coalesce(func.max(ShareLink.id), 0))).one()
        self._step(tab, act)
        with session_scope() as db:
            after = _rows(db)
            new_messages = db.exec(select(Message, MessageThread.patient_id).join(
                MessageThread, MessageThread.id == Message.thread_id).where(Message.id > high)).all()
            new_grants = db.exec(select(CaregiverGrant).where(CaregiverGrant.id > grants_high)).all()
            new_urgent = db.exec(select(UrgentItem).where(UrgentItem.id > urgent_high)).all()
            new_links = db.exec(select(ShareLink).where(ShareLink.id > links_high)).all()
        for _message, patient_id in new_messages:
            assert patient_id == shown, f"{tab.name} showed patient {shown}; a message went to {patient_id}"
        for grant in new_grants:
            assert grant.patient_id == shown, f"{tab.name} showed {shown}; a grant went to {grant.patient_id}"
        for item in new_urgent:
            assert item.patient_id == shown, f"{tab.name} showed {shown}; an urgent item went to {item.patient_id}"
        for link in new_links:
            assert (link.patient_id, link.created_by_user_id) == (shown, person.id), \
                f"{tab.name} showed {shown} for {person.id}; a share link went to {link.patient_id}"
        if relation not in writes_as:
            assert after == before, f"a refused write by {tab.name} changed rows: {before} -> {after}"

    @invariant()
    def a_signed_in_tab_holds_no_password_passed_step(self):
        """The second step's token (the last person's password, passed) never outlives a
        sign-in: not into the signed-in person's tab, nor the next person's."""
        tab = getattr(self, "acted", None)
        if tab is not None and tab.browser.token:
            assert tab.state(SignInState)._second_step == "", f"{tab.name} kept a second step"

    @invariant()
    def the_acting_tab_holds_only_what_its_person_may_see(self):
        tab = getattr(self, "acted", None)
        if tab is None:
            return
        person = self._person(tab.browser)
        foreign = self._foreign(person)
        sent, kept = tab.serialised(), tab.at_rest()
        for marker in foreign:
            assert marker not in sent, f"{tab.name} would send {marker!r} to its person"
            assert marker not in kept, f"{tab.name} keeps {marker!r} on the server"
        loads = tab.hydrations[self.loads_before:]  # the page loads of this step
        for hydration in loads:
            text = str(hydration)
            for marker in foreign:
                assert marker not in text, f"{tab.name} was sent {marker!r} on a page load"
        # (d) A held report is in no patient-side state, whoever the person is.
        held = self._held_now()
        if held:
            office = _office_person(person)
            if office:
                sent, kept = json.dumps(_patient_side(tab.root.dict()), default=str), _kept_patient_side(tab)
            texts = [sent, kept] + [str(_patient_side(h) if office else h) for h in loads]
            for marker in held:
                for text in texts:
                    assert marker not in text, f"{tab.name} holds the held report's {marker!r}"
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

    @invariant()
    def a_shared_record_holds_only_its_link_s_patient(self):
        """(e) An anonymous /shared tab: only its link's patient's record (messages only if the
        link has them, never a held report); after its own event, nothing of any record once
        the link no longer works. A tab that had no event since keeps what it was sent."""
        acted, self.stranger_acted = getattr(self, "stranger_acted", None), None
        strangers = [t for t in getattr(self, "strangers", []) if t.fragment]
        if not strangers:
            return
        held = self._held_now()
        for tab in strangers:
            with session_scope() as db:
                link = db.exec(select(ShareLink).where(
                    ShareLink.token_hash == security.token_hash(tab.fragment))).one()
                works = self._link_works(db, link)
            texts = [tab.serialised(), tab.at_rest()]
            if tab is acted:  # what its event sent: a page load's full state, a file
                texts += [str(h) for h in tab.hydrations[self.stranger_loads_before:]] + self.stranger_texts
            allowed = link.patient_id if works or tab is not acted else None
            forbidden = held + [m for pid, ms in self.markers.items() if pid != allowed for m in ms]
            forbidden += [name for pid, name in self.names.items() if pid != allowed]
            if allowed is not None and not link.include_messages:
                forbidden += self.message_markers[allowed]
            for marker in forbidden:
                if marker == tab.fragment:
                    continue  # the page's own address
                for text in texts:
                    assert marker not in text, \
                        f"{tab.name} (link {link.id}, {'works' if works else 'no longer works'}) holds {marker!r}"


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


def _office_person(person: User | None) -> bool:
    return person is not None and person.is_staff


_OFFICE_STATES: set[str] = set()


def _office_states() -> set[str]:
    """The full names of the office's page states (AdminState and every subclass)."""
    if not _OFFICE_STATES:
        todo = [AdminState]
        while todo:
            cls = todo.pop()
            _OFFICE_STATES.add(cls.get_full_name())
            todo.extend(cls.__subclasses__())
    return _OFFICE_STATES


def _patient_side(snapshot: dict) -> dict:
    """A tab's state as sent (``State.dict``: one entry per state), the office's pages left
    out: a staff member's own pages show held reports (that is where they are reviewed)."""
    office = _office_states()
    return {name: values for name, values in snapshot.items() if name not in office}


def _kept_patient_side(tab: Tab) -> str:
    """Tab.at_rest without the office's page states."""
    values, todo = [], [tab.root]
    while todo:
        state = todo.pop()
        cls = type(state)
        if not isinstance(state, AdminState):
            for name, f in cls.__fields__.items():
                if f._owner is cls and name != "router_data" and not name.startswith("rx_router"):
                    values.append(f"{name}={getattr(state, name, '')!r}")
        todo.extend(state.substates.values())
    return "\n".join(values)


class LinkTab(Tab):
    """A tab at /shared#<token>: the browser sends the fragment with every event."""

    fragment = ""

    def _router_data(self) -> dict:
        data = super()._router_data()
        if self.fragment:
            data["asPath"] += f"#{self.fragment}"
        return data


def _wrong(passcode: str) -> str:
    return "00000000" if passcode != "00000000" else "11111111"


def _patient(db, patient_id):
    return db.get(Patient, patient_id)


# Steps that drove a tab, over the whole run, and how often the issue #16 sequences
# happened (reported, and checked: a run where they never happen proves nothing of them).
RUN = {"steps": 0, "held": 0, "released": 0, "choices": 0, "links": 0, "revoked": 0, "shared_views": 0,
       "shared_after_end": 0, "two_step": 0, "scope_changes": 0, "ended": 0,
       "languages": 0}


@pytest.fixture
def practice_machine(engine):
    Practice.engine = engine
    yield Practice
    Practice.engine = None


def test_one_tab_one_person_one_patient(practice_machine):
    from hypothesis.stateful import run_state_machine_as_test

    RUN.update(dict.fromkeys(RUN, 0))
    run_state_machine_as_test(practice_machine, settings=settings(
        max_examples=int(os.environ.get("ISOLATION_EXAMPLES", "40")), stateful_step_count=50,
        derandomize=True, deadline=None, suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False, database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
        + ([Phase.shrink] if os.environ.get("ISOLATION_SHRINK") else [])))
    # A run that drove (almost) no tab proves nothing: the sequences must have happened.
    assert RUN["steps"] >= 8 * int(os.environ.get("ISOLATION_EXAMPLES", "40")), RUN
    # Issue #17: Maria's scope changed, her end date came and tabs switched language.
    assert RUN["scope_changes"] and RUN["ended"] and RUN["languages"], RUN
    print(f"isolation model: {RUN['steps']} tab steps; issue #16: {RUN}")
