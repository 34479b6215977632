"""The admin page for the office staff."""
from __future__ import annotations

import reflex as rx

from ... import routes
from ...state.admin import AdminState
from .home import admin_page


def register(app: rx.App) -> None:
    app.add_page(admin_page, route=routes.ADMIN, title="Admin · CareSpace", on_load=AdminState.load)
