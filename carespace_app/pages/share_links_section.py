"""The patient's share links (issue #16): a section of the "Download my record" page.

``share_links_section()`` goes on the page; the page's on_load also runs
``ShareLinksState.load``. Its controls have ids of their own ("share-…"): the page's
download form beside it has its own "From", "To" and "Include my messages".
"""
from __future__ import annotations

from datetime import timedelta

import reflex as rx

from carespace_app import i18n
from carespace_app.components.i18n import t
from carespace_app.components.records_ui import empty_state, load_more
from carespace_app.components.shell import read_only_note
from carespace_app.components.ui import confirm_dialog, error_callout, field, primary_button, text_input
from carespace_app.i18n import N_
from carespace_app.policy import SHARE_LINK_DEFAULT_DAYS, SHARE_LINK_MAX_DAYS, SHARE_LINK_MAX_WRONG
from carespace_app.state.session import SessionState
from carespace_app.state.share_links import DAY_CHOICES, FIELD_IDS, ShareLinksState as S

HEADING = N_("Share links")
HEADING_ID = "share-links-heading"
INTRO = N_("Make a link that lets someone, like another doctor, read your record for the dates "
           "you choose, without an account. It works only with a passcode you tell them, stops "
           "working after the time you choose (at most {time}) "
           "and locks after {count} wrong passcodes. You can turn it off at any time. "
           "Each time it is opened shows in Who viewed my record.")
INTRO_PARAMS = {"time": i18n.duration(timedelta(days=SHARE_LINK_MAX_DAYS)), "count": SHARE_LINK_MAX_WRONG}
LABEL_HINT = N_("A name you'll recognise in the list, for example \"Dr. Patel\".")
MAKE = N_("Make share link")
EMPTY = N_("No share links yet. Make one above when someone needs to see your record.")
MORE = N_("Show older links")
NEWER = N_("Show newer links")


def _said(words):
    """A duration (``i18n.duration``) in the tab's language."""
    return rx.cond(SessionState.lang == "es", words("es"), words("en"))


def _errors(name: str):
    return S.errors[name]


def _date(label, name: str, default) -> rx.Component:
    field_id = FIELD_IDS[name]
    return rx.box(
        field(label, text_input(field_id, name=field_id, type="date", default_value=default,
                                required=True), field_id, error=_errors(name)),
        min_width="12rem", flex="1",
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            field(t("Who is it for?"), text_input(FIELD_IDS["label"], name=FIELD_IDS["label"],
                                                 auto_complete="off", required=True, max_length=120),
                  FIELD_IDS["label"], hint=t(LABEL_HINT), error=_errors("label")),
            field(t("Expires after"),
                  rx.el.select(*[rx.el.option(_said(words), value=value) for value, words in DAY_CHOICES],
                               id=FIELD_IDS["days"], name=FIELD_IDS["days"],
                               default_value=str(SHARE_LINK_DEFAULT_DAYS), class_name="cs-select"),
                  FIELD_IDS["days"], error=_errors("days")),
            rx.el.fieldset(
                rx.el.legend(t("Dates to share"), class_name="cs-label"),
                rx.flex(_date(t("From"), "start", S.default_start), _date(t("To"), "end", S.default_end),
                        spacing="3", wrap="wrap", width="100%"),
                class_name="cs-fieldset",
            ),
            rx.box(rx.checkbox(t("Include my messages"), name=FIELD_IDS["include_messages"],
                               id=FIELD_IDS["include_messages"], size="3"),
                   min_height="44px", display="flex", align_items="center"),
            rx.el.input(type="hidden", name="form_key", default_value=S.form_key.to_string()),
            error_callout(S.error),
            primary_button(t(MAKE), type="submit", loading=S.busy, disabled=S.view_as),
            read_only_note(),
            spacing="4", width="100%", align="stretch",
        ),
        on_submit=S.create_link,
        key=S.form_key,
        width="100%",
    )


def _new_link() -> rx.Component:
    """The link and its passcode, shown once."""
    return rx.cond(
        S.new_url != "",
        rx.callout.root(
            rx.vstack(
                rx.text(t("Your share link is ready"), size="4", weight="bold"),
                rx.text(S.new_note, size="3"),
                field(t("Share link"), rx.input(id="share-new-url", value=S.new_url, read_only=True,
                                             size="3", width="100%"), "share-new-url"),
                rx.button(rx.icon("copy", aria_hidden="true"), t("Copy link"), size="3",
                          variant="outline", min_height="44px",
                          on_click=[rx.set_clipboard(S.new_url), S.copied]),
                rx.text(t("Passcode"), size="3", weight="bold"),
                rx.text(S.new_passcode, size="6", weight="bold", data_testid="share-passcode",
                        class_name="cs-wrap"),
                rx.button(t("Done"), size="3", variant="soft", min_height="44px", on_click=S.hide_new_link),
                spacing="2", width="100%", align="start",
            ),
            color_scheme="green", size="3", role="status", width="100%",
        ),
    )


def _revoke(link) -> rx.Component:
    return confirm_dialog(
        rx.button(t("Revoke"), color_scheme="red", variant="soft", size="3", min_height="44px",
                  aria_label=t("Revoke the share link for {label}", label=link.label), disabled=S.view_as),
        t("Revoke the share link for {label}?", label=link.label),
        t("The link stops working right away, also on a page that is already open. This can't "
          "be undone: to share again, make a new link."),
        keep=t("Keep the link"), confirm=t("Yes, revoke it"), on_confirm=S.revoke(link.id))


def _link_card(link) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.text(link.label, size="4", weight="bold", class_name="cs-wrap"),
                    rx.badge(link.badge, size="2", high_contrast=True,
                             color_scheme=rx.match(link.status, ("active", "green"),
                                                   ("locked", "red"), "gray")),
                    spacing="3", align="center", wrap="wrap",
                ),
                rx.text(link.status_text, size="3"),
                rx.text(link.what, size="3", color_scheme="gray"),
                rx.text(link.viewed, size="3", color_scheme="gray"),
                rx.cond(link.made_by != "", rx.text(link.made_by, size="3", color_scheme="gray")),
                rx.cond(link.can_revoke, _revoke(link)),
                spacing="2", align="start",
            ),
            width="100%",
        ),
        data_testid="share-link",
    )


def share_links_section() -> rx.Component:
    return rx.el.section(
        rx.card(
            rx.vstack(
                rx.heading(t(HEADING), size="5", as_="h2", id=HEADING_ID),
                rx.cond(
                    S.allowed,
                    rx.vstack(
                        rx.text(t(INTRO, **INTRO_PARAMS), size="3"),
                        _form(),
                        _new_link(),
                        rx.heading(t("Your share links"), size="4", as_="h3"),
                        error_callout(S.list_error),
                        rx.cond(
                            S.links.length() > 0,
                            rx.el.ul(rx.foreach(S.links, _link_card), class_name="cs-list"),
                            rx.cond(S.loaded, empty_state(t(EMPTY), icon="link")),
                        ),
                        rx.flex(
                            rx.cond(S.offset > 0, rx.button(t(NEWER), variant="outline", size="3",
                                                            min_height="44px", on_click=S.newer)),
                            load_more(t(MORE), S.has_more, S.older),
                            spacing="3", wrap="wrap",
                        ),
                        spacing="4", width="100%", align="stretch",
                    ),
                    rx.text(t("You don't have access to this patient's share links."), size="3"),
                ),
                spacing="4", width="100%", align="stretch",
            ),
            size="3", width="100%",
        ),
        aria_labelledby=HEADING_ID,
    )
