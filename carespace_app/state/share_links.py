"""The patient's share links (issue #16): make one, see them all, revoke one.

A section of the "Download my record" page: the host page's on_load calls
``ShareLinksState.load``. A new link's URL and passcode are shown once, right after it is
made (neither is stored anywhere: services/records/share_links.py), and are gone when the page
is loaded again.
"""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import reflex as rx

from carespace_app import i18n, timefmt
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.policy import SHARE_LINK_DAY_CHOICES, SHARE_LINK_DEFAULT_DAYS, SHARE_LINK_MAX_WRONG
from carespace_app.services.records import share_links
from carespace_app.state.portal import PortalState

PAGE_SIZE = 10
MAX_FIELD = 200
# How far back the form's dates start by default.
DEFAULT_SPAN = timedelta(days=365)

CREATED_TOAST = N_("Share link made for {label}.")
REVOKED_TOAST = N_("Share link turned off. It can no longer be opened.")
# Shown once with the new link.
PASS_IT_ON = N_("Copy the link and send it to {label}. Tell them the passcode separately — by "
                "phone or in person, not in the same message. You won't see this passcode again.")
STATUS_WORDS = {
    share_links.STATUS_ACTIVE: N_("Active until {until}"),
    share_links.STATUS_EXPIRED: N_("Expired {until}"),
    share_links.STATUS_REVOKED: N_("Revoked {revoked}"),
    share_links.STATUS_LOCKED: N_("Locked after {count} wrong passcodes. "
                                  "Make a new link if they still need it."),
}
STATUS_BADGES = {
    share_links.STATUS_ACTIVE: N_("Active"),
    share_links.STATUS_EXPIRED: N_("Expired"),
    share_links.STATUS_REVOKED: N_("Revoked"),
    share_links.STATUS_LOCKED: N_("Locked"),
}
WHAT_RANGE = N_("{start} to {end}")
WHAT_RANGE_WITH_MESSAGES = N_("{start} to {end}, with messages")
VIEWED = N_("Last opened {when}")
NOT_VIEWED = N_("Not opened yet")
MADE_BY = N_("Made by {name}")
# The "Expires after" choices: ("1", "24 hours"), ("2", "2 days") … (policy.in_words, said
# in each language where the page shows them).
DAY_CHOICES = [(str(d), i18n.duration(timedelta(days=d))) for d in SHARE_LINK_DAY_CHOICES]
FIELDS = {"label": "", "days": "", "start": "", "end": ""}
# The form's control ids (and names): its own, beside the page's other form.
FIELD_IDS = {"label": "share-label", "days": "share-days", "start": "share-start",
             "end": "share-end", "include_messages": "share-messages"}
COPIED = N_("Link copied.")


def _text(form: dict, key: str) -> str:
    value = form.get(key, "") if isinstance(form, dict) else ""
    return value[:MAX_FIELD].strip() if isinstance(value, str) else ""


@dataclasses.dataclass
class ShareLinkRow:
    id: str = ""
    label: str = ""
    status: str = ""
    badge: str = ""
    status_text: str = ""
    what: str = ""
    viewed: str = ""
    made_by: str = ""
    can_revoke: bool = False


def _row(link: share_links.LinkView, lang: str = "en") -> ShareLinkRow:
    words = i18n.fmt(lang, STATUS_WORDS[link.status], until=timefmt.when(link.expires_at, lang=lang),
                     revoked=timefmt.when(link.revoked_at, lang=lang), count=SHARE_LINK_MAX_WRONG)
    what = WHAT_RANGE_WITH_MESSAGES if link.include_messages else WHAT_RANGE
    viewed = (i18n.fmt(lang, VIEWED, when=timefmt.when(link.last_viewed_at, lang=lang))
              if link.last_viewed_at else i18n.gettext(lang, NOT_VIEWED))
    return ShareLinkRow(
        id=str(link.id), label=link.label, status=link.status,
        badge=i18n.gettext(lang, STATUS_BADGES[link.status]),
        status_text=words,
        what=i18n.fmt(lang, what, start=timefmt.day(link.from_day, lang=lang),
                      end=timefmt.day(link.to_day, lang=lang)),
        viewed=viewed,
        made_by="" if link.created_by == share_links.CREATED_BY_YOU
        else i18n.fmt(lang, MADE_BY, name=link.created_by),
        can_revoke=link.status == share_links.STATUS_ACTIVE,
    )


def _links(offset: int):
    return lambda db, v: share_links.list_links(db, v.user, v.patient_id, offset=offset,
                                                limit=PAGE_SIZE, clock=utcnow, client_ip=v.client_ip)


class ShareLinksState(PortalState):
    links: list[ShareLinkRow] = []
    offset: int = 0
    has_more: bool = False
    loaded: bool = False
    allowed: bool = True
    # The form's errors by field, and one over the form.
    errors: dict[str, str] = FIELDS
    error: str = ""
    list_error: str = ""
    busy: bool = False
    # A new key re-mounts the form: empty after success, untouched after an error; a second
    # tap of the same filled-in form finds it used.
    form_key: int = 0
    # The form's default dates (ISO, practice-local): a year back to today.
    default_start: str = ""
    default_end: str = ""
    # The new link, shown once.
    new_url: str = ""
    new_passcode: str = ""
    new_note: str = ""

    def _show(self, got) -> None:
        if got.left:
            return
        self.allowed = not got.refused
        self.loaded = True
        if not got.ok:
            self._set_changed({"links": [], "list_error": got.error if not got.refused else ""})
            return
        page = got.value
        self._set_changed({"offset": page.offset, "has_more": page.has_more,
                           "links": [_row(link, self.lang) for link in page.items], "list_error": ""})

    async def load(self):
        today = timefmt.to_local(utcnow()).date()
        self._set_changed({"errors": dict(FIELDS), "error": "", "list_error": "", "busy": False,
                           "new_url": "", "new_passcode": "", "new_note": "",
                           "default_start": (today - DEFAULT_SPAN).isoformat(),
                           "default_end": today.isoformat()})
        self._show(await self._portal(_links(0), what="share links"))

    async def older(self):
        self._show(await self._portal(_links(self.offset + PAGE_SIZE)))

    async def newer(self):
        self._show(await self._portal(_links(max(0, self.offset - PAGE_SIZE))))

    @rx.event
    async def create_link(self, form: dict):
        if _text(form, "form_key") not in ("", str(self.form_key)):
            return  # the same form sent twice (a double tap): the first one is the one
        label, days = _text(form, FIELD_IDS["label"]), _text(form, FIELD_IDS["days"])
        start, end = _text(form, FIELD_IDS["start"]), _text(form, FIELD_IDS["end"])
        include = _text(form, FIELD_IDS["include_messages"]) in ("on", "true", "checked")
        self._set_changed({"errors": dict(FIELDS), "error": "", "list_error": "", "busy": True,
                           "new_url": "", "new_passcode": "", "new_note": ""})
        yield
        got = await self._portal(lambda db, v: share_links.create(
            db, v.user, v.patient_id, label=label, days=days or SHARE_LINK_DEFAULT_DAYS,
            start=start, end=end, include_messages=include, clock=utcnow, client_ip=v.client_ip),
            what="make a share link", writes=True)
        self.busy = False
        if not got.ok:
            if got.left:
                return
            if got.field in FIELDS:
                self.errors = {**FIELDS, got.field: got.error}
                yield rx.set_focus(FIELD_IDS[got.field])
            else:
                self.error = got.error
            return
        url, passcode = got.value
        self.form_key += 1
        self.new_url = url
        self.new_passcode = share_links.shown_passcode(passcode)
        self.new_note = self._tr(PASS_IT_ON, label=label)
        self._show(await self._portal(_links(0)))
        self._flash("success", self._tr(CREATED_TOAST, label=label))

    @rx.event
    async def revoke(self, link_id: str):
        try:
            wanted = int(link_id)
        except (TypeError, ValueError):
            return
        got = await self._portal(lambda db, v: share_links.revoke(
            db, v.user, v.patient_id, wanted, clock=utcnow, client_ip=v.client_ip),
            what="revoke a share link", writes=True)
        if got.left:
            return
        self._show(await self._portal(_links(self.offset)))
        if not got.ok:
            self.list_error = got.error
            return
        self._flash("success", self._tr(REVOKED_TOAST))

    @rx.event
    def hide_new_link(self):
        """"Done": the new link and its passcode leave the screen (and the tab's state)."""
        self._set_changed({"new_url": "", "new_passcode": "", "new_note": ""})

    @rx.event
    def copied(self):
        """"Copy link" was pressed (the browser copied it): say so."""
        self._flash("success", self._tr(COPIED))
