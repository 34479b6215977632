"""Each way CareSpace failed to hold people apart, as the sequence that showed it.

In-process, through the real handlers, the tab guard and the real session lookup
(tests/tabs.py). The same stories run in Chromium in tests/e2e/test_isolation.py;
tests/security/test_isolation_model.py explores random sequences of them.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.models import AuditEvent, CaregiverGrant, MessageThread
from carespace_app.services.permissions import caregivers
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.identity import sessions
from carespace_app.services.onboarding import staff
from carespace_app.state.access_page import AccessState
from carespace_app.state.admin_patient import AdminPatientState
from carespace_app.state.labs import LabsState
from carespace_app.state.manage_users import ManageUsersState
from carespace_app.state.messages import MessagesState
from carespace_app.state.session import READ_ONLY, SessionState
from tests.factories import grant_caregiver, make_patient, make_staff, patient_user
from tests.tabs import Browser, sign_in_token


@pytest.fixture
def practice(db):
    rosa = make_patient(db, first_name="Rosa", last_name="Alvarez", mrn="RZQ-00001")
    james = make_patient(db, first_name="James", last_name="Okafor", mrn="JZQ-00002")
    office = make_staff(db, full_name="Sam Nurse")
    maria = grant_caregiver(db, rosa, full_name="Maria Alvarez", email="maria@example.net")
    grant_caregiver(db, james, user=maria)
    for patient, tag in ((rosa, "Rzq"), (james, "Jzq")):
        messaging.start_thread(db, patient_user(db, patient), patient.id, category="Billing",
                               subject=f"{tag} subject", body=f"{tag} body", client_key=None,
                               clock=utcnow)
        for n in range(11):  # one more than a Labs page
            labs.enter_report(db, office, patient.id, panel=f"{tag} panel {n:02d}",
                              collected_at=utcnow() - timedelta(days=40 - n),
                              resulted_at=utcnow() - timedelta(days=39 - n),
                              ordering_provider="Dr. Park",
                              results=[labs.ResultInput(test_name="Sodium", value=130.0 + n,
                                                        unit="mmol/L", ref_low=135, ref_high=145)],
                              clock=utcnow)
    people = dict(rosa=rosa, james=james, rosa_user=patient_user(db, rosa),
                  james_user=patient_user(db, james), maria=maria, office=office)
    db.commit()  # the set-up is one unit of work; the tabs read in their own
    return people


def _signed_in(browser: Browser, user, page: str = routes.HOME):
    browser.token = sign_in_token(user)
    tab = browser.tabs[0] if browser.tabs else browser.tab()
    tab.open(page)
    return tab


def _nothing_of(tab, *markers: str) -> None:
    for text in (tab.serialised(), tab.at_rest(), *map(str, tab.hydrations[-1:])):
        for marker in markers:
            assert marker not in text, f"{tab.name} still holds {marker!r}"


# --- 1. health data outlives the person in a tab -------------------------------------------


def test_the_shared_computer_the_next_person_gets_nothing_of_the_last(practice):
    shared = Browser("family")
    tab = _signed_in(shared, practice["rosa_user"], routes.MESSAGES)
    tab.open(routes.LABS)
    assert "Rzq subject" in tab.at_rest() and "Rzq panel" in tab.serialised()

    tab.call(SessionState, "sign_out")
    assert tab.path == routes.SIGN_IN
    # The sign-in page's own hydration, with no cookie at all, sends nothing of Rosa's.
    _nothing_of(tab, "Rzq", "RZQ-00001", practice["rosa"].email)

    shared.token = sign_in_token(practice["james_user"])
    tab.open(routes.HOME)
    assert tab.session_state.patient_name == "James Okafor"
    _nothing_of(tab, "Rzq", "RZQ-00001", practice["rosa"].email)


def test_the_front_desk_a_patient_after_the_office_gets_no_office_data(practice):
    desk = Browser("front-desk")
    tab = _signed_in(desk, practice["office"], routes.ADMIN)
    tab.open(f"{routes.ADMIN_PATIENT}?id={practice['rosa'].id}")
    assert "RZQ-00001" in tab.serialised()
    tab.call(SessionState, "sign_out")
    desk.token = sign_in_token(practice["james_user"])
    tab.open(routes.HOME)
    _nothing_of(tab, "RZQ-00001", practice["rosa"].email, "Rzq")


def test_a_reload_after_revocation_or_deactivation_gets_back_nothing(practice, db):
    maria_browser = Browser("maria")
    tab = _signed_in(maria_browser, practice["maria"], routes.HOME)
    tab.call(SessionState, "switch_patient", patient_id=str(practice["rosa"].id))
    tab.open(routes.MESSAGES)
    assert "Rzq subject" in tab.serialised()
    grant = db.exec(select(CaregiverGrant).where(CaregiverGrant.patient_id == practice["rosa"].id,
                                                 CaregiverGrant.email == "maria@example.net")).one()
    caregivers.revoke_access(db, practice["rosa_user"], grant.id, clock=utcnow)
    db.commit()  # the test is the unit of work
    tab.open(routes.MESSAGES)  # a reload
    _nothing_of(tab, "Rzq", "RZQ-00001")

    ada = make_staff(db, full_name="Ada Admin", is_admin=True)
    office_browser = Browser("office")
    office_tab = _signed_in(office_browser, practice["office"], f"{routes.ADMIN_PATIENT}?id={practice['rosa'].id}")
    assert "RZQ-00001" in office_tab.serialised()
    staff.deactivate(db, ada, practice["office"].id, clock=utcnow)
    db.commit()  # the test is the unit of work
    office_tab.open(f"{routes.ADMIN_PATIENT}?id={practice['rosa'].id}")
    assert office_tab.path == routes.SIGN_IN
    _nothing_of(office_tab, "RZQ-00001", "Rzq")


# --- 2. the patient being viewed belongs to the tab -----------------------------------------


def test_a_caregivers_two_tabs_each_keep_their_patient(practice, db):
    maria_browser = Browser("maria")
    first, second = maria_browser.tab(), maria_browser.tab()
    maria_browser.token = sign_in_token(practice["maria"])
    first.open(routes.HOME)
    first.call(SessionState, "switch_patient", patient_id=str(practice["rosa"].id))
    first.open(routes.MESSAGES)
    assert first.session_state.patient_name == "Rosa Alvarez"
    first.open(routes.LABS)

    second.open(routes.HOME)
    second.call(SessionState, "switch_patient", patient_id=str(practice["james"].id))
    assert second.session_state.patient_name == "James Okafor"

    # Back in the first tab, under "You are viewing Rosa Alvarez's portal":
    first.call(LabsState, "more_reports")
    shown = first.serialised()
    assert "Rzq panel 00" in shown and "Jzq" not in shown
    first.open(routes.MESSAGES)
    assert first.session_state.patient_name == "Rosa Alvarez"
    first.call(MessagesState, "start_compose")
    first.call(MessagesState, "send_message",
               form={"category": "Billing", "subject": "For Rosa's bill", "body": "From Maria"})
    sent = db.exec(select(MessageThread).where(MessageThread.subject == "For Rosa's bill")).one()
    assert sent.patient_id == practice["rosa"].id


# --- 3. losing access never falls through to another patient --------------------------------


def test_revocation_mid_page_never_lands_in_the_other_patients_record(practice, db):
    maria_browser = Browser("maria")
    tab = _signed_in(maria_browser, practice["maria"], routes.HOME)
    tab.call(SessionState, "switch_patient", patient_id=str(practice["rosa"].id))
    tab.open(routes.MESSAGES)
    tab.call(MessagesState, "start_compose")
    threads_before = db.exec(select(MessageThread)).all()

    grant = db.exec(select(CaregiverGrant).where(CaregiverGrant.patient_id == practice["rosa"].id,
                                                 CaregiverGrant.email == "maria@example.net")).one()
    caregivers.revoke_access(db, practice["rosa_user"], grant.id, clock=utcnow)
    db.commit()  # the test is the unit of work

    tab.call(MessagesState, "send_message",
             form={"category": "Billing", "subject": "Meant for Rosa", "body": "From Maria"})
    assert db.exec(select(MessageThread)).all() == threads_before  # stored nowhere, not in James's
    assert tab.path == routes.ACCESS
    access = tab.state(AccessState)
    assert access.title == "Your access to Rosa Alvarez's portal has ended"
    assert [c.label for c in access.choices] == ["Open James Okafor's portal"]
    _nothing_of(tab, "Rzq", "Jzq")

    # The same on Labs: the access page, never James's results under Rosa's name.
    tab.call(SessionState, "switch_patient", patient_id=str(practice["james"].id))
    assert tab.session_state.patient_name == "James Okafor"
    tab.open(routes.LABS)
    assert "Jzq panel" in tab.serialised()


def test_a_caregiver_with_no_patient_left_is_told_so_not_looped(practice, db):
    for patient in ("rosa", "james"):
        grant = db.exec(select(CaregiverGrant).where(
            CaregiverGrant.patient_id == practice[patient].id,
            CaregiverGrant.email == "maria@example.net")).one()
        caregivers.revoke_access(db, practice[f"{patient}_user"], grant.id, clock=utcnow)
        db.commit()  # the test is the unit of work
    tab = _signed_in(Browser("maria"), practice["maria"], routes.HOME)
    assert tab.path == routes.ACCESS
    assert tab.state(AccessState).title == "You don't have access to a patient's portal right now"
    assert tab.state(AccessState).choices == []
    assert tab.browser.token is not None  # still signed in: no loop back to sign-in


# --- 4. endings are explained ----------------------------------------------------------------


def test_a_patient_at_the_admin_page_is_told_it_is_for_the_office_and_stays_signed_in(practice, db):
    tab = _signed_in(Browser("rosa"), practice["rosa_user"], routes.ADMIN)
    assert tab.path == routes.ADMIN
    assert tab.session_state.office_only
    assert "JZQ-00002" not in tab.serialised()
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    assert [e.actor_user_id for e in refused] == [practice["rosa_user"].id]
    tab.open(routes.HOME)
    assert tab.path == routes.HOME and tab.session_state.patient_name == "Rosa Alvarez"


def test_view_as_patient_is_read_only_and_back_to_admin_ends_it_in_every_tab(practice, db):
    office_browser = Browser("office")
    first, second = office_browser.tab(), office_browser.tab()
    office_browser.token = sign_in_token(practice["office"])
    first.open(f"{routes.ADMIN_PATIENT}?id={practice['rosa'].id}")
    first.call(AdminPatientState, "view_as_patient")
    assert first.path == routes.HOME and first.session_state.view_as
    second.open(routes.MESSAGES)
    assert second.session_state.patient_name == "Rosa Alvarez"

    first.open(routes.MESSAGES)
    first.call(MessagesState, "start_compose")
    before = db.exec(select(MessageThread)).all()
    first.call(MessagesState, "send_message",
               form={"category": "Billing", "subject": "Office typing", "body": "as Rosa"})
    assert first.state(MessagesState).compose_error == READ_ONLY
    first.open(routes.MANAGE_USERS)
    first.call(ManageUsersState, "grant", form={"name": "Someone", "email": "someone@example.net"})
    assert first.state(ManageUsersState).grant_error == READ_ONLY
    assert db.exec(select(MessageThread)).all() == before

    first.call(SessionState, "back_to_admin")
    assert first.path == routes.ADMIN
    second.call(LabsState, "more_reports")  # the other tab's next click
    assert second.path == routes.ADMIN and not second.session_state.view_as
    assert "Rzq panel" not in second.serialised()


# --- state at rest ---------------------------------------------------------------------------


def test_tab_state_lives_in_memory_or_redis_and_expires_with_the_idle_sign_out(monkeypatch):
    import importlib

    import rxconfig

    from carespace_app.config import get_settings

    def reload_with(redis_url):  # rxconfig reads the settings, read once per environment
        if redis_url is None:
            monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
        else:
            monkeypatch.setenv("REFLEX_REDIS_URL", redis_url)
        get_settings.cache_clear()
        return importlib.reload(rxconfig).config

    config = reload_with(None)
    assert config.state_manager_mode == "memory"  # never files under .states/
    assert config.redis_token_expiration <= sessions.IDLE_TIMEOUT.total_seconds()
    config = reload_with("redis://127.0.0.1:6379/0")
    assert config.state_manager_mode == "redis"
    assert config.redis_token_expiration <= sessions.IDLE_TIMEOUT.total_seconds()
    reload_with(None)


def test_when_the_tab_cannot_be_checked_nothing_runs_and_the_person_is_told(practice, db, monkeypatch):
    """The database unreachable as an event arrives: the guard can't tell who the tab is
    for, so the handler never runs and nothing of the tab is sent; a calm toast instead."""
    import asyncio

    from reflex_base.event import Event
    from sqlalchemy.exc import OperationalError

    from carespace_app.services.permissions import tab_access
    from carespace_app.state.session import SOMETHING_WRONG
    from carespace_app.state.tab_guard import TabGuard

    tab = _signed_in(Browser("rosa"), practice["rosa_user"], routes.MESSAGES)
    tab.call(MessagesState, "start_compose")

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("could not connect"))

    monkeypatch.setattr(tab_access, "resolve_tab", unreachable)
    update = asyncio.run(TabGuard().preprocess(None, tab.root, Event(
        name=f"{MessagesState.get_full_name()}.send_message", payload={})))
    assert update is not None and update.events == []
    assert SOMETHING_WRONG in str(update.delta) and "Rzq" not in str(update.delta)
