"""Server-side sessions: idle and absolute limits, sign-out, the one-time ticket."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import select

from carespace_app.models import SignInTicket, User, UserSession
from carespace_app.services import security, sessions


def make_user(db, email="jane@example.org", **kw) -> User:
    user = User(email=email, full_name="Jane Doe",
                password_hash=security.hash_password("Zebra-Lamp-Cactus-42"), **kw)
    db.add(user)
    db.commit()
    return user


def sign_in(db, user, clock) -> str:
    """The session token, the way the cookie route gets it."""
    return sessions.redeem_ticket(db, sessions.start_session(db, user, clock=clock), clock=clock)


def test_start_session_stores_only_hashes(db, clock):
    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock, client_ip="203.0.113.9", user_agent="Firefox")
    row = db.exec(select(SignInTicket)).one()
    assert row.token_hash == security.token_hash(ticket)
    assert ticket not in row.sealed_session_token
    session = db.get(UserSession, row.session_id)
    assert session.expires_at == clock() + timedelta(hours=12)
    assert session.active_patient_id is None
    assert (session.client_ip, session.user_agent) == ("203.0.113.9", "Firefox")
    token = sessions.redeem_ticket(db, ticket, clock=clock)
    assert session.token_hash == security.token_hash(token)
    dump = str(db.execute(text("SELECT * FROM user_sessions")).all())
    dump += str(db.execute(text("SELECT * FROM sign_in_tickets")).all())
    assert token not in dump and ticket not in dump


def test_ticket_is_single_use_and_cleared(db, clock):
    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock)
    token = sessions.redeem_ticket(db, ticket, clock=clock)
    assert token and sessions.resolve(db, token, clock=clock) is not None
    assert sessions.redeem_ticket(db, ticket, clock=clock) is None
    row = db.exec(select(SignInTicket)).one()
    db.refresh(row)
    assert row.sealed_session_token == "" and row.used_at == clock()


def test_ticket_lasts_60_seconds(db, clock):
    user = make_user(db)
    fresh = sessions.start_session(db, user, clock=clock)
    stale = sessions.start_session(db, user, clock=clock)
    clock.advance(seconds=59)
    assert sessions.redeem_ticket(db, fresh, clock=clock) is not None
    clock.advance(seconds=2)
    assert sessions.redeem_ticket(db, stale, clock=clock) is None


def test_unknown_or_empty_ticket(db, clock):
    assert sessions.redeem_ticket(db, "", clock=clock) is None
    assert sessions.redeem_ticket(db, "made-up", clock=clock) is None
    assert sessions.redeem_ticket(db, None, clock=clock) is None


def test_two_redemptions_one_winner(engine, db, clock):
    from sqlmodel import Session

    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock)
    with Session(engine) as other:
        results = [sessions.redeem_ticket(other, ticket, clock=clock),
                   sessions.redeem_ticket(db, ticket, clock=clock)]
    assert sum(r is not None for r in results) == 1


def test_idle_at_14_59_ok_at_15_01_refused(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    clock.advance(minutes=14, seconds=59)
    assert sessions.resolve(db, token, clock=clock, touch=False) is not None
    clock.advance(seconds=2)  # 15:01 since the last activity
    assert sessions.resolve(db, token, clock=clock) is None
    session = db.exec(select(UserSession)).one()
    db.refresh(session)
    assert session.ended_reason == "idle" and session.ended_at == clock()
    clock.advance(seconds=-120)  # once ended, it stays ended
    assert sessions.resolve(db, token, clock=clock) is None


def test_activity_keeps_the_session_alive(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    for _ in range(8):  # two hours of a click every 14 minutes
        clock.advance(minutes=14)
        assert sessions.resolve(db, token, clock=clock) is not None


def test_touch_is_written_at_most_every_30_seconds(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    start = clock()
    clock.advance(seconds=20)
    session, _user = sessions.resolve(db, token, clock=clock)
    assert session.last_seen_at == start
    clock.advance(seconds=10)
    session, _user = sessions.resolve(db, token, clock=clock)
    assert session.last_seen_at == clock()


def test_touch_false_does_not_extend(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    clock.advance(minutes=10)
    sessions.resolve(db, token, clock=clock, touch=False)
    clock.advance(minutes=5, seconds=1)
    assert sessions.resolve(db, token, clock=clock) is None


def test_absolute_limit_of_12_hours(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    for _ in range(71):  # active all day, a click every 10 minutes
        clock.advance(minutes=10)
        assert sessions.resolve(db, token, clock=clock) is not None
    clock.advance(minutes=9, seconds=59)  # 11:59:59
    assert sessions.resolve(db, token, clock=clock) is not None
    clock.advance(seconds=1)  # 12:00:00
    assert sessions.resolve(db, token, clock=clock) is None
    session = db.exec(select(UserSession)).one()
    db.refresh(session)
    assert session.ended_reason == "expired"


def test_session_info_deadlines(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    session, _user = sessions.resolve(db, token, clock=clock)
    info = sessions.session_info(session)
    assert info.idle_deadline == clock() + sessions.IDLE_TIMEOUT
    assert info.user_id == user.id and info.expires_at == clock() + timedelta(hours=12)
    clock.advance(hours=11, minutes=50)
    session.last_seen_at = clock()
    assert sessions.session_info(session).idle_deadline == session.expires_at


def test_end_session_takes_effect_at_once(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    sessions.end_session(db, token, clock=clock)
    assert sessions.resolve(db, token, clock=clock) is None
    session = db.exec(select(UserSession)).one()
    db.refresh(session)
    assert session.ended_reason == "signed out"
    sessions.end_session(db, token, clock=clock)  # twice is harmless
    sessions.end_session(db, None, clock=clock)


def test_end_all_sessions_except_the_current_one(db, clock):
    user = make_user(db)
    other = make_user(db, email="sam@example.org")
    phone, laptop, tablet = (sign_in(db, user, clock) for _ in range(3))
    theirs = sign_in(db, other, clock)
    keep, _user = sessions.resolve(db, laptop, clock=clock)
    ended = sessions.end_all_sessions(db, user.id, reason="password changed", clock=clock,
                                      except_session_id=keep.id)
    assert ended == 2
    assert sessions.resolve(db, phone, clock=clock) is None
    assert sessions.resolve(db, tablet, clock=clock) is None
    assert sessions.resolve(db, laptop, clock=clock) is not None
    assert sessions.resolve(db, theirs, clock=clock) is not None
    assert sessions.end_all_sessions(db, user.id, reason="access revoked", clock=clock) == 1


def test_deactivated_user_loses_the_session(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    user.is_active = False
    db.add(user)
    db.commit()
    assert sessions.resolve(db, token, clock=clock) is None


def test_unknown_tokens(db, clock):
    assert sessions.resolve(db, None, clock=clock) is None
    assert sessions.resolve(db, "", clock=clock) is None
    assert sessions.resolve(db, "nope", clock=clock) is None


def test_set_active_patient(db, clock):
    from datetime import date

    from carespace_app.models import Patient

    user = make_user(db)
    patient = Patient(mrn="M1", first_name="Ann", last_name="Lee", date_of_birth=date(1950, 1, 2),
                      email="ann@example.org")
    db.add(patient)
    db.commit()
    token = sign_in(db, user, clock)
    session, _user = sessions.resolve(db, token, clock=clock)
    sessions.set_active_patient(db, session.id, patient.id)
    session, _user = sessions.resolve(db, token, clock=clock)
    assert session.active_patient_id == patient.id
