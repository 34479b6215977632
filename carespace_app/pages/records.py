"""Portal pages for the patient's record: Home, Messages, Appointments, Labs."""
from __future__ import annotations

import reflex as rx

from .. import routes
from ..state.appointments import AppointmentsState
from ..state.labs import LabsState
from ..state.messages import MessagesState
from ..state.portal import HomeState
from .appointments import appointments_page
from .home import home_page
from .labs import labs_page
from .messages import messages_page


def register(app: rx.App) -> None:
    app.add_page(home_page, route=routes.HOME, title="Home · CareSpace", on_load=HomeState.load)
    app.add_page(messages_page, route=routes.MESSAGES, title="Messages · CareSpace",
                 on_load=MessagesState.load)
    app.add_page(appointments_page, route=routes.APPOINTMENTS, title="Appointments · CareSpace",
                 on_load=AppointmentsState.load)
    app.add_page(labs_page, route=routes.LABS, title="Labs · CareSpace", on_load=LabsState.load)
