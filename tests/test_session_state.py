"""The tab's person and patient (services/permissions/tab_access.py): why a session ended, a revoked
caregiver's tab, the office's read-only view, and a tab's own patient."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from carespace_app.clock import utcnow
from carespace_app.models import AuditEvent, UserSession
from carespace_app.services.identity import sessions
from carespace_app.services.permissions import tab_access
from tests.factories import grant_caregiver, make_practice, revoke_caregiver


def _signed_in(db, user) -> tuple[str, UserSession]:
    ticket = sessions.start_session(db, user, clock=utcnow)
    token = sessions.redeem_ticket(db, ticket, clock=utcnow)
    return token, db.exec(select(UserSession).where(UserSession.user_id == user.id)
                          .order_by(UserSession.id.desc())).first()


def _age(db, session: UserSession, idle: timedelta) -> None:
    session.last_seen_at = utcnow() - idle
    db.add(session)
    db.commit()


def _tab(db, token, patient_id=None, touch=False) -> tab_access.TabAccess:
    tab = tab_access.resolve_tab(db, token, patient_id, clock=utcnow, touch=touch, client_ip="127.0.0.1")
    db.commit()  # the event's unit of work ends
    return tab


def test_an_ended_session_says_why_idle_signed_out_password_changed_or_expired(db):
    p = make_practice(db)
    token, session = _signed_in(db, p.alice_user)
    tab = _tab(db, token)
    assert tab.signed_in and tab.user.id == p.alice_user.id and tab.patient_id is None

    _age(db, session, timedelta(minutes=16))
    assert (_tab(db, token).signed_in, _tab(db, token).ended) == (False, "idle")

    other, _ = _signed_in(db, p.bob_user)
    sessions.end_session(db, other, clock=utcnow)  # Sign out, in another tab of the browser
    assert _tab(db, other).ended == "signed-out"

    for reason in (sessions.ENDED_PASSWORD_CHANGED, sessions.ENDED_PASSWORD_RESET):
        third, _ = _signed_in(db, p.bob_user)
        sessions.end_session(db, third, reason=reason, clock=utcnow)
        assert _tab(db, third).ended == "password-changed"

    fourth, fourth_session = _signed_in(db, p.bob_user)
    fourth_session.expires_at = utcnow() - timedelta(seconds=1)  # its 12 hours are up
    db.add(fourth_session)
    db.commit()
    assert _tab(db, fourth).ended == "expired"
    assert _tab(db, "not-a-token").ended == "expired"
    assert _tab(db, None) is tab_access.SIGNED_OUT


def test_looking_at_a_tab_is_not_activity(db):
    p = make_practice(db)
    token, session = _signed_in(db, p.alice_user)
    _age(db, session, timedelta(minutes=14, seconds=10))
    _tab(db, token, touch=False)
    db.refresh(session)
    assert utcnow() - session.last_seen_at >= timedelta(minutes=14)
    _tab(db, token, touch=True)
    db.refresh(session)
    assert utcnow() - session.last_seen_at < timedelta(seconds=5)


def test_a_revoked_caregivers_tab_loses_that_patient_and_never_falls_through(db):
    p = make_practice(db)
    grant_caregiver(db, p.bob, user=p.carer)  # Carla also cares for Bob
    token, session = _signed_in(db, p.carer)
    assert tab_access.default_patient(db, p.carer, session)[0] in (p.alice.id, p.bob.id)
    tab = _tab(db, token, p.alice.id, touch=True)
    assert (tab.patient_id, tab.relation, tab.lost) == (p.alice.id, "caregiver", "")

    revoke_caregiver(db, p.alice, p.carer)
    tab = _tab(db, token, p.alice.id, touch=True)
    assert tab.signed_in and tab.patient_id is None
    assert (tab.lost, tab.lost_patient_name) == (tab_access.LOST_REVOKED, p.alice.full_name)
    # The open tab's attempt is on Alice's trail.
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused",
                                               AuditEvent.patient_id == p.alice.id)).all()
    assert [(e.actor_user_id, e.detail) for e in refused] == [
        (p.carer.id, "portal.open_after_revocation")]
    # A tab of Bob is untouched.
    assert _tab(db, token, p.bob.id).patient_id == p.bob.id


def test_each_tab_keeps_its_own_patient_the_session_only_remembers_the_last_choice(db):
    p = make_practice(db)
    grant_caregiver(db, p.bob, user=p.carer)
    token, session = _signed_in(db, p.carer)
    tab_access.switch_patient(db, p.carer, session, p.bob.id, clock=utcnow)
    # A tab showing Alice still shows Alice; a new tab opens on the last choice.
    assert _tab(db, token, p.alice.id).patient_id == p.alice.id
    db.refresh(session)
    assert tab_access.default_patient(db, p.carer, session) == (p.bob.id, "caregiver", "full")


def test_the_offices_view_of_a_portal_ends_in_every_tab(db):
    p = make_practice(db)
    token, session = _signed_in(db, p.staff)
    assert tab_access.default_patient(db, p.staff, session) is None
    tab_access.start_view_as(db, p.staff, session, p.alice.id, clock=utcnow)
    tab = _tab(db, token, p.alice.id)
    assert tab.patient_id == p.alice.id and tab.view_as
    assert [e.action for e in db.exec(select(AuditEvent)).all()] == ["portal.viewed_as_patient"]

    db.refresh(session)
    tab_access.end_view_as(db, p.staff, session)
    tab = _tab(db, token, p.alice.id)
    assert tab.patient_id is None and tab.lost == tab_access.LOST_VIEW_ENDED
