"""Staff accounts: admins only; deactivation ends sessions at once; new staff set their own password."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from carespace_app.db import session_scope
from carespace_app.models import AuditEvent, OutboxEmail, PasswordReset, User
from carespace_app.services.identity import sessions
from carespace_app.services.onboarding import staff
from carespace_app.services.errors import NotAllowed, ValidationError

from .factories import make_practice, make_staff


def _sign_in(db, user, clock) -> str:
    return sessions.redeem_ticket(db, sessions.start_session(db, user, clock=clock), clock=clock)


def test_admin_creates_staff_who_gets_a_reset_link_not_a_password(db, clock):
    admin = make_staff(db, full_name="Ada Admin", is_admin=True)
    made = staff.create_staff_member(db, admin, email="New.Nurse@Clinic.example", full_name="Nia Nurse",
                                     is_admin=False, clock=clock)
    user = db.get(User, made.id)
    assert user.is_staff and not user.is_admin and user.email == "new.nurse@clinic.example"
    mail = db.exec(select(OutboxEmail).where(OutboxEmail.to_address == user.email)).one()
    assert mail.kind == "password_reset" and mail.sealed_link
    assert "temporary" not in mail.body_template.lower()  # no password travels by email
    assert "{link}" in mail.body_template
    assert db.exec(select(PasswordReset).where(PasswordReset.user_id == user.id)).one()
    actions = {e.action for e in db.exec(select(AuditEvent)).all()}
    assert {"staff.created", "staff.reset_link_sent"} <= actions


def test_an_account_whose_email_cannot_be_queued_is_not_made(engine, db, clock):
    """The account, its reset email and its audit rows are kept together or not at all."""
    admin = make_staff(db, full_name="Ada Admin", is_admin=True)
    db.commit()

    def outbox_refuses(_mapper, _connection, _row):
        raise RuntimeError("the outbox can't take the email")

    event.listen(OutboxEmail, "before_insert", outbox_refuses)
    try:
        with pytest.raises(RuntimeError), session_scope(engine) as page:
            staff.create_staff_member(page, page.get(User, admin.id), email="nia@clinic.example",
                                      full_name="Nia Nurse", clock=clock)
    finally:
        event.remove(OutboxEmail, "before_insert", outbox_refuses)
    db.rollback()
    assert db.exec(select(User).where(User.email == "nia@clinic.example")).first() is None
    assert db.exec(select(PasswordReset)).all() == []
    assert db.exec(select(AuditEvent).where(AuditEvent.action.in_(
        ["account.created", "staff.created", "staff.reset_link_sent"]))).all() == []
    # Once the outbox takes it, the same address can be given an account.
    with session_scope(engine) as page:
        staff.create_staff_member(page, page.get(User, admin.id), email="nia@clinic.example",
                                  full_name="Nia Nurse", clock=clock)
    assert db.exec(select(User).where(User.email == "nia@clinic.example")).one().is_staff


def test_the_audit_log_says_the_admin_made_the_account_and_its_role(db, clock):
    """Not a patient's sign-up by the new account itself: the admin acted, and gave a role."""
    admin = make_staff(db, full_name="Ada Admin", is_admin=True)
    made = staff.create_staff_member(db, admin, email="lead.nurse@clinic.example", full_name="Lee Lead",
                                     is_admin=True, clock=clock)
    created = db.exec(select(AuditEvent).where(AuditEvent.action == "account.created")).all()
    assert [(e.actor_user_id, e.detail) for e in created] == [(admin.id, f"user #{made.id}, administrator")]


def test_duplicate_email_is_refused(db, clock):
    admin = make_staff(db, is_admin=True)
    p = make_practice(db)
    with pytest.raises(ValidationError):
        staff.create_staff_member(db, admin, email=p.alice_user.email, full_name="X Y", clock=clock)


def test_deactivation_ends_every_session_at_once(db, clock):
    admin = make_staff(db, full_name="Ada Admin", is_admin=True)
    nurse = make_staff(db, full_name="Nia Nurse")
    tokens = [_sign_in(db, nurse, clock) for _ in range(2)]
    assert all(sessions.resolve(db, t, clock=clock) for t in tokens)
    view = staff.deactivate(db, admin, nurse.id, clock=clock)
    assert not view.is_active and view.deactivated_at == clock()
    assert all(sessions.resolve(db, t, clock=clock) is None for t in tokens)
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "staff.deactivated")).one()
    assert "2 session(s) ended" in event.detail
    staff.reactivate(db, admin, nurse.id, clock=clock)
    db.commit()  # the admin's action ends (its unit of work)
    db.refresh(nurse)
    assert nurse.is_active and nurse.deactivated_at is None
    # The old sessions stay ended: reactivating is not signing back in.
    assert all(sessions.resolve(db, t, clock=clock) is None for t in tokens)


def test_admin_cannot_deactivate_themself(db, clock):
    admin = make_staff(db, is_admin=True)
    with pytest.raises(ValidationError):
        staff.deactivate(db, admin, admin.id, clock=clock)


def test_send_password_reset_link(db, clock):
    admin = make_staff(db, is_admin=True)
    nurse = make_staff(db)
    staff.send_password_reset(db, admin, nurse.id, clock=clock)
    staff.send_password_reset(db, admin, nurse.id, clock=clock)
    resets = db.exec(select(PasswordReset).where(PasswordReset.user_id == nurse.id)
                     .order_by(PasswordReset.id)).all()
    assert len(resets) == 2 and resets[0].superseded_at is not None and resets[1].superseded_at is None
    staff.deactivate(db, admin, nurse.id, clock=clock)
    with pytest.raises(ValidationError):
        staff.send_password_reset(db, admin, nurse.id, clock=clock)


def test_patients_are_not_staff_members(db, clock):
    admin = make_staff(db, is_admin=True)
    p = make_practice(db)
    with pytest.raises(Exception):
        staff.deactivate(db, admin, p.alice_user.id, clock=clock)
    assert [m.email for m in staff.list_staff(db, admin, clock=clock)] == sorted(
        [admin.email, p.staff.email], key=lambda e: {admin.email: admin.full_name,
                                                      p.staff.email: p.staff.full_name}[e])


@pytest.mark.parametrize("who", ["staff", "alice_user", "carer"])
def test_only_admins_manage_staff(db, clock, who):
    p = make_practice(db)
    actor = getattr(p, who)
    nurse = make_staff(db)
    calls = [
        lambda: staff.list_staff(db, actor, clock=clock),
        lambda: staff.create_staff_member(db, actor, email="x@clinic.example", full_name="X Y", clock=clock),
        lambda: staff.deactivate(db, actor, nurse.id, clock=clock),
        lambda: staff.reactivate(db, actor, nurse.id, clock=clock),
        lambda: staff.send_password_reset(db, actor, nurse.id, clock=clock),
    ]
    for call in calls:
        with pytest.raises(NotAllowed):
            call()
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    # Every attempt counted (repeats share a row: tests/test_audit_flood.py).
    assert sum(e.repeat_count for e in refused) == len(calls)
    db.refresh(nurse)
    assert nurse.is_active
