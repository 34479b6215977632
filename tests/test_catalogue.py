"""The catalogues are complete (issue #17: "a test fails if a user-facing string in a page,
state or email is not in the catalogue, and if a Spanish catalogue entry is missing").

(a) the committed messages.pot is what a fresh extraction finds: a sentence added to the
    code without ``python -m carespace_app.i18n extract && ... update`` fails here;
(b) every sentence has a Spanish translation, with the same {placeholders};
(c) in the converted modules (CONVERTED below), every string literal that reads as a
    sentence or a label is inside t(), t_rich(), _tr(), N_(), gettext() or fmt();
(d) in the same modules, a catalogue sentence kept in a constant is translated where it
    is shown (``rx.text(CONSTANT)`` would compile the English alone into the page).

CONVERTED lists every page, state and component module people read (staff pages,
pages/admin_pages and state/admin_*, stay English and are not listed) and the services
whose sentences and emails reach patients and caregivers. Services that also hold the
office's English (notifications, messaging, check-ins, appointments, labs) have their
patient-side sentences converted but are not listed: the literal check would read their
staff sentences as missing.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from carespace_app import i18n
from carespace_app.i18n import workflow

ROOT = Path(__file__).resolve().parent.parent

CONVERTED = [
    "carespace_app/pages/public.py",
    "carespace_app/pages/terms.py",
    "carespace_app/state/auth.py",
    "carespace_app/state/auth_forms.py",
    "carespace_app/state/password_reset.py",
    "carespace_app/state/register.py",
    "carespace_app/components/i18n.py",
    "carespace_app/components/ui.py",
    "carespace_app/services/errors.py",
    "carespace_app/services/identity/passwords.py",
    "carespace_app/services/identity/links.py",
    "carespace_app/services/identity/language.py",
    "carespace_app/services/onboarding/invitation_emails.py",
    # Messages, check-ins, appointments and resources (issue #17, task B)
    "carespace_app/pages/appointments.py",
    "carespace_app/state/appointments.py",
    "carespace_app/pages/resources.py",
    "carespace_app/pages/messages.py",
    "carespace_app/state/messages.py",
    "carespace_app/services/records/symptoms.py",
    "carespace_app/services/records/red_flags.py",
    "carespace_app/pages/checkin.py",
    "carespace_app/state/checkin.py",
    "carespace_app/services/records/business_hours.py",
    # Labs, records, sharing and caregivers (issue #17, task C)
    "carespace_app/pages/labs.py",
    "carespace_app/state/labs.py",
    "carespace_app/services/records/result_release.py",
    "carespace_app/pages/my_record.py",
    "carespace_app/state/my_record.py",
    "carespace_app/services/records/record_download.py",
    "carespace_app/services/records/render_pool.py",
    "carespace_app/pages/share_links_section.py",
    "carespace_app/state/share_links.py",
    "carespace_app/pages/shared_record.py",
    "carespace_app/state/shared_record.py",
    "carespace_app/pages/manage_users.py",
    "carespace_app/state/manage_users.py",
    "carespace_app/services/permissions/scopes.py",
    "carespace_app/services/permissions/access_ends.py",
    "carespace_app/pages/record_activity.py",
    "carespace_app/services/audit/patient_activity.py",
    # The portal's frame, account pages and two-step sign-in (issue #17, Spanish part A).
    "carespace_app/components/shell.py",
    "carespace_app/components/idle.py",
    "carespace_app/components/flash.py",
    "carespace_app/components/navigate.py",
    "carespace_app/components/records_ui.py",
    "carespace_app/state/session.py",
    "carespace_app/state/portal.py",
    "carespace_app/state/access_page.py",
    "carespace_app/state/tab_guard.py",
    "carespace_app/state/info.py",
    "carespace_app/state/settings.py",
    "carespace_app/state/two_step.py",
    "carespace_app/pages/two_step_sign_in.py",
    "carespace_app/pages/two_step_section.py",
    "carespace_app/pages/settings.py",
    "carespace_app/pages/access.py",
    "carespace_app/pages/help.py",
    "carespace_app/pages/people.py",
    "carespace_app/pages/records.py",
    "carespace_app/pages/home.py",
    "carespace_app/services/identity/mfa.py",
    "carespace_app/services/identity/mfa_office.py",
    "carespace_app/services/identity/email_change.py",
    "carespace_app/services/identity/resets.py",
    "carespace_app/services/identity/signin.py",
    "carespace_app/services/identity/accounts.py",
    "carespace_app/services/text_rules.py",
    "carespace_app/services/permissions/tab_access.py",
    "carespace_app/event_budget.py",
    # Services that also hold the office's sentences, marked OFFICE_ (admin English).
    "carespace_app/services/mail/notifications.py",
    "carespace_app/services/records/messaging.py",
    "carespace_app/services/records/checkins.py",
    "carespace_app/services/records/appointments.py",
    "carespace_app/services/records/labs.py",
    "carespace_app/services/records/share_links.py",
    "carespace_app/services/permissions/caregivers.py",
    "carespace_app/services/onboarding/invitations.py",
]

# Calls whose string arguments are catalogue sentences.
TRANSLATING = {"t", "t_rich", "_tr", "N_", "gettext", "fmt", "ngettext"}
# Keyword arguments that are never read as text: names, ids, styling, internal labels.
NOT_TEXT_KEYWORDS = {
    "class_name", "id", "html_for", "href", "type", "name", "auto_complete", "input_mode",
    "color_scheme", "icon", "size", "weight", "variant", "align", "justify", "spacing",
    "width", "max_width", "min_height", "padding", "padding_x", "padding_y", "margin_x",
    "margin_top", "role", "aria_live", "data_testid", "data_link_state", "data_met", "tag",
    "what", "detail", "action", "kind", "reason", "field", "lang", "text_decoration",
    "font_weight", "background", "wrap", "as_", "min_width", "type_", "replace", "path", "rel",
    "__all__",
}
# Calls whose arguments are for the program or the log, not for people.
NOT_TEXT_CALLS = {"get", "log", "exception", "warning", "info", "debug", "error", "record",
                  "set_value", "set_focus", "startswith", "split", "replace", "format",
                  "getLogger", "ValueError", "TypeError", "AssertionError", "query_parameters",
                  "icon", "color", "Var", "encode", "decode", "strip",
                  # Office English: admin pages and staff emails stay English (i18n.OFFICE_).
                  "OFFICE_"}
# Calls whose first argument names a thing (the portal's tab a page is in), not text.
FIRST_ARG_NAMES = {"portal_page"}
# Functions whose literals are code (a compiled React component's source).
CODE_FUNCTIONS = {"add_custom_code", "add_imports"}


# Codes with a space in them, never shown as words: statuses compared and mapped to words
# elsewhere, and the calendar file's product id.
CODES = {"old link", "not invited", "-//CareSpace//Patient Portal//EN"}


def _reads_as_text(value: str) -> bool:
    """A sentence ("a letter and a space") or a label ("Close", "Password")."""
    stripped = value.strip()
    if stripped in CODES:
        return False
    if "=>" in stripped:  # a JavaScript function (a chart's tick formatter)
        return False
    if not any(ch.isalpha() for ch in stripped):
        return False
    if " " in stripped and any(ch.isalpha() for ch in stripped.split(" ", 1)[0] + stripped):
        return not stripped.startswith(("%", "{", "(document", "/"))
    return stripped[:1].isupper() and stripped[1:2].islower()


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def untranslated(source: str, filename: str = "<module>") -> list[str]:
    """Literals that read as text and are not inside a translating call ("file:line text")."""
    tree = ast.parse(source, filename)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    found: list[str] = []

    def visit(node: ast.AST, allowed: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in CODE_FUNCTIONS:
            return
        if isinstance(node, ast.Call):
            name = _call_name(node)
            inner = allowed or name in TRANSLATING or name in NOT_TEXT_CALLS
            visit(node.func, allowed)
            for position, arg in enumerate(node.args):
                visit(arg, inner or (position == 0 and name in FIRST_ARG_NAMES))
            for keyword in node.keywords:
                skip = keyword.arg in NOT_TEXT_KEYWORDS or (keyword.arg or "").startswith("on_")
                visit(keyword.value, inner or skip)
            return
        if isinstance(node, ast.Dict):
            for key in node.keys:  # keys name things; the values are what is said
                if key is not None:
                    visit(key, True)
            for value in node.values:
                visit(value, allowed)
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign)):  # tag = "CsPauseCountdown"
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if node.value is not None:
                visit(node.value, allowed or bool(names & NOT_TEXT_KEYWORDS))
            return
        if isinstance(node, ast.Subscript):
            visit(node.value, allowed)
            visit(node.slice, True)
            return
        if isinstance(node, ast.Compare):  # comparisons are with codes ("es", "signed_in")
            for child in ast.iter_child_nodes(node):
                visit(child, True)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if not allowed and id(node) not in docstrings and _reads_as_text(node.value):
                found.append(f"{filename}:{node.lineno} {node.value!r}")
            return
        for child in ast.iter_child_nodes(node):
            visit(child, allowed)

    visit(tree, False)
    return found


# A catalogue sentence held in a constant must still be translated where it is shown:
# ``rx.text(release.CHOICE_NOW)`` compiles the English alone into the page.
# Exceptions carry their msgid to the call path, which says it in the tab's language.
CARRIES_MSGID = re.compile(r"(Error|Refused|Failed|Busy|Throttled|NotAllowed|NotFound|Outcome"
                           r"|Unavailable|WrongAnswer|__init__|_wrong|_word|_notify|append)$")
# Arguments that hand a msgid on to code that translates it (a notice's news, a field's
# "enter it" sentence raised later), or name a thing (the app's issuer in an authenticator).
CARRIES_MSGID_KEYWORDS = {"news", "blank", "issuer_name", "area", "missing"}


def _catalogue_ids() -> set:
    return {m.id for m in workflow.extract() if m.id and isinstance(m.id, str)}


def shown_untranslated(module: str, ids: set, source: str | None = None,
                       namespace: dict | None = None) -> list[str]:
    """Constants holding a catalogue sentence passed to a call that does not translate it
    ("file:line NAME")."""
    import importlib

    if namespace is None:
        namespace = vars(importlib.import_module(module[:-3].replace("/", ".")))
    if source is None:
        source = (ROOT / module).read_text(encoding="utf-8")
    tree = ast.parse(source, module)
    found: list[str] = []

    def value_of(node: ast.AST):
        if not isinstance(node, (ast.Name, ast.Attribute)):
            return None
        try:
            return eval(compile(ast.Expression(node), module, "eval"), dict(namespace))
        except Exception:  # a local name: not a module-level sentence
            return None

    def visit(node: ast.AST, allowed: bool) -> None:
        if isinstance(node, ast.Call):
            name = _call_name(node)
            inner = (allowed or name in TRANSLATING or name in NOT_TEXT_CALLS
                     or bool(CARRIES_MSGID.search(name)))
            visit(node.func, allowed)
            arguments = [(None, a) for a in node.args] + [(k.arg, k.value) for k in node.keywords]
            for position, (keyword, arg) in enumerate(arguments):
                skip = (keyword in NOT_TEXT_KEYWORDS or keyword in CARRIES_MSGID_KEYWORDS
                        or (keyword or "").startswith("on_")
                        or (position == 0 and name in FIRST_ARG_NAMES))
                value = value_of(arg)
                if (not (inner or skip) and isinstance(value, str) and value in ids
                        and _reads_as_text(value)):
                    found.append(f"{module}:{arg.lineno} {ast.unparse(arg)}")
                visit(arg, inner or skip)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, allowed)

    visit(tree, False)
    return found


# --- (a) and (b): the catalogues ----------------------------------------------------------


def test_the_committed_template_is_a_fresh_extraction():
    fresh = workflow.ids(workflow.extract())
    committed = workflow.ids(workflow.read(workflow.POT_PATH))
    assert sorted(map(str, fresh - committed)) == [], (
        "sentences not in messages.pot: run `python -m carespace_app.i18n extract` and `update`")
    assert sorted(map(str, committed - fresh)) == [], "messages.pot has sentences the code dropped"


def test_every_sentence_has_a_spanish_translation_with_the_same_placeholders():
    assert workflow.problems() == []


def test_the_spanish_catalogue_is_read_as_the_app_reads_it():
    catalogue = workflow.read(i18n.po_path("es"), "es")
    for message in catalogue:
        if message.id and isinstance(message.id, str):
            assert i18n.gettext("es", message.id) == message.string


def test_a_missing_or_mismatched_translation_is_reported(tmp_path, monkeypatch):
    """The check can fail: an empty msgstr and a changed placeholder are both found."""
    spanish = i18n.po_path("es").read_text(encoding="utf-8")
    broken = spanish.replace('msgstr "Cerrar"', 'msgstr ""').replace(
        'msgstr "Al menos {n} caracteres"', 'msgstr "Al menos {count} caracteres"')
    assert broken != spanish
    fake = tmp_path / "es" / "LC_MESSAGES" / "messages.po"
    fake.parent.mkdir(parents=True)
    fake.write_text(broken, encoding="utf-8")
    monkeypatch.setattr(workflow, "po_path", lambda lang: tmp_path / lang / "LC_MESSAGES" / "messages.po")
    found = workflow.problems()
    assert "es: no translation for 'Close'" in found
    assert any("placeholders differ for 'At least {n} characters'" in p for p in found)


# --- (c): no sentence outside the catalogue in a converted module ---------------------------


@pytest.mark.parametrize("module", CONVERTED)
def test_every_sentence_of_a_converted_module_is_in_the_catalogue(module):
    path = ROOT / module
    assert untranslated(path.read_text(encoding="utf-8"), module) == []


@pytest.fixture(scope="module")
def catalogue_ids():
    return _catalogue_ids()


@pytest.mark.parametrize("module", CONVERTED)
def test_no_catalogue_sentence_is_shown_untranslated(module, catalogue_ids):
    """(d) A sentence kept in a constant is translated where it is shown."""
    assert shown_untranslated(module, catalogue_ids) == []


def test_the_literal_check_finds_a_sentence_left_out():
    """The check can fail: a label and a sentence written as plain strings are found; the
    same words inside t()/N_()/_tr(), a class name and a docstring are not."""
    bad = '''
"""A module docstring is not shown to anyone."""
import reflex as rx

HINT = "The address this invitation was sent to."
OK = N_("Enter your email address.")


def page():
    return rx.vstack(
        rx.text("Welcome back to CareSpace", class_name="cs-lead"),
        primary_button("Close"),
        primary_button(t("Close")),
        field(t("Email address"), text_input("email", type="email"), "email"),
        rx.el.div(class_name="cs-note big", id="main-note"),
        rx.cond(State.busy, "Sending your message", ""),
    )


class S:
    def handler(self):
        self.error = self._tr("Enter your password.")
        self.notice = {"signed-out": "You have signed out."}["signed-out"]
'''
    found = untranslated(bad, "bad.py")
    assert [f.split(" ", 1)[1] for f in found] == [
        "'The address this invitation was sent to.'",
        "'Welcome back to CareSpace'",
        "'Close'",
        "'Sending your message'",
        "'You have signed out.'",
    ]


def test_the_constant_check_finds_a_sentence_shown_in_english_only():
    """(d) can fail: a catalogue sentence from a constant, shown as it is, is found; the same
    inside t() or carried by an exception (translated where it is shown) is not."""
    bad = """
def card():
    return rx.vstack(
        rx.heading(symptoms.DUE),
        rx.heading(t(symptoms.DUE)),
        rx.text(NOTE, class_name="cs-note"),
    )


def check():
    raise ValidationError(NOTE)
"""
    from carespace_app.services.records import symptoms

    namespace = {"symptoms": symptoms, "NOTE": symptoms.DUE}
    found = shown_untranslated("bad.py", {symptoms.DUE}, source=bad, namespace=namespace)
    assert [f.split(" ", 1)[1] for f in found] == ["symptoms.DUE", "NOTE"]

