"""Red flags in a patient's message: the office's phrases and a fever's temperature, written
the ways people write them, without alarming on ages, doses and counts."""
from __future__ import annotations

import pytest

from carespace_app.models import MESSAGE_CATEGORIES
from carespace_app.services.records import red_flags
from carespace_app.services.records.practice_settings import DEFAULT_RED_FLAGS

FEVER = red_flags.FEVER


def found(text: str, phrases=DEFAULT_RED_FLAGS) -> list[str]:
    return red_flags.find(text, phrases)


@pytest.mark.parametrize("text", [
    "I have had chest pain since this morning",
    "CHEST PAIN when I climb stairs",
    "sharp chest\n  pain, left side",
    "Chest-pain? no, chest pain.",
])
def test_a_phrase_is_found_whatever_the_case_or_spacing(text):
    assert found(text) == ["chest pain"]


@pytest.mark.parametrize("text", [
    "The bleeding that won't stop is from my port site",
    "bleeding that won\u2019t stop",  # a phone's curly apostrophe
    "bleeding that wont stop",  # no apostrophe at all
])
def test_a_phrase_with_an_apostrophe_is_found_however_it_is_typed(text):
    assert found(text) == ["bleeding that won't stop"]


@pytest.mark.parametrize("text", [
    "My chest painter came today",  # not the whole word
    "I had some chestpain",  # one word: not the phrase
    "The infusion was confusing",  # "confusion" is a whole word
    "I felt faint-ish",
])
def test_only_whole_words_match(text):
    assert found(text) == []


def test_the_offices_own_phrases_are_what_is_looked_for():
    assert found("My ankle is swollen and hot", ("swollen ankle", "hot")) == ["hot"]
    assert found("chest pain", ("shortness of breath",)) == []
    # Several at once, in the office's order, each once.
    assert found("Fainting, then chest pain. Chest pain again.") == ["chest pain", "fainting"]


@pytest.mark.parametrize("text", [
    "fever 101",
    "My temp is 100.8F",
    "temp of 102",
    "temperature this morning was 38.5",
    "It was 38.5 C when I checked",
    "38,5°C last night",
    "101 °F",
    "a 101 fever",
    "running a 102.5",
    "I'm running 101",
    "101 degrees all night",
    "Fever: 100.4",  # the line itself
    "Chills all night, thermometer says 101.3",
    "Shaking chills. 101 this morning.",
])
def test_a_fever_is_found_as_people_write_it(text):
    assert found(text) == [FEVER]


@pytest.mark.parametrize("text", [
    "I am 38 years old",
    "I'm 38 and feeling fine otherwise",
    "I took 100 mg of ibuprofen",
    "fever of 100.3",  # below the line
    "my temp was 98.6",
    "37.5 C",
    "38 F outside",  # Fahrenheit: cold, not a fever
    "It was 38 degrees outside",
    "Room 101, second floor",
    "My glucose was 104 this morning",
    "Blood pressure 140/101",
    "I had a fever for 38 hours last month",
    "Call me at 479-555-0101",
    "101",  # a bare number says nothing about a temperature
])
def test_no_false_alarm_on_ages_doses_counts_and_other_numbers(text):
    assert found(text) == []


def test_only_the_medical_categories_are_checked():
    assert red_flags.SYMPTOMS_CATEGORY in MESSAGE_CATEGORIES
    assert red_flags.CHECKED_CATEGORIES == {"Medical question", "Test results",
                                            "Prescription refill", red_flags.SYMPTOMS_CATEGORY}
    body = "Chest pain since the infusion, temp of 101"
    assert red_flags.find_in_message("Symptoms or side effects", "Since yesterday", body,
                                     DEFAULT_RED_FLAGS) == ["chest pain", FEVER]
    assert red_flags.find_in_message("Billing", "Since yesterday", body, DEFAULT_RED_FLAGS) == []
    # The subject counts too.
    assert red_flags.find_in_message("Medical question", "Fainting", "Is this normal?",
                                     DEFAULT_RED_FLAGS) == ["fainting"]


def test_the_flags_read_as_a_list():
    assert red_flags.in_words(["chest pain"]) == "chest pain"
    assert red_flags.in_words(["chest pain", "fainting"]) == "chest pain and fainting"
    assert red_flags.in_words(["a", "b", "c"]) == "a, b and c"
