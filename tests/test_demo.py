"""The demo practice: believable, consistent with the portal's own rules, and seeded once."""
from __future__ import annotations

from sqlmodel import func, select

from carespace_app.models import CaregiverGrant, LabResult, Message, Patient, User
from carespace_app.services.permissions import access
from carespace_app.services.records import appointments
from carespace_app import demo
from carespace_app.services.onboarding import invitations
from carespace_app.services.permissions import caregivers
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.records import patients
from carespace_app.services.records import resources
from carespace_app.services.identity import security
from carespace_app.services.identity.emails import validate_email_address


def test_seed_demo_builds_a_practice_once(db, clock):
    counts = demo.seed_demo(db, clock=clock)
    assert counts["skipped"] is False
    assert counts["patients"] == 12 and counts["staff"] == 2 and counts["patient_accounts"] == 2
    assert counts["resources"] == 3 and counts["threads"] >= 4

    assert demo.seed_demo(db, clock=clock) == {"skipped": True, "moved_addresses": 0}
    assert db.exec(select(func.count(Patient.id))).one() == 12
    assert len(resources.list_resources(db)) == 3


def test_demo_people_can_sign_in_and_see_their_records(db, clock):
    demo.seed_demo(db, clock=clock)
    users = {u.email: u for u in db.exec(select(User)).all()}
    dana, luis = users[f"dana@{demo.DOMAIN}"], users[f"luis@{demo.DOMAIN}"]
    assert dana.is_admin and dana.is_staff and luis.is_staff and not luis.is_admin
    rosa_user = users[f"rosa.alvarez@{demo.DOMAIN}"]
    maria = users[f"maria.alvarez@{demo.DOMAIN}"]
    for user in (dana, luis, rosa_user, maria):
        assert security.check_password(demo.DEMO_PASSWORD, user.password_hash)

    rosa = db.exec(select(Patient).where(Patient.mrn == "DEMO-0001")).one()
    assert access.relation_to(db, maria, rosa.id) == "caregiver"
    assert access.relation_to(db, rosa_user, rosa.id) == "self"
    assert all(1940 <= p.date_of_birth.year <= 1990 for p in db.exec(select(Patient)).all())

    assert appointments.upcoming(db, rosa_user, rosa.id, clock=clock).items
    past = appointments.past(db, rosa_user, rosa.id, clock=clock).items
    assert "cancelled" in {a.status for a in past}
    reports = labs.list_reports(db, maria, rosa.id, limit=100, clock=clock).items
    spread = max(r.collected_at for r in reports) - min(r.collected_at for r in reports)
    assert 150 <= spread.days <= 186  # about six months
    history = labs.test_history(db, rosa_user, rosa.id, "CA-125", clock=clock)
    assert history[0].value > history[-1].value  # the marker came down with treatment

    flags = set(db.exec(select(LabResult.flag)).all())
    assert {"normal", "high", "low"} <= flags
    criticals = db.exec(select(LabResult).where(LabResult.flag.like("critical%"))).all()
    assert len(criticals) == 1

    threads = messaging.list_threads(db, rosa_user, rosa.id, clock=clock).items
    assert len({t.category for t in threads}) >= 3
    assert messaging.unread_count(db, rosa_user, rosa.id, clock=clock) >= 1
    queue = messaging.staff_queue(db, dana, clock=clock).items
    assert {"Dana Whitfield", "Luis Ortega"} <= {q.last_replied_by for q in queue}
    assert any(q.unread_by_staff for q in queue)


def test_every_demo_address_is_one_the_portals_forms_accept(db, clock):
    demo.seed_demo(db, clock=clock)
    addresses = ([u.email for u in db.exec(select(User)).all()]
                 + [p.email for p in db.exec(select(Patient)).all()]
                 + [g.email for g in db.exec(select(CaregiverGrant)).all()])
    assert len(addresses) == 5 + 12 + 1  # sign-ins, patients on file, the caregiver grant
    for address in addresses:
        assert validate_email_address(address) == address


def test_demo_people_can_use_the_forms_that_check_an_address(db, clock):
    demo.seed_demo(db, clock=clock)
    users = {u.email: u for u in db.exec(select(User)).all()}
    dana, james = users[f"dana@{demo.DOMAIN}"], users[f"james.whitaker@{demo.DOMAIN}"]
    maria = users[f"maria.alvarez@{demo.DOMAIN}"]
    gloria = db.exec(select(Patient).where(Patient.first_name == "Gloria")).one()
    james_record = db.exec(select(Patient).where(Patient.user_id == james.id)).one()

    # James gives Rosa's caregiver access to his portal too (a demo address, typed in).
    grant = caregivers.grant_access(db, james, james_record.id, name="Maria Alvarez",
                                     email=maria.email, clock=clock)
    assert grant.email == maria.email
    # The office saves Gloria's record unchanged and invites her by the address on file.
    patients.update_patient(db, dana, gloria.id, mrn=gloria.mrn, first_name=gloria.first_name,
                            last_name=gloria.last_name, date_of_birth=gloria.date_of_birth,
                            email=gloria.email, phone=gloria.phone, clock=clock)
    invitation = invitations.send_patient_invitation(db, gloria.id, sent_by=dana, clock=clock)
    assert invitation.email == gloria.email


def test_the_summary_says_who_can_sign_in_and_what_is_there(db, clock):
    assert demo.demo_summary(db) is None
    added = demo.seed_demo(db, clock=clock)
    summary = demo.demo_summary(db)
    assert summary["password"] == demo.DEMO_PASSWORD
    assert [(s["email"], s["role"]) for s in summary["sign_ins"]] == [
        (f"dana@{demo.DOMAIN}", "office admin"),
        (f"luis@{demo.DOMAIN}", "office staff"),
        (f"james.whitaker@{demo.DOMAIN}", "patient"),
        (f"rosa.alvarez@{demo.DOMAIN}", "patient"),
        (f"maria.alvarez@{demo.DOMAIN}", "caregiver for Rosa Alvarez"),
    ]
    for key in ("patients", "appointments", "lab_reports", "lab_results", "messages"):
        assert summary[key] == added[key] > 0, key
    assert summary["conversations"] == added["threads"]
    assert db.exec(select(func.count(Message.id))).one() == summary["messages"]

    # Seeding again adds nothing and the summary still tells the same story.
    assert demo.seed_demo(db, clock=clock)["skipped"] is True
    assert demo.demo_summary(db) == summary


def test_a_practice_seeded_with_the_old_test_addresses_is_moved_to_valid_ones(db, clock):
    demo.seed_demo(db, clock=clock)
    for model in (User, Patient, CaregiverGrant):  # as an earlier version seeded it
        for row in db.exec(select(model).where(model.email.like(f"%@{demo.DOMAIN}"))).all():
            row.email = row.email.replace(demo.DOMAIN, "demo.carespace.test")
            db.add(row)
    db.commit()

    again = demo.seed_demo(db, clock=clock)
    assert again == {"skipped": True, "moved_addresses": 5}
    rosa = db.exec(select(User).where(User.email == f"rosa.alvarez@{demo.DOMAIN}")).one()
    assert security.check_password(demo.DEMO_PASSWORD, rosa.password_hash)
    assert not db.exec(select(Patient).where(Patient.email.like("%.test"))).all()
    assert len(demo.demo_summary(db)["sign_ins"]) == 5
