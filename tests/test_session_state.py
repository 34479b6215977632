"""The shell's view of a session: why it ended, and a revoked caregiver's fallback."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from carespace_app.clock import utcnow
from carespace_app.models import AuditEvent, UserSession
from carespace_app.services import sessions
from carespace_app.state.session import _idle_seconds, _resolve_viewer
from tests.factories import make_practice, revoke_caregiver


def _signed_in(db, user) -> tuple[str, UserSession]:
    ticket = sessions.start_session(db, user, clock=utcnow)
    token = sessions.redeem_ticket(db, ticket, clock=utcnow)
    return token, db.exec(select(UserSession).where(UserSession.user_id == user.id)
                          .order_by(UserSession.id.desc())).first()


def _age(db, session: UserSession, idle: timedelta) -> None:
    session.last_seen_at = utcnow() - idle
    db.add(session)
    db.commit()


def test_an_ended_session_says_why_idle_signed_out_password_changed_or_expired(db):
    p = make_practice(db)
    token, session = _signed_in(db, p.alice_user)
    viewer, reason = _resolve_viewer(token, "127.0.0.1", touch=False)
    assert viewer is not None and viewer.patient_id == p.alice.id and viewer.relation == "self"

    _age(db, session, timedelta(minutes=16))
    assert _resolve_viewer(token, "127.0.0.1", touch=False) == (None, "idle")

    other, _ = _signed_in(db, p.bob_user)
    sessions.end_session(db, other, clock=utcnow)  # Sign out, in another tab of the browser
    assert _resolve_viewer(other, "127.0.0.1", touch=False) == (None, "signed-out")

    for reason in (sessions.ENDED_PASSWORD_CHANGED, sessions.ENDED_PASSWORD_RESET):
        third, _ = _signed_in(db, p.bob_user)
        sessions.end_session(db, third, reason=reason, clock=utcnow)
        assert _resolve_viewer(third, "127.0.0.1", touch=False) == (None, "password-changed")

    fourth, fourth_session = _signed_in(db, p.bob_user)
    fourth_session.expires_at = utcnow() - timedelta(seconds=1)  # its 12 hours are up
    db.add(fourth_session)
    db.commit()
    assert _resolve_viewer(fourth, "127.0.0.1", touch=False) == (None, "expired")
    assert _resolve_viewer("not-a-token", "127.0.0.1", touch=False) == (None, "expired")


def test_idle_seconds_is_a_look_not_activity(db):
    p = make_practice(db)
    token, session = _signed_in(db, p.alice_user)
    _age(db, session, timedelta(minutes=14, seconds=10))
    assert 14 * 60 <= _idle_seconds(token) < 15 * 60
    assert 14 * 60 <= _idle_seconds(token) < 15 * 60  # still idle: asking didn't touch it
    _age(db, session, timedelta(minutes=15, seconds=1))
    assert _idle_seconds(token) is None


def test_a_revoked_caregiver_has_no_patient_left(db):
    p = make_practice(db)
    token, _session = _signed_in(db, p.carer)
    viewer, _ = _resolve_viewer(token, "127.0.0.1", touch=True)
    assert viewer.patient_id == p.alice.id and viewer.relation == "caregiver"
    revoke_caregiver(db, p.alice, p.carer)
    viewer, _ = _resolve_viewer(token, "127.0.0.1", touch=True)
    assert viewer is not None and viewer.patient_id is None

    # The open tab's attempt is on Alice's trail, once, however often the tab tries.
    _resolve_viewer(token, "127.0.0.1", touch=True)
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused",
                                               AuditEvent.patient_id == p.alice.id)).all()
    assert [(e.actor_user_id, e.detail) for e in refused] == [
        (p.carer.id, "portal.open_after_revocation")]
