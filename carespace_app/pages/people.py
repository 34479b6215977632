"""Portal pages about people and the account: Manage Users, Settings, Who viewed my record,
Resources, Help."""
from __future__ import annotations

import reflex as rx


def register(app: rx.App) -> None:
    pass
