"""CareSpace in English and Spanish: the catalogues and the words to read them.

Plain Python (no Reflex). English is the msgid itself; Spanish lives in
``locale/es/LC_MESSAGES/messages.po`` (gettext, edited with Babel: ``python -m
carespace_app.i18n extract|update|check``, docs/DEVELOPING.md "Adding or changing a
sentence"). The .po file is read once, at first use; no compile step.

- ``gettext(lang, msgid)`` / ``ngettext(lang, singular, plural, n)``: the sentence in
  ``lang``; English (the msgid) when the catalogue has no translation.
- ``N_(msgid)``: marks a module-level sentence for extraction and returns it unchanged;
  it is translated where it is shown (``t()`` in pages, ``SessionState._tr`` in states).
- ``fmt(lang, msgid, **params)``: translated, then ``str.format``; a parameter that is a
  callable is called with the language first (durations: ``in_words`` per language).
- ``pick_language(accept_language_header)``: "en" or "es" from a browser's header.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

LANGUAGES = ("en", "es")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
# Babel's locale for each language (dates, times): the practice is in the United States.
BABEL_LOCALES = {"en": "en_US", "es": "es_US"}

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"

_lock = threading.Lock()
_catalogues: dict[str, dict[Any, Any]] = {}


def N_(msgid: str) -> str:
    """Marks a sentence for the catalogue (extracted by Babel); returns it unchanged."""
    return msgid


def OFFICE_(text: str) -> str:
    """A sentence only the office reads: the admin pages and staff emails stay English (issue
    #17 allows it), so it is not in the catalogue, on purpose and said so where it is
    written (tests/test_catalogue.py lets it through)."""
    return text


def normalize(lang: Optional[str]) -> str:
    """A language we speak: "es" or "en" (anything else, or nothing, is English)."""
    return lang if lang in LANGUAGES else DEFAULT


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(lang: str) -> dict[Any, Any]:
    """{msgid: msgstr} (plural entries keyed by (singular, plural) -> [forms]) of a language."""
    from babel.messages.pofile import read_po

    table: dict[Any, Any] = {}
    path = po_path(lang)
    if not path.exists():
        return table
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, (list, tuple)):
            forms = list(message.string or ())
            if all(forms):
                table[tuple(message.id)] = forms
        elif message.string:
            table[message.id] = message.string
    return table


def catalogue(lang: str) -> dict[Any, Any]:
    lang = normalize(lang)
    if lang == DEFAULT:
        return {}
    found = _catalogues.get(lang)
    if found is None:
        with _lock:
            found = _catalogues.get(lang)
            if found is None:
                found = _catalogues[lang] = _load(lang)
    return found


def reload() -> None:
    """Forget the catalogues read so far (tests that rewrite a .po file)."""
    with _lock:
        _catalogues.clear()


def gettext(lang: Optional[str], msgid: str) -> str:
    if not msgid:
        return msgid
    return catalogue(normalize(lang)).get(msgid, msgid)


def _plural_index(lang: str, n: int) -> int:
    # English and Spanish: one form for 1, the other for everything else.
    return 0 if n == 1 else 1


def ngettext(lang: Optional[str], singular: str, plural: str, n: int) -> str:
    lang = normalize(lang)
    forms = catalogue(lang).get((singular, plural))
    if forms:
        return forms[min(_plural_index(lang, n), len(forms) - 1)]
    return singular if n == 1 else plural


def localized(value: Any, lang: Optional[str]) -> Any:
    """A parameter in ``lang``: a callable is asked for it (``lambda lang: ...``)."""
    return value(normalize(lang)) if callable(value) else value


def format_params(lang: Optional[str], text: str, params: Optional[Mapping[str, Any]]) -> str:
    if not params:
        return text
    return text.format(**{k: localized(v, lang) for k, v in params.items()})


def fmt(lang: Optional[str], msgid: str, **params: Any) -> str:
    """The sentence in ``lang`` with its ``{placeholders}`` filled."""
    return format_params(lang, gettext(lang, msgid), params)


def duration(span, *, article: bool = False) -> Callable[[str], str]:
    """A duration as a parameter: said in whichever language the sentence is shown."""
    from carespace_app.policy import in_words as say

    return lambda lang: say(span, article=article, lang=lang)


def pick_language(header: Optional[str]) -> str:
    """The browser's preferred language we speak, from an Accept-Language header.

    "es-MX,es;q=0.9,en;q=0.8" -> "es"; "en-US,en;q=0.9,es;q=0.5" -> "en"; a q of 0
    means "not this one"; nothing we speak -> "en".
    """
    if not header or not isinstance(header, str):
        return DEFAULT
    best, best_q = DEFAULT, 0.0
    for position, part in enumerate(header[:500].split(",")):
        pieces = [p.strip() for p in part.split(";")]
        tag = pieces[0].lower()
        q = 1.0
        for param in pieces[1:]:
            if param.lower().startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        primary = tag.split("-", 1)[0]
        if primary not in LANGUAGES or not (0 < q <= 1):
            continue
        if q > best_q:  # ties keep the earlier one: the browser's own order
            best, best_q = primary, q
    return best


__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "DEFAULT", "N_", "OFFICE_", "gettext", "ngettext", "fmt",
           "format_params", "localized", "duration", "pick_language", "normalize"]
