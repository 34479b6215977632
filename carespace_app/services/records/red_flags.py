"""Red flags in a message: what should make a patient call the office instead of writing.

Pure. Two kinds of finding (issue #15):
- the office's phrases (practice_settings: "chest pain", "trouble breathing", ...), matched
  as whole words, whatever the case, the spacing or the kind of apostrophe;
- a temperature of 100.4 °F / 38 °C or more, written the ways people write one: "100.8F",
  "101 °F", "38.5 C", "38,5°C", "temp of 102", "fever 101", "a 101 fever", "running 101".
  A number without a unit counts only beside a temperature word, or (100.4 to 108) in a
  message that speaks of a fever, a temperature or chills at all ("Chills all night. 101
  this morning."); never when a unit of something else follows it ("I am 38 years old",
  "took 100 mg"), so ages, doses, counts, rooms and lab values are not alarms.

Only the categories in ``CHECKED_CATEGORIES`` are checked: a billing question that says
"confusion" is not a medical alarm. A phrase said in the negative ("no chest pain") is
still found: a false alarm costs the patient one tap ("Send anyway"); a missed one
could cost far more.
"""
from __future__ import annotations

import re
from typing import Iterable

from carespace_app import i18n
from carespace_app.i18n import N_
from carespace_app.models import MESSAGE_CATEGORIES

SYMPTOMS_CATEGORY = N_("Symptoms or side effects")
# The medical categories (a prescription question may describe a reaction to it).
CHECKED_CATEGORIES = frozenset(c for c in MESSAGE_CATEGORIES
                               if c in ("Medical question", "Test results", "Prescription refill",
                                        SYMPTOMS_CATEGORY))
# How a temperature finding is named to the patient and on the office's urgent item.
FEVER = N_("fever of 100.4 °F (38 °C) or more")
# A list of findings: "chest pain, fainting and a fever …" (the office's phrases stay as written).
LAST_OF_LIST = N_("{items} and {last}")
FEVER_F, FEVER_C = 100.4, 38.0
# Above these it is not a body temperature (a typo, a weight, an oven).
TOP_F, TOP_C = 115.0, 46.0

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# Words that make a bare number a temperature when they come just before it ("temp of 102",
# "fever was 101.5") or just after it ("a 101 fever").
_TEMPERATURE_WORD = r"(?:fever|feverish|temp|temps|temperature|temperatures|thermometer|febrile)"
# Words allowed between a temperature word and its number: "fever of", "temp is at",
# "temperature this morning was", "fever went up to".
_FILLER = r"(?:\s+[a-z']+){0,4}?"
_NUMBER = r"(\d{2,3}(?:[.,]\d{1,2})?)(?!\d)"
_DEGREE = r"(?:\s*(?:°|º|˚|degrees?|deg)\.?)"
_UNIT = r"(?:\s*(f|fahrenheit|c|celsius|centigrade))"
# A number followed by a unit of something else is not a temperature.
_OTHER_UNIT = re.compile(
    r"\s*(?:(?:years?|yrs?|yo|y/o|months?|weeks?|days?|hours?|hrs?|minutes?|mins?|seconds?|"
    r"mg|mcg|g|kg|lbs?|pounds?|ml|cc|units?|percent|times|pills?|tablets?|bpm|beats|"
    r"cm|mm|inches|ft|feet|th|st|nd|rd|dollars?)\b|%)",
    re.IGNORECASE)
_NO_UNIT = r"(?!\s*(?:f|fahrenheit|c|celsius|centigrade)\b)"

_WITH_UNIT = re.compile(rf"(?<![\w.,:/]){_NUMBER}{_DEGREE}?{_UNIT}\b", re.IGNORECASE)
# "101°", "38.6 °" (no unit: the range says the scale) and "101 degrees" (Fahrenheit only:
# "38 degrees" is as likely the weather).
_WITH_SIGN = re.compile(rf"(?<![\w.,:/]){_NUMBER}\s*[°º˚]{_NO_UNIT}", re.IGNORECASE)
_WITH_DEGREES = re.compile(rf"(?<![\w.,:/]){_NUMBER}\s*(?:degrees?|deg)\b\.?{_NO_UNIT}",
                           re.IGNORECASE)
_WORD_THEN_NUMBER = re.compile(
    rf"\b{_TEMPERATURE_WORD}\b{_FILLER}\s*[:=]?\s*(?:of\s+|at\s+|is\s+|was\s+|to\s+)?"
    rf"(?<![\w.,:/]){_NUMBER}", re.IGNORECASE)
# "running 101", "running a 101".
_RUNNING = re.compile(rf"\brunning\s+(?:a\s+)?{_NUMBER}", re.IGNORECASE)
# Anywhere in the message, these make a bare number of 100.5 to 108 a temperature ("chills
# all night. 101 this morning"): without them "101" is as likely a room or a glucose value.
_CONTEXT = re.compile(rf"\b(?:{_TEMPERATURE_WORD}|chills|shivering|shaking)\b", re.IGNORECASE)
_BARE = re.compile(rf"(?<![\w.,:/]){_NUMBER}(?![/\w])", re.IGNORECASE)
BARE_TOP_F = 108.0
_UNIT_AFTER = re.compile(rf"{_DEGREE}?{_UNIT}\b", re.IGNORECASE)
_NUMBER_THEN_WORD = re.compile(
    rf"(?<![\w.,:/]){_NUMBER}{_DEGREE}?\s+(?:degree\s+)?{_TEMPERATURE_WORD}\b", re.IGNORECASE)


def normalized(text: str) -> str:
    """Lower case, straight apostrophes, one space between words."""
    return " ".join((text or "").translate(_APOSTROPHES).lower().split())


def _phrase_pattern(phrase: str) -> re.Pattern:
    words = [re.escape(w) for w in normalized(phrase).split()]
    # "won't" also matches "wont" (people skip the apostrophe on a phone keyboard).
    body = r"\s+".join(w.replace("'", "'?") for w in words)
    return re.compile(rf"(?<![\w']){body}(?![\w'])")


def _value(number: str) -> float:
    return float(number.replace(",", "."))


def _fever(value: float, unit: str) -> bool:
    unit = unit[:1].lower()
    if unit == "f":
        return FEVER_F <= value <= TOP_F
    if unit == "c":
        return FEVER_C <= value <= TOP_C
    # No unit: the range says which scale it is on.
    return FEVER_C <= value <= TOP_C or FEVER_F <= value <= TOP_F


def _followed_by_other_unit(text: str, end: int) -> bool:
    return bool(_OTHER_UNIT.match(text, end))


def has_fever(text: str) -> bool:
    """A temperature of 100.4 °F / 38 °C or more, written with a unit, a degree sign, or
    beside a temperature word."""
    text = normalized(text)
    for match in _WITH_UNIT.finditer(text):
        if _fever(_value(match.group(1)), match.group(2)):
            return True
    for match in _WITH_SIGN.finditer(text):
        if _fever(_value(match.group(1)), ""):
            return True
    for match in _WITH_DEGREES.finditer(text):
        if _fever(_value(match.group(1)), "f"):
            return True
    for pattern in (_WORD_THEN_NUMBER, _NUMBER_THEN_WORD, _RUNNING):
        for match in pattern.finditer(text):
            number_end = match.end(1)
            if pattern is _WORD_THEN_NUMBER and _followed_by_other_unit(text, number_end):
                continue
            unit = _UNIT_AFTER.match(text, number_end)
            if _fever(_value(match.group(1)), unit.group(1) if unit else ""):
                return True
    if _CONTEXT.search(text):
        for match in _BARE.finditer(text):
            if (FEVER_F <= _value(match.group(1)) <= BARE_TOP_F
                    and not _followed_by_other_unit(text, match.end(1))):
                return True
    return False



def find(text: str, phrases: Iterable[str]) -> list[str]:
    """The red flags in ``text``: the office's phrases found (as the office wrote them, in
    its order), then FEVER when a fever temperature is written."""
    plain = normalized(text)
    found: list[str] = []
    for phrase in phrases:
        name = normalized(phrase)
        if name and name not in found and _phrase_pattern(name).search(plain):
            found.append(name)
    if has_fever(plain):
        found.append(FEVER)
    return found


def find_in_message(category: str, subject: str, body: str, phrases: Iterable[str]) -> list[str]:
    """The red flags of a message in a checked category (none in any other)."""
    if category not in CHECKED_CATEGORIES:
        return []
    return find(f"{subject or ''}\n{body or ''}", phrases)


def in_words(flags: list[str], lang: str = "en") -> str:
    """ "chest pain", "chest pain and fainting", "chest pain, fainting and a fever ..."."""
    said = [i18n.gettext(lang, flag) if flag == FEVER else flag for flag in flags]
    if len(said) <= 1:
        return "".join(said)
    return i18n.fmt(lang, LAST_OF_LIST, items=", ".join(said[:-1]), last=said[-1])
