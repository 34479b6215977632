"""What a caregiver's access reaches (issue #17), and when an end date ends it.

The one place that says which areas of the portal each scope opens. The patient
themself and the office are never scoped: they reach every area. ``access.require_access``
asks here on every call, with the area the service reads or acts on.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Optional

from carespace_app import i18n, timefmt
from carespace_app.i18n import N_
from carespace_app.models import (
    RELATION_CAREGIVER,
    SCOPE_APPOINTMENTS,
    SCOPE_APPOINTMENTS_LABS,
    SCOPE_FULL,
)

AREA_HOME = "home"
AREA_APPOINTMENTS = "appointments"
AREA_LABS = "labs"
AREA_MESSAGES = "messages"
AREA_CHECKINS = "checkins"
AREA_RESOURCES = "resources"
AREA_RECORD = "record"  # Download my record
AREA_SHARE_LINKS = "share_links"
ALL_AREAS = (AREA_HOME, AREA_APPOINTMENTS, AREA_LABS, AREA_MESSAGES, AREA_CHECKINS,
             AREA_RESOURCES, AREA_RECORD, AREA_SHARE_LINKS)

SCOPE_AREAS: dict[str, frozenset[str]] = {
    SCOPE_FULL: frozenset(ALL_AREAS),
    SCOPE_APPOINTMENTS_LABS: frozenset({AREA_HOME, AREA_APPOINTMENTS, AREA_LABS, AREA_RESOURCES}),
    SCOPE_APPOINTMENTS: frozenset({AREA_HOME, AREA_APPOINTMENTS, AREA_RESOURCES}),
}
# The areas every access reaches (the tabs show them before the viewer is known).
EVERY_SCOPE_AREAS = frozenset.intersection(*SCOPE_AREAS.values())
# Widest first: a person with two live rows for one patient (re-granted) gets the wider.
SCOPE_ORDER = (SCOPE_FULL, SCOPE_APPOINTMENTS_LABS, SCOPE_APPOINTMENTS)

# How the portal names an area a caregiver can't open ("... doesn't include messages").
AREA_WORDS = {
    AREA_HOME: N_("Home"),
    AREA_APPOINTMENTS: N_("appointments"),
    AREA_LABS: N_("lab results"),
    AREA_MESSAGES: N_("messages"),
    AREA_CHECKINS: N_("symptom check-ins"),
    AREA_RESOURCES: N_("resources"),
    AREA_RECORD: N_("downloading the record"),
    AREA_SHARE_LINKS: N_("share links"),
}
OUTSIDE_SCOPE = N_("Your access to {patient}'s portal doesn't include {what}.")

# Manage Users: the choices, what each one shows, and how the list names them.
SCOPE_CHOICES = {
    SCOPE_FULL: N_("Full access"),
    SCOPE_APPOINTMENTS: N_("Limited access: appointments and resources"),
    SCOPE_APPOINTMENTS_LABS: N_("Limited access: appointments, labs and resources (no messages)"),
}
SCOPE_EXPLAINED = {
    SCOPE_FULL: N_("They'll see everything you see: appointments, lab results, messages with "
                 "the care team, check-ins, and they can download your record."),
    SCOPE_APPOINTMENTS: N_("They'll see your appointments and the resources. They won't see "
                         "lab results or messages."),
    SCOPE_APPOINTMENTS_LABS: N_("They'll see your appointments, your lab results and the "
                              "resources. They won't see or send messages."),
}
SCOPE_SHORT = {
    SCOPE_FULL: N_("Full access"),
    SCOPE_APPOINTMENTS: N_("Appointments and resources"),
    SCOPE_APPOINTMENTS_LABS: N_("Appointments, labs and resources"),
}


def is_scope(value) -> bool:
    return isinstance(value, str) and value in SCOPE_AREAS


def areas_for(relation: Optional[str], scope: Optional[str]) -> frozenset[str]:
    """The areas a viewer reaches: none without access; every one for the patient and staff."""
    if relation is None:
        return frozenset()
    if relation != RELATION_CAREGIVER:
        return SCOPE_AREAS[SCOPE_FULL]
    return SCOPE_AREAS.get(scope or SCOPE_FULL, frozenset())


def reaches(relation: Optional[str], scope: Optional[str], area: str) -> bool:
    return area in areas_for(relation, scope)


def hidden_areas(relation: Optional[str], scope: Optional[str]) -> list[str]:
    """The areas the portal's tabs leave out for this viewer, in the tabs' order."""
    if relation is None:
        return []
    reached = areas_for(relation, scope)
    return [a for a in ALL_AREAS if a not in reached]


def ends_at(ends_on: Optional[date]) -> Optional[datetime]:
    """The instant (naive UTC) an end date takes effect: the start of that day, practice time."""
    if ends_on is None:
        return None
    return timefmt.to_utc_naive(datetime.combine(ends_on, time(0, 0)))


def has_ended(ends_on: Optional[date], now: datetime) -> bool:
    end = ends_at(ends_on)
    return end is not None and now >= end


def outside_scope_text(patient_name: str, area: str, lang: str = "en") -> str:
    what = AREA_WORDS.get(area)
    return i18n.fmt(lang, OUTSIDE_SCOPE, patient=patient_name,
                    what=i18n.gettext(lang, what) if what else area)
