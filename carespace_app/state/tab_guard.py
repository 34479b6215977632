"""Runs before every event of a CareSpace state and before every hydration.

Reflex re-sends a tab's whole state on hydration and sends a handler's changes as
it runs; both must only ever carry what the tab's *current* person may see about
its *current* patient. So before Reflex does anything with an event, the tab is
resolved (SessionState._bind_tab) and, if the person or the patient changed,
cleared. The handler's own call path then reuses this event's answer.
"""
from __future__ import annotations

import logging

from reflex.middleware import Middleware
from reflex.state import StateUpdate
from reflex_base.event import Event, get_hydrate_event

from carespace_app.event_budget import browser_token, flash_delta
from carespace_app.state.session import SOMETHING_WRONG, SessionState
from carespace_app.state.shared_record import SharedRecordState

log = logging.getLogger("carespace.tab_guard")

# Events that are not the person doing something: they must not count as activity. The
# idle countdown's question, and the office queue's own refresh of its urgent items
# (AdminMessagesState.refresh_urgent, every policy.URGENT_REFRESH_EVERY while visible).
NOT_ACTIVITY = ("check_idle", "refresh_urgent")
# Nor is an event Reflex chains on the server (event_budget.browser_token is ""): a page
# load is not the person acting, and a socket that reconnects (a laptop waking up, a network
# blip) loads the page again, which must not renew a session nobody is using. Every press
# and keystroke in a page is reported as activity anyway (components/idle.py).


def _is_hydration(state, event: Event) -> bool:
    return event.name == get_hydrate_event(state) or event.name.endswith(".hydrate_and_load")


def _handler_state_name(event: Event) -> str:
    return event.name.rsplit(".", 1)[0]


class TabGuard(Middleware):
    async def preprocess(self, app, state, event: Event):
        hydrating = _is_hydration(state, event)
        if not hydrating and not _handler_state_name(event).startswith(SessionState.get_full_name()):
            return None  # Reflex's own plumbing (page-load chaining): nothing of ours is sent
        session_state = await state.get_state(SessionState)
        handler = event.name.rsplit(".", 1)[-1]
        try:
            await session_state._bind_tab(
                touch=not hydrating and handler not in NOT_ACTIVITY and bool(browser_token(event)),
                hydrating=hydrating)
            if hydrating:
                # A shared record is asked for with its passcode on every page load: none is
                # re-sent, whichever page this is (a reload after the link was revoked, the
                # next page of the tab). SharedRecordState.load asks again.
                (await state.get_state(SharedRecordState))._forget_on_page_load()
        except Exception:
            # The tab can't be checked (the database is unreachable): nothing runs and
            # nothing of the tab is sent; the person is told calmly.
            log.exception("could not check the tab's session; the event was not run")
            if handler in NOT_ACTIVITY:  # the page's own timer: no toast every tick
                return StateUpdate(delta={}, events=[])
            return StateUpdate(delta=flash_delta("error", SOMETHING_WRONG), events=[])
        return None
