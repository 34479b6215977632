"""Notification emails: who hears what, in which words, with a link to the item."""
from __future__ import annotations

from sqlmodel import select

from carespace_app import routes
from carespace_app.models import OutboxEmail, User
from carespace_app.services.mail import notifications
from tests.factories import (grant_caregiver, make_patient, make_practice, make_staff, make_user,
                             revoke_caregiver)


def sent(db, kind=None):
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    if kind:
        query = query.where(OutboxEmail.kind == kind)
    return db.exec(query).all()


def test_addresses_are_the_patient_and_active_caregivers(db):
    p = make_practice(db)
    assert notifications.notification_addresses(db, p.alice.id) == [
        p.alice_user.email, p.carer.email]


def test_without_an_account_the_address_on_file_unless_left_out(db):
    patient = make_patient(db, first_name="Ines", last_name="Vidal", with_account=False)
    assert notifications.notification_addresses(db, patient.id) == [patient.email]
    assert notifications.notification_addresses(db, patient.id, include_unregistered=False) == []


def test_a_revoked_or_deactivated_caregiver_hears_nothing(db, clock):
    practice = make_practice(db)
    second = make_user(db, full_name="Dee Helper")
    grant_caregiver(db, practice.alice, user=second)
    revoke_caregiver(db, practice.alice, practice.carer)
    second.is_active = False
    db.add(second)
    db.commit()
    assert notifications.notification_addresses(db, practice.alice.id) == [
        practice.alice_user.email]


def test_the_patient_reads_it_about_themself_a_caregiver_reads_whose_portal(db, clock):
    practice = make_practice(db)
    notifications.tell_patient_side(
        db, practice.alice.id, news="A new message from your care team is waiting",
        path=f"{routes.MESSAGES}?thread=7", kind="message_notification", clock=clock)
    db.commit()
    mine, carers = sent(db)
    link = routes.item_link("/messages?thread=7")
    assert mine.to_address == practice.alice_user.email
    assert ("A new message from your care team is waiting in your CareSpace portal."
            in mine.body_template)
    assert carers.to_address == practice.carer.email
    assert ("A new message from your care team is waiting in Alice Moreno's CareSpace portal."
            in carers.body_template)
    for email in (mine, carers):
        assert link in email.body_template
        assert email.subject == "You have a new message in CareSpace"
        assert email.kind == "message_notification" and email.patient_id == practice.alice.id
        assert email.sealed_link is None  # not a secret: the page asks to sign in


def test_new_results_are_not_sent_to_someone_without_an_account(db, clock):
    patient = make_patient(db, first_name="Ana", last_name="Ruiz", with_account=False)
    notifications.tell_patient_side(db, patient.id, news="New lab results are ready to view",
                                    path=routes.LABS, kind="lab_results_notification", clock=clock)
    notifications.tell_patient_side(db, patient.id, news="An appointment on Tue, Jan 13 has changed",
                                    path=routes.APPOINTMENTS, kind="appointment_notification",
                                    clock=clock)
    db.commit()
    assert [(e.kind, e.to_address) for e in sent(db)] == [
        ("appointment_notification", patient.email)]


def test_staff_hear_a_patient_wrote_without_what_or_who(db, clock):
    practice = make_practice(db)
    quiet = make_staff(db, full_name="Quiet Nurse")
    quiet.email_on_patient_message = False
    gone = make_staff(db, full_name="Gone Nurse")
    gone.is_active = False
    db.add_all([quiet, gone])
    db.commit()
    notifications.tell_staff_patient_wrote(db, practice.alice.id, 42, clock=clock)
    db.commit()
    emails = sent(db, "staff_message_notification")
    assert [e.to_address for e in emails] == [practice.staff.email]
    email = emails[0]
    assert email.subject == "A patient sent a new message"
    assert routes.item_link("/admin/messages?thread=42") in email.body_template
    assert "Alice" not in email.body_template and "Moreno" not in email.body_template
    assert notifications.STAFF_SETTING_LABEL in email.body_template


def test_a_new_staff_member_has_the_message_email_on(db):
    assert make_staff(db).email_on_patient_message is True
    assert db.get(User, make_user(db).id).email_on_patient_message is True


def test_every_kind_reads_in_words():
    for kind in ("appointment_notification", "lab_results_notification",
                 "staff_message_notification", "message_notification", "invitation",
                 "password_reset", "email_change", "account_notice", "address_in_use"):
        words = notifications.kind_in_words(kind)
        assert "_" not in words and words[0].isupper()
    assert notifications.kind_in_words("something_new") == "Something new"
