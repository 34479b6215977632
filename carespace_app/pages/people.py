"""Portal pages about people and the account: Manage Users, Settings, Who viewed my record,
Resources, Help, and the email-confirmation link."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import t
from carespace_app.i18n import N_
from carespace_app.state.info import HelpState, RecordActivityState, ResourcesState
from carespace_app.state.manage_users import ManageUsersState
from carespace_app.state.settings import ConfirmEmailState, SettingsState
from carespace_app.state.two_step import TwoStepState
from carespace_app.pages.help import help_page
from carespace_app.pages.manage_users import manage_users_page
from carespace_app.pages.record_activity import record_activity_page
from carespace_app.pages.resources import resources_page
from carespace_app.pages.settings import confirm_email_page, settings_page


def register(app: rx.App) -> None:
    app.add_page(manage_users_page, route=routes.MANAGE_USERS, title=t(N_("Manage Users · CareSpace")),
                 on_load=ManageUsersState.load)
    app.add_page(settings_page, route=routes.SETTINGS, title=t(N_("Settings · CareSpace")),
                 on_load=[SettingsState.load, TwoStepState.load])
    app.add_page(record_activity_page, route=routes.RECORD_ACTIVITY,
                 title=t(N_("Who viewed my record · CareSpace")), on_load=RecordActivityState.load)
    app.add_page(resources_page, route=routes.RESOURCES, title=t(N_("Resources · CareSpace")),
                 on_load=ResourcesState.load)
    app.add_page(help_page, route=routes.HELP, title=t(N_("Help · CareSpace")), on_load=HelpState.load)
    app.add_page(confirm_email_page, route=routes.CONFIRM_EMAIL,
                 title=t(N_("Confirm your email address · CareSpace")), on_load=ConfirmEmailState.load)
