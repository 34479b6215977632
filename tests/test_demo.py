"""The demo practice: believable, consistent with the portal's own rules, and seeded once."""
from __future__ import annotations

from sqlmodel import func, select

from carespace_app.models import LabResult, Patient, User
from carespace_app.services import access, appointments, demo, labs, messaging, resources, security


def test_seed_demo_builds_a_practice_once(db, clock):
    counts = demo.seed_demo(db, clock=clock)
    assert counts["skipped"] is False
    assert counts["patients"] == 12 and counts["staff"] == 2 and counts["patient_accounts"] == 2
    assert counts["resources"] == 3 and counts["threads"] >= 4

    assert demo.seed_demo(db, clock=clock) == {"skipped": True}
    assert db.exec(select(func.count(Patient.id))).one() == 12
    assert len(resources.list_resources(db)) == 3


def test_demo_people_can_sign_in_and_see_their_records(db, clock):
    demo.seed_demo(db, clock=clock)
    users = {u.email: u for u in db.exec(select(User)).all()}
    dana, luis = users["dana@demo.carespace.test"], users["luis@demo.carespace.test"]
    assert dana.is_admin and dana.is_staff and luis.is_staff and not luis.is_admin
    rosa_user = users["rosa.alvarez@demo.carespace.test"]
    maria = users["maria.alvarez@demo.carespace.test"]
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
