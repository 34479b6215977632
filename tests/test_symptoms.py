"""The check-in's questions and its escalation rule: a severe answer (3 or 4), a rise of 2
or more since the last check-in, or "yes" to fever calls the office now (issue #15)."""
from __future__ import annotations

import pytest

from carespace_app.config import get_settings
from carespace_app.services.records import symptoms
from carespace_app.services.records.symptoms import Finding, findings


def found(answers, previous=None):
    return [(f.symptom, f.grade, f.previous) for f in findings(answers, previous or {})]


# --- severe ------------------------------------------------------------------------------


@pytest.mark.parametrize("grade,escalated", [(0, False), (1, False), (2, False), (3, True), (4, True)])
def test_a_severe_answer_escalates_without_an_earlier_one(grade, escalated):
    assert found({"pain": grade}) == ([("pain", grade, None)] if escalated else [])


def test_still_severe_escalates_again():
    assert found({"pain": 4}, {"pain": 4}) == [("pain", 4, 4)]
    assert found({"pain": 3}, {"pain": 4}) == [("pain", 3, 4)]


# --- a rise since the last check-in ----------------------------------------------------------


@pytest.mark.parametrize("before,now,escalated", [
    (0, 2, True),   # a rise of 2 to Moderate: not severe, still escalated
    (1, 2, False),  # a rise of 1
    (0, 1, False),
    (2, 3, True),   # severe, a rise of 1
    (2, 4, True),   # severe and a rise of 2: one finding
    (1, 3, True),   # severe and a rise of 2: one finding
    (0, 4, True),
    (3, 1, False),  # better
    (4, 2, False),
    (2, 2, False),
])
def test_a_rise_of_two_or_more(before, now, escalated):
    assert found({"nausea": now}, {"nausea": before}) == ([("nausea", now, before)] if escalated else [])


def test_a_rise_and_severe_together_is_one_finding_naming_the_previous_grade():
    [finding] = findings({"fatigue": 3}, {"fatigue": 1})
    assert finding == Finding("fatigue", 3, 1)
    assert finding.describe() == "Fatigue: Severe (3), last time Mild (1)"


def test_no_previous_answer_for_that_symptom_means_no_rise():
    # Last time pain was not asked: a Moderate now is only Moderate.
    assert found({"pain": 2}, {"nausea": 0}) == []
    assert found({"pain": 3}, {"nausea": 0}) == [("pain", 3, None)]


def test_previous_answers_to_questions_not_asked_now_are_ignored():
    assert found({"nausea": 0}, {"pain": 4, "fever": 1}) == []


# --- fever ---------------------------------------------------------------------------------


def test_fever_is_yes_or_no_and_yes_escalates():
    fever = symptoms.BY_KEY["fever"]
    assert fever.kind == symptoms.YES_NO and fever.words == ("No", "Yes") and fever.top == 1
    assert found({"fever": 1}) == [("fever", 1, None)]
    assert found({"fever": 0}) == []
    assert found({"fever": 0}, {"fever": 1}) == []  # better since last time
    assert found({"fever": 1}, {"fever": 1}) == [("fever", 1, 1)]


def test_findings_come_in_the_questions_order_whatever_the_answers_order():
    answers = {"mood": 4, "fever": 1, "nausea": 0, "pain": 3, "appetite": 2}
    assert [f.symptom for f in findings(answers, {"appetite": 0})] == ["pain", "appetite", "fever", "mood"]


def test_all_quiet_is_no_finding():
    assert findings({k: 0 for k in symptoms.DEFAULT_KEYS}, {k: 0 for k in symptoms.DEFAULT_KEYS}) == []


# --- what people read --------------------------------------------------------------------------


@pytest.mark.parametrize("finding,said", [
    (Finding("pain", 3, 1), "Pain: Severe (3), last time Mild (1)"),
    (Finding("pain", 4, None), "Pain: Very severe (4), no earlier answer"),
    (Finding("nausea", 2, 0), "Nausea: Moderate (2), last time None (0)"),
    (Finding("shortness_of_breath", 3, 3), "Shortness of breath: Severe (3), last time Severe (3)"),
    (Finding("fever", 1, None), "Fever or chills: Yes"),
    (Finding("fever", 1, 0), "Fever or chills: Yes"),
    (Finding("retired_question", 3, None), "retired_question: 3"),
])
def test_describe(finding, said):
    assert finding.describe() == said


def test_the_questions_are_plain_and_about_the_last_7_days():
    assert symptoms.RECALL_DAYS == 7  # whichever the schedule (issue #15)
    assert symptoms.GRADE_WORDS == ("None", "Mild", "Moderate", "Severe", "Very severe")
    assert len(symptoms.SYMPTOMS) == 12 and len(symptoms.BY_KEY) == 12
    for item in symptoms.SYMPTOMS:
        assert item.question.startswith(f"In the last {symptoms.RECALL_DAYS} days, ")
        assert item.question.endswith("?")
        if item.key != "fever":
            assert item.kind == symptoms.GRADED and item.top == 4
    assert symptoms.BY_KEY["pain"].word(3) == "Severe"
    assert symptoms.BY_KEY["pain"].word(5) == "" and symptoms.BY_KEY["pain"].word(None) == ""


def test_stored_keys_keep_the_questions_order_and_drop_unknown_ones():
    assert symptoms.keys_from_text("mood, pain,,bogus,nausea") == ("nausea", "pain", "mood")
    assert symptoms.keys_from_text("") == ()
    assert symptoms.keys_to_text(["mood", "nausea", "bogus"]) == "nausea,mood"


def test_call_now_names_the_office_phone_and_9_1_1():
    phone = get_settings().office_phone
    assert symptoms.call_now() == f"Please call the office now at {phone}. If this is an emergency, call 9-1-1."
    assert symptoms.office_tel() == "tel:" + "".join(ch for ch in phone if ch.isdigit())
    assert len(symptoms.office_tel()) == len("tel:") + 10
