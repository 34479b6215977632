"""/access: "Your access to Rosa Alvarez's portal has ended", and the portals still open."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import t
from carespace_app.i18n import N_
from carespace_app.components.ui import public_page
from carespace_app.state.access_page import STILL_OPEN, AccessState


def _choice(choice) -> rx.Component:
    return rx.button(choice.label, size="3", min_height="44px", width="100%",
                     on_click=AccessState.switch_patient(choice.id))


def access_page() -> rx.Component:
    return public_page(
        AccessState.title,
        rx.cond(
            AccessState.loaded,
            rx.vstack(
                rx.text(AccessState.text, size="3"),
                rx.cond(
                    AccessState.choices.length() > 0,
                    rx.vstack(rx.text(t(STILL_OPEN), size="3", weight="medium"),
                              rx.foreach(AccessState.choices, _choice),
                              spacing="3", width="100%", align="stretch"),
                ),
                rx.button(rx.el.a(t("Sign out"), href=routes.AUTH_SIGN_OUT, reload_document=True),
                          as_child=True, variant="soft", size="3", min_height="44px"),
                spacing="4", width="100%", align="stretch",
            ),
            rx.center(rx.spinner(size="3"), padding="2rem"),
        ),
    )


def register(app: rx.App) -> None:
    app.add_page(access_page, route=routes.ACCESS, title=t(N_("Your access · CareSpace")),
                 on_load=AccessState.load)
