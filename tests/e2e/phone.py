"""What "works at 375 px wide" means, checked in the browser."""
from __future__ import annotations

from playwright.sync_api import Page

# html/body hide sideways overflow, so documentElement.scrollWidth alone can read 375
# while the header or a card is wider: a phone then widens its layout viewport
# (innerWidth grows) and the page shrinks or scrolls. Check all three.
FITS = """() => ({
  inner: window.innerWidth,
  root: document.documentElement.scrollWidth,
  overflowing: [...document.querySelectorAll('header, main')]
      .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.tagName),
})"""


def assert_fits_phone(page: Page, width: int = 375) -> None:
    found = page.evaluate(FITS)
    assert found["inner"] <= width and found["root"] <= width and not found["overflowing"], found
