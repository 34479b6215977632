"""Sign-in and its throttle, new accounts, password change and reset, email change."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import text
from sqlmodel import select

from carespace_app.models import (
    AuditEvent,
    EmailChange,
    OutboxEmail,
    Patient,
    PasswordReset,
    SignInFailure,
    User,
)
from carespace_app.services.identity import accounts
from carespace_app import policy
from carespace_app.config import get_settings
from carespace_app.db import session_scope
from carespace_app.services.onboarding import staff
from carespace_app.services.identity import email_change
from carespace_app.services.identity import resets
from carespace_app.services.identity import signin
from carespace_app.services.mail import outbox
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.services.errors import (
    AuthenticationFailed,
    LinkError,
    NotFound,
    Throttled,
    ValidationError,
)

PASSWORD = "Zebra-Lamp-Cactus-42"
NEW_PASSWORD = "Orange-Kettle-Violin-97"
IP = "198.51.100.7"


def register(db, clock, email="jane@example.org", password=PASSWORD) -> User:
    return accounts.create_user(db, email=email, full_name="Jane Doe", password=password, clock=clock)


def sign_in(db, clock, email="jane@example.org", password=PASSWORD, ip=IP) -> User:
    return signin.authenticate(db, email, password, client_ip=ip, clock=clock)


def fail(db, clock, email="jane@example.org", ip=IP):
    with pytest.raises(AuthenticationFailed):
        sign_in(db, clock, email=email, password="Wrong-Guess-11!", ip=ip)


def emails_to(db, address):
    return db.exec(select(OutboxEmail).where(OutboxEmail.to_address == address)
                   .order_by(OutboxEmail.id)).all()


def token_in(email: OutboxEmail) -> str:
    _subject, body = outbox.render(email)
    link = next(word for word in body.split() if "token=" in word)
    return parse_qs(urlparse(link).query)["token"][0]


def actions(db):
    return [e.action for e in db.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


# --- sign-in ---------------------------------------------------------------------------


def test_sign_in_with_any_case_and_fullwidth_email(db, clock):
    user = register(db, clock)
    assert sign_in(db, clock, email="  JANE@Example.org ").id == user.id
    assert sign_in(db, clock, email="ＪＡＮＥ@example.org").id == user.id
    assert "sign_in" in actions(db)


def test_fullwidth_password_signs_in_with_ascii(db, clock):
    register(db, clock, password="Ｚｅｂｒａ－Ｌａｍｐ－Ｃａｃｔｕｓ－４２")
    assert sign_in(db, clock, password=PASSWORD)


def test_wrong_password_is_recorded_without_the_password(db, clock):
    register(db, clock)
    fail(db, clock)
    assert db.exec(select(SignInFailure)).one().email == "jane@example.org"
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "sign_in.failed")).all()
    assert len(events) == 1 and "Wrong-Guess" not in events[0].detail
    assert events[0].client_ip == IP


def test_unknown_address_fails_the_same_way(db, clock):
    register(db, clock)
    with pytest.raises(AuthenticationFailed) as unknown:
        sign_in(db, clock, email="nobody@example.org")
    with pytest.raises(AuthenticationFailed) as wrong:
        sign_in(db, clock, password="Wrong-Guess-11!")
    assert str(unknown.value) == str(wrong.value)


def test_overlong_or_empty_password_just_fails(db, clock):
    register(db, clock)
    for odd in (PASSWORD + "x" * 60, "", None):
        with pytest.raises(AuthenticationFailed):
            sign_in(db, clock, password=odd)


def test_deactivated_account_cannot_sign_in(db, clock):
    user = register(db, clock)
    user.is_active = False
    db.add(user)
    db.commit()
    with pytest.raises(AuthenticationFailed):
        sign_in(db, clock)


def test_a_password_typed_in_the_email_box_is_not_stored(db, clock):
    with pytest.raises(AuthenticationFailed):
        sign_in(db, clock, email="My-Secret-Pass-1", password="x")
    assert db.exec(select(SignInFailure)).one().email == ""


# --- throttle ----------------------------------------------------------------------


def test_five_failures_then_a_60_second_pause(db, clock):
    register(db, clock)
    for _ in range(5):
        fail(db, clock)
    with pytest.raises(Throttled) as caught:
        sign_in(db, clock)  # even the right password is not checked
    assert caught.value.retry_after_seconds == 60
    clock.advance(seconds=59)
    with pytest.raises(Throttled):
        sign_in(db, clock)
    clock.advance(seconds=1)
    assert sign_in(db, clock)


def test_the_pause_left_is_told_for_the_countdown(db, clock):
    register(db, clock)
    assert signin.sign_in_pause(db, "jane@example.org", IP, clock=clock) == 0
    for _ in range(5):
        fail(db, clock)
    assert signin.sign_in_pause(db, "Jane@Example.org", IP, clock=clock) == 60
    clock.advance(seconds=45)
    assert signin.sign_in_pause(db, "jane@example.org", IP, clock=clock) == 15
    clock.advance(seconds=15)
    assert signin.sign_in_pause(db, "jane@example.org", IP, clock=clock) == 0
    # An address without an account pauses alike (nothing tells the two apart).
    for _ in range(5):
        fail(db, clock, email="nobody@example.org")
    assert signin.sign_in_pause(db, "nobody@example.org", IP, clock=clock) == 60


def test_success_resets_the_consecutive_count(db, clock):
    user = register(db, clock)
    for _ in range(4):
        fail(db, clock)
    sign_in(db, clock)
    sessions.start_session(db, user, clock=clock)  # a success opens a session
    clock.advance(seconds=1)
    for _ in range(4):
        fail(db, clock)
    assert sign_in(db, clock)


def registered_long_ago(db, clock) -> User:
    """An account whose password was set long before the failures below."""
    user = register(db, clock)
    user.password_changed_at = clock() - timedelta(days=30)
    db.add(user)
    db.commit()
    return user


def _old_failures(db, clock, count, *, email="jane@example.org", ip=IP, spread=timedelta(minutes=50)):
    # Failures spread over the past 50 minutes, the latest over a minute ago.
    start = clock() - spread - timedelta(minutes=2)
    for n in range(count):
        db.add(SignInFailure(email=email, client_ip=ip, at=start + spread * n / max(1, count - 1)))
    db.commit()


def test_the_101st_failure_within_an_hour_is_refused(db, clock):
    registered_long_ago(db, clock)
    _old_failures(db, clock, 99, ip="203.0.113.1")
    fail(db, clock)  # the 100th failure is still a real check
    clock.advance(seconds=61)
    with pytest.raises(Throttled) as caught:
        sign_in(db, clock)
    assert "Forgot Password" in str(caught.value)
    assert len(db.exec(select(SignInFailure)).all()) == 100  # refusals aren't counted


def test_a_stranger_cannot_lock_the_patient_out_past_the_hour(db, clock):
    registered_long_ago(db, clock)
    _old_failures(db, clock, 100, ip="203.0.113.1")
    with pytest.raises(Throttled) as caught:
        sign_in(db, clock, ip="192.0.2.50")
    clock.advance(seconds=caught.value.retry_after_seconds)
    assert sign_in(db, clock, ip="192.0.2.50")
    clock.advance(hours=1)
    assert sign_in(db, clock, ip="192.0.2.50")


def test_a_reset_lets_a_patient_locked_out_by_a_stranger_back_in(db, clock):
    # The refusal says "or use Forgot Password": that must work now, not in an hour.
    registered_long_ago(db, clock)
    _old_failures(db, clock, 100, ip="203.0.113.1")
    with pytest.raises(Throttled):
        sign_in(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    clock.advance(seconds=1)
    resets.reset_password(db, link_token, new_password=NEW_PASSWORD,
                            confirm_password=NEW_PASSWORD, clock=clock)
    assert sign_in(db, clock, password=NEW_PASSWORD)
    # Guessing the new password starts a new count of 100.
    clock.advance(seconds=1)
    _recent = clock()
    for n in range(100):
        db.add(SignInFailure(email="jane@example.org", client_ip="203.0.113.1",
                             at=_recent - timedelta(seconds=n % 59 * 0.01)))
    db.commit()
    clock.advance(seconds=61)
    with pytest.raises(Throttled):
        sign_in(db, clock, password=NEW_PASSWORD)


def test_one_client_trying_many_accounts_is_throttled(db, clock):
    register(db, clock)
    for n in range(100):
        db.add(SignInFailure(email=f"guess{n}@example.org", client_ip=IP,
                             at=clock() - timedelta(minutes=10)))
    db.commit()
    with pytest.raises(Throttled):
        sign_in(db, clock)
    assert sign_in(db, clock, ip="192.0.2.50")  # the patient elsewhere is fine
    clock.advance(minutes=5, seconds=1)
    assert sign_in(db, clock)


# --- new accounts ----------------------------------------------------------------


def test_create_user_normalises_and_hashes(db, clock):
    user = register(db, clock, email=" Jane@Example.ORG")
    assert user.email == "jane@example.org"
    assert user.password_hash.startswith("$2b$04$") and PASSWORD not in user.password_hash


def test_duplicate_email_is_refused(db, clock):
    register(db, clock)
    with pytest.raises(ValidationError) as caught:
        register(db, clock, email="JANE@example.org")
    assert str(caught.value) == "An account with that email already exists."


def test_create_user_applies_the_password_rules(db, clock):
    with pytest.raises(ValidationError) as caught:
        register(db, clock, password="Password1!")
    assert "common" in str(caught.value)
    with pytest.raises(ValidationError):
        register(db, clock, password="Jane.Example-99!", email="jane.example@example.org")
    assert db.exec(select(User)).all() == []


def test_create_staff_and_no_silent_upgrade(db, clock):
    nurse = staff.create_staff(db, email="nurse@example.org", full_name="Nora Nurse",
                               password=PASSWORD, is_admin=True, clock=clock)
    assert nurse.is_staff and nurse.is_admin
    register(db, clock)
    with pytest.raises(ValidationError) as caught:
        staff.create_staff(db, email="jane@example.org", full_name="Jane", password=PASSWORD,
                              clock=clock)
    assert str(caught.value) == "An account with that email already exists."


# --- password change -------------------------------------------------------------------


def test_change_password_ends_other_sessions_and_tells_the_user(db, clock):
    user = register(db, clock)
    here = sessions.redeem_ticket(db, sessions.start_session(db, user, clock=clock), clock=clock)
    there = sessions.redeem_ticket(db, sessions.start_session(db, user, clock=clock), clock=clock)
    current, _ = sessions.resolve(db, here, clock=clock)
    clock.advance(minutes=1)
    accounts.change_password(db, user.id, current_password=PASSWORD, new_password=NEW_PASSWORD,
                             confirm_password=NEW_PASSWORD, clock=clock, keep_session_id=current.id)
    assert sessions.resolve(db, here, clock=clock) is not None
    assert sessions.resolve(db, there, clock=clock) is None
    assert sign_in(db, clock, password=NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed):
        sign_in(db, clock, password=PASSWORD)
    db.refresh(user)
    assert user.password_changed_at == clock()
    notice = emails_to(db, "jane@example.org")[-1]
    assert notice.subject == "Your CareSpace password was changed" and notice.sealed_link is None
    assert "password.changed" in actions(db)


def test_change_password_wrong_current(db, clock):
    user = register(db, clock)
    with pytest.raises(AuthenticationFailed) as caught:
        accounts.change_password(db, user.id, current_password="Nope-Nope-11!",
                                 new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD, clock=clock)
    assert str(caught.value) == "Your current password is not correct."
    assert caught.value.field == "current_password"
    with pytest.raises(ValidationError) as caught:
        accounts.change_password(db, user.id, current_password=PASSWORD,
                                 new_password=NEW_PASSWORD, confirm_password="other", clock=clock)
    assert caught.value.field == "confirm_password"


# --- password reset --------------------------------------------------------------------


def test_reset_flow_single_use_and_ends_every_session(db, clock):
    user = register(db, clock)
    token = sessions.redeem_ticket(db, sessions.start_session(db, user, clock=clock), clock=clock)
    resets.request_password_reset(db, "JANE@example.org", clock=clock)
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    resets.inspect_reset(db, link_token, clock=clock)
    resets.reset_password(db, link_token, new_password=NEW_PASSWORD,
                            confirm_password=NEW_PASSWORD, clock=clock)
    assert sessions.resolve(db, token, clock=clock) is None
    assert sign_in(db, clock, password=NEW_PASSWORD)
    with pytest.raises(LinkError) as caught:
        resets.reset_password(db, link_token, new_password=PASSWORD, confirm_password=PASSWORD,
                                clock=clock)
    assert caught.value.reason == "used"
    assert {"password.reset_requested", "password.reset"} <= set(actions(db))


def test_reset_link_lasts_one_hour(db, clock):
    register(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    clock.advance(minutes=59, seconds=59)
    resets.inspect_reset(db, link_token, clock=clock)
    clock.advance(seconds=1)
    with pytest.raises(LinkError) as caught:
        resets.inspect_reset(db, link_token, clock=clock)
    assert caught.value.reason == "expired"


def test_a_refused_password_does_not_use_up_the_link(db, clock):
    register(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    with pytest.raises(ValidationError):
        resets.reset_password(db, link_token, new_password="Password1!",
                                confirm_password="Password1!", clock=clock)
    resets.inspect_reset(db, link_token, clock=clock)


def test_newer_reset_link_supersedes_the_older(db, clock):
    register(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    first, second = (token_in(e) for e in emails_to(db, "jane@example.org"))
    with pytest.raises(LinkError) as caught:
        resets.inspect_reset(db, first, clock=clock)
    assert caught.value.reason == "superseded"
    resets.inspect_reset(db, second, clock=clock)
    with pytest.raises(LinkError) as caught:
        resets.inspect_reset(db, "made-up", clock=clock)
    assert caught.value.reason == "invalid"


def test_unknown_address_gets_the_same_answer_and_nothing_is_sent(db, clock):
    register(db, clock)
    assert resets.request_password_reset(db, "nobody@example.org", clock=clock) is None
    assert resets.request_password_reset(db, "not an address", clock=clock) is None
    assert db.exec(select(OutboxEmail)).all() == []
    assert db.exec(select(PasswordReset)).all() == []


def test_look_alike_address_gets_nothing(db, clock):
    register(db, clock, email="mike@example.com")
    resets.request_password_reset(db, "mıke@example.com", clock=clock)  # dotless ı
    assert db.exec(select(OutboxEmail)).all() == []
    resets.request_password_reset(db, "MIKE@example.com", clock=clock)
    assert len(emails_to(db, "mike@example.com")) == 1


def test_reset_requests_are_capped_per_hour(db, clock):
    register(db, clock)
    for _ in range(policy.RESET_REQUESTS_PER_HOUR + 2):
        resets.request_password_reset(db, "jane@example.org", clock=clock)
    assert len(emails_to(db, "jane@example.org")) == policy.RESET_REQUESTS_PER_HOUR


def test_a_link_used_while_the_password_was_hashing_is_refused(engine, db, clock, monkeypatch):
    # The other tab wins the race between the link check and its use.
    register(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    db.commit()  # Forgot Password's unit of work ends: the link is out
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    real_hash = security.hash_password
    other_password = "Purple-Anchor-Tulip-58"

    def other_tab_first(password, rounds=None):
        monkeypatch.setattr(security, "hash_password", real_hash)
        with session_scope(engine) as other:
            resets.reset_password(other, link_token, new_password=other_password,
                                  confirm_password=other_password, clock=clock)
        return real_hash(password, rounds)

    monkeypatch.setattr(security, "hash_password", other_tab_first)
    with pytest.raises(LinkError) as caught:
        resets.reset_password(db, link_token, new_password=NEW_PASSWORD,
                                confirm_password=NEW_PASSWORD, clock=clock)
    assert caught.value.reason == "used"
    db.rollback()  # (the test's own session reads afresh: the other tab's password)
    assert sign_in(db, clock, password=other_password)


# --- email change ------------------------------------------------------------------------


def test_email_change_flow(db, clock):
    user = register(db, clock)
    patient = Patient(mrn="M-1", first_name="Jane", last_name="Doe", date_of_birth=date(1950, 3, 4),
                      email="jane@example.org", user_id=user.id)
    db.add(patient)
    db.commit()
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    old_reset = token_in(emails_to(db, "jane@example.org")[-1])
    email_change.request_email_change(db, user.id, current_password=PASSWORD,
                                  new_email="Jane.New@Example.org", clock=clock)
    assert db.get(User, user.id).email == "jane@example.org"  # nothing changes yet
    confirm = emails_to(db, "jane.new@example.org")[-1]
    assert confirm.subject == "Confirm your new CareSpace email address"
    changed = email_change.confirm_email_change(db, token_in(confirm), clock=clock)
    assert changed.email == "jane.new@example.org"
    db.refresh(patient)
    assert patient.email == "jane.new@example.org"
    notice = emails_to(db, "jane@example.org")[-1]
    _subject, body = outbox.render(notice)
    assert "jane.new@example.org" in body and get_settings().office_phone in body
    with pytest.raises(LinkError) as caught:
        resets.inspect_reset(db, old_reset, clock=clock)
    assert caught.value.reason == "superseded"
    with pytest.raises(LinkError) as caught:
        email_change.confirm_email_change(db, token_in(confirm), clock=clock)
    assert caught.value.reason == "used"
    assert sign_in(db, clock, email="jane.new@example.org")
    assert "email.changed" in actions(db)


def test_email_change_needs_the_current_password(db, clock):
    user = register(db, clock)
    with pytest.raises(AuthenticationFailed) as caught:
        email_change.request_email_change(db, user.id, current_password="Wrong-Guess-11!",
                                      new_email="new@example.org", clock=clock)
    assert str(caught.value) == "Your current password is not correct."
    assert db.exec(select(EmailChange)).all() == []


def test_email_change_refuses_a_bad_address(db, clock):
    # An address another account has is not refused: tests/test_email_change_oracle.py.
    user = register(db, clock)
    with pytest.raises(ValidationError) as caught:
        email_change.request_email_change(db, user.id, current_password=PASSWORD,
                                      new_email="not an email", clock=clock)
    assert caught.value.field == "email"


def test_address_taken_before_confirmation(db, clock):
    user = register(db, clock)
    email_change.request_email_change(db, user.id, current_password=PASSWORD,
                                  new_email="new@example.org", clock=clock)
    link_token = token_in(emails_to(db, "new@example.org")[-1])
    register(db, clock, email="new@example.org")
    with pytest.raises(ValidationError):
        email_change.confirm_email_change(db, link_token, clock=clock)
    assert db.get(User, user.id).email == "jane@example.org"


def test_email_change_link_lasts_24_hours_and_newest_wins(db, clock):
    user = register(db, clock)
    for address in ("one@example.org", "two@example.org"):
        email_change.request_email_change(db, user.id, current_password=PASSWORD,
                                      new_email=address, clock=clock)
    with pytest.raises(LinkError) as caught:
        email_change.confirm_email_change(db, token_in(emails_to(db, "one@example.org")[-1]), clock=clock)
    assert caught.value.reason == "superseded"
    clock.advance(hours=24)
    with pytest.raises(LinkError) as caught:
        email_change.confirm_email_change(db, token_in(emails_to(db, "two@example.org")[-1]), clock=clock)
    assert caught.value.reason == "expired"


def test_no_secret_in_audit_or_outbox_columns(db, clock):
    user = register(db, clock)
    fail(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    accounts.change_password(db, user.id, current_password=PASSWORD, new_password=NEW_PASSWORD,
                             confirm_password=NEW_PASSWORD, clock=clock)
    dump = str(db.execute(text("SELECT * FROM audit_events")).all())
    dump += str(db.execute(text("SELECT * FROM outbox_emails")).all())
    dump += str(db.execute(text("SELECT * FROM password_resets")).all())
    for secret in (PASSWORD, NEW_PASSWORD, "Wrong-Guess-11!", link_token):
        assert secret not in dump


def test_missing_account(db, clock):
    with pytest.raises(NotFound):
        accounts.change_password(db, 999, current_password=PASSWORD, new_password=NEW_PASSWORD,
                                 confirm_password=NEW_PASSWORD, clock=clock)


def test_a_password_change_kills_reset_links_sent_before_it(db, clock):
    user = register(db, clock)
    resets.request_password_reset(db, "jane@example.org", clock=clock)
    link_token = token_in(emails_to(db, "jane@example.org")[-1])
    clock.advance(minutes=5)
    accounts.change_password(db, user.id, current_password=PASSWORD, new_password=NEW_PASSWORD,
                             confirm_password=NEW_PASSWORD, clock=clock)
    with pytest.raises(LinkError) as caught:
        resets.reset_password(db, link_token, new_password="Another-Quiet-Field-7",
                                confirm_password="Another-Quiet-Field-7", clock=clock)
    assert caught.value.reason == "superseded"
    assert sign_in(db, clock, password=NEW_PASSWORD)
