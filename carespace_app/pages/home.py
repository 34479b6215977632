"""Home: the signed-in patient's first page."""
from __future__ import annotations

import reflex as rx

from ..components.shell import portal_page
from ..state.portal import HomeState


def home_page() -> rx.Component:
    return portal_page(
        "Home",
        rx.heading("Welcome, ", HomeState.first_name, size="7", as_="h1"),
        rx.text("This is your CareSpace portal.", size="3"),
    )
