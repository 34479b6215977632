"""The symptom check-in's questions and rules, in one place (issue #15).

The wording is our own plain language, every question "in the last 7 days", each graded
on the same five words a patient understands. Fever is asked as yes or no: a fever on
chemotherapy is a call to the office whatever else is answered.

Escalation (``findings``): a severe answer (3 or 4), a rise of 2 or more since the last
answered check-in, or "yes" to fever. The patient is then told to call now
(``CALL_NOW``), and the office's queue gets an urgent item naming each finding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from carespace_app import i18n
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.policy import CHECKIN_RECALL, in_words

GRADE_WORDS = (N_("None"), N_("Mild"), N_("Moderate"), N_("Severe"), N_("Very severe"))
YES_NO_WORDS = (N_("No"), N_("Yes"))
SEVERE = 3  # a grade at or above this is escalated
RISE = 2  # a rise of this much since the last check-in is escalated

GRADED = "graded"
YES_NO = "yes_no"


@dataclass(frozen=True)
class Symptom:
    key: str
    name: str  # as the office and the history read it: "Pain" (a catalogue entry)
    # As the patient reads it, one per screen: a catalogue template, {span} the recall.
    template: str
    kind: str = GRADED

    @property
    def question(self) -> str:
        """The question in English."""
        return self.question_in("en")

    def question_in(self, lang: str) -> str:
        return i18n.fmt(lang, self.template, span=i18n.duration(CHECKIN_RECALL))

    def name_in(self, lang: str) -> str:
        return i18n.gettext(lang, self.name)

    @property
    def words(self) -> tuple[str, ...]:
        return YES_NO_WORDS if self.kind == YES_NO else GRADE_WORDS

    def words_in(self, lang: str) -> tuple[str, ...]:
        return tuple(i18n.gettext(lang, w) for w in self.words)

    @property
    def top(self) -> int:
        return len(self.words) - 1

    def word(self, grade: Optional[int]) -> str:
        if grade is None or not 0 <= grade <= self.top:
            return ""
        return self.words[grade]

    def answer(self, grade: int, lang: str = "en") -> str:
        """The answer as the office reads it: "Severe (3)"; a yes/no one: "Yes"."""
        word = i18n.gettext(lang, self.word(grade))
        return word if self.kind == YES_NO else f"{word} ({grade})"

    def severe(self, grade: int) -> bool:
        """Escalated on its own, whatever came before: 3 or 4, or "yes"."""
        return grade >= 1 if self.kind == YES_NO else grade >= SEVERE


# Every question asks about the same span (the standard recall of patient-reported
# symptom questionnaires, whichever the schedule): one place for it.
# The span itself is a rule in policy.py (CHECKIN_RECALL); pages say it with RECALL_SPAN.
RECALL_DAYS = CHECKIN_RECALL.days
RECALL_SPAN = in_words(CHECKIN_RECALL)  # "7 days"
SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("nausea", N_("Nausea"), N_("In the last {span}, how bad was your nausea (feeling sick to your stomach) at its worst?")),
    Symptom("vomiting", N_("Vomiting"), N_("In the last {span}, how bad was your vomiting (throwing up) at its worst?")),
    Symptom("diarrhoea", N_("Diarrhea"), N_("In the last {span}, how bad was your diarrhea (loose or watery stools) at its worst?")),
    Symptom("constipation", N_("Constipation"), N_("In the last {span}, how bad was your constipation at its worst?")),
    Symptom("mouth_sores", N_("Mouth sores"), N_("In the last {span}, how bad were sores in your mouth or throat at their worst?")),
    Symptom("fatigue", N_("Fatigue"), N_("In the last {span}, how bad was your tiredness or lack of energy at its worst?")),
    Symptom("pain", N_("Pain"), N_("In the last {span}, how bad was your pain at its worst?")),
    Symptom("shortness_of_breath", N_("Shortness of breath"), N_("In the last {span}, how bad was your shortness of breath at its worst?")),
    Symptom("numbness", N_("Numbness or tingling"), N_("In the last {span}, how bad was numbness or tingling in your hands or feet at its worst?")),
    Symptom("appetite", N_("Poor appetite"), N_("In the last {span}, how bad was your loss of appetite at its worst?")),
    Symptom("fever", N_("Fever or chills"),
            N_("In the last {span}, have you had a fever of 100.4 °F (38 °C) or higher, or shaking chills?"),
            kind=YES_NO),
    Symptom("mood", N_("Low mood"), N_("In the last {span}, how bad was feeling sad, down or worried at its worst?")),
)
BY_KEY: dict[str, Symptom] = {s.key: s for s in SYMPTOMS}
DEFAULT_KEYS: tuple[str, ...] = tuple(s.key for s in SYMPTOMS)

# What the patient reads when an answer is escalated (tap-to-call, routes and pages use it).
CALL_NOW = N_("Please call the office now at {phone}. If this is an emergency, call 9-1-1.")
CALL_NOW_TITLE = N_("Please call the office now")
THANKS = N_("Thank you. Your answers were sent to your care team.")
DUE = N_("Your check-in is due")
# A finding as the office (and, in their language, the patient) reads it.
FINDING = N_("{name}: {answer}")
FINDING_FIRST = N_("{finding}, no earlier answer")
FINDING_ROSE = N_("{finding}, last time {before}")


def call_now(lang: str = "en") -> str:
    return i18n.fmt(lang, CALL_NOW, phone=get_settings().office_phone)


def office_tel() -> str:
    """The office's number as a tel: link (digits only)."""
    return "tel:" + "".join(ch for ch in get_settings().office_phone if ch.isdigit() or ch == "+")


def keys_from_text(text: str) -> tuple[str, ...]:
    """A plan's stored keys, in the questions' order; unknown keys are dropped."""
    wanted = {k.strip() for k in (text or "").split(",") if k.strip()}
    return tuple(k for k in DEFAULT_KEYS if k in wanted)


def keys_to_text(keys) -> str:
    return ",".join(k for k in DEFAULT_KEYS if k in set(keys))


@dataclass(frozen=True)
class Finding:
    """One escalated answer: the symptom, its grade now and at the last check-in."""

    symptom: str
    grade: int
    previous: Optional[int] = None

    def describe(self, lang: str = "en") -> str:
        """ "Pain: Severe (3), last time Mild (1)"; "Fever or chills: Yes"."""
        item = BY_KEY.get(self.symptom)
        if item is None:
            return i18n.fmt(lang, FINDING, name=self.symptom, answer=self.grade)
        now = i18n.fmt(lang, FINDING, name=item.name_in(lang), answer=item.answer(self.grade, lang))
        if item.kind == YES_NO:
            return now
        if self.previous is None:
            return i18n.fmt(lang, FINDING_FIRST, finding=now)
        return i18n.fmt(lang, FINDING_ROSE, finding=now, before=item.answer(self.previous, lang))

    def as_json(self) -> dict:
        return {"symptom": self.symptom, "grade": self.grade, "previous": self.previous}


def findings(answers: Mapping[str, int], previous: Mapping[str, int]) -> list[Finding]:
    """The answers that call for the office now, in the questions' order."""
    found: list[Finding] = []
    for item in SYMPTOMS:
        if item.key not in answers:
            continue
        grade, before = answers[item.key], previous.get(item.key)
        rose = item.kind != YES_NO and before is not None and grade - before >= RISE
        if item.severe(grade) or rose:
            found.append(Finding(item.key, grade, before))
    return found
