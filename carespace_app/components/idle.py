"""The idle sign-out, as the browser sees it: a warning a minute before, then sign-in.

The server is the authority (sessions.resolve ends a session idle for
policy.IDLE_TIMEOUT, or past its absolute limit, on its own clock at the next event). The
page does not poll: with each answer that moves the session's deadline (and with every
page load) the server sends ``SessionState.session_clock``, and the browser counts down
from when it arrived. It asks the server (``SessionState.check_idle``) only when the
countdown reaches the warning, and again at the end; an idle tab sends nothing in
between. When the answer says the session is still live (activity in another tab of the
session moved its deadline), the new deadline starts the countdown again.

A tab also asks once when the browser signs in or out elsewhere (another tab): the
``routes.SIGNED_IN_COOKIE`` tag changes, and the answer clears this tab and sends it away
instead of leaving the last person's page on screen. Looking at the cookie costs no event.

Typing and clicking in the page are activity: a patient writing a long message slowly
is not signed out under their hands. A keystroke or a press anywhere on the page tells
the server (SessionState.stay_signed_in), at most once every ACTIVITY_SECONDS; the
server writes the session's last activity at most every 30 s anyway (sessions.TOUCH_EVERY).

The timer is compiled into the bundle as a React hook because our Content-Security-Policy
forbids rx.call_script (it evals a string).
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var, VarData

from carespace_app import routes
from carespace_app import i18n
from carespace_app.components.i18n import t
from carespace_app.policy import IDLE_TIMEOUT, IDLE_WARNING
from carespace_app.state.session import SessionState

# At most one "still here" per this many seconds of typing or clicking: far under the
# event budget, and well inside the minute between the warning and the sign-out.
ACTIVITY_SECONDS = 30
# The browser looks at its countdown (and the sign-in cookie) this often; no event is sent.
LOOK_SECONDS = 1
# The end is asked a little after the deadline: the server ends a session idle for more
# than IDLE_TIMEOUT, so asking on the dot would find it still live.
END_GRACE_SECONDS = 2


class IdleTimer(rx.Fragment):
    """Counts down from SessionState.session_clock and asks SessionState.check_idle at the
    warning and at the end; SessionState.stay_signed_in on a keystroke or press (once per
    ACTIVITY_SECONDS)."""

    def add_imports(self):
        return {"react": ["useEffect", "useRef"]}

    def add_hooks(self):
        ask = Var.create(rx.EventChain(events=[SessionState.check_idle()], args_spec=lambda: []))
        active = Var.create(rx.EventChain(events=[SessionState.stay_signed_in()],
                                          args_spec=lambda: []))
        clock = SessionState.session_clock
        return [Var(
            f"""
const askServer = {ask};
const stillHere = {active};
const sessionClock = {clock};
const countdown = useRef(null);
useEffect(() => {{
  if (!sessionClock || sessionClock.idle === undefined) {{
    countdown.current = null;
    return;
  }}
  const now = Date.now();
  const idleEnd = now + sessionClock.idle * 1000;
  countdown.current = {{
    at: sessionClock.at,
    warnAt: idleEnd - sessionClock.warn * 1000,
    endAt: Math.min(idleEnd, now + sessionClock.limit * 1000) + {END_GRACE_SECONDS * 1000},
  }};
}}, [sessionClock]);
useEffect(() => {{
  const tagNow = () => {{
    const found = document.cookie.match(/(?:^|;\\s*){routes.SIGNED_IN_COOKIE}=([^;]*)/);
    return found ? found[1] : "";
  }};
  const tag = tagNow();
  let askedTag = false;
  let askedWarn = null;
  let askedEnd = null;
  const look = () => {{
    if (!askedTag && tagNow() !== tag) {{
      askedTag = true;
      askServer();
      return;
    }}
    const c = countdown.current;
    if (!c) return;
    const now = Date.now();
    if (now >= c.endAt && c.endAt !== askedEnd) {{
      askedEnd = c.endAt;
      askedWarn = c.at;
      askServer();
    }} else if (now >= c.warnAt && c.at !== askedWarn) {{
      askedWarn = c.at;
      askServer();
    }}
  }};
  const timer = window.setInterval(look, {LOOK_SECONDS * 1000});
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
  document.addEventListener("visibilitychange", look);
  return () => {{
    window.clearInterval(timer);
    document.removeEventListener("keydown", onActivity, true);
    document.removeEventListener("pointerdown", onActivity, true);
    document.removeEventListener("visibilitychange", look);
  }};
}}, []);""",
            _var_data=VarData.merge(ask._get_all_var_data(), active._get_all_var_data(),
                                    clock._get_all_var_data()),
        )]


def idle_warning_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(t("Are you still there?")),
            rx.alert_dialog.description(
                t("For your privacy, you'll be signed out in about {left} because there has been "
                  "no activity for almost {idle}.",
                  left=i18n.duration(IDLE_TIMEOUT - IDLE_WARNING, article=True),
                  idle=i18n.duration(IDLE_TIMEOUT)),
                size="3",
            ),
            rx.hstack(
                rx.alert_dialog.action(rx.button(t("Stay signed in"), size="3", min_height="44px",
                                                 on_click=SessionState.stay_signed_in)),
                rx.alert_dialog.cancel(rx.button(t("Sign out"), size="3", min_height="44px",
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
