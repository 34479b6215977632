"""The browser tab shows the practice's icon: /favicon.ico is an icon, not a 404 page."""
from __future__ import annotations

from playwright.sync_api import Page, expect

ICO_HEADER = b"\x00\x00\x01\x00"  # reserved 0, type 1 (icon)


def test_the_portal_has_an_icon_for_the_browser_tab_and_bookmarks(server, page: Page):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # Browsers ask for /favicon.ico when a page names no icon; this one names none.
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200, icon.status
    assert icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = icon.body()
    assert body.startswith(ICO_HEADER) and body.count(b"\x89PNG") == 3  # 16, 32 and 48 px
