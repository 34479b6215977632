"""The admin page for the office staff."""
from __future__ import annotations

import reflex as rx

from ...components.navigate import full_page_navigate
from ...components.ui import MAX_WIDTH, brand
from ...state.admin import AdminState
from ...state.session import SessionState


def admin_page() -> rx.Component:
    return rx.box(
        full_page_navigate(url=SessionState.navigate_to),
        rx.el.header(
            rx.hstack(
                brand(), rx.badge("Office", size="2"), rx.spacer(),
                rx.text(SessionState.user_name, size="3"),
                rx.button("Sign out", on_click=SessionState.sign_out, variant="soft", size="3"),
                align="center", width="100%", max_width=MAX_WIDTH, margin_x="auto", padding="1rem",
            ),
            class_name="cs-header",
        ),
        rx.el.main(
            rx.heading("Admin", size="7", as_="h1"),
            max_width=MAX_WIDTH, margin_x="auto", padding="1rem",
        ),
    )
