"""Portal pages for the patient's record: Home, Messages, Appointments, Labs, the check-in."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import t
from carespace_app.i18n import N_
from carespace_app.state.appointments import AppointmentsState
from carespace_app.state.checkin import CheckinState
from carespace_app.state.labs import LabsState
from carespace_app.state.messages import MessagesState
from carespace_app.state.my_record import MyRecordState
from carespace_app.state.portal import HomeState
from carespace_app.state.share_links import ShareLinksState
from carespace_app.pages.appointments import appointments_page
from carespace_app.pages.checkin import checkin_page
from carespace_app.pages.home import home_page
from carespace_app.pages.labs import labs_page
from carespace_app.pages.messages import messages_page
from carespace_app.pages.my_record import my_record_page


def register(app: rx.App) -> None:
    app.add_page(home_page, route=routes.HOME, title=t(N_("Home · CareSpace")), on_load=HomeState.load)
    app.add_page(messages_page, route=routes.MESSAGES, title=t(N_("Messages · CareSpace")),
                 on_load=MessagesState.load)
    app.add_page(appointments_page, route=routes.APPOINTMENTS, title=t(N_("Appointments · CareSpace")),
                 on_load=AppointmentsState.load)
    app.add_page(labs_page, route=routes.LABS, title=t(N_("Labs · CareSpace")), on_load=LabsState.load)
    app.add_page(checkin_page, route=routes.CHECKIN, title=t(N_("Symptom check-in · CareSpace")),
                 on_load=CheckinState.load)
    app.add_page(my_record_page, route=routes.RECORD, title=t(N_("Download my record · CareSpace")),
                 on_load=[MyRecordState.load, ShareLinksState.load])
