"""Portal pages for the patient's record: Home, Messages, Appointments, Labs."""
from __future__ import annotations

import reflex as rx

from .. import routes
from ..state.portal import HomeState
from .home import home_page


def register(app: rx.App) -> None:
    app.add_page(home_page, route=routes.HOME, title="Home · CareSpace", on_load=HomeState.load)
