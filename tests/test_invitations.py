"""Registration by invitation: every rule at its boundary, and single use under load."""
from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from carespace_app.config import get_settings
from carespace_app.db import session_scope
from carespace_app.policy import INVITATION_TTL, in_words
from carespace_app.models import (AuditEvent, CaregiverGrant, Invitation, OutboxEmail, Patient,
                                  PatientAccess, SignInFailure, User)
from carespace_app.services.permissions import access
from carespace_app.services.onboarding import invitations
from carespace_app.services.permissions import caregivers
from carespace_app.services.mail import outbox
from carespace_app.services.identity import security
from carespace_app.services.errors import LinkError, NotAllowed, ValidationError

BORN = date(1956, 3, 14)
GOOD = "Blue-Heron-Canoe-42"


@pytest.fixture
def nurse(db):
    user = User(email="nurse@example.com", full_name="Sam Nurse", password_hash="x", is_staff=True)
    db.add(user)
    db.commit()
    return user


@pytest.fixture
def patient(db):
    record = Patient(mrn="M-1", first_name="Maria", last_name="Garcia", last_name_key="garcia",
                     date_of_birth=BORN, email="maria@example.com")
    db.add(record)
    db.commit()
    return record


def _token(db, invitation) -> str:
    email = db.get(OutboxEmail, invitation.outbox_id)
    _subject, body = outbox.render(email)
    return re.search(r"/register\?token=([A-Za-z0-9_\-]+)", body).group(1)


def _invite(db, patient, nurse, clock) -> str:
    invitation = invitations.send_patient_invitation(db, patient.id, sent_by=nurse, clock=clock)
    db.commit()  # the office's action ends (its unit of work): the link is out
    return _token(db, invitation)


def _register(db, token, clock, *, email="maria@example.com", password=GOOD, confirm=None,
              born=BORN, terms=True):
    return invitations.redeem(db, token, email=email, password=password,
                              confirm_password=password if confirm is None else confirm,
                              date_of_birth=born, accepted_terms=terms, clock=clock)


def _audit(db, action):
    return db.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- sending -----------------------------------------------------------------------


def test_invitation_email_says_what_the_practice_promised(db, patient, nurse, clock):
    invitation = invitations.send_patient_invitation(db, patient.id, sent_by=nurse, clock=clock)
    assert invitation.expires_at == clock() + timedelta(hours=96)
    assert invitation.email == "maria@example.com" and invitation.kind == "patient"
    subject, body = outbox.render(db.get(OutboxEmail, invitation.outbox_id))
    assert subject == "Your invitation to CareSpace"
    assert "http://localhost:3000/register?token=" in body
    assert f"This link expires in {in_words(INVITATION_TTL)} (on Fri, Jan 9, 9:00 AM CST)" in body
    assert "Do not forward this email; the link won't work if forwarded." in body
    assert get_settings().office_phone in body and "Hello Maria" in body
    [event] = _audit(db, "invitation.sent")
    assert event.patient_id == patient.id and event.actor_user_id == nurse.id


def test_the_token_is_stored_only_as_its_hash(db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    for table in ("invitations", "outbox_emails", "audit_events"):
        for row in db.execute(text(f"SELECT * FROM {table}")).all():
            assert not any(token in str(value) for value in row), table
    assert db.exec(select(Invitation.token_hash)).one() == security.token_hash(token)


def test_only_staff_or_the_command_line_send_invitations(db, patient, clock):
    with pytest.raises(NotAllowed):
        invitations.send_patient_invitation(db, patient.id, sent_by=None, clock=clock)
    invitation = invitations.send_patient_invitation(db, patient.id, sent_by=None, system=True,
                                                     clock=clock)
    assert invitation.created_by_user_id is None
    assert _audit(db, "invitation.sent")[0].actor_role == "system"


def test_a_registered_patient_is_not_invited_again(db, patient, nurse, clock):
    _register(db, _invite(db, patient, nurse, clock), clock)
    with pytest.raises(ValidationError, match="already registered"):
        invitations.send_patient_invitation(db, patient.id, sent_by=nurse, clock=clock)


def test_a_new_link_kills_every_older_one(db, patient, nurse, clock):
    first = _invite(db, patient, nurse, clock)
    clock.advance(hours=1)
    second = _invite(db, patient, nurse, clock)
    clock.advance(hours=1)
    third = _invite(db, patient, nurse, clock)
    for old in (first, second):
        with pytest.raises(LinkError) as dead:
            invitations.inspect(db, old, clock=clock)
        assert dead.value.reason == "superseded" and "newer link" in str(dead.value)
    assert invitations.inspect(db, third, clock=clock).invitee_name == "Maria Garcia"


# --- the link's life ---------------------------------------------------------------------


def test_valid_at_exactly_96_hours(db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    clock.advance(hours=96)
    view = invitations.inspect(db, token, clock=clock)
    assert view.kind == "patient" and view.needs_date_of_birth and not view.existing_account
    assert _register(db, token, clock).email == "maria@example.com"


def test_refused_one_second_after_96_hours(db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    clock.advance(hours=96, seconds=1)
    for attempt in (lambda: invitations.inspect(db, token, clock=clock),
                    lambda: _register(db, token, clock)):
        with pytest.raises(LinkError) as dead:
            attempt()
        assert dead.value.reason == "expired"
        assert str(dead.value) == (
            "This registration link has expired. Please contact your physician's office or the "
            f"user who granted you access to their portal at {get_settings().office_phone} for a "
            "new link.")
    assert invitations.invitation_status(db, patient.id, clock=clock) == "expired"


@pytest.mark.parametrize("token", ["", "nope", "x" * 500, None])
def test_unknown_links_are_invalid(db, token, clock):
    with pytest.raises(LinkError) as dead:
        invitations.inspect(db, token, clock=clock)
    assert dead.value.reason == "invalid"


def test_registration_creates_the_account_and_opens_the_portal(db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    assert invitations.invitation_status(db, patient.id, clock=clock) == "invited"
    user = _register(db, token, clock)
    assert security.check_password(GOOD, user.password_hash)
    assert user.full_name == "Maria Garcia"
    assert db.get(Patient, patient.id).user_id == user.id
    assert access.relation_to(db, user, patient.id) == "self"
    assert invitations.invitation_status(db, patient.id, clock=clock) == "registered"
    assert db.exec(select(Invitation)).one().used_by_user_id == user.id
    assert len(_audit(db, "account.registered")) == 1


def test_a_used_link_cannot_be_used_again(db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    _register(db, token, clock)
    with pytest.raises(LinkError) as dead:
        _register(db, token, clock, password="Another-Good-Pass-77")
    assert dead.value.reason == "used"
    assert len(db.exec(select(User)).all()) == 2  # the nurse and Maria


@pytest.mark.parametrize("typed", ["MARIA@EXAMPLE.COM", "  Maria@Example.com ",
                                   "ｍａｒｉａ＠ｅｘａｍｐｌｅ．ｃｏｍ"])
def test_typed_email_in_another_case_or_fullwidth_is_accepted(db, patient, nurse, clock, typed):
    user = _register(db, _invite(db, patient, nurse, clock), clock, email=typed)
    assert user.email == "maria@example.com"  # always the invited address, never the typed one


def test_terms_must_be_accepted_and_that_costs_nothing(db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    with pytest.raises(ValidationError) as refused:
        _register(db, token, clock, terms=False)
    assert refused.value.field == "terms"
    assert db.exec(select(Invitation)).one().failed_attempts == 0
    _register(db, token, clock)


@pytest.mark.parametrize("password, confirm", [("short1!A", None), ("Password1!", None),
                                               (GOOD, GOOD + "x"), ("maria@example.comA1!", None)])
def test_a_password_rule_error_does_not_spend_the_link(db, patient, nurse, clock, password, confirm):
    token = _invite(db, patient, nurse, clock)
    with pytest.raises(ValidationError):
        _register(db, token, clock, password=password, confirm=confirm)
    row = db.exec(select(Invitation)).one()
    assert row.used_at is None and row.failed_attempts == 0
    assert _register(db, token, clock).id


def test_wrong_answers_never_say_which_and_the_fifth_locks(engine, db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    wrong = [dict(born=date(1956, 3, 15)), dict(email="someone@example.com"), dict(born=None),
             dict(email="maria@example.org", born=date(1901, 1, 1))]
    messages = []
    for n, answer in enumerate(wrong, start=1):
        with pytest.raises(ValidationError) as refused:
            with session_scope(engine) as page:  # the page's unit of work: the count must survive it
                _register(page, token, clock, **answer)
        messages.append(str(refused.value))
        assert refused.value.field == "email"  # shown by the first of the fields judged together
        db.rollback()  # (the test's own session reads afresh)
        assert db.exec(select(Invitation)).one().failed_attempts == n
    # The same words whichever answer was wrong, and the tries left before the lock.
    said = "That email address and date of birth don't match our invitation."
    assert messages == [f"{said} 4 tries left before this link locks.",
                        f"{said} 3 tries left before this link locks.",
                        f"{said} 2 tries left before this link locks.",
                        f"{said} 1 try left before this link locks."]
    assert invitations.inspect(db, token, clock=clock).tries_left == 1
    with pytest.raises(LinkError) as locked:
        _register(db, token, clock, born=date(2000, 1, 1))
    assert locked.value.reason == "locked" and get_settings().office_phone in str(locked.value)
    with pytest.raises(LinkError) as still:  # now even the right answers are refused
        _register(db, token, clock)
    assert still.value.reason == "locked"
    assert invitations.invitation_status(db, patient.id, clock=clock) == "locked"
    assert db.exec(select(User).where(User.email == "maria@example.com")).first() is None
    # A new link from the office works again.
    assert _register(db, _invite(db, patient, nurse, clock), clock).id


def test_twenty_simultaneous_registrations_make_one_account(engine, db, patient, nurse, clock):
    token = _invite(db, patient, nurse, clock)
    start = threading.Barrier(20)
    outcomes: list = []

    def register():
        start.wait()
        try:
            with session_scope(engine) as session:  # each submit is its own unit of work
                user = _register(session, token, clock)
            outcomes.append(user.id)
        except LinkError as exc:
            outcomes.append(exc.reason)

    threads = [threading.Thread(target=register) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    winners = [o for o in outcomes if isinstance(o, int)]
    assert len(outcomes) == 20 and len(winners) == 1
    assert set(outcomes) - set(winners) == {"used"}
    db.expire_all()
    assert [u.id for u in db.exec(select(User).where(User.is_staff.is_(False))).all()] == winners
    assert len(db.exec(select(PatientAccess)).all()) == 1


# --- caregivers -------------------------------------------------------------------------


@pytest.fixture
def maria(db, patient, nurse, clock):
    """Maria, registered."""
    return _register(db, _invite(db, patient, nurse, clock), clock)


def _grant(db, maria, patient, clock, *, name="Luis Garcia", email="luis@example.com"):
    grant = caregivers.grant_access(db, maria, patient.id, name=name, email=email, clock=clock)
    invitation = db.exec(select(Invitation).where(Invitation.grant_id == grant.id)
                         .order_by(Invitation.id.desc())).first()
    return grant, _token(db, invitation)


def _status(db, maria, patient, clock):
    return [(r["email"], r["status"]) for r in
            caregivers.authorized_users(db, maria, patient.id, clock=clock)]


def _code(db, maria, patient, clock, grant) -> str:
    """The access code as Maria sees it in Manage Users (and reads it out to the person)."""
    [row] = [r for r in caregivers.authorized_users(db, maria, patient.id, clock=clock)
             if r["grant_id"] == grant.id]
    assert row["access_code"], row
    return row["access_code"]


def test_caregiver_invitation_email_and_registration(db, maria, patient, clock):
    grant, token = _grant(db, maria, patient, clock)
    email = db.exec(select(OutboxEmail).where(OutboxEmail.to_address == "luis@example.com")).one()
    subject, body = outbox.render(email)
    assert subject == "Your invitation to Maria Garcia's CareSpace portal"
    assert "Hello Luis Garcia" in body
    assert "full access to the portal, including all of their medical records and messages" in body
    assert f"This link expires in {in_words(INVITATION_TTL)}" in body and "Do not forward" in body
    # The email says truthfully what is needed, and doesn't carry the code itself.
    assert "asked for this email address and an access code" in body
    assert "Maria Garcia will tell you a short access code; you'll need it to finish." in body
    code = _code(db, maria, patient, clock, grant)
    assert code.replace(" ", "") not in body.replace(" ", "")
    assert _status(db, maria, patient, clock) == [("luis@example.com", "invited")]
    view = invitations.inspect(db, token, clock=clock)
    assert (view.kind, view.needs_date_of_birth, view.existing_account) == ("caregiver", False, False)
    assert (view.needs_access_code, view.patient_first_name) == (True, "Maria")
    luis = invitations.redeem(db, token, email="Luis@Example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=None, accepted_terms=True,
                              clock=clock, access_code=code)
    assert luis.full_name == "Luis Garcia" and luis.email == "luis@example.com"
    assert access.relation_to(db, luis, patient.id) == "caregiver"
    assert db.get(CaregiverGrant, grant.id).access_id is not None
    assert _status(db, maria, patient, clock) == [("luis@example.com", "active")]


def test_caregiver_wrong_email_is_counted_with_its_own_message(db, maria, patient, clock):
    grant, token = _grant(db, maria, patient, clock)
    code = _code(db, maria, patient, clock, grant)
    with pytest.raises(ValidationError,
                       match="^That email address and access code don't match our invitation. "
                             "4 tries left before this link locks.$"):
        invitations.redeem(db, token, email="maria@example.com", password=GOOD,
                           confirm_password=GOOD, date_of_birth=None, accepted_terms=True, clock=clock,
                           access_code=code)
    assert db.exec(select(Invitation).where(Invitation.grant_id == grant.id)).one().failed_attempts == 1


def test_caregiver_with_an_account_gets_access_added(db, maria, patient, clock):
    other = Patient(mrn="M-2", first_name="Ana", last_name="Diaz", last_name_key="diaz",
                    date_of_birth=BORN, email="ana@example.com")
    db.add(other)
    db.commit()
    ana_token = _token(db, invitations.send_patient_invitation(db, other.id, sent_by=None,
                                                               system=True, clock=clock))
    ana = _register(db, ana_token, clock, email="ana@example.com")
    grant, token = _grant(db, maria, patient, clock, name="Ana Diaz", email="ANA@example.com")
    code = _code(db, maria, patient, clock, grant)
    assert invitations.inspect(db, token, clock=clock).existing_account
    with pytest.raises(ValidationError) as refused:
        invitations.redeem(db, token, email="ana@example.com", password="Wrong-Pass-99",
                           confirm_password="Wrong-Pass-99", date_of_birth=None,
                           accepted_terms=True, clock=clock, access_code=code)
    assert refused.value.field == "password"
    assert db.exec(select(Invitation).where(Invitation.email == "ana@example.com",
                                            Invitation.kind == "caregiver")).one().used_at is None
    assert len(db.exec(select(SignInFailure)).all()) == 1  # counted with sign-in guessing
    same = invitations.redeem(db, token, email="ana@example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=None, accepted_terms=True,
                              clock=clock, access_code=code)
    assert same.id == ana.id and len(db.exec(select(User)).all()) == 3
    assert [(p.id, r) for p, r in access.portal_patients(db, ana)] == [(other.id, "self"),
                                                                       (patient.id, "caregiver")]
    assert len(_audit(db, "caregiver.access_added")) == 1


def test_a_caregiver_name_is_one_line(db, maria, patient, clock):
    grant, _token_ = _grant(db, maria, patient, clock, name="Luis\r\nSubject: forged")
    assert grant.name == "Luis  Subject: forged"
    [mail] = [m for m in db.exec(select(OutboxEmail)).all() if m.to_address == "luis@example.com"]
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_grant_refusals(db, maria, patient, nurse, clock):
    with pytest.raises(ValidationError, match="your own email"):
        caregivers.grant_access(db, maria, patient.id, name="Me", email="MARIA@example.com",
                                 clock=clock)
    with pytest.raises(ValidationError) as refused:
        caregivers.grant_access(db, maria, patient.id, name="  ", email="x@example.com", clock=clock)
    assert refused.value.field == "name"
    _grant(db, maria, patient, clock)
    with pytest.raises(ValidationError, match="already invited"):
        caregivers.grant_access(db, maria, patient.id, name="Luis", email="luis@example.com",
                                 clock=clock)
    with pytest.raises(NotAllowed):  # Manage Users is the patient's alone
        caregivers.grant_access(db, nurse, patient.id, name="X", email="x@example.com", clock=clock)


def test_a_caregiver_cannot_grant_or_revoke(db, maria, patient, clock):
    grant, token = _grant(db, maria, patient, clock)
    luis = invitations.redeem(db, token, email="luis@example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=None, accepted_terms=True,
                              clock=clock, access_code=_code(db, maria, patient, clock, grant))
    with pytest.raises(ValidationError, match="already has access"):
        caregivers.grant_access(db, maria, patient.id, name="Luis", email="luis@example.com",
                                 clock=clock)
    with pytest.raises(NotAllowed):
        caregivers.grant_access(db, luis, patient.id, name="Z", email="z@example.com", clock=clock)
    with pytest.raises(NotAllowed):
        caregivers.revoke_access(db, luis, grant.id, clock=clock)
    with pytest.raises(NotAllowed):
        caregivers.authorized_users(db, luis, patient.id, clock=clock)


def test_revoke_ends_access_at_once_and_for_good(db, maria, patient, clock):
    grant, token = _grant(db, maria, patient, clock)
    luis = invitations.redeem(db, token, email="luis@example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=None, accepted_terms=True,
                              clock=clock, access_code=_code(db, maria, patient, clock, grant))
    caregivers.revoke_access(db, maria, grant.id, clock=clock)
    assert access.relation_to(db, luis, patient.id) is None
    assert access.portal_patients(db, luis) == []
    assert _status(db, maria, patient, clock) == [("luis@example.com", "revoked")]
    row = db.exec(select(PatientAccess).where(PatientAccess.user_id == luis.id)).one()
    assert row.revoked_by_user_id == maria.id
    caregivers.revoke_access(db, maria, grant.id, clock=clock)  # a second click changes nothing
    assert len(_audit(db, "caregiver.revoked")) == 1
    with pytest.raises(ValidationError, match="revoked"):
        caregivers.send_caregiver_invitation(db, grant.id, sent_by=maria, clock=clock)
    # Granting again is a new decision, with a new invitation.
    _again, again_token = _grant(db, maria, patient, clock)
    assert invitations.inspect(db, again_token, clock=clock).existing_account


def test_revoking_an_invitation_kills_its_link(db, maria, patient, nurse, clock):
    grant, token = _grant(db, maria, patient, clock)
    caregivers.revoke_access(db, nurse, grant.id, clock=clock)  # staff may revoke too
    with pytest.raises(LinkError) as dead:
        invitations.inspect(db, token, clock=clock)
    assert dead.value.reason == "superseded"


def test_send_new_link_for_a_caregiver(db, maria, patient, nurse, clock):
    grant, first = _grant(db, maria, patient, clock)
    clock.advance(hours=97)
    assert _status(db, maria, patient, clock) == [("luis@example.com", "expired")]
    newer = _token(db, caregivers.send_caregiver_invitation(db, grant.id, sent_by=maria, clock=clock))
    rows = caregivers.authorized_users(db, maria, patient.id, clock=clock)
    assert rows[0]["status"] == "invited" and rows[0]["expires_at"] == clock() + timedelta(hours=96)
    with pytest.raises(LinkError) as dead:
        invitations.inspect(db, first, clock=clock)
    assert dead.value.reason == "superseded"
    staff_link = caregivers.send_caregiver_invitation(db, grant.id, sent_by=nurse, clock=clock)
    assert staff_link.created_by_user_id == nurse.id
    with pytest.raises(LinkError):
        invitations.inspect(db, newer, clock=clock)
    assert len(_audit(db, "caregivers.viewed")) == 0  # the patient's own reads aren't staff reads
    caregivers.authorized_users(db, nurse, patient.id, clock=clock)
    assert len(_audit(db, "caregivers.viewed")) == 1


def test_revoked_while_the_form_is_open(db, maria, patient, clock):
    grant, token = _grant(db, maria, patient, clock)
    invitations.inspect(db, token, clock=clock)
    code = _code(db, maria, patient, clock, grant)
    caregivers.revoke_access(db, maria, grant.id, clock=clock)
    with pytest.raises(LinkError):
        invitations.redeem(db, token, email="luis@example.com", password=GOOD,
                           confirm_password=GOOD, date_of_birth=None, accepted_terms=True,
                           clock=clock, access_code=code)
    assert db.exec(select(User).where(User.email == "luis@example.com")).first() is None


def test_invitation_status_from_nothing_to_registered(db, patient, nurse, clock):
    assert invitations.invitation_status(db, patient.id, clock=clock) == "not invited"
    assert invitations.latest_invitation(db, patient.id) is None
    token = _invite(db, patient, nurse, clock)
    assert invitations.latest_invitation(db, patient.id).expires_at == clock() + timedelta(hours=96)
    _register(db, token, clock)
    assert invitations.invitation_status(db, patient.id, clock=clock) == "registered"
