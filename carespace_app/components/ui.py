"""Small building blocks every page uses: calm, plain, large enough to tap."""
from __future__ import annotations

import reflex as rx

from carespace_app.config import get_settings

ACCENT = "teal"
MAX_WIDTH = "72rem"


def office_phone_link(**props) -> rx.Component:
    settings = get_settings()
    return rx.link(settings.office_phone, href=f"tel:{settings.office_phone_tel}", **props)


def field(label, control: rx.Component, field_id: str, hint: str | rx.Component | None = None,
          error: rx.Var | None = None) -> rx.Component:
    """A labelled form field: the label's for= points at the control's id.

    ``error`` (a var, "" when none) shows under the control, tied to it: the control is
    aria-invalid and described by the sentence (and by the hint), as a screen reader reads it.
    """
    parts = [rx.el.label(label, html_for=field_id, class_name="cs-label")]
    parts.append(control)
    hint_id, error_id = f"{field_id}-hint", f"{field_id}-error"
    if hint is not None:
        parts.append(rx.text(hint, size="2", color_scheme="gray", id=hint_id))
    if error is not None:
        parts.append(rx.cond(error != "", rx.text(error, size="2", color_scheme="red", role="alert",
                                                  id=error_id, class_name="cs-field-error")))
        described = f"{error_id} {hint_id}" if hint is not None else error_id
        control.custom_attrs.update({
            "aria-invalid": rx.cond(error != "", "true", "false"),
            "aria-describedby": rx.cond(error != "", described, hint_id if hint is not None else ""),
        })
    elif hint is not None:
        control.custom_attrs.setdefault("aria-describedby", hint_id)
    return rx.vstack(*parts, spacing="1", width="100%", align="stretch")


def text_input(field_id: str, **props) -> rx.Component:
    return rx.input(id=field_id, name=props.pop("name", field_id), size="3", width="100%", **props)


def primary_button(text, **props) -> rx.Component:
    return rx.button(text, size="3", min_height="44px", **props)


def confirm_dialog(trigger: rx.Component, title, description, *, keep: str, confirm: str,
                   on_confirm, color_scheme: str = "red") -> rx.Component:
    """An action that can't simply be undone asks first: ``keep`` (the safe choice, first)
    and ``confirm`` (the action's own words). ``title``/``description``: a string or a
    tuple of strings and vars."""
    title = title if isinstance(title, tuple) else (title,)
    description = description if isinstance(description, tuple) else (description,)
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(*title),
            rx.alert_dialog.description(*description, size="3"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(keep, variant="soft", color_scheme="gray", size="3")),
                rx.alert_dialog.action(rx.button(confirm, color_scheme=color_scheme, size="3",
                                                 on_click=on_confirm)),
                spacing="3", justify="end", margin_top="1rem", wrap="wrap",
            ),
        ),
    )


def error_callout(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", high_contrast=True, size="3", role="alert", width="100%"),
    )


def notice_callout(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="info", color_scheme="blue", high_contrast=True, size="3", role="status", width="100%"),
    )


def brand() -> rx.Component:
    return rx.hstack(
        rx.icon("heart-pulse", color=rx.color(ACCENT, 9), size=28, aria_hidden="true"),
        rx.text(get_settings().practice_name, size="5", weight="bold"),
        align="center",
        spacing="2",
    )


def public_page(title, *children: rx.Component) -> rx.Component:
    """The frame of the signed-out pages: a single calm card, centred, with the language
    switch above it (``title``: a string or ``t(...)``)."""
    from carespace_app.state.session import SessionState
    from carespace_app.components.flash import flash_toast
    from carespace_app.components.i18n import language_switch, language_sync, t_rich
    from carespace_app.components.navigate import full_page_navigate

    return rx.box(
        full_page_navigate(url=SessionState.navigate_to, origin=SessionState.navigate_from),
        flash_toast(),
        language_sync(),
        rx.el.main(
            rx.vstack(
                rx.hstack(brand(), language_switch(), justify="between", align="center",
                          width="100%", wrap="wrap", spacing="2"),
                rx.card(
                    rx.vstack(rx.heading(title, size="7", as_="h1"),
                              # Until the page is connected, typing would be lost when it
                              # hydrates: show the form only once it can take input.
                              rx.cond(rx.State.is_hydrated,
                                      rx.fragment(*children),
                                      rx.center(rx.spinner(size="3"), padding="2rem")),
                              spacing="4", width="100%", align="stretch"),
                    width="100%",
                    size="3",
                ),
                rx.text(t_rich("Questions? Call the office at {phone}.", phone=office_phone_link()),
                        size="2", color_scheme="gray"),
                spacing="5",
                width="100%",
                max_width="30rem",
                align="center",
                margin_x="auto",
                padding_y="2.5rem",
                padding_x="1rem",
            ),
        ),
        background=rx.color("gray", 2),
        min_height="100vh",
    )
