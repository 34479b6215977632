"""axe-core on what a page shows now, inside a story (tests/e2e/test_accessibility.py sweeps
every page of the demo practice; this checks a screen only a story reaches)."""
from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = ("serious", "critical")
_axe = Axe()


def assert_accessible(page: Page, where: str) -> None:
    """No serious or critical violation on what the page shows now."""
    page.mouse.move(0, 0)  # no hover colours (the last link clicked is under the pointer)
    page.wait_for_timeout(300)  # a dialog's fade-in ends (half-faded text reads as faint)
    found = [f"{v['id']} ({v['impact']}): {v['help']} at "
             + "; ".join(" ".join(map(str, n.get("target", []))) for n in v["nodes"][:5])
             for v in _axe.run(page).response["violations"] if v.get("impact") in BLOCKING]
    assert not found, f"{where}: " + "\n".join(found)
