"""Text that no person types: one check for every free-text field, at the service boundary.

A browser's fields never send a NUL byte, half of an emoji (a lone surrogate) or a
terminal control character, but a forged event can. PostgreSQL refuses NUL outright
(the person would see "Something went wrong"), SQLite stores it as is. In one-line
fields (subjects, names, titles) a right-to-left override or a zero-width character
makes the office's queue read differently from what was stored. So every service that
stores text a person typed calls ``check_text`` first, and a refusal says what to
remove; the form keeps what was typed.
"""
from __future__ import annotations

import re
from typing import TypeVar

from carespace_app import i18n
from carespace_app.i18n import N_
from carespace_app.services.errors import ValidationError

T = TypeVar("T")

# What a person reads. {label} is the field's name in the form's words ("subject"; callers
# mark it N_ so it is said in the tab's language too).
CONTROL_CHARACTER = N_("The {label} contains a hidden control character. "
                       "Please remove it or retype the {label}.")
BROKEN_CHARACTER = N_("The {label} contains a broken character (part of a symbol or emoji that "
                      "did not copy whole). Please remove it or retype the {label}.")
LINE_BREAK = N_("The {label} must be on one line. Please remove the line break or tab.")
DIRECTION_CHARACTER = N_("The {label} contains an invisible character that changes the direction "
                         "of text. Please remove it or retype the {label}.")
INVISIBLE_CHARACTER = N_("The {label} contains an invisible character, like a zero-width space. "
                         "Please remove it or retype the {label}.")

# C0 controls other than tab and line feed, DEL and the C1 controls (U+0085 is a line
# break to Python's splitlines), and surrogates: in a str they are always halves of
# something the sender broke.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_LINE_BREAKS = "\t\n\r\u2028\u2029"
# Marks and overrides that reorder what is shown (ALM, LRM, RLM, embeddings and
# overrides, isolates).
_DIRECTION = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Characters with no width: zero-width space, word joiner and the invisible operators,
# the byte-order mark. Not the zero-width (non-)joiners U+200C and U+200D: Persian and
# Indic keyboards type them, and emoji such as 👩‍⚕️ are joined with them.
_INVISIBLE = "\u200b\u2060-\u2064\ufeff"

_MULTI_LINE = re.compile(f"[{_CONTROLS}{_SURROGATES}]")
_SINGLE_LINE = re.compile(f"[{_CONTROLS}{_SURROGATES}{_LINE_BREAKS}{_DIRECTION}{_INVISIBLE}]")
_BREAKS_TO_SPACES = str.maketrans({ch: " " for ch in _LINE_BREAKS})


def _sentence(ch: str, single_line: bool) -> str:
    if "\ud800" <= ch <= "\udfff":
        return BROKEN_CHARACTER
    if single_line and ch in _LINE_BREAKS:
        return LINE_BREAK
    if re.match(f"[{_DIRECTION}]", ch):
        return DIRECTION_CHARACTER
    if re.match(f"[{_INVISIBLE}]", ch):
        return INVISIBLE_CHARACTER
    return CONTROL_CHARACTER


def check_text(value: T, *, field: str, label: str, single_line: bool,
               breaks_become_spaces: bool = False) -> T:
    """``value`` if a person could have typed it, else ValidationError on ``field``.

    Always refused: NUL and the other control characters (a multi-line field keeps
    line breaks and tabs), and broken characters (lone surrogates). In a one-line
    field also refused: line breaks and tabs, direction overrides, marks and isolates,
    and zero-width characters. ``breaks_become_spaces`` is for names, which have always
    turned a forged line break or tab into a space (``text.one_line``) instead.

    Anything but a str is returned as it came: the caller's own rules handle a missing
    or mistyped value.
    """
    if not isinstance(value, str):
        return value
    if single_line and breaks_become_spaces:
        value = value.translate(_BREAKS_TO_SPACES)
    found = (_SINGLE_LINE if single_line else _MULTI_LINE).search(value)
    if found is not None:
        sentence = _sentence(found.group(), single_line)
        raise ValidationError(sentence, field=field,
                              params={"label": lambda lang: i18n.gettext(lang, label)})
    return value


def without_hidden_characters(value: str) -> str:
    """``value`` with every character no person types removed: for look-ups and for
    copies kept only as evidence (a sign-in attempt's address), never for what we store
    as someone's words (that is refused with a sentence by ``check_text``)."""
    return _SINGLE_LINE.sub("", value) if isinstance(value, str) else ""
