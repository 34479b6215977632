"""Caregiver access the patient shapes (issue #17): scopes, end dates, Change access.

For each scope, every area's service call is allowed or refused (with its audit row); an end
date ends access at the right instant without a sweep, the sweep records it and emails the
week-before notice once; Manage Users' form refuses bad dates; a change of scope reaches the
caregiver's open tab at its next event.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from carespace_app import routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.db import session_scope
from carespace_app.models import (AuditEvent, CaregiverGrant, Message, OutboxEmail, PatientAccess,
                                  SCOPE_APPOINTMENTS, SCOPE_APPOINTMENTS_LABS, SCOPE_FULL)
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.mail import notifications
from carespace_app.services.permissions import access, access_ends, caregivers, scopes, tab_access
from carespace_app.services.records import (appointments, checkins, labs, messaging,
                                            record_export, share_links)
from carespace_app.state.access_page import AccessState
from carespace_app.state.manage_users import ManageUsersState
from carespace_app.state.messages import MessagesState
from carespace_app.state import portal
from carespace_app.state.portal import HomeState
from tests.factories import grant_caregiver, make_patient, make_staff, make_user, patient_user
from tests.tabs import Browser, sign_in_token


@pytest.fixture
def rosa(db):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez")
    patient_user(db, patient)
    return patient


def _carer(db, rosa, scope, **kw):
    return grant_caregiver(db, rosa, full_name=kw.pop("full_name", "Maria Alvarez"), scope=scope, **kw)


def _refusals(db) -> list[AuditEvent]:
    return db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")
                   .order_by(AuditEvent.id)).all()


def _refused_count(db) -> int:
    return sum(r.repeat_count for r in _refusals(db))


def _committed_refusals() -> list[AuditEvent]:
    """What the tabs' own units of work committed (read in a fresh one)."""
    with session_scope() as fresh:
        return _refusals(fresh)


# Each area: one read (or act) a caregiver's tab can make, through the service that serves it.
def _calls(thread_id):
    return {
        scopes.AREA_APPOINTMENTS: lambda db, u, p, c: appointments.upcoming(db, u, p, clock=c),
        scopes.AREA_LABS: lambda db, u, p, c: labs.list_reports(db, u, p, clock=c),
        scopes.AREA_MESSAGES: lambda db, u, p, c: messaging.list_threads(db, u, p, clock=c),
        "messages: unread badge": lambda db, u, p, c: messaging.unread_count(db, u, p, clock=c),
        "messages: open": lambda db, u, p, c: messaging.open_thread(db, u, thread_id, clock=c,
                                                                    patient_id=p),
        "messages: drafts": lambda db, u, p, c: messaging.drafts_for(db, u, p, clock=c),
        "messages: send": lambda db, u, p, c: messaging.start_thread(
            db, u, p, category="Other", subject="Hello", body="A question", client_key=None, clock=c),
        scopes.AREA_CHECKINS: lambda db, u, p, c: checkins.history(db, u, p, clock=c),
        "checkins: due": lambda db, u, p, c: checkins.due_for(db, u, p, clock=c),
        scopes.AREA_RECORD: lambda db, u, p, c: record_export.collect(
            db, u, p, start=date(2025, 1, 1), end=date(2026, 1, 1), include_messages=False,
            clock=c),
        scopes.AREA_SHARE_LINKS: lambda db, u, p, c: share_links.list_links(db, u, p, clock=c),
        "labs: latest": lambda db, u, p, c: labs.latest_reports(db, u, p, clock=c),
    }


def _area(name: str) -> str:
    return name.split(":")[0]


@pytest.mark.parametrize("scope", [SCOPE_FULL, SCOPE_APPOINTMENTS_LABS, SCOPE_APPOINTMENTS])
def test_each_scope_reaches_its_areas_and_every_other_call_is_refused_and_audited(db, clock, rosa,
                                                                                  scope):
    maria = _carer(db, rosa, scope)
    thread_id = messaging.start_thread(db, patient_user(db, rosa), rosa.id, category="Other",
                                       subject="Rosa's own", body="Private", client_key=None,
                                       clock=clock)
    db.commit()
    reached = scopes.SCOPE_AREAS[scope]
    for name, call in _calls(thread_id).items():
        before = _refused_count(db)
        if _area(name) in reached:
            call(db, maria, rosa.id, clock)
            assert _refused_count(db) == before, name
        else:
            with pytest.raises(NotAllowed):
                call(db, maria, rosa.id, clock)
            # Repeats within a minute fold into one row (trail.py's flood guard): count them.
            assert _refused_count(db) == before + 1, name
            refused = _refusals(db)[-1]
            assert refused.actor_user_id == maria.id and refused.patient_id == rosa.id
            assert f"outside the caregiver's {scope} access" in refused.detail


def test_the_patient_and_staff_are_never_scoped(db, clock, rosa):
    _carer(db, rosa, SCOPE_APPOINTMENTS)
    nurse = make_staff(db)
    me = patient_user(db, rosa)
    for who in (me, nurse):
        messaging.list_threads(db, who, rosa.id, clock=clock)
        labs.list_reports(db, who, rosa.id, clock=clock)
    assert _refusals(db) == []


def test_scope_words_and_areas_are_defined_once():
    assert scopes.areas_for("caregiver", SCOPE_APPOINTMENTS) == {"home", "appointments", "resources"}
    assert scopes.areas_for("caregiver", SCOPE_APPOINTMENTS_LABS) == {"home", "appointments", "labs",
                                                                     "resources"}
    assert scopes.areas_for("caregiver", SCOPE_FULL) == set(scopes.ALL_AREAS)
    assert scopes.areas_for("self", None) == set(scopes.ALL_AREAS)
    assert scopes.areas_for(None, None) == set()
    assert scopes.outside_scope_text("Rosa Alvarez", "messages") == (
        "Your access to Rosa Alvarez's portal doesn't include messages.")


def test_news_about_an_area_is_not_emailed_to_a_caregiver_it_leaves_out(db, clock, rosa):
    limited = _carer(db, rosa, SCOPE_APPOINTMENTS)
    full = _carer(db, rosa, SCOPE_FULL, full_name="Luis Alvarez")
    notifications.tell_patient_side(db, rosa.id, news="You have a new message", path=routes.MESSAGES,
                                    kind=notifications.MESSAGE_KIND, clock=clock)
    notifications.tell_patient_side(db, rosa.id, news="Your appointment changed",
                                    path=routes.APPOINTMENTS, kind=notifications.APPOINTMENT_KIND,
                                    clock=clock)
    sent = db.exec(select(OutboxEmail.to_address, OutboxEmail.kind)).all()
    assert (limited.email, notifications.MESSAGE_KIND) not in sent
    assert (limited.email, notifications.APPOINTMENT_KIND) in sent
    assert (full.email, notifications.MESSAGE_KIND) in sent


# --- end dates -----------------------------------------------------------------------


def test_access_ends_at_the_start_of_its_day_in_the_practice_zone_without_a_sweep(db, clock, rosa):
    end = date(2026, 1, 10)
    maria = _carer(db, rosa, SCOPE_FULL, ends_on=end)
    midnight = timefmt.to_utc_naive(datetime(2026, 1, 10, 0, 0))
    assert midnight == datetime(2026, 1, 10, 6, 0)  # America/Chicago in January
    assert access.relation_to(db, maria, rosa.id, now=midnight - timedelta(seconds=1)) == "caregiver"
    assert access.relation_to(db, maria, rosa.id, now=midnight) is None
    clock.now = midnight
    with pytest.raises(NotAllowed):
        appointments.upcoming(db, maria, rosa.id, clock=clock)
    # A tab showing Rosa loses her at its next event, recorded once on her trail.
    found = tab_access.resolve_tab(db, sign_in_token_in(db, maria, clock), rosa.id, clock=clock,
                                   touch=False)
    assert found.patient_id is None and found.lost == tab_access.LOST_REVOKED


def sign_in_token_in(db, user, clock):
    from carespace_app.services.identity import sessions
    ticket = sessions.start_session(db, user, clock=clock, client_ip="198.51.100.7", user_agent="t")
    return sessions.redeem_ticket(db, ticket, clock=clock)


def test_the_sweep_warns_once_a_week_before_then_records_the_end(db, clock, rosa):
    end = date(2026, 1, 20)
    maria = _carer(db, rosa, SCOPE_APPOINTMENTS, ends_on=end)
    grant = db.exec(select(CaregiverGrant)).one()
    assert access_ends.sweep(db, clock=clock) == (0, 0)  # Jan 5: 15 days ahead
    clock.now = timefmt.to_utc_naive(datetime(2026, 1, 13, 1, 0))  # inside the week
    assert access_ends.sweep(db, clock=clock) == (0, 1)
    assert access_ends.sweep(db, clock=clock) == (0, 0)  # once
    (notice,) = db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == access_ends.END_NOTICE_KIND)).all()
    assert notice.to_address == patient_user(db, rosa).email
    assert "Maria Alvarez's access to your portal ends on" in notice.body_template
    assert routes.item_link(routes.MANAGE_USERS) in notice.body_template
    clock.now = timefmt.to_utc_naive(datetime(2026, 1, 20, 0, 0))
    assert access_ends.sweep(db, clock=clock) == (1, 0)
    assert access_ends.sweep(db, clock=clock) == (0, 0)
    db.refresh(grant)
    assert grant.ended_at == clock.now and grant.revoked_at == clock.now
    assert db.get(PatientAccess, grant.access_id).revoked_at == clock.now
    ended = db.exec(select(AuditEvent).where(AuditEvent.action == "access.ended")).one()
    assert ended.patient_id == rosa.id and "Maria Alvarez" in ended.detail
    rows = caregivers.authorized_users(db, patient_user(db, rosa), rosa.id, clock=clock)
    assert rows[0]["status"] == "ended"
    assert access.relation_to(db, maria, rosa.id, now=clock.now) is None


def test_the_patient_extends_or_removes_the_end_date_and_a_new_one_gets_its_own_notice(db, clock,
                                                                                      rosa):
    maria = _carer(db, rosa, SCOPE_FULL, ends_on=date(2026, 1, 8))
    me = patient_user(db, rosa)
    grant = db.exec(select(CaregiverGrant)).one()
    access_ends.sweep(db, clock=clock)
    assert grant.end_notice_sent_at is not None
    caregivers.change_access(db, me, grant.id, scope=SCOPE_FULL, ends_on="2026-03-01", clock=clock,
                             patient_id=rosa.id)
    assert grant.ends_on == date(2026, 3, 1) and grant.end_notice_sent_at is None
    clock.now = datetime(2026, 1, 9)
    assert access.relation_to(db, maria, rosa.id, now=clock.now) == "caregiver"
    caregivers.change_access(db, me, grant.id, scope=SCOPE_FULL, ends_on="", clock=clock,
                             patient_id=rosa.id)
    assert grant.ends_on is None and db.get(PatientAccess, grant.access_id).ends_on is None
    changed = db.exec(select(AuditEvent).where(AuditEvent.action == "caregiver.access_changed")).all()
    assert len(changed) == 2 and "2026-03-01 -> " in changed[-1].detail
    assert access_ends.sweep(db, clock=clock) == (0, 0)


def test_the_caregiver_is_emailed_their_new_access_in_their_own_language(db, clock, rosa):
    maria = _carer(db, rosa, SCOPE_FULL)
    maria.language = "es"
    db.add(maria)
    me = patient_user(db, rosa)
    grant = db.exec(select(CaregiverGrant)).one()

    def emails():
        return db.exec(select(OutboxEmail).where(OutboxEmail.to_address == maria.email)
                       .order_by(OutboxEmail.id)).all()

    caregivers.change_access(db, me, grant.id, scope=SCOPE_APPOINTMENTS, ends_on="2026-03-01",
                             clock=clock, patient_id=rosa.id)
    (first,) = emails()
    assert first.kind == caregivers.ACCESS_CHANGED_KIND and first.language == "es"
    assert first.subject == "Cambió su acceso al portal CareSpace de Rosa Alvarez"
    assert "Hola, Maria Alvarez:" in first.body_template and timefmt.day(date(2026, 3, 1), lang="es") in first.body_template
    assert "citas" in first.body_template and routes.item_link(routes.HOME) in first.body_template

    # The same terms again (a second tap on Save) send nothing more; removing the end date does.
    caregivers.change_access(db, me, grant.id, scope=SCOPE_APPOINTMENTS, ends_on="2026-03-01",
                             clock=clock, patient_id=rosa.id)
    assert len(emails()) == 1
    maria.language = "en"
    db.add(maria)
    caregivers.change_access(db, me, grant.id, scope=SCOPE_APPOINTMENTS, ends_on="", clock=clock,
                             patient_id=rosa.id)
    second = emails()[-1]
    assert second.subject == "Your access to Rosa Alvarez's CareSpace portal changed"
    assert "You will see their appointments and resources (not their lab results or messages). " \
           "Your access has no end date." in second.body_template

    # An invitation not yet accepted has no account to email: its invitation says the terms.
    pending = caregivers.grant_access(db, me, rosa.id, name="Luis Alvarez", email="luis@example.com",
                                      scope=SCOPE_FULL, clock=clock)
    caregivers.change_access(db, me, pending.id, scope=SCOPE_APPOINTMENTS, ends_on="", clock=clock,
                             patient_id=rosa.id)
    assert db.exec(select(OutboxEmail).where(OutboxEmail.to_address == "luis@example.com",
                                             OutboxEmail.kind == caregivers.ACCESS_CHANGED_KIND)
                   ).all() == []


@pytest.mark.parametrize("typed, sentence", [
    ("next tuesday", access_ends.END_DATE_NOT_A_DATE.format(year=2027)),
    ("2026-02-30", access_ends.END_DATE_NOT_A_DATE.format(year=2027)),
    ("2026-01-05", access_ends.END_DATE_NOT_AHEAD),  # today (Jan 5): already begun
    ("2025-12-31", access_ends.END_DATE_NOT_AHEAD),
    ("2028-01-06", access_ends.END_DATE_TOO_FAR),
])
def test_the_form_refuses_a_date_that_is_not_one_past_or_too_far(db, clock, rosa, typed, sentence):
    me = patient_user(db, rosa)
    with pytest.raises(ValidationError) as refused:
        caregivers.grant_access(db, me, rosa.id, name="Maria Alvarez", email="maria@example.com",
                                scope=SCOPE_APPOINTMENTS, ends_on=typed, clock=clock)
    assert str(refused.value) == sentence and refused.value.field == "ends_on"
    assert db.exec(select(CaregiverGrant)).all() == []


def test_a_grant_carries_its_scope_and_end_to_the_access_it_becomes(db, clock, rosa):
    me = patient_user(db, rosa)
    grant = caregivers.grant_access(db, me, rosa.id, name="Maria Alvarez", email="maria@example.com",
                                    scope=SCOPE_APPOINTMENTS_LABS, ends_on="2028-01-05", clock=clock)
    assert (grant.scope, grant.ends_on) == (SCOPE_APPOINTMENTS_LABS, date(2028, 1, 5))
    with pytest.raises(ValidationError):
        caregivers.grant_access(db, me, rosa.id, name="Luis", email="luis@example.com",
                                scope="everything", clock=clock)
    granted = db.exec(select(AuditEvent).where(AuditEvent.action == "caregiver.granted")).one()
    assert "appointments_labs access, 2028-01-05" in granted.detail


def test_only_the_patient_or_office_changes_access(db, clock, rosa):
    maria = _carer(db, rosa, SCOPE_APPOINTMENTS)
    grant = db.exec(select(CaregiverGrant)).one()
    stranger = make_user(db, full_name="Eve Stranger")
    for who in (maria, stranger):
        with pytest.raises(NotAllowed):
            caregivers.change_access(db, who, grant.id, scope=SCOPE_FULL, ends_on="", clock=clock)
    assert db.get(PatientAccess, grant.access_id).scope == SCOPE_APPOINTMENTS


def test_the_office_sees_maria_writing_for_rosa(db, clock, rosa):
    maria = _carer(db, rosa, SCOPE_FULL)
    nurse = make_staff(db)
    thread_id = messaging.start_thread(db, maria, rosa.id, category="Other", subject="Rosa's pain",
                                       body="Written by Maria", client_key=None, clock=clock)
    seen = messaging.open_thread(db, nurse, thread_id, clock=clock)
    mine = [m for m in seen.messages if not m.from_staff and not m.automatic]
    assert [m.author_name for m in mine] == ["Maria Alvarez, for Rosa Alvarez"]
    (item,) = messaging.staff_queue(db, nurse, clock=clock).items
    assert item.started_by == "Maria Alvarez, for Rosa Alvarez"
    # Maria herself, and Rosa, see her name as before.
    assert [m.author_name for m in messaging.open_thread(db, maria, thread_id, clock=clock,
                                                          patient_id=rosa.id).messages
            if not m.from_staff and not m.automatic] == ["Maria Alvarez"]
    assert db.exec(select(Message)).first() is not None


# --- the states: two tabs ------------------------------------------------------------


def _tab(user, page):
    browser = Browser(user.email.split("@")[0])
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(page)
    return tab


def test_a_limited_caregivers_tabs_and_pages_show_only_the_scope(db, clock, rosa):
    maria = _carer(db, rosa, SCOPE_APPOINTMENTS)
    db.commit()
    home = _tab(maria, routes.HOME)
    base = home.session_state
    assert set(base.hidden_areas) == {"labs", "messages", "checkins", "record", "share_links"}
    state = home.state(HomeState)
    assert state.error == "" and state.loaded and home.state(HomeState).unread_messages == 0
    assert _committed_refusals() == []  # Home's summary asked only for what the access reaches
    home.open(routes.MESSAGES)
    assert base.blocked_area == "messages"
    assert base.blocked_notice == "Your access to Rosa Alvarez's portal doesn't include messages."
    (refused,) = _committed_refusals()
    assert refused.actor_user_id == maria.id and "page: " in refused.detail
    # Every handler of the page refuses on the server, whatever the page shows.
    home.call(MessagesState, "start_compose")
    home.call(MessagesState, "send_message", form={"category": "Other", "subject": "Hi",
                                                   "body": "Let me in"})
    assert home.state(MessagesState).compose_error == portal.NO_ACCESS
    assert sum(r.repeat_count for r in _committed_refusals()) == 2
    with session_scope() as fresh:
        assert fresh.exec(select(Message)).all() == []
    home.open(routes.APPOINTMENTS)
    assert base.blocked_area == "" and base.blocked_notice == ""


def test_a_change_of_scope_reaches_the_caregivers_open_tab_at_its_next_event(db, clock, rosa):
    maria = _carer(db, rosa, SCOPE_FULL)
    me = patient_user(db, rosa)
    messaging.start_thread(db, me, rosa.id, category="Other", subject="Rosa's scan worry",
                           body="Private", client_key=None, clock=clock)
    db.commit()
    grant = db.exec(select(CaregiverGrant)).one()
    carer_tab = _tab(maria, routes.MESSAGES)
    assert "Rosa's scan worry" in carer_tab.serialised()
    patient_tab = _tab(me, routes.MANAGE_USERS)
    patient_tab.call(ManageUsersState, "change_access",
                     form={"grant_id": str(grant.id), "scope": SCOPE_APPOINTMENTS, "ends_on": ""})
    assert patient_tab.state(ManageUsersState).change_error == ""
    assert patient_tab.state(ManageUsersState).users[0].scope == SCOPE_APPOINTMENTS
    # Maria's next event (a click in Messages): the tab forgets what it read, and the page
    # opened again says her access doesn't include messages.
    carer_tab.call(MessagesState, "next_page")
    assert "Rosa's scan worry" not in carer_tab.serialised()
    assert "Rosa's scan worry" not in carer_tab.at_rest()
    assert carer_tab.session_state.blocked_area == "messages"
    assert "messages" in carer_tab.session_state.hidden_areas


def test_the_change_access_form_says_what_is_wrong_beside_it(db, clock, rosa):
    _carer(db, rosa, SCOPE_FULL)
    me = patient_user(db, rosa)
    db.commit()
    grant = db.exec(select(CaregiverGrant)).one()
    tab = _tab(me, routes.MANAGE_USERS)
    tab.call(ManageUsersState, "change_access",
             form={"grant_id": str(grant.id), "scope": SCOPE_FULL, "ends_on": "2001-01-01"})
    state = tab.state(ManageUsersState)
    assert state.change_error == access_ends.END_DATE_NOT_AHEAD
    assert state.change_grant == str(grant.id)
    with session_scope() as fresh:
        assert fresh.get(CaregiverGrant, grant.id).ends_on is None
    assert utcnow()  # the states read the real clock


def test_an_end_date_that_came_ends_the_caregivers_open_tab_at_its_next_event(db, clock, rosa):
    maria = _carer(db, rosa, SCOPE_FULL)
    db.commit()
    tab = _tab(maria, routes.HOME)
    assert tab.session_state.patient_name == "Rosa Alvarez"
    today = timefmt.to_local(utcnow()).date()
    with session_scope() as fresh:  # the day comes (no sweep has run)
        for row in fresh.exec(select(PatientAccess).where(PatientAccess.user_id == maria.id)).all():
            row.ends_on = today
    tab.open(routes.APPOINTMENTS)
    assert tab.path == routes.ACCESS
    assert tab.state(AccessState).title == "Your access to Rosa Alvarez's portal has ended"
    assert "Rosa's" not in json.dumps(tab.hydrations[-1], default=str)  # nothing of her record


def test_an_ended_invitation_gets_no_new_link(db, clock, rosa):
    me = patient_user(db, rosa)
    grant = caregivers.grant_access(db, me, rosa.id, name="Maria Alvarez", email="maria@example.com",
                                    scope=SCOPE_APPOINTMENTS, ends_on="2026-01-07", clock=clock)
    clock.now = timefmt.to_utc_naive(datetime(2026, 1, 7, 0, 0))
    with pytest.raises(ValidationError) as refused:
        caregivers.send_caregiver_invitation(db, grant.id, sent_by=me, clock=clock)
    assert str(refused.value) == caregivers.ACCESS_ALREADY_ENDED.format(name="Maria Alvarez")
    assert access_ends.sweep(db, clock=clock) == (1, 0)
    with pytest.raises(ValidationError):
        caregivers.send_caregiver_invitation(db, grant.id, sent_by=me, clock=clock)
