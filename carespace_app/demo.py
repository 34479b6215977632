"""A believable demo practice, for a laptop, a screenshot or a walkthrough.

Rows are inserted directly, in one transaction, with times relative to the clock
so "upcoming" is always upcoming. Every demo account shares DEMO_PASSWORD, which
the command line prints; nothing here is a real person.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Optional

from sqlmodel import Session, func, select

from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_SCHEDULED,
    HOLD_PATIENT,
    RELATION_CAREGIVER,
    RELATION_SELF,
    THREAD_CLOSED,
    THREAD_NEW,
    THREAD_OPEN,
    CHECKIN_DONE,
    CHECKIN_EXPIRED,
    CHECKIN_OPEN,
    URGENT_CHECKIN,
    Appointment,
    ResultHoldChoice,
    CaregiverGrant,
    Checkin,
    CheckinAnswer,
    CheckinPlan,
    LabReport,
    LabResult,
    Message,
    MessageThread,
    Patient,
    PatientAccess,
    ThreadRead,
    UrgentItem,
    User,
)
from carespace_app.timefmt import to_local, to_utc_naive
from carespace_app.services.audit import trail
from carespace_app.services.records import checkin_schedule, resources, symptoms
from carespace_app.services.identity import security
from carespace_app.services.records.labs import compute_flag
from carespace_app.services.identity.emails import normalize_email
from carespace_app.services.records.patients import name_key

DEMO_PASSWORD = "CareSpace-Demo-2026!"
FIRST_MRN = "DEMO-0001"
MRN_PREFIX = "DEMO-"
# example.org is reserved for examples (RFC 2606) yet an ordinary domain to the address
# check every form uses; ".test" is not (email-validator refuses special-use domains).
DOMAIN = "demo.example.org"
# Where demo practices seeded before lived; seed_demo moves them to DOMAIN.
OLD_DOMAINS = ("demo.carespace.test",)
MAIN_OFFICE = "Fayetteville Cancer Center, Suite 200"
INFUSION_SUITE = "Fayetteville Cancer Center, Infusion Suite (2nd floor)"
LAB = "Fayetteville Cancer Center, Lab (1st floor)"
IMAGING = "Washington Regional Imaging, 3215 N. North Hills Blvd"
DR_RAO, DR_OKAFOR, DR_MARSH = "Dr. Anjali Rao", "Dr. Samuel Okafor", "Dr. Elena Marsh"

# (first, last, date of birth); the first two have registered accounts.
PATIENTS = [
    ("Rosa", "Alvarez", date(1951, 6, 12)), ("James", "Whitaker", date(1962, 9, 3)),
    ("Gloria", "Chen", date(1957, 2, 20)), ("Robert", "Haines", date(1944, 11, 8)),
    ("Denise", "Washington", date(1970, 4, 17)), ("Harold", "Jenkins", date(1940, 8, 29)),
    ("Priya", "Natarajan", date(1983, 1, 25)), ("Thomas", "O'Connell", date(1966, 12, 2)),
    ("Linda", "Pham", date(1975, 7, 14)), ("Marcus", "Reed", date(1988, 3, 30)),
    ("Carol", "Simmons", date(1949, 10, 5)), ("Frank", "Delgado", date(1958, 5, 21)),
]

OFFICE_VISIT = ("Office visit", 30, MAIN_OFFICE,
                "Please arrive 15 minutes early and bring a list of your current medications.")
INFUSION = ("Infusion", 240, INFUSION_SUITE,
            "Eat a light meal beforehand and plan to be here about four hours. "
            "You may bring one visitor and something to read.")
LAB_DRAW = ("Lab services", 15, LAB,
            "No fasting needed. Check in at the front desk 10 minutes early.")
CT_SCAN = ("Imaging", 60, IMAGING,
           "CT of chest, abdomen and pelvis. Nothing to eat for 4 hours before; "
           "arrive 30 minutes early to drink the contrast.")
VIDEO_VISIT = ("Telehealth", 20, "Video visit (the link arrives by text that morning)",
               "Find a quiet spot with good internet. Have your medication bottles nearby.")

# (days from today, hour, minute, kind, provider, cancelled)
ROSA_VISITS = [
    (-91, 9, 30, OFFICE_VISIT, DR_RAO, False), (-84, 8, 0, INFUSION, DR_RAO, False),
    (-63, 8, 0, INFUSION, DR_RAO, False), (-49, 7, 45, LAB_DRAW, DR_RAO, True),
    (-21, 10, 0, CT_SCAN, "Dr. Michael Brennan (Radiology)", False),
    (-14, 9, 30, OFFICE_VISIT, DR_RAO, False), (3, 8, 15, LAB_DRAW, DR_RAO, False),
    (7, 8, 0, INFUSION, DR_RAO, False), (21, 10, 30, OFFICE_VISIT, DR_RAO, False),
    (28, 14, 0, VIDEO_VISIT, "Karen Holt, RN (nurse navigator)", False),
]
JAMES_VISITS = [
    (-60, 13, 30, OFFICE_VISIT, DR_OKAFOR, False), (-30, 7, 30, LAB_DRAW, DR_OKAFOR, False),
    (-28, 11, 0, CT_SCAN, "Dr. Michael Brennan (Radiology)", False),
    (5, 7, 30, LAB_DRAW, DR_OKAFOR, False), (12, 13, 0, OFFICE_VISIT, DR_OKAFOR, False),
    (40, 9, 0, CT_SCAN, "Dr. Michael Brennan (Radiology)", False),
]

# test: (unit, ref_low, ref_high, critical_low, critical_high)
RANGES = {
    "WBC": ("K/uL", 4.0, 11.0, 1.5, 30.0),
    "Hemoglobin (female)": ("g/dL", 12.0, 15.5, 7.0, 20.0),
    "Hemoglobin (male)": ("g/dL", 13.5, 17.5, 7.0, 20.0),
    "Platelets": ("K/uL", 150.0, 450.0, 50.0, 1000.0),
    "Glucose": ("mg/dL", 70.0, 99.0, 40.0, 400.0),
    "Creatinine": ("mg/dL", 0.6, 1.2, None, None),
    "Potassium": ("mmol/L", 3.5, 5.1, 2.8, 6.2),
    "ALT": ("U/L", 7.0, 56.0, None, None),
    "CA-125": ("U/mL", None, 35.0, None, None),
    "CEA": ("ng/mL", None, 3.0, None, None),
}
# The LOINC codes the office entered (issue #16: they go into the FHIR download).
LOINC = {"WBC": "6690-2", "Hemoglobin (female)": "718-7", "Hemoglobin (male)": "718-7",
         "Platelets": "777-3", "Glucose": "2345-7", "Creatinine": "2160-0", "Potassium": "2823-3",
         "ALT": "1742-6", "CA-125": "10334-1", "CEA": "2039-6"}
# Rosa chose to see tumour markers only after her care team reviewed them, at most this many
# days (issue #16); her newest CA-125, drawn yesterday, waits for that review.
ROSA_HOLD_DAYS = 7
CBC, CMP = "Complete Blood Count (CBC)", "Comprehensive Metabolic Panel (CMP)"
# (panel, days before today it was drawn, {test: value}); Rosa's platelets at day -63 are critical.
ROSA_LABS = [
    (CBC, -175, {"WBC": 6.8, "Hemoglobin (female)": 12.9, "Platelets": 245}),
    (CBC, -147, {"WBC": 3.6, "Hemoglobin (female)": 11.4, "Platelets": 168}),
    (CBC, -119, {"WBC": 4.2, "Hemoglobin (female)": 11.1, "Platelets": 131}),
    (CBC, -63, {"WBC": 2.9, "Hemoglobin (female)": 10.2, "Platelets": 48}),
    (CBC, -35, {"WBC": 4.8, "Hemoglobin (female)": 11.8, "Platelets": 188}),
    (CBC, -7, {"WBC": 5.9, "Hemoglobin (female)": 12.3, "Platelets": 214}),
    (CMP, -175, {"Glucose": 94, "Creatinine": 0.8, "Potassium": 4.2, "ALT": 22}),
    (CMP, -119, {"Glucose": 112, "Creatinine": 0.9, "Potassium": 3.4, "ALT": 61}),
    (CMP, -63, {"Glucose": 101, "Creatinine": 1.0, "Potassium": 4.0, "ALT": 30}),
    (CMP, -7, {"Glucose": 96, "Creatinine": 0.9, "Potassium": 4.4, "ALT": 24}),
] + [("Tumor marker: CA-125", day, {"CA-125": value})
     for day, value in ((-175, 412), (-147, 286), (-119, 151), (-63, 88), (-35, 41), (-7, 29),
                        (-1, 24))]
JAMES_LABS = [
    (CBC, day, {"WBC": w, "Hemoglobin (male)": h, "Platelets": p})
    for day, w, h, p in ((-170, 7.1, 14.1, 232), (-128, 5.4, 13.2, 198), (-86, 4.6, 12.9, 176),
                         (-44, 5.9, 13.6, 205), (-2, 6.3, 14.0, 221))
] + [
    (CMP, day, {"Glucose": g, "Creatinine": c, "Potassium": k, "ALT": a})
    for day, g, c, k, a in ((-170, 104, 1.1, 4.5, 34), (-86, 121, 1.4, 4.8, 48),
                            (-2, 99, 1.1, 4.6, 37))
] + [("Tumor marker: CEA", day, {"CEA": value})
     for day, value in ((-170, 8.4), (-128, 5.1), (-86, 3.6), (-44, 2.7), (-2, 2.2))]

# Conversations: (patient index, author key, category, subject, status,
#   [(hours from the first message, author key, body)]). Authors: "self", "maria", "dana", "luis".
THREADS = [
    (0, "maria", "Appointment", "Moving Mom's infusion next week", THREAD_OPEN, -10 * 24, [
        (0, "maria", "Hi, my mother has a family wedding on the day of her infusion next week. "
                     "Could we move it to Friday or the following Monday? Thank you, Maria"),
        (20, "luis", "Hi Maria, I checked with the infusion suite and we can move Mrs. Alvarez "
                     "to Friday at 8:00 AM. The new time is on her Appointments tab. — Luis"),
        (22, "maria", "Perfect, thank you so much!"),
    ]),
    (0, "self", "Prescription refill", "Ondansetron refill", THREAD_CLOSED, -20 * 24, [
        (0, "self", "I'm down to my last few nausea pills (ondansetron 8 mg). Could you send a "
                    "refill to the Walgreens on College Ave?"),
        (3, "dana", "Dr. Rao approved the refill and it was sent to the Walgreens on N. College "
                    "Ave. It should be ready after 4 PM today."),
    ]),
    (0, "self", "Test results", "Platelet count", THREAD_CLOSED, -62 * 24, [
        (0, "self", "The lab called about my platelets being low. Should I be worried before "
                    "my next treatment?"),
        (2, "luis", "Dr. Rao reviewed your results. Low platelets are an expected effect of the "
                    "chemotherapy, so we are moving this week's infusion back one week to let "
                    f"them recover. Call us at {get_settings().office_phone} right away if you "
                    "notice unusual "
                    "bruising or bleeding."),
    ]),
    (0, "self", "Medical question", "Tingling in my fingers", THREAD_OPEN, -2 * 24, [
        (0, "self", "For the last few days my fingertips tingle, mostly in the morning. "
                    "Is this from the treatment?"),
        (22, "dana", "Thank you for telling us. Tingling can come from one of your medicines. "
                     "Dr. Rao would like to check it at your visit; until then, wear gloves "
                     "when you handle cold things. Call us if it gets worse or you drop things."),
    ]),
    (1, "self", "Test results", "My CEA result", THREAD_OPEN, -40 * 24, [
        (0, "self", "I saw my CEA went down to 2.7. Is that good news?"),
        (5, "luis", "Dr. Okafor says yes: your CEA has come down steadily since surgery, which "
                    "is what we hope to see. He will go over it with you at your next visit."),
    ]),
    (1, "self", "Billing", "Question about my March statement", THREAD_NEW, -3 * 24, [
        (0, "self", "My statement shows a charge for a visit I think my insurance already paid. "
                    "Could someone look at it?"),
    ]),
]


def _email(first: str, last: str) -> str:
    letters = lambda text: "".join(ch for ch in text.lower() if ch.isalpha())  # noqa: E731
    return f"{letters(first)}.{letters(last)}@{DOMAIN}"


def _user(db: Session, email: str, full_name: str, password_hash: str, now: datetime,
          *, is_staff: bool = False, is_admin: bool = False) -> User:
    # A demo address someone already registered is reused rather than duplicated.
    email = normalize_email(email)
    user = db.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, full_name=full_name, password_hash=password_hash,
                    is_staff=is_staff, is_admin=is_admin, created_at=now, password_changed_at=now)
        db.add(user)
        db.flush()
    return user


def _move_old_addresses(db: Session) -> int:
    """Demo addresses from an earlier seed, under OLD_DOMAINS, moved to DOMAIN; no commit."""
    moved = 0
    for old in OLD_DOMAINS:
        suffix = f"@{old}"
        for model in (User, Patient, CaregiverGrant):
            for row in db.exec(select(model).where(model.email.like(f"%{suffix}"))).all():
                new = row.email[:-len(suffix)] + f"@{DOMAIN}"
                if model is User and db.exec(select(User.id).where(User.email == new)).first():
                    continue  # someone already uses the new address: leave the old one be
                row.email = new
                db.add(row)
                moved += model is User
    return moved


def seed_demo(db: Session, *, clock: Clock) -> dict:
    """Fill an empty practice with demo people and records; returns what was added, or
    ``{"skipped": True, "moved_addresses": n}`` when the demo practice is already there."""
    if db.exec(select(Patient.id).where(Patient.mrn == FIRST_MRN)).first() is not None:
        moved = _move_old_addresses(db)
        if moved:
            trail.record(db, "demo.addresses_moved", role="system",
                         detail=f"{moved} demo sign-in(s) moved to @{DOMAIN}", clock=clock)
        return {"skipped": True, "moved_addresses": moved}
    now = clock()
    today = to_local(now).date()

    def local(days: int, hour: int, minute: int = 0) -> datetime:
        return to_utc_naive(datetime.combine(today + timedelta(days=days), time(hour, minute)))

    # One hash for every demo account: they share the password the command line prints.
    password_hash = security.hash_password(DEMO_PASSWORD)
    dana = _user(db, f"dana@{DOMAIN}", "Dana Whitfield", password_hash, now,
                 is_staff=True, is_admin=True)
    luis = _user(db, f"luis@{DOMAIN}", "Luis Ortega", password_hash, now, is_staff=True)

    patients: list[Patient] = []
    owners: list[Optional[User]] = []
    for n, (first, last, born) in enumerate(PATIENTS, start=1):
        email = _email(first, last)
        patient = Patient(mrn=f"DEMO-{n:04d}", first_name=first, last_name=last,
                          last_name_key=name_key(last), date_of_birth=born, email=email,
                          phone=f"(479) 555-{100 + n:04d}", created_at=now, updated_at=now)
        db.add(patient)
        db.flush()
        owner = None
        if n <= 2:
            owner = _user(db, email, patient.full_name, password_hash, now)
            patient.user_id = owner.id
            db.add(PatientAccess(patient_id=patient.id, user_id=owner.id, relation=RELATION_SELF,
                                 granted_at=now))
        patients.append(patient)
        owners.append(owner)

    rosa, james = patients[0], patients[1]
    maria = _user(db, _email("Maria", "Alvarez"), "Maria Alvarez", password_hash, now)
    grant_access = PatientAccess(patient_id=rosa.id, user_id=maria.id, relation=RELATION_CAREGIVER,
                                 granted_by_user_id=owners[0].id, granted_at=now - timedelta(days=120))
    db.add(grant_access)
    db.flush()
    db.add(CaregiverGrant(patient_id=rosa.id, name="Maria Alvarez", email=maria.email,
                          granted_by_user_id=owners[0].id, created_at=grant_access.granted_at,
                          access_id=grant_access.id))

    # --- appointments: a full story for the two registered patients, one each for the rest
    visits = [(rosa, v) for v in ROSA_VISITS] + [(james, v) for v in JAMES_VISITS]
    providers = (DR_RAO, DR_OKAFOR, DR_MARSH)
    for i, patient in enumerate(patients[2:]):
        visits.append((patient, (-30 - 3 * i, 9 + i % 6, 0, OFFICE_VISIT, providers[i % 3], False)))
        visits.append((patient, (2 + 2 * i, 8 + i % 8, 30, INFUSION if i % 3 == 0 else OFFICE_VISIT,
                                 providers[i % 3], False)))
    for patient, (days, hour, minute, kind, provider, cancelled) in visits:
        appointment_type, minutes, location, instructions = kind
        db.add(Appointment(patient_id=patient.id, starts_at=local(days, hour, minute),
                           duration_minutes=minutes, appointment_type=appointment_type,
                           provider=provider, location=location, instructions=instructions,
                           status=APPOINTMENT_CANCELLED if cancelled else APPOINTMENT_SCHEDULED,
                           created_by_user_id=dana.id, created_at=now, updated_at=now))

    # --- lab reports over six months
    report_count = result_count = 0
    for patient, ordering, reports in ((rosa, DR_RAO, ROSA_LABS), (james, DR_OKAFOR, JAMES_LABS)):
        for panel, days, values in reports:
            collected = local(days, 7, 45)
            # Blood counts come back the same morning; tumor markers go out and take a day.
            resulted = collected + (timedelta(hours=26) if "Tumor" in panel else timedelta(hours=3))
            resulted = min(resulted, now)
            tumour = "Tumor" in panel
            held = patient is rosa and tumour and days == -1  # her choice: reviewed first
            report = LabReport(patient_id=patient.id, panel=panel, collected_at=collected,
                               resulted_at=resulted, ordering_provider=ordering,
                               created_by_user_id=luis.id, created_at=resulted,
                               category="Tumour markers" if tumour else "Other labs",
                               released_at=None if held else resulted,
                               release_by=resulted + timedelta(days=ROSA_HOLD_DAYS) if held else None,
                               hold_kind=HOLD_PATIENT if held else "")
            db.add(report)
            db.flush()
            report_count += 1
            for test, value in values.items():
                unit, low, high, crit_low, crit_high = RANGES[test]
                db.add(LabResult(report_id=report.id, patient_id=patient.id,
                                 test_name=test.split(" (")[0], value=float(value),
                                 value_text=str(value), unit=unit,  # as the lab wrote it
                                 ref_low=low, ref_high=high, critical_low=crit_low,
                                 critical_high=crit_high, collected_at=collected,
                                 loinc=LOINC.get(test, ""),
                                 flag=compute_flag(float(value), low, high, crit_low, crit_high)))
                result_count += 1

    db.add(ResultHoldChoice(patient_id=rosa.id, category="Tumour markers",
                            hold_days=ROSA_HOLD_DAYS, updated_at=now))

    # --- conversations with the office
    authors = {"maria": maria, "dana": dana, "luis": luis}
    message_count = 0
    for index, starter, category, subject, status, start_hours, messages in THREADS:
        patient = patients[index]
        people = {**authors, "self": owners[index]}
        start = now + timedelta(hours=start_hours)
        stamps = [start + timedelta(hours=h) for h, _author, _body in messages]
        staff_stamps = [t for t, (_h, a, _b) in zip(stamps, messages) if a in ("dana", "luis")]
        patient_stamps = [t for t, (_h, a, _b) in zip(stamps, messages) if a not in ("dana", "luis")]
        thread = MessageThread(
            patient_id=patient.id, category=category, subject=subject, status=status,
            created_by_user_id=people[starter].id, created_at=start, last_message_at=stamps[-1],
            last_patient_message_at=max(patient_stamps),
            last_staff_message_at=max(staff_stamps) if staff_stamps else None,
            staff_read_at=max(staff_stamps) if staff_stamps else None,
            closed_at=stamps[-1] + timedelta(hours=1) if status == THREAD_CLOSED else None,
            closed_by_user_id=dana.id if status == THREAD_CLOSED else None,
            message_count=len(messages))
        db.add(thread)
        db.flush()
        for stamp, (_h, author, body) in zip(stamps, messages):
            db.add(Message(thread_id=thread.id, author_user_id=people[author].id,
                           from_staff=author in ("dana", "luis"), body=body, created_at=stamp))
            message_count += 1
        # Each portal writer has read up to their own last message; older closed threads
        # were read after the answer. The newest answers stay unread, to show the badge.
        for key in {starter} | {a for _h, a, _b in messages if a not in ("dana", "luis")}:
            mine = [t for t, (_h, a, _b) in zip(stamps, messages) if a == key]
            seen = stamps[-1] + timedelta(hours=4) if status == THREAD_CLOSED else max(mine)
            db.add(ThreadRead(thread_id=thread.id, user_id=people[key].id, last_read_at=seen))

    checkin_count = _seed_checkins(db, rosa, james, owners, maria, luis, now, today)
    resource_count = resources.ensure_default_resources(db, clock=clock)
    trail.record(db, "demo.seeded", role="system", detail=f"{len(patients)} demo patients",
                 clock=clock)
    return {
        "skipped": False,
        "staff": 2,
        "patients": len(patients),
        "patient_accounts": sum(1 for owner in owners if owner is not None),
        "caregivers": 1,
        "appointments": len(visits),
        "lab_reports": report_count,
        "lab_results": result_count,
        "threads": len(THREADS),
        "messages": message_count,
        "checkins": checkin_count,
        "resources": resource_count,
    }


# --- symptom check-ins (issue #15) ------------------------------------------------------
# Rosa: weekly for five weeks, one missed, Maria answered once for her; fatigue rose to
# severe last week (the office called her). This week's is open. James: every 14 days;
# this morning he answered "yes" to fever, and nobody has acknowledged it yet.
ROSA_CHECKINS = (  # (week, who answered or None for missed, grades other than 0)
    (0, "self", {"fatigue": 1, "nausea": 1}),
    (1, "self", {"fatigue": 2, "nausea": 2, "appetite": 1}),
    (2, None, {}),
    (3, "maria", {"fatigue": 2, "nausea": 1, "mouth_sores": 1, "appetite": 2}),
    (4, "self", {"fatigue": 3, "nausea": 1, "appetite": 2, "pain": 1}),
)
ROSA_CALLED = "Called the patient: rest and fluids, seen at her infusion on Thursday."


def _seed_checkins(db: Session, rosa: Patient, james: Patient, owners, maria: User, luis: User,
                   now: datetime, today: date) -> int:
    keys = symptoms.keys_to_text(symptoms.DEFAULT_KEYS)
    count = 0

    def plan_for(patient: Patient, every: int, days_back: int) -> CheckinPlan:
        plan = CheckinPlan(patient_id=patient.id, every_days=every,
                           starts_on=today - timedelta(days=days_back), symptoms=keys,
                           created_by_user_id=luis.id, created_at=now - timedelta(days=days_back),
                           updated_at=now)
        db.add(plan)
        db.flush()
        return plan

    def answered(plan: CheckinPlan, index: int, who: User, relation: str, grades: dict,
                 at: Optional[datetime] = None) -> Checkin:
        when = checkin_schedule.occurrence(plan.starts_on, plan.every_days, index)
        at = at or min(when.opens_at + timedelta(hours=5), now)
        checkin = Checkin(plan_id=plan.id, patient_id=plan.patient_id, opens_at=when.opens_at,
                          closes_at=when.closes_at, symptoms=keys, status=CHECKIN_DONE,
                          submitted_at=at, submitted_by_user_id=who.id, submitted_as=relation)
        db.add(checkin)
        db.flush()
        for key in symptoms.DEFAULT_KEYS:
            db.add(CheckinAnswer(checkin_id=checkin.id, patient_id=plan.patient_id, symptom=key,
                                 grade=grades.get(key, 0), answered_at=at))
        return checkin

    rosa_plan = plan_for(rosa, 7, 7 * len(ROSA_CHECKINS))
    previous: dict = {}
    for index, who, grades in ROSA_CHECKINS:
        if who is None:
            when = checkin_schedule.occurrence(rosa_plan.starts_on, 7, index)
            db.add(Checkin(plan_id=rosa_plan.id, patient_id=rosa.id, opens_at=when.opens_at,
                           closes_at=when.closes_at, symptoms=keys, status=CHECKIN_EXPIRED))
            continue
        person = maria if who == "maria" else owners[0]
        checkin = answered(rosa_plan, index, person, "caregiver" if who == "maria" else "patient",
                           grades)
        full = {k: grades.get(k, 0) for k in symptoms.DEFAULT_KEYS}
        found = symptoms.findings(full, previous)
        if found:
            db.add(UrgentItem(patient_id=rosa.id, kind=URGENT_CHECKIN, checkin_id=checkin.id,
                              findings=json.dumps([f.as_json() for f in found]),
                              created_at=checkin.submitted_at,
                              acknowledged_at=checkin.submitted_at + timedelta(minutes=22),
                              acknowledged_by_user_id=luis.id, note=ROSA_CALLED))
        previous = full
        count += 1
    this_week = checkin_schedule.occurrence(rosa_plan.starts_on, 7, len(ROSA_CHECKINS))
    db.add(Checkin(plan_id=rosa_plan.id, patient_id=rosa.id, opens_at=this_week.opens_at,
                   closes_at=this_week.closes_at, symptoms=keys, status=CHECKIN_OPEN))

    james_plan = plan_for(james, 14, 15)  # the second opened yesterday
    answered(james_plan, 0, owners[1], "patient", {"fatigue": 1})
    fever = answered(james_plan, 1, owners[1], "patient", {"fatigue": 2, "fever": 1},
                     at=now - timedelta(hours=1))
    db.add(UrgentItem(patient_id=james.id, kind=URGENT_CHECKIN, checkin_id=fever.id,
                      findings=json.dumps([symptoms.Finding("fever", 1, 0).as_json()]),
                      created_at=fever.submitted_at))
    return count + 2


# --- what the demo practice holds --------------------------------------------------------

ROLE_ADMIN, ROLE_STAFF = "office admin", "office staff"


def demo_summary(db: Session) -> Optional[dict]:
    """Who can sign in to the demo practice and what it holds, or None if it is not seeded.

    Counts what is in the database now (the demo patients' records, whatever was added or
    changed since seeding), not what seeding once added.
    """
    patient_ids = db.exec(select(Patient.id).where(Patient.mrn.like(f"{MRN_PREFIX}%"))).all()
    if not patient_ids:
        return None
    names = {p.id: p.full_name for p in db.exec(select(Patient).where(Patient.id.in_(patient_ids)))}

    def count(model, *where) -> int:
        return db.exec(select(func.count()).select_from(model).where(*where)).one()

    sign_ins = []
    staff = db.exec(select(User).where(User.email.like(f"%@{DOMAIN}"), User.is_staff)
                    .order_by(User.is_admin.desc(), User.email)).all()
    for user in staff:
        sign_ins.append((user.email, user.full_name, ROLE_ADMIN if user.is_admin else ROLE_STAFF))
    grants = db.exec(select(PatientAccess, User).join(User, User.id == PatientAccess.user_id)
                     .where(PatientAccess.patient_id.in_(patient_ids),
                            PatientAccess.revoked_at.is_(None))
                     .order_by(PatientAccess.relation.desc(), User.email)).all()
    for grant, user in grants:
        whose = names[grant.patient_id]
        role = "patient" if grant.relation == RELATION_SELF else f"caregiver for {whose}"
        sign_ins.append((user.email, user.full_name, role))
    thread_ids = select(MessageThread.id).where(MessageThread.patient_id.in_(patient_ids))
    return {
        "sign_ins": [{"email": e, "name": n, "role": r} for e, n, r in sign_ins],
        "password": DEMO_PASSWORD,
        "patients": len(patient_ids),
        "appointments": count(Appointment, Appointment.patient_id.in_(patient_ids)),
        "lab_reports": count(LabReport, LabReport.patient_id.in_(patient_ids)),
        "lab_results": count(LabResult, LabResult.patient_id.in_(patient_ids)),
        "conversations": count(MessageThread, MessageThread.patient_id.in_(patient_ids)),
        "messages": count(Message, Message.thread_id.in_(thread_ids)),
    }
