"""The audit log names who acted with one word per role, the same word from every service.

The office filters and reads the log by these words (Audit Log's Role column), and a
patient's Record activity tells the office from everyone else by them; "self" next to
"patient" for the same person split one role in two.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent, OutboxEmail, User
from carespace_app.services.audit import office_log, patient_activity
from carespace_app.services.errors import NotAllowed
from carespace_app.services.mail import outbox
from carespace_app.services.onboarding import invitations
from carespace_app.services.permissions import caregivers
from carespace_app.services.records import messaging
from tests.test_invitations import GOOD, nurse, patient  # noqa: F401  (the same practice)

ROOT = Path(__file__).resolve().parents[1]

# The words of AuditEvent.actor_role (models.py).
ROLES = {"patient", "caregiver", "staff", "admin", "system", "anonymous"}


def _token(db, invitation) -> str:
    _subject, body = outbox.render(db.get(OutboxEmail, invitation.outbox_id))
    return re.search(r"/register\?token=([A-Za-z0-9_\-]+)", body).group(1)


def _roles(db) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}
    for action, role in db.exec(select(AuditEvent.action, AuditEvent.actor_role)).all():
        roles.setdefault(action, set()).add(role)
    return roles


def test_every_service_writes_one_of_the_role_words(db, patient, nurse, clock):  # noqa: F811
    admin = User(email="admin@example.com", full_name="Dana Admin", password_hash="x",
                 is_staff=True, is_admin=True)
    db.add(admin)
    db.commit()
    # The office invites (the command line, then a nurse: the second link replaces the first).
    invitations.send_patient_invitation(db, patient.id, sent_by=None, system=True, clock=clock)
    token = _token(db, invitations.send_patient_invitation(db, patient.id, sent_by=nurse,
                                                           clock=clock))
    maria = invitations.redeem(db, token, email="maria@example.com", password=GOOD,
                               confirm_password=GOOD, date_of_birth=patient.date_of_birth,
                               accepted_terms=True, clock=clock)
    # Maria gives Luis access, sends his link again; the office sends it once more.
    grant = caregivers.grant_access(db, maria, patient.id, name="Luis Garcia",
                                     email="luis@example.com", clock=clock)
    caregivers.send_caregiver_invitation(db, grant.id, sent_by=maria, clock=clock)
    link = caregivers.send_caregiver_invitation(db, grant.id, sent_by=nurse, clock=clock)
    [row] = [r for r in caregivers.authorized_users(db, maria, patient.id, clock=clock)
             if r["grant_id"] == grant.id]
    luis = invitations.redeem(db, _token(db, link), email="luis@example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=None, accepted_terms=True,
                              clock=clock, access_code=row["access_code"])
    # Messages from each side, read by the office and the administrator.
    thread_id = messaging.start_thread(db, maria, patient.id, category="Appointment",
                                       subject="Before my visit", body="Can I eat first?",
                                       client_key=None, clock=clock)
    messaging.reply(db, luis, thread_id, body="I'll drive her.", client_key=None, clock=clock)
    messaging.open_thread(db, nurse, thread_id, clock=clock)
    messaging.open_thread(db, admin, thread_id, clock=clock)
    # Someone without an account tries, and Maria ends Luis's access.
    with pytest.raises(NotAllowed):
        messaging.open_thread(db, None, thread_id, clock=clock)
    db.commit()  # the refusal's row stands, as at the boundary (db.session_scope)
    other = caregivers.grant_access(db, maria, patient.id, name="Ana Garcia",
                                     email="ana@example.com", clock=clock)
    caregivers.revoke_access(db, maria, other.id, clock=clock)
    db.commit()

    roles = _roles(db)
    assert set().union(*roles.values()) <= ROLES, roles
    assert roles["invitation.sent"] == {"system", "staff", "patient"}
    assert roles["account.registered"] == {"patient", "caregiver"}
    assert roles["caregiver.granted"] == {"patient"}
    assert roles["caregiver.revoked"] == {"patient"}
    assert roles["message.sent"] == {"patient", "caregiver"}
    assert roles["thread.viewed"] == {"staff", "admin"}
    assert "anonymous" in set().union(*roles.values())

    # The office's Audit Log says the same word for everything Maria did herself.
    log = office_log.list_events(db, admin, actor_email="maria@example.com", limit=100,
                                 clock=clock).items
    assert {row.action for row in log} >= {"account.registered", "caregiver.granted",
                                           "invitation.sent", "message.sent", "caregiver.revoked"}
    assert {row.actor_role for row in log} == {"patient"}
    # Her Record activity tells her own steps, her caregiver's and the office's apart.
    who = {entry.who for entry in patient_activity.patient_trail(
        db, maria, patient.id, clock=clock, limit=100).items}
    assert {"You", "Luis Garcia", "The office (Sam Nurse)"} <= who


def test_the_migration_moves_earlier_self_rows_to_patient(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path}/roles.db"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "a8d4f2e6c9b3")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for role in ("self", "patient", "caregiver", "staff"):
                conn.execute(text("INSERT INTO audit_events (at, actor_role, action, detail, "
                                  "repeat_count) VALUES ('2026-01-05 15:00:00', :role, "
                                  "'caregiver.granted', '', 1)"), {"role": role})
        command.upgrade(config, "b9e3c5a7d1f2")
        with engine.connect() as conn:
            roles = conn.execute(text("SELECT actor_role FROM audit_events ORDER BY id")).scalars()
            assert list(roles) == ["patient", "patient", "caregiver", "staff"]
        command.downgrade(config, "a8d4f2e6c9b3")  # harmless: the words stay
    finally:
        engine.dispose()
