"""The catalogue workflow (Babel): extract the sentences, update Spanish, check both.

    python -m carespace_app.i18n extract   # carespace_app/**.py -> locale/messages.pot
    python -m carespace_app.i18n update    # messages.pot -> es/LC_MESSAGES/messages.po
    python -m carespace_app.i18n check     # both up to date, every sentence in Spanish

The keywords below are the calls a sentence is written in; tests/test_catalogue.py
runs the same extraction and check.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from carespace_app.i18n import DOMAIN, LANGUAGES, DEFAULT, LOCALE_DIR, po_path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # carespace_app/
MAPPING = Path(__file__).with_name("babel.cfg")
POT_PATH = LOCALE_DIR / f"{DOMAIN}.pot"
# name: the argument positions of the msgid (and the plural): gettext(lang, msgid).
KEYWORDS = {
    "N_": None,
    "t": None,
    "t_rich": None,
    "_tr": None,
    "gettext": (2,),
    "fmt": (2,),
    "ngettext": (2, 3),
}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
WIDTH = 88
HEADER = ("# CareSpace's sentences, extracted by `python -m carespace_app.i18n extract`.\n"
          "# Do not edit: change the code, then extract and update.")


def _method_map():
    from babel.messages.frontend import parse_mapping_cfg

    with MAPPING.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    return method_map, options_map


def extract() -> Catalog:
    """Every sentence in carespace_app, as Babel finds it (the template, no translations)."""
    method_map, options_map = _method_map()
    catalog = Catalog(project="CareSpace", domain=DOMAIN, charset="utf-8", header_comment=HEADER)
    for filename, lineno, message, comments, context in sorted(
            extract_from_dir(str(PACKAGE_DIR), method_map, options_map, keywords=KEYWORDS,
                             comment_tags=("Translators:",), strip_comment_tags=True),
            key=lambda found: (found[0], found[1])):
        catalog.add(message, None, [(f"carespace_app/{filename}", None)],
                    auto_comments=comments, context=context)
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    buffer = io.BytesIO()
    # File names without line numbers: moving code does not churn the catalogue.
    write_po(buffer, catalog, width=WIDTH, sort_output=True, include_lineno=False,
             ignore_obsolete=True, omit_header=False)
    text = re.sub(rb'"POT-Creation-Date: [^"]*\\n"\n', b"", buffer.getvalue())
    text = re.sub(rb'"PO-Revision-Date: [^"]*\\n"\n', b"", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text)


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def ids(catalog: Catalog) -> set:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def write_template() -> Catalog:
    catalog = extract()
    _write(catalog, POT_PATH)
    return catalog


def update_languages() -> None:
    """Bring each language's .po in line with the template: new sentences in (empty),
    gone ones out; no fuzzy guesses (a guessed translation would show unreviewed)."""
    template = read(POT_PATH)
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        path = po_path(lang)
        catalog = read(path, lang) if path.exists() else Catalog(locale=lang, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        _write(catalog, path)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text or ""))


def problems() -> list[str]:
    """What keeps the catalogues from being complete: empty strings are fine, nothing else."""
    found: list[str] = []
    fresh = ids(extract())
    committed = ids(read(POT_PATH)) if POT_PATH.exists() else set()
    for missing in sorted(map(str, fresh - committed)):
        found.append(f"not in messages.pot (run extract and update): {missing!r}")
    for stale in sorted(map(str, committed - fresh)):
        found.append(f"in messages.pot but no longer in the code (run extract and update): {stale!r}")
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        path = po_path(lang)
        catalog = read(path, lang) if path.exists() else Catalog(locale=lang)
        have = {(m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id}
        for msgid in sorted(fresh, key=str):
            message = have.get(msgid)
            strings = ([] if message is None else
                       list(message.string) if isinstance(message.string, (list, tuple))
                       else [message.string])
            if message is None or message.fuzzy or not all(strings) or not strings:
                found.append(f"{lang}: no translation for {msgid!r}")
                continue
            sources = list(msgid) if isinstance(msgid, tuple) else [msgid]
            want = placeholders(sources[-1])
            for string in strings:
                if placeholders(string) != want:
                    found.append(f"{lang}: placeholders differ for {msgid!r}: {string!r}")
    return found
