"""Every duration and limit people read is said from carespace_app/policy.py, and the office's
phone, name and address from the settings: none is written by hand in a page, an email, a
state's sentence or a test (which would then go on asserting the old words after a change).

The scan reads the string literals of carespace_app/ and tests/ (not comments or docstrings,
which speak to engineers and name the constant instead).
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from datetime import timedelta
from pathlib import Path

import pytest

from carespace_app import config, policy
from carespace_app.config import get_settings
from carespace_app.i18n import fmt
from carespace_app.policy import in_words

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("carespace_app", "tests", "rxconfig.py")
# Where the rules and the practice's defaults are written, once.
HOME = {"carespace_app/policy.py", "carespace_app/config.py", "tests/test_policy.py"}

# What a hit may be when it is not a statement of the portal's own rules: (file, phrase) ->
# why. Keep it short; each entry is a place a reader could mistake for policy.
NOT_POLICY = {
    ("carespace_app/demo.py", "15 minutes"):
        "a demo appointment's own instructions (\"arrive 15 minutes early\"), not a portal rule",
    ("carespace_app/services/records/resources.py", "24-hour"):
        "the American Cancer Society's own \"24-hour helpline\", not a portal rule",
    ("carespace_app/demo.py", "30 minutes"):
        "a demo appointment's own instructions (\"arrive 30 minutes early\"), not a portal rule",
    ("tests/e2e/frames.py", "two days"):
        "what a test patient writes (\"I felt sick for two days\"), not a portal rule",
}

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven",
                8: "eight", 9: "nine", 10: "ten", 12: "twelve", 14: "fourteen", 15: "fifteen",
                24: "twenty-four", 30: "thirty", 60: "sixty", 96: "ninety-six"}
UNITS = (("day", timedelta(days=1)), ("hour", timedelta(hours=1)),
         ("minute", timedelta(minutes=1)), ("second", timedelta(seconds=1)))


def policy_spans() -> dict[str, timedelta]:
    return {name: value for name, value in vars(policy).items()
            if name.isupper() and isinstance(value, timedelta)}


def duration_phrases(span: timedelta) -> set[str]:
    """Every way a hand could write this span: "96 hours", "4 days", "four days",
    "one hour", "1-hour", "15-minute"."""
    phrases = {in_words(span)}
    for unit, size in UNITS:
        if span % size or span < size:
            continue
        count = span // size
        for number in {str(count), NUMBER_WORDS.get(count, str(count))}:
            phrases.add(f"{number} {unit}" + ("" if count == 1 else "s"))
            phrases.add(f"{number}-{unit}")
    return phrases


def forbidden() -> dict[str, re.Pattern]:
    """phrase -> pattern: the policy's durations, the office phone's digits, and (in the app)
    the practice's name and sender address."""
    phrases = set()
    for span in policy_spans().values():
        phrases |= duration_phrases(span)
    found = {p: re.compile(rf"(?<![\w.-]){re.escape(p)}(?![\w-])", re.IGNORECASE)
             for p in phrases}
    for phone in {config.DEFAULT_OFFICE_PHONE, get_settings().office_phone}:
        digits = re.sub(r"\D", "", phone)
        found[phone] = re.compile(rf"(?<!\d){digits[-7:-4]}[\s.-]?{digits[-4:]}(?!\d)")
    return found


APP_ONLY = {config.DEFAULT_PRACTICE_NAME: re.compile(re.escape(config.DEFAULT_PRACTICE_NAME)),
            "sender": re.compile(re.escape(config.DEFAULT_SENDER.split("<")[-1].rstrip(">")))}


def _docstring_lines(tree: ast.AST) -> set[int]:
    """Lines of strings that stand alone as statements (docstrings and the like)."""
    lines = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def scan(source: str, patterns: dict[str, re.Pattern]) -> list[tuple[int, str]]:
    """(line, phrase) for each pattern found inside a string literal of ``source``."""
    skip = _docstring_lines(ast.parse(source))
    hits = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.STRING or token.start[0] in skip:
            continue
        for phrase, pattern in patterns.items():
            for match in pattern.finditer(token.string):
                hits.append((token.start[0] + token.string.count("\n", 0, match.start()), phrase))
    return hits


def _files():
    for name in SCANNED:
        path = ROOT / name
        yield from ([path] if path.is_file() else sorted(path.rglob("*.py")))


def test_no_duration_phone_name_or_sender_is_written_by_hand():
    durations_and_phone = forbidden()
    problems = []
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in HOME:
            continue
        patterns = dict(durations_and_phone)
        if rel.startswith("carespace_app/"):
            patterns.update(APP_ONLY)
        for line, phrase in scan(path.read_text(encoding="utf-8"), patterns):
            if (rel, phrase) not in NOT_POLICY:
                problems.append(f"{rel}:{line}: {phrase!r} written by hand; say it from "
                                "carespace_app.policy (in_words) or get_settings()")
    assert not problems, "\n".join(problems)


def test_every_allowed_exception_is_still_needed():
    used = set()
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        used |= {(rel, phrase) for _, phrase in scan(path.read_text(encoding="utf-8"), forbidden())}
    assert set(NOT_POLICY) <= used, set(NOT_POLICY) - used


def test_the_scan_finds_words_in_sentences_and_leaves_comments_and_docstrings():
    source = (
        '"""Invitations last 96 hours."""\n'
        "# the 15 minutes of the idle sign-out\n"
        'LINK = "The link works for 4 days."\n'
        'CALL = ("Questions? Call "\n'
        '        "(479) 587-1700.")\n'
        'WAIT = f"""Wait\none hour, then {x} try again."""\n'
        'SAFE = "arrive 115 minutes early; 24-hour helpline 1-800-227-2345"\n'
    )
    patterns = {p: forbidden()[p] for p in ("4 days", "(479) 587-1700", "one hour",
                                            "15 minutes", "96 hours", "24-hour")}
    assert scan(source, patterns) == [(3, "4 days"), (5, "(479) 587-1700"), (7, "one hour"),
                                      (8, "24-hour")]


def test_the_rules_people_read_are_the_policy():
    assert policy.INVITATION_TTL == timedelta(hours=96)
    assert policy.RESET_TTL == timedelta(hours=1)
    assert policy.IDLE_TIMEOUT == timedelta(minutes=15)
    assert policy.ABSOLUTE_TIMEOUT == timedelta(hours=12)
    assert policy.IDLE_TIMEOUT - policy.IDLE_WARNING == timedelta(minutes=1)
    assert (policy.MAX_WRONG_ANSWERS, policy.MAX_INVITATIONS_PER_DAY) == (5, 10)


@pytest.mark.parametrize("span, words", [
    (timedelta(hours=96), "4 days"),
    (timedelta(days=7), "7 days"),
    (timedelta(hours=48), "2 days"),
    (timedelta(hours=24), "24 hours"),  # "within 24 hours", never "1 day"
    (timedelta(hours=12), "12 hours"),
    (timedelta(hours=1), "1 hour"),
    (timedelta(minutes=90), "90 minutes"),
    (timedelta(minutes=15), "15 minutes"),
    (timedelta(seconds=60), "1 minute"),
    (timedelta(seconds=30), "30 seconds"),
    (timedelta(seconds=1), "1 second"),
])
def test_in_words(span, words):
    assert in_words(span) == words


def test_in_words_with_an_article():
    assert in_words(timedelta(minutes=1), article=True) == "a minute"
    assert in_words(timedelta(hours=1), article=True) == "an hour"
    assert in_words(timedelta(minutes=15), article=True) == "15 minutes"


@pytest.mark.parametrize("span", [timedelta(0), timedelta(seconds=-60), timedelta(seconds=1.5)])
def test_in_words_refuses_what_it_cannot_say(span):
    with pytest.raises(ValueError):
        in_words(span)


def test_the_sentences_say_the_policy():
    """The sentences built from policy read as people expect (spot checks, one per place)."""
    from carespace_app.state import auth, auth_forms
    from carespace_app.pages.manage_users import FULL_ACCESS, FULL_ACCESS_PARAMS

    assert fmt("en", auth.SIGN_IN_NOTICES["idle"], **auth.NOTICE_PARAMS) == (
        f"You were signed out after {in_words(policy.IDLE_TIMEOUT)} without activity. "
        "Please sign in again.")
    window = in_words(policy.PASSWORD_TRIES_WINDOW, article=True)  # "a minute"
    assert fmt("en", auth_forms.TOO_MANY_TRIES, **auth_forms.TRIES_PARAMS) == (f"You've tried several times in {window}. "
                                   f"Please wait {window}, then try again.")
    assert f"a link that works for {in_words(policy.INVITATION_TTL)}. " in fmt(
        "en", FULL_ACCESS, **FULL_ACCESS_PARAMS)
