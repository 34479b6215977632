"""Portal pages about people and the account: Manage Users, Settings, Who viewed my record,
Resources, Help, and the email-confirmation link."""
from __future__ import annotations

import reflex as rx

from .. import routes
from ..state.info import HelpState, RecordActivityState, ResourcesState
from ..state.manage_users import ManageUsersState
from ..state.settings import ConfirmEmailState, SettingsState
from .help import help_page
from .manage_users import manage_users_page
from .record_activity import record_activity_page
from .resources import resources_page
from .settings import confirm_email_page, settings_page


def register(app: rx.App) -> None:
    app.add_page(manage_users_page, route=routes.MANAGE_USERS, title="Manage Users · CareSpace",
                 on_load=ManageUsersState.load)
    app.add_page(settings_page, route=routes.SETTINGS, title="Settings · CareSpace",
                 on_load=SettingsState.load)
    app.add_page(record_activity_page, route=routes.RECORD_ACTIVITY,
                 title="Who viewed my record · CareSpace", on_load=RecordActivityState.load)
    app.add_page(resources_page, route=routes.RESOURCES, title="Resources · CareSpace",
                 on_load=ResourcesState.load)
    app.add_page(help_page, route=routes.HELP, title="Help · CareSpace", on_load=HelpState.load)
    app.add_page(confirm_email_page, route=routes.CONFIRM_EMAIL,
                 title="Confirm your email address · CareSpace", on_load=ConfirmEmailState.load)
