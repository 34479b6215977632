"""Resources: trusted links the office chose, opened in a new tab."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t
from carespace_app.components.shell import portal_page
from carespace_app.i18n import N_
from carespace_app.state.info import ResourcesState as S


def _resource(link) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.link(
                    rx.hstack(rx.text(link.title, size="4", weight="bold"),
                              rx.icon("external-link", size=16, aria_hidden="true"),
                              rx.el.span(" ", t("(opens in a new tab)"), class_name="cs-sr-only"),
                              spacing="2", align="center"),
                    href=link.url, is_external=True, rel="noopener noreferrer",
                ),
                rx.cond(link.description != "", rx.text(link.description, size="3")),
                spacing="2", align="start",
            ),
            width="100%",
        ),
    )


def resources_page() -> rx.Component:
    return portal_page(
        N_("Resources"),  # the tab's name (components/shell.py translates it)
        rx.heading(t("Resources"), size="7", as_="h1"),
        rx.text(t("Trusted information about cancer, treatment and support, chosen by our office."),
                size="3"),
        rx.cond(
            S.links.length() > 0,
            rx.el.ul(rx.foreach(S.links, _resource), class_name="cs-plain-list"),
            rx.cond(S.loaded, rx.text(t("No resources yet. Ask the office for trusted links."), size="3",
                                      color_scheme="gray")),
        ),
    )
