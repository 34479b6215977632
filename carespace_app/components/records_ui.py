"""Small pieces shared by the record pages (Home, Messages, Appointments, Labs)."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t


def page_title(text: str, *actions: rx.Component) -> rx.Component:
    """The page's h1, with its main action to the right (below it on a narrow phone)."""
    return rx.flex(
        rx.heading(text, size="7", as_="h1"),
        *actions,
        justify="between", align="center", wrap="wrap", spacing="3", width="100%",
    )


def section(title: str | rx.Var, *children: rx.Component, link_text: str = "", href: str = "") -> rx.Component:
    header = [rx.heading(title, size="5", as_="h2")]
    if href:
        header.append(rx.link(link_text, href=href, size="3", class_name="cs-more-link"))
    return rx.card(
        rx.vstack(
            rx.flex(*header, justify="between", align="center", wrap="wrap", spacing="2", width="100%"),
            *children,
            spacing="3", width="100%", align="stretch",
        ),
        size="2", width="100%",
    )


def empty_state(text, icon: str = "inbox") -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=20, color=rx.color("gray", 10), aria_hidden="true"),
        rx.text(text, size="3", color_scheme="gray"),
        spacing="2", align="center", class_name="cs-empty",
    )


def unread_badge(unread) -> rx.Component:
    """Words, not only a coloured dot: "Unread". ``unread``: a row's bool var."""
    return rx.cond(unread, rx.badge(t("Unread"), color_scheme="teal", variant="solid", size="2"))


def flag_text(label, icon) -> rx.Component:
    """A lab flag as words with an icon ("High", "Critical low"); nothing for a normal value."""
    return rx.cond(
        label != "",
        rx.hstack(
            rx.match(
                icon,
                ("arrow-up", rx.icon("arrow-up", size=16, aria_hidden="true")),
                ("arrow-down", rx.icon("arrow-down", size=16, aria_hidden="true")),
                ("triangle-alert", rx.icon("triangle-alert", size=16, aria_hidden="true")),
                rx.fragment(),
            ),
            rx.text(label, size="3", weight="bold"),
            # Critical has its own colour (carespace.css "Labs"); the words carry the meaning.
            spacing="1", align="center",
            class_name=rx.cond(icon == "triangle-alert", "cs-flag cs-flag-critical",
                               "cs-flag cs-flag-out"),
        ),
        rx.text(t("Normal"), size="3", color_scheme="gray"),
    )


def load_more(text: str, has_more, on_click) -> rx.Component:
    return rx.cond(has_more, rx.button(text, variant="outline", size="3", on_click=on_click,
                                       min_height="44px"))


def loading_or(loaded, content: rx.Component) -> rx.Component:
    return rx.cond(loaded, content, rx.center(rx.spinner(size="3"), padding="2rem"))
