"""Text in the tab's language, chosen in the browser.

``t("Sign in")`` compiles both the English and the Spanish text into the page and
returns a Var that picks one by ``SessionState.lang``: switching language is one small
event (``set_language``) and no text is re-sent. It works wherever a string does:
children, labels, placeholders, aria-labels, button text.

    t("Welcome, {name}.", name=RegisterState.invitee_name)     # a Var inside
    t("The link works for {time}.", time=i18n.duration(RESET_TTL))  # per language
    t_rich("Call the office at {phone}.", phone=office_phone_link())  # a component inside

The msgid is the English text, written out in the call (Babel extracts it: see
carespace_app/i18n/workflow.py); a module-level sentence is marked with ``N_`` and shown
with ``t(CONSTANT)`` — extraction finds it at ``N_``.
"""
from __future__ import annotations

import re
from typing import Any, Callable

import reflex as rx
from reflex.vars.base import Var

from carespace_app import i18n

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _lang_var() -> Var:
    from carespace_app.state.session import SessionState

    return SessionState.lang


def _fill(lang: str, msgid: str, values: dict[str, Any]) -> Any:
    text = i18n.gettext(lang, msgid)
    if not values:
        return text
    filled = {name: i18n.localized(value, lang) for name, value in values.items()}
    if not any(isinstance(v, Var) for v in filled.values()):
        return text.format(**filled)
    # A Var's format() is a marker that Var.create turns back into a string expression.
    return Var.create(text.format(**filled)).to(str)


def t(msgid: str, **values: Any) -> Any:
    """The text in the tab's language: a plain str when both languages read the same."""
    en, es = _fill("en", msgid, values), _fill("es", msgid, values)
    if isinstance(en, str) and isinstance(es, str) and en == es:
        return en
    return rx.cond(_lang_var() == "es", es, en)


def said(words: Callable[[str], str]) -> Any:
    """Text a function says per language (``lambda lang: days_words(3, lang)``: plurals,
    durations), both compiled into the page like ``t()``."""
    en, es = words("en"), words("es")
    return en if en == es else rx.cond(_lang_var() == "es", es, en)


def _parts(text: str, values: dict[str, Any]) -> list[Any]:
    pieces: list[Any] = []
    for index, chunk in enumerate(_PLACEHOLDER.split(text)):
        if index % 2:
            pieces.append(values[chunk])
        elif chunk:
            pieces.append(chunk)
    return pieces


def t_rich(msgid: str, **values: Any) -> rx.Component:
    """A sentence with components inside (a link, a phone number): both languages' pieces
    are in the page, in each language's own order."""
    en = _parts(i18n.gettext("en", msgid), {k: i18n.localized(v, "en") for k, v in values.items()})
    es = _parts(i18n.gettext("es", msgid), {k: i18n.localized(v, "es") for k, v in values.items()})
    return rx.cond(_lang_var() == "es", rx.fragment(*es), rx.fragment(*en))


class LanguageSync(rx.Component):
    """Keeps ``<html lang>`` and the browser's ``carespace_lang`` cookie (a year,
    SameSite=Lax; not a secret) in step with the tab's language. A compiled React
    component: our CSP forbids evaluated scripts."""

    tag = "CsLanguageSync"
    lang: Var[str]

    def add_imports(self):
        return {"react": ["useEffect"]}

    def add_custom_code(self) -> list[str]:
        return ["""
function CsLanguageSync({lang}) {
  useEffect(() => {
    if (lang !== "en" && lang !== "es") return;
    document.documentElement.lang = lang;
    const secure = window.location.protocol === "https:" ? "; secure" : "";
    document.cookie = "carespace_lang=" + lang + "; path=/; max-age=31536000; samesite=lax" + secure;
  }, [lang]);
  return null;
}"""]


def language_sync() -> rx.Component:
    return LanguageSync.create(lang=_lang_var())


def language_switch(compact: bool = False, **props) -> rx.Component:
    """ "English / Español": each name in its own language (lang attribute), the current
    one marked (aria-pressed); ≥ 44 px targets. ``compact`` (the portal's header, where a
    phone has little room): only the other language's name, a toggle to it."""
    from carespace_app.state.session import SessionState

    if compact:
        def other(code: str) -> rx.Component:
            return rx.el.button(i18n.LANGUAGE_NAMES[code], lang=code, type="button",
                                on_click=SessionState.set_language(code),
                                class_name="cs-lang-choice", text_decoration="underline")

        return rx.box(rx.cond(SessionState.lang == "es", other("en"), other("es")),
                      data_testid="language-switch", **props)

    def choice(code: str) -> rx.Component:
        current = SessionState.lang == code
        return rx.el.button(
            i18n.LANGUAGE_NAMES[code],
            lang=code,
            type="button",
            aria_pressed=rx.cond(current, "true", "false"),
            on_click=SessionState.set_language(code),
            class_name="cs-lang-choice",
            font_weight=rx.cond(current, "700", "400"),
            text_decoration=rx.cond(current, "none", "underline"),
        )

    return rx.hstack(
        choice("en"),
        rx.text("/", aria_hidden="true", color_scheme="gray"),
        choice("es"),
        spacing="1",
        align="center",
        role="group",
        aria_label=t("Language"),
        data_testid="language-switch",
        **props,
    )
