"""The idle sign-out, as the browser sees it: a warning a minute before, then sign-in.

The server is the authority (sessions.resolve ends a session idle for 15
minutes); this only asks it every few seconds and shows what it says. The timer
is compiled into the bundle as a React hook because our Content-Security-Policy
forbids rx.call_script (it evals a string).
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var

from ..state.session import SessionState

TICK_SECONDS = 10


class IdleTimer(rx.Fragment):
    """Calls SessionState.check_idle every TICK_SECONDS while the page is open."""

    def add_imports(self):
        return {"react": ["useEffect"]}

    def add_hooks(self):
        tick = Var.create(rx.EventChain(events=[SessionState.check_idle()], args_spec=lambda: []))
        return [Var(
            f"""
useEffect(() => {{
  const checkIdle = {tick};
  const timer = window.setInterval(() => checkIdle(), {TICK_SECONDS * 1000});
  return () => window.clearInterval(timer);
}}, []);""",
            _var_data=tick._get_all_var_data(),
        )]


def idle_warning_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Are you still there?"),
            rx.alert_dialog.description(
                "For your privacy, you'll be signed out in about a minute because there has been "
                "no activity for almost 15 minutes.",
                size="3",
            ),
            rx.hstack(
                rx.alert_dialog.action(rx.button("Stay signed in", size="3", min_height="44px",
                                                 on_click=SessionState.stay_signed_in)),
                rx.alert_dialog.cancel(rx.button("Sign out", size="3", min_height="44px",
                                                 variant="soft", color_scheme="gray",
                                                 on_click=SessionState.sign_out)),
                spacing="3", justify="end", margin_top="1rem", wrap="wrap",
            ),
        ),
        open=SessionState.idle_warning,
    )


def idle_guard() -> rx.Component:
    """Put once on every signed-in page (the portal shell and the admin page)."""
    return rx.fragment(IdleTimer.create(), idle_warning_dialog())
