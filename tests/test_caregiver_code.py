"""A caregiver's link needs the access code the patient tells them: a forwarded invitation
email is not enough. And a patient's invitations are limited per day."""
from __future__ import annotations

import hashlib
import re
from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import select

from carespace_app.config import get_settings
from carespace_app.db import session_scope
from carespace_app.models import AuditEvent, Invitation, OutboxEmail, Patient, User
from carespace_app.policy import MAX_INVITATIONS_PER_DAY, MAX_WRONG_ANSWERS
from carespace_app.services.permissions import access
from carespace_app.services.onboarding import invitations
from carespace_app.services.permissions import caregivers
from carespace_app.services.mail import outbox
from carespace_app.services.errors import LinkError, ValidationError
from tests.test_invitations import GOOD, nurse, patient  # noqa: F401  (the same practice)

LIMIT_MESSAGE = (f"You've sent {MAX_INVITATIONS_PER_DAY} invitations today. To protect people "
                 "from unwanted email, you can send more tomorrow, or call the office at "
                 f"{get_settings().office_phone}.")


def _link_token(db, invitation) -> str:
    _subject, body = outbox.render(db.get(OutboxEmail, invitation.outbox_id))
    return re.search(r"/register\?token=([A-Za-z0-9_\-]+)", body).group(1)


@pytest.fixture
def maria(db, patient, clock):
    """Maria, registered from her own invitation."""
    token = _link_token(db, invitations.send_patient_invitation(db, patient.id, sent_by=None,
                                                                system=True, clock=clock))
    user = invitations.redeem(db, token, email="maria@example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=patient.date_of_birth,
                              accepted_terms=True, clock=clock)
    db.commit()  # her registration ends (its unit of work)
    return user


def _latest(db, grant) -> Invitation:
    return db.exec(select(Invitation).where(Invitation.grant_id == grant.id)
                   .order_by(Invitation.id.desc())).first()


def _grant(db, maria, patient, clock, email="luis@example.com", name="Luis Garcia"):
    """Maria grants access: (the grant, the emailed link's token, the code she is shown)."""
    grant = caregivers.grant_access(db, maria, patient.id, name=name, email=email, clock=clock)
    db.commit()  # her action ends (its unit of work): the invitation is out
    return grant, _link_token(db, _latest(db, grant)), _shown(db, maria, patient, clock, grant)


def _shown(db, viewer, patient, clock, grant) -> str:
    """The code on the person's row in Manage Users (or the office's caregivers list)."""
    [row] = [r for r in caregivers.authorized_users(db, viewer, patient.id, clock=clock)
             if r["grant_id"] == grant.id]
    return row["access_code"]


def _accept(db, token, clock, code, *, email="luis@example.com", password=GOOD):
    return invitations.redeem(db, token, email=email, password=password, confirm_password=password,
                              date_of_birth=None, accepted_terms=True, clock=clock,
                              access_code=code)


def _other_code(code: str) -> str:
    digits = code.replace(" ", "")
    return f"{(int(digits) + 1) % 10 ** len(digits):0{len(digits)}d}"


def _luis(db):
    return db.exec(select(User).where(User.email == "luis@example.com")).first()


# --- the access code ---------------------------------------------------------------------


def test_the_patient_is_shown_a_six_digit_code_to_read_out(db, maria, patient, clock):
    _grant_row, _token, code = _grant(db, maria, patient, clock)
    assert re.fullmatch(r"\d{3} \d{3}", code)


def test_a_forwarded_link_without_the_code_is_refused_and_counts_toward_the_lock(engine, db, maria,
                                                                                 patient, clock):
    """Whoever reads the forwarded email has the link and the invited address: not the code."""
    grant, token, code = _grant(db, maria, patient, clock)
    wrong_codes = ["", "000000" if code != "000 000" else "111111", _other_code(code), None]
    for n, guess in enumerate(wrong_codes, start=1):
        with pytest.raises(ValidationError) as refused:
            with session_scope(engine) as page:  # the page's unit of work: the count must survive it
                _accept(page, token, clock, guess, password=f"Stranger-Pass-{n}9!")
        # Never says which of the two was wrong.
        assert str(refused.value) == ("That email address and access code don't match our invitation. "
                                      + invitations.tries_left_text(MAX_WRONG_ANSWERS - n))
        db.rollback()  # (the test's own session reads afresh)
        assert _latest(db, grant).failed_attempts == n
    assert _luis(db) is None
    with pytest.raises(LinkError) as locked:  # the fifth wrong answer locks, as for a patient
        _accept(db, token, clock, _other_code(code))
    assert locked.value.reason == "locked" and get_settings().office_phone in str(locked.value)
    with pytest.raises(LinkError) as still:  # now even the right code is refused
        _accept(db, token, clock, code)
    assert still.value.reason == "locked"
    assert _luis(db) is None
    assert [r["status"] for r in caregivers.authorized_users(db, maria, patient.id, clock=clock)] \
        == ["expired"]  # Manage Users offers "Send new link"
    assert _shown(db, maria, patient, clock, grant) == ""  # a dead link's code isn't shown
    assert _latest(db, grant).access_code_sealed is None
    actions = [e.action for e in db.exec(select(AuditEvent).where(
        AuditEvent.action.in_(["invitation.wrong_answer", "invitation.locked"]))
        .order_by(AuditEvent.id)).all()]
    assert actions == ["invitation.wrong_answer"] * 4 + ["invitation.locked"]


def test_the_right_code_works_once(db, maria, patient, clock):
    grant, token, code = _grant(db, maria, patient, clock)
    luis = _accept(db, token, clock, code)
    assert access.relation_to(db, luis, patient.id) == "caregiver"
    assert _shown(db, maria, patient, clock, grant) == ""  # accepted: nothing left to tell
    assert _latest(db, grant).access_code_sealed is None
    with pytest.raises(LinkError) as used:
        _accept(db, token, clock, code, password="Another-Good-Pass-77")
    assert used.value.reason == "used"
    assert len(db.exec(select(User).where(User.email == "luis@example.com")).all()) == 1


@pytest.mark.parametrize("typed", ["{d}", "{a} {b}", " {a}-{b} ", "{fullwidth}"])
def test_the_code_as_people_type_it(db, maria, patient, clock, typed):
    _grant_row, token, code = _grant(db, maria, patient, clock)
    digits = code.replace(" ", "")
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in digits)
    as_typed = typed.format(d=digits, a=digits[:3], b=digits[3:], fullwidth=fullwidth)
    assert access.relation_to(db, _accept(db, token, clock, as_typed), patient.id) == "caregiver"


def test_send_new_link_makes_a_new_code_and_the_old_link_and_code_stop_working(db, maria, patient,
                                                                                 nurse, clock):
    grant, first_token, first_code = _grant(db, maria, patient, clock)
    second = caregivers.send_caregiver_invitation(db, grant.id, sent_by=maria, clock=clock)
    second_token, second_code = _link_token(db, second), invitations.shown_access_code(second)
    assert _shown(db, maria, patient, clock, grant) == second_code
    # Drawn again (a repeat is one in a million): try until it differs, as a patient would see.
    while second_code == first_code:
        second = caregivers.send_caregiver_invitation(db, grant.id, sent_by=maria, clock=clock)
        second_token, second_code = _link_token(db, second), invitations.shown_access_code(second)
    with pytest.raises(LinkError) as dead:
        _accept(db, first_token, clock, first_code)
    assert dead.value.reason == "superseded"
    with pytest.raises(ValidationError):  # the old code is no good with the new link
        _accept(db, second_token, clock, first_code)
    # The office sends a link too, and sees its code.
    third = caregivers.send_caregiver_invitation(db, grant.id, sent_by=nurse, clock=clock)
    third_code = invitations.shown_access_code(third)
    assert _shown(db, nurse, patient, clock, grant) == third_code == _shown(db, maria, patient,
                                                                            clock, grant)
    with pytest.raises(LinkError):
        _accept(db, second_token, clock, second_code)
    assert _accept(db, _link_token(db, third), clock, third_code).email == "luis@example.com"


def test_the_code_is_stored_only_hashed_and_sealed(db, maria, patient, clock):
    _grant_row, token, code = _grant(db, maria, patient, clock)
    digits = code.replace(" ", "")
    row = db.exec(select(Invitation).where(Invitation.kind == "caregiver")).one()
    for table in ("invitations", "outbox_emails", "audit_events"):
        for stored in db.execute(text(f"SELECT * FROM {table}")).all():
            assert not any(digits in str(value) for value in stored), table
    # Not a plain hash of six digits (a million tries would undo that): keyed by the link's
    # token, which the database doesn't hold.
    assert row.access_code_hash not in {hashlib.sha256(v.encode()).hexdigest()
                                        for v in (digits, code)}
    assert len(row.access_code_hash) == 64
    # The email neither: it says who will tell the code.
    _subject, body = outbox.render(db.get(OutboxEmail, row.outbox_id))
    assert digits not in body.replace(" ", "")
    assert "Maria Garcia will tell you a short access code; you'll need it to finish." in body


def test_a_caregiver_with_an_account_needs_the_code_too(db, maria, patient, clock):
    other = Patient(mrn="M-2", first_name="Ana", last_name="Diaz", last_name_key="diaz",
                    date_of_birth=date(1960, 1, 2), email="ana@example.com")
    db.add(other)
    db.commit()
    ana = invitations.redeem(db, _link_token(db, invitations.send_patient_invitation(
        db, other.id, sent_by=None, system=True, clock=clock)), email="ana@example.com",
        password=GOOD, confirm_password=GOOD, date_of_birth=other.date_of_birth,
        accepted_terms=True, clock=clock)
    _grant_row, token, code = _grant(db, maria, patient, clock, email="ana@example.com",
                                     name="Ana Diaz")
    assert invitations.inspect(db, token, clock=clock).existing_account
    with pytest.raises(ValidationError, match="access code don't match"):
        _accept(db, token, clock, _other_code(code), email="ana@example.com")  # right password
    assert access.relation_to(db, ana, patient.id) is None
    assert _accept(db, token, clock, code, email="ana@example.com").id == ana.id
    assert access.relation_to(db, ana, patient.id) == "caregiver"


def test_a_pending_link_from_before_codes_cannot_be_used_and_asks_for_a_new_one(db, maria, patient,
                                                                                 clock):
    grant, token, _code = _grant(db, maria, patient, clock)
    # What the migration leaves on a caregiver link sent before access codes.
    db.execute(text("UPDATE invitations SET access_code_hash = NULL, access_code_sealed = NULL "
                    "WHERE kind = 'caregiver'"))
    db.commit()
    for attempt in (lambda: invitations.inspect(db, token, clock=clock),
                    lambda: _accept(db, token, clock, "")):
        with pytest.raises(LinkError) as dead:
            attempt()
        assert dead.value.reason == "no_code" and "send you a new link" in str(dead.value)
    assert _luis(db) is None
    [row] = caregivers.authorized_users(db, maria, patient.id, clock=clock)
    assert (row["status"], row["access_code"]) == ("old link", "")
    new = caregivers.send_caregiver_invitation(db, grant.id, sent_by=maria, clock=clock)
    assert _accept(db, _link_token(db, new), clock, invitations.shown_access_code(new)).id


def test_patient_links_need_no_code(db, patient, nurse, clock):
    token = _link_token(db, invitations.send_patient_invitation(db, patient.id, sent_by=nurse,
                                                                clock=clock))
    view = invitations.inspect(db, token, clock=clock)
    assert not view.needs_access_code and view.patient_first_name == ""
    assert db.exec(select(Invitation)).one().access_code_hash is None


# --- how many invitations a patient sends ---------------------------------------------------


def _invitation_count(db) -> tuple[int, int]:
    return (len(db.exec(select(Invitation).where(Invitation.kind == "caregiver")).all()),
            len(db.exec(select(OutboxEmail).where(OutboxEmail.to_address != "maria@example.com")).all()))


def test_ten_grants_and_resends_a_day_then_a_clear_sentence(db, maria, patient, nurse, clock):
    first, _token, _code = _grant(db, maria, patient, clock, email="p0@example.org")
    for n in range(1, 6):
        clock.advance(minutes=5)
        _grant(db, maria, patient, clock, email=f"p{n}@example.org")
    for _ in range(4):  # re-sends count too
        caregivers.send_caregiver_invitation(db, first.id, sent_by=maria, clock=clock)
    db.commit()  # her actions end (their units of work)
    assert _invitation_count(db) == (10, 10)
    before = _invitation_count(db)
    with pytest.raises(ValidationError) as refused:
        caregivers.grant_access(db, maria, patient.id, name="One More", email="more@example.org",
                                 clock=clock)
    assert str(refused.value) == LIMIT_MESSAGE
    db.rollback()
    with pytest.raises(ValidationError, match="^You've sent 10 invitations today"):
        caregivers.send_caregiver_invitation(db, first.id, sent_by=maria, clock=clock)
    db.rollback()
    assert _invitation_count(db) == before  # nothing sent, nothing stored
    assert "more@example.org" not in [r["email"] for r in
                                      caregivers.authorized_users(db, maria, patient.id, clock=clock)]
    # The office, which the sentence sends her to, can still send a link (audited as staff).
    caregivers.send_caregiver_invitation(db, first.id, sent_by=nurse, clock=clock)
    staff_sent = db.exec(select(AuditEvent).where(AuditEvent.action == "invitation.sent",
                                                  AuditEvent.actor_user_id == nurse.id)).all()
    assert [e.actor_role for e in staff_sent] == ["staff"] and staff_sent[0].patient_id == patient.id
    # 24 hours after the first of them (the others came later), one more may go.
    clock.advance(hours=24, minutes=-25, seconds=1)
    caregivers.grant_access(db, maria, patient.id, name="One More", email="more@example.org",
                             clock=clock)
    with pytest.raises(ValidationError, match="^You've sent 10"):
        caregivers.send_caregiver_invitation(db, first.id, sent_by=maria, clock=clock)


def test_the_limit_is_per_patient(db, maria, patient, clock):
    for n in range(10):
        _grant(db, maria, patient, clock, email=f"p{n}@example.org")
    other = Patient(mrn="M-2", first_name="Ana", last_name="Diaz", last_name_key="diaz",
                    date_of_birth=date(1960, 1, 2), email="ana@example.com")
    db.add(other)
    db.commit()
    ana = invitations.redeem(db, _link_token(db, invitations.send_patient_invitation(
        db, other.id, sent_by=None, system=True, clock=clock)), email="ana@example.com",
        password=GOOD, confirm_password=GOOD, date_of_birth=other.date_of_birth,
        accepted_terms=True, clock=clock)
    assert caregivers.grant_access(db, ana, other.id, name="Luis", email="luis@example.com",
                                    clock=clock).id
    with pytest.raises(ValidationError, match="^You've sent 10"):
        caregivers.grant_access(db, maria, patient.id, name="Luis", email="luis@example.com",
                                 clock=clock)
