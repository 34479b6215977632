"""The idle sign-out, as the browser sees it: a warning a minute before, then sign-in.

The server is the authority (sessions.resolve ends a session idle for
policy.IDLE_TIMEOUT); this only asks it every few seconds and shows what it says. The timer
is compiled into the bundle as a React hook because our Content-Security-Policy
forbids rx.call_script (it evals a string).

Typing and clicking in the page are activity: a patient writing a long message slowly
is not signed out under their hands. A keystroke or a press anywhere on the page tells
the server (SessionState.stay_signed_in), at most once every ACTIVITY_SECONDS; the
server writes the session's last activity at most every 30 s anyway (sessions.TOUCH_EVERY).
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var, VarData

from carespace_app.policy import IDLE_TIMEOUT, IDLE_WARNING, in_words
from carespace_app.state.session import SessionState

TICK_SECONDS = 10
# At most one "still here" per this many seconds of typing or clicking: far under the
# event budget, and well inside the minute between the warning and the sign-out.
ACTIVITY_SECONDS = 30


class IdleTimer(rx.Fragment):
    """Calls SessionState.check_idle every TICK_SECONDS while the page is open, and
    SessionState.stay_signed_in on a keystroke or press (once per ACTIVITY_SECONDS)."""

    def add_imports(self):
        return {"react": ["useEffect"]}

    def add_hooks(self):
        tick = Var.create(rx.EventChain(events=[SessionState.check_idle()], args_spec=lambda: []))
        active = Var.create(rx.EventChain(events=[SessionState.stay_signed_in()],
                                          args_spec=lambda: []))
        return [Var(
            f"""
useEffect(() => {{
  const checkIdle = {tick};
  const timer = window.setInterval(() => checkIdle(), {TICK_SECONDS * 1000});
  const stillHere = {active};
  let told = 0;
  const onActivity = () => {{
    const now = Date.now();
    if (now - told >= {ACTIVITY_SECONDS * 1000}) {{
      told = now;
      stillHere();
    }}
  }};
  document.addEventListener("keydown", onActivity, true);
  document.addEventListener("pointerdown", onActivity, true);
  return () => {{
    window.clearInterval(timer);
    document.removeEventListener("keydown", onActivity, true);
    document.removeEventListener("pointerdown", onActivity, true);
  }};
}}, []);""",
            _var_data=VarData.merge(tick._get_all_var_data(), active._get_all_var_data()),
        )]


def idle_warning_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Are you still there?"),
            rx.alert_dialog.description(
                "For your privacy, you'll be signed out in about "
                f"{in_words(IDLE_TIMEOUT - IDLE_WARNING, article=True)} because there has been "
                f"no activity for almost {in_words(IDLE_TIMEOUT)}.",
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
