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

from carespace_app.config import get_settings
from carespace_app.policy import CHECKIN_RECALL, in_words

GRADE_WORDS = ("None", "Mild", "Moderate", "Severe", "Very severe")
YES_NO_WORDS = ("No", "Yes")
SEVERE = 3  # a grade at or above this is escalated
RISE = 2  # a rise of this much since the last check-in is escalated

GRADED = "graded"
YES_NO = "yes_no"


@dataclass(frozen=True)
class Symptom:
    key: str
    name: str  # as the office and the history read it: "Pain"
    question: str  # as the patient reads it, one per screen
    kind: str = GRADED

    @property
    def words(self) -> tuple[str, ...]:
        return YES_NO_WORDS if self.kind == YES_NO else GRADE_WORDS

    @property
    def top(self) -> int:
        return len(self.words) - 1

    def word(self, grade: Optional[int]) -> str:
        if grade is None or not 0 <= grade <= self.top:
            return ""
        return self.words[grade]

    def answer(self, grade: int) -> str:
        """The answer as the office reads it: "Severe (3)"; a yes/no one: "Yes"."""
        return self.word(grade) if self.kind == YES_NO else f"{self.word(grade)} ({grade})"

    def severe(self, grade: int) -> bool:
        """Escalated on its own, whatever came before: 3 or 4, or "yes"."""
        return grade >= 1 if self.kind == YES_NO else grade >= SEVERE


# Every question asks about the same span (the standard recall of patient-reported
# symptom questionnaires, whichever the schedule): one place for it.
# The span itself is a rule in policy.py (CHECKIN_RECALL); pages say it with RECALL_SPAN.
RECALL_DAYS = CHECKIN_RECALL.days
RECALL_SPAN = in_words(CHECKIN_RECALL)  # "7 days"
RECALL = f"In the last {RECALL_SPAN}"

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("nausea", "Nausea", f"{RECALL}, how bad was your nausea (feeling sick to your stomach) at its worst?"),
    Symptom("vomiting", "Vomiting", f"{RECALL}, how bad was your vomiting (throwing up) at its worst?"),
    Symptom("diarrhoea", "Diarrhea", f"{RECALL}, how bad was your diarrhea (loose or watery stools) at its worst?"),
    Symptom("constipation", "Constipation", f"{RECALL}, how bad was your constipation at its worst?"),
    Symptom("mouth_sores", "Mouth sores", f"{RECALL}, how bad were sores in your mouth or throat at their worst?"),
    Symptom("fatigue", "Fatigue", f"{RECALL}, how bad was your tiredness or lack of energy at its worst?"),
    Symptom("pain", "Pain", f"{RECALL}, how bad was your pain at its worst?"),
    Symptom("shortness_of_breath", "Shortness of breath", f"{RECALL}, how bad was your shortness of breath at its worst?"),
    Symptom("numbness", "Numbness or tingling", f"{RECALL}, how bad was numbness or tingling in your hands or feet at its worst?"),
    Symptom("appetite", "Poor appetite", f"{RECALL}, how bad was your loss of appetite at its worst?"),
    Symptom("fever", "Fever or chills",
            f"{RECALL}, have you had a fever of 100.4 °F (38 °C) or higher, or shaking chills?",
            kind=YES_NO),
    Symptom("mood", "Low mood", f"{RECALL}, how bad was feeling sad, down or worried at its worst?"),
)
BY_KEY: dict[str, Symptom] = {s.key: s for s in SYMPTOMS}
DEFAULT_KEYS: tuple[str, ...] = tuple(s.key for s in SYMPTOMS)

# What the patient reads when an answer is escalated (tap-to-call, routes and pages use it).
CALL_NOW = ("Please call the office now at {phone}. If this is an emergency, call 9-1-1.")
CALL_NOW_TITLE = "Please call the office now"
THANKS = "Thank you. Your answers were sent to your care team."
DUE = "Your check-in is due"


def call_now() -> str:
    return CALL_NOW.format(phone=get_settings().office_phone)


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

    def describe(self) -> str:
        """ "Pain: Severe (3), last time Mild (1)"; "Fever or chills: Yes"."""
        item = BY_KEY.get(self.symptom)
        if item is None:
            return f"{self.symptom}: {self.grade}"
        now = f"{item.name}: {item.answer(self.grade)}"
        if item.kind == YES_NO:
            return now
        if self.previous is None:
            return f"{now}, no earlier answer"
        return f"{now}, last time {item.answer(self.previous)}"

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
