"""Download my record: a PDF to read and print or a FHIR file for another doctor's
system, for the dates the patient picks; downloaded, or emailed as an attachment."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t
from carespace_app.components.shell import portal_page, read_only_note
from carespace_app.pages.share_links_section import share_links_section
from carespace_app.components.ui import error_callout, field, notice_callout, text_input
from carespace_app.i18n import N_
from carespace_app.policy import MAX_RECORD_RANGE_YEARS
from carespace_app.services.permissions import scopes
from carespace_app.services.records import record_download
from carespace_app.state.my_record import EMAIL, ENTER, FHIR, PDF
from carespace_app.state.my_record import MyRecordState as S

TITLE = N_("Download my record")
INTRO = N_("Take a copy of your record anywhere: a PDF to read and print, or a FHIR file that "
         "another doctor's or hospital's computer system can read. It holds your details, "
         "appointments and lab results for the dates you choose, and your messages if you "
         "want them.")
LISTED = N_("Each download and email is listed in Who viewed my record.")
RANGE_HINT = N_("Up to {years} years at a time.")
MESSAGES_LABEL = N_("Include my messages")
DOWNLOAD_PDF = N_("Download PDF")
DOWNLOAD_FHIR = N_("Download FHIR file")
EMAIL_HEADING = N_("Email it")
EMAIL_INTRO = N_("We'll send the file as an attachment to the address you type, with the dates "
               "and choices above. Email is not always private: send it only to an address "
               "you trust.")
EMAIL_LABEL = N_("Email address")
FORMAT_LABEL = N_("Format")
SEND = N_("Email it")
FORM_NAME = N_("Your record")  # the form's accessible name (a landmark to find it by)

# The button that sent the form, by its value (pdf, fhir, email, enter). The browser's
# FormData leaves the submit button out; Reflex hands the submit event to the handler's
# event chain as ``ev`` (reflex_components_core/el/elements/forms.py, handleSubmit), whose
# ``submitter`` is the button. tests/test_my_record.py checks the compiled form still says so.
SUBMITTER = rx.Var("(ev?.nativeEvent?.submitter?.value ?? \"\")").to(str)


def _date(label, field_id: str, default) -> rx.Component:
    return rx.box(
        field(label, text_input(field_id, type="date", default_value=default, required=True),
              field_id, error=S.errors[field_id]),
        min_width="12rem", flex="1",
    )


def _format_choice(value: str, words, checked: bool) -> rx.Component:
    option_id = f"format-{value}"
    return rx.el.label(
        rx.el.input(type="radio", name="format", id=option_id, value=value,
                    default_checked=checked, class_name="cs-radio"),
        rx.text(words, as_="span", size="3"),
        html_for=option_id, class_name="cs-radio-target",
    )


def _form() -> rx.Component:
    busy = S.busy != ""
    return rx.form(
        rx.vstack(
            # First in the form, so the Enter key in a field presses it (hidden: not a control
            # anyone sees or tabs to): an email when an address is typed, else the PDF.
            rx.el.button(type="submit", value=ENTER, hidden=True, tab_index=-1,
                         aria_hidden="true"),
            rx.el.fieldset(
                rx.el.legend(t("Dates"), class_name="cs-label"),
                rx.flex(_date(t("From"), "start", S.default_start),
                        _date(t("To"), "end", S.default_end),
                        spacing="3", wrap="wrap", width="100%"),
                rx.text(t(RANGE_HINT, years=MAX_RECORD_RANGE_YEARS), size="2", color_scheme="gray"),
                class_name="cs-fieldset",
            ),
            rx.box(rx.checkbox(t(MESSAGES_LABEL), name="messages", id="messages", size="3"),
                   min_height="44px", display="flex", align_items="center"),
            error_callout(S.form_error),
            rx.flex(
                rx.button(t(DOWNLOAD_PDF), type="submit", value=PDF, size="3", min_height="44px",
                          loading=S.busy == PDF, disabled=busy),
                rx.button(t(DOWNLOAD_FHIR), type="submit", value=FHIR, size="3", min_height="44px",
                          variant="outline", loading=S.busy == FHIR, disabled=busy),
                spacing="3", wrap="wrap",
            ),
            notice_callout(S.download_notice),
            rx.divider(margin_y="0.5rem"),
            rx.heading(t(EMAIL_HEADING), size="5", as_="h2"),
            rx.text(t(EMAIL_INTRO), size="3"),
            field(t(EMAIL_LABEL), text_input("email", type="email", auto_complete="email"),
                  "email", error=S.errors["email"]),
            rx.el.fieldset(
                rx.el.legend(t(FORMAT_LABEL), class_name="cs-label"),
                rx.flex(_format_choice(PDF, t(record_download.FORMATS[PDF].words), True),
                        _format_choice(FHIR, t(record_download.FORMATS[FHIR].words), False),
                        spacing="4", wrap="wrap"),
                rx.cond(S.errors["format"] != "",
                        rx.text(S.errors["format"], size="2", color_scheme="red", role="alert")),
                class_name="cs-fieldset",
            ),
            rx.el.input(type="hidden", name="form_key", default_value=S.form_key.to_string()),
            error_callout(S.email_error),
            rx.button(t(SEND), type="submit", value=EMAIL, size="3", min_height="44px",
                      loading=S.busy == EMAIL, disabled=busy | S.view_as),
            notice_callout(S.email_notice),
            read_only_note(),
            spacing="4", width="100%", align="stretch",
        ),
        on_submit=lambda form: S.submit(form, SUBMITTER),
        width="100%", aria_label=t(FORM_NAME),
    )


def my_record_page() -> rx.Component:
    return portal_page(
        TITLE,
        rx.heading(t(TITLE), size="7", as_="h1"),
        rx.text(t(INTRO), size="3"),
        rx.text(t(LISTED), size="3", color_scheme="gray"),
        rx.card(_form(), size="3", width="100%"),
        share_links_section(),
        area=scopes.AREA_RECORD,
    )
