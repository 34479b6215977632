"""The office's own rules for messages (issue #15): business hours, holidays, the
after-hours number, the red-flag phrases, and who gets each category by default.

One PracticeSettings row (id 1) holds them as JSON text. ``current(db)`` reads it for the
services that apply the rules (messaging: the automatic reply, the due time, the red-flag
check, the default assignee) and fills in every part that is missing or unreadable with
the defaults below, so a practice that never opened the settings page still works. The
office's settings page reads and saves them through ``for_office`` and ``save`` (staff
only, audited).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, time
from typing import Mapping, Optional

from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import MESSAGE_CATEGORIES, PracticeSettings, User
from carespace_app.services.audit import trail
from carespace_app.services.errors import ValidationError
from carespace_app.services.permissions import access
from carespace_app.services.records import business_hours
from carespace_app.services.text_rules import check_text

ROW_ID = 1
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
DAY_NAMES = business_hours.DAY_NAMES
OPENS, CLOSES = time(8, 0), time(17, 0)
DEFAULT_HOURS: tuple[Optional[tuple[time, time]], ...] = (
    (OPENS, CLOSES),) * 5 + (None, None)
# The staff's editable phrases. A fever is found by its temperature (red_flags.py), not by
# a phrase: "I had a fever last month" is not an emergency, "temp of 101" is.
DEFAULT_RED_FLAGS = ("chest pain", "trouble breathing", "can't breathe",
                     "bleeding that won't stop", "confusion", "fainting", "fainted", "passed out")
RED_FLAGS_MAX = 60
PHRASE_MIN, PHRASE_MAX = 3, 60
HOLIDAYS_MAX = 100
PHONE_MAX = 40
PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 3, 15

# What the settings page says when something is refused (field ids as on the page).
BAD_TIME = "Enter the time as hours and minutes, like 8:00 AM."
HALF_DAY = "Enter both the opening and the closing time, or leave both empty for a closed day."
CLOSES_FIRST = "The closing time must be after the opening time."
NO_OPEN_DAY = ("Enter the hours of a day the office is open: the automatic reply needs a "
               "day to promise an answer.")
BAD_HOLIDAY = "“{line}” is not a date. Write one date per line, like 2026-12-25."
TOO_MANY_HOLIDAYS = f"List at most {HOLIDAYS_MAX} holidays."
BAD_PHRASE = ("“{line}” can't be a red flag: use words of {low} to {high} letters, like "
              "“chest pain”.")
TOO_MANY_PHRASES = f"List at most {RED_FLAGS_MAX} red-flag phrases."
NO_PHRASES = "List at least one red-flag phrase, like “chest pain”."
BAD_PHONE = "Enter a phone number with its area code, like (501) 555-0123."
BAD_ASSIGNEE = "Choose a staff member from the list, or nobody."
SAVED = "The office settings were saved."

# Words of a phrase: letters (any language), digits, spaces, apostrophes and hyphens.
_PHRASE = re.compile(r"^[\w' -]+$")
_PHONE = re.compile(r"^[0-9+()\-. ]+$")


@dataclass(frozen=True)
class PracticeRules:
    """What the office decided, with the defaults filled in."""

    hours: tuple[Optional[tuple[time, time]], ...] = DEFAULT_HOURS  # Monday first; None: closed
    holidays: frozenset[date] = frozenset()
    red_flags: tuple[str, ...] = DEFAULT_RED_FLAGS
    routing: Mapping[str, int] = field(default_factory=dict)  # category -> staff user id
    after_hours_phone: str = ""  # "" in storage: the office phone (config)

    @property
    def phone_after_hours(self) -> str:
        return self.after_hours_phone or get_settings().office_phone


@dataclass(frozen=True)
class StaffChoice:
    id: int
    name: str


@dataclass(frozen=True)
class SettingsForm:
    """The settings page's fields as typed (the service validates all of them)."""

    opens: tuple[str, ...]  # 7, Monday first: "08:00" or ""
    closes: tuple[str, ...]
    holidays: str  # one date per line
    red_flags: str  # one phrase per line
    after_hours_phone: str
    routing: Mapping[str, str]  # category -> staff user id as text, "" for nobody


# --- reading ----------------------------------------------------------------------


def _parse_time(text) -> Optional[time]:
    if not isinstance(text, str):
        return None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::\d{2})?\s*", text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _hours_from(text: str) -> tuple[Optional[tuple[time, time]], ...]:
    try:
        stored = json.loads(text) if text else None
    except ValueError:
        stored = None
    if not isinstance(stored, dict):
        return DEFAULT_HOURS
    hours = []
    for day in DAYS:
        span = stored.get(day)
        opens = _parse_time(span[0]) if isinstance(span, list) and len(span) == 2 else None
        closes = _parse_time(span[1]) if isinstance(span, list) and len(span) == 2 else None
        hours.append((opens, closes) if opens and closes and opens < closes else None)
    return tuple(hours) if any(hours) else DEFAULT_HOURS


def _list_from(text: str) -> Optional[list]:
    try:
        stored = json.loads(text) if text else None
    except ValueError:
        return None
    return stored if isinstance(stored, list) else None


def _holidays_from(text: str) -> frozenset[date]:
    found = set()
    for item in _list_from(text) or []:
        try:
            found.add(date.fromisoformat(str(item)))
        except ValueError:
            continue
    return frozenset(found)


def _red_flags_from(text: str) -> tuple[str, ...]:
    stored = _list_from(text)
    if stored is None:
        return DEFAULT_RED_FLAGS
    phrases = tuple(str(p) for p in stored if isinstance(p, str) and p.strip())
    return phrases or DEFAULT_RED_FLAGS


def _routing_from(text: str) -> dict[str, int]:
    try:
        stored = json.loads(text) if text else {}
    except ValueError:
        stored = {}
    if not isinstance(stored, dict):
        return {}
    return {c: v for c, v in stored.items()
            if c in MESSAGE_CATEGORIES and isinstance(v, int) and not isinstance(v, bool)}


def _row(db: Session) -> Optional[PracticeSettings]:
    return db.get(PracticeSettings, ROW_ID)


def current(db: Session) -> PracticeRules:
    """The rules in force. Not a patient's record, and every sender needs them: no check."""
    row = _row(db)
    if row is None:
        return PracticeRules()
    return PracticeRules(hours=_hours_from(row.hours), holidays=_holidays_from(row.holidays),
                         red_flags=_red_flags_from(row.red_flags),
                         routing=_routing_from(row.routing),
                         after_hours_phone=(row.after_hours_phone or "").strip())


def active_staff(db: Session) -> list[StaffChoice]:
    rows = db.exec(select(User.id, User.full_name)
                   .where(User.is_staff.is_(True), User.is_active.is_(True))
                   .order_by(User.full_name, User.id)).all()
    return [StaffChoice(id=i, name=n) for i, n in rows]


def staff_choices(db: Session, actor: User, *, clock: Clock) -> list[StaffChoice]:
    """Who a conversation can be given to: the active staff, by name."""
    access.require_staff(db, actor, action="staff.choices", clock=clock)
    return active_staff(db)


def assignee_for(db: Session, rules: PracticeRules, category: str) -> Optional[int]:
    """The staff member a new conversation of this category goes to (None: nobody, or the
    person routed to has left the office)."""
    user_id = rules.routing.get(category)
    if user_id is None:
        return None
    user = db.get(User, user_id)
    return user_id if user is not None and user.is_staff and user.is_active else None


def for_office(db: Session, actor: User, *, clock: Clock) -> tuple[PracticeRules, list[StaffChoice]]:
    """The settings page: the rules in force and the staff a category can be routed to."""
    access.require_staff(db, actor, action="practice_settings.view", clock=clock)
    return current(db), active_staff(db)


# --- saving -------------------------------------------------------------------------


def _hours_of(form: SettingsForm) -> tuple[Optional[tuple[time, time]], ...]:
    hours = []
    for i, day in enumerate(DAYS):
        opens_text = form.opens[i].strip() if i < len(form.opens) else ""
        closes_text = form.closes[i].strip() if i < len(form.closes) else ""
        if not opens_text and not closes_text:
            hours.append(None)
            continue
        if not opens_text or not closes_text:
            raise ValidationError(HALF_DAY, field=f"{day}_{'opens' if not opens_text else 'closes'}")
        opens, closes = _parse_time(opens_text), _parse_time(closes_text)
        if opens is None:
            raise ValidationError(BAD_TIME, field=f"{day}_opens")
        if closes is None:
            raise ValidationError(BAD_TIME, field=f"{day}_closes")
        if closes <= opens:
            raise ValidationError(CLOSES_FIRST, field=f"{day}_closes")
        hours.append((opens, closes))
    if not any(hours):
        raise ValidationError(NO_OPEN_DAY, field="mon_opens")
    return tuple(hours)


def _lines(text, *, field: str, label: str) -> list[str]:
    text = text if isinstance(text, str) else ""
    text = check_text(text[:10_000], field=field, label=label, single_line=False)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _holidays_of(text) -> list[date]:
    found: set[date] = set()
    for line in _lines(text, field="holidays", label="holidays"):
        try:
            found.add(date.fromisoformat(line))
        except ValueError:
            raise ValidationError(BAD_HOLIDAY.format(line=line[:40]), field="holidays") from None
    if len(found) > HOLIDAYS_MAX:
        raise ValidationError(TOO_MANY_HOLIDAYS, field="holidays")
    return sorted(found)


def normalized_phrase(text: str) -> str:
    """A phrase as compared: lower case, one space between words, straight apostrophes."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").lower().split())


def _red_flags_of(text) -> list[str]:
    phrases: list[str] = []
    seen: set[str] = set()
    for line in _lines(text, field="red_flags", label="red flags"):
        phrase = normalized_phrase(line)
        letters = sum(ch.isalpha() for ch in phrase)
        if (letters < PHRASE_MIN or len(phrase) > PHRASE_MAX or not _PHRASE.match(phrase)
                or "_" in phrase):
            raise ValidationError(BAD_PHRASE.format(line=line[:40], low=PHRASE_MIN,
                                                    high=PHRASE_MAX), field="red_flags")
        if phrase not in seen:
            seen.add(phrase)
            phrases.append(phrase)
    if not phrases:
        raise ValidationError(NO_PHRASES, field="red_flags")
    if len(phrases) > RED_FLAGS_MAX:
        raise ValidationError(TOO_MANY_PHRASES, field="red_flags")
    return phrases


def _phone_of(text) -> str:
    phone = " ".join(text.split()) if isinstance(text, str) else ""
    if not phone:
        return ""  # the office phone
    digits = sum(ch.isdigit() for ch in phone)
    if (len(phone) > PHONE_MAX or not _PHONE.match(phone)
            or not PHONE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX):
        raise ValidationError(BAD_PHONE, field="after_hours_phone")
    return phone


def _routing_of(db: Session, routing: Mapping[str, str]) -> dict[str, int]:
    staff = {s.id for s in active_staff(db)}
    chosen: dict[str, int] = {}
    for i, category in enumerate(MESSAGE_CATEGORIES):
        value = routing.get(category, "") if isinstance(routing, Mapping) else ""
        value = value.strip() if isinstance(value, str) else ""
        if not value:
            continue
        try:
            user_id = int(value)
        except ValueError:
            user_id = None
        if user_id not in staff:
            raise ValidationError(BAD_ASSIGNEE, field=f"route_{i}")
        chosen[category] = user_id
    return chosen


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


def save(db: Session, actor: User, form: SettingsForm, *, clock: Clock) -> PracticeRules:
    """Validate every field (the first wrong one is named), then store and audit."""
    access.require_staff(db, actor, action="practice_settings.save", clock=clock)
    hours = _hours_of(form)
    holidays = _holidays_of(form.holidays)
    red_flags = _red_flags_of(form.red_flags)
    phone = _phone_of(form.after_hours_phone)
    routing = _routing_of(db, form.routing)
    row = _row(db) or PracticeSettings(id=ROW_ID)
    row.hours = json.dumps({day: ([_hm(span[0]), _hm(span[1])] if span else None)
                            for day, span in zip(DAYS, hours)})
    row.holidays = json.dumps([d.isoformat() for d in holidays])
    row.red_flags = json.dumps(red_flags)
    row.routing = json.dumps(routing)
    row.after_hours_phone = phone
    row.updated_at = clock()
    row.updated_by_user_id = actor.id
    db.add(row)
    db.flush()
    trail.record(db, "practice_settings.saved", actor=actor,
                 detail=(f"{sum(1 for h in hours if h)} open days, {len(holidays)} holidays, "
                         f"{len(red_flags)} red flags, {len(routing)} routed categories"),
                 clock=clock)
    return current(db)


def time_text(value: Optional[time]) -> str:
    """As a time field holds it ("08:00"); "" for none."""
    return _hm(value) if value is not None else ""

