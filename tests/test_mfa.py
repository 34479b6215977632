"""Two-step sign-in (issue #17): RFC 6238 codes, set-up, recovery codes, turning it off,
throttled codes, the sign-in's second step through the real SignInState handlers, the staff
rule (CARESPACE_STAFF_MFA) and the administrator's reset."""
from __future__ import annotations

import asyncio
import base64
import calendar
import inspect
import json
from datetime import timedelta

import pyotp
import pytest
from reflex_base.event.context import EventContext
from sqlalchemy import text
from sqlmodel import SQLModel, select

from carespace_app import routes
from carespace_app.clock import FrozenClock, utcnow
from carespace_app.config import get_settings
from carespace_app.http import SIGN_IN_NONCE_COOKIE
from carespace_app.models import (
    AuditEvent, OutboxEmail, RecoveryCode, TwoStepKey, TwoStepPending, User, UserSession,
)
from carespace_app.policy import ACCOUNT_BURST, RECOVERY_CODE_COUNT
from carespace_app.services.errors import (
    AuthenticationFailed, LinkError, NotAllowed, Throttled, ValidationError,
)
from carespace_app.services.identity import mfa, mfa_codes, sessions
from carespace_app.services.onboarding import staff as staff_service
from carespace_app.state.auth import SignInState
from carespace_app.state.two_step import TwoStepState
from tests.factories import (
    PASSWORD, TWO_STEP_SECRET, make_staff, make_user, not_a_code, turn_on_two_step,
)
from tests.tabs import Browser, _nothing, sign_in_token, signed_out_state

IP = "203.0.113.9"


def _actions(db) -> list[str]:
    return [a for a in db.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()]


def _subjects(db, to: str) -> list[str]:
    return list(db.exec(select(OutboxEmail.subject).where(OutboxEmail.to_address == to)
                        .order_by(OutboxEmail.id)).all())


def _turned_on(db, user, clock) -> tuple[str, list[str]]:
    """Set-up as Settings does it: (the key, the recovery codes)."""
    setup = mfa.begin_setup(db, user, clock=clock)
    codes = mfa.confirm_setup(db, user, mfa_codes.code_at(setup.secret, clock()), clock=clock)
    db.commit()
    return setup.secret, codes


# --- RFC 6238 ---------------------------------------------------------------------------


@pytest.mark.parametrize("at, code", [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")])
def test_rfc_6238_appendix_b_sha1_vectors(at, code):
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert mfa_codes.code_at(secret, at, digits=8) == code
    assert mfa_codes.matching_step(secret, code, at, digits=8) == at // 30


def test_a_code_is_taken_one_step_either_side_and_not_two(clock):
    now = clock()
    assert mfa_codes.matching_step(TWO_STEP_SECRET, mfa_codes.code_at(TWO_STEP_SECRET, now - timedelta(seconds=30)), now)
    assert mfa_codes.matching_step(TWO_STEP_SECRET, mfa_codes.code_at(TWO_STEP_SECRET, now + timedelta(seconds=30)), now)
    assert mfa_codes.matching_step(TWO_STEP_SECRET, mfa_codes.code_at(TWO_STEP_SECRET, now - timedelta(seconds=60)), now) is None
    assert mfa_codes.matching_step(TWO_STEP_SECRET, "12345", now) is None  # not six digits
    # An authenticator app computes the same code (pyotp's own TOTP, the app's algorithm).
    assert mfa_codes.code_at(TWO_STEP_SECRET, now) == pyotp.TOTP(TWO_STEP_SECRET).at(
        calendar.timegm(now.utctimetuple()))


# --- set-up, recovery codes, turning off ------------------------------------------------


def test_set_up_needs_a_right_code_and_the_key_is_sealed_at_rest(db, clock):
    user = make_user(db, email="rosa@example.test")
    setup = mfa.begin_setup(db, user, clock=clock)
    assert setup.uri.startswith("otpauth://totp/CareSpace:rosa%40example.test?")
    assert "issuer=CareSpace" in setup.uri and f"secret={setup.secret}" in setup.uri
    assert mfa_codes.qr_data_uri(setup.uri).startswith("data:image/svg+xml")
    with pytest.raises(ValidationError) as wrong:
        mfa.confirm_setup(db, user, not_a_code(setup.secret, clock()), clock=clock)
    assert str(wrong.value) == mfa.WRONG_CODE and wrong.value.field == "code"
    assert db.get(User, user.id).two_step_since is None  # still off
    codes = mfa.confirm_setup(db, user, mfa_codes.code_at(setup.secret, clock()), clock=clock)
    db.commit()
    assert db.get(User, user.id).two_step_since == clock()
    key = db.exec(select(TwoStepKey)).one()
    assert setup.secret not in (key.sealed_secret or "") and key.sealed_pending is None
    assert len(codes) == RECOVERY_CODE_COUNT == len(set(codes))
    assert all(len(c) == 9 and c[4] == "-" for c in codes)
    assert mfa.status(db, user).codes_left == RECOVERY_CODE_COUNT


def test_recovery_codes_are_hashed_at_rest_and_work_once(db, clock):
    user = make_user(db)
    _secret, codes = _turned_on(db, user, clock)
    # The plaintext is nowhere in the database: not in any column of any table.
    dump = []
    for table in SQLModel.metadata.sorted_tables:
        dump.extend(str(row) for row in db.execute(text(f'SELECT * FROM "{table.name}"')))
    everything = "\n".join(dump).lower()
    for code in codes:
        assert code not in everything and code.replace("-", "") not in everything
    token = mfa.password_passed(db, user, clock=clock)
    assert mfa.sign_in_with_recovery_code(db, token, codes[0].upper(), client_ip=IP, clock=clock) \
        == RECOVERY_CODE_COUNT - 1
    db.commit()
    assert mfa.finish_after_recovery(db, token, client_ip=IP, clock=clock).id == user.id
    db.commit()
    again = mfa.password_passed(db, user, clock=clock)
    with pytest.raises(AuthenticationFailed):
        mfa.sign_in_with_recovery_code(db, again, codes[0], client_ip=IP, clock=clock)
    db.commit()
    assert mfa.codes_left_text(RECOVERY_CODE_COUNT - 1) in db.exec(
        select(OutboxEmail.body_template).where(OutboxEmail.subject == "A recovery code was used")).one()
    # "Make new recovery codes" replaces them all.
    clock.advance(seconds=30)
    fresh = mfa.new_recovery_codes(db, user, mfa_codes.code_at(_secret, clock()), clock=clock)
    db.commit()
    assert not set(fresh) & set(codes)
    assert db.exec(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))).all() == []
    assert mfa.status(db, user).codes_left == RECOVERY_CODE_COUNT


def test_a_code_is_not_taken_twice(db, clock):
    user = make_user(db)
    secret, _codes = _turned_on(db, user, clock)  # set-up used this step's code
    token = mfa.password_passed(db, user, clock=clock)
    with pytest.raises(AuthenticationFailed):
        mfa.sign_in_with_code(db, token, mfa_codes.code_at(secret, clock()), client_ip=IP, clock=clock)
    db.commit()
    clock.advance(seconds=30)
    assert mfa.sign_in_with_code(db, token, mfa_codes.code_at(secret, clock()), client_ip=IP,
                                 clock=clock).id == user.id
    db.commit()
    later = mfa.password_passed(db, user, clock=clock)
    with pytest.raises(AuthenticationFailed):  # the same code again, in the same step
        mfa.sign_in_with_code(db, later, mfa_codes.code_at(secret, clock()), client_ip=IP, clock=clock)


def test_turning_off_needs_the_password_and_a_code(db, clock):
    user = make_user(db)
    secret, codes = _turned_on(db, user, clock)
    clock.advance(seconds=30)
    with pytest.raises(AuthenticationFailed):
        mfa.turn_off(db, user, password="Wrong-Password-1!", code=mfa_codes.code_at(secret, clock()),
                     clock=clock)
    db.commit()
    with pytest.raises(AuthenticationFailed) as wrong:
        mfa.turn_off(db, user, password=PASSWORD, code="123-456", clock=clock)
    assert wrong.value.field == "code"
    db.commit()
    assert db.get(User, user.id).two_step_since is not None
    mfa.turn_off(db, user, password=PASSWORD, code=codes[3], clock=clock)  # a recovery code
    db.commit()
    assert db.get(User, user.id).two_step_since is None
    assert db.exec(select(RecoveryCode)).all() == [] and db.exec(select(TwoStepKey)).all() == []


def test_every_change_is_audited_and_emailed(db, clock):
    user = make_user(db, email="maria@example.test")
    admin = make_staff(db, is_admin=True, two_step=True)
    secret, _codes = _turned_on(db, user, clock)
    clock.advance(seconds=30)
    mfa.new_recovery_codes(db, user, mfa_codes.code_at(secret, clock()), clock=clock)
    token = mfa.password_passed(db, user, clock=clock)
    db.commit()
    fresh_codes = db.exec(select(RecoveryCode)).all()
    assert len(fresh_codes) == RECOVERY_CODE_COUNT
    clock.advance(seconds=30)
    mfa.turn_off(db, user, password=PASSWORD, code=mfa_codes.code_at(secret, clock()), clock=clock)
    db.commit()
    with pytest.raises(LinkError):  # the half-way sign-in stopped with it
        mfa.sign_in_with_code(db, token, "000000", client_ip=IP, clock=clock)
    db.rollback()
    staff_member = make_staff(db, email="nurse@example.test", two_step=True)
    mfa.reset_for_staff(db, admin, staff_member.id, clock=clock)
    db.commit()
    assert _actions(db) == ["two_step.setup_started", "two_step.on", "two_step.new_codes",
                            "two_step.off", "two_step.reset"]
    assert _subjects(db, "maria@example.test") == [
        "Two-step sign-in is on", "New recovery codes", "Two-step sign-in is off"]
    assert _subjects(db, "nurse@example.test") == ["Two-step sign-in was reset"]
    assert secret not in "".join(db.exec(select(OutboxEmail.body_template)).all())


# --- throttling ---------------------------------------------------------------------------


def test_wrong_codes_pause_the_account_like_wrong_passwords(db):
    user = make_user(db)
    clock = FrozenClock(utcnow() + timedelta(seconds=1))  # after the password was set
    secret = turn_on_two_step(db, user)
    token = mfa.password_passed(db, user, clock=clock)
    db.commit()
    right = mfa_codes.code_at(secret, clock())
    wrong = not_a_code(secret, clock())
    for n in range(ACCOUNT_BURST):
        with pytest.raises(AuthenticationFailed):
            mfa.sign_in_with_code(db, token, wrong, client_ip=f"198.51.100.{n}", clock=clock)
        db.commit()
    with pytest.raises(Throttled):  # even the right code waits: per account, whatever the client
        mfa.sign_in_with_code(db, token, right, client_ip="192.0.2.1", clock=clock)
    assert mfa.code_pause(db, token, "192.0.2.1", clock=clock) > 0
    # Another person is not paused by it.
    other = make_user(db)
    turn_on_two_step(db, other)
    other_token = mfa.password_passed(db, other, clock=clock)
    assert mfa.sign_in_with_code(db, other_token, right, client_ip="192.0.2.1", clock=clock).id == other.id


# --- the sign-in page's handlers ------------------------------------------------------------


def _drive(result) -> list:
    async def run():
        events = []
        async with EventContext(token="mfa", state_manager=None, enqueue_impl=_nothing):
            if inspect.isasyncgen(result):
                async for item in result:
                    events.append(item)
            elif inspect.iscoroutine(result):
                events.append(await result)
        return events

    return asyncio.run(run())


NONCE = "nonce-of-this-browser"


def _sign_in_page():
    return signed_out_state(SignInState, f"{SIGN_IN_NONCE_COOKIE}={NONCE}", token="client-mfa", ip=IP)


def test_sign_in_asks_for_the_code_after_the_password_and_only_then_starts_a_session(db):
    user = make_user(db, email="ana@example.test")
    secret = turn_on_two_step(db, user)
    page = _sign_in_page()
    _drive(SignInState.submit.fn(page, {"email": "ana@example.test", "password": PASSWORD}))
    assert page.step == "code" and page.navigate_to == "" and page.error == ""
    assert db.exec(select(UserSession)).all() == []  # the password alone opened nothing
    assert page._second_step and page._second_step not in json.dumps(page.dict(), default=str)  # server-side only
    row = db.exec(select(TwoStepPending)).one()
    assert row.token_hash != page._second_step

    _drive(SignInState.submit_code.fn(page, {"code": "12"}))
    assert (page.step, page.error_field, page.error) == ("code", "code", mfa.WRONG_CODE)

    _drive(SignInState.submit_code.fn(page, {"code": pyotp.TOTP(secret).now()}))
    assert page.navigate_to.startswith(routes.AUTH_SESSION + "?ticket=")
    ticket = page.navigate_to.split("ticket=")[1].split("&")[0]
    db.expire_all()
    assert sessions.redeem_ticket(db, ticket, clock=utcnow, browser_nonce=NONCE)  # a live one
    assert page.step == "password" and page._second_step == ""


def test_a_recovery_code_says_how_many_are_left_then_continues(db, clock):
    user = make_user(db, email="li@example.test")
    _secret, codes = _turned_on(db, user, clock)
    page = _sign_in_page()
    _drive(SignInState.submit.fn(page, {"email": "li@example.test", "password": PASSWORD}))
    _drive(SignInState.use_recovery_code.fn(page))
    assert page.step == "recovery"
    _drive(SignInState.submit_code.fn(page, {"code": codes[0]}))
    assert page.step == "recovered" and page.navigate_to == ""
    assert page.codes_left_note == mfa.codes_left_text(RECOVERY_CODE_COUNT - 1)
    _drive(SignInState.finish_sign_in.fn(page))
    assert page.navigate_to.startswith(routes.AUTH_SESSION + "?ticket=")


def test_wrong_codes_on_the_page_pause_it_with_the_countdown(db):
    user = make_user(db, email="kim@example.test")
    secret = turn_on_two_step(db, user)
    page = _sign_in_page()
    _drive(SignInState.submit.fn(page, {"email": "kim@example.test", "password": PASSWORD}))
    right = pyotp.TOTP(secret).now()
    wrong = not_a_code(secret, utcnow())
    for _ in range(ACCOUNT_BURST):
        _drive(SignInState.submit_code.fn(page, {"code": wrong}))
    assert page.pause_seconds > 0 and page.step == "code"  # paused, still on the code screen
    _drive(SignInState.submit_code.fn(page, {"code": right}))
    assert page.navigate_to == "" and page.pause_seconds > 0  # the right code waits too
    assert db.exec(select(UserSession)).all() == []


def test_going_back_to_the_password_starts_over(db):
    user = make_user(db, email="sam@example.test")
    secret = turn_on_two_step(db, user)
    page = _sign_in_page()
    _drive(SignInState.submit.fn(page, {"email": "sam@example.test", "password": PASSWORD}))
    _drive(SignInState.back_to_password.fn(page))
    assert page.step == "password" and page._second_step == ""
    _drive(SignInState.submit_code.fn(page, {"code": pyotp.TOTP(secret).now()}))
    assert page.navigate_to == "" and db.exec(select(UserSession)).all() == []


# --- staff: required by default; the administrator's reset ------------------------------


@pytest.fixture
def staff_required(monkeypatch):
    monkeypatch.setenv("CARESPACE_STAFF_MFA", "required")
    get_settings.cache_clear()
    assert mfa.staff_must_use_it()
    yield
    get_settings.cache_clear()


def test_staff_without_it_are_refused_and_sent_to_set_up(db, clock, staff_required):
    admin = make_staff(db, is_admin=True)
    with pytest.raises(NotAllowed):
        staff_service.list_staff(db, admin, clock=clock)
    db.rollback()
    assert mfa.status(db, admin).must_set_up
    browser = Browser("office")
    browser.token = sign_in_token(admin)
    tab = browser.tab()
    tab.open(routes.ADMIN_STAFF)
    assert tab.path == routes.SETTINGS and tab.query.get("setup") == "two-step"
    assert tab.state(TwoStepState).required_note == mfa.STAFF_SETUP_NEEDED
    turn_on_two_step(db, admin)
    tab.open(routes.ADMIN_STAFF)
    assert tab.path == routes.ADMIN_STAFF
    assert [m.email for m in staff_service.list_staff(db, admin, clock=clock)] == [admin.email]
    assert not mfa.status(db, admin).can_turn_off  # the page offers no "Turn off"
    with pytest.raises(ValidationError):  # and staff can't turn it off while it is required
        mfa.turn_off(db, admin, password=PASSWORD, code="000000", clock=clock)


def test_only_an_administrator_resets_a_staff_members_second_step(db, clock):
    admin = make_staff(db, is_admin=True, two_step=True)
    nurse = make_staff(db, two_step=True)
    with pytest.raises(NotAllowed):
        mfa.reset_for_staff(db, nurse, admin.id, clock=clock)
    db.commit()
    patient = make_user(db)
    turn_on_two_step(db, patient)
    with pytest.raises(ValidationError):
        mfa.reset_for_staff(db, admin, patient.id, clock=clock)
    assert mfa.reset_for_staff(db, admin, nurse.id, clock=clock) == nurse.full_name
    db.commit()
    assert db.get(User, nurse.id).two_step_since is None
    assert db.get(User, patient.id).two_step_since is not None


# --- the office resets a patient's or a caregiver's second step (a lost phone) ------------


def test_an_administrator_resets_a_patients_and_a_caregivers_second_step(db, clock):
    from carespace_app.services.identity import mfa_office
    from tests.factories import grant_caregiver, make_patient, patient_user

    admin = make_staff(db, is_admin=True, two_step=True)
    nurse = make_staff(db, email="nurse@example.com")
    patient = make_patient(db)
    own = patient_user(db, patient)
    turn_on_two_step(db, own)
    helper = grant_caregiver(db, patient, email="casey@example.com")
    turn_on_two_step(db, helper)
    helper.language = "es"
    db.add(helper)
    other = make_patient(db, first_name="Bea", email="bea@example.com")
    stranger = patient_user(db, other)
    turn_on_two_step(db, stranger)
    db.commit()

    # A nurse may not (refused and audited); nor sees the list.
    with pytest.raises(NotAllowed):
        mfa_office.reset_for_patient_account(db, nurse, patient.id, own.id, clock=clock)
    with pytest.raises(NotAllowed):
        mfa_office.resettable_accounts(db, nurse, patient.id, clock=clock)
    db.commit()
    assert db.get(User, own.id).two_step_since is not None

    listed = mfa_office.resettable_accounts(db, admin, patient.id, clock=clock)
    assert {(a.user_id, a.relation) for a in listed} == {(own.id, "self"), (helper.id, "caregiver")}
    # Another patient's account (or a staff member's) can't be reset from this patient's page.
    for wrong in (stranger.id, admin.id, 10**30, "1"):
        with pytest.raises(ValidationError):
            mfa_office.reset_for_patient_account(db, admin, patient.id, wrong, clock=clock)
    assert db.get(User, stranger.id).two_step_since is not None

    assert mfa_office.reset_for_patient_account(db, admin, patient.id, own.id,
                                                clock=clock) == own.full_name
    assert mfa_office.reset_for_patient_account(db, admin, patient.id, helper.id,
                                                clock=clock) == helper.full_name
    db.commit()
    assert db.get(User, own.id).two_step_since is None
    assert db.get(User, helper.id).two_step_since is None
    assert db.exec(select(TwoStepKey).where(TwoStepKey.user_id == own.id)).first() is None
    resets = db.exec(select(AuditEvent).where(AuditEvent.action == "two_step.reset")).all()
    assert [(r.patient_id, r.actor_user_id) for r in resets] == [(patient.id, admin.id)] * 2
    # Each is emailed in their own language; a second reset is refused (it is off now).
    assert _subjects(db, own.email)[-1] == "Two-step sign-in was reset"
    assert _subjects(db, helper.email)[-1] == "Se restableció el inicio de sesión en dos pasos"
    with pytest.raises(ValidationError, match="doesn't have two-step sign-in on"):
        mfa_office.reset_for_patient_account(db, admin, patient.id, own.id, clock=clock)
    assert mfa_office.resettable_accounts(db, admin, patient.id, clock=clock) == []


def test_the_patients_page_resets_a_caregivers_second_step_for_an_administrator(db, clock):
    from carespace_app.state.admin_patient import AdminPatientState
    from tests.factories import grant_caregiver, make_patient

    admin = make_staff(db, is_admin=True, two_step=True)
    patient = make_patient(db)
    helper = grant_caregiver(db, patient, email="casey@example.com")
    turn_on_two_step(db, helper)
    db.commit()
    browser = Browser("office")
    browser.token = sign_in_token(admin)
    tab = browser.tab()
    tab.open(f"{routes.ADMIN_PATIENT}?id={patient.id}")
    rows = tab.state(AdminPatientState).two_step_accounts
    assert [(r.name, r.who) for r in rows] == [(helper.full_name, "Caregiver")]
    tab.call(AdminPatientState, "reset_two_step", user_id=rows[0].user_id)
    assert tab.state(AdminPatientState).two_step_accounts == []
    db.expire_all()
    assert db.get(User, helper.id).two_step_since is None
